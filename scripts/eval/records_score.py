#!/usr/bin/env python3
"""Scores `murmur record parse --json` on the synthetic lab reports written by records_gen.py.

  python3 scripts/eval/records_score.py --reports DIR --murmur PATH [--markdown OUT.md] [--min-exact 99]
  python3 scripts/eval/records_score.py --reports DIR --predictions OUT.jsonl   (score saved output)

Runs the parser once over every report (one process, all files as arguments), then scores:
  - row detection: precision and recall of result rows, matched by line number;
  - for matched rows, the exact-match rate of each field: analyte text, canonical key, value
    number (1e-9 tolerance), value qualifier, unit, range (low/high and, for a bound that is
    present, its inclusiveness), lab flag kind, status, critical, flags_disagree;
  - rows exact: the share of truth rows found with every field right (the goal is >= 99 %);
  - unread lines: recall and precision against the lines the truth marks unread;
  - per report, the output's "decimal_comma" if it has one (n/a otherwise; not in rows exact).
Prints the table (all reports and per layout), rows exact per value case, and the first
mismatches (file, line, field, expected, got). Exits 0, or 1 when --min-exact PCT is given and
rows exact is below PCT percent; 2 when the parser cannot be run.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field

FIELDS = ("analyte", "canonical", "value", "qualifier", "unit", "range", "lab_flag", "status",
          "critical", "flags_disagree")


def warn(message):
    print(f"records_score: {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------
# Inputs: the truth, and the parser's output
# ----------------------------------------------------------------------------------------------

def load_reports(directory):
    """The reports listed in DIR/index.json, each its truth plus "path" and "lines" (its text)."""
    with open(os.path.join(directory, "index.json"), encoding="utf-8") as f:
        index = json.load(f)
    reports = []
    for entry in index["reports"]:
        with open(os.path.join(directory, entry["truth"]), encoding="utf-8") as f:
            report = json.load(f)
        report["path"] = os.path.join(directory, entry["file"])
        with open(report["path"], encoding="utf-8") as f:
            report["lines"] = f.read().split("\n")
        reports.append(report)
    return reports


def parse_jsonl(text):
    """One JSON object per line; other lines are skipped with a warning."""
    objects = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            objects.append(json.loads(line))
        except json.JSONDecodeError as err:
            warn(f"output line {number} is not JSON ({err}): {line[:120]!r}")
    return objects


def run_parser(binary, paths):
    """Runs `BINARY record parse --json PATH...` once; returns its stdout."""
    if not (os.path.exists(binary) or shutil.which(binary)):
        warn(f"no parser binary at {binary!r}")
        raise SystemExit(2)
    command = [binary, "record", "parse", "--json", *paths]
    try:
        proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, encoding="utf-8", errors="replace")
    except OSError as err:
        warn(f"cannot run {binary!r}: {err}")
        raise SystemExit(2)
    if proc.returncode != 0:
        warn(f"the parser exited with {proc.returncode}; scoring what it printed. stderr:\n"
             + proc.stderr[-2000:])
    return proc.stdout


def match_predictions(reports, predictions):
    """Pairs each report with its output object: by file name, else by position."""
    by_name = {os.path.basename(str(p.get("file", ""))): p for p in predictions if isinstance(p, dict)}
    matched = {}
    for position, report in enumerate(reports):
        prediction = by_name.get(report["file"])
        if prediction is None and len(predictions) == len(reports):
            prediction = predictions[position]
        if prediction is not None:
            matched[report["file"]] = prediction
    return matched


# ----------------------------------------------------------------------------------------------
# Comparing one row
# ----------------------------------------------------------------------------------------------

def _close(a, b):
    """Equal numbers (1e-9 tolerance), or both missing."""
    if a is None or b is None:
        return a is None and b is None
    try:
        a, b = float(a), float(b)
    except (TypeError, ValueError):
        return False
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def _num(x):
    if x is None:
        return "none"
    return f"{x:.10g}" if isinstance(x, (int, float)) and not isinstance(x, bool) else repr(x)


def _interval(low, high, low_inclusive, high_inclusive):
    """"[3.5, 5.1]", "(40, inf)", "(-inf, 100)"."""
    left = ("[" if low_inclusive else "(") + _num(low) if low is not None else "(-inf"
    right = _num(high) + ("]" if high_inclusive else ")") if high is not None else "inf)"
    return f"{left}, {right}"


def _truth_range(t):
    if t["range_low"] is None and t["range_high"] is None:
        return None
    return {"low": t["range_low"], "high": t["range_high"], "low_inclusive": t["low_inclusive"],
            "high_inclusive": t["high_inclusive"], "text": t.get("range_text")}


def _range_equal(expected, got):
    if expected is None or got is None:
        return expected is None and got is None
    if not (_close(expected["low"], got.get("low")) and _close(expected["high"], got.get("high"))):
        return False
    low_ok = expected["low"] is None or bool(got.get("low_inclusive")) == expected["low_inclusive"]
    high_ok = expected["high"] is None or bool(got.get("high_inclusive")) == expected["high_inclusive"]
    return low_ok and high_ok


def _show_range(r):
    if r is None:
        return "none"
    shown = _interval(r.get("low"), r.get("high"), r.get("low_inclusive"), r.get("high_inclusive"))
    return f"{shown} {r.get('text')!r}" if r.get("text") is not None else shown


def _show_flag(flag):
    return "none" if not flag else f"{flag.get('kind')} ({flag.get('text')!r})"


def compare_field(name, t, p):
    """(ok, expected, got) for one field of a truth row t and a predicted row p."""
    value = p.get("value") if isinstance(p.get("value"), dict) else {}
    if name == "value":
        return _close(t["value_number"], value.get("number")), _num(t["value_number"]), _num(value.get("number"))
    if name == "qualifier":
        return t["qualifier"] == value.get("qualifier"), repr(t["qualifier"]), repr(value.get("qualifier"))
    if name == "range":
        expected, got = _truth_range(t), p.get("range")
        got = got if isinstance(got, dict) else None
        return _range_equal(expected, got), _show_range(expected), _show_range(got)
    if name == "lab_flag":
        got = p.get("lab_flag") if isinstance(p.get("lab_flag"), dict) else None
        expected_kind = t["lab_flag"]["kind"] if t["lab_flag"] else None
        return expected_kind == (got or {}).get("kind"), _show_flag(t["lab_flag"]), _show_flag(got)
    expected = {"critical": t["critical_expected"]}.get(name, t.get(name))
    got = p.get(name)
    return expected == got, repr(expected), repr(got)


# ----------------------------------------------------------------------------------------------
# Scoring
# ----------------------------------------------------------------------------------------------

@dataclass
class Tally:
    """Counts for a group of reports (all of them, or one layout)."""
    reports: int = 0
    truth_rows: int = 0
    predicted_rows: int = 0
    matched_rows: int = 0
    exact_rows: int = 0
    field_ok: Counter = field(default_factory=Counter)
    truth_unread: int = 0
    predicted_unread: int = 0
    matched_unread: int = 0
    missing_outputs: int = 0
    decimal_comma_checked: int = 0    # reports whose output says whether it is decimal-comma
    decimal_comma_ok: int = 0


@dataclass
class Mismatch:
    file: str
    line: int
    field: str
    expected: str
    got: str
    text: str = ""
    case: str = ""


@dataclass
class Scores:
    groups: dict                      # "all" and each layout -> Tally
    cases: dict                       # value case -> [truth rows, exact rows]
    mismatches: list

    @property
    def rows_exact(self):
        """Rows exact over all reports, in percent."""
        return percent(self.groups["all"].exact_rows, self.groups["all"].truth_rows)

    @property
    def unread_recall(self):
        """Share of the lines the truth marks unreadable that the parser reported, in percent."""
        return percent(self.groups["all"].matched_unread, self.groups["all"].truth_unread)


def percent(part, whole):
    return 100.0 * part / whole if whole else None


def _line_text(report, line):
    lines = report.get("lines") or []
    return lines[line - 1].replace("\t", "\\t") if 0 < line <= len(lines) else ""


def score_report(report, prediction, tallies, cases, mismatches):
    """Adds one report to the tallies; appends its mismatches in line order."""
    found = []

    def miss(line, name, expected, got, case=""):
        found.append(Mismatch(report["file"], line, name, expected, got, _line_text(report, line), case))

    truth_rows = {r["line"]: r for r in report["rows"]}
    truth_unread = set(report["unread_lines"])
    prediction = prediction or {}
    predicted = prediction.get("rows") or []
    predicted_rows = {}
    for row in predicted:
        predicted_rows.setdefault(row.get("line"), row)
    predicted_unread = {u.get("line") for u in prediction.get("unread") or []}
    matched = set(truth_rows) & set(predicted_rows)

    checked = "decimal_comma" in prediction
    decimal_comma_ok = checked and prediction["decimal_comma"] == report.get("decimal_comma")
    if checked and not decimal_comma_ok:
        miss(0, "decimal_comma", repr(report.get("decimal_comma")), repr(prediction["decimal_comma"]))
    for tally in tallies:
        tally.reports += 1
        tally.missing_outputs += not prediction
        tally.decimal_comma_checked += checked
        tally.decimal_comma_ok += decimal_comma_ok
        tally.truth_rows += len(truth_rows)
        tally.predicted_rows += len(predicted)
        tally.matched_rows += len(matched)
        tally.truth_unread += len(truth_unread)
        tally.predicted_unread += len(predicted_unread)
        tally.matched_unread += len(truth_unread & predicted_unread)

    for line, t in sorted(truth_rows.items()):
        case = cases.setdefault(t.get("case", "?"), [0, 0])
        case[0] += 1
        if line not in predicted_rows:
            miss(line, "row", "row", "unread" if line in predicted_unread else "ignored", t.get("case", ""))
            continue
        results = {name: compare_field(name, t, predicted_rows[line]) for name in FIELDS}
        for name, (ok, expected, got) in results.items():
            if ok:
                for tally in tallies:
                    tally.field_ok[name] += 1
            else:
                miss(line, name, expected, got, t.get("case", ""))
        if all(ok for ok, _, _ in results.values()):
            case[1] += 1
            for tally in tallies:
                tally.exact_rows += 1
    for line in sorted(set(predicted_rows) - set(truth_rows), key=lambda x: (x is None, x or 0)):
        miss(line or 0, "row", "unread" if line in truth_unread else "ignored", "row")
    for line in sorted(truth_unread - predicted_unread - set(predicted_rows)):
        miss(line, "unread", "unread", "ignored")
    for line in sorted(predicted_unread - truth_unread - set(truth_rows), key=lambda x: (x is None, x or 0)):
        miss(line or 0, "unread", "ignored", "unread")
    mismatches.extend(sorted(found, key=lambda m: m.line))


def score(reports, predictions):
    """Scores predictions ({file name: output object}) against the reports' truth."""
    groups = {"all": Tally()}
    for report in reports:
        groups.setdefault(report["layout"], Tally())
    cases, mismatches = {}, []
    for report in reports:
        prediction = predictions.get(report["file"])
        tallies = (groups["all"], groups[report["layout"]])
        score_report(report, prediction, tallies, cases, mismatches)
    return Scores(groups, cases, mismatches)


