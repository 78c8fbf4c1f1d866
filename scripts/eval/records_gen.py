#!/usr/bin/env python3
"""Seeded synthetic lab reports with ground truth, for evaluating `murmur record parse`.

  python3 scripts/eval/records_gen.py --out DIR [--seed 1] [--count 200]

Writes DIR/report-NNN.txt (the report as a user would paste or save it),
DIR/report-NNN.truth.json (what the parser must read from it) and DIR/index.json. The same seed
always gives byte-identical files; report i depends only on (seed, i), not on --count.

Five layouts, assigned in turn (report i gets LAYOUTS[(i - 1) % 5]):
  us_columns        "Cholesterol, Total      241   H    mg/dL     100-199" (aligned, ragged or tabs)
  us_colon          "HDL: 42 mg/dL L (Reference: > 40)"
  eu_decimal_comma  "Potassium    5,8   mmol/L   [3,5 - 5,1]   H" (decimal commas, thousands dots)
  compact           "Sodium 139 mmol/L (133–146)", "ALT 25 U/L (up to 40)"
  pipe_tab          "Potassium | 6.8 | mmol/L | 3.5-5.1 | HH" (or tab separated)

The ground truth is computed here, independently of the parser, from the numbers the
generator chose (not by reading the text back); see README.md for the semantics.
"""
import argparse
import datetime
import json
import os
import random
import re
import sys
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from records_catalog import ANALYTES, CRITICAL_LIMITS, PANELS  # noqa: E402

# ----------------------------------------------------------------------------------------------
# Semantics: what a correct parser reports. Everything below the next section only uses these.
# ----------------------------------------------------------------------------------------------

METADATA_KEYS = ("Patient", "Name", "DOB", "Date of birth", "Date", "Collected", "Received",
                 "Reported", "MRN", "ID", "Page", "Specimen", "Ordered by", "Physician",
                 "Accession", "Sex", "Age", "Phone", "Address", "Lab")

FLAG_KINDS = {"H": "high", "High": "high", "L": "low", "Low": "low", "HH": "critical_high",
              "LL": "critical_low", "A": "abnormal", "*": "abnormal", "CRIT": "critical",
              "Critical": "critical"}
CRITICAL_KINDS = ("critical_high", "critical_low", "critical")

# A comma followed by 1 or 2 digits ("4,5", "13,25"), or a number starting "0," ("0,125").
_COMMA_DECIMAL = re.compile(r"\d,\d{1,2}(?!\d)|(?<![\d.,])0,\d")


def is_decimal_comma(text):
    """True if a report's text makes it a decimal-comma report (every comma is a decimal point)."""
    return bool(_COMMA_DECIMAL.search(text))


def is_metadata_line(line):
    """True if the line starts with a metadata key followed by ':' (ignored by the parser)."""
    return any(line.startswith(key + ":") for key in METADATA_KEYS)


def parse_number(text, decimal_comma):
    """Reads a printed number ("1,200", "4,5", "250.000") under the report's comma convention."""
    if decimal_comma:
        return Decimal(text.replace(".", "").replace(",", "."))
    return Decimal(text.replace(",", ""))


@dataclass(frozen=True)
class Range:
    """A reference range; a missing bound is None (its *_inclusive flag is then False)."""
    low: Decimal | None
    high: Decimal | None
    low_inclusive: bool
    high_inclusive: bool
    decimals: int = 0

    @property
    def kind(self):
        """"between", "lt" (< b), "le" (<= b), "gt" (> a) or "ge" (>= a)."""
        if self.low is not None and self.high is not None:
            return "between"
        if self.high is not None:
            return "le" if self.high_inclusive else "lt"
        return "ge" if self.low_inclusive else "gt"


def _decimals(number_text):
    return len(number_text.split(".")[1]) if "." in number_text else 0


def parse_range(text):
    """Parses the catalog's neutral notation: "3.5-5.1", "<200", "<=5.6", ">39", ">=60"."""
    match = re.fullmatch(r"(<=|>=|<|>)?(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?", text)
    if not match:
        raise ValueError(f"bad range {text!r}")
    op, first, second = match.groups()
    decimals = max(_decimals(first), _decimals(second or ""))
    if second is not None:
        return Range(Decimal(first), Decimal(second), True, True, decimals)
    bound = Decimal(first)
    if op in ("<", "<="):
        return Range(None, bound, False, op == "<=", decimals)
    if op in (">", ">="):
        return Range(bound, None, op == ">=", False, decimals)
    raise ValueError(f"range without comparison or upper bound: {text!r}")


_INF = Decimal("Infinity")


