// The screen reader's polite live region for the conversation: the answers in sentence-sized
// pieces (one element each, so that each is read as it arrives, never a whole answer again) and
// a few short notes (what the check found). The conversation log itself is not a live region.
import { h } from "./dom";

/** Pieces kept in the region: older ones are removed (only before new ones are added, so that a
 * batch is never cut before it was read). */
export const KEEP_PIECES = 6;

export class Announcer {
  readonly element: HTMLElement;

  constructor() {
    this.element = h("div", { class: "visually-hidden", "aria-live": "polite", "aria-atomic": "false", "aria-relevant": "additions" });
  }

  /** Announces each piece in turn. */
  say(pieces: string[]): void {
    if (pieces.length === 0) return;
    while (this.element.firstElementChild && this.element.childElementCount + pieces.length > KEEP_PIECES) {
      this.element.firstElementChild.remove();
    }
    for (const piece of pieces) this.element.append(h("p", {}, piece));
  }

  clear(): void {
    this.element.replaceChildren();
  }
}