def prediction_from_truth(report):
    """The output a perfect parser would print for a report (for tests and for checking the
    scorer itself)."""
    rows = []
    for t in report["rows"]:
        r = _truth_range(t)
        rows.append({"line": t["line"], "analyte": t["analyte"], "canonical": t["canonical"],
                     "value": {"text": t.get("value_text"), "number": t["value_number"], "qualifier": t["qualifier"]},
                     "unit": t["unit"],
                     "range": r and {"text": r["text"], "low": r["low"], "high": r["high"],
                                     "low_inclusive": r["low_inclusive"], "high_inclusive": r["high_inclusive"]},
                     "lab_flag": t["lab_flag"], "status": t["status"], "critical": t["critical_expected"],
                     "flags_disagree": t["flags_disagree"]})
    unread = [{"line": n, "text": _line_text(report, n), "reason": "not a result"} for n in report["unread_lines"]]
    return {"file": report.get("path", report["file"]), "rows": rows, "unread": unread,
            "decimal_comma": report.get("decimal_comma")}


# ----------------------------------------------------------------------------------------------
# Reporting
# ----------------------------------------------------------------------------------------------

def _pct(part, whole):
    value = percent(part, whole)
    return "n/a" if value is None else f"{value:.1f}%"


def metric_table(scores):
    """[(label, [cell for "all" and each layout])]."""
    tallies = list(scores.groups.values())
    table = [("reports", [str(t.reports) for t in tallies]),
             ("truth rows", [str(t.truth_rows) for t in tallies]),
             ("row precision", [_pct(t.matched_rows, t.predicted_rows) for t in tallies]),
             ("row recall", [_pct(t.matched_rows, t.truth_rows) for t in tallies])]
    for name in FIELDS:
        table.append((name, [_pct(t.field_ok[name], t.matched_rows) for t in tallies]))
    table += [("ROWS EXACT", [_pct(t.exact_rows, t.truth_rows) for t in tallies]),
              ("unread recall", [_pct(t.matched_unread, t.truth_unread) for t in tallies]),
              ("unread precision", [_pct(t.matched_unread, t.predicted_unread) for t in tallies]),
              ("decimal_comma (reports)", [_pct(t.decimal_comma_ok, t.decimal_comma_checked) for t in tallies])]
    if any(t.missing_outputs for t in tallies):
        table.append(("no output for", [str(t.missing_outputs) for t in tallies]))
    return table


