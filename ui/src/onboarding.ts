// First run: what Murmur is; for each role (answers, voice) the catalog's models to choose
// from, the recommended one preselected, each with size, memory, licence and time on Wi-Fi;
// one button; a real progress bar (percent, bytes, smoothed speed and time left) with pause,
// resume and cancel (which discards the partial file); specific errors with retry; and
// "I already have a model file".
import type { CatalogModel, DownloadProgress, ModelsView, Role } from "../../gen/bindings";
import { h, clear } from "./dom";
import { bytes, duration, percent, speed, SpeedMeter, wifiTime } from "./format";
import { showError } from "./errors";
import { ONBOARDING as W } from "./strings";
import { type Backend, toBackendError } from "./platform";

/** A cancelled download whose partial file stayed. */
export const PARTIAL_NOT_DELETED = W.partialNotDeleted;

const ROLES: { role: Role; title: string; help: string }[] = [
  { role: "llm", title: W.llmTitle, help: W.llmHelp },
  { role: "asr", title: W.asrTitle, help: W.asrHelp },
];

export function recommended(view: ModelsView): CatalogModel[] {
  return view.catalog.filter((m) => m.entry.default);
}

export function isReady(m: CatalogModel): boolean {
  return m.installed.state === "ready" || m.installed.state === "referenced";
}

/** Chat can start once a verified language model is on the device. */
export function canChat(view: ModelsView): boolean {
  return view.llm != null;
}


export interface OnboardingOptions {
  /** Milliseconds, for the speed average (tests pass a fake clock). */
  now?: () => number;
}

/** A download in flight: how to wait for the end of its progress stream. */
interface Running {
  ended: Promise<void>;
  discard: boolean;
}

export class Onboarding {
  readonly element: HTMLElement;
  private rows = new Map<string, HTMLElement>();
  private selected = new Map<Role, string>();
  private running = new Map<string, Running>();
  private readonly now: () => number;

  constructor(private readonly backend: Backend, private view: ModelsView, private readonly onReady: () => void, options: OnboardingOptions = {}) {
    this.now = options.now ?? (() => performance.now());
    this.element = h("section", { class: "onboarding", "aria-labelledby": "welcome-title" });
    this.render();
  }

  /** The models of a role, the recommended one first. */
  private models(role: Role): CatalogModel[] {
    const of = this.view.catalog.filter((m) => m.entry.role === role);
    return [...of.filter((m) => m.entry.default), ...of.filter((m) => !m.entry.default)];
  }

  /** The chosen model of each role: the person's choice, else one on the device, else the default. */
  private choice(role: Role): CatalogModel | undefined {
    const models = this.models(role);
    const picked = models.find((m) => m.entry.id === this.selected.get(role));
    return picked ?? models.find(isReady) ?? models[0];
  }

  private render(): void {
    clear(this.element);
    this.rows.clear();
    const start = h("button", { class: "primary", type: "button", onclick: () => void this.downloadAll() });
    this.element.append(
      h("h1", { id: "welcome-title" }, W.title),
      h("p", { class: "lead" }, W.lead),
      h("p", {}, W.needs),
      ...ROLES.filter((r) => this.models(r.role).length > 0).map((r) => {
        const chosen = this.choice(r.role);
        if (chosen) this.selected.set(r.role, chosen.entry.id);
        return h("fieldset", { class: "model-choice" },
          h("legend", {}, r.title),
          h("p", { class: "help" }, r.help),
          h("ul", { class: "model-list" }, ...this.models(r.role).map((m) => this.row(m, m === chosen))));
      }),
      start,
      h("button", { class: "quiet skip", type: "button", hidden: true, onclick: () => void this.refresh() }, W.skipVoice),
      h("p", { class: "secondary-path" }, h("button", { class: "link", type: "button", onclick: () => void this.importFile() }, W.haveFile)),
      h("p", { class: "status", role: "status", "aria-live": "polite", id: "onboarding-status" }),
    );
    this.updateStart();
  }

