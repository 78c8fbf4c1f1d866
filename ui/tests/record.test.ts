import { beforeEach, describe, expect, it } from "vitest";
import type { RedFlags } from "../../gen/bindings";
import { NO_ROWS, RecordCard, type RecordCardOptions, RED_FLAG_HEADING, reducedNotice } from "../src/record";
import { labRow, recordInfo } from "./fake";

const LIPIDS = "LIPID PANEL\nCholesterol, Total   241  H  mg/dL   100-199\nHDL Cholesterol   42   mg/dL   > 40\nPotassium   6.8   HH   mmol/L   3.5-5.1\n";
const rows = () => [
  labRow(2, "Cholesterol, Total", "241", "mg/dL", "100-199", "above", { lab_flag: { text: "H", kind: "high" } }),
  labRow(3, "HDL Cholesterol", "42", "mg/dL", "> 40", "within"),
  labRow(4, "Potassium", "6.8", "mmol/L", "3.5-5.1", "above", { lab_flag: { text: "HH", kind: "critical_high" }, critical: true }),
];
const flags: RedFlags = {
  items: ["Potassium 6.8 mmol/L (the lab marked it HH)"],
  lines: [4],
  advice: "Contact your clinician or the lab today about this result; if you feel unwell, seek urgent care.",
  retest: "A very high potassium is sometimes an error of the sample; the lab may ask for a new one.",
};

let removed = 0;
let ran: string[] = [];
function card(more: Partial<RecordCardOptions> = {}): RecordCard {
  const c = new RecordCard({
    name: "labs.txt", text: LIPIDS, info: recordInfo(rows()), fresh: true,
    tasks: [{ label: "Explain results", run: () => ran.push("explain") }, { label: "Summarise", run: () => ran.push("summarise") }],
    onRemove: () => { removed += 1; },
    ...more,
  });
  document.body.append(c.element);
  return c;
}
const statusTexts = (c: RecordCard) => Array.from(c.element.querySelectorAll("tbody td.status")).map((td) => td.textContent);
const button = (c: RecordCard, text: string) => Array.from(c.element.querySelectorAll("button")).find((b) => b.textContent === text) as HTMLButtonElement;

beforeEach(() => {
  document.body.innerHTML = "";
  removed = 0;
  ran = [];
});