def _summary(scores):
    a = scores.groups["all"]
    return (f"rows exact {_pct(a.exact_rows, a.truth_rows)} ({a.exact_rows}/{a.truth_rows}); "
            f"rows found {a.matched_rows}/{a.truth_rows}, {a.predicted_rows - a.matched_rows} spurious; "
            f"unread {a.matched_unread}/{a.truth_unread} found, "
            f"{a.predicted_unread - a.matched_unread} wrongly")


def render_text(scores, show=20):
    """The table, rows exact per case, and the first `show` mismatches, as plain text."""
    heads = ["metric"] + list(scores.groups)
    table = [(label, cells) for label, cells in metric_table(scores)]
    widths = [max(len(heads[0]), *(len(label) for label, _ in table))]
    widths += [max(len(heads[i + 1]), *(len(cells[i]) for _, cells in table)) for i in range(len(heads) - 1)]
    out = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(heads, widths)))]
    for label, cells in table:
        out.append("  ".join([label.ljust(widths[0])] + [c.rjust(w) for c, w in zip(cells, widths[1:])]))
    out += ["", _summary(scores), "rows exact by case: " + ", ".join(
        f"{case} {_pct(ok, n)} ({ok}/{n})" for case, (n, ok) in sorted(scores.cases.items()))]
    out += ["", f"first {min(show, len(scores.mismatches))} of {len(scores.mismatches)} mismatches:"]
    for m in scores.mismatches[:show]:
        case = f" [{m.case}]" if m.case else ""
        out.append(f"  {m.file}:{m.line} {m.field}{case}: expected {m.expected}, got {m.got}")
        out.append(f"      | {m.text[:110]}")
    return "\n".join(out)


