// Numbers for people: sizes, speeds, times left.
const units = ["B", "KB", "MB", "GB", "TB"];

export function bytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u += 1;
  }
  return `${v >= 100 || u === 0 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}

export function speed(bytesPerSecond: number): string {
  return `${bytes(bytesPerSecond)}/s`;
}

export function duration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function percent(done: number, total: number): number {
  return total > 0 ? Math.min(100, Math.floor((done * 100) / total)) : 0;
}

/** "about N min on Wi-Fi" for `size` bytes at `bps` (a typical home Wi-Fi: ~20 MB/s). */
export function wifiTime(size: number, bps = 20e6): string {
  return `about ${Math.max(1, Math.round(size / bps / 60))} min on Wi-Fi`;
}

/**
 * Download speed and time left, smoothed: the speed is the average over the last `windowMs`
 * of byte counts (not the last burst), so the figures do not jump ("0 s left" at 50%).
 * Until a second of samples is in, the backend's own figures are used.
 */
export class SpeedMeter {
  private samples: { t: number; bytes: number }[] = [];

  constructor(private readonly windowMs = 3000, private readonly minSpanMs = 1000) {}

  reset(): void {
    this.samples = [];
  }

  /** Adds a sample (bytes done at `t` ms); returns the smoothed speed (B/s) and time left (s). */
  add(t: number, done: number, total: number, reported?: { bps: number | null; eta?: number | null }): { bps: number | null; eta: number | null } {
    const last = this.samples[this.samples.length - 1];
    // A restart (resume, retry) counts from scratch.
    if (last && (done < last.bytes || t < last.t)) this.samples = [];
    this.samples.push({ t, bytes: done });
    // Keep the newest sample that is at least a window old, and everything after it.
    while (this.samples.length > 2 && t - this.samples[1].t >= this.windowMs) this.samples.shift();
    const first = this.samples[0];
    const span = t - first.t;
    if (span >= this.minSpanMs) {
      const bps = ((done - first.bytes) * 1000) / span;
      return { bps, eta: bps > 0 ? Math.max(0, total - done) / bps : null };
    }
    return { bps: reported?.bps ?? null, eta: reported?.eta ?? null };
  }
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** When something happened, briefly: the time today, "Yesterday", the weekday within a week,
 * else the date (with the year when it is not this year). `locale` is for tests. */
export function shortDate(ms: number, now = Date.now(), locale?: string): string {
  const d = new Date(ms);
  const today = new Date(now);
  today.setHours(0, 0, 0, 0);
  const startOfDay = new Date(ms);
  startOfDay.setHours(0, 0, 0, 0);
  const daysAgo = Math.round((today.getTime() - startOfDay.getTime()) / DAY_MS);
  if (daysAgo === 0) return d.toLocaleTimeString(locale, { timeStyle: "short" });
  if (daysAgo === 1) return "Yesterday";
  if (daysAgo > 1 && daysAgo < 7) return d.toLocaleDateString(locale, { weekday: "long" });
  const sameYear = d.getFullYear() === today.getFullYear();
  return d.toLocaleDateString(locale, sameYear ? { day: "numeric", month: "short" } : { day: "numeric", month: "short", year: "numeric" });
}

/** The full date and time, for a tooltip. */
export function fullDate(ms: number, locale?: string): string {
  return new Date(ms).toLocaleString(locale, { dateStyle: "long", timeStyle: "short" });
}

/** "1 message", "4 messages". */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
