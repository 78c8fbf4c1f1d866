"""Tests of answers_eval.py: the metrics on hand-made output, the report choice, the resume cache,
and the command line with a stand-in for the murmur binary (no model or build needed).

  python3 -m unittest discover -s scripts/eval -p 'test_*.py'
"""
import copy
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest
from collections import Counter
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import answers_eval as ae  # noqa: E402
import records_gen as gen  # noqa: E402
import records_score as scoring  # noqa: E402


def truth_row(line, status, flags_disagree=False):
    return {"line": line, "analyte": f"Test {line}", "canonical": f"t{line}", "status": status,
            "critical_expected": False, "flags_disagree": flags_disagree}


# Lines 5 above, 6 below, 7 within, 8 above, 9 within but flagged H (the lab disagrees).
TRUTH = {"file": "hand.txt", "layout": "compact",
         "rows": [truth_row(5, "above"), truth_row(6, "below"), truth_row(7, "within"), truth_row(8, "above"),
                  truth_row(9, "within", flags_disagree=True)]}


def output(mentions=(), issues=(), numbers_checked=0, generated=100, finish="stop", ttft=250.0, tok_s=20.0,
           record_table=True):
    """A murmur ask --json object. record.rows is in another order than the truth, with a row
    (line 99) the truth does not have, so a mention's index is not the truth's index."""
    rows = [{"line": line, "analyte": f"Test {line}", "canonical": f"t{line}", "status": "?"}
            for line in (7, 5, 99, 8, 6, 9)]
    return {"question": "Please explain", "answer": "...",
            "stats": {"prompt_tokens": 800, "generated_tokens": generated, "ttft_ms": ttft,
                      "decode_tok_s": tok_s, "finish": finish},
            "record": {"rows": rows, "unread": [], "decimal_comma": False},
            "record_reduced": False, "record_table": record_table, "red_flags": None,
            "check": {"issues": [{"kind": k, "text": "x", "start": 0, "end": 1, "explanation": ""} for k in issues],
                      "mentions": [{"row": r, "stated": s, "agrees": True} for r, s in mentions],
                      "numbers_checked": numbers_checked}}


# Indexes into output()'s record.rows.
ROW_OF_LINE = {7: 0, 5: 1, 99: 2, 8: 3, 6: 4, 9: 5}


