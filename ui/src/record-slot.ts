// The record slot above the conversation: attaches a record (pasted or from a file), shows its
// card, reads back a reopened conversation's record, and detaches it. A late reading about an
// earlier record is dropped.
import { showError } from "./errors";
import type { Backend, RecordInfo } from "./platform";
import { RecordCard } from "./record";
import { SAVED_RECORD_NAME, TASKS } from "./strings";
import type { Task } from "../../gen/bindings";
import { h } from "./dom";

export interface RecordSlotHost {
  /** Runs one of the record's tasks (as a question). */
  runTask(task: Task): void;
  /** Whether the conversation has started (a card shown then starts folded). */
  conversationStarted(): boolean;
}

export class RecordSlot {
  readonly element: HTMLElement;
  /** The record's name (null without a record). */
  record: { name: string } | null = null;
  /** The record's card on screen (null without a record). */
  card: RecordCard | null = null;
  /** Counts the cards shown: a late answer about an earlier record is dropped. */
  private generation = 0;

  constructor(private readonly backend: Backend, private readonly host: RecordSlotHost) {
    this.element = h("div", { class: "record-slot" });
  }

  /** Attaches `text`; says why not in `status` when the backend refuses it. Returns whether it
   * was attached. */
  async attach(name: string, text: string, status: HTMLElement): Promise<boolean> {
    let info: RecordInfo;
    try {
      info = await this.backend.attachRecord(text);
    } catch (e) {
      showError(status, e);
      return false;
    }
    this.show(name, text, info, true);
    return true;
  }

  /** A reopened conversation's record: the card at once, then what the backend read of it. */
  showSaved(text: string): void {
    this.show(SAVED_RECORD_NAME, text, null, false);
    if (this.host.conversationStarted()) this.card?.settle();
    void this.readBack(text);
  }

  private async readBack(text: string): Promise<void> {
    const generation = this.generation;
    let info: RecordInfo | null;
    try {
      info = await this.backend.recordCurrent();
    } catch (e) {
      // The card keeps its name and tasks; the model has the record all the same.
      console.warn("The attached record could not be read back:", e);
      return;
    }
    if (!info || generation !== this.generation || !this.record) return;
    this.show(this.record.name, text, info, false);
    if (this.host.conversationStarted()) this.card?.settle();
  }

  private show(name: string, text: string | null, info: RecordInfo | null, fresh: boolean): void {
    this.record = { name };
    this.generation += 1;
    this.card = new RecordCard({
      name, text, info, fresh,
      tasks: TASKS.map((t) => ({ label: t.label, run: () => this.host.runTask(t.task) })),
      onRemove: () => void this.detach(),
    });
    this.element.replaceChildren(this.card.element);
  }

  hide(): void {
    this.record = null;
    this.card = null;
    this.generation += 1;
    this.element.replaceChildren();
  }

  async detach(): Promise<void> {
    await this.backend.detachRecord();
    this.hide();
  }
}
