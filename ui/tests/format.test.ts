import { describe, expect, it } from "vitest";
import { bytes, count, duration, percent, shortDate, speed, SpeedMeter, wifiTime } from "../src/format";

describe("numbers for people", () => {
  it("formats sizes, speeds, times and percentages", () => {
    expect(bytes(1_117_320_736)).toBe("1.1 GB");
    expect(bytes(512)).toBe("512 B");
    expect(speed(2_500_000)).toBe("2.5 MB/s");
    expect(duration(42)).toBe("42 s");
    expect(duration(125)).toBe("2 min 5 s");
    expect(duration(null)).toBe("—");
    expect(percent(50, 200)).toBe(25);
    expect(percent(1, 0)).toBe(0);
  });

  it("says roughly how long a download takes on Wi-Fi (~20 MB/s)", () => {
    expect(wifiTime(1_117_320_736)).toBe("about 1 min on Wi-Fi");
    expect(wifiTime(147_964_211)).toBe("about 1 min on Wi-Fi");
    expect(wifiTime(4_800_000_000)).toBe("about 4 min on Wi-Fi");
  });
});

describe("download speed and time left", () => {
  const TOTAL = 1_000_000_000;

  it("averages over the last ~3 s, so a burst does not make the time left collapse", () => {
    const m = new SpeedMeter();
    // Steady 2 MB/s in samples every 250 ms…
    let r = { bps: null as number | null, eta: null as number | null };
    let done = 0;
    for (let t = 0; t <= 4000; t += 250) {
      r = m.add(t, done, TOTAL, { bps: 2e6, eta: (TOTAL - done) / 2e6 });
      done += 500_000;
    }
    expect(r.bps).toBeCloseTo(2e6, -3);
    // …then one 250 ms burst at 40 MB/s: the last interval alone would say 40 MB/s.
    r = m.add(4250, done - 500_000 + 10_000_000, TOTAL, { bps: 40e6, eta: 12 });
    expect(r.bps).toBeGreaterThan(2e6);
    expect(r.bps).toBeLessThan(6e6);
    expect(r.eta).toBeGreaterThan(100);
  });

  it("forgets samples older than the window", () => {
    const m = new SpeedMeter(3000);
    m.add(0, 0, TOTAL);
    m.add(1000, 10_000_000, TOTAL);
    // From 1 s on, 1 MB/s; after more than 3 s of it, the fast first second is forgotten.
    let r = m.add(1000, 10_000_000, TOTAL);
    for (let t = 2000; t <= 6000; t += 1000) r = m.add(t, 10_000_000 + (t - 1000) * 1000, TOTAL);
    expect(r.bps).toBeCloseTo(1e6, -2);
    expect(r.eta).toBeCloseTo((TOTAL - 15_000_000) / 1e6, 0);
  });

  it("uses the backend's figures until a second of samples is in, and starts over on a restart", () => {
    const m = new SpeedMeter();
    expect(m.add(0, 500, TOTAL, { bps: 1234, eta: 99 })).toEqual({ bps: 1234, eta: 99 });
    expect(m.add(400, 900, TOTAL, { bps: 1000, eta: 50 })).toEqual({ bps: 1000, eta: 50 });
    expect(m.add(1000, 1500, TOTAL).bps).toBeCloseTo(1000);
    // A resume from fewer bytes (a retry after a damaged part) counts from scratch.
    expect(m.add(1200, 100, TOTAL, { bps: 7, eta: null })).toEqual({ bps: 7, eta: null });
  });
});

describe("dates in the conversation list", () => {
  it("are short: the time today, Yesterday, the weekday this week, else the date", () => {
    const now = new Date(2026, 9, 1, 15, 0).getTime(); // Thursday 1 October 2026
    const at = (y: number, m: number, d: number, hh = 9, mm = 5) => new Date(y, m, d, hh, mm).getTime();
    expect(shortDate(at(2026, 9, 1, 0, 5), now, "en-GB")).toBe("00:05");
    expect(shortDate(at(2026, 8, 30, 23, 59), now, "en-GB")).toBe("Yesterday");
    expect(shortDate(at(2026, 8, 28), now, "en-GB")).toBe("Monday");
    expect(shortDate(at(2026, 7, 24), now, "en-GB")).toBe("24 Aug");
    expect(shortDate(at(2025, 11, 31), now, "en-GB")).toBe("31 Dec 2025");
    expect(count(1, "message")).toBe("1 message");
    expect(count(3, "message")).toBe("3 messages");
  });
});