class MetricsTest(unittest.TestCase):
    def counts(self, **kw):
        return ae.answer_counts(TRUTH, output(**kw))

    def test_right_status_counts_as_named_correctly(self):
        c = self.counts(mentions=[(ROW_OF_LINE[5], "above"), (ROW_OF_LINE[6], "below")])
        self.assertEqual((c["named_correctly"], c["named_wrongly"], c["out_of_range_rows"]), (2, 0, 3))

    def test_wrong_status_counts_as_wrong(self):
        c = self.counts(mentions=[(ROW_OF_LINE[6], "above"), (ROW_OF_LINE[8], "within")])
        self.assertEqual((c["named_correctly"], c["named_wrongly"]), (0, 2))

    def test_rows_are_mapped_by_line_not_by_index(self):
        # Index 0 is line 7 in the record (within), while truth row 0 is line 5 (above).
        c = self.counts(mentions=[(0, "above")])
        self.assertEqual((c["named_correctly"], c["named_wrongly"], c["within_called_out"]), (0, 0, 1))
        c = self.counts(mentions=[(1, "above")])
        self.assertEqual((c["named_correctly"], c["within_called_out"]), (1, 0))

    def test_both_statuses_for_one_result(self):
        c = self.counts(mentions=[(ROW_OF_LINE[5], "above"), (ROW_OF_LINE[5], "within")])
        self.assertEqual((c["named_correctly"], c["named_wrongly"]), (1, 1))

    def test_unmapped_mentions_and_lab_disagreeing_rows(self):
        c = self.counts(mentions=[(ROW_OF_LINE[99], "above"), (17, "below"), (-1, "below"),
                                  (ROW_OF_LINE[9], "above")])
        self.assertEqual(c["unmapped_mentions"], 3)
        self.assertEqual((c["within_rows"], c["within_called_out"]), (1, 0))   # line 9 follows the lab's H
        self.assertEqual((c["truth_rows"], c["truth_rows_parsed"]), (5, 5))

    def test_aggregate_and_metrics(self):
        answers = [
            self.counts(mentions=[(ROW_OF_LINE[5], "above")], issues=["contradiction", "contradiction",
                        "unmatched_number", "dose"], numbers_checked=8, generated=320, finish="max_tokens",
                        ttft=None),
            self.counts(mentions=[(ROW_OF_LINE[6], "above")], issues=["diagnosis", "unmatched_number",
                        "unmatched_number"], numbers_checked=2, generated=100, ttft=300.0, tok_s=10.0),
        ]
        totals = ae.aggregate(answers, failed=1)
        m = ae.metric_values(totals)
        self.assertAlmostEqual(m["named_correctly_pct"], 100 * 1 / 6)
        self.assertAlmostEqual(m["named_wrongly_pct"], 100 * 1 / 6)
        self.assertEqual(m["contradictions_per_answer"], 1.0)
        self.assertEqual(m["answers_with_contradiction_pct"], 50.0)
        self.assertEqual(m["unmatched_numbers_pct"], 30.0)                 # 3 of 10 numbers checked
        self.assertEqual(m["unmatched_per_answer"], 1.5)
        self.assertEqual((m["answers_with_dose_pct"], m["dose_phrases"]), (50.0, 1))
        self.assertEqual((m["answers_with_diagnosis_pct"], m["diagnosis_phrases"]), (50.0, 1))
        self.assertEqual(m["mean_generated_tokens"], 210.0)
        self.assertEqual(m["cut_at_max_tokens_pct"], 50.0)
        self.assertEqual(m["mean_ttft_ms"], 300.0)                         # a missing TTFT is left out
        self.assertEqual(m["mean_decode_tok_s"], 15.0)
        self.assertEqual((m["answers"], m["failed"]), (2, 1))
        self.assertIsNone(ae.metric_values(ae.aggregate([]))["named_correctly_pct"])

    def test_formatting(self):
        metric = next(x for x in ae.METRICS if x[0] == "named_correctly_pct")
        self.assertEqual(ae.format_cell(metric, {"named_correctly": 1, "out_of_range_rows": 3}, 100 / 3),
                         "33.3% (1/3)")
        self.assertEqual(ae.format_change(metric, 25.0, 75.0), "+50.0 pp")
        self.assertEqual(ae.format_cell(metric, {}, None), "n/a")

    def test_missing_fields(self):
        good = output()
        self.assertEqual(ae.missing_fields(good), [])
        bad = copy.deepcopy(good)
        del bad["check"]["mentions"]
        bad["stats"]["generated_tokens"] = "12"
        del bad["record_table"]
        self.assertEqual(ae.missing_fields(bad), ["stats.generated_tokens", "record_table", "check.mentions"])
        self.assertIn("check", ae.missing_fields({k: v for k, v in good.items() if k != "check"}))

    def test_parse_output(self):
        obj = output()
        self.assertEqual(ae.parse_output(json.dumps(obj) + "\n"), obj)
        self.assertEqual(ae.parse_output("noise\n" + json.dumps(obj) + "\n"), obj)
        self.assertIsNone(ae.parse_output("no json here"))


class SelectionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="answers-eval-")
        gen.write_set(cls.tmp, seed=1, count=60)
        cls.reports = scoring.load_reports(cls.tmp)

    def setUp(self):
        patcher = mock.patch.object(ae, "warn")
        self.warn = patcher.start()
        self.addCleanup(patcher.stop)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_prefers_short_reports_with_out_of_range_rows_across_layouts(self):
        chosen = ae.select_reports(self.reports, 10, seed=7, max_rows=10)
        self.assertEqual(len(chosen), 10)
        for report in chosen:
            self.assertLessEqual(len(report["rows"]), 10)
            self.assertTrue(ae.out_of_range_rows(report))
        available = Counter(r["layout"] for r in self.reports if len(r["rows"]) <= 10 and ae.out_of_range_rows(r))
        taken = Counter(r["layout"] for r in chosen)
        self.assertEqual(set(taken), set(available))
        not_exhausted = [taken[layout] for layout in available if taken[layout] < available[layout]]
        self.assertLessEqual(max(not_exhausted) - min(not_exhausted), 1)

    def test_deterministic_for_a_seed(self):
        files = [r["file"] for r in ae.select_reports(self.reports, 10, 7, 10)]
        self.assertEqual(files, [r["file"] for r in ae.select_reports(self.reports, 10, 7, 10)])
        self.assertNotEqual(files, [r["file"] for r in ae.select_reports(self.reports, 10, 8, 10)])

    def test_falls_back_to_longer_reports(self):
        eligible = [r for r in self.reports if len(r["rows"]) <= 6 and ae.out_of_range_rows(r)]
        chosen = ae.select_reports(self.reports, len(eligible) + 3, 7, 6)
        self.assertEqual(len(chosen), len(eligible) + 3)
        self.assertTrue(all(r in chosen for r in eligible))
        self.assertEqual(len(ae.select_reports(self.reports, 1000, 7, 10)), len(self.reports))
        self.assertIn(f"only {len(eligible)} reports have <= 6 rows", self.warn.call_args_list[0].args[0])


class CacheTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="answers-eval-")
        self.cache = os.path.join(self.tmp, "out.runs.jsonl")
        self.jobs = []
        for report in ("a.txt", "b.txt"):
            for condition in ae.CONDITIONS:
                self.jobs.append({"model": "m", "condition": condition, "report": report, "truth": TRUTH,
                                  "settings": {"max_tokens": 320, "report_sha256": report},
                                  "command": ["murmur", report, condition]})
        self.calls = []
        patcher = mock.patch.object(ae, "warn")
        patcher.start()
        self.addCleanup(patcher.stop)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def runner(self, command, timeout):
        self.calls.append(command)
        if command[1] == "b.txt" and command[2] == "table" and getattr(self, "fail_b", False):
            raise ae.RunError("boom")
        return output(record_table=command[2] == "table"), 1.0

    def run_jobs(self):
        return ae.run_jobs(self.jobs, self.cache, runner=self.runner, log=lambda message: None)

    def test_finished_runs_are_not_redone(self):
        self.fail_b = True
        first = self.run_jobs()
        self.assertEqual(len(self.calls), 4)
        self.assertEqual(sum("error" in r for r in first.values()), 1)
        self.fail_b = False
        self.calls = []
        second = self.run_jobs()
        self.assertEqual(self.calls, [["murmur", "b.txt", "table"]])       # only the failed one
        self.assertTrue(all("output" in r for r in second.values()))
        self.assertEqual(sum(r["cached"] for r in second.values()), 3)
        self.calls = []
        self.run_jobs()
        self.assertEqual(self.calls, [])

    def test_changed_settings_and_torn_lines_are_rerun(self):
        self.run_jobs()
        with open(self.cache, "a", encoding="utf-8") as f:
            f.write('{"model": "m", "condition": "tab')                      # cut by an interruption
        self.jobs[0]["settings"] = {"max_tokens": 24, "report_sha256": "a.txt"}
        self.calls = []
        self.run_jobs()
        self.assertEqual(self.calls, [self.jobs[0]["command"]])
        self.assertEqual(len(ae.load_cache(self.cache)), 4)

    def test_cache_next_to_out_json(self):
        self.assertEqual(ae.cache_path_for("/x/answers.json"), "/x/answers.runs.jsonl")
        self.assertEqual(ae.cache_path_for("/x/answers"), "/x/answers.runs.jsonl")