@dataclass(frozen=True)
class Interval:
    """A set of real numbers between lo and hi (either may be infinite)."""
    lo: Decimal
    lo_closed: bool
    hi: Decimal
    hi_closed: bool

    def meets(self, other):
        """True if the two intervals share at least one number."""
        lo, hi = max(self.lo, other.lo), min(self.hi, other.hi)
        lo_closed = all(i.lo_closed or i.lo != lo for i in (self, other))
        hi_closed = all(i.hi_closed or i.hi != hi for i in (self, other))
        return lo < hi or (lo == hi and lo_closed and hi_closed)


def _regions(rng):
    """The below / within / above parts of the number line for a range (None when empty)."""
    low = rng.low if rng.low is not None else -_INF
    high = rng.high if rng.high is not None else _INF
    below = Interval(-_INF, False, rng.low, not rng.low_inclusive) if rng.low is not None else None
    above = Interval(rng.high, not rng.high_inclusive, _INF, False) if rng.high is not None else None
    within = Interval(low, rng.low_inclusive, high, rng.high_inclusive)
    return {"below": below, "within": within, "above": above}


def _possible_values(number, qualifier):
    """All the values a printed result can stand for: "42" is {42}, "<0.5" is (-inf, 0.5)."""
    v = Decimal(str(number))
    return {None: Interval(v, True, v, True),
            "<": Interval(-_INF, False, v, False), "<=": Interval(-_INF, False, v, True),
            ">": Interval(v, False, _INF, False), ">=": Interval(v, True, _INF, False)}[qualifier]


def status_for(number, qualifier, rng):
    """"below" / "within" / "above" when certain, "undetermined" when a qualified value could be
    in more than one, "no_range" without a range."""
    if rng is None:
        return "no_range"
    values = _possible_values(number, qualifier)
    possible = [name for name, part in _regions(rng).items() if part is not None and part.meets(values)]
    return possible[0] if len(possible) == 1 else "undetermined"


def beyond_critical_limit(canonical, unit, number, qualifier):
    """"low" or "high" if the value is certainly beyond a critical limit (CRITICAL_LIMITS)."""
    limits = CRITICAL_LIMITS.get((canonical, unit))
    if limits is None:
        return None
    low, high = (Decimal(x) for x in limits)
    v = Decimal(str(number))
    if qualifier not in (">", ">=") and v < low:
        return "low"
    if qualifier not in ("<", "<=") and v > high:
        return "high"
    return None


def flags_disagree(kind, status):
    """A lab flag contradicting a certain status (a "critical" flag has no direction: never)."""
    if kind is None or status not in ("below", "within", "above"):
        return False
    if kind in ("high", "critical_high"):
        return status in ("below", "within")
    if kind in ("low", "critical_low"):
        return status in ("above", "within")
    if kind == "abnormal":
        return status == "within"
    return False


# ----------------------------------------------------------------------------------------------
# Numbers and values
# ----------------------------------------------------------------------------------------------

def format_number(value, decimals, decimal_comma=False, group=False):
    """Prints a number with fixed decimals; thousands grouped (≥ 1000) when group is set."""
    text = f"{value:,.{decimals}f}" if group and abs(value) >= 1000 else f"{value:.{decimals}f}"
    return text.translate(str.maketrans(",.", ".,")) if decimal_comma else text


def _uniform(rng, lo, hi):
    return Decimal(lo) + (Decimal(hi) - Decimal(lo)) * Decimal(rng.randrange(1_000_000)) / 1_000_000


def _snap(value, step, decimals):
    """Rounds to a multiple of step, printed with the given decimals."""
    snapped = (value / step).to_integral_value(rounding=ROUND_HALF_EVEN) * step
    return snapped.quantize(Decimal(1).scaleb(-decimals))


def within_value(rng, r, step, decimals):
    """A value inside the range (for one-sided ranges and ranges from 0, not implausibly low)."""
    lo = r.low if r.low else r.high * Decimal("0.5" if r.low is None else "0.2")
    hi = r.high if r.high is not None else r.low * Decimal("2.2")
    if r.low is not None and not r.low_inclusive:
        lo += step
    if r.high is not None and not r.high_inclusive:
        hi -= step
    value = _snap(_uniform(rng, lo, hi), step, decimals)
    if status_for(value, None, r) != "within":
        value = _snap((lo + hi) / 2, step, decimals)
    return value


def edge_value(rng, r, step, decimals):
    """Exactly at a bound, or one printed step inside or outside it."""
    bounds = [(b, d) for b, d in ((r.low, 1), (r.high, -1)) if b is not None]
    bound, inward = rng.choice(bounds)
    value = bound + rng.choice((0, inward, -inward)) * step
    return _snap(value if value >= 0 else bound, step, decimals)


def far_value(rng, spec, r, step, decimals):
    """Clearly outside the range: well above the high bound or well below a positive low one."""
    directions = (["above"] if r.high is not None else []) + (["below"] if r.low else [])
    if rng.choice(directions) == "below":
        value = r.low * _uniform(rng, "0.3", "0.85")
    elif spec.far_high:
        value = _uniform(rng, *spec.far_high)
    else:
        span = r.high - r.low if r.low is not None else r.high
        value = r.high + span * _uniform(rng, "0.25", "1.5")
    return max(_snap(value, step, decimals), step)


