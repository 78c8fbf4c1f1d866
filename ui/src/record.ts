// The attached record's card, pinned at the top of the conversation: its name (and title line),
// the red flags first in the one banner that uses the app's strongest style, the results the
// parser read as a compact table (status in words and an icon, never colour alone), what could
// not be read, whether the model reads only part of it, and the three tasks. Folded (by the
// person, or by itself when the conversation starts) it keeps its name, the red flags' heading and
// items, and the tasks, so that a phone keeps the conversation in view.
import type { LabRow_Serialize, RedFlags } from "../../gen/bindings";
import { h, icon, INFO_ICON } from "./dom";
import type { RecordInfo } from "./platform";
import { NO_ROWS, RECORD as W, RED_FLAG_HEADING, STATUS_WORDS } from "./strings";

export { NO_ROWS, RED_FLAG_HEADING, STATUS_WORDS } from "./strings";
/** A table longer than this starts short: the results outside their range and the first few. */
export const LONG_TABLE = 8;
export const SHORT_TABLE_ROWS = 5;

export const reducedNotice = W.reduced;

/** Whether a row deserves a look: outside its range, critical, or flagged otherwise by the lab. */
export function notable(row: LabRow_Serialize): boolean {
  return row.critical || row.status === "above" || row.status === "below" || row.flags_disagree;
}

let ids = 0;
const nextId = (what: string) => `record-${what}-${++ids}`;

export interface RecordCardOptions {
  /** The file's name, "Pasted record", or the name of a reopened conversation's record. */
  name: string;
  /** The record's text, for its title line (its first line, when that is not a result). */
  text?: string | null;
  /** What the parser read of it; null while not known (a reopened conversation, at first). */
  info: RecordInfo | null;
  /** Just attached: the red flags are announced (role=alert); not for a reopened conversation. */
  fresh: boolean;
  tasks: { label: string; run: () => void }[];
  onRemove: () => void;
}

export class RecordCard {
  readonly element: HTMLElement;
  /** The results table, if any were read. */
  readonly table: HTMLTableElement | null = null;
  private readonly body: HTMLElement | null = null;
  private readonly toggle: HTMLButtonElement | null = null;
  private readonly showAll: HTMLButtonElement | null = null;
  private readonly scroller: HTMLElement;
  /** Folded once already when the conversation started (it is not folded again). */
  private settled = false;

  constructor(readonly options: RecordCardOptions) {
    const { name, info } = options;
    const rows = info?.parsed.rows ?? [];
    const titleId = nextId("title");
    const title = recordTitle(options.text ?? null, info);
    const out = rows.filter((r) => r.status === "above" || r.status === "below").length;
    const summary = [title, info && rows.length > 0 ? W.results(rows.length) : null,
      out > 0 ? W.outside(out) : null].filter(Boolean).join(" · ");

    let bodyChildren: HTMLElement[] = [];
    if (info) {
      bodyChildren = [
        info.reduced ? h("p", { class: "record-note reduced-notice" }, icon(...INFO_ICON), h("span", {}, reducedNotice(rows.length))) : null,
        rows.length === 0 ? h("p", { class: "record-note no-rows" }, NO_ROWS) : null,
      ].filter((e): e is HTMLParagraphElement => e != null);
      if (rows.length > 0) {
        const built = resultsTable(rows);
        this.table = built.table;
        bodyChildren.push(h("div", { class: "results-wrap" }, built.table));
        if (built.hidden > 0) {
          this.showAll = h("button", { type: "button", class: "quiet show-all", "aria-expanded": "false",
            onclick: () => this.setAllRows(this.showAll?.getAttribute("aria-expanded") !== "true") },
          W.showAll(rows.length));
          bodyChildren.push(this.showAll);
        }
      }
      if (info.parsed.unread.length > 0) bodyChildren.push(unreadDisclosure(info));
    }
    if (bodyChildren.length > 0) {
      const bodyId = nextId("body");
      this.body = h("div", { class: "record-body", id: bodyId }, ...bodyChildren);
      if (this.table) {
        this.toggle = h("button", { type: "button", class: "quiet record-toggle", "aria-expanded": "true", "aria-controls": bodyId,
          onclick: () => this.setExpanded(this.body?.hidden ?? false) }, W.hide);
      }
    }

    this.scroller = h("div", { class: "record-scroll" },
      info?.red_flags ? redFlagBanner(info.red_flags, options.fresh) : null,
      this.body);
    this.element = h("section", { class: "record-card", role: "region", "aria-labelledby": titleId },
      h("div", { class: "record-head" },
        h("div", { class: "record-name" },
          h("h2", { id: titleId }, /^attached record$/i.test(name) ? null : h("span", { class: "visually-hidden" }, W.attachedPrefix), name),
          summary ? h("p", { class: "record-sub" }, summary) : null),
        this.toggle,
        h("button", { type: "button", class: "quiet record-remove", "aria-label": W.removeLabel, onclick: () => options.onRemove() }, W.remove)),
      this.scroller,
      h("div", { class: "tasks" }, ...options.tasks.map((t) => h("button", { type: "button", onclick: () => t.run() }, t.label))));
  }

  get expanded(): boolean {
    return this.body ? !this.body.hidden : false;
  }