FAKE_MURMUR = r"""#!{python}
import json, os, sys
args = sys.argv[1:]
log = os.environ.get("FAKE_MURMUR_LOG")
if log:
    with open(log, "a") as f:
        f.write(json.dumps(args) + "\n")
if os.environ.get("FAKE_MURMUR_FAIL"):
    print("error: unexpected argument", file=sys.stderr)
    sys.exit(2)
assert args[args.index("--model") + 2] == "--greedy" and "ask" in args and "--json" in args, args
assert args[args.index("--task") + 1] == "explain", args
record = args[args.index("--record") + 1]
with open(record[:-len(".txt")] + ".truth.json", encoding="utf-8") as f:
    truth = json.load(f)
table = "--no-record-table" not in args
rows = [dict(line=r["line"], analyte=r["analyte"], canonical=r["canonical"], status=r["status"])
        for r in reversed(truth["rows"])]
mentions, issues = [], []
for index, row in enumerate(rows):
    if row["status"] in ("above", "below"):
        # With the table every out-of-range result is named right; without it, called normal.
        mentions.append(dict(row=index, stated=row["status"] if table else "within", agrees=table))
        if not table:
            issues.append(dict(kind="contradiction", text="normal", start=0, end=6, explanation=""))
out = dict(question="explain", answer="An answer.",
           stats=dict(prompt_tokens=900 if table else 700, generated_tokens=50, ttft_ms=120.0,
                      decode_tok_s=30.0, finish="stop"),
           record=dict(rows=rows, unread=[], decimal_comma=False), record_reduced=False,
           record_table=table, red_flags=None,
           check=dict(issues=issues + [dict(kind="unmatched_number", text="7", start=0, end=1, explanation="")],
                      mentions=mentions, numbers_checked=4))
if os.environ.get("FAKE_MURMUR_DROP"):
    del out[os.environ["FAKE_MURMUR_DROP"]]
if os.environ.get("FAKE_MURMUR_IGNORE_TABLE_FLAG"):
    out["record_table"] = True
print(json.dumps(out))
"""


