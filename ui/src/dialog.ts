// A confirmation in the page (no window.confirm: the web view's native one is not reliable
// across platforms, and it cannot be styled or driven in tests): it says what will happen,
// focus starts on the safe choice, Escape cancels, Tab stays inside, and focus goes back to
// where it was.
import { h } from "./dom";

export interface ConfirmOptions {
  title: string;
  /** Exactly what will happen. */
  message: string;
  /** The label of the button that does it ("Delete"). */
  confirm: string;
  cancel?: string;
}

let next = 0;

/** Shows the confirmation over `host`; resolves true if the person confirmed. */
export function confirmDialog(host: HTMLElement, options: ConfirmOptions): Promise<boolean> {
  next += 1;
  const titleId = `confirm-title-${next}`;
  const messageId = `confirm-message-${next}`;
  const before = document.activeElement as HTMLElement | null;
  return new Promise<boolean>((resolve) => {
    const close = (answer: boolean) => {
      overlay.remove();
      if (before?.isConnected) before.focus();
      resolve(answer);
    };
    const cancel = h("button", { type: "button", onclick: () => close(false) }, options.cancel ?? "Cancel");
    const ok = h("button", { type: "button", class: "danger", onclick: () => close(true) }, options.confirm);
    const dialog = h("div", { class: "dialog", role: "alertdialog", "aria-modal": "true", "aria-labelledby": titleId, "aria-describedby": messageId },
      h("h2", { id: titleId }, options.title),
      h("p", { id: messageId }, options.message),
      h("div", { class: "actions" }, cancel, ok));
    const overlay = h("div", { class: "overlay" }, dialog);
    overlay.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        close(false);
      } else if (e.key === "Tab") {
        // Two buttons: Tab and Shift+Tab go from one to the other.
        e.preventDefault();
        (document.activeElement === cancel ? ok : cancel).focus();
      }
    });
    // A click outside the dialog is a "no", as Escape is.
    overlay.addEventListener("click", (e) => {
      if (e.target === overlay) close(false);
    });
    host.append(overlay);
    cancel.focus();
  });
}
