// The composer at the bottom of the chat: the question field (Enter sends, Shift+Enter is a new
// line, it grows with its text), and one button that is Send or Stop as the state says. After a
// pause in typing, the model reads the finished words ahead.
import { h } from "./dom";
import type { Backend } from "./platform";
import type { ChatState, ChatStateView } from "./state";
import { CHAT } from "./strings";

/** A pause in typing this long hands the finished words to the model ahead of sending. */
export const TYPING_PAUSE_MS = 300;

export interface ComposerHost {
  /** Send was pressed (or Enter): send the field's text, or stop the answer being written. */
  sendOrStop(): void;
}

export class Composer {
  readonly element: HTMLFormElement;
  readonly input: HTMLTextAreaElement;
  readonly sendButton: HTMLButtonElement;
  private typingTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly unsubscribe: () => void;

  constructor(private readonly backend: Backend, private readonly state: ChatState, host: ComposerHost, ...extra: HTMLElement[]) {
    this.input = h("textarea", { rows: 1, placeholder: CHAT.placeholder, "aria-label": CHAT.inputLabel, enterkeyhint: "send" });
    this.sendButton = h("button", { class: "send", type: "submit", "aria-label": CHAT.send }, CHAT.send);
    this.element = h("form", { class: "composer", onsubmit: (e: Event) => { e.preventDefault(); host.sendOrStop(); } }, this.input, ...extra, this.sendButton);
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        if (!this.state.answering) host.sendOrStop();
      }
    });
    this.input.addEventListener("input", () => {
      this.autosize();
      this.typed();
    });
    this.unsubscribe = state.subscribe((s) => this.render(s));
  }

  private render(s: ChatStateView): void {
    const stop = s.answering;
    this.sendButton.textContent = stop ? CHAT.stop : CHAT.send;
    this.sendButton.setAttribute("aria-label", stop ? CHAT.stopLabel : CHAT.send);
    this.sendButton.classList.toggle("stop", stop);
    // Stop is always there while an answer is written; Send needs a loaded model and a free mic.
    this.sendButton.disabled = !stop && (s.listening || s.models.llm.phase !== "loaded");
    this.input.placeholder = s.models.llm.phase === "loading" ? CHAT.placeholderLoading : CHAT.placeholder;
  }

  get value(): string {
    return this.input.value;
  }

  /** Sets the field's text (as typed, spoken or cleared) and fits its height to it. */
  setInput(text: string): void {
    this.input.value = text;
    this.autosize();
  }

  /** The question to send (trimmed), taken out of the field; null when it is empty. */
  take(): string | null {
    const text = this.input.value.trim();
    if (!text) return null;
    this.cancelTyping();
    this.setInput("");
    return text;
  }

  focus(): void {
    this.input.focus();
  }

  /** No late read-ahead of words already sent or cleared. */
  cancelTyping(): void {
    if (this.typingTimer !== null) clearTimeout(this.typingTimer);
    this.typingTimer = null;
  }

  /** After a pause in typing, the model reads the finished words ahead, so that sending
   * costs only the last ones (the engine ignores it while an answer is written). */
  private typed(): void {
    this.cancelTyping();
    this.typingTimer = setTimeout(() => {
      this.typingTimer = null;
      const text = this.input.value;
      if (!this.state.canAsk || !/\S\s/.test(text)) return;
      this.backend.typing(text).catch(() => { /* only a head start: nothing to tell */ });
    }, TYPING_PAUSE_MS);
  }

  private autosize(): void {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 160)}px`;
  }

  dispose(): void {
    this.cancelTyping();
    this.unsubscribe();
  }
}