class CliTest(unittest.TestCase):
    """The command line end to end, with a stand-in for murmur."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="answers-eval-cli-")
        cls.reports = os.path.join(cls.tmp, "set")
        gen.write_set(cls.reports, seed=1, count=20)
        cls.fake = os.path.join(cls.tmp, "murmur")
        with open(cls.fake, "w") as f:
            f.write(FAKE_MURMUR.replace("{python}", sys.executable))
        os.chmod(cls.fake, os.stat(cls.fake).st_mode | stat.S_IXUSR)
        cls.model = os.path.join(cls.tmp, "model.gguf")
        with open(cls.model, "w") as f:
            f.write("not a model")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def run_cli(self, *args, env=None):
        command = [sys.executable, os.path.join(HERE, "answers_eval.py"), "--murmur", self.fake,
                   "--model", f"fake={self.model}", "--reports", self.reports, *args]
        return subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})})

    def calls(self, log):
        if not os.path.exists(log):
            return []
        with open(log) as f:
            return [json.loads(line) for line in f]

    def test_run_scores_and_resumes(self):
        work = tempfile.mkdtemp(dir=self.tmp)
        out_json, markdown, log = (os.path.join(work, n) for n in ("a.json", "a.md", "calls.jsonl"))
        proc = self.run_cli("--count", "4", "--out-json", out_json, "--markdown", markdown,
                            env={"FAKE_MURMUR_LOG": log})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        calls = self.calls(log)
        self.assertEqual(len(calls), 8)
        self.assertEqual(sum("--no-record-table" in c for c in calls), 4)
        self.assertEqual(proc.stderr.count(" issues "), 8)                  # a progress line per answer
        with open(out_json) as f:
            result = json.load(f)
        table, no_table = result["results"]["fake"]["table"], result["results"]["fake"]["no-table"]
        self.assertEqual(table["metrics"]["named_correctly_pct"], 100.0)
        self.assertEqual(no_table["metrics"]["named_correctly_pct"], 0.0)
        self.assertEqual(no_table["metrics"]["named_wrongly_pct"], 100.0)
        self.assertEqual(table["metrics"]["unmatched_numbers_pct"], 25.0)
        self.assertEqual(no_table["totals"]["contradictions"], result["out_of_range_rows"])
        self.assertEqual(len(result["reports"]), 4)
        with open(markdown) as f:
            md = f.read()
        self.assertIn("| metric | fake: no table | fake: table | fake: change |", md)
        self.assertIn("| out-of-range results named correctly | 0.0% (", md)
        self.assertIn("--count 4", md)
        self.assertIn("seed 7", md)
        self.assertIn(md.strip(), proc.stdout)
        self.assertTrue(os.path.exists(os.path.join(work, "a.runs.jsonl")))

        again = self.run_cli("--count", "4", "--out-json", out_json, env={"FAKE_MURMUR_LOG": log})
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(len(self.calls(log)), 8)                            # nothing redone
        self.assertEqual(again.stderr.count("(cached)"), 8)
        with open(out_json) as f:
            self.assertEqual(json.load(f)["results"]["fake"]["table"]["metrics"], table["metrics"])
        more = self.run_cli("--count", "4", "--max-tokens", "100", "--out-json", out_json,
                            env={"FAKE_MURMUR_LOG": log})
        self.assertEqual(more.returncode, 0, more.stderr)
        self.assertEqual(len(self.calls(log)), 16)                           # other settings: redone

    def test_one_condition(self):
        proc = self.run_cli("--count", "2", "--conditions", "table")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("| metric | fake: table |\n", proc.stdout)

    def test_smoke(self):
        proc = self.run_cli("--smoke")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("smoke: ok", proc.stderr)
        self.assertIn("--max-tokens 24", proc.stdout)

    def test_smoke_fails_on_murmur_errors_and_missing_fields(self):
        for env in ({"FAKE_MURMUR_FAIL": "1"}, {"FAKE_MURMUR_DROP": "check"},
                    {"FAKE_MURMUR_IGNORE_TABLE_FLAG": "1"}):
            proc = self.run_cli("--smoke", env=env)
            self.assertEqual(proc.returncode, 1, (env, proc.stderr))
            self.assertIn("smoke: FAILED", proc.stderr)
        proc = self.run_cli("--smoke", env={"FAKE_MURMUR_DROP": "check"})
        self.assertIn("lacks", proc.stderr)
        self.assertIn("check", proc.stderr)


if __name__ == "__main__":
    unittest.main()


class RecheckTest(unittest.TestCase):
    def test_the_answer_goes_on_stdin_and_the_new_check_replaces_the_old(self):
        calls = []

        class Done:
            returncode = 0
            stderr = ""

            def __init__(self, stdout):
                self.stdout = stdout

        def runner(command, **kwargs):
            calls.append((command, kwargs["input"]))
            if command[2] == "parse":
                return Done('{"rows": [{"line": 3}], "unread": [], "decimal_comma": false}')
            return Done('{"issues": [], "mentions": [], "numbers_checked": 7}')

        job = {"model": "m", "condition": "table", "report": "r.txt", "truth": {"path": "/x/r.txt"}}
        results = {("m", "table", "r.txt"): {"output": {"question": "Q?", "answer": "A 42.", "check": {"old": True}}}}
        ae.recheck(results, [job], "murmur", runner=runner)
        self.assertEqual(calls[0][0][:5], ["murmur", "record", "check", "/x/r.txt", "-"])
        self.assertEqual(calls[0][1], "A 42.")
        self.assertEqual(results[("m", "table", "r.txt")]["output"]["check"]["numbers_checked"], 7)
        self.assertEqual(results[("m", "table", "r.txt")]["output"]["record"]["rows"], [{"line": 3}])