def parse_qualified(text):
    """"<0.5" -> ("<", Decimal("0.5"), 1)."""
    match = re.fullmatch(r"(<=|>=|<|>)(\d+(?:\.\d+)?)", text)
    return match.group(1), Decimal(match.group(2)), _decimals(match.group(2))


# ----------------------------------------------------------------------------------------------
# Rows: an analyte's value, range and lab flag, and the truth for it
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Style:
    """Per-report printing conventions."""
    family: str            # "us" or "si" (which specs of the catalog)
    decimal_comma: bool
    group_thousands: bool
    word_flags: bool       # "High"/"Low"/"Critical" instead of "H"/"L"/"CRIT"
    upper_names: bool = False


@dataclass
class Row:
    """One result line: what is printed and what it means."""
    canonical: str
    name: str
    unit: str | None
    range: Range | None
    number: Decimal
    qualifier: str | None
    decimals: int
    flag: str | None
    case: str              # how the value was chosen (within, edge, far, ...), for debugging
    value_text: str = ""
    range_text: str = ""

    @property
    def status(self):
        return status_for(self.number, self.qualifier, self.range)

    @property
    def flag_kind(self):
        return FLAG_KINDS[self.flag] if self.flag else None

    def truth(self, line):
        """The row as it appears in report-NNN.truth.json."""
        r = self.range
        return {
            "line": line, "analyte": self.name, "canonical": self.canonical,
            "value_text": self.value_text, "value_number": float(self.number),
            "qualifier": self.qualifier, "unit": self.unit,
            "range_text": self.range_text if r else None,
            "range_low": float(r.low) if r and r.low is not None else None,
            "range_high": float(r.high) if r and r.high is not None else None,
            "low_inclusive": bool(r and r.low_inclusive), "high_inclusive": bool(r and r.high_inclusive),
            "lab_flag": {"text": self.flag, "kind": self.flag_kind} if self.flag else None,
            "status": self.status,
            "critical_expected": self.flag_kind in CRITICAL_KINDS,
            "flags_disagree": flags_disagree(self.flag_kind, self.status),
            "case": self.case,
        }


CASE_WEIGHTS = {"within": 46, "edge": 18, "far": 14, "no_range": 7, "disagree": 5}


def choose_case(rng, spec, r):
    """How to pick this row's value; qualified and critical values only where the spec has them."""
    if spec.qualified and rng.random() < 0.4:
        return "qualified"
    if (spec.crit_low or spec.crit_high) and rng.random() < 0.15:
        return "critical"
    case = rng.choices(list(CASE_WEIGHTS), weights=list(CASE_WEIGHTS.values()))[0]
    if case == "far" and r.high is None and not r.low:
        return "within"
    return case


def flag_for(rng, kind, style):
    """The printed flag for a kind of finding, in the report's style."""
    words = style.word_flags
    return {"high": "High" if words else "H", "low": "Low" if words else "L",
            "critical_high": "HH", "critical_low": "LL",
            "critical": "Critical" if words else "CRIT",
            "abnormal": rng.choice(("A", "*"))}[kind]


def natural_flag(rng, status, style):
    """What a lab prints for an out-of-range value: usually H/L, sometimes A or *, rarely nothing."""
    if status not in ("above", "below"):
        return None
    roll = rng.random()
    if roll < 0.05:
        return None
    if roll < 0.13:
        return flag_for(rng, "abnormal", style)
    return flag_for(rng, "high" if status == "above" else "low", style)


def critical_value(rng, spec, step, decimals):
    """A critical value, and the flag direction."""
    sides = [(s, iv) for s, iv in (("low", spec.crit_low), ("high", spec.crit_high)) if iv]
    side, interval = rng.choice(sides)
    return _snap(_uniform(rng, *interval), step, decimals), side


def critical_flag(rng, side, style):
    """Mostly HH/LL, sometimes CRIT, and sometimes a plain H/L (then not critical, unless the
    value is beyond a critical limit: see make_row)."""
    roll = rng.random()
    if roll < 0.7:
        return flag_for(rng, "critical_" + side, style)
    if roll < 0.9:
        return flag_for(rng, "critical", style)
    return flag_for(rng, side, style)


def disagreeing_value(rng, r, step, decimals, style):
    """A value within the range with a flag saying otherwise (often: exactly at an inclusive
    bound, flagged as if the bound were exclusive)."""
    bounds = [(b, k) for b, inc, k in ((r.low, r.low_inclusive, "low"), (r.high, r.high_inclusive, "high"))
              if b is not None and inc]
    if bounds and rng.random() < 0.5:
        bound, kind = rng.choice(bounds)
        return _snap(bound, step, decimals), flag_for(rng, kind, style)
    kind = rng.choice(("high", "low", "abnormal"))
    return within_value(rng, r, step, decimals), flag_for(rng, kind, style)


