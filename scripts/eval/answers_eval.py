#!/usr/bin/env python3
"""What the language model says about a lab report, with and without the parsed results table.

  python3 scripts/eval/answers_eval.py --murmur BIN --model NAME=PATH [--model NAME=PATH ...]
      [--reports DIR] [--count 30] [--seed 7] [--max-tokens 320] [--max-rows 10]
      [--out-json FILE] [--markdown FILE] [--conditions table,no-table] [--timeout 600]
  python3 scripts/eval/answers_eval.py --smoke --murmur BIN --model NAME=PATH

For each model, report and condition it runs, one process at a time,

  BIN --model PATH --greedy --ctx 4096 --max-tokens N ask --record REPORT --task explain --json
      [--no-record-table]                                  (condition "no-table")

and scores the engine's own answer check ("check" in the output) against the report's ground
truth (records_gen.py): out-of-range results named with the right status (a check mention's row
index -> record.rows[row].line -> the truth row on that line), contradictions, numbers not found
in the record, dose- and diagnosis-like phrases, answer length and speed.

Without --reports the set is generated into a temporary directory (records_gen.py, seed 1, 200
reports). --count reports are picked with --seed: those with at most --max-rows result rows and at
least one out-of-range row first, in turn across the layouts. Each finished run is appended to a
JSON Lines cache next to --out-json (FILE.runs.jsonl), so an interrupted run resumes where it
stopped; a cached run is reused only with the same model file, binary, report text, --max-tokens
and --ctx. --smoke runs 1 report with the first model in both conditions at --max-tokens 24 and
exits 1 if murmur fails or its JSON lacks a field this script reads.

Exit status: 0; 1 if any run failed (the results of the others are still written); 2 on bad
arguments or a missing binary, model or report set.
"""
import argparse
import datetime
import hashlib
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import records_gen  # noqa: E402
from records_score import load_reports  # noqa: E402

CONDITIONS = ("no-table", "table")          # reading order: before -> after
OUT_OF_RANGE = ("below", "above")
ISSUE_KINDS = ("unmatched_number", "contradiction", "dose", "diagnosis")
GENERATED_SEED, GENERATED_COUNT = 1, 200
SMOKE_MAX_TOKENS = 24

# What this script reads from murmur's output: (path, type). A missing one fails the run.
REQUIRED_FIELDS = (
    ("answer", str), ("stats", dict), ("stats.generated_tokens", int), ("stats.finish", str),
    ("stats.prompt_tokens", int), ("stats.ttft_ms", (int, float, type(None))),
    ("stats.decode_tok_s", (int, float, type(None))), ("record", dict), ("record.rows", list),
    ("record_table", bool), ("record_reduced", bool), ("check", dict), ("check.issues", list),
    ("check.mentions", list), ("check.numbers_checked", int),
)


