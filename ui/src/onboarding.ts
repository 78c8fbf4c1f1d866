// First run: what Murmur is, the recommended models preselected with size, memory and time
// on Wi-Fi, one button; a real progress bar (percent, bytes, speed, time left) with pause,
// resume and cancel; specific errors with retry; and "I already have a model file".
import type { CatalogModel, DownloadProgress, ModelsView } from "../../gen/bindings";
import { h, clear } from "./dom";
import { bytes, duration, percent, speed } from "./format";
import { type Backend, toBackendError } from "./platform";

/** Seconds on a typical 25 Mbit/s Wi-Fi link. */
const WIFI_BPS = 25e6 / 8;

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

export function errorAdvice(code: string): string {
  switch (code) {
    case "download.disk_full": return "Free some space on this device, then try again.";
    case "download.network": return "Check the connection (Wi-Fi is best), then resume: nothing downloaded so far is lost.";
    case "download.hash_mismatch": return "The file arrived damaged and was deleted. Try again.";
    case "download.size_mismatch": return "The server offers a different file than expected. Try again later.";
    case "download.in_progress": return "This model is already downloading.";
    default: return "Try again.";
  }
}

export class Onboarding {
  readonly element: HTMLElement;
  private rows = new Map<string, HTMLElement>();

  constructor(private readonly backend: Backend, private view: ModelsView, private readonly onReady: () => void) {
    this.element = h("section", { class: "onboarding", "aria-labelledby": "welcome-title" });
    this.render();
  }

  private render(): void {
    clear(this.element);
    this.rows.clear();
    const models = recommended(this.view);
    const total = models.filter((m) => !isReady(m)).reduce((s, m) => s + Number(m.entry.bytes), 0);
    const start = h("button", { class: "primary", type: "button", onclick: () => this.downloadAll() }, total > 0 ? `Download (${bytes(total)})` : "Continue");
    this.element.append(
      h("h1", { id: "welcome-title" }, "Murmur"),
      h("p", { class: "lead" }, "Ask about your health records, by voice or text. Everything stays on this device: nothing you say or share is sent anywhere."),
      h("p", {}, "Murmur needs two models on this device, once:"),
      h("ul", { class: "model-list" }, ...models.map((m) => this.row(m))),
      start,
      h("p", { class: "secondary-path" }, h("button", { class: "link", type: "button", onclick: () => this.importFile() }, "I already have a model file")),
      h("p", { class: "status", role: "status", "aria-live": "polite", id: "onboarding-status" }),
    );
    start.toggleAttribute("disabled", models.length === 0);
  }

  private row(m: CatalogModel): HTMLElement {
    const e = m.entry;
    const ready = isReady(m);
    const bar = h("progress", { max: 100, value: ready ? 100 : 0, "aria-label": `${e.name} download` });
    const figures = h("span", { class: "figures" }, ready ? "On this device" : `${bytes(Number(e.bytes))} · needs ${bytes(Number(e.ram_mb) * 1e6)} of memory · about ${duration(Number(e.bytes) / WIFI_BPS)} on Wi-Fi`);
    const actions = h("span", { class: "actions" });
    const error = h("p", { class: "error", role: "alert", hidden: true });
    const row = h("li", { class: "model", "data-id": e.id, "data-state": ready ? "ready" : "missing" },
      h("div", { class: "model-head" }, h("strong", {}, e.role === "llm" ? "Answers: " : "Voice: "), e.name),
      h("p", { class: "model-desc" }, e.description, " ", h("span", { class: "licence" }, `Licence: ${e.license}.`)),
      bar, figures, actions, error);
    this.rows.set(e.id, row);
    return row;
  }

  private async downloadAll(): Promise<void> {
    const start = this.element.querySelector("button.primary") as HTMLButtonElement;
    start.disabled = true;
    start.textContent = "Downloading…";
    const todo = recommended(this.view).filter((m) => !isReady(m));
    await Promise.all(todo.map((m) => this.download(m.entry.id)));
    await this.refresh();
  }

  async download(id: string): Promise<void> {
    const row = this.rows.get(id);
    if (!row) return;
    const bar = row.querySelector("progress") as HTMLProgressElement;
    const figures = row.querySelector(".figures") as HTMLElement;
    const actions = row.querySelector(".actions") as HTMLElement;
    const error = row.querySelector(".error") as HTMLElement;
    error.hidden = true;
    row.dataset.state = "downloading";
    clear(actions);
    actions.append(h("button", { type: "button", onclick: () => void this.backend.cancelDownload(id) }, "Pause"));
    try {
      await this.backend.download(id, (p: DownloadProgress) => this.progress(row, bar, figures, p));
      row.dataset.state = "ready";
      clear(actions);
      figures.textContent = "On this device (checked)";
      bar.value = 100;
    } catch (e) {
      const err = toBackendError(e);
      clear(actions);
      if (err.code === "cancelled") {
        row.dataset.state = "paused";
        figures.textContent = `Paused at ${bar.value}%`;
        actions.append(h("button", { type: "button", onclick: () => void this.download(id) }, "Resume"));
      } else {
        row.dataset.state = "failed";
        error.hidden = false;
        error.textContent = `${err.message}. ${errorAdvice(err.code)}`;
        actions.append(h("button", { type: "button", onclick: () => void this.download(id) }, "Retry"));
      }
    }
  }

  private progress(row: HTMLElement, bar: HTMLProgressElement, figures: HTMLElement, p: DownloadProgress): void {
    const total = Number(p.bytes_total);
    const done = Number(p.bytes_done);
    bar.value = percent(done, total);
    row.dataset.percent = String(bar.value);
    switch (p.state.state) {
      case "checking": figures.textContent = `Checking what was already downloaded… ${bytes(done)}`; break;
      case "verifying": figures.textContent = "Checking the file…"; break;
      case "downloading":
        figures.textContent = `${bar.value}% · ${bytes(done)} of ${bytes(total)} · ${speed(p.speed_bps ?? 0)} · ${duration(p.eta_secs)} left`;
        break;
      default: break;
    }
  }

  private async importFile(): Promise<void> {
    const status = this.element.querySelector("#onboarding-status") as HTMLElement;
    try {
      const path = await this.backend.pickModelFile();
      if (!path) return;
      status.textContent = "Checking the file…";
      const imported = await this.backend.importModel(path);
      status.textContent = `Added: ${imported.summary}`;
      await this.refresh();
    } catch (e) {
      status.textContent = toBackendError(e).message;
    }
  }

  async refresh(): Promise<void> {
    this.view = await this.backend.listModels();
    if (canChat(this.view)) this.onReady();
    else this.render();
  }
}