def _md(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(scores, show=20):
    """The same report as Markdown tables."""
    heads = ["metric"] + list(scores.groups)
    out = ["# Lab-report parser evaluation", "", _summary(scores) + ".", "",
           "| " + " | ".join(heads) + " |", "|" + "---|" + "---:|" * (len(heads) - 1)]
    for label, cells in metric_table(scores):
        out.append("| " + " | ".join([label] + cells) + " |")
    out += ["", "| value case | truth rows | rows exact |", "|---|---:|---:|"]
    for case, (n, ok) in sorted(scores.cases.items()):
        out.append(f"| {case} | {n} | {_pct(ok, n)} |")
    out += ["", f"First {min(show, len(scores.mismatches))} of {len(scores.mismatches)} mismatches:", "",
            "| file | line | field | expected | got | text |", "|---|---:|---|---|---|---|"]
    for m in scores.mismatches[:show]:
        out.append(f"| {m.file} | {m.line} | {m.field} | {_md(m.expected)} | {_md(m.got)} | `{_md(m.text[:80])}` |")
    return "\n".join(out) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", required=True, help="directory written by records_gen.py")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--murmur", help="the murmur binary, run as: murmur record parse --json FILE...")
    source.add_argument("--predictions", help="score saved parser output (JSON Lines) instead")
    parser.add_argument("--save-predictions", metavar="FILE", help="also write the parser's output here")
    parser.add_argument("--markdown", metavar="OUT.md", help="also write the report as Markdown")
    parser.add_argument("--min-exact", type=float, metavar="PCT",
                        help="exit 1 if rows exact is below PCT percent (e.g. 99)")
    parser.add_argument("--min-unread-recall", type=float, metavar="PCT",
                        help="exit 1 if fewer than PCT percent of the unreadable lines are reported")
    parser.add_argument("--show", type=int, default=20, help="mismatches to list (default 20)")
    args = parser.parse_args(argv)

    reports = load_reports(args.reports)
    if args.murmur:
        output = run_parser(args.murmur, [r["path"] for r in reports])
    else:
        with open(args.predictions, encoding="utf-8") as f:
            output = f.read()
    if args.save_predictions:
        with open(args.save_predictions, "w", encoding="utf-8") as f:
            f.write(output)
    predictions = match_predictions(reports, parse_jsonl(output))
    if len(predictions) < len(reports):
        warn(f"no output for {len(reports) - len(predictions)} of {len(reports)} reports")
    scores = score(reports, predictions)
    print(render_text(scores, args.show))
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(render_markdown(scores, args.show))
    if args.min_exact is not None and (scores.rows_exact or 0.0) < args.min_exact:
        warn(f"rows exact {scores.rows_exact or 0.0:.2f}% is below --min-exact {args.min_exact}")
        return 1
    recall = scores.unread_recall
    if args.min_unread_recall is not None and recall is not None and recall < args.min_unread_recall:
        warn(f"unread recall {recall:.2f}% is below --min-unread-recall {args.min_unread_recall}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
