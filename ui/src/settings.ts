// Settings: models (switch, delete, download another, the voice model), answer style,
// advanced (context size, threads), the assistant's instructions (reset to default), your
// data (delete all of it), about.
import type { ModelsView, Settings, SettingsView } from "../../gen/bindings";
import { confirmDialog } from "./dialog";
import { clear, h } from "./dom";
import { bytes, percent } from "./format";
import { type Backend, toBackendError } from "./platform";

export const DELETE_ALL_TEXT = "This deletes every saved conversation, attached records, saved caches and your settings from this device. Downloaded models stay. This cannot be undone.";

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
    const status = h("p", { class: "status", role: "status", "aria-live": "polite" }, view.problem?.message ?? "");
    const temperature = h("input", { type: "range", min: 0, max: 1.5, step: 0.1, value: s.temperature, id: "temperature", "aria-describedby": "temperature-help" });
    const ctx = h("select", { id: "n_ctx" }, ...[2048, 4096, 8192].map((n) => h("option", { value: n, selected: n === s.n_ctx }, `${n} tokens`)));
    const threads = h("input", { type: "number", min: 1, max: 64, id: "threads", value: s.threads ?? "", placeholder: "automatic" });
    const autoSend = h("input", { type: "checkbox", id: "auto_send", checked: s.auto_send });
    const instructions = h("textarea", { id: "instructions", rows: 8 });
    instructions.value = s.instructions ?? view.default_instructions;
    const llmChoices = [...models.catalog.filter((m) => m.entry.role === "llm" && (m.installed.state === "ready" || m.installed.state === "referenced")).map((m) => ({ id: m.entry.id, name: m.entry.name })),
      ...models.imported.filter((m) => m.role === "llm" && m.present).map((m) => ({ id: m.id, name: `${m.id} (imported)` }))];
    const llm = h("select", { id: "llm_model" }, h("option", { value: "" }, "Automatic"), ...llmChoices.map((m) => h("option", { value: m.id, selected: m.id === s.llm_model }, m.name)));
    const asrChoices = [...models.catalog.filter((m) => m.entry.role === "asr" && (m.installed.state === "ready" || m.installed.state === "referenced")).map((m) => ({ id: m.entry.id, name: m.entry.name })),
      ...models.imported.filter((m) => m.role === "asr" && m.present).map((m) => ({ id: m.id, name: `${m.id} (imported)` }))];
    const asr = h("select", { id: "asr_model" }, h("option", { value: "" }, "Automatic"), ...asrChoices.map((m) => h("option", { value: m.id, selected: m.id === s.asr_model }, m.name)));
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
        status.textContent = reload ? "Saved. The model will be loaded again with the new settings." : "Saved.";
        this.onClose(reload);
      } catch (e) {
        status.textContent = toBackendError(e).message;
      }
    };
    const modelRows = models.catalog.map((m) => h("li", {},
      h("span", {}, `${m.entry.name} · ${bytes(Number(m.entry.bytes))} · `,
        m.installed.state === "ready" || m.installed.state === "referenced" ? "on this device" : m.installed.state === "partial" ? "partly downloaded" : "not downloaded"),
      m.installed.state === "ready" ? h("button", { type: "button", class: "quiet", onclick: async () => {
        try { await this.backend.removeModel(m.entry.id); await this.open(); } catch (e) { status.textContent = toBackendError(e).message; }
      } }, "Delete") : m.installed.state === "referenced" ? null : h("button", { type: "button", class: "quiet", onclick: async (e: Event) => {
        const button = e.currentTarget as HTMLButtonElement;
        button.disabled = true;
        try {
          await this.backend.download(m.entry.id, (p) => { button.textContent = `${percent(Number(p.bytes_done), Number(p.bytes_total))}%`; });
          await this.open();
        } catch (err) {
          button.disabled = false;
          button.textContent = "Download";
          status.textContent = toBackendError(err).message;
        }
      } }, m.installed.state === "partial" ? "Resume" : "Download")));
    // Models imported under ids of their own ("I already have a model file").
    const importedRows = models.imported.map((m) => h("li", { "data-id": m.id },
      h("span", {}, `${m.id} (imported, ${m.role === "llm" ? "answers" : "voice"}) · ${m.summary}`, m.present ? "" : " · the file is missing"),
      h("button", { type: "button", class: "quiet", "aria-label": `Delete ${m.id}`, onclick: async () => {
        try { await this.backend.removeModel(m.id); await this.open(); } catch (e) { status.textContent = toBackendError(e).message; }
      } }, "Delete")));
    const deleteAll = async (e: Event) => {
      const button = e.currentTarget as HTMLButtonElement;
      const yes = await confirmDialog(this.element, { title: "Delete all your data?", message: DELETE_ALL_TEXT, confirm: "Delete all my data" });
      if (!yes) return;
      button.disabled = true;
      try {
        await this.backend.deleteAllData();
        this.onDataDeleted();
      } catch (err) {
        button.disabled = false;
        dataStatus.textContent = toBackendError(err).message;
      }
    };
    const dataStatus = h("p", { class: "error", role: "alert" });
    this.element.append(
      h("header", { class: "bar" }, h("h1", { id: "settings-title" }, "Settings"), h("button", { type: "button", class: "quiet", onclick: () => this.onClose(false) }, "Back")),
      h("h2", {}, "Models"), h("ul", { class: "plain" }, ...modelRows, ...importedRows),
      h("label", { for: "llm_model" }, "Answer model"), llm,
      h("h2", {}, "Voice"), h("label", { class: "row" }, autoSend, " Send a spoken question as soon as it is heard"),
      h("label", { for: "asr_model" }, "Voice model"), asr,
      h("h2", {}, "Answer style"), h("label", { for: "temperature" }, "Precise ↔ creative"), temperature,
      h("p", { id: "temperature-help", class: "help" }, "Precise gives the same answer every time; creative varies the wording."),
      h("h2", {}, "The assistant's instructions"), instructions,
      h("button", { type: "button", class: "quiet", onclick: () => { instructions.value = view.default_instructions; } }, "Reset to default"),
      h("details", {}, h("summary", {}, "Advanced"),
        h("label", { for: "n_ctx" }, "Conversation memory (context size)"), ctx,
        h("label", { for: "threads" }, "Threads"), threads),
      h("button", { type: "button", class: "primary", onclick: () => void save() }, "Save"), status,
      h("h2", {}, "Your data"),
      h("p", { class: "help" }, "Your conversations, the records you attached and your settings are kept on this device only."),
      h("button", { type: "button", class: "danger", onclick: (e: Event) => void deleteAll(e) }, "Delete all my data"), dataStatus,
      h("h2", {}, "About"), h("p", { class: "help" }, `Murmur ${version}. Everything runs on this device; nothing you say or share leaves it.`),
      h("p", { class: "help mono" }, cpu));
  }
}
