// The UI's one door to Rust: the generated bindings (gen/), Tauri channels and the file
// picker and save dialog, behind an interface so that the views can be tested without Tauri.
import type {
  AboutView, AnswerCheck, ChatEvent, ConversationSummary, ConversationView, DownloadProgress, EngineError, ErrorCode,
  Imported, ModelState, ModelsView, RecordInfo_Serialize, SessionSnapshot, Settings, SettingsView, Task, VoiceTurnEvent,
} from "../../gen/bindings";

/** An attached record as the parser read it (results, unread lines), its red flags, and
 * whether the model reads only part of it. */
export type RecordInfo = RecordInfo_Serialize;

export interface Backend {
  listModels(): Promise<ModelsView>;
  loadModels(): Promise<ModelsView>;
  download(id: string, onProgress: (p: DownloadProgress) => void): Promise<void>;
  cancelDownload(id: string): Promise<void>;
  importModel(path: string): Promise<Imported>;
  removeModel(id: string): Promise<void>;
  send(text: string, onEvent: (e: ChatEvent) => void): Promise<void>;
  regenerate(onEvent: (e: ChatEvent) => void): Promise<void>;
  stop(): Promise<void>;
  newChat(): Promise<void>;
  /** The conversation as the model holds it (its turns, whether it has a record). */
  snapshot(): Promise<SessionSnapshot>;
  /** The person is typing `text`: the model may read its finished words ahead (nothing is
   * sent or saved). */
  typing(text: string): Promise<void>;
  voiceStart(answer: boolean, onEvent: (e: VoiceTurnEvent) => void): Promise<void>;
  voiceStop(): Promise<void>;
  voiceCancel(): Promise<void>;
  /** Attaches a record and reads it into the model; returns what was read of it. */
  attachRecord(text: string): Promise<RecordInfo>;
  detachRecord(): Promise<void>;
  /** The attached record as read (after a conversation is reopened), or null without one. */
  recordCurrent(): Promise<RecordInfo | null>;
  /** Checks a finished answer against the attached record (numbers, statuses) and for
   * dose- or diagnosis-like phrases. */
  checkAnswer(answer: string): Promise<AnswerCheck>;
  taskMessage(task: Task): Promise<string>;
  getSettings(): Promise<SettingsView>;
  setSettings(settings: Settings): Promise<boolean>;
  about(): Promise<AboutView>;
  /** A text file the person picks (a record), or null if they cancel. */
  pickTextFile(): Promise<{ name: string; text: string } | null>;
  /** A model file the person picks, or null. */
  pickModelFile(): Promise<string | null>;
  onModelState(cb: (s: ModelState) => void): Promise<() => void>;
  /** Saved conversations, newest first; with a query, those whose title or messages hold it. */
  listConversations(query: string | null): Promise<ConversationSummary[]>;
  /** The conversation open in the chat (null: a new one, saved with its first question). */
  currentConversation(): Promise<number | null>;
  /** Stops any answer and puts the conversation (with its record) back into the model. */
  openConversation(id: number): Promise<ConversationView>;
  renameConversation(id: number, title: string): Promise<void>;
  /** Deletes its messages, record and cache; if it was open, the chat starts anew without a record. */
  deleteConversation(id: number): Promise<void>;
  /** Asks where to save (the save dialog), then writes the conversation there as Markdown;
   * false if the person cancelled the dialog. */
  exportConversation(id: number, suggestedName: string): Promise<boolean>;
  /** Deletes every conversation, record, cache and the settings (the models stay). */
  deleteAllData(): Promise<void>;
}

/** An engine error, thrown: `code` is stable (see ErrorCode), `message` is for people. */
export class BackendError extends Error {
  constructor(readonly code: ErrorCode | "ui.unavailable", message: string) {
    super(message);
  }
}

export function isEngineError(e: unknown): e is EngineError {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}

