"""Tests of the lab-report evaluation set (records_gen.py) and its scorer (records_score.py).

  python3 -m unittest discover -s scripts/eval -p 'test_*.py'

None of them needs the murmur binary: the scorer's runner is tested with a stand-in script.
"""
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import records_gen as gen  # noqa: E402
import records_score as scoring  # noqa: E402
from records_catalog import ANALYTES  # noqa: E402

CANONICAL_KEYS = """total_cholesterol ldl hdl triglycerides non_hdl wbc rbc hemoglobin hematocrit mcv mch
mchc rdw platelets mpv neutrophils lymphocytes monocytes eosinophils basophils iron ferritin tibc
transferrin transferrin_saturation glucose sodium potassium chloride bicarbonate bun creatinine egfr
calcium albumin total_protein globulin magnesium phosphate alt ast alp ggt bilirubin_total
bilirubin_direct tsh free_t4 free_t3 hba1c vitamin_d vitamin_b12 folate uric_acid crp esr psa inr""".split()


def status(value, range_text, qualifier=None):
    """Status of a printed value against a range in the catalog notation (None: no range)."""
    rng = gen.parse_range(range_text) if range_text else None
    return gen.status_for(Decimal(value), qualifier, rng)


class SemanticsTest(unittest.TestCase):
    """The ground-truth rules, on hand-written cases."""

    def test_two_sided_range_is_inclusive(self):
        self.assertEqual(status("3.5", "3.5-5.1"), "within")
        self.assertEqual(status("5.1", "3.5-5.1"), "within")
        self.assertEqual(status("3.4", "3.5-5.1"), "below")
        self.assertEqual(status("5.2", "3.5-5.1"), "above")

    def test_one_sided_ranges(self):
        self.assertEqual(status("42", ">40"), "within")      # HDL 42 vs "> 40"
        self.assertEqual(status("40", ">40"), "below")       # HDL 40 vs "> 40"
        self.assertEqual(status("40", ">=40"), "within")
        self.assertEqual(status("39", ">=40"), "below")
        self.assertEqual(status("99", "<100"), "within")
        self.assertEqual(status("100", "<100"), "above")
        self.assertEqual(status("5.6", "<=5.6"), "within")   # "≤ 5.6" and "up to 5.6"
        self.assertEqual(status("5.7", "<=5.6"), "above")

    def test_qualified_values_only_when_certain(self):
        self.assertEqual(status("0.5", "1-5", "<"), "below")
        self.assertEqual(status("0.5", "<1", "<"), "within")
        self.assertEqual(status("0.5", "<0.5", "<"), "within")
        self.assertEqual(status("0.5", "<=0.5", "<"), "within")
        self.assertEqual(status("60", ">60", ">"), "within")
        self.assertEqual(status("60", ">=60", ">"), "within")
        self.assertEqual(status("60", ">59", ">"), "within")
        self.assertEqual(status("60", "60-120", ">"), "undetermined")
        self.assertEqual(status("60", ">=90", ">"), "undetermined")
        self.assertEqual(status("1476", "145-569", ">"), "above")
        self.assertEqual(status("0.2", "0.2-1.2", "<"), "below")
        self.assertEqual(status("0.3", "0.2-1.2", "<"), "undetermined")
        self.assertEqual(status("0.2", "0.2-1.2", "<="), "undetermined")
        self.assertEqual(status("60", ">60", ">="), "undetermined")

    def test_no_range(self):
        self.assertEqual(status("5", None), "no_range")
        self.assertEqual(status("0.5", None, "<"), "no_range")

    def test_decimal_comma_detection(self):
        for text in ("Kalium 4,5 mmol/L", "13,25", "CRP <0,5 mg/dL", "TSH 0,125"):
            self.assertTrue(gen.is_decimal_comma(text), text)
        for text in ("Platelets 250,000 /uL", "WBC 7,200", "Cholesterol, Total   241",
                     "Result pending, call 555 0100", "Address: 12 Elm Street, Springfield"):
            self.assertFalse(gen.is_decimal_comma(text), text)

    def test_numbers_read_under_the_comma_convention(self):
        self.assertEqual(gen.parse_number("1,200", False), 1200)
        self.assertEqual(gen.parse_number("4,5", True), Decimal("4.5"))
        self.assertEqual(gen.parse_number("250.000", True), 250000)
        self.assertEqual(gen.format_number(Decimal("1250"), 0, True, True), "1.250")
        self.assertEqual(gen.format_number(Decimal("7200"), 0, False, True), "7,200")
        self.assertEqual(gen.format_number(Decimal("3.5"), 1, True, False), "3,5")

    def test_flags_disagree(self):
        self.assertTrue(gen.flags_disagree("high", "within"))
        self.assertTrue(gen.flags_disagree("high", "below"))
        self.assertFalse(gen.flags_disagree("high", "above"))
        self.assertTrue(gen.flags_disagree("low", "within"))
        self.assertTrue(gen.flags_disagree("critical_high", "below"))
        self.assertFalse(gen.flags_disagree("critical_low", "below"))
        self.assertTrue(gen.flags_disagree("abnormal", "within"))
        self.assertFalse(gen.flags_disagree("abnormal", "above"))
        self.assertFalse(gen.flags_disagree("high", "undetermined"))
        self.assertFalse(gen.flags_disagree("high", "no_range"))
        self.assertFalse(gen.flags_disagree(None, "within"))

    def test_metadata_lines(self):
        self.assertTrue(gen.is_metadata_line("Patient: Doe, Jane"))
        self.assertTrue(gen.is_metadata_line("Date of birth: 01/02/1980"))
        self.assertFalse(gen.is_metadata_line("Specimen hemolyzed - repeat in 2 weeks"))
        self.assertFalse(gen.is_metadata_line("HDL: 42 mg/dL"))


