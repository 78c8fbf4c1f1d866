// Errors shown to the person: the plain words of strings.ts, and the backend's message only as a
// small details line where it helps (or as the words themselves for a code the UI does not know).
import { h } from "./dom";
import { toBackendError } from "./platform";
import { CHAT, describeError } from "./strings";

/** Puts an error's words into `target` (a status or alert line), with its details line if any. */
export function showError(target: HTMLElement, e: unknown): void {
  const { text, detail } = describeError(toBackendError(e));
  target.replaceChildren(text);
  if (detail) target.append(h("span", { class: "error-detail" }, detail));
}

/** An answer that failed: the words, and the backend's message behind a "Details" toggle. */
export function errorBlock(e: { code: string; message: string }): HTMLElement {
  const { text, detail } = describeError(e);
  const more = detail ?? (e.message && e.message !== text ? e.message : null);
  return h("div", { class: "error", role: "alert" },
    h("p", {}, text),
    more ? h("details", { class: "error-more" }, h("summary", {}, CHAT.errorDetails), h("p", { class: "error-detail" }, more)) : null);
}
