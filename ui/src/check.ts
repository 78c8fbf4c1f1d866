// The check of a finished answer, shown: the words it found are marked where they stand in the
// rendered answer (found in its text nodes and wrapped with the DOM API: nothing of the answer
// is ever parsed as HTML here), and a short list below the answer says what each is and why.
import type { AnswerCheck, CheckIssue } from "../../gen/bindings";
import { h } from "./dom";
import { CHECK_HEADING, CHECK_HEADING_NO_RECORD, ISSUE_WORDS } from "./strings";

export { CHECK_HEADING, CHECK_HEADING_NO_RECORD, ISSUE_WORDS } from "./strings";

let ids = 0;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Markdown's emphasis and code marks, which the rendered text no longer has. */
const MARKUP = /[*`]/g;

/** A pattern for the words as rendered: without markdown's marks, any whitespace run (a line
 * break in the source) matching any other; whole words ("6.8" not inside "16.8") when `whole`. */
function pattern(words: string, whole: boolean): RegExp | null {
  const bare = words.replace(MARKUP, "").trim();
  const parts = bare.split(/\s+/).filter(Boolean).map(escape);
  if (!parts.length) return null;
  const word = /[\p{L}\p{N}]/u;
  const before = whole && word.test(bare[0]) ? "(?<![\\p{L}\\p{N}])" : "";
  const after = whole && word.test(bare[bare.length - 1]) ? "(?![\\p{L}\\p{N}])" : "";
  return new RegExp(before + parts.join("\\s+") + after, "gu");
}

/** Wraps the words of each issue in `root` (the rendered answer) in <mark class="check
 * check-KIND">, described by the element whose id is in `describedBy` (same order as the
 * issues). Returns how many issues were found and marked. */
export function markIssues(root: HTMLElement, raw: string, issues: CheckIssue[], describedBy: string[]): number {
  let marked = 0;
  issues.forEach((issue, i) => {
    if (markOne(root, raw, issue, describedBy[i])) marked += 1;
  });
  return marked;
}

function markOne(root: HTMLElement, raw: string, issue: CheckIssue, describedBy: string): boolean {
  if (!pattern(issue.text, false)) return false;
  // The answer's text as rendered, with where each text node starts in it.
  const nodes: { node: Text; start: number }[] = [];
  let all = "";
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    nodes.push({ node: n as Text, start: all.length });
    all += (n as Text).data;
  }
  // Whole words if they are there so; else as they are (the check's words may be part of one).
  let re = pattern(issue.text, true) as RegExp;
  let matches = Array.from(all.matchAll(re));
  if (matches.length === 0) {
    re = pattern(issue.text, false) as RegExp;
    matches = Array.from(all.matchAll(re));
  }
  if (matches.length === 0) return false;
  // The same occurrence as in the raw answer (the third "6.8" marks the third).
  const before = Array.from(raw.slice(0, Math.max(0, issue.start)).replace(MARKUP, "").matchAll(re)).length;
  const nth = Math.min(before, matches.length - 1);
  const start = matches[nth].index ?? 0;
  const end = start + matches[nth][0].length;
  const pieces = nodes.filter(({ node, start: s }) => s < end && s + node.data.length > start);
  // Words already marked for another issue are left as they are.
  if (pieces.some(({ node }) => node.parentElement?.closest("mark.check"))) return false;
  pieces.forEach(({ node, start: s }, k) => {
    const from = Math.max(0, start - s);
    const to = Math.min(node.data.length, end - s);
    let target = node;
    if (from > 0) target = target.splitText(from);
    if (to - from < target.data.length) target.splitText(to - from);
    // Only whitespace between two pieces (a line break in a list, say): not worth a mark.
    if (!target.data.trim()) return;
    const mark = h("mark", {
      class: `check check-${issue.kind}${k === pieces.length - 1 ? " check-end" : ""}`,
      title: `${ISSUE_WORDS[issue.kind].label}: ${issue.explanation}`,
      "aria-describedby": describedBy,
    });
    target.replaceWith(mark);
    mark.append(target);
  });
  return true;
}

export interface CheckViewOptions {
  /** A record is attached (the numbers were checked against it). */
  hasRecord: boolean;
  /** Opens the record card's results table; null when there is no table to show. */
  showTable: (() => void) | null;
}

/** The check's result under an answer: each issue (icon, label, its words, why) and a way to the
 * results table; or one quiet line when the numbers were checked and all were found; or null. */
export function checkView(check: AnswerCheck, options: CheckViewOptions): { element: HTMLElement; ids: string[] } | null {
  if (check.issues.length === 0) {
    if (!options.hasRecord || check.numbers_checked === 0) return null;
    const n = check.numbers_checked;
    return {
      element: h("p", { class: "check-ok" }, h("span", { class: "check-icon", "aria-hidden": "true" }, "✓"),
        ` ${n} ${n === 1 ? "number" : "numbers"} checked against your record`),
      ids: [],
    };
  }
  const group = ++ids;
  const headId = `check-${group}`;
  // The same words with the same reason are listed once (a small model may repeat a number
  // many times); each occurrence is still marked, described by that one line.
  const listed: { issue: CheckIssue; count: number; id: string }[] = [];
  const explanationIds = check.issues.map((issue) => {
    let entry = listed.find((l) => l.issue.kind === issue.kind && l.issue.text === issue.text && l.issue.explanation === issue.explanation);
    if (!entry) {
      entry = { issue, count: 0, id: `check-${group}-${listed.length}` };
      listed.push(entry);
    }
    entry.count += 1;
    return entry.id;
  });
  const element = h("div", { class: "check-result", role: "group", "aria-labelledby": headId },
    h("p", { class: "check-head", id: headId }, options.hasRecord ? CHECK_HEADING : CHECK_HEADING_NO_RECORD),
    h("ul", { class: "check-issues" }, ...listed.map(({ issue, count, id }) => {
      const words = ISSUE_WORDS[issue.kind];
      return h("li", { class: `check-issue check-issue-${issue.kind}` },
        h("span", { class: "check-icon", "aria-hidden": "true" }, words.icon),
        h("span", { class: "check-text" },
          h("span", { class: "check-label" }, words.label),
          // The words, unless the reason quotes them already.
          issue.explanation.includes(issue.text) ? null : h("span", { class: "check-words" }, ` “${issue.text}”`),
          count > 1 ? h("span", { class: "check-count" }, ` (${count} times)`) : null,
          h("span", { class: "check-why", id }, issue.explanation)));
    })),
    options.showTable ? h("button", { type: "button", class: "quiet show-table", onclick: () => options.showTable?.() }, "Show the results table") : null);
  return { element, ids: explanationIds };
}