class CatalogTest(unittest.TestCase):
    def test_canonical_keys_are_the_parsers(self):
        self.assertEqual(sorted(ANALYTES), sorted(CANONICAL_KEYS))

    def test_specs_are_consistent(self):
        """Critical values lie outside the range; no '<' value is paired with a range from 0
        (whether "<0.5" is within 0.0-0.9 depends on whether values can be negative)."""
        for analyte in ANALYTES.values():
            for spec in analyte.us + analyte.si:
                rng = gen.parse_range(spec.range)
                for interval in (spec.crit_low, spec.crit_high):
                    for bound in interval or ():
                        self.assertNotEqual(gen.status_for(Decimal(bound), None, rng), "within",
                                            (analyte.canonical, spec))
                for text in spec.qualified:
                    if text.startswith("<"):
                        self.assertNotEqual(rng.low, 0, (analyte.canonical, spec))


class GeneratorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="records-eval-")
        cls.out = os.path.join(cls.tmp, "set")
        cls.index = gen.write_set(cls.out)  # the defaults: seed 1, 200 reports
        cls.reports = scoring.load_reports(cls.out)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def read(self, directory, name):
        with open(os.path.join(directory, name), "rb") as f:
            return f.read()

    def test_size_and_layouts(self):
        self.assertGreaterEqual(len(self.reports), 200)
        self.assertGreaterEqual(len(self.index["layouts"]), 5)
        self.assertTrue(all(n >= 30 for n in self.index["layouts"].values()), self.index["layouts"])
        self.assertGreater(sum(len(r["rows"]) for r in self.reports), 2000)

    def test_deterministic_for_a_seed(self):
        again, other = os.path.join(self.tmp, "again"), os.path.join(self.tmp, "other")
        gen.write_set(again, seed=1, count=12)
        gen.write_set(other, seed=2, count=12)
        for entry in self.index["reports"][:12]:
            for name in (entry["file"], entry["truth"]):
                self.assertEqual(self.read(self.out, name), self.read(again, name), name)
        differ = [e["file"] for e in self.index["reports"][:12]
                  if self.read(self.out, e["file"]) != self.read(other, e["file"])]
        self.assertGreaterEqual(len(differ), 10)

    def test_truth_follows_the_semantics(self):
        for report in self.reports:
            for row in report["rows"]:
                where = f'{report["file"]}:{row["line"]}'
                rng = None
                if row["range_low"] is not None or row["range_high"] is not None:
                    rng = gen.Range(None if row["range_low"] is None else Decimal(str(row["range_low"])),
                                    None if row["range_high"] is None else Decimal(str(row["range_high"])),
                                    row["low_inclusive"], row["high_inclusive"])
                expected = gen.status_for(Decimal(str(row["value_number"])), row["qualifier"], rng)
                self.assertEqual(row["status"], expected, where)
                kind = row["lab_flag"]["kind"] if row["lab_flag"] else None
                if row["lab_flag"]:
                    self.assertEqual(gen.FLAG_KINDS[row["lab_flag"]["text"]], kind, where)
                self.assertEqual(row["flags_disagree"], gen.flags_disagree(kind, row["status"]), where)
                self.assertEqual(row["critical_expected"], kind in ("critical_high", "critical_low", "critical"))
                self.assertIn(row["canonical"], CANONICAL_KEYS)

    def test_every_line_is_accounted_for(self):
        """Rows and unread lines have digits; every other line is metadata or has no digit."""
        for report in self.reports:
            rows = {r["line"] for r in report["rows"]}
            unread = set(report["unread_lines"])
            self.assertFalse(rows & unread)
            for number, text in enumerate(report["lines"], 1):
                where = f'{report["file"]}:{number}: {text!r}'
                has_digit = bool(re.search(r"\d", text))
                if number in rows or number in unread:
                    self.assertTrue(has_digit and not gen.is_metadata_line(text), where)
                else:
                    self.assertTrue(not has_digit or gen.is_metadata_line(text), where)

    def test_values_and_comma_convention_read_back(self):
        for report in self.reports:
            self.assertEqual(report["decimal_comma"], report["layout"] == "eu_decimal_comma")
            self.assertEqual(gen.is_decimal_comma("\n".join(report["lines"])), report["decimal_comma"])
            for row in report["rows"]:
                text = report["lines"][row["line"] - 1]
                self.assertIn(row["value_text"], text)
                self.assertIn(row["analyte"], text)
                if row["unit"]:
                    self.assertIn(row["unit"], text)
                number = gen.parse_number(row["value_text"].lstrip("<>="), report["decimal_comma"])
                self.assertEqual(float(number), row["value_number"])

    def test_values_beyond_critical_limits_carry_critical_flags(self):
        """So critical_expected (the lab's flag) is also what a flag-or-limit rule computes."""
        for report in self.reports:
            for row in report["rows"]:
                beyond = gen.beyond_critical_limit(row["canonical"], row["unit"], row["value_number"],
                                                   row["qualifier"])
                if beyond:
                    self.assertTrue(row["critical_expected"], f'{report["file"]}:{row["line"]}')

    def test_the_set_has_the_hard_cases(self):
        rows = [r for report in self.reports for r in report["rows"]]
        flags = {r["lab_flag"]["text"] for r in rows if r["lab_flag"]}
        self.assertTrue({"H", "L", "HH", "LL", "A", "*", "CRIT", "High", "Low"} <= flags, flags)
        statuses = {r["status"] for r in rows}
        self.assertEqual(statuses, {"below", "within", "above", "no_range", "undetermined"})
        self.assertTrue({"<", ">"} <= {r["qualifier"] for r in rows})
        self.assertTrue(any(r["flags_disagree"] for r in rows))
        self.assertTrue(any(r["critical_expected"] for r in rows))
        self.assertTrue(any("," in r["value_text"] and r["value_number"] >= 1000 for r in rows))
        self.assertTrue(any("." in r["value_text"] and r["value_number"] >= 1000 for r in rows))
        self.assertTrue(any(r["unit"] is None for r in rows))
        self.assertTrue(any(r["analyte"][0].isdigit() for r in rows))
        ranges = " ".join(r["range_text"] or "" for r in rows)
        for form in ("up to", "≤", "≥", "<=", ">=", "–"):
            self.assertIn(form, ranges)
        with_unread = sum(1 for r in self.reports if r["unread_lines"]) / len(self.reports)
        self.assertTrue(0.2 < with_unread < 0.5, with_unread)
        # An at-the-bound HDL-style case: value equal to an exclusive low bound is below.
        edge = [r for r in rows if r["range_low"] is not None and not r["low_inclusive"]
                and r["qualifier"] is None and r["value_number"] == r["range_low"]]
        self.assertTrue(edge and all(r["status"] == "below" for r in edge))