def make_row(rng, analyte, spec, name, style):
    """Chooses a value and flag for one analyte, following the row's case."""
    r = parse_range(spec.range)
    decimals = spec.decimals if spec.decimals is not None else r.decimals
    step = Decimal(spec.step) if spec.step else Decimal(1).scaleb(-decimals)
    case = choose_case(rng, spec, r)
    qualifier, printed_range, flag = None, r, None
    if case == "qualified":
        qualifier, number, decimals = parse_qualified(rng.choice(spec.qualified))
        if qualifier.startswith("<") and r.low == 0:
            raise ValueError(f"{analyte.canonical}: '<' value with a range from 0 is ambiguous")
        flag = natural_flag(rng, status_for(number, qualifier, r), style)
    elif case == "critical":
        number, side = critical_value(rng, spec, step, decimals)
        assert status_for(number, None, r) != "within", (analyte.canonical, number)
        flag = critical_flag(rng, side, style)
    elif case == "edge":
        number = edge_value(rng, r, step, decimals)
        flag = natural_flag(rng, status_for(number, None, r), style)
    elif case == "far":
        number = far_value(rng, spec, r, step, decimals)
        flag = natural_flag(rng, status_for(number, None, r), style)
    elif case == "disagree":
        number, flag = disagreeing_value(rng, r, step, decimals, style)
    else:  # within, or no_range: the range exists but is not printed (the flag may still be)
        far = case == "no_range" and rng.random() < 0.3 and (r.high is not None or r.low)
        number = far_value(rng, spec, r, step, decimals) if far else within_value(rng, r, step, decimals)
        flag = natural_flag(rng, status_for(number, None, r), style)
        printed_range = None if case == "no_range" else r
    beyond = beyond_critical_limit(analyte.canonical, spec.unit, number, qualifier)
    if beyond and FLAG_KINDS.get(flag) not in CRITICAL_KINDS:
        flag = flag_for(rng, "critical_" + beyond, style)  # labs call these in, flagged HH/LL
    if style.upper_names:
        name = name.upper()
    return Row(analyte.canonical, name, spec.unit, printed_range, number, qualifier, decimals, flag, case)


# ----------------------------------------------------------------------------------------------
# Layouts: how a report prints its rows
# ----------------------------------------------------------------------------------------------

@dataclass
class Cells:
    """A row's printed parts ("" when absent)."""
    name: str
    value: str
    unit: str
    range: str
    flag: str


class Layout:
    """A report layout. One instance per report: its options are drawn from the report's rng."""
    key = ""
    european = False
    name_led_notes = True       # "Hemoglobin    see comment 2" reads as unread in this layout
    between = ("-",)
    lt, le, gt, ge = ("<{b}",), ("<={b}",), (">{a}",), (">={a}",)

    def __init__(self, rng):
        self.rng = rng
        self.style = self.make_style(rng)
        self.forms = {"between": "{a}" + rng.choice(self.between) + "{b}", "lt": rng.choice(self.lt),
                      "le": rng.choice(self.le), "gt": rng.choice(self.gt), "ge": rng.choice(self.ge)}

    def make_style(self, rng):
        return Style("us", False, rng.random() < 0.6, False)

    def number(self, value, decimals):
        return format_number(value, decimals, self.style.decimal_comma, self.style.group_thousands)

    def range_text(self, r):
        """A range in this report's notation (without brackets or labels)."""
        a = self.number(r.low, r.decimals) if r.low is not None else ""
        b = self.number(r.high, r.decimals) if r.high is not None else ""
        return self.forms[r.kind].format(a=a, b=b)

    def cells(self, row):
        row.value_text = (row.qualifier or "") + self.number(row.number, row.decimals)
        row.range_text = self.range_text(row.range) if row.range else ""
        return Cells(row.name, row.value_text, row.unit or "", row.range_text, row.flag or "")

    def names(self, analyte):
        """Printed names that suit this layout."""
        return analyte.names_for(self.european)

    def prepare(self, cells, note_names):
        """Sees every row (and name-led note) before printing: for column widths."""

    def header(self):
        """Column header lines printed under each panel heading (no digits)."""
        return []

    def row(self, cells):
        raise NotImplementedError

    def note(self, name, rest):
        """A name-led unread line, e.g. "Hemoglobin    see comment 2"."""
        raise NotImplementedError


class ColumnsMixin:
    """Cells padded into columns (at least two spaces apart), ragged, or tab separated."""
    mode = "aligned"
    gap = 2
    widths = ()

    def prepare_columns(self, rows, header):
        table = [header] + rows
        self.widths = [max(len(r[i]) for r in table if i < len(r)) for i in range(len(header))]

    def columns(self, cells):
        if self.mode == "tabs":
            return "\t".join(cells).rstrip("\t")
        if self.mode == "ragged":
            present = [c for c in cells if c]
            return "".join(c + " " * self.rng.randint(2, 6) for c in present[:-1]) + present[-1]
        padded = [c.ljust(w + self.gap) for c, w in zip(cells[:-1], self.widths)]
        return ("".join(padded) + cells[-1]).rstrip()


