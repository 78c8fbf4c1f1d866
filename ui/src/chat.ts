// The conversation: messages, the input with mic and send/stop, a pinned record card, the
// medical notice, and answers that grow token by token; a saved conversation shown again.
import type { AnswerCheck, ChatEvent, ConversationView, Message, Task, TurnStats, VoiceTurnEvent } from "../../gen/bindings";
import { AnswerView, describeStats } from "./answer";
import { checkView, markIssues } from "./check";
import { clear, h, HISTORY_ICON, icon, MIC_ICON } from "./dom";
import { type Backend, type RecordInfo, toBackendError } from "./platform";
import { RecordCard } from "./record";

const EXAMPLES = [
  "What does a high LDL cholesterol mean?",
  "What is HbA1c, and why is it measured?",
  "What should I ask my doctor about a low ferritin?",
];
const TASKS: { task: Task; label: string }[] = [
  { task: "explain", label: "Explain results" },
  { task: "summarise", label: "Summarise" },
  { task: "questions", label: "Prepare questions for my visit" },
];
export const NOTICE = "Murmur explains; it does not diagnose. Ask your clinician before you change anything.";

/** How a saved answer ended, when it did not end well, in a few calm words. */
export const STATE_NOTES = {
  interrupted: "Interrupted — the app closed while this answer was being written.",
  cancelled: "Stopped.",
  failedWithoutReason: "This answer could not be written.",
};
/** The name on the card of a reopened conversation's record. */
export const SAVED_RECORD_NAME = "Attached record";

/** How a press on the mic button is meant: a long press talks while held; a tap toggles. */
export const HOLD_MS = 350;
/** A pause in typing this long hands the finished words to the model ahead of sending. */
export const TYPING_PAUSE_MS = 300;

export interface ChatOptions {
  autoSend: boolean;
  voiceAvailable: boolean;
  schedule?: (cb: () => void) => void;
}

export class ChatScreen {
  readonly element: HTMLElement;
  readonly input: HTMLTextAreaElement;
  readonly sendButton: HTMLButtonElement;
  readonly micButton: HTMLButtonElement;
  readonly conversationsButton: HTMLButtonElement;
  private readonly log: HTMLElement;
  private readonly live: HTMLElement;
  private readonly status: HTMLElement;
  private readonly recordSlot: HTMLElement;
  private readonly meter: HTMLElement;
  private streaming = false;
  private typingTimer: ReturnType<typeof setTimeout> | null = null;
  private listening = false;
  private stickToBottom = true;
  private pressStart = 0;
  record: { name: string } | null = null;
  /** The record's card on screen (null without a record). */
  card: RecordCard | null = null;
  /** Counts the cards shown: a late answer about an earlier record is dropped. */
  private cardGeneration = 0;

  constructor(
    private readonly backend: Backend,
    private readonly options: ChatOptions,
    private readonly onSettings: () => void,
    onConversations: () => void = () => {},
  ) {
    this.log = h("div", { class: "log", role: "log", "aria-label": "Conversation", tabindex: 0 });
    this.live = h("div", { class: "visually-hidden", "aria-live": "polite", "aria-atomic": "false" });
    this.status = h("p", { class: "status", role: "status", "aria-live": "polite" });
    this.recordSlot = h("div", { class: "record-slot" });
    this.input = h("textarea", { rows: 1, placeholder: "Ask a question…", "aria-label": "Your question", enterkeyhint: "send" });
    this.meter = h("span", { class: "meter", "aria-hidden": "true" });
    this.micButton = h("button", { class: "mic", type: "button", "aria-label": "Ask by voice", "aria-pressed": "false", title: "Ask by voice (Ctrl+M)" }, this.meter, icon(...MIC_ICON));
    this.sendButton = h("button", { class: "send", type: "submit", "aria-label": "Send" }, "Send");
    this.conversationsButton = h("button", { type: "button", class: "quiet open-conversations", "aria-label": "Conversations", title: "Conversations", onclick: () => onConversations() },
      icon(...HISTORY_ICON), h("span", { class: "bar-label" }, "Conversations"));
    const form = h("form", { class: "composer", onsubmit: (e: Event) => { e.preventDefault(); void this.sendOrStop(); } }, this.input, this.micButton, this.sendButton);
    this.element = h("section", { class: "chat" },
      h("header", { class: "bar" },
        this.conversationsButton,
        h("h1", {}, "Murmur"),
        h("button", { type: "button", class: "quiet", onclick: () => void this.newChat() }, "New chat"),
        h("button", { type: "button", class: "quiet", onclick: () => void this.attachFile() }, "Attach record"),
        h("button", { type: "button", class: "quiet", "aria-label": "Settings", onclick: () => this.onSettings() }, "Settings")),
      h("p", { class: "notice" }, NOTICE),
      this.recordSlot, this.log, this.status, form, this.live);
    this.wire();
    this.showEmpty();
    this.micButton.disabled = !options.voiceAvailable;
    if (!options.voiceAvailable) this.micButton.title = "Voice needs the speech model (Settings → Models)";
  }