# A hand-made report and the output of a parser that reads it perfectly.
HAND_LINES = ["Patient: Doe, Jane", "LIPIDS", "HDL Cholesterol: 42 mg/dL (Reference: > 40)",
              "Potassium: 6.8 HH mmol/L (Reference: 3.5-5.1)", "Result pending, call 555 0100", ""]
HAND_REPORT = {
    "file": "hand.txt", "layout": "us_colon", "decimal_comma": False, "unread_lines": [5], "lines": HAND_LINES,
    "rows": [
        {"line": 3, "analyte": "HDL Cholesterol", "canonical": "hdl", "value_text": "42", "value_number": 42.0,
         "qualifier": None, "unit": "mg/dL", "range_text": "> 40", "range_low": 40.0, "range_high": None,
         "low_inclusive": False, "high_inclusive": False, "lab_flag": None, "status": "within",
         "critical_expected": False, "flags_disagree": False, "case": "within"},
        {"line": 4, "analyte": "Potassium", "canonical": "potassium", "value_text": "6.8", "value_number": 6.8,
         "qualifier": None, "unit": "mmol/L", "range_text": "3.5-5.1", "range_low": 3.5, "range_high": 5.1,
         "low_inclusive": True, "high_inclusive": True, "lab_flag": {"text": "HH", "kind": "critical_high"},
         "status": "above", "critical_expected": True, "flags_disagree": False, "case": "critical"},
    ]}
