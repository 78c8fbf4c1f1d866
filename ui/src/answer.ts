// One answer as it streams: tokens are appended (finished paragraphs are rendered once and
// never touched again; only the paragraph being written is re-rendered, at most once per
// frame), sentence-sized pieces go to a screen-reader live region, and the end (done, error,
// stopped) is shown as such.
import type { ChatEvent, EngineError, TurnStats } from "../../gen/bindings";
import type { Announcer } from "./announcer";
import { renderMarkdown, splitBlocks } from "./markdown";

export type Schedule = (callback: () => void) => void;

export type AnswerEnd =
  | { kind: "done"; stats: TurnStats }
  | { kind: "stopped"; stats: TurnStats }
  | { kind: "error"; error: EngineError };

/** Measurement hook (tests/e2e/measure.mjs): when set, the wall-clock time at which each token
 * message became visible in the DOM is appended to `window.__murmurDomTimes`. */
function measuring(): number[] | null {
  const w = globalThis as unknown as { __murmurDomTimes?: number[] };
  return Array.isArray(w.__murmurDomTimes) ? w.__murmurDomTimes : null;
}

export class AnswerView {
  readonly element: HTMLElement;
  private readonly blocks: HTMLElement;
  private readonly tail: HTMLElement;
  private text = "";
  private rendered = 0;
  private scheduled = false;
  private spoken = 0;
  private unseen = 0;
  ended: AnswerEnd | null = null;
  trimmed = 0;

  constructor(
    private readonly live: Announcer,
    private readonly schedule: Schedule = (cb) => requestAnimationFrame(() => cb()),
  ) {
    this.element = document.createElement("div");
    this.element.className = "answer-body";
    this.blocks = document.createElement("div");
    this.tail = document.createElement("div");
    this.tail.className = "answer-tail";
    this.element.append(this.blocks, this.tail);
  }

  /** The answer so far, as the model wrote it. */
  get raw(): string {
    return this.text;
  }

  /** Applies one stream event; returns true when the stream has ended. */
  apply(event: ChatEvent): boolean {
    if (this.ended) return true;
    switch (event.event) {
      case "token":
        this.text += event.data;
        this.unseen += 1;
        this.request();
        return false;
      case "trimmed":
        this.trimmed += event.data.dropped_turns;
        return false;
      case "done":
        this.render();
        this.announce(true);
        this.ended = event.data.finish === "cancelled" ? { kind: "stopped", stats: event.data } : { kind: "done", stats: event.data };
        return true;
      case "error":
        this.render();
        this.ended = { kind: "error", error: event.data };
        return true;
    }
  }

  /** A saved answer, shown whole: rendered (and sanitised) as a streamed one is, not announced. */
  restore(text: string): void {
    this.text = text;
    this.spoken = text.length;
    this.render();
  }

  private request(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      this.render();
      this.announce(false);
    });
  }

  /** Renders what is new: finished blocks are appended once, the tail is replaced. */
  render(): void {
    const { done, tail } = splitBlocks(this.text);
    if (done.length > this.rendered) {
      const block = document.createElement("div");
      block.innerHTML = renderMarkdown(done.slice(this.rendered));
      this.blocks.append(block);
      this.rendered = done.length;
    }
    this.tail.innerHTML = renderMarkdown(tail);
    const times = measuring();
    if (times && this.unseen > 0) {
      const now = performance.timeOrigin + performance.now();
      for (; this.unseen > 0; this.unseen -= 1) times.push(now);
    }
    this.unseen = 0;
  }

  /** Sends the finished sentences (or, at the end, the rest) to the screen reader, one
   * sentence a piece. While the answer streams, a sentence is finished when a space or a line
   * break follows its end mark (so "6." of "6.8" is not one). */
  private announce(all: boolean): void {
    const pending = this.text.slice(this.spoken);
    let upTo = pending.length;
    if (!all) {
      const m = pending.match(/^[\s\S]*(?:[.!?:](?=\s)|\n)/);
      upTo = m ? m[0].length : 0;
    }
    this.spoken += upTo;
    this.live.say(sentences(pending.slice(0, upTo)));
  }
}

/** Text in sentence-sized pieces for a screen reader: split after an end mark followed by a
 * space, and at line breaks; markdown's marks left out. */
export function sentences(text: string): string[] {
  return text.split(/\n+/)
    .map((line) => line.replace(/^\s*(?:[-*+]|\d+[.)])\s+/, ""))
    .flatMap((line) => line.split(/(?<=[.!?:])\s+/))
    .map((s) => s.replace(/[#*_`>|]/g, " ").replace(/\s+/g, " ").trim())
    .filter((s) => /[\p{L}\p{N}]/u.test(s));
}

/** Per-answer figures, for the "details" toggle. */
export function describeStats(s: TurnStats): string {
  const parts = [];
  if (s.ttft_ms != null) parts.push(`first word after ${(s.ttft_ms / 1000).toFixed(2)} s`);
  parts.push(`${(s.decode_tok_s ?? 0).toFixed(1)} tokens/s`);
  parts.push(`${s.generated_tokens} tokens written`);
  parts.push(`${s.reused_tokens} of ${s.prompt_tokens} prompt tokens reused`);
  if (s.dropped_turns > 0) parts.push(`${s.dropped_turns} oldest exchanges set aside`);
  return parts.join(" · ");
}