  /** Shows or hides the results; folded, the card keeps the red flags (heading and items) and
   * the tasks. */
  setExpanded(on: boolean): void {
    if (!this.body) return;
    this.body.hidden = !on;
    this.element.classList.toggle("compact", !on);
    if (this.toggle) {
      this.toggle.setAttribute("aria-expanded", String(on));
      this.toggle.textContent = on ? W.hide : W.show;
    }
  }

  /** Folds the card the first time the conversation goes on (a question is asked): the
   * conversation needs the room; the table is a tap away. */
  settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.setExpanded(false);
  }

  /** Shows every row of a long table, or only the notable ones and the first few. */
  setAllRows(all: boolean): void {
    if (!this.table || !this.showAll) return;
    for (const tr of Array.from(this.table.tBodies[0].rows)) if (tr.classList.contains("extra")) tr.hidden = !all;
    this.showAll.setAttribute("aria-expanded", String(all));
    this.showAll.textContent = all ? W.showFewer : W.showAll(this.table.tBodies[0].rows.length);
  }

  /** Opens the table whole, brings it into view and moves focus to it. */
  showTable(): void {
    if (!this.table) return;
    this.setExpanded(true);
    this.setAllRows(true);
    this.element.scrollIntoView?.({ block: "nearest" });
    const top = this.table.offsetTop - this.scroller.offsetTop;
    if (Number.isFinite(top)) this.scroller.scrollTop = Math.max(0, top - 8);
    this.table.focus({ preventScroll: true });
  }
}

/** The record's own title: its first line, when that is words and not a result or a long line. */
export function recordTitle(text: string | null, info: RecordInfo | null): string | null {
  if (!text) return null;
  const lines = text.split(/\r?\n/);
  const index = lines.findIndex((l) => l.trim().length > 0);
  if (index < 0) return null;
  const line = lines[index].trim();
  const isRow = info?.parsed.rows.some((r) => r.line === index + 1) ?? false;
  if (isRow || line.length > 60 || !/\p{L}{2}/u.test(line)) return null;
  return line;
}

function redFlagBanner(flags: RedFlags, fresh: boolean): HTMLElement {
  return h("div", { class: "red-flags", role: fresh ? "alert" : null },
    h("h3", {}, h("span", { class: "flag-icon", "aria-hidden": "true" }, "!"), RED_FLAG_HEADING),
    h("ul", {}, ...flags.items.map((item) => h("li", {}, item))),
    flags.advice ? h("p", { class: "advice" }, flags.advice) : null,
    flags.retest ? h("p", { class: "retest" }, flags.retest) : null);
}

/** The status cell: the computed status in words with its icon; the lab's flag beside it where
 * the two disagree; "Critical" where it is. */
export function statusCell(row: LabRow_Serialize): HTMLTableCellElement {
  const s = STATUS_WORDS[row.status];
  const disagree = row.flags_disagree && row.lab_flag;
  const ranged = disagree && (row.status === "above" || row.status === "below" || row.status === "within");
  return h("td", { class: "status" },
    h("span", { class: `status-mark status-${row.status}` }, h("span", { class: "status-icon", "aria-hidden": "true" }, s.icon), " ", s.word),
    ranged ? W.rangeSuffix : null,
    disagree ? h("span", { class: "lab-flag" }, W.labMarked(row.lab_flag?.text ?? "")) : null,
    row.critical ? " " : null,
    row.critical ? h("span", { class: "critical-tag" }, W.critical) : null);
}

function resultsTable(rows: LabRow_Serialize[]): { table: HTMLTableElement; hidden: number } {
  // A long table starts with the rows that matter and the first few others; all in the
  // record's order, so that it reads like the paper in the person's hand.
  const long = rows.length > LONG_TABLE;
  const othersShown = Math.max(0, SHORT_TABLE_ROWS - rows.filter(notable).length);
  let others = 0;
  let hidden = 0;
  const body = h("tbody", {}, ...rows.map((row) => {
    const extra = long && !notable(row) && ++others > othersShown;
    if (extra) hidden += 1;
    const value = [row.value.text, row.unit].filter(Boolean).join(" ");
    const classes = [`row-${row.status}`, notable(row) ? "notable" : null, row.critical ? "critical" : null, extra ? "extra" : null].filter(Boolean).join(" ");
    return h("tr", { class: classes, "data-line": row.line, hidden: extra },
      h("th", { scope: "row" }, row.analyte),
      h("td", { class: "value" }, value),
      h("td", { class: "range" }, row.range ? row.range.text : h("span", { "aria-label": "none given" }, "—")),
      statusCell(row));
  }));
  const table = h("table", { class: "results", tabindex: -1 },
    h("caption", { class: "visually-hidden" }, "Results read from this record"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, W.test), h("th", { scope: "col" }, W.result), h("th", { scope: "col" }, W.range), h("th", { scope: "col" }, W.status))),
    body);
  return { table, hidden };
}

function unreadDisclosure(info: RecordInfo): HTMLElement {
  const unread = info.parsed.unread;
  return h("details", { class: "unread" },
    h("summary", {}, W.unread(unread.length)),
    h("ul", {}, ...unread.map((u) => h("li", {},
      h("span", { class: "line-no" }, W.line(u.line)),
      h("q", {}, u.text),
      h("span", { class: "reason" }, ` — ${u.reason}`)))));
}