HAND_OUTPUT = """\
{"file": "/tmp/x/hand.txt", "rows": [\
{"line": 3, "analyte": "HDL Cholesterol", "canonical": "hdl", "value": {"text": "42", "number": 42.0, "qualifier": null}, \
"unit": "mg/dL", "range": {"text": "> 40", "low": 40.0, "high": null, "low_inclusive": false, "high_inclusive": true}, \
"lab_flag": null, "status": "within", "critical": false, "flags_disagree": false}, \
{"line": 4, "analyte": "Potassium", "canonical": "potassium", "value": {"text": "6.8", "number": 6.800000000000001, \
"qualifier": null}, "unit": "mmol/L", "range": {"text": "3.5-5.1", "low": 3.5, "high": 5.1, "low_inclusive": true, \
"high_inclusive": true}, "lab_flag": {"text": "HH", "kind": "critical_high"}, "status": "above", "critical": true, \
"flags_disagree": false}], \
"unread": [{"line": 5, "text": "Result pending, call 555 0100", "reason": "no value"}], "decimal_comma": false}
"""


class ScorerTest(unittest.TestCase):
    def score(self, output):
        predictions = scoring.match_predictions([HAND_REPORT], scoring.parse_jsonl(output))
        return scoring.score([HAND_REPORT], predictions)

    def test_perfect_prediction_scores_100(self):
        scores = self.score(HAND_OUTPUT)  # inclusiveness of a missing bound and 1e-15 are ignored
        tally = scores.groups["all"]
        self.assertEqual(scores.rows_exact, 100.0)
        self.assertEqual((tally.matched_rows, tally.predicted_rows, tally.truth_rows), (2, 2, 2))
        self.assertEqual({name: tally.field_ok[name] for name in scoring.FIELDS},
                         {name: 2 for name in scoring.FIELDS})
        self.assertEqual((tally.matched_unread, tally.truth_unread, tally.predicted_unread), (1, 1, 1))
        self.assertEqual(scores.mismatches, [])
        self.assertEqual((tally.decimal_comma_ok, tally.decimal_comma_checked), (1, 1))

    def test_decimal_comma_is_scored_per_report_when_printed(self):
        scores = self.score(HAND_OUTPUT.replace('"decimal_comma": false', '"decimal_comma": true'))
        self.assertEqual(scores.rows_exact, 100.0)
        self.assertEqual([(m.field, m.expected, m.got) for m in scores.mismatches],
                         [("decimal_comma", "False", "True")])
        scores = self.score(HAND_OUTPUT.replace(', "decimal_comma": false', ''))
        self.assertEqual(scores.groups["all"].decimal_comma_checked, 0)
        self.assertIn("n/a", dict(scoring.metric_table(scores))["decimal_comma (reports)"])

    def test_wrong_unit_counts_under_unit(self):
        scores = self.score(HAND_OUTPUT.replace('"unit": "mmol/L"', '"unit": "mmol"'))
        tally = scores.groups["all"]
        self.assertEqual(tally.field_ok["unit"], 1)
        self.assertEqual(tally.field_ok["status"], 2)
        self.assertEqual(scores.rows_exact, 50.0)
        [mismatch] = scores.mismatches
        self.assertEqual((mismatch.line, mismatch.field, mismatch.expected, mismatch.got),
                         (4, "unit", "'mmol/L'", "'mmol'"))

    def test_range_inclusiveness_and_flag_kind_are_checked(self):
        output = HAND_OUTPUT.replace('"low_inclusive": false', '"low_inclusive": true')
        output = output.replace('"kind": "critical_high"', '"kind": "high"')
        scores = self.score(output)
        self.assertEqual(sorted(m.field for m in scores.mismatches), ["lab_flag", "range"])
        self.assertEqual(scores.rows_exact, 0.0)

    def test_missing_rows_and_wrong_unread(self):
        output = json.dumps({"file": "hand.txt", "rows": [], "unread": [{"line": 3, "text": "", "reason": "?"},
                                                                         {"line": 6, "text": "", "reason": "?"}]})
        scores = self.score(output)
        tally = scores.groups["all"]
        self.assertEqual((tally.matched_rows, tally.truth_rows), (0, 2))
        self.assertEqual((tally.matched_unread, tally.truth_unread, tally.predicted_unread), (0, 1, 2))
        fields = [(m.line, m.field, m.expected, m.got) for m in scores.mismatches]
        self.assertIn((3, "row", "row", "unread"), fields)
        self.assertIn((5, "unread", "unread", "ignored"), fields)
        self.assertIn((6, "unread", "ignored", "unread"), fields)

    def test_no_output_for_a_report(self):
        scores = self.score("")
        self.assertEqual(scores.rows_exact, 0.0)
        self.assertEqual(scores.groups["all"].missing_outputs, 1)
        self.assertIn("ROWS EXACT", scoring.render_text(scores))