describe("the record card", () => {
  it("names the record, its title line and what was read, in a labelled region", () => {
    const c = card();
    const region = c.element;
    expect(region.getAttribute("role")).toBe("region");
    const label = document.getElementById(region.getAttribute("aria-labelledby") ?? "");
    expect(label?.textContent).toBe("Attached record: labs.txt");
    expect(region.querySelector(".record-sub")?.textContent).toBe("LIPID PANEL · 3 results · 2 outside their range");
    button(c, "Remove").click();
    expect(removed).toBe(1);
    button(c, "Explain results").click();
    expect(ran).toEqual(["explain"]);
  });

  it("shows each result with its status in words and an icon, never by colour alone", () => {
    const c = card();
    const body = Array.from(c.element.querySelectorAll("tbody tr")).map((tr) => Array.from(tr.children).map((td) => td.textContent));
    expect(body[0].slice(0, 3)).toEqual(["Cholesterol, Total", "241 mg/dL", "100-199"]);
    expect(body[1].slice(0, 3)).toEqual(["HDL Cholesterol", "42 mg/dL", "> 40"]);
    expect(statusTexts(c)).toEqual(["▲ Above", "✓ Within", "▲ Above Critical"]);
    // The icon is decoration for the words (hidden from screen readers).
    for (const icon of Array.from(c.element.querySelectorAll(".status-icon"))) expect(icon.getAttribute("aria-hidden")).toBe("true");
    // The header names the columns.
    expect(Array.from(c.element.querySelectorAll("thead th")).map((th) => th.textContent)).toEqual(["Test", "Result", "Range", "Status"]);
    // Out of range: a row class for a quiet tint; the critical one marked in words.
    expect(c.element.querySelectorAll("tbody tr.notable")).toHaveLength(2);
    expect(c.element.querySelector("tbody tr.critical .critical-tag")?.textContent).toBe("Critical");
  });

  it("words every status, and shows the lab's flag beside the computed status where they disagree", () => {
    const c = card({ text: null, info: recordInfo([
      labRow(1, "Glucose", "99", "mg/dL", "70-99", "within", { lab_flag: { text: "H", kind: "high" }, flags_disagree: true }),
      labRow(2, "Ferritin", "9", "ng/mL", "15-150", "below"),
      labRow(3, "Vitamin D", "31", "ng/mL", null, "no_range"),
      labRow(4, "CRP", "<0.5", "mg/L", "0.3-5", "undetermined"),
    ]) });
    expect(statusTexts(c)).toEqual(["✓ Within range · lab marked H", "▼ Below", "– No range", "? Can't tell"]);
    expect(c.element.querySelector(".record-sub")?.textContent).toBe("4 results · 1 outside its range");
  });

  it("puts the red flags first, in the engine's own words, only when there are some", () => {
    const c = card({ info: recordInfo(rows(), { red_flags: flags }) });
    const banner = c.element.querySelector(".red-flags") as HTMLElement;
    expect(banner.getAttribute("role")).toBe("alert");
    expect(banner.querySelector("h3")?.textContent).toBe(`!${RED_FLAG_HEADING}`);
    expect(banner.querySelector("h3 .flag-icon")?.getAttribute("aria-hidden")).toBe("true");
    expect(Array.from(banner.querySelectorAll("li")).map((li) => li.textContent)).toEqual(flags.items);
    expect(banner.querySelector(".advice")?.textContent).toBe(flags.advice);
    expect(banner.querySelector(".retest")?.textContent).toBe(flags.retest);
    // Before the table.
    expect(banner.compareDocumentPosition(c.table!) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    // A reopened record's banner is shown, not announced again.
    document.body.innerHTML = "";
    const again = card({ info: recordInfo(rows(), { red_flags: flags }), fresh: false });
    expect(again.element.querySelector(".red-flags")?.hasAttribute("role")).toBe(false);
    // No red flags: no banner.
    document.body.innerHTML = "";
    expect(card().element.querySelector(".red-flags")).toBeNull();
    expect(document.body.textContent).not.toContain(RED_FLAG_HEADING);
  });

  it("folds the table away and back with a labelled toggle; the red flags and tasks stay", () => {
    const c = card({ info: recordInfo(rows(), { red_flags: flags }) });
    const toggle = c.element.querySelector(".record-toggle") as HTMLButtonElement;
    const body = document.getElementById(toggle.getAttribute("aria-controls") ?? "") as HTMLElement;
    expect(body.contains(c.table)).toBe(true);
    expect(toggle.getAttribute("aria-expanded")).toBe("true");
    expect(toggle.textContent).toBe("Hide results");
    toggle.click();
    expect(body.hidden).toBe(true);
    expect(toggle.getAttribute("aria-expanded")).toBe("false");
    expect(toggle.textContent).toBe("Show results");
    expect((c.element.querySelector(".red-flags") as HTMLElement).hidden).toBe(false);
    expect(button(c, "Summarise")).toBeTruthy();
    toggle.click();
    expect(body.hidden).toBe(false);
  });

  it("starts a long table with the results that matter and the first few, and shows all on request", () => {
    const many = Array.from({ length: 14 }, (_, i) => labRow(i + 1, `Test ${i + 1}`, "5", "U/L", "1-10", i === 9 ? "above" : i === 12 ? "below" : "within"));
    const c = card({ text: null, info: recordInfo(many) });
    const visible = () => Array.from(c.element.querySelectorAll<HTMLTableRowElement>("tbody tr")).filter((tr) => !tr.hidden).map((tr) => tr.querySelector("th")?.textContent);
    expect(visible()).toEqual(["Test 1", "Test 2", "Test 3", "Test 10", "Test 13"]);
    const all = button(c, "Show all 14 results");
    all.click();
    expect(visible()).toHaveLength(14);
    expect(all.getAttribute("aria-expanded")).toBe("true");
    expect(all.textContent).toBe("Show fewer results");
    all.click();
    expect(visible()).toHaveLength(5);
    // "Show the results table" (from an answer's check) opens everything and moves focus there.
    (c.element.querySelector(".record-toggle") as HTMLButtonElement).click();
    c.showTable();
    expect(c.expanded).toBe(true);
    expect(visible()).toHaveLength(14);
    expect(document.activeElement).toBe(c.table);
  });

  it("lists the lines it could not read, quietly, with line, text and reason", () => {
    const c = card({ info: recordInfo(rows(), { unread: [
      { line: 7, text: "WBC see note", reason: "no value" },
      { line: 9, text: "Platelets 250 x10^9", reason: "unit not recognised" },
    ] }) });
    const details = c.element.querySelector("details.unread") as HTMLDetailsElement;
    expect(details.open).toBe(false);
    expect(details.querySelector("summary")?.textContent).toBe("2 lines could not be read");
    expect(Array.from(details.querySelectorAll("li")).map((li) => li.textContent)).toEqual([
      "Line 7: WBC see note — no value",
      "Line 9: Platelets 250 x10^9 — unit not recognised",
    ]);
    document.body.innerHTML = "";
    const one = card({ info: recordInfo(rows(), { unread: [{ line: 3, text: "x 5", reason: "no test name" }] }) });
    expect(one.element.querySelector("details.unread summary")?.textContent).toBe("1 line could not be read");
    document.body.innerHTML = "";
    expect(card().element.querySelector("details.unread")).toBeNull();
  });

  it("says when the model reads only part of a long record, and when no value could be read", () => {
    const c = card({ info: recordInfo(rows(), { reduced: true }) });
    expect(c.element.querySelector(".reduced-notice")?.textContent).toContain(reducedNotice(3));
    expect(reducedNotice(3)).toBe("This record is long. Murmur reads its 3 results and the lines around those outside their range; the rest is left out.");
    document.body.innerHTML = "";
    expect(card().element.querySelector(".reduced-notice")).toBeNull();
    const none = card({ text: "Dear patient, your results are normal.", info: recordInfo([]) });
    expect(none.element.querySelector(".no-rows")?.textContent).toBe(NO_ROWS);
    expect(none.element.querySelector("table, .record-toggle")).toBeNull();
  });

  it("keeps the engine's and the record's words as text", () => {
    const c = card({
      name: "<img src=x onerror=alert(1)>.txt",
      text: "<b>Report</b>\n",
      info: recordInfo([labRow(2, "<script>x</script>", "5", "<i>U</i>", "1-10", "within")], {
        red_flags: { ...flags, items: ["<img src=y onerror=alert(2)>"] },
        unread: [{ line: 3, text: "<svg onload=alert(3)>", reason: "<b>?</b>" }],
      }),
    });
    expect(c.element.querySelectorAll("img, script, svg, b, i")).toHaveLength(0);
    expect(c.element.textContent).toContain("<script>x</script>");
    expect(c.element.textContent).toContain("<img src=y onerror=alert(2)>");
  });
});
