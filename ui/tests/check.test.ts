import { describe, expect, it } from "vitest";
import type { AnswerCheck, CheckIssue } from "../../gen/bindings";
import { checkView, markIssues } from "../src/check";

const issue = (text: string, start: number, kind: CheckIssue["kind"] = "unmatched_number"): CheckIssue => ({
  kind,
  text,
  start,
  end: start + text.length,
  explanation: `“${text}” is not in your record or this conversation. Check it against the record.`,
});

describe("the check under an answer", () => {
  it("lists repeated words once, with how often, and marks every occurrence", () => {
    const raw = "HDL 1.0 mg/dL, LDL 1.0 mg/dL, TG 1.0 mg/dL, K 9.9 mmol/L.";
    const issues = [issue("1.0 mg/dL", 4), issue("1.0 mg/dL", 19), issue("1.0 mg/dL", 33), issue("9.9 mmol/L", 46)];
    const check: AnswerCheck = { issues, mentions: [], numbers_checked: 4 };
    const view = checkView(check, { hasRecord: true, showTable: null });
    expect(view).not.toBeNull();
    const items = view!.element.querySelectorAll("li");
    expect(items.length).toBe(2);
    expect(items[0].textContent).toContain("(3 times)");
    expect(items[1].textContent).not.toContain("times");
    // Three marks share the first line's explanation.
    expect(new Set(view!.ids).size).toBe(2);
    const root = document.createElement("div");
    root.textContent = raw;
    expect(markIssues(root, raw, issues, view!.ids)).toBe(4);
    const marks = Array.from(root.querySelectorAll("mark.check"));
    expect(marks.map((m) => m.textContent)).toEqual(["1.0 mg/dL", "1.0 mg/dL", "1.0 mg/dL", "9.9 mmol/L"]);
    expect(marks[2].getAttribute("aria-describedby")).toBe(view!.ids[0]);
  });
});