  private wire(): void {
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        if (!this.streaming) void this.sendOrStop();
      }
    });
    this.input.addEventListener("input", () => {
      this.autosize();
      this.typed();
    });
    document.addEventListener("keydown", (e) => {
      // Only while the chat is on screen (not under the settings or the conversations).
      if (!this.element.isConnected) return;
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "m") {
        e.preventDefault();
        void this.toggleMic();
      } else if (e.key === "Escape" && this.streaming) {
        // Anywhere on the screen, the input included (its keydown bubbles here): one stop.
        e.preventDefault();
        void this.stop();
      }
    });
    // A rotated phone or a resized window keeps the newest message in view.
    window.addEventListener("resize", () => this.scroll());
    this.log.addEventListener("scroll", () => {
      this.stickToBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 40;
    });
    // Press and hold talks while held; a short tap toggles listening.
    this.micButton.addEventListener("pointerdown", (e) => {
      if (this.micButton.disabled || this.streaming) return;
      e.preventDefault();
      this.pressStart = Date.now();
      if (!this.listening) void this.startListening();
      else this.pressStart = 0;
    });
    this.micButton.addEventListener("pointerup", () => {
      if (this.listening && this.pressStart && Date.now() - this.pressStart >= HOLD_MS) void this.backend.voiceStop();
      else if (this.listening && this.pressStart === 0) void this.backend.voiceStop();
    });
    this.micButton.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        void this.toggleMic();
      }
    });
  }

  /** Sets the input's text (as typed, spoken or cleared) and fits its height to it. */
  setInput(text: string): void {
    this.input.value = text;
    this.autosize();
  }

  /** After a pause in typing, the model reads the finished words ahead, so that sending
   * costs only the last ones (the engine ignores it while an answer is written). */
  private typed(): void {
    if (this.typingTimer !== null) clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => {
      this.typingTimer = null;
      const text = this.input.value;
      if (this.streaming || !/\S\s/.test(text)) return;
      this.backend.typing(text).catch(() => { /* only a head start: nothing to tell */ });
    }, TYPING_PAUSE_MS);
  }

  private autosize(): void {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 160)}px`;
  }

  private showEmpty(): void {
    if (this.log.childElementCount > 0) return;
    const empty = h("div", { class: "empty" },
      h("p", {}, "Ask anything about your results, in your own words. For example:"),
      h("ul", {}, ...EXAMPLES.map((q) => h("li", {}, h("button", { type: "button", class: "suggestion", onclick: () => void this.ask(q) }, q)))),
      h("p", {}, "Or attach a record (paste it or open a text file) and choose:"),
      h("div", { class: "tasks" }, ...TASKS.map((t) => h("button", { type: "button", class: "suggestion", onclick: () => void this.runTask(t.task) }, t.label))));
    this.log.append(empty);
  }

  private scroll(): void {
    if (this.stickToBottom) this.log.scrollTop = this.log.scrollHeight;
  }

  private setStreaming(on: boolean): void {
    this.streaming = on;
    this.sendButton.textContent = on ? "Stop" : "Send";
    this.sendButton.setAttribute("aria-label", on ? "Stop the answer" : "Send");
    this.sendButton.classList.toggle("stop", on);
    this.micButton.disabled = on || !this.options.voiceAvailable;
  }

  async sendOrStop(): Promise<void> {
    if (this.streaming) return this.stop();
    const text = this.input.value.trim();
    if (!text) return;
    if (this.typingTimer !== null) clearTimeout(this.typingTimer);
    this.typingTimer = null;
    this.setInput("");
    await this.ask(text);
  }

  async stop(): Promise<void> {
    await this.backend.stop();
  }

  private userMessage(text: string): void {
    this.log.querySelector(".empty")?.remove();
    // The conversation goes on: the record's card folds (once), to leave it the room.
    this.card?.settle();
    this.log.append(h("div", { class: "msg user" }, h("p", {}, text)));
    this.stickToBottom = true;
    this.scroll();
  }

  /** Starts an answer bubble; returns the event handler for its stream. */
  private answerBubble(): { onEvent: (e: ChatEvent) => void; done: Promise<void> } {
    // Regenerate redoes the last exchange only: a new one takes the button from the older.
    for (const b of Array.from(this.log.querySelectorAll(".answer-actions .regenerate"))) b.remove();
    const view = new AnswerView(this.live, this.options.schedule);
    const pending = h("p", { class: "pending" }, this.record ? "Reading your record…" : "Thinking…");
    const bubble = h("div", { class: "msg assistant", "aria-busy": "true" }, pending, view.element);
    this.log.append(bubble);
    this.scroll();
    this.setStreaming(true);
    let finish: () => void = () => {};
    const done = new Promise<void>((r) => (finish = r));
    const onEvent = (e: ChatEvent) => {
      if (e.event === "token") pending.remove();
      const ended = view.apply(e);
      if (e.event === "trimmed") this.log.insertBefore(h("p", { class: "trimmed" }, "The conversation got too long: the oldest messages were set aside."), bubble);
      if (ended) {
        pending.remove();
        bubble.removeAttribute("aria-busy");
        this.endAnswer(bubble, view);
        this.setStreaming(false);
        this.input.focus();
      }
      // After the answer's end and its actions, so that they are in view too.
      this.scroll();
      if (ended) finish();
    };
    return { onEvent, done };
  }

  private endAnswer(bubble: HTMLElement, view: AnswerView): void {
    const end = view.ended;
    if (!end) return;
    if (end.kind === "error") {
      bubble.classList.add("failed");
      bubble.append(h("p", { class: "error", role: "alert" }, end.error.message));
      return;
    }
    if (end.kind === "stopped") bubble.append(h("p", { class: "stopped" }, STATE_NOTES.cancelled));
    this.answerActions(bubble, () => view.raw, end.stats, true);
    // A whole answer is checked; a stopped one is not (its last words are cut off).
    if (end.kind === "done") void this.checkAnswer(bubble, view);
  }

  /** Checks a finished answer: marks the words the check found and lists them below the answer,
   * or says quietly that its numbers were found in the record. A failed check shows nothing. */
  private async checkAnswer(bubble: HTMLElement, view: AnswerView): Promise<void> {
    const raw = view.raw;
    if (!raw.trim()) return;
    let check: AnswerCheck;
    try {
      check = await this.backend.checkAnswer(raw);
    } catch (e) {
      console.warn("The answer check failed:", e);
      return;
    }
    // After the frame the answer's last render may still be waiting for (it would undo the marks).
    const schedule = this.options.schedule ?? ((cb: () => void) => requestAnimationFrame(() => cb()));
    await new Promise<void>((resolve) => schedule(resolve));
    // Regenerated meanwhile: that answer is gone.
    if (!bubble.isConnected) return;
    const shown = checkView(check, {
      hasRecord: this.record != null,
      showTable: this.card?.table ? () => this.card?.showTable() : null,
    });
    if (!shown) return;
    // Showing the answer's end: the check comes into view with it.
    const atEnd = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 120;
    // Marking is a nicety; the list below the answer must show even if it fails (an older
    // WebKit without some regular-expression feature, say).
    try {
      markIssues(view.element, raw, check.issues, shown.ids);
    } catch (e) {
      console.warn("Marking the answer failed:", e);
    }
    bubble.insertBefore(shown.element, bubble.querySelector(".answer-actions"));
    if (atEnd && bubble === this.log.lastElementChild) {
      this.stickToBottom = true;
      this.scroll();
    }
    if (check.issues.length > 0) {
      const n = check.issues.length;
      this.live.append(h("p", {}, `${this.record ? "Checked against your record" : "Checked"}: ${n} ${n === 1 ? "thing" : "things"} to read with care, listed below the answer.`));
      while (this.live.childElementCount > 3) this.live.firstElementChild?.remove();
    }
  }

  /** Copy, Regenerate (the newest answer only: the backend redoes the last exchange) and Details. */
  private answerActions(bubble: HTMLElement, raw: () => string, stats: TurnStats | null, regenerate: boolean): void {
    const details = stats ? h("p", { class: "details", hidden: true }, describeStats(stats)) : null;
    bubble.append(h("div", { class: "answer-actions" },
      h("button", { type: "button", class: "quiet", onclick: () => void navigator.clipboard?.writeText(raw()) }, "Copy"),
      regenerate && h("button", { type: "button", class: "quiet regenerate", onclick: () => void this.regenerate(bubble) }, "Regenerate"),
      details && h("button", { type: "button", class: "quiet", "aria-expanded": "false", onclick: (e: Event) => {
        details.hidden = !details.hidden;
        (e.currentTarget as HTMLElement).setAttribute("aria-expanded", String(!details.hidden));
      } }, "Details")));
    if (details) bubble.append(details);
  }

  /** Shows a reopened conversation (the backend has put it back into the model): its messages
   * as they were saved, answers through the same sanitised rendering as live ones, and the
   * card of its record if it has one. */
  showConversation(view: ConversationView): void {
    const { record, messages } = view.conversation;
    clear(this.log);
    clear(this.live);
    this.status.textContent = "";
    if (record) {
      // The card at once, then what the backend read of the record.
      this.showRecord(SAVED_RECORD_NAME, record, null, false);
      if (messages.length > 0) this.card?.settle();
      void this.loadCurrentRecord(record);
    } else this.hideRecord();
    const last = messages[messages.length - 1];
    for (const m of messages) {
      if (m.role === "user") this.log.append(h("div", { class: "msg user" }, h("p", {}, m.text)));
      else this.log.append(this.savedAnswer(m, m === last));
    }
    this.showEmpty();
    this.stickToBottom = true;
    this.scroll();
  }

  private savedAnswer(m: Message, newest: boolean): HTMLElement {
    const bubble = h("div", { class: "msg assistant", "data-state": m.state });
    if (m.text) {
      const view = new AnswerView(this.live, this.options.schedule);
      view.restore(m.text);
      bubble.append(view.element);
    }
    if (m.state === "interrupted") bubble.append(h("p", { class: "note" }, STATE_NOTES.interrupted));
    else if (m.state === "cancelled") bubble.append(h("p", { class: "stopped" }, STATE_NOTES.cancelled));
    else if (m.state === "failed") bubble.append(h("p", { class: "note" }, m.error || STATE_NOTES.failedWithoutReason));
    // The model holds a saved answer that has text and did not fail (as it was reopened): only
    // the newest such answer can be written again.
    if (m.text && m.state !== "failed") this.answerActions(bubble, () => m.text, m.stats ?? null, newest);
    return bubble;
  }

  /** An empty chat without a record: the backend has already started a new conversation (the
   * open one was deleted, or all data was). */
  clearConversation(): void {
    clear(this.log);
    clear(this.live);
    this.hideRecord();
    this.status.textContent = "";
    this.setInput("");
    this.showEmpty();
  }

  /** Whether a spoken question is sent as soon as it is heard (a setting). */
  setAutoSend(on: boolean): void {
    this.options.autoSend = on;
  }

  async ask(text: string): Promise<void> {
    if (this.streaming) return;
    this.userMessage(text);
    const { onEvent, done } = this.answerBubble();
    try {
      await this.backend.send(text, onEvent);
    } catch (e) {
      onEvent({ event: "error", data: { code: "worker.stopped", message: toBackendError(e).message } } as ChatEvent);
    }
    await done;
  }

  private async regenerate(bubble: HTMLElement): Promise<void> {
    if (this.streaming) return;
    bubble.remove();
    const { onEvent, done } = this.answerBubble();
    try {
      await this.backend.regenerate(onEvent);
    } catch (e) {
      onEvent({ event: "error", data: { code: "worker.stopped", message: toBackendError(e).message } } as ChatEvent);
    }
    await done;
  }

  async newChat(): Promise<void> {
    await this.backend.newChat();
    clear(this.log);
    this.showEmpty();
    this.status.textContent = "";
  }

  async runTask(task: Task): Promise<void> {
    if (!this.record) {
      this.status.textContent = "Attach a record first: paste it into the box and press “Attach record”, or open a text file.";
      return;
    }
    await this.ask(await this.backend.taskMessage(task));
  }

  /** Attaches the input's text if there is some, else a text file the person picks. */
  async attachFile(): Promise<void> {
    try {
      let name = "Pasted record";
      let text = this.input.value.trim();
      if (text.length < 40) {
        const picked = await this.backend.pickTextFile();
        if (!picked) return;
        name = picked.name;
        text = picked.text;
      } else {
        this.setInput("");
      }
      await this.attach(name, text);
    } catch (e) {
      this.status.textContent = toBackendError(e).message;
    }
  }

  async attach(name: string, text: string): Promise<void> {
    this.status.textContent = "Reading your record…";
    let info: RecordInfo;
    try {
      info = await this.backend.attachRecord(text);
    } catch (e) {
      const err = toBackendError(e);
      this.status.textContent = err.code === "llm.record_too_long"
        ? `This record is too long for the conversation (${err.message}). Attach the part with the results you want to ask about.`
        : err.message;
      return;
    }
    this.status.textContent = "";
    this.showRecord(name, text, info, true);
  }

  /** The card of a reopened conversation's record, with what the backend read of it. */
  private async loadCurrentRecord(text: string): Promise<void> {
    const generation = this.cardGeneration;
    let info: RecordInfo | null;
    try {
      info = await this.backend.recordCurrent();
    } catch (e) {
      // The card keeps its name and tasks; the model has the record all the same.
      console.warn("The attached record could not be read back:", e);
      return;
    }
    if (!info || generation !== this.cardGeneration || !this.record) return;
    const settled = this.log.querySelector(".msg") != null;
    this.showRecord(this.record.name, text, info, false);
    if (settled) this.card?.settle();
  }

  private showRecord(name: string, text: string | null, info: RecordInfo | null, fresh: boolean): void {
    this.record = { name };
    this.cardGeneration += 1;
    this.card = new RecordCard({
      name, text, info, fresh,
      tasks: TASKS.map((t) => ({ label: t.label, run: () => void this.runTask(t.task) })),
      onRemove: () => void this.detach(),
    });
    clear(this.recordSlot);
    this.recordSlot.append(this.card.element);
  }

  private hideRecord(): void {
    this.record = null;
    this.card = null;
    this.cardGeneration += 1;
    clear(this.recordSlot);
  }

  private async detach(): Promise<void> {
    await this.backend.detachRecord();
    this.hideRecord();
  }

  async toggleMic(): Promise<void> {
    if (this.micButton.disabled) return;
    if (this.listening) await this.backend.voiceStop();
    else await this.startListening();
  }

  private async startListening(): Promise<void> {
    this.listening = true;
    this.micButton.classList.add("live");
    this.micButton.setAttribute("aria-pressed", "true");
    this.micButton.setAttribute("aria-label", "Stop listening");
    this.status.textContent = "Listening…";
    const before = this.input.value;
    let answer: ((e: ChatEvent) => void) | null = null;
    // How many partial transcripts this turn showed (read by the end-to-end test).
    this.input.dataset.partials = "0";
    const stopListening = () => {
      this.listening = false;
      this.micButton.classList.remove("live");
      this.micButton.setAttribute("aria-pressed", "false");
      this.micButton.setAttribute("aria-label", "Ask by voice");
      this.meter.style.transform = "scaleY(0)";
    };
    const onEvent = (e: VoiceTurnEvent) => {
      switch (e.event) {
        case "listening": {
          const v = e.data;
          if (v.event === "level") this.meter.style.transform = `scaleY(${Math.min(1, (v.data.rms ?? 0) * 8).toFixed(3)})`;
          else if (v.event === "partial") {
            this.setInput(`${before}${before ? " " : ""}${v.data.stable} ${v.data.tail}`.trim());
            this.input.dataset.partials = String(Number(this.input.dataset.partials ?? 0) + 1);
          }
          else if (v.event === "transcribing") this.status.textContent = "Getting your words…";
          break;
        }
        case "heard":
          stopListening();
          this.status.textContent = "";
          if (e.data.answering) {
            this.setInput(before);
            this.userMessage(e.data.transcript.text);
            answer = this.answerBubble().onEvent;
          } else {
            this.setInput(`${before}${before ? " " : ""}${e.data.transcript.text}`);
            this.input.focus();
          }
          break;
        case "no_speech":
          stopListening();
          this.setInput(before);
          this.status.textContent = "Didn't catch that — try again.";
          break;
        case "answer":
          answer?.(e.data);
          break;
        case "error":
          stopListening();
          this.setInput(before);
          this.status.textContent = e.data.code === "mic.permission_denied" || e.data.code === "mic.not_found"
            ? e.data.message
            : e.data.code === "cancelled" ? "" : `Voice input failed: ${e.data.message}`;
          break;
      }
    };
    try {
      await this.backend.voiceStart(this.options.autoSend, onEvent);
    } catch (err) {
      onEvent({ event: "error", data: { code: toBackendError(err).code, message: toBackendError(err).message } } as VoiceTurnEvent);
    }
  }
}
