// A backend for view tests: records calls and lets the test drive the streams. (The real one
// is exercised end to end in the app window.)
import type {
  AnswerCheck, ChatEvent, ConversationSummary, ConversationView, DownloadProgress, LabRow_Serialize, Message, ModelState,
  ModelsView, RedFlags, SessionSnapshot, Settings, VoiceTurnEvent,
} from "../../gen/bindings";
import { type Backend, BackendError, type RecordInfo } from "../src/platform";

export class FakeBackend implements Backend {
  calls: string[] = [];
  chat: ((e: ChatEvent) => void) | null = null;
  voice: ((e: VoiceTurnEvent) => void) | null = null;
  downloads = new Map<string, { progress: (p: DownloadProgress) => void; resolve: () => void; reject: (e: unknown) => void }>();
  attachError: BackendError | null = null;
  /** What attachRecord says it read (the parsed record, red flags, reduced). */
  recordInfo: RecordInfo = recordInfo([]);
  /** What recordCurrent returns (a reopened conversation's record), and an error it throws. */
  currentRecord: RecordInfo | null = null;
  currentRecordError: BackendError | null = null;
  /** What checkAnswer finds, and an error it throws. */
  check: AnswerCheck = { issues: [], mentions: [], numbers_checked: 0 };
  checkError: BackendError | null = null;
  voiceError: BackendError | null = null;
  importError: BackendError | null = null;
  removeError: BackendError | null = null;
  settings: Settings = { temperature: 0.7, n_ctx: 4096, threads: null, instructions: null, auto_send: true, llm_model: null, asr_model: null, repack_weights: null, draft_tokens: false };
  /** Saved conversations, newest first, and what each holds. */
  conversations: ConversationSummary[] = [];
  views = new Map<number, ConversationView>();
  current: number | null = null;
  listError: BackendError | null = null;
  historyError: BackendError | null = null;
  /** Where the save dialog "saves" the export; null: the person cancels it. */
  exportPath: string | null = "/home/me/conversation.md";
  /** When set, listConversations waits for this before it answers (to test late answers). */
  listGate: Promise<void> | null = null;

  constructor(public models: ModelsView) {}

  async listModels() { this.calls.push("listModels"); return this.models; }
  async loadModels() { this.calls.push("loadModels"); return this.models; }
  download(id: string, onProgress: (p: DownloadProgress) => void) {
    this.calls.push(`download ${id}`);
    return new Promise<void>((resolve, reject) => this.downloads.set(id, { progress: onProgress, resolve, reject }));
  }
  async cancelDownload(id: string) { this.calls.push(`cancel ${id}`); }
  async importModel(path: string) {
    this.calls.push(`import ${path}`);
    if (this.importError) throw this.importError;
    return { id: "x", role: "llm" as const, path, summary: "GGUF qwen2" };
  }
  async removeModel(id: string) {
    this.calls.push(`remove ${id}`);
    if (this.removeError) throw this.removeError;
  }
  async send(text: string, onEvent: (e: ChatEvent) => void) { this.calls.push(`send ${text}`); this.chat = onEvent; }
  async regenerate(onEvent: (e: ChatEvent) => void) { this.calls.push("regenerate"); this.chat = onEvent; }
  async stop() { this.calls.push("stop"); }
  async newChat() { this.calls.push("newChat"); }
  /** What the model holds (chat_snapshot). */
  session: SessionSnapshot = { system_message: "", has_record: false, record_reduced: false, turns: [], cached_tokens: 0, n_ctx: 4096 };
  async snapshot() { this.calls.push("snapshot"); return this.session; }
  async typing(text: string) { this.calls.push(`typing ${text}`); }
  async voiceStart(answer: boolean, onEvent: (e: VoiceTurnEvent) => void) {
    this.calls.push(`voiceStart ${answer}`);
    if (this.voiceError) throw this.voiceError;
    this.voice = onEvent;
  }
  async voiceStop() { this.calls.push("voiceStop"); }
  async voiceCancel() { this.calls.push("voiceCancel"); }
  async attachRecord(text: string) {
    this.calls.push(`attach ${text.length}`);
    if (this.attachError) throw this.attachError;
    return this.recordInfo;
  }
  async recordCurrent() {
    this.calls.push("recordCurrent");
    if (this.currentRecordError) throw this.currentRecordError;
    return this.currentRecord;
  }
  async checkAnswer(answer: string) {
    this.calls.push(`check ${answer}`);
    if (this.checkError) throw this.checkError;
    return this.check;
  }
  async detachRecord() { this.calls.push("detach"); }
  async taskMessage(task: string) { return `TASK ${task}`; }
  async getSettings() { return { settings: this.settings, default_instructions: "Default.", problem: null }; }
  async setSettings(s: Settings) { this.calls.push("setSettings"); this.settings = s; return this.reloadOnSave; }
  async about() { return { version: "0.1.0", ggml: "0.26", cpu_features: "AVX2 = 1", default_threads: 2 }; }
  async pickTextFile() { return { name: "labs.txt", text: "LDL 160 mg/dL (ref < 100)" }; }
  async pickModelFile() { return "/tmp/model.gguf"; }
  /** Who follows `model-state`; `emitModelState` sends one to each. */
  modelStateListeners = new Set<(s: ModelState) => void>();
  async onModelState(cb: (s: ModelState) => void) {
    this.modelStateListeners.add(cb);
    return () => { this.modelStateListeners.delete(cb); };
  }
  emitModelState(s: ModelState) { for (const cb of Array.from(this.modelStateListeners)) cb(s); }
  /** What setSettings answers: whether the models must be loaded again. */
  reloadOnSave = false;
  async listConversations(query: string | null) {
    this.calls.push(`list ${query}`);
    const gate = this.listGate;
    if (gate) await gate;
    if (this.listError) throw this.listError;
    const q = query?.toLowerCase();
    return this.conversations.filter((c) => !q || c.title.toLowerCase().includes(q)
      || (this.views.get(c.id)?.conversation.messages ?? []).some((m) => m.text.toLowerCase().includes(q)));
  }
  async currentConversation() { return this.current; }
  async openConversation(id: number) {
    this.calls.push(`open ${id}`);
    if (this.historyError) throw this.historyError;
    const view = this.views.get(id);
    if (!view) throw new BackendError("history.not_found", `no conversation ${id}`);
    this.current = id;
    return view;
  }
  async renameConversation(id: number, title: string) {
    this.calls.push(`rename ${id} ${title}`);
    if (this.historyError) throw this.historyError;
    this.conversations = this.conversations.map((c) => (c.id === id ? { ...c, title } : c));
  }
  async deleteConversation(id: number) {
    this.calls.push(`delete ${id}`);
    if (this.historyError) throw this.historyError;
    this.conversations = this.conversations.filter((c) => c.id !== id);
    if (this.current === id) this.current = null;
  }
  async exportConversation(id: number, suggestedName: string) {
    this.calls.push(`export ${id} ${suggestedName}`);
    if (this.exportPath == null) return false;
    if (this.historyError) throw this.historyError;
    return true;
  }
  async deleteAllData() {
    this.calls.push("deleteAll");
    if (this.historyError) throw this.historyError;
    this.conversations = [];
    this.current = null;
  }
}

