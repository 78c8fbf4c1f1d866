// The chat's one state object: what the backend's `model-state` events say of each model
// (loading, loaded, failed, unloaded), and whether an answer is being written or the mic is
// listening. The composer, the voice button and the status line read it and follow its changes;
// nothing else keeps a copy.
import type { ModelState, Role } from "../../gen/bindings";

/** An error as shown: the backend's `{code, message}` (or the UI's own). */
export type ErrorLike = { code: string; message: string };

export type ModelPhase = "loading" | "loaded" | "failed" | "unloaded";

export interface RoleState {
  phase: ModelPhase;
  /** Why it failed (phase "failed"). */
  error: ErrorLike | null;
}

export interface ChatStateView {
  models: Record<Role, RoleState>;
  /** An answer (typed or spoken) is being written. */
  answering: boolean;
  /** The microphone is live (from the press until the final transcript or an error). */
  listening: boolean;
}

export type StateListener = (state: ChatStateView) => void;

export class ChatState {
  private view: ChatStateView;
  private readonly listeners = new Set<StateListener>();

  constructor(initial: { llm?: ModelPhase; asr?: ModelPhase } = {}) {
    this.view = {
      models: {
        llm: { phase: initial.llm ?? "unloaded", error: null },
        asr: { phase: initial.asr ?? "unloaded", error: null },
      },
      answering: false,
      listening: false,
    };
  }

  get current(): ChatStateView {
    return this.view;
  }

  get answering(): boolean {
    return this.view.answering;
  }

  get listening(): boolean {
    return this.view.listening;
  }

  /** The speech model is loaded: the mic can be used. */
  get voiceReady(): boolean {
    return this.view.models.asr.phase === "loaded";
  }

  /** The answer model is loaded: questions can be asked. */
  get answerReady(): boolean {
    return this.view.models.llm.phase === "loaded";
  }

  /** A question can be sent now: the model is loaded and nothing else is running. */
  get canAsk(): boolean {
    return this.answerReady && !this.view.answering && !this.view.listening;
  }

  /** Applies one `model-state` event. */
  applyModelState(s: ModelState): void {
    const error = s.state === "failed" ? s.error : null;
    this.setModel(s.role, s.state, error);
  }

  setModel(role: Role, phase: ModelPhase, error: ErrorLike | null = null): void {
    const was = this.view.models[role];
    if (was.phase === phase && was.error === error) return;
    this.update({ models: { ...this.view.models, [role]: { phase, error } } });
  }

  setAnswering(on: boolean): void {
    if (this.view.answering !== on) this.update({ answering: on });
  }

  setListening(on: boolean): void {
    if (this.view.listening !== on) this.update({ listening: on });
  }

  /** Calls `listener` now and on every change; returns the way to stop it. */
  subscribe(listener: StateListener): () => void {
    this.listeners.add(listener);
    listener(this.view);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** How many listeners follow it (for the tests of leaks). */
  get listenerCount(): number {
    return this.listeners.size;
  }

  private update(change: Partial<ChatStateView>): void {
    this.view = { ...this.view, ...change };
    for (const l of Array.from(this.listeners)) l(this.view);
  }
}
