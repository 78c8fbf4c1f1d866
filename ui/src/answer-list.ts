// The conversation as a list: the person's messages, answers that stream into their bubbles
// (with Copy, Regenerate and Details once done, and the check of the answer), saved answers of a
// reopened conversation, and the empty state with examples. Answers reach screen readers through
// the announcer in sentence-sized pieces; the list itself is not a live region (it would read
// each re-rendered paragraph again).
import type { AnswerCheck, ChatEvent, Message, Task, TurnStats } from "../../gen/bindings";
import { type AnswerEnd, AnswerView, describeStats, type Schedule } from "./answer";
import { Announcer } from "./announcer";
import { checkView, markIssues } from "./check";
import { h } from "./dom";
import { errorBlock } from "./errors";
import type { Backend } from "./platform";
import type { ChatState } from "./state";
import { CHAT, EXAMPLES, STATE_NOTES, TASKS } from "./strings";

export interface AnswerListHost {
  ask(question: string): void;
  runTask(task: Task): void;
  /** Redo the newest exchange (its bubble is replaced). */
  regenerate(bubble: HTMLElement): void;
  /** A record is attached (the check's words and the "Reading your record…" note). */
  hasRecord(): boolean;
  /** Opens the record's results table; null when there is none. */
  tableOpener(): (() => void) | null;
  /** An answer ended (the composer takes the focus back). */
  answerEnded(): void;
}

/** How a streamed answer ended, and whether any of it was written. */
export interface AnswerOutcome {
  end: AnswerEnd | null;
  tokens: boolean;
}

export class AnswerList {
  readonly element: HTMLElement;
  readonly announcer = new Announcer();
  private stickToBottom = true;
  /** The answer being written, to end if the list is cleared under it. */
  private pending: { bubble: HTMLElement; finish: (o: AnswerOutcome) => void } | null = null;

  constructor(
    private readonly backend: Backend,
    private readonly state: ChatState,
    private readonly host: AnswerListHost,
    private readonly schedule?: Schedule,
  ) {
    this.element = h("div", { class: "log", role: "region", "aria-label": CHAT.log, tabindex: 0 });
    this.element.addEventListener("scroll", () => {
      this.stickToBottom = this.element.scrollHeight - this.element.scrollTop - this.element.clientHeight < 40;
    });
    this.showEmpty();
  }

  /** The list has messages (not only the empty state). */
  get started(): boolean {
    return this.element.querySelector(".msg") != null;
  }

  showEmpty(): void {
    if (this.element.childElementCount > 0) return;
    this.element.append(h("div", { class: "empty" },
      h("p", {}, CHAT.emptyIntro),
      h("ul", {}, ...EXAMPLES.map((q) => h("li", {}, h("button", { type: "button", class: "suggestion", onclick: () => this.host.ask(q) }, q)))),
      h("p", {}, CHAT.emptyRecord),
      h("div", { class: "tasks" }, ...TASKS.map((t) => h("button", { type: "button", class: "suggestion", onclick: () => this.host.runTask(t.task) }, t.label)))));
  }

  /** Empties the list (an answer still shown as being written is ended as stopped). */
  clear(): void {
    this.endPending();
    this.element.replaceChildren();
    this.announcer.clear();
  }

  scroll(): void {
    if (this.stickToBottom) this.element.scrollTop = this.element.scrollHeight;
  }

  /** Scrolls to the newest message from now on. */
  follow(): void {
    this.stickToBottom = true;
    this.scroll();
  }

  userMessage(text: string): HTMLElement {
    this.element.querySelector(".empty")?.remove();
    const el = h("div", { class: "msg user" }, h("p", {}, text));
    this.element.append(el);
    this.follow();
    return el;
  }

  /** Starts an answer bubble; returns the handler of its stream and its outcome. The state is
   * "answering" until the stream ends (or the list is cleared). */
  startAnswer(): { onEvent: (e: ChatEvent) => void; done: Promise<AnswerOutcome>; bubble: HTMLElement } {
    this.endPending();
    // Regenerate redoes the last exchange only: a new one takes the button from the older.
    for (const b of Array.from(this.element.querySelectorAll(".answer-actions .regenerate"))) b.remove();
    const view = new AnswerView(this.announcer, this.schedule);
    const note = h("p", { class: "pending" }, this.host.hasRecord() ? CHAT.readingRecord : CHAT.thinking);
    const bubble = h("div", { class: "msg assistant", "aria-busy": "true" }, note, view.element);
    this.element.append(bubble);
    this.scroll();
    this.state.setAnswering(true);
    let tokens = false;
    let resolve: (o: AnswerOutcome) => void = () => {};
    const done = new Promise<AnswerOutcome>((r) => (resolve = r));
    const finish = (o: AnswerOutcome) => {
      if (this.pending?.bubble === bubble) this.pending = null;
      note.remove();
      bubble.removeAttribute("aria-busy");
      this.state.setAnswering(false);
      resolve(o);
    };
    this.pending = { bubble, finish };
    const onEvent = (e: ChatEvent) => {
      if (this.pending?.bubble !== bubble) return;
      if (e.event === "token") {
        tokens = true;
        note.remove();
      }
      const ended = view.apply(e);
      if (e.event === "trimmed") this.element.insertBefore(h("p", { class: "trimmed" }, CHAT.trimmed), bubble);
      if (ended) {
        this.endAnswer(bubble, view);
        finish({ end: view.ended, tokens });
        this.host.answerEnded();
      }
      // After the answer's end and its actions, so that they are in view too.
      this.scroll();
    };
    return { onEvent, done, bubble };
  }