  private row(m: CatalogModel, checked: boolean): HTMLElement {
    const e = m.entry;
    const ready = isReady(m);
    const partial = m.installed.state === "partial" ? Number(m.installed.bytes) : 0;
    const radio = h("input", { type: "radio", name: `model-${e.role}`, value: e.id, checked, "aria-describedby": `figures-${e.id}`,
      onchange: () => { this.selected.set(e.role, e.id); this.updateStart(); } });
    const bar = h("progress", { max: 100, value: ready ? 100 : percent(partial, Number(e.bytes)), "aria-label": W.progressLabel(e.name) });
    const figures = h("span", { class: "figures", id: `figures-${e.id}` });
    const actions = h("span", { class: "actions" });
    const error = h("p", { class: "error", role: "alert", hidden: true });
    const row = h("li", { class: "model", "data-id": e.id },
      h("label", { class: "model-head" }, radio, h("span", {}, h("strong", {}, e.name), e.default ? h("span", { class: "badge" }, W.recommended) : null)),
      h("p", { class: "model-desc" }, e.description, " ", h("span", { class: "licence" }, W.licence(e.license))),
      bar, figures, actions, error);
    this.rows.set(e.id, row);
    if (ready) this.setState(row, "ready");
    else if (partial > 0) this.paused(row, e.id);
    else this.setState(row, "missing");
    return row;
  }

  /** Shows a card's resting state: not downloaded, paused or on the device. */
  private setState(row: HTMLElement, state: "missing" | "ready"): void {
    const m = this.view.catalog.find((c) => c.entry.id === row.dataset.id);
    const bar = row.querySelector("progress") as HTMLProgressElement;
    const figures = row.querySelector(".figures") as HTMLElement;
    row.dataset.state = state;
    clear(row.querySelector(".actions") as HTMLElement);
    if (state === "ready") {
      bar.hidden = false;
      bar.value = 100;
      figures.textContent = W.onDevice;
    } else {
      bar.hidden = true;
      bar.value = 0;
      const e = m?.entry;
      figures.textContent = e ? W.figures(bytes(Number(e.bytes)), bytes(Number(e.ram_mb) * 1e6), wifiTime(Number(e.bytes))) : "";
    }
    this.updateStart();
  }

  private paused(row: HTMLElement, id: string): void {
    const bar = row.querySelector("progress") as HTMLProgressElement;
    const actions = row.querySelector(".actions") as HTMLElement;
    row.dataset.state = "paused";
    bar.hidden = false;
    (row.querySelector(".figures") as HTMLElement).textContent = W.pausedAt(bar.value);
    clear(actions);
    actions.append(
      h("button", { type: "button", onclick: () => void this.download(id) }, W.resume),
      h("button", { type: "button", class: "quiet", onclick: () => void this.cancel(id) }, W.cancel));
    this.updateStart();
  }

  /** What the primary button would download: the chosen models not on the device yet. */
  private todo(): CatalogModel[] {
    return ROLES.map((r) => this.choice(r.role)).filter((m): m is CatalogModel => m != null && !isReady(m) && this.rows.get(m.entry.id)?.dataset.state !== "ready");
  }

  private updateStart(): void {
    const start = this.element.querySelector("button.primary") as HTMLButtonElement | null;
    if (!start) return;
    const busy = this.running.size > 0;
    const todo = this.todo();
    const total = todo.reduce((s, m) => s + Number(m.entry.bytes) - (m.installed.state === "partial" ? Number(m.installed.bytes) : 0), 0);
    start.textContent = busy ? W.downloading : todo.length > 0 ? W.download(bytes(total)) : W.continue;
    start.disabled = busy || this.view.catalog.length === 0;
    // The voice model is optional: once the answer model is here, chat can start without it.
    const skip = this.element.querySelector("button.skip") as HTMLButtonElement | null;
    if (skip) skip.hidden = busy || todo.length === 0 || !this.llmReady();
    for (const radio of Array.from(this.element.querySelectorAll<HTMLInputElement>("input[type=radio]"))) radio.disabled = busy;
  }

  private llmReady(): boolean {
    const llm = this.choice("llm");
    return this.view.llm != null || (llm != null && (isReady(llm) || this.rows.get(llm.entry.id)?.dataset.state === "ready"));
  }

  private async downloadAll(): Promise<void> {
    const todo = this.todo();
    if (todo.length === 0) {
      await this.refresh();
      return;
    }
    await Promise.all(todo.map((m) => this.download(m.entry.id)));
  }