export function toBackendError(e: unknown): BackendError {
  if (e instanceof BackendError) return e;
  if (isEngineError(e)) return new BackendError(e.code, e.message);
  return new BackendError("ui.unavailable", e instanceof Error ? e.message : String(e));
}

type Res<T> = { status: "ok"; data: T } | { status: "error"; error: EngineError };

function unwrap<T>(r: Res<T>): T {
  if (r.status === "ok") return r.data;
  throw new BackendError(r.error.code, r.error.message);
}

/** The real backend, inside the Tauri window. */
export async function tauriBackend(): Promise<Backend> {
  const { commands, events } = await import("../../gen/bindings");
  const { Channel } = await import("@tauri-apps/api/core");
  const { open, save } = await import("@tauri-apps/plugin-dialog");
  const { readTextFile } = await import("@tauri-apps/plugin-fs");
  const channel = <T>(cb: (e: T) => void) => {
    const c = new Channel<T>();
    c.onmessage = cb;
    return c;
  };
  const call = async <T>(p: Promise<Res<T>>) => unwrap(await p);
  const run = async (p: Promise<Res<null>>): Promise<void> => {
    unwrap(await p);
  };
  return {
    listModels: () => call(commands.modelsList()),
    loadModels: () => call(commands.modelsLoad()),
    download: (id, cb) => run(commands.modelsDownload(id, channel(cb))),
    cancelDownload: (id) => run(commands.modelsCancelDownload(id)),
    importModel: (path) => call(commands.modelsImport(path, false)),
    removeModel: (id) => run(commands.modelsRemove(id)),
    send: (text, cb) => run(commands.chatSend(text, channel(cb))),
    regenerate: (cb) => run(commands.chatRegenerate(channel(cb))),
    stop: () => run(commands.chatStop()),
    newChat: () => run(commands.chatNew()),
    snapshot: () => call(commands.chatSnapshot()),
    typing: (text) => run(commands.chatTyping(text)),
    voiceStart: (answer, cb) => run(commands.voiceStart(answer, channel(cb))),
    voiceStop: () => run(commands.voiceStop()),
    voiceCancel: () => run(commands.voiceCancel()),
    attachRecord: (text) => call(commands.recordAttach(text)),
    detachRecord: () => run(commands.recordDetach()),
    recordCurrent: () => call(commands.recordCurrent()),
    checkAnswer: (answer) => call(commands.answerCheck(answer)),
    taskMessage: (task) => commands.recordTaskMessage(task, null),
    getSettings: () => call(commands.settingsGet()),
    setSettings: (s) => call(commands.settingsSet(s)),
    about: () => commands.appAbout(),
    pickTextFile: async () => {
      const path = await open({ multiple: false, directory: false, filters: [{ name: "Text", extensions: ["txt", "md", "csv", "text"] }] });
      if (typeof path !== "string") return null;
      return { name: path.split(/[\\/]/).pop() ?? path, text: await readTextFile(path) };
    },
    pickModelFile: async () => {
      const path = await open({ multiple: false, directory: false, filters: [{ name: "Model", extensions: ["gguf", "bin"] }] });
      return typeof path === "string" ? path : null;
    },
    onModelState: async (cb) => events.modelState.listen((e) => cb(e.payload)),
    listConversations: (query) => call(commands.conversationsList(query)),
    currentConversation: () => call(commands.conversationCurrent()),
    openConversation: (id) => call(commands.conversationOpen(id)),
    renameConversation: (id, title) => run(commands.conversationRename(id, title)),
    deleteConversation: (id) => run(commands.conversationDelete(id)),
    exportConversation: async (id, suggestedName) => {
      // The backend writes only to the path the person chose here (the dialog grants it).
      const path = await save({ defaultPath: suggestedName, filters: [{ name: "Markdown", extensions: ["md"] }] });
      if (typeof path !== "string") return false;
      await run(commands.conversationExport(id, path));
      return true;
    },
    deleteAllData: () => run(commands.dataDeleteAll()),
  };
}