class UsColumns(ColumnsMixin, Layout):
    """LabCorp-like: Test / Result / Flag / Units / Reference Interval."""
    key = "us_columns"
    lt, gt = ("<{b}", "< {b}"), (">{a}", "> {a}")
    HEADER = ["Test", "Result", "Flag", "Units", "Reference Interval"]

    def __init__(self, rng):
        super().__init__(rng)
        self.mode = rng.choice(("aligned", "aligned", "ragged", "tabs"))
        self.gap = rng.randint(2, 6)

    def make_style(self, rng):
        return Style("us", False, rng.random() < 0.7, rng.random() < 0.35, rng.random() < 0.2)

    def names(self, analyte):
        return analyte.names

    def prepare(self, cells, note_names):
        self.prepare_columns([[c.name, c.value, c.flag, c.unit, c.range] for c in cells]
                             + [[n] for n in note_names], self.HEADER)

    def header(self):
        return [self.columns(self.HEADER)]

    def row(self, c):
        return self.columns([c.name, c.value, c.flag, c.unit, c.range])

    def note(self, name, rest):
        return self.columns([name, rest])


class UsColon(Layout):
    """"HDL: 42 mg/dL L (Reference: > 40)"; the flag after the value or after the unit."""
    key = "us_colon"
    between = ("-", " - ")
    lt, le, gt, ge = ("< {b}", "<{b}"), ("<= {b}", "≤ {b}"), ("> {a}", ">{a}"), (">= {a}", "≥ {a}")

    def __init__(self, rng):
        super().__init__(rng)
        self.label = rng.choice(("Reference", "Ref", "Normal range", "Reference range"))
        self.flag_after = rng.choice(("value", "unit"))
        self.colon = rng.choice((": ", ": ", ":  "))

    def make_style(self, rng):
        return Style("us", False, rng.random() < 0.6, rng.random() < 0.25)

    def row(self, c):
        parts = [f"{c.name}{self.colon}{c.value}"]
        if c.flag and self.flag_after == "value":
            parts.append(c.flag)
        if c.unit:
            parts.append(c.unit)
        if c.flag and self.flag_after == "unit":
            parts.append(c.flag)
        if c.range:
            parts.append(f"({self.label}: {c.range})")
        return " ".join(parts)

    def note(self, name, rest):
        return f"{name}{self.colon}{rest}"


class EuDecimalComma(ColumnsMixin, Layout):
    """European: decimal commas, "[3,5 - 5,1]" ranges, SI units, the flag after the range."""
    key = "eu_decimal_comma"
    european = True
    between = (" - ", "-", " – ")
    lt, le, gt, ge = ("< {b}",), ("≤ {b}", "<= {b}"), ("> {a}",), ("≥ {a}", ">= {a}")

    def __init__(self, rng):
        super().__init__(rng)
        self.gap = rng.randint(2, 6)
        self.titles = rng.choice((["Test", "Result", "Unit", "Reference range", "Flag"],
                                  ["Analysis", "Value", "Unit", "Reference", "Flag"]))

    def make_style(self, rng):
        return Style("si", True, rng.random() < 0.6, False)

    def _cells(self, c):
        return [c.name, c.value, c.unit, f"[{c.range}]" if c.range else "", c.flag]

    def prepare(self, cells, note_names):
        self.prepare_columns([self._cells(c) for c in cells] + [[n] for n in note_names], self.titles)

    def header(self):
        return [self.columns(self.titles)]

    def row(self, c):
        return self.columns(self._cells(c))

    def note(self, name, rest):
        return self.columns([name, rest])


class Compact(Layout):
    """"Sodium 139 mmol/L (133–146)": single spaces, so no name may start with a digit."""
    key = "compact"
    name_led_notes = False
    between = ("-", "–", " – ", " - ")
    lt, le, gt, ge = ("< {b}", "<{b}"), ("up to {b}", "≤ {b}", "<= {b}"), ("> {a}",), ("≥ {a}", ">= {a}")

    def __init__(self, rng):
        super().__init__(rng)
        self.flag_after = rng.choice(("value", "unit"))

    def make_style(self, rng):
        return Style(rng.choice(("us", "si")), False, rng.random() < 0.5, False)

    def names(self, analyte):
        return tuple(n for n in analyte.names if not n[0].isdigit())

    def row(self, c):
        parts = [c.name, c.value]
        if c.flag and self.flag_after == "value":
            parts.append(c.flag)
        if c.unit:
            parts.append(c.unit)
        if c.flag and self.flag_after == "unit":
            parts.append(c.flag)
        if c.range:
            parts.append(f"({c.range})")
        return " ".join(parts)