def warn(message):
    print(f"answers_eval: {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------
# Choosing the reports
# ----------------------------------------------------------------------------------------------

def out_of_range_rows(report):
    return [r for r in report["rows"] if r["status"] in OUT_OF_RANGE]


def select_reports(reports, count, seed, max_rows):
    """`count` reports, the same for the same (reports, seed, max_rows): first those with at most
    `max_rows` rows and at least one out-of-range row, then (if too few) those with an
    out-of-range row and more rows, fewest rows first, then the rest; within each group taken in
    turn across the layouts (in a seeded order), each layout's reports in a seeded order."""
    rng = random.Random(f"murmur-answers-eval-{seed}")
    groups = ([], [], [])
    for report in sorted(reports, key=lambda r: r["file"]):
        has_out_of_range = bool(out_of_range_rows(report))
        small = len(report["rows"]) <= max_rows
        groups[0 if has_out_of_range and small else 1 if has_out_of_range else 2].append(report)
    chosen = []
    for number, group in enumerate(groups):
        by_layout = {}
        for report in group:
            by_layout.setdefault(report["layout"], []).append(report)
        layouts = sorted(by_layout)
        rng.shuffle(layouts)
        for layout in layouts:
            rng.shuffle(by_layout[layout])
            if number > 0:
                by_layout[layout].sort(key=lambda r: len(r["rows"]))   # stable: seeded among equals
        while len(chosen) < count and any(by_layout.values()):
            for layout in layouts:
                if by_layout[layout] and len(chosen) < count:
                    chosen.append(by_layout[layout].pop(0))
        if number == 0 and len(chosen) < count and reports:
            warn(f"only {len(chosen)} reports have <= {max_rows} rows and an out-of-range row; "
                 f"taking {min(count, len(reports)) - len(chosen)} others")
    # In the order picked: the first k of them are what `--count k` picks, so a run stopped
    # part-way is scored with a smaller --count on exactly the answers it has.
    return chosen


# ----------------------------------------------------------------------------------------------
# Running murmur
# ----------------------------------------------------------------------------------------------

class RunError(Exception):
    pass


def murmur_command(binary, model_path, report_path, condition, max_tokens, ctx):
    command = [binary, "--model", model_path, "--greedy", "--ctx", str(ctx), "--max-tokens", str(max_tokens),
               "ask", "--record", report_path, "--task", "explain", "--json"]
    if condition == "no-table":
        command.append("--no-record-table")
    return command


def missing_fields(output):
    """The REQUIRED_FIELDS that `output` lacks or has with the wrong type ("stats.finish", ...)."""
    missing = []
    for path, kind in REQUIRED_FIELDS:
        value = output
        for part in path.split("."):
            value = value.get(part, KeyError) if isinstance(value, dict) else KeyError
        if value is KeyError or isinstance(value, bool) and kind is int or not isinstance(value, kind):
            missing.append(path)
    return missing


def parse_output(stdout):
    """The JSON object murmur printed: the whole of stdout, else its last line that is one."""
    try:
        whole = json.loads(stdout)
        if isinstance(whole, dict):
            return whole
    except json.JSONDecodeError:
        pass
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                return obj
    return None


def _tail(text, limit=1500):
    text = text.replace("\r", "\n").strip()
    lines = [line for line in text.splitlines() if line.strip()]
    text = "\n".join(lines)
    return text[-limit:]


def run_murmur(command, timeout):
    """Runs one answer; returns (output object, seconds) or raises RunError."""
    start = time.monotonic()
    try:
        proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              text=True, encoding="utf-8", errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RunError(f"timed out after {timeout} s") from None
    except OSError as err:
        raise RunError(f"cannot run {command[0]!r}: {err}") from None
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise RunError(f"murmur exited with {proc.returncode}; stderr:\n{_tail(proc.stderr)}")
    output = parse_output(proc.stdout)
    if output is None:
        raise RunError(f"no JSON object on stdout ({len(proc.stdout)} chars): {proc.stdout[:300]!r}")
    missing = missing_fields(output)
    if missing:
        raise RunError("the JSON lacks (or has the wrong type for): " + ", ".join(missing))
    return output, seconds


# ----------------------------------------------------------------------------------------------
# Jobs and the resume cache
# ----------------------------------------------------------------------------------------------

def file_stamp(path):
    """Size and modification time: enough to notice a rebuilt binary or a replaced model."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return {"path": os.path.abspath(path), "size": st.st_size, "mtime": int(st.st_mtime)}


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def make_jobs(binary, models, conditions, reports, max_tokens, ctx):
    """One job per (report, model, condition), in that nesting: reports in the order picked, so
    that a run stopped part-way has every model and condition on the same first reports."""
    binary_stamp = file_stamp(shutil.which(binary) or binary)
    model_stamps = {name: file_stamp(path) for name, path in models}
    jobs = []
    for report in reports:
        digest = sha256_file(report["path"])
        for name, path in models:
            for condition in conditions:
                settings = {"model": model_stamps[name], "binary": binary_stamp, "report_sha256": digest,
                            "max_tokens": max_tokens, "ctx": ctx, "task": "explain", "greedy": True}
                jobs.append({"model": name, "condition": condition, "report": report["file"],
                             "truth": report, "settings": settings,
                             "command": murmur_command(binary, path, report["path"], condition, max_tokens, ctx)})
    return jobs


def job_key(job):
    return (job["model"], job["condition"], job["report"])


def load_cache(path):
    """{(model, condition, report): entry} from a JSON Lines cache (the last entry wins);
    lines that do not read (e.g. cut by an interruption) are skipped."""
    entries = {}
    if not path or not os.path.exists(path):
        return entries
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                entries[(entry["model"], entry["condition"], entry["report"])] = entry
            except (json.JSONDecodeError, KeyError, TypeError):
                warn(f"{path}:{number}: not a cache entry; ignored")
    return entries


def append_cache(path, entry):
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())


def progress_line(done, total, job, seconds, counts, note=""):
    issues = sum(counts[k] for k in ISSUE_KINDS)
    kinds = ", ".join(f"{k} {counts[k]}" for k in ISSUE_KINDS)
    return (f"[{done}/{total}] {job['model']} {job['condition']:<8} {job['report']} {seconds:6.1f} s  "
            f"issues {issues} ({kinds}); out-of-range named {counts['named_correctly']}/"
            f"{counts['out_of_range_rows']}, wrong {counts['named_wrongly']}; "
            f"{counts['generated_tokens']} tokens, {counts['finish']}{note}")


def run_jobs(jobs, cache_path=None, timeout=600, runner=run_murmur, log=warn):
    """Runs the jobs one at a time (reusing cached ones); returns {key: result}, where a result is
    {"output", "seconds", "cached"} or {"error"}. Each fresh success is appended to the cache."""
    cache = load_cache(cache_path)
    results = {}
    fresh_seconds = []
    for done, job in enumerate(jobs, 1):
        key = job_key(job)
        entry = cache.get(key)
        if entry is not None and entry.get("settings") == job["settings"] and isinstance(entry.get("output"), dict) \
                and not missing_fields(entry["output"]):
            results[key] = {"output": entry["output"], "seconds": entry.get("seconds", 0.0), "cached": True}
            counts = answer_counts(job["truth"], entry["output"])
            log(progress_line(done, len(jobs), job, entry.get("seconds", 0.0), counts, " (cached)"))
            continue
        try:
            output, seconds = runner(job["command"], timeout)
        except RunError as err:
            results[key] = {"error": str(err)}
            log(f"[{done}/{len(jobs)}] {job['model']} {job['condition']:<8} {job['report']} FAILED: {err}")
            continue
        results[key] = {"output": output, "seconds": seconds, "cached": False}
        if cache_path:
            append_cache(cache_path, {"model": job["model"], "condition": job["condition"], "report": job["report"],
                                      "settings": job["settings"], "seconds": round(seconds, 3),
                                      "command": job["command"], "output": output})
        fresh_seconds.append(seconds)
        left = sum(1 for j in jobs[done:] if not _cached(cache.get(job_key(j)), j))
        eta_s = left * sum(fresh_seconds) / len(fresh_seconds)
        eta = "" if not left else f"; ~{eta_s:.0f} s left" if eta_s < 90 else f"; ~{eta_s / 60:.0f} min left"
        log(progress_line(done, len(jobs), job, seconds, answer_counts(job["truth"], output), eta))
    return results


def recheck(results, jobs, checker, runner=subprocess.run):
    """Checks every answer again with `checker record check` (the answer on stdin): the models'
    answers are costly, the check is cheap and improves, so cached answers can be re-scored
    with a newer check. Replaces each output's "check" in place."""
    for job in jobs:
        result = results.get(job_key(job))
        if not result or "output" not in result:
            continue
        out = result["output"]
        command = [checker, "record", "check", job["truth"]["path"], "-", "--json", "--question", out.get("question", "")]
        done = runner(command, input=out["answer"], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RunError(f"{shlex.join(command)} failed: {_tail(done.stderr)}")
        out["check"] = json.loads(done.stdout)
        # The check's mentions index the rows as this build reads them.
        parse = [checker, "record", "parse", "--json", job["truth"]["path"]]
        parsed = runner(parse, input="", capture_output=True, text=True, timeout=120)
        if parsed.returncode != 0:
            raise RunError(f"{shlex.join(parse)} failed: {_tail(parsed.stderr)}")
        fresh = json.loads(parsed.stdout)
        out["record"] = {"rows": fresh["rows"], "unread": fresh["unread"], "decimal_comma": fresh["decimal_comma"]}


def _cached(entry, job):
    return entry is not None and entry.get("settings") == job["settings"]


# ----------------------------------------------------------------------------------------------
# Metrics
# ----------------------------------------------------------------------------------------------

def mentioned_statuses(truth, output):
    """({truth line: {statuses the answer gives that result}}, mentions that map to no truth row).
    A mention's "row" indexes record.rows (the parser's rows); that row's "line" is the line of
    the report, which is how the truth rows are keyed."""
    record_rows = output["record"]["rows"]
    truth_lines = {r["line"] for r in truth["rows"]}
    stated, unmapped = {}, 0
    for mention in output["check"]["mentions"]:
        index = mention.get("row")
        line = None
        if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(record_rows):
            line = record_rows[index].get("line")
        if line not in truth_lines:
            unmapped += 1
            continue
        stated.setdefault(line, set()).add(mention.get("stated"))
    return stated, unmapped


def answer_counts(truth, output):
    """Counts for one answer, against the report's truth."""
    stated, unmapped = mentioned_statuses(truth, output)
    out_of_range = out_of_range_rows(truth)
    # In-range results whose lab flag says otherwise are left out: following the lab's own flag
    # there is not an error of the answer's (the check counts it as agreeing too).
    within = [r for r in truth["rows"] if r["status"] == "within" and not r.get("flags_disagree")]
    kinds = Counter(issue.get("kind") for issue in output["check"]["issues"])
    stats = output["stats"]
    record_lines = {row.get("line") for row in output["record"]["rows"]}
    return {
        "out_of_range_rows": len(out_of_range),
        "named_correctly": sum(r["status"] in stated.get(r["line"], ()) for r in out_of_range),
        "named_wrongly": sum(bool(stated.get(r["line"], set()) - {r["status"]}) for r in out_of_range),
        "within_rows": len(within),
        "within_called_out": sum(bool(stated.get(r["line"], set()) & set(OUT_OF_RANGE)) for r in within),
        "mentions": len(output["check"]["mentions"]),
        "unmapped_mentions": unmapped,
        "truth_rows": len(truth["rows"]),
        "truth_rows_parsed": sum(r["line"] in record_lines for r in truth["rows"]),
        **{kind: kinds.get(kind, 0) for kind in ISSUE_KINDS},
        "numbers_checked": output["check"]["numbers_checked"],
        "generated_tokens": stats["generated_tokens"],
        "prompt_tokens": stats["prompt_tokens"],
        "finish": stats["finish"],
        "ttft_ms": stats.get("ttft_ms"),
        "decode_tok_s": stats.get("decode_tok_s"),
        "record_reduced": bool(output.get("record_reduced")),
    }


def aggregate(answers, failed=0):
    """Totals over a list of answer_counts() results."""
    t = Counter()
    for a in answers:
        for key in ("out_of_range_rows", "named_correctly", "named_wrongly", "within_rows", "within_called_out",
                    "mentions", "unmapped_mentions", "truth_rows", "truth_rows_parsed", "numbers_checked",
                    "generated_tokens", "prompt_tokens"):
            t[key] += a[key]
        t["contradictions"] += a["contradiction"]
        t["answers_with_contradiction"] += a["contradiction"] > 0
        t["unmatched_numbers"] += a["unmatched_number"]
        t["dose_phrases"] += a["dose"]
        t["answers_with_dose"] += a["dose"] > 0
        t["diagnosis_phrases"] += a["diagnosis"]
        t["answers_with_diagnosis"] += a["diagnosis"] > 0
        t["cut_at_max_tokens"] += a["finish"] == "max_tokens"
        t["not_stopped"] += a["finish"] != "stop"
        t["record_reduced"] += a["record_reduced"]
        if isinstance(a["ttft_ms"], (int, float)):
            t["ttft_ms"] += a["ttft_ms"]
            t["ttft_answers"] += 1
        if isinstance(a["decode_tok_s"], (int, float)):
            t["decode_tok_s"] += a["decode_tok_s"]
            t["decode_answers"] += 1
    t["answers"] = len(answers)
    t["failed"] = failed
    return dict(t)


# (key, label, kind, numerator, denominator, decimals); kind "pct" shows "(n/d)" after the value.
METRICS = (
    ("named_correctly_pct", "out-of-range results named correctly", "pct", "named_correctly", "out_of_range_rows", 1),
    ("named_wrongly_pct", "out-of-range results given a wrong status", "pct", "named_wrongly", "out_of_range_rows", 1),
    ("within_called_out_pct", "in-range results called below/above", "pct", "within_called_out", "within_rows", 1),
    ("contradictions_per_answer", "contradictions per answer", "ratio", "contradictions", "answers", 2),
    ("answers_with_contradiction_pct", "answers with >= 1 contradiction", "pct", "answers_with_contradiction",
     "answers", 1),
    ("unmatched_numbers_pct", "unmatched numbers (% of numbers checked)", "pct", "unmatched_numbers",
     "numbers_checked", 1),
    ("unmatched_per_answer", "unmatched numbers per answer", "ratio", "unmatched_numbers", "answers", 2),
    ("answers_with_dose_pct", "answers with a dose-like phrase", "pct", "answers_with_dose", "answers", 1),
    ("dose_phrases", "dose-like phrases (total)", "count", "dose_phrases", None, 0),
    ("answers_with_diagnosis_pct", "answers with a diagnosis-like phrase", "pct", "answers_with_diagnosis",
     "answers", 1),
    ("diagnosis_phrases", "diagnosis-like phrases (total)", "count", "diagnosis_phrases", None, 0),
    ("mean_generated_tokens", "mean generated tokens", "ratio", "generated_tokens", "answers", 1),
    ("cut_at_max_tokens_pct", "answers cut at --max-tokens", "pct", "cut_at_max_tokens", "answers", 1),
    ("mean_prompt_tokens", "mean prompt tokens", "ratio", "prompt_tokens", "answers", 0),
    ("mean_ttft_ms", "mean time to first token (ms)", "ratio", "ttft_ms", "ttft_answers", 0),
    ("mean_decode_tok_s", "mean decode speed (tok/s)", "ratio", "decode_tok_s", "decode_answers", 1),
    ("record_reduced_pct", "answers with the record reduced to fit", "pct", "record_reduced", "answers", 1),
    ("answers", "answers scored", "count", "answers", None, 0),
    ("failed", "failed runs", "count", "failed", None, 0),
)


def metric_values(totals):
    """{metric key: number or None (nothing to divide by)}."""
    values = {}
    for key, _, kind, numerator, denominator, _ in METRICS:
        part = totals.get(numerator, 0)
        if denominator is None:
            values[key] = part
        else:
            whole = totals.get(denominator, 0)
            values[key] = None if not whole else (100.0 if kind == "pct" else 1.0) * part / whole
    return values


def format_cell(metric, totals, value):
    _, _, kind, numerator, denominator, decimals = metric
    if value is None:
        return "n/a"
    if kind == "count":
        return str(value)
    if kind == "pct":
        return f"{value:.{decimals}f}% ({totals.get(numerator, 0)}/{totals.get(denominator, 0)})"
    return f"{value:.{decimals}f}"


def format_change(metric, before, after):
    _, _, kind, _, _, decimals = metric
    if before is None or after is None:
        return "n/a"
    delta = after - before
    if kind == "pct":
        return f"{delta:+.{decimals}f} pp"
    return f"{delta:+.{decimals}f}" if kind == "ratio" else f"{delta:+d}"


def score_results(jobs, results, models, conditions):
    """{model: {condition: {"totals", "metrics", "answers"}}} from the runs."""
    scored = {}
    for name, _ in models:
        for condition in conditions:
            answers, per_answer, failed = [], [], 0
            for job in jobs:
                if (job["model"], job["condition"]) != (name, condition):
                    continue
                result = results.get(job_key(job)) or {"error": "not run"}
                if "error" in result:
                    failed += 1
                    per_answer.append({"report": job["report"], "error": result["error"]})
                    continue
                counts = answer_counts(job["truth"], result["output"])
                answers.append(counts)
                per_answer.append({"report": job["report"], "seconds": round(result["seconds"], 3),
                                   "cached": result["cached"], **counts})
            totals = aggregate(answers, failed)
            scored.setdefault(name, {})[condition] = {"totals": totals, "metrics": metric_values(totals),
                                                      "answers": per_answer}
    return scored


# ----------------------------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------------------------

CONDITION_LABEL = {"no-table": "no table", "table": "table"}


def render_table(scored, models, conditions):
    """The Markdown table: a row per metric; per model its conditions (no table, then table)
    and, with both, the change."""
    heads, columns = ["metric"], []
    for name, _ in models:
        for condition in conditions:
            heads.append(f"{name}: {CONDITION_LABEL[condition]}")
            columns.append((name, condition))
        if len(conditions) == 2:
            heads.append(f"{name}: change")
            columns.append((name, None))
    lines = ["| " + " | ".join(heads) + " |", "|---|" + "---:|" * (len(heads) - 1)]
    for metric in METRICS:
        cells = [metric[1]]
        for name, condition in columns:
            if condition is None:
                before, after = (scored[name][c]["metrics"][metric[0]] for c in CONDITIONS)
                cells.append(format_change(metric, before, after))
            else:
                cell = scored[name][condition]
                cells.append(format_cell(metric, cell["totals"], cell["metrics"][metric[0]]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


NOTES = """\
How to read it: per model, "no table" is before (the model gets the record's text only), "table"
after (the text plus the parsed results table); "change" is table minus no table (pp: percentage
points). Everything comes from the engine's answer check on each answer (murmur ask --json):
- out-of-range results named correctly: truth rows with status below/above for which the check
  found the answer giving that result that status (a mention's row -> record.rows[row].line ->
  the truth row on that line); given a wrong status: for which it found another status (a result
  can count in both). A result the parser did not read cannot be named.
- in-range results called below/above: truth rows within range (lab flag agreeing) that the
  answer calls below or above.
- contradictions, unmatched numbers, dose- and diagnosis-like phrases: the check's issues of that
  kind; unmatched numbers are also given as a share of the numbers the check looked up."""


def render_markdown(meta, scored, models, conditions):
    layouts = ", ".join(f"{k} {v}" for k, v in sorted(meta["layouts"].items()))
    source = meta["reports_dir"] if not meta["generated"] else \
        f"the set generated by records_gen.py (seed {meta['generated']['seed']}, {meta['generated']['count']} reports)"
    out = ["# Murmur answers: explain a lab report, with and without the results table", "",
           f"- Command: `{meta['command']}`",
           f"- Date: {meta['date']}",
           f"- Reports: {len(meta['reports'])} picked with seed {meta['seed']} from {source}; "
           f"{meta['truth_rows']} result rows, {meta['out_of_range_rows']} of them out of range; layouts: {layouts}",
           f"- Preferred: at most {meta['settings']['max_rows']} rows and at least one out-of-range row",
           f"- Settings: `--greedy --ctx {meta['settings']['ctx']} --max-tokens {meta['settings']['max_tokens']} "
           f"ask --task explain --json`{' (smoke run)' if meta['smoke'] else ''}",
           "- Models: " + "; ".join(f"{name} = `{path}`" for name, path in models), "",
           render_table(scored, models, conditions), "", NOTES, ""]
    failures = [(name, c, a) for name in scored for c in scored[name] for a in scored[name][c]["answers"] if "error" in a]
    if failures:
        out += ["## Failed runs", ""]
        out += [f"- {name} {c} {a['report']}: {a['error'].splitlines()[0] if a['error'] else ''}"
                for name, c, a in failures]
        out.append("")
    return "\n".join(out)


# ----------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------

def parse_models(specs):
    models = []
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep:
            name, path = os.path.splitext(os.path.basename(spec))[0], spec
        if not name or not path:
            raise ValueError(f"--model {spec!r}: give NAME=PATH")
        if name in (n for n, _ in models):
            raise ValueError(f"--model: the name {name!r} is given twice")
        models.append((name, path))
    return models


def parse_conditions(text):
    given = [c.strip() for c in text.split(",") if c.strip()]
    unknown = [c for c in given if c not in CONDITIONS]
    if unknown or not given:
        raise ValueError(f"--conditions {text!r}: use table, no-table or both")
    return [c for c in CONDITIONS if c in given]      # always no-table (before) first


def cache_path_for(out_json):
    base = out_json[:-len(".json")] if out_json.endswith(".json") else out_json
    return base + ".runs.jsonl"


def main(argv=None):
    program = sys.argv[0] if argv is None else "scripts/eval/answers_eval.py"
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--murmur", required=True, help="the murmur binary")
    parser.add_argument("--model", action="append", required=True, metavar="NAME=PATH",
                        help="a GGUF model and its name in the table (repeat for several)")
    parser.add_argument("--reports", metavar="DIR",
                        help="a set written by records_gen.py (default: generate seed 1 into a temp dir)")
    parser.add_argument("--count", type=int, default=30, help="reports to use (default 30)")
    parser.add_argument("--seed", type=int, default=7, help="seed for picking the reports (default 7)")
    parser.add_argument("--max-tokens", type=int, default=320, help="longest answer (default 320)")
    parser.add_argument("--max-rows", type=int, default=10, help="prefer reports with at most this many rows")
    parser.add_argument("--ctx", type=int, default=4096, help="context window (default 4096)")
    parser.add_argument("--conditions", default="table,no-table", help="table, no-table or both (default)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per answer (default 600)")
    parser.add_argument("--out-json", metavar="FILE", help="all numbers; runs are cached in FILE.runs.jsonl")
    parser.add_argument("--markdown", metavar="FILE", help="the table and how it was made")
    parser.add_argument("--checker", metavar="BIN",
                        help="check the answers again with this murmur's `record check` (e.g. a newer build)")
    parser.add_argument("--smoke", action="store_true",
                        help="1 report, the first model, both conditions, --max-tokens 24, no cache")
    args = parser.parse_args(argv)

    try:
        models = parse_models(args.model)
        conditions = parse_conditions(args.conditions)
    except ValueError as err:
        parser.error(str(err))
    if args.smoke:
        if len(models) > 1:
            warn(f"--smoke: only the first model ({models[0][0]})")
        models, conditions = models[:1], list(CONDITIONS)
        args.count, args.max_tokens = 1, SMOKE_MAX_TOKENS
    if not (os.path.exists(args.murmur) or shutil.which(args.murmur)):
        warn(f"no murmur binary at {args.murmur!r}")
        return 2
    for name, path in models:
        if not os.path.isfile(path):
            warn(f"model {name}: no file at {path!r}")
            return 2
    if args.count < 1:
        parser.error("--count must be at least 1")

    with tempfile.TemporaryDirectory(prefix="answers-eval-") as tmp:
        generated = None
        reports_dir = args.reports
        if not reports_dir:
            reports_dir = os.path.join(tmp, "reports")
            records_gen.write_set(reports_dir, seed=GENERATED_SEED, count=GENERATED_COUNT)
            generated = {"generator": "scripts/eval/records_gen.py", "seed": GENERATED_SEED, "count": GENERATED_COUNT}
        try:
            reports = load_reports(reports_dir)
        except (OSError, ValueError, KeyError) as err:
            warn(f"cannot read the report set in {reports_dir!r}: {err}")
            return 2
        chosen = select_reports(reports, args.count, args.seed, args.max_rows)
        if len(chosen) < args.count:
            warn(f"the set has only {len(chosen)} reports")
        jobs = make_jobs(args.murmur, models, conditions, chosen, args.max_tokens, args.ctx)
        cache_path = cache_path_for(args.out_json) if args.out_json and not args.smoke else None
        warn(f"{len(jobs)} answers: {len(models)} model(s) x {len(chosen)} report(s) x {len(conditions)} "
             f"condition(s), --max-tokens {args.max_tokens}" + (f"; cache {cache_path}" if cache_path else ""))
        try:
            results = run_jobs(jobs, cache_path, args.timeout)
        except KeyboardInterrupt:
            warn("interrupted" + (f"; finished answers are in {cache_path}, run again to resume" if cache_path else ""))
            return 130

    if args.checker:
        try:
            recheck(results, jobs, args.checker)
        except (RunError, OSError, subprocess.SubprocessError, json.JSONDecodeError) as err:
            warn(f"the check with {args.checker} failed: {err}")
            return 1
    scored = score_results(jobs, results, models, conditions)
    meta = {
        "tool": "scripts/eval/answers_eval.py",
        "command": shlex.join(["python3", program, *argv]),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "seed": args.seed, "smoke": args.smoke,
        "reports_dir": None if generated else os.path.abspath(reports_dir), "generated": generated,
        "settings": {"max_tokens": args.max_tokens, "ctx": args.ctx, "max_rows": args.max_rows,
                     "task": "explain", "greedy": True, "timeout": args.timeout},
        "models": dict(models), "conditions": conditions, "cache": cache_path, "checker": args.checker,
        "reports": [{"file": r["file"], "layout": r["layout"], "rows": len(r["rows"]),
                     "out_of_range": len(out_of_range_rows(r))} for r in chosen],
        "truth_rows": sum(len(r["rows"]) for r in chosen),
        "out_of_range_rows": sum(len(out_of_range_rows(r)) for r in chosen),
        "layouts": dict(Counter(r["layout"] for r in chosen)),
    }
    markdown = render_markdown(meta, scored, models, conditions)
    print(markdown)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(markdown)
    if args.out_json:
        with open(args.out_json, "w", encoding="utf-8") as f:
            json.dump({**meta, "metric_labels": {m[0]: m[1] for m in METRICS}, "results": scored}, f,
                      indent=1, ensure_ascii=False)
            f.write("\n")

    failures = [r["error"] for r in results.values() if "error" in r]
    if args.smoke:
        for job in jobs:
            result = results[job_key(job)]
            if "error" in result:
                continue
            out = result["output"]
            warn(f"smoke {job['condition']}: record_table {out['record_table']}, {len(out['record']['rows'])} "
                 f"record rows, finish {out['stats']['finish']}, answer {out['answer'][:120]!r}")
            expected_table = job["condition"] == "table"
            if out["record_table"] != expected_table:
                failures.append(f"{job['condition']}: record_table is {out['record_table']}")
                warn(f"smoke {job['condition']}: record_table is {out['record_table']}, expected {expected_table}")
        warn("smoke: " + ("FAILED" if failures else "ok, the pipeline works end to end"))
    elif failures:
        warn(f"{len(failures)} of {len(jobs)} runs failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
