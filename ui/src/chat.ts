// The chat screen: its bar, the medical notice, the record slot, the answer list, the status
// line and the composer with the voice button, over one state object (the models' states from
// `model-state`, and whether an answer is written or the mic listens). It asks, regenerates,
// stops, starts a new conversation, shows a reopened one, and shows the open one again after the
// model was loaded anew.
import type { ChatEvent, ConversationView, EngineError, Message, Task } from "../../gen/bindings";
import type { Schedule } from "./answer";
import { AnswerList } from "./answer-list";
import { Composer } from "./composer";
import { h, HISTORY_ICON, icon } from "./dom";
import { showError } from "./errors";
import { type Backend, toBackendError } from "./platform";
import type { RecordCard } from "./record";
import { RecordSlot } from "./record-slot";
import { ChatState, type ChatStateView } from "./state";
import { CHAT, NOTICE } from "./strings";

export { NOTICE, SAVED_RECORD_NAME, STATE_NOTES } from "./strings";
import { VoiceButton } from "./voice-button";

export { HOLD_MS } from "./voice-button";
export { TYPING_PAUSE_MS } from "./composer";

export interface ChatOptions {
  autoSend: boolean;
  /** Without `state`: whether the speech model is loaded (the answer model is). */
  voiceAvailable?: boolean;
  /** The app's state object (it follows `model-state`); one is made when not given. */
  state?: ChatState;
  schedule?: Schedule;
}

export class ChatScreen {
  readonly element: HTMLElement;
  readonly input: HTMLTextAreaElement;
  readonly sendButton: HTMLButtonElement;
  readonly micButton: HTMLButtonElement;
  readonly conversationsButton: HTMLButtonElement;
  readonly state: ChatState;
  private readonly answers: AnswerList;
  private readonly composer: Composer;
  private readonly voice: VoiceButton;
  private readonly slot: RecordSlot;
  private readonly status: HTMLElement;
  private autoSend: boolean;
  /** What this screen listens to outside its own elements, while it is on screen. */
  private readonly onKey = (e: KeyboardEvent) => this.key(e);
  private readonly onResize = () => this.answers.scroll();
  private entered = false;
  private readonly unsubscribe: () => void;
  /** The status line says the model's state (not something the person did). */
  private statusFromModel = false;

  constructor(
    private readonly backend: Backend,
    options: ChatOptions,
    private readonly onSettings: () => void,
    onConversations: () => void = () => {},
  ) {
    this.autoSend = options.autoSend;
    this.state = options.state ?? new ChatState({ llm: "loaded", asr: options.voiceAvailable ? "loaded" : "unloaded" });
    this.status = h("p", { class: "status", role: "status", "aria-live": "polite" });
    this.slot = new RecordSlot(backend, {
      runTask: (task) => void this.runTask(task),
      conversationStarted: () => this.answers.started,
    });
    this.answers = new AnswerList(backend, this.state, {
      ask: (q) => void this.ask(q),
      runTask: (task) => void this.runTask(task),
      regenerate: (bubble) => void this.regenerate(bubble),
      hasRecord: () => this.slot.record != null,
      tableOpener: () => (this.slot.card?.table ? () => this.slot.card?.showTable() : null),
      answerEnded: () => this.composer.focus(),
    }, options.schedule);
    this.voice = new VoiceButton(backend, this.state, {
      getInput: () => this.composer.value,
      setInput: (text) => this.composer.setInput(text),
      countPartial: (reset) => {
        this.input.dataset.partials = reset ? "0" : String(Number(this.input.dataset.partials ?? 0) + 1);
      },
      status: (text) => this.say(text),
      statusElement: () => this.status,
      heard: (question) => this.heard(question),
      focusInput: () => this.composer.focus(),
      autoSend: () => this.autoSend,
    });
    this.composer = new Composer(backend, this.state, { sendOrStop: () => void this.sendOrStop() }, this.voice.element);
    this.input = this.composer.input;
    this.sendButton = this.composer.sendButton;
    this.micButton = this.voice.element;
    this.conversationsButton = h("button", { type: "button", class: "quiet open-conversations", "aria-label": CHAT.conversations, title: CHAT.conversations, onclick: () => onConversations() },
      icon(...HISTORY_ICON), h("span", { class: "bar-label" }, CHAT.conversations));
    this.element = h("section", { class: "chat" },
      h("header", { class: "bar" },
        this.conversationsButton,
        h("h1", {}, CHAT.title),
        h("button", { type: "button", class: "quiet", onclick: () => void this.newChat() }, CHAT.newChat),
        h("button", { type: "button", class: "quiet", onclick: () => void this.attachFile() }, CHAT.attach),
        h("button", { type: "button", class: "quiet", "aria-label": CHAT.settings, onclick: () => this.onSettings() }, CHAT.settings)),
      h("p", { class: "notice" }, NOTICE),
      this.slot.element, this.answers.element, this.status, this.composer.element, this.answers.announcer.element);
    this.unsubscribe = this.state.subscribe((s) => this.modelNote(s));
    this.enter();
  }

