// A backend for view tests: records calls and lets the test drive the streams. (The real one
// is exercised end to end in the app window.)
import type { ChatEvent, DownloadProgress, ModelState, ModelsView, Settings, VoiceTurnEvent } from "../../gen/bindings";
import { type Backend, BackendError } from "../src/platform";

export class FakeBackend implements Backend {
  calls: string[] = [];
  chat: ((e: ChatEvent) => void) | null = null;
  voice: ((e: VoiceTurnEvent) => void) | null = null;
  downloads = new Map<string, { progress: (p: DownloadProgress) => void; resolve: () => void; reject: (e: unknown) => void }>();
  attachError: BackendError | null = null;
  voiceError: BackendError | null = null;
  importError: BackendError | null = null;
  removeError: BackendError | null = null;
  settings: Settings = { temperature: 0.7, n_ctx: 4096, threads: null, instructions: null, auto_send: true, llm_model: null, asr_model: null };

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
  }
  async detachRecord() { this.calls.push("detach"); }
  async taskMessage(task: string) { return `TASK ${task}`; }
  async getSettings() { return { settings: this.settings, default_instructions: "Default.", problem: null }; }
  async setSettings(s: Settings) { this.settings = s; return false; }
  async about() { return { version: "0.1.0", ggml: "0.26", cpu_features: "AVX2 = 1", default_threads: 2 }; }
  async pickTextFile() { return { name: "labs.txt", text: "LDL 160 mg/dL (ref < 100)" }; }
  async pickModelFile() { return "/tmp/model.gguf"; }
  async onModelState(_cb: (s: ModelState) => void) { return () => {}; }
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
