// The saved conversations: newest first, titled by their first question, searched as the
// person types; each opens in the chat, or can be renamed (in place), exported as Markdown
// or deleted (after a confirmation that says what goes). Everything stays on the device.
import type { ConversationSummary, ConversationView } from "../../gen/bindings";
import { confirmDialog } from "./dialog";
import { clear, h, icon, MORE_ICON } from "./dom";
import { count, fullDate, shortDate } from "./format";
import { showError } from "./errors";
import type { Backend } from "./platform";
import { CONVERSATIONS as W, DELETE_TEXT, EMPTY_TEXT, UNTITLED } from "./strings";

export { DELETE_TEXT, EMPTY_TEXT, UNTITLED } from "./strings";

/** What the panel asks of the app around it. */
export interface ConversationsHost {
  /** Shows the opened conversation in the chat (the backend has put it back into the model). */
  opened(view: ConversationView): void;
  /** Starts a new, empty conversation in the chat. */
  newConversation(): Promise<void>;
  /** The open conversation was deleted: the backend started a new one, without a record. */
  deletedOpen(): void;
  /** Back to the chat as it was. */
  close(): void;
}

export interface ConversationsOptions {
  /** How long typing must pause before the search runs. */
  debounceMs?: number;
  /** Milliseconds since 1970, for the dates (tests pass a fixed clock). */
  now?: () => number;
  /** The dates' language (default: the system's; tests fix it). */
  locale?: string;
}