  /** The record's name (null without a record). */
  get record(): { name: string } | null {
    return this.slot.record;
  }

  /** The record's card on screen (null without a record). */
  get card(): RecordCard | null {
    return this.slot.card;
  }

  /** The screen is shown: it listens to the keyboard (Ctrl+M, Escape) and the window's size. */
  enter(): void {
    if (this.entered) return;
    this.entered = true;
    document.addEventListener("keydown", this.onKey);
    window.addEventListener("resize", this.onResize);
  }

  /** Another screen replaces it: it stops listening to anything outside itself. */
  leave(): void {
    if (!this.entered) return;
    this.entered = false;
    document.removeEventListener("keydown", this.onKey);
    window.removeEventListener("resize", this.onResize);
  }

  /** The screen is done with: every listener it registered is removed. */
  dispose(): void {
    this.leave();
    this.unsubscribe();
    this.composer.dispose();
    this.voice.dispose();
  }

  private key(e: KeyboardEvent): void {
    // Not under a dialog or while another screen is shown.
    if (!this.element.isConnected) return;
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "m") {
      e.preventDefault();
      void this.toggleMic();
    } else if (e.key === "Escape" && this.state.answering) {
      // Anywhere on the screen, the input included (its keydown bubbles here): one stop.
      e.preventDefault();
      void this.stop();
    } else if (e.key === "Escape" && this.state.listening) {
      e.preventDefault();
      void this.voice.cancel();
    }
  }

  /** The status line: what the model is doing when it is not ready, else what just happened. */
  private modelNote(s: ChatStateView): void {
    const llm = s.models.llm;
    if (llm.phase === "loading") {
      this.say(CHAT.modelLoading);
      this.statusFromModel = true;
    } else if (llm.phase === "failed" && llm.error) {
      showError(this.status, llm.error);
      this.statusFromModel = true;
    } else if (llm.phase === "unloaded") {
      this.say(CHAT.modelUnloaded);
      this.statusFromModel = true;
    } else if (this.statusFromModel) {
      this.say("");
    }
  }

  private say(text: string): void {
    this.statusFromModel = false;
    this.status.replaceChildren(text);
  }

  /** Sets the input's text (as typed, spoken or cleared) and fits its height to it. */
  setInput(text: string): void {
    this.composer.setInput(text);
  }

  /** Whether a spoken question is sent as soon as it is heard (a setting). */
  setAutoSend(on: boolean): void {
    this.autoSend = on;
  }

  async sendOrStop(): Promise<void> {
    if (this.state.answering) return this.stop();
    if (!this.state.canAsk) return;
    const text = this.composer.take();
    if (text) await this.ask(text);
  }

  async stop(): Promise<void> {
    await this.backend.stop();
  }

  async ask(text: string): Promise<void> {
    if (!this.state.canAsk) return;
    this.say("");
    // The conversation goes on: the record's card folds (once), to leave it the room.
    this.slot.card?.settle();
    const question = this.answers.userMessage(text);
    const { onEvent, done, bubble } = this.answers.startAnswer();
    try {
      await this.backend.send(text, onEvent);
    } catch (e) {
      onEvent({ event: "error", data: toBackendError(e) as EngineError });
    }
    const outcome = await done;
    if (outcome.end?.kind === "error" && !outcome.tokens) this.refused(outcome.end.error, [question, bubble], text);
  }

  /** A spoken question is answered: it is shown as a message and its answer streams. */
  private heard(question: string): (e: ChatEvent) => void {
    this.say("");
    this.slot.card?.settle();
    const message = this.answers.userMessage(question);
    const { onEvent, done, bubble } = this.answers.startAnswer();
    void done.then((outcome) => {
      if (outcome.end?.kind === "error" && !outcome.tokens) this.refused(outcome.end.error, [message, bubble], question);
    });
    return onEvent;
  }

  /** The backend refused a question before writing anything: the conversation is unchanged, so
   * the question leaves the list and goes back into the field (unless something else was typed
   * meanwhile), and the status line says why. */
  private refused(error: EngineError, shown: HTMLElement[], question: string): void {
    if (error.code === "cancelled") return;
    for (const el of shown) el.remove();
    this.answers.showEmpty();
    if (!this.composer.value.trim()) this.composer.setInput(question);
    showError(this.status, error);
  }

  private async regenerate(bubble: HTMLElement): Promise<void> {
    if (!this.state.canAsk) return;
    this.say("");
    // The old answer stays (hidden) until the new one exists: a refused regenerate brings it back.
    const place = bubble.nextSibling;
    bubble.remove();
    const { onEvent, done, bubble: fresh } = this.answers.startAnswer();
    try {
      await this.backend.regenerate(onEvent);
    } catch (e) {
      onEvent({ event: "error", data: toBackendError(e) as EngineError });
    }
    const outcome = await done;
    if (outcome.end?.kind === "error" && !outcome.tokens && outcome.end.error.code !== "cancelled") {
      fresh.remove();
      if (place?.isConnected) this.answers.element.insertBefore(bubble, place);
      else this.answers.element.append(bubble);
      showError(this.status, outcome.end.error);
    }
  }

  async newChat(): Promise<void> {
    await this.backend.newChat();
    this.answers.clear();
    this.answers.showEmpty();
    this.say("");
  }

  async runTask(task: Task): Promise<void> {
    if (!this.slot.record) {
      this.say(CHAT.attachFirst);
      return;
    }
    await this.ask(await this.backend.taskMessage(task));
  }

  /** Attaches the input's text if there is some, else a text file the person picks. */
  async attachFile(): Promise<void> {
    try {
      let name = CHAT.pastedRecord;
      let text = this.composer.value.trim();
      if (text.length < 40) {
        const picked = await this.backend.pickTextFile();
        if (!picked) return;
        name = picked.name;
        text = picked.text;
      } else {
        this.composer.setInput("");
      }
      await this.attach(name, text);
    } catch (e) {
      showError(this.status, e);
    }
  }

  async attach(name: string, text: string): Promise<void> {
    this.say(CHAT.readingRecord);
    if (await this.slot.attach(name, text, this.status)) this.say("");
  }

  async toggleMic(): Promise<void> {
    await this.voice.toggle();
  }

  /** Shows a reopened conversation (the backend has put it back into the model): its messages
   * as they were saved, and the card of its record if it has one. */
  showConversation(view: ConversationView): void {
    const { record, messages } = view.conversation;
    this.answers.showSaved(messages);
    this.say("");
    if (record) this.slot.showSaved(record);
    else this.slot.hide();
  }

  /** An empty chat without a record: the backend has already started a new conversation (the
   * open one was deleted, or all data was). */
  clearConversation(): void {
    this.answers.clear();
    this.slot.hide();
    this.say("");
    this.composer.setInput("");
    this.answers.showEmpty();
  }

  /** After the model was loaded again (new settings): the backend kept the open conversation,
   * so it is shown again from the backend instead of an empty chat: a saved one through
   * conversation_open (its messages and record as saved), one that is not saved (no history)
   * from what the model holds. */
  async showCurrentAgain(): Promise<void> {
    const id = await this.backend.currentConversation();
    if (id != null) {
      try {
        this.showConversation(await this.backend.openConversation(id));
        return;
      } catch (e) {
        // The history cannot be read now: what the model holds is shown instead.
        console.warn("The open conversation could not be read back:", e);
      }
    }
    const held = await this.backend.snapshot();
    const messages: Message[] = [];
    held.turns.forEach((t: { user: string; assistant: string }, i: number) => {
      const at = Date.now();
      messages.push({ id: -2 * i - 2, role: "user", text: t.user, created_at: at, state: "complete", stats: null, error: null });
      if (t.assistant) messages.push({ id: -2 * i - 1, role: "assistant", text: t.assistant, created_at: at, state: "complete", stats: null, error: null });
    });
    this.answers.showSaved(messages);
    this.say("");
    if (!held.has_record) this.slot.hide();
    else if (!this.slot.record) this.slot.showSaved("");
  }
}