class PipeTab(Layout):
    """"Potassium | 6.8 | mmol/L | 3.5-5.1 | HH", or the same cells separated by tabs."""
    key = "pipe_tab"
    between = ("-", " - ")
    lt, le, gt, ge = ("<{b}", "< {b}"), ("<={b}", "≤ {b}"), (">{a}", "> {a}"), (">={a}", "≥ {a}")
    TITLES = ["Test", "Result", "Units", "Reference", "Flag"]

    def __init__(self, rng):
        super().__init__(rng)
        self.mode = rng.choice(("spaced", "tight", "framed", "tabs"))

    def make_style(self, rng):
        return Style(rng.choice(("us", "si")), False, rng.random() < 0.5, False)

    def join(self, cells):
        if self.mode == "tabs":
            return "\t".join(cells).rstrip("\t")
        if self.mode == "framed":
            return "| " + " | ".join(cells) + " |"
        return (" | " if self.mode == "spaced" else "|").join(cells).rstrip()

    def header(self):
        lines = [self.join(self.TITLES)]
        if self.mode == "framed":
            lines.append("|" + "|".join("-" * (len(t) + 2) for t in self.TITLES) + "|")
        return lines

    def row(self, c):
        return self.join([c.name, c.value, c.unit, c.range, c.flag])

    def note(self, name, rest):
        return self.join([name, rest])


LAYOUTS = (UsColumns, UsColon, EuDecimalComma, Compact, PipeTab)

# ----------------------------------------------------------------------------------------------
# The other lines of a report: titles, metadata, comments, and lines the parser cannot read
# ----------------------------------------------------------------------------------------------

TITLES_US = ("NORTHFIELD CLINICAL LABORATORY", "Riverside Medical Laboratory", "Laboratory Report",
             "LAB REPORT - FINAL", "Summit Diagnostics")
TITLES_EU = ("Labor am Stadtpark", "Central Laboratory Services", "Laboratory findings",
             "Medical laboratory report")
COMMENTS = ("Fasting specimen.", "Results reviewed and verified.",
            "Interpretation: values outside the reference interval are flagged.",
            "Please note the new reference intervals for vitamin D.",
            "Non-fasting sample; interpret triglycerides with caution.",
            "Specimen received in good condition.")
LEGENDS = ("Flags: H = high, L = low, HH/LL = critical", "A or * = abnormal; CRIT = critical value",
           "Results outside the reference range are flagged.")
FOOTERS = ("End of report", "*** End of Report ***", "Final report",
           "Electronically signed by the laboratory director")
FIRST = ("Jane", "John", "Maria", "Ahmed", "Li", "Sofia", "David", "Emma", "Lukas", "Anna", "Carlos", "Priya")
LAST = ("Doe", "Smith", "Garcia", "Nguyen", "Müller", "Rossi", "Kowalski", "Johansson", "Patel",
        "Okafor", "Dubois", "Schmidt")
# Unread lines: contain digits, are not results, and never start with "<metadata key>:".
NAME_NOTES = ("see comment {n}", "pending (sent out, {n}-{m} days)",
              "not performed - specimen received {m} days after collection")
FREE_NOTES = ("Result pending, call 555 {phone}", "Specimen hemolyzed - repeat in {m} weeks",
              "Called to Dr. {last} at {hh}:{mm}, read back verified",
              "QNS - please recollect within {m} days", "Comment {n}: sample received at room temperature",
              "Reference intervals changed on {date}, see the laboratory handbook",
              "{n} tubes received, {m} processed", "Repeat testing advised in {n} to {m} weeks")


def _date(rng, layout, first_year, last_year):
    day = datetime.date(first_year, 1, 1) + datetime.timedelta(
        days=rng.randrange((datetime.date(last_year, 12, 31) - datetime.date(first_year, 1, 1)).days))
    if layout.european:
        return day.strftime("%d.%m.%Y")
    return day.strftime("%m/%d/%Y") if layout.style.family == "us" else day.isoformat()


def _time(rng):
    return f"{rng.randint(6, 18):02d}:{rng.randrange(60):02d}"