/** A file name for the export: the title without characters file systems refuse. */
export function exportName(title: string): string {
  const base = title.replace(/…$/, "").replace(/[\\/:*?"<>|\u0000-\u001f]+/g, " ").replace(/\s+/g, " ")
    .replace(/^[.\s]+/, "").slice(0, 80).trim();
  return `${base || W.fileName}.md`;
}

export class ConversationsPanel {
  readonly element: HTMLElement;
  private readonly heading: HTMLElement;
  private readonly search: HTMLInputElement;
  private readonly alert: HTMLElement;
  private readonly status: HTMLElement;
  private readonly body: HTMLElement;
  private readonly debounceMs: number;
  private readonly now: () => number;
  private readonly locale: string | undefined;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Each refresh's number: an older answer arriving late does not overwrite a newer one. */
  private generation = 0;
  private current: number | null = null;
  private busy = false;

  constructor(private readonly backend: Backend, private readonly host: ConversationsHost, options: ConversationsOptions = {}) {
    this.debounceMs = options.debounceMs ?? 200;
    this.now = options.now ?? (() => Date.now());
    this.locale = options.locale;
    this.heading = h("h1", { id: "conversations-title", tabindex: -1 }, W.title);
    this.search = h("input", { type: "search", id: "conversation-search", placeholder: W.searchPlaceholder, "aria-label": W.searchLabel, autocomplete: "off", enterkeyhint: "search" });
    this.alert = h("p", { class: "error", role: "alert" });
    this.status = h("p", { class: "status", role: "status", "aria-live": "polite" });
    this.body = h("div", { class: "conv-body" });
    this.element = h("section", { class: "conversations", "aria-labelledby": "conversations-title" },
      h("header", { class: "bar" }, this.heading,
        h("button", { type: "button", class: "quiet", "aria-label": W.backLabel, onclick: () => this.host.close() }, W.back)),
      h("div", { class: "conv-tools" }, this.search,
        h("button", { type: "button", class: "conv-new", onclick: () => void this.startNew() }, W.newConversation)),
      this.alert, this.status, this.body);
    this.search.addEventListener("input", () => this.searchSoon());
    this.search.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        this.searchNow();
      }
    });
    // Escape empties the search first, then goes back to the chat.
    this.element.addEventListener("keydown", (e) => {
      if (e.key !== "Escape" || e.defaultPrevented) return;
      e.preventDefault();
      if (e.target === this.search && this.search.value) {
        this.search.value = "";
        this.searchNow();
      } else {
        this.host.close();
      }
    });
  }

  /** Reads the list (call before showing the panel). */
  async open(): Promise<void> {
    await this.refresh();
  }

  /** Moves focus to the panel's heading (not to the search field: that would open a phone's keyboard). */
  focus(): void {
    this.heading.focus();
  }

  private query(): string | null {
    const q = this.search.value.trim();
    return q ? q : null;
  }

  private searchSoon(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refresh();
    }, this.debounceMs);
  }

  private searchNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    void this.refresh();
  }

  /** Reads the list again (for the search field's query) and shows it, or why it cannot be read. */
  async refresh(): Promise<void> {
    this.generation += 1;
    const generation = this.generation;
    const query = this.query();
    try {
      const [list, current] = await Promise.all([this.backend.listConversations(query), this.backend.currentConversation()]);
      if (generation !== this.generation) return;
      this.current = current;
      this.alert.textContent = "";
      this.render(list, query);
    } catch (e) {
      if (generation !== this.generation) return;
      // The history cannot be used (its message says why, for people): the chat still works.
      clear(this.body);
      showError(this.alert, e);
    }
  }

  private render(all: ConversationSummary[], query: string | null): void {
    clear(this.body);
    // A conversation with nothing in it (no message, no record: a first question that was
    // refused, say) is not worth a line.
    const list = all.filter((c) => c.messages > 0 || c.has_record);
    if (list.length === 0) {
      this.body.append(h("p", { class: "conv-empty" }, query ? W.noneWith(query) : EMPTY_TEXT));
      return;
    }
    this.body.append(h("ul", { class: "conv-list", "aria-label": query ? W.listWith(query) : W.list },
      ...list.map((c) => this.row(c))));
  }

  private row(c: ConversationSummary): HTMLElement {
    const title = c.title.trim() || UNTITLED;
    const isOpen = c.id === this.current;
    const actionsId = `conv-actions-${c.id}`;
    const actions = h("div", { class: "conv-actions", id: actionsId, hidden: true },
      h("button", { type: "button", "aria-label": W.renameLabel(title), onclick: () => this.rename(li, c, title) }, W.rename),
      h("button", { type: "button", "aria-label": W.exportLabel(title), onclick: () => void this.export(c, title) }, W.export),
      h("button", { type: "button", class: "danger", "aria-label": W.deleteLabel(title), onclick: () => void this.remove(c, title) }, W.delete));
    const more = h("button", { type: "button", class: "conv-more", "aria-label": W.moreLabel(title), "aria-expanded": "false", "aria-controls": actionsId, title: W.moreTitle,
      onclick: () => {
        actions.hidden = !actions.hidden;
        more.setAttribute("aria-expanded", String(!actions.hidden));
      } }, icon(...MORE_ICON));
    const open = h("button", { type: "button", class: "conv-open", "aria-current": isOpen ? "true" : null, onclick: () => void this.openOne(c.id) },
      h("span", { class: "conv-title" }, title),
      h("span", { class: "conv-meta" },
        h("time", { datetime: new Date(c.updated_at).toISOString(), title: fullDate(c.updated_at, this.locale) }, shortDate(c.updated_at, this.now(), this.locale)),
        ` · ${count(c.messages, W.message)}`,
        c.has_record && h("span", { class: "tag" }, W.recordTag),
        isOpen && h("span", { class: "tag" }, W.openNow)));
    const li = h("li", { class: isOpen ? "conv current" : "conv", "data-id": c.id }, h("div", { class: "conv-row" }, open, more), actions);
    return li;
  }

  /** Runs one action at a time; its failure is said in the alert. */
  private async act(body: () => Promise<void>): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.alert.textContent = "";
    this.status.textContent = "";
    try {
      await body();
    } catch (e) {
      this.status.textContent = "";
      showError(this.alert, e);
    } finally {
      this.busy = false;
    }
  }

  private openOne(id: number): Promise<void> {
    return this.act(async () => {
      this.status.textContent = W.opening;
      const view = await this.backend.openConversation(id);
      this.status.textContent = "";
      this.host.opened(view);
    });
  }

  private startNew(): Promise<void> {
    return this.act(() => this.host.newConversation());
  }

  /** Replaces the row's title with a text field: Enter or Save renames, Escape or Cancel does not. */
  private rename(li: HTMLElement, c: ConversationSummary, title: string): void {
    const inputId = `conv-rename-${c.id}`;
    const input = h("input", { type: "text", id: inputId, maxlength: 200, autocomplete: "off", enterkeyhint: "done" });
    input.value = c.title.trim();
    const restore = () => {
      form.replaceWith(row);
      (row.querySelector(".conv-open") as HTMLElement | null)?.focus();
    };
    const form = h("form", { class: "conv-rename", onsubmit: (e: Event) => {
      e.preventDefault();
      const next = input.value.trim();
      if (!next) {
        this.alert.textContent = W.typeTitle;
        input.focus();
        return;
      }
      void this.act(async () => {
        await this.backend.renameConversation(c.id, next);
        await this.refresh();
        (this.body.querySelector(`li[data-id="${c.id}"] .conv-open`) as HTMLElement | null)?.focus();
      });
    } },
      h("label", { for: inputId, class: "visually-hidden" }, W.newTitleLabel(title)), input,
      h("button", { type: "submit", class: "conv-save" }, W.save),
      h("button", { type: "button", onclick: () => restore() }, W.cancel));
    input.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        restore();
      }
    });
    const row = li.querySelector(".conv-row") as HTMLElement;
    (li.querySelector(".conv-actions") as HTMLElement).hidden = true;
    row.querySelector(".conv-more")?.setAttribute("aria-expanded", "false");
    row.replaceWith(form);
    input.focus();
    input.select();
  }

  private export(c: ConversationSummary, title: string): Promise<void> {
    return this.act(async () => {
      const saved = await this.backend.exportConversation(c.id, exportName(c.title.trim() || UNTITLED));
      // Cancelled in the save dialog: nothing happened, so nothing is said.
      if (saved) this.status.textContent = W.exported(title);
    });
  }

  private async remove(c: ConversationSummary, title: string): Promise<void> {
    const yes = await confirmDialog(this.element, { title: W.deleteTitle(title), message: DELETE_TEXT, confirm: W.delete });
    if (!yes) return;
    await this.act(async () => {
      const wasOpen = c.id === (await this.backend.currentConversation());
      await this.backend.deleteConversation(c.id);
      if (wasOpen) this.host.deletedOpen();
      await this.refresh();
      this.status.textContent = W.deleted(title);
      this.focus();
    });
  }
}