/** A saved conversation's line in the list. */
export function summary(id: number, title: string, updated_at: number, more: Partial<ConversationSummary> = {}): ConversationSummary {
  return { id, title, created_at: updated_at - 60_000, updated_at, has_record: false, model: "qwen2.5-1.5b-instruct-q4_k_m", messages: 2, ...more };
}

/** A saved message. */
export function message(id: number, role: "user" | "assistant", text: string, more: Partial<Message> = {}): Message {
  return { id, role, text, created_at: 1_790_000_000_000 + id, state: "complete", stats: null, error: null, ...more };
}

/** An opened conversation with these messages (and a record, if given). */
export function conversation(s: ConversationSummary, messages: Message[], record: string | null = null): ConversationView {
  return { conversation: { summary: s, record, messages }, cache_restored: true };
}

export function modelsView(installed: boolean): ModelsView {
  const entry = (id: string, role: "llm" | "asr", bytes: number) => ({
    id, role, name: id, url: `https://huggingface.co/${id}`, file: `${id}.bin`, bytes, sha256: "0".repeat(64),
    license: "Apache-2.0", ram_mb: 1400, description: `The ${role} model.`, default: true, verified: true,
  });
  const state = installed ? { state: "ready" as const, path: "/m" } : { state: "missing" as const };
  return {
    catalog: [
      { entry: entry("qwen2.5-1.5b-instruct-q4_k_m", "llm", 1_117_320_736), installed: state },
      { entry: entry("whisper-base.en", "asr", 147_964_211), installed: state },
    ],
    imported: [],
    llm: installed ? { id: "qwen2.5-1.5b-instruct-q4_k_m", role: "llm", path: "/m", is_default: true } : null,
    asr: installed ? { id: "whisper-base.en", role: "asr", path: "/m", is_default: true } : null,
    loaded_llm: null,
    loaded_asr: null,
  };
}

/** One parsed result line (as the record parser reports it). */
export function labRow(line: number, analyte: string, value: string, unit: string | null, range: string | null,
  status: LabRow_Serialize["status"], more: Partial<LabRow_Serialize> = {}): LabRow_Serialize {
  return {
    line, analyte, canonical: null,
    value: { text: value, number: Number.parseFloat(value.replace(/^[<>=]+/, "")), qualifier: null },
    unit,
    range: range == null ? null : { text: range, low: null, high: null, low_inclusive: true, high_inclusive: true },
    lab_flag: null, status, critical: false, flags_disagree: false, ...more,
  };
}

/** What the backend read of an attached record. */
export function recordInfo(rows: LabRow_Serialize[], more: { red_flags?: RedFlags | null; reduced?: boolean; unread?: RecordInfo["parsed"]["unread"] } = {}): RecordInfo {
  return { parsed: { rows, unread: more.unread ?? [], decimal_comma: false }, red_flags: more.red_flags ?? null, reduced: more.reduced ?? false };
}