def metadata_lines(rng, layout):
    """2-5 "Key: value" lines: who, when, where. Returns (top lines, bottom lines)."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    day = _date(rng, layout, 2023, 2025)  # collected, received and reported the same day
    who = rng.choice((("Patient", f"{last}, {first}"), ("Patient", f"{first} {last}"),
                      ("Name", f"{first} {last}")))
    others = [("DOB", _date(rng, layout, 1940, 2005)), ("Date of birth", _date(rng, layout, 1940, 2005)),
              ("Sex", rng.choice("FM")), ("Age", str(rng.randint(18, 90))),
              ("MRN", str(rng.randrange(1_000_000, 9_999_999))), ("ID", f"P{rng.randrange(10**5, 10**6)}"),
              ("Collected", f"{day} {_time(rng)}"), ("Received", f"{day} {_time(rng)}"), ("Date", day),
              ("Accession", f"A{rng.randrange(10**7, 10**8)}"), ("Ordered by", f"Dr. {rng.choice(LAST)}"),
              ("Physician", f"Dr. {rng.choice(FIRST)} {rng.choice(LAST)}"),
              ("Specimen", rng.choice(("Serum", "Whole blood", "Plasma"))),
              ("Lab", rng.choice(TITLES_EU if layout.european else TITLES_US)),
              ("Phone", f"555 {rng.randrange(1000, 9999)}"),
              ("Address", f"{rng.randint(1, 99)} Elm Street, Springfield")]
    total = rng.randint(2, 5)
    bottom = rng.choice(([], [], [("Reported", f"{day} {_time(rng)}")], [("Page", "1 of 1")]))
    chosen = [who] + rng.sample(others, total - 1 - len(bottom))
    lines = [f"{key}: {value}" for key, value in chosen + bottom]
    cut = len(chosen)
    return lines[:cut], lines[cut:]


def note_text(rng, layout, template):
    """Fills a note template with numbers (and a name, a date) for this report."""
    n = rng.randint(1, 5)
    return template.format(n=n, m=n + rng.randint(1, 4), phone=f"{rng.randrange(0, 10000):04d}",
                           last=rng.choice(LAST), hh=f"{rng.randint(6, 22):02d}",
                           mm=f"{rng.randrange(60):02d}", date=_date(rng, layout, 2022, 2024))


@dataclass
class Note:
    """An unread line to insert: after `position` rows of panel `panel`."""
    panel: int
    position: int
    name: str | None
    rest: str


def choose_notes(rng, layout, panels, used):
    """In about a third of reports, one or two lines with digits that are not results."""
    if rng.random() >= 1 / 3:
        return []
    notes = []
    for _ in range(rng.randint(1, 2)):
        panel = rng.randrange(len(panels))
        position = rng.randint(0, len(panels[panel][1]))
        if layout.name_led_notes and rng.random() < 0.5:
            spare = [c for c in ANALYTES if c not in used]
            analyte = ANALYTES[rng.choice(spare)]
            name = rng.choice(layout.names(analyte))
            name = name.upper() if layout.style.upper_names else name
            notes.append(Note(panel, position, name, note_text(rng, layout, rng.choice(NAME_NOTES))))
        else:
            notes.append(Note(panel, position, None, note_text(rng, layout, rng.choice(FREE_NOTES))))
    return notes


def choose_panels(rng, layout):
    """2-4 panels in catalog order; long panels are cut to a random subset (kept in order)."""
    keys = list(PANELS)
    chosen = sorted(rng.sample(keys, rng.randint(2, 4)), key=keys.index)
    used, panels = set(), []
    for key in chosen:
        us_heads, eu_heads, canonicals = PANELS[key]
        canonicals = [c for c in canonicals if c not in used]
        if len(canonicals) > 6:
            keep = set(rng.sample(canonicals, rng.randint(6, len(canonicals))))
            canonicals = [c for c in canonicals if c in keep]
        if not canonicals:
            continue
        used.update(canonicals)
        heading = rng.choice(eu_heads if layout.european else us_heads)
        panels.append((heading, canonicals))
    return panels, used


# ----------------------------------------------------------------------------------------------
# Reports
# ----------------------------------------------------------------------------------------------

@dataclass
class Report:
    """A generated report: its lines (with what each one is) and its layout."""
    layout: Layout
    lines: list            # [(text, kind, Row or None)]; kind: row, unread, metadata, text, blank

    @property
    def text(self):
        return "".join(text + "\n" for text, _, _ in self.lines)

    def truth(self, file_name):
        rows = [row.truth(i) for i, (_, kind, row) in enumerate(self.lines, 1) if kind == "row"]
        unread = [i for i, (_, kind, _) in enumerate(self.lines, 1) if kind == "unread"]
        return {"file": file_name, "layout": self.layout.key, "family": self.layout.style.family,
                "decimal_comma": self.layout.style.decimal_comma, "rows": rows, "unread_lines": unread}

    def problems(self):
        """Why this report would not be a fair test (empty when it is)."""
        style = self.layout.style
        row_text = "\n".join(text for text, kind, _ in self.lines if kind == "row")
        found = []
        if {is_decimal_comma(self.text), is_decimal_comma(row_text)} != {style.decimal_comma}:
            found.append("decimal-comma convention not as intended")
        for number, (text, kind, row) in enumerate(self.lines, 1):
            has_digit = any(ch.isdigit() for ch in text)
            if kind in ("row", "unread") and (not has_digit or is_metadata_line(text)):
                found.append(f"line {number} would be ignored: {text!r}")
            if kind in ("text", "blank") and has_digit:
                found.append(f"line {number} has a digit: {text!r}")
            if kind == "metadata" and not is_metadata_line(text):
                found.append(f"line {number} is not metadata: {text!r}")
            if kind == "row":
                printed = row.value_text.lstrip("<>=")
                if row.value_text not in text or parse_number(printed, style.decimal_comma) != row.number:
                    found.append(f"line {number}: {row.value_text!r} does not read as {row.number}")
        return found


def compose(rng, layout):
    """Draws one report: title, metadata, panels of rows (with unread notes), comments, footer."""
    panels, used = choose_panels(rng, layout)
    rows = []
    for _, canonicals in panels:
        panel_rows = []
        for canonical in canonicals:
            analyte = ANALYTES[canonical]
            spec = rng.choice(analyte.us if layout.style.family == "us" else analyte.si)
            panel_rows.append(make_row(rng, analyte, spec, rng.choice(layout.names(analyte)), layout.style))
        rows.append(panel_rows)
    cells = [[layout.cells(row) for row in panel_rows] for panel_rows in rows]
    notes = choose_notes(rng, layout, panels, used)
    layout.prepare([c for panel in cells for c in panel], [n.name for n in notes if n.name])

    top, bottom = metadata_lines(rng, layout)
    lines = [(rng.choice(TITLES_EU if layout.european else TITLES_US), "text", None)]
    lines += [(m, "metadata", None) for m in top] + [("", "blank", None)]
    if rng.random() < 0.3:
        lines.append((rng.choice(LEGENDS), "text", None))
    for index, (heading, _) in enumerate(panels):
        lines.append((heading, "text", None))
        lines += [(h, "text", None) for h in layout.header()]
        for position in range(len(rows[index]) + 1):
            for note in (n for n in notes if (n.panel, n.position) == (index, position)):
                text = layout.note(note.name, note.rest) if note.name else note.rest
                lines.append((text, "unread", None))
            if position < len(rows[index]):
                lines.append((layout.row(cells[index][position]), "row", rows[index][position]))
        if rng.random() < 0.25:
            lines.append((rng.choice(COMMENTS), "text", None))
        lines.append(("", "blank", None))
    lines.append((rng.choice(FOOTERS), "text", None))
    lines += [(m, "metadata", None) for m in bottom]
    return Report(layout, lines)


def build_report(seed, index):
    """Report `index` of the set for `seed` (independent of how many reports are generated)."""
    rng = random.Random(f"murmur-records-{seed}-{index}")
    layout_class = LAYOUTS[(index - 1) % len(LAYOUTS)]
    for _ in range(100):
        report = compose(rng, layout_class(rng))
        problems = report.problems()
        if not problems:
            return report
        if problems != ["decimal-comma convention not as intended"]:
            raise AssertionError(f"report {index}: " + "; ".join(problems))
    raise RuntimeError(f"report {index}: no consistent report in 100 draws")


def write_set(out, seed=1, count=200):
    """Writes the reports, their truth files and index.json into `out`; returns the index."""
    os.makedirs(out, exist_ok=True)
    for stale in os.listdir(out):
        if re.fullmatch(r"report-\d+\.(txt|truth\.json)", stale) or stale == "index.json":
            os.remove(os.path.join(out, stale))
    width = max(3, len(str(count)))
    entries, layouts = [], {}
    for index in range(1, count + 1):
        report = build_report(seed, index)
        base = f"report-{index:0{width}d}"
        truth = report.truth(base + ".txt")
        with open(os.path.join(out, base + ".txt"), "w", encoding="utf-8", newline="\n") as f:
            f.write(report.text)
        with open(os.path.join(out, base + ".truth.json"), "w", encoding="utf-8", newline="\n") as f:
            json.dump(truth, f, indent=1, ensure_ascii=False)
            f.write("\n")
        layouts[truth["layout"]] = layouts.get(truth["layout"], 0) + 1
        entries.append({"file": base + ".txt", "truth": base + ".truth.json", "layout": truth["layout"],
                        "rows": len(truth["rows"]), "unread": len(truth["unread_lines"])})
    index = {"generator": "scripts/eval/records_gen.py", "seed": seed, "count": count,
             "layouts": layouts, "reports": entries}
    with open(os.path.join(out, "index.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(index, f, indent=1, ensure_ascii=False)
        f.write("\n")
    return index


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="directory to write the reports into")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args(argv)
    index = write_set(args.out, args.seed, args.count)
    rows = sum(e["rows"] for e in index["reports"])
    unread = sum(e["unread"] for e in index["reports"])
    layouts = ", ".join(f"{k} {v}" for k, v in index["layouts"].items())
    print(f"records_gen: {args.count} reports, {rows} result rows, {unread} unread lines "
          f"(seed {args.seed}) in {args.out}; layouts: {layouts}")


if __name__ == "__main__":
    main()