FAKE_MURMUR = """#!{python}
import json, os, sys
sys.path.insert(0, {here!r})
import records_score
assert sys.argv[1:4] == ["record", "parse", "--json"], sys.argv
for path in sys.argv[4:]:
    with open(path[:-len(".txt")] + ".truth.json", encoding="utf-8") as f:
        report = json.load(f)
    with open(path, encoding="utf-8") as f:
        report["lines"] = f.read().split("\\n")
    report["path"] = path
    out = records_score.prediction_from_truth(report)
    if os.environ.get("FAKE_MURMUR_BREAK_UNITS"):
        for row in out["rows"][::3]:
            row["unit"] = "?"
    print(json.dumps(out))
"""


class ScorerCliTest(unittest.TestCase):
    """The CLI end to end, with a stand-in for the murmur binary."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="records-score-")
        cls.reports = os.path.join(cls.tmp, "set")
        gen.write_set(cls.reports, seed=3, count=10)
        cls.fake = os.path.join(cls.tmp, "murmur")
        with open(cls.fake, "w") as f:
            f.write(FAKE_MURMUR.format(python=sys.executable, here=HERE))
        os.chmod(cls.fake, os.stat(cls.fake).st_mode | stat.S_IXUSR)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def run_cli(self, *args, env=None):
        command = [sys.executable, os.path.join(HERE, "records_score.py"), "--reports", self.reports, *args]
        return subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})})

    def test_perfect_parser(self):
        markdown = os.path.join(self.tmp, "score.md")
        saved = os.path.join(self.tmp, "out.jsonl")
        proc = self.run_cli("--murmur", self.fake, "--min-exact", "99", "--markdown", markdown,
                            "--save-predictions", saved)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertRegex(proc.stdout, r"ROWS EXACT +100\.0%")
        with open(markdown, encoding="utf-8") as f:
            self.assertIn("| ROWS EXACT | 100.0% |", f.read())
        replay = self.run_cli("--predictions", saved)
        self.assertEqual(replay.returncode, 0, replay.stderr)
        self.assertEqual(replay.stdout, proc.stdout)

    def test_min_exact_fails_below_the_goal(self):
        env = {"FAKE_MURMUR_BREAK_UNITS": "1"}
        self.assertEqual(self.run_cli("--murmur", self.fake, env=env).returncode, 0)
        proc = self.run_cli("--murmur", self.fake, "--min-exact", "99", env=env)
        self.assertEqual(proc.returncode, 1)
        self.assertRegex(proc.stdout, r"report-\d+\.txt:\d+ unit \[\w+\]: expected")


if __name__ == "__main__":
    unittest.main()
