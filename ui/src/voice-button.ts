// The mic button: a press held talks while held, a tap toggles listening; the level meter moves
// with the voice; partial transcripts go into the question field. A press that the system takes
// away (pointercancel) or a release before the microphone has even opened still ends listening:
// the microphone is never left live.
import type { ChatEvent, VoiceTurnEvent } from "../../gen/bindings";
import { h, icon, MIC_ICON } from "./dom";
import { showError } from "./errors";
import { type Backend, toBackendError } from "./platform";
import type { ChatState, ChatStateView } from "./state";
import { VOICE } from "./strings";

/** How a press on the mic button is meant: a long press talks while held; a tap toggles. */
export const HOLD_MS = 350;

export interface VoiceHost {
  /** The question field's text, and a way to set it. */
  getInput(): string;
  setInput(text: string): void;
  /** How many partial transcripts this turn showed (read by the end-to-end test). */
  countPartial(reset: boolean): void;
  /** The status line (empty string: nothing to say). */
  status(text: string): void;
  statusElement(): HTMLElement;
  /** The spoken question is being answered: show it and return the answer's event handler. */
  heard(question: string): (e: ChatEvent) => void;
  focusInput(): void;
  /** Whether a spoken question is sent as soon as it is heard. */
  autoSend(): boolean;
}

export class VoiceButton {
  readonly element: HTMLButtonElement;
  private readonly meter: HTMLElement;
  /** When the press that started listening began (0: the press was to stop). */
  private pressStart = 0;
  private pressed = false;
  /** voice_start has not returned yet: a stop or cancel must wait for it. */
  private starting = false;
  private endWhenStarted: "stop" | "cancel" | null = null;
  private readonly unsubscribe: () => void;

  constructor(private readonly backend: Backend, private readonly state: ChatState, private readonly host: VoiceHost) {
    this.meter = h("span", { class: "meter", "aria-hidden": "true" });
    this.element = h("button", { class: "mic", type: "button", "aria-label": VOICE.ask, "aria-pressed": "false", title: VOICE.askTitle }, this.meter, icon(...MIC_ICON));
    this.element.addEventListener("pointerdown", (e) => this.down(e));
    this.element.addEventListener("pointerup", () => this.up());
    this.element.addEventListener("pointercancel", () => this.cancelled());
    this.element.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        void this.toggle();
      }
    });
    this.unsubscribe = state.subscribe((s) => this.render(s));
  }

  private render(s: ChatStateView): void {
    const live = s.listening;
    this.element.classList.toggle("live", live);
    this.element.setAttribute("aria-pressed", String(live));
    this.element.setAttribute("aria-label", live ? VOICE.stopListening : VOICE.ask);
    // Listening can always be stopped; starting needs the speech model and no answer running.
    this.element.disabled = !live && (!this.state.voiceReady || s.answering);
    const asr = s.models.asr.phase;
    this.element.title = asr === "loaded" ? VOICE.askTitle : asr === "loading" ? VOICE.loading : VOICE.unavailable;
    if (!live) this.meter.style.transform = "scaleY(0)";
  }

  private down(e: PointerEvent): void {
    if (this.element.disabled || this.state.answering) return;
    e.preventDefault();
    // The release comes back to this button even if the finger slides off it.
    try {
      this.element.setPointerCapture?.(e.pointerId);
    } catch {
      // Not a real pointer (a synthetic event): nothing to capture.
    }
    this.pressed = true;
    if (!this.state.listening) {
      this.pressStart = Date.now();
      void this.start();
    } else {
      this.pressStart = 0;
    }
  }

  private up(): void {
    if (!this.pressed) return;
    this.pressed = false;
    if (!this.state.listening) return;
    // A press held long enough talks while held; a press on a live mic stops it; a short tap
    // that started listening leaves it on (tap again to finish).
    if (this.pressStart === 0 || Date.now() - this.pressStart >= HOLD_MS) void this.end("stop");
  }

  /** The system took the press away (a scroll, a call, a gesture): listening ends, and what
   * was heard is dropped (the press was not finished). */
  private cancelled(): void {
    if (!this.pressed) return;
    this.pressed = false;
    if (this.state.listening) void this.end(this.pressStart === 0 ? "stop" : "cancel");
  }

  /** Starts listening, or finishes it (a tap, Ctrl+M, Enter or Space on the button). */
  async toggle(): Promise<void> {
    if (this.state.listening) await this.end("stop");
    else if (!this.element.disabled) await this.start();
  }

  /** Cancels listening (Escape): no transcript. */
  async cancel(): Promise<void> {
    if (this.state.listening) await this.end("cancel");
  }

  private async end(kind: "stop" | "cancel"): Promise<void> {
    if (this.starting) {
      // voice_start has not returned: the backend has no turn to stop yet.
      this.endWhenStarted = kind === "cancel" || this.endWhenStarted === "cancel" ? "cancel" : "stop";
      return;
    }
    try {
      await (kind === "stop" ? this.backend.voiceStop() : this.backend.voiceCancel());
    } catch (e) {
      console.warn("Ending the voice turn failed:", e);
    }
  }

  private async start(): Promise<void> {
    this.state.setListening(true);
    this.host.status(VOICE.listening);
    const before = this.host.getInput();
    const join = (text: string) => `${before}${before ? " " : ""}${text}`.trim();
    let answer: ((e: ChatEvent) => void) | null = null;
    this.host.countPartial(true);
    const stopped = () => this.state.setListening(false);
    const onEvent = (e: VoiceTurnEvent) => {
      switch (e.event) {
        case "listening": {
          const v = e.data;
          if (v.event === "level") {
            if (this.state.listening) this.meter.style.transform = `scaleY(${Math.min(1, (v.data.rms ?? 0) * 8).toFixed(3)})`;
          } else if (v.event === "partial") {
            this.host.setInput(join(`${v.data.stable} ${v.data.tail}`));
            this.host.countPartial(false);
          } else if (v.event === "transcribing") this.host.status(VOICE.transcribing);
          break;
        }
        case "heard":
          stopped();
          this.host.status("");
          if (e.data.answering) {
            this.host.setInput(before);
            answer = this.host.heard(e.data.transcript.text);
          } else {
            this.host.setInput(join(e.data.transcript.text));
            this.host.focusInput();
          }
          break;
        case "no_speech":
          stopped();
          this.host.setInput(before);
          this.host.status(VOICE.noSpeech);
          break;
        case "answer":
          answer?.(e.data);
          break;
        case "error":
          stopped();
          this.host.setInput(before);
          if (e.data.code === "cancelled") this.host.status("");
          else showError(this.host.statusElement(), e.data);
          break;
      }
    };
    this.starting = true;
    this.endWhenStarted = null;
    let started = false;
    try {
      await this.backend.voiceStart(this.host.autoSend(), onEvent);
      started = true;
    } catch (err) {
      const { code, message } = toBackendError(err);
      onEvent({ event: "error", data: { code, message } } as VoiceTurnEvent);
    } finally {
      this.starting = false;
    }
    // Released (or taken away) before the microphone opened: end the turn now.
    const pending = this.endWhenStarted;
    this.endWhenStarted = null;
    if (started && pending && this.state.listening) await this.end(pending);
  }

  dispose(): void {
    this.unsubscribe();
  }
}