  async download(id: string): Promise<void> {
    const row = this.rows.get(id);
    if (!row || this.running.has(id)) return;
    const bar = row.querySelector("progress") as HTMLProgressElement;
    const figures = row.querySelector(".figures") as HTMLElement;
    const actions = row.querySelector(".actions") as HTMLElement;
    const error = row.querySelector(".error") as HTMLElement;
    error.hidden = true;
    bar.hidden = false;
    row.dataset.state = "downloading";
    figures.textContent = W.starting;
    clear(actions);
    actions.append(
      h("button", { type: "button", onclick: () => void this.backend.cancelDownload(id) }, W.pause),
      h("button", { type: "button", class: "quiet", onclick: () => void this.cancel(id) }, W.cancel));
    let streamEnded: () => void = () => {};
    const running: Running = { ended: new Promise<void>((r) => (streamEnded = r)), discard: false };
    this.running.set(id, running);
    this.updateStart();
    const meter = new SpeedMeter();
    let ok = false;
    try {
      await this.backend.download(id, (p: DownloadProgress) => {
        const s = p.state.state;
        if (s === "done" || s === "failed" || s === "cancelled") streamEnded();
        if (!running.discard) this.progress(row, bar, figures, meter, p);
      });
      ok = true;
    } catch (e) {
      if (!running.discard) {
        const err = toBackendError(e);
        clear(actions);
        if (err.code === "cancelled") {
          this.paused(row, id);
        } else {
          row.dataset.state = "failed";
          error.hidden = false;
          showError(error, err);
          actions.append(h("button", { type: "button", onclick: () => void this.download(id) }, W.retry));
        }
      }
    } finally {
      // The command has returned: the download is over, whatever the stream said.
      streamEnded();
      this.running.delete(id);
    }
    if (running.discard) {
      this.updateStart();
      return;
    }
    if (ok) {
      row.dataset.state = "ready";
      clear(actions);
      figures.textContent = W.onDeviceChecked;
      bar.value = 100;
    }
    this.updateStart();
    // Once the chosen models are all here, chat can start.
    if (ok && this.running.size === 0 && this.todo().length === 0) await this.refresh();
  }

  /** Cancel: stops the download, waits for its end, then deletes the partial file. */
  async cancel(id: string): Promise<void> {
    const row = this.rows.get(id);
    if (!row) return;
    const figures = row.querySelector(".figures") as HTMLElement;
    const error = row.querySelector(".error") as HTMLElement;
    row.dataset.state = "cancelling";
    figures.textContent = W.cancelling;
    for (const b of Array.from(row.querySelectorAll<HTMLButtonElement>(".actions button"))) b.disabled = true;
    const running = this.running.get(id);
    try {
      if (running) {
        running.discard = true;
        await this.backend.cancelDownload(id);
        // Only once the download has let go of its file may the file be deleted.
        await running.ended;
      }
      try {
        await this.backend.removeModel(id);
      } catch (e) {
        // "No such model on this device": nothing had been written yet.
        if (toBackendError(e).code !== "input.invalid") throw e;
      }
      const m = this.view.catalog.find((c) => c.entry.id === id);
      if (m) m.installed = { state: "missing" };
      this.setState(row, "missing");
    } catch (e) {
      this.setState(row, "missing");
      error.hidden = false;
      showError(error, e);
      error.prepend(`${PARTIAL_NOT_DELETED} `);
    }
  }

  private progress(row: HTMLElement, bar: HTMLProgressElement, figures: HTMLElement, meter: SpeedMeter, p: DownloadProgress): void {
    const total = Number(p.bytes_total);
    const done = Number(p.bytes_done);
    bar.value = percent(done, total);
    row.dataset.percent = String(bar.value);
    switch (p.state.state) {
      case "checking":
        meter.reset();
        figures.textContent = W.checkingPart(bytes(done));
        break;
      case "verifying": figures.textContent = W.checkingFile; break;
      case "downloading": {
        const s = meter.add(this.now(), done, total, { bps: p.speed_bps, eta: p.eta_secs });
        const rate = s.bps != null ? ` · ${speed(s.bps)}` : "";
        const left = s.eta != null ? W.left(duration(s.eta)) : "";
        figures.textContent = W.progress(bar.value, bytes(done), bytes(total), rate, left);
        break;
      }
      default: break;
    }
  }

  private async importFile(): Promise<void> {
    const status = this.element.querySelector("#onboarding-status") as HTMLElement;
    try {
      const path = await this.backend.pickModelFile();
      if (!path) return;
      status.textContent = W.checkingFile;
      const imported = await this.backend.importModel(path);
      status.textContent = W.added(imported.summary);
      await this.refresh();
    } catch (e) {
      showError(status, e);
    }
  }

  /** Asks what is on the device now; moves on to chat once it can. */
  async refresh(): Promise<void> {
    this.view = await this.backend.listModels();
    if (canChat(this.view)) this.onReady();
    else this.updateStart();
  }
}
