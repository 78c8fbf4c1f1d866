// Settings: models (switch, delete, download another, the voice model), answer style,
// advanced (context size, threads), the assistant's instructions (reset to default), your
// data (delete all of it), about.
import type { ModelsView, Settings, SettingsView } from "../../gen/bindings";
import { confirmDialog } from "./dialog";
import { clear, h } from "./dom";
import { bytes, percent } from "./format";
import { showError } from "./errors";
import type { Backend } from "./platform";
import { DELETE_ALL_TEXT, SETTINGS as W } from "./strings";

export { DELETE_ALL_TEXT } from "./strings";

export class SettingsScreen {
  readonly element: HTMLElement;

  /** `onDataDeleted`: every conversation and setting is gone (the backend reset the chat). */
  constructor(
    private readonly backend: Backend,
    private readonly onClose: (reload: boolean) => void,
    private readonly onDataDeleted: () => void = () => {},
  ) {
    this.element = h("section", { class: "settings", "aria-labelledby": "settings-title" });
  }

  async open(): Promise<void> {
    const [view, models, about] = await Promise.all([this.backend.getSettings(), this.backend.listModels(), this.backend.about()]);
    this.render(view, models, about.version, about.cpu_features);
  }

  private render(view: SettingsView, models: ModelsView, version: string, cpu: string): void {
    clear(this.element);
    const s: Settings = { ...view.settings };
    const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
    if (view.problem) showError(status, view.problem);
    const temperature = h("input", { type: "range", min: 0, max: 1.5, step: 0.1, value: s.temperature, id: "temperature", "aria-describedby": "temperature-help" });
    const ctx = h("select", { id: "n_ctx" }, ...[2048, 4096, 8192].map((n) => h("option", { value: n, selected: n === s.n_ctx }, `${n} tokens`)));
    const threads = h("input", { type: "number", min: 1, max: 64, id: "threads", value: s.threads ?? "", placeholder: W.threadsPlaceholder });
    const autoSend = h("input", { type: "checkbox", id: "auto_send", checked: s.auto_send });
    const instructions = h("textarea", { id: "instructions", rows: 8, "aria-describedby": "instructions-help" });
    instructions.value = s.instructions ?? view.default_instructions;
    const llmChoices = [...models.catalog.filter((m) => m.entry.role === "llm" && (m.installed.state === "ready" || m.installed.state === "referenced")).map((m) => ({ id: m.entry.id, name: m.entry.name })),
      ...models.imported.filter((m) => m.role === "llm" && m.present).map((m) => ({ id: m.id, name: `${m.id} (imported)` }))];
    const llm = h("select", { id: "llm_model" }, h("option", { value: "" }, W.automatic), ...llmChoices.map((m) => h("option", { value: m.id, selected: m.id === s.llm_model }, m.name)));
    const asrChoices = [...models.catalog.filter((m) => m.entry.role === "asr" && (m.installed.state === "ready" || m.installed.state === "referenced")).map((m) => ({ id: m.entry.id, name: m.entry.name })),
      ...models.imported.filter((m) => m.role === "asr" && m.present).map((m) => ({ id: m.id, name: `${m.id} (imported)` }))];
    const asr = h("select", { id: "asr_model" }, h("option", { value: "" }, W.automatic), ...asrChoices.map((m) => h("option", { value: m.id, selected: m.id === s.asr_model }, m.name)));
    const save = async () => {
      const next: Settings = {
        ...s,
        temperature: Number(temperature.value),
        n_ctx: Number(ctx.value),
        threads: threads.value ? Number(threads.value) : null,
        auto_send: autoSend.checked,
        instructions: instructions.value.trim() === view.default_instructions.trim() ? null : instructions.value,
        llm_model: llm.value || null,
        asr_model: asr.value || null,
      };
      try {
        const reload = await this.backend.setSettings(next);
        status.textContent = reload ? W.savedReload : W.saved;
        this.onClose(reload);
      } catch (e) {
        showError(status, e);
      }
    };
    const modelRows = models.catalog.map((m) => h("li", {},
      h("span", {}, `${m.entry.name} · ${bytes(Number(m.entry.bytes))} · `,
        m.installed.state === "ready" || m.installed.state === "referenced" ? W.onDevice : m.installed.state === "partial" ? W.partly : W.notDownloaded),
      m.installed.state === "ready" ? h("button", { type: "button", class: "quiet", onclick: async () => {
        try { await this.backend.removeModel(m.entry.id); await this.open(); } catch (e) { showError(status, e); }
      } }, W.delete) : m.installed.state === "referenced" ? null : h("button", { type: "button", class: "quiet", onclick: async (e: Event) => {
        const button = e.currentTarget as HTMLButtonElement;
        button.disabled = true;
        try {
          await this.backend.download(m.entry.id, (p) => { button.textContent = `${percent(Number(p.bytes_done), Number(p.bytes_total))}%`; });
          await this.open();
        } catch (err) {
          button.disabled = false;
          button.textContent = W.download;
          showError(status, err);
        }
      } }, m.installed.state === "partial" ? W.resume : W.download)));
    // Models imported under ids of their own ("I already have a model file").
    const importedRows = models.imported.map((m) => h("li", { "data-id": m.id },
      h("span", {}, `${m.id} (imported, ${m.role === "llm" ? "answers" : "voice"}) · ${m.summary}`, m.present ? "" : W.fileMissing),
      h("button", { type: "button", class: "quiet", "aria-label": `Delete ${m.id}`, onclick: async () => {
        try { await this.backend.removeModel(m.id); await this.open(); } catch (e) { showError(status, e); }
      } }, W.delete)));
    const deleteAll = async (e: Event) => {
      const button = e.currentTarget as HTMLButtonElement;
      const yes = await confirmDialog(this.element, { title: W.deleteAllTitle, message: DELETE_ALL_TEXT, confirm: W.deleteAll });
      if (!yes) return;
      button.disabled = true;
      try {
        await this.backend.deleteAllData();
        this.onDataDeleted();
      } catch (err) {
        button.disabled = false;
        showError(dataStatus, err);
      }
    };
    const dataStatus = h("p", { class: "error", role: "alert" });
    this.element.append(
      h("header", { class: "bar" }, h("h1", { id: "settings-title" }, W.title), h("button", { type: "button", class: "quiet", onclick: () => this.onClose(false) }, W.back)),
      h("h2", {}, W.models), h("ul", { class: "plain" }, ...modelRows, ...importedRows),
      h("label", { for: "llm_model" }, W.answerModel), llm,
      h("h2", {}, W.voice), h("label", { class: "row" }, autoSend, W.autoSend),
      h("label", { for: "asr_model" }, W.voiceModel), asr,
      h("h2", {}, W.style), h("label", { for: "temperature" }, W.temperature), temperature,
      h("p", { id: "temperature-help", class: "help" }, W.temperatureHelp),
      h("h2", {}, W.instructionsHeading),
      h("label", { for: "instructions" }, W.instructionsLabel), instructions,
      h("p", { id: "instructions-help", class: "help" }, W.instructionsHelp),
      h("button", { type: "button", class: "quiet", onclick: () => { instructions.value = view.default_instructions; } }, W.reset),
      h("details", {}, h("summary", {}, W.advanced),
        h("label", { for: "n_ctx" }, W.context), ctx,
        h("label", { for: "threads" }, W.threads), threads),
      h("button", { type: "button", class: "primary", onclick: () => void save() }, W.save), status,
      h("h2", {}, W.yourData),
      h("p", { class: "help" }, W.dataHelp),
      h("button", { type: "button", class: "danger", onclick: (e: Event) => void deleteAll(e) }, W.deleteAll), dataStatus,
      h("h2", {}, W.about), h("p", { class: "help" }, W.aboutText(version)),
      h("p", { class: "help mono" }, cpu));
  }
}