  /** Ends an answer still shown as being written (its stream will not be followed any more). */
  private endPending(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    p.finish({ end: null, tokens: false });
  }

  private endAnswer(bubble: HTMLElement, view: AnswerView): void {
    const end = view.ended;
    if (!end) return;
    if (end.kind === "error") {
      bubble.classList.add("failed");
      bubble.append(errorBlock(end.error));
      return;
    }
    if (end.kind === "stopped") bubble.append(h("p", { class: "stopped" }, STATE_NOTES.cancelled));
    this.actions(bubble, () => view.raw, end.stats, true);
    // A whole answer is checked; a stopped one is not (its last words are cut off).
    if (end.kind === "done") void this.check(bubble, view);
  }

  /** Checks a finished answer: marks the words the check found and lists them below the answer,
   * or says quietly that its numbers were found in the record. A failed check shows nothing. */
  private async check(bubble: HTMLElement, view: AnswerView): Promise<void> {
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
    const schedule = this.schedule ?? ((cb: () => void) => requestAnimationFrame(() => cb()));
    await new Promise<void>((resolve) => schedule(resolve));
    // Regenerated meanwhile: that answer is gone.
    if (!bubble.isConnected) return;
    const hasRecord = this.host.hasRecord();
    const shown = checkView(check, { hasRecord, showTable: this.host.tableOpener() });
    if (!shown) return;
    // Showing the answer's end: the check comes into view with it.
    const atEnd = this.element.scrollHeight - this.element.scrollTop - this.element.clientHeight < 120;
    // Marking is a nicety; the list below the answer must show even if it fails (an older
    // WebKit without some regular-expression feature, say).
    try {
      markIssues(view.element, raw, check.issues, shown.ids);
    } catch (e) {
      console.warn("Marking the answer failed:", e);
    }
    bubble.insertBefore(shown.element, bubble.querySelector(".answer-actions"));
    if (atEnd && bubble === this.element.lastElementChild) this.follow();
    if (check.issues.length > 0) this.announcer.say([CHAT.checked(hasRecord, check.issues.length)]);
  }

  /** Copy, Regenerate (the newest answer only: the backend redoes the last exchange) and Details. */
  private actions(bubble: HTMLElement, raw: () => string, stats: TurnStats | null, regenerate: boolean): void {
    const details = stats ? h("p", { class: "details", hidden: true }, describeStats(stats)) : null;
    bubble.append(h("div", { class: "answer-actions" },
      h("button", { type: "button", class: "quiet", onclick: () => void navigator.clipboard?.writeText(raw()) }, CHAT.copy),
      regenerate && h("button", { type: "button", class: "quiet regenerate", onclick: () => this.host.regenerate(bubble) }, CHAT.regenerate),
      details && h("button", { type: "button", class: "quiet", "aria-expanded": "false", onclick: (e: Event) => {
        details.hidden = !details.hidden;
        (e.currentTarget as HTMLElement).setAttribute("aria-expanded", String(!details.hidden));
      } }, CHAT.details)));
    if (details) bubble.append(details);
  }

  /** A reopened conversation's messages, as they were saved: answers through the same sanitised
   * rendering as live ones (and not announced). */
  showSaved(messages: Message[]): void {
    this.clear();
    const last = messages[messages.length - 1];
    for (const m of messages) {
      if (m.role === "user") this.element.append(h("div", { class: "msg user" }, h("p", {}, m.text)));
      else this.element.append(this.savedAnswer(m, m === last));
    }
    this.showEmpty();
    this.follow();
  }

  private savedAnswer(m: Message, newest: boolean): HTMLElement {
    const bubble = h("div", { class: "msg assistant", "data-state": m.state });
    if (m.text) {
      const view = new AnswerView(this.announcer, this.schedule);
      view.restore(m.text);
      bubble.append(view.element);
    }
    if (m.state === "interrupted") bubble.append(h("p", { class: "note" }, STATE_NOTES.interrupted));
    else if (m.state === "cancelled") bubble.append(h("p", { class: "stopped" }, STATE_NOTES.cancelled));
    else if (m.state === "failed") {
      // The saved reason is the backend's own message: a details line under the plain words.
      bubble.append(h("p", { class: "note" }, STATE_NOTES.failedWithoutReason));
      if (m.error) bubble.append(h("details", { class: "error-more" }, h("summary", {}, CHAT.errorDetails), h("p", { class: "error-detail" }, m.error)));
    }
    // The model holds a saved answer that has text and did not fail (as it was reopened): only
    // the newest such answer can be written again.
    if (m.text && m.state !== "failed") this.actions(bubble, () => m.text, m.stats ?? null, newest);
    return bubble;
  }

  /** Removes a bubble (the answer being regenerated). */
  remove(bubble: HTMLElement): void {
    bubble.remove();
  }
}
