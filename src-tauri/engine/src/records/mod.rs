//! Reading a health record by code, so that numbers and statuses never depend on the model.
//!
//! - [`parse()`]: lab reports pasted as text → rows (analyte, value, unit, reference range,
//!   the lab's flag, the status computed from value and range) and the lines it could not read.
//! - [`analytes`]: canonical names for the most common tests.
//! - [`critical`]: red flags (the lab's critical flags and a small table of critical limits),
//!   with a fixed message shown before any answer.
//! - [`view`]: what the model reads: the parsed table in words ahead of the original text, or,
//!   for a record too long for the context, the table and the lines around flagged values.
//! - [`check`]: the answer check (numbers, statuses, dose- and diagnosis-like phrases).

pub mod analytes;
pub mod check;
pub mod critical;
mod line;
mod number;
pub mod view;

use serde::{Deserialize, Serialize};

pub use check::{check_answer, AnswerCheck, CheckIssue, IssueKind, RowMention};
pub use critical::{red_flags, RedFlags};

/// What the app shows of an attached record: the parsed results, the red flags, and whether
/// the model reads only part of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RecordInfo {
    pub parsed: ParsedRecord,
    pub red_flags: Option<RedFlags>,
    /// Too long for the context: the model reads the results and the lines around the
    /// flagged ones only.
    pub reduced: bool,
}

impl RecordInfo {
    pub fn of(text: &str, reduced: bool) -> Self {
        let parsed = parse(text);
        let red_flags = red_flags(&parsed);
        Self { parsed, red_flags, reduced }
    }
}

/// A lab report as read by [`parse()`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ParsedRecord {
    /// The results, in the order printed.
    pub rows: Vec<LabRow>,
    /// Lines with numbers that are not readable results: reported, never guessed.
    pub unread: Vec<UnreadLine>,
    /// Whether the report writes decimals with a comma ("4,5").
    pub decimal_comma: bool,
}

impl ParsedRecord {
    /// Rows whose value is outside their range (below or above).
    pub fn out_of_range(&self) -> impl Iterator<Item = &LabRow> {
        self.rows.iter().filter(|r| matches!(r.status, Status::Below | Status::Above))
    }
}

/// One result line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LabRow {
    /// 1-based line number in the record.
    pub line: u32,
    /// The test's name as printed.
    pub analyte: String,
    /// The canonical key of a common test (see [`analytes`]), if known.
    pub canonical: Option<String>,
    pub value: Value,
    /// The unit as printed.
    pub unit: Option<String>,
    pub range: Option<RefRange>,
    /// The lab's own flag, as printed.
    pub lab_flag: Option<LabFlag>,
    /// Computed from the value and the range (not from the lab's flag).
    pub status: Status,
    /// In a critical band: the lab's critical flag, or a limit of [`critical`].
    pub critical: bool,
    /// The lab's flag says otherwise than the computed status: both are shown.
    pub flags_disagree: bool,
}

impl LabRow {
    /// The name to show: the test's common name when known, else the name as printed.
    pub fn display_name(&self) -> &str {
        self.canonical.as_deref().and_then(analytes::display_name).unwrap_or(&self.analyte)
    }

    /// "160 mg/dL"
    pub fn value_with_unit(&self) -> String {
        match &self.unit {
            Some(u) => format!("{} {u}", self.value.text),
            None => self.value.text.clone(),
        }
    }
}

/// A result's value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Value {
    /// As printed ("<0.5", "250,000").
    pub text: String,
    pub number: f64,
    /// "<0.5": the value is below 0.5, not 0.5.
    pub qualifier: Option<Qualifier>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum Qualifier {
    #[serde(rename = "<")]
    Less,
    #[serde(rename = "<=")]
    LessOrEqual,
    #[serde(rename = ">")]
    Greater,
    #[serde(rename = ">=")]
    GreaterOrEqual,
}

/// A reference range as printed, with its bounds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RefRange {
    pub text: String,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub low_inclusive: bool,
    pub high_inclusive: bool,
}

impl RefRange {
    /// The range in words, for people and for the model: "3.5 to 5.1", "below 100",
    /// "above 40", "up to 40", "40 or more".
    pub fn describe(&self) -> String {
        let n = |x: f64| number::format(x);
        match (self.low, self.high) {
            (Some(a), Some(b)) => format!("{} to {}", n(a), n(b)),
            (None, Some(b)) if self.high_inclusive => format!("up to {}", n(b)),
            (None, Some(b)) => format!("below {}", n(b)),
            (Some(a), None) if self.low_inclusive => format!("{} or more", n(a)),
            (Some(a), None) => format!("above {}", n(a)),
            (None, None) => self.text.clone(),
        }
    }

    /// Where a value (with its qualifier) stands against this range. A value such as "<0.5"
    /// is placed only when every value it allows falls on the same side; lab values are not
    /// negative, so a low bound of 0 does not make "<0.5" undetermined.
    pub fn status_of(&self, value: &Value) -> Status {
        let x = value.number;
        match value.qualifier {
            None => {
                let below = self.low.is_some_and(|a| if self.low_inclusive { x < a } else { x <= a });
                let above = self.high.is_some_and(|b| if self.high_inclusive { x > b } else { x >= b });
                if below {
                    Status::Below
                } else if above {
                    Status::Above
                } else {
                    Status::Within
                }
            }
            // The value is below x (or at most x).
            Some(q @ (Qualifier::Less | Qualifier::LessOrEqual)) => {
                let strict = q == Qualifier::Less;
                let below = self.low.is_some_and(|a| if self.low_inclusive && !strict { x < a } else { x <= a });
                let no_low = match self.low {
                    None => true,
                    Some(a) => a == 0.0 && self.low_inclusive,
                };
                let under_high = match self.high {
                    None => true,
                    Some(b) => if self.high_inclusive || strict { x <= b } else { x < b },
                };
                if below {
                    Status::Below
                } else if no_low && under_high {
                    Status::Within
                } else {
                    Status::Undetermined
                }
            }
            // The value is above x (or at least x).
            Some(q @ (Qualifier::Greater | Qualifier::GreaterOrEqual)) => {
                let strict = q == Qualifier::Greater;
                let above = self.high.is_some_and(|b| if self.high_inclusive && !strict { x > b } else { x >= b });
                let over_low = match self.low {
                    None => true,
                    Some(a) => if self.low_inclusive || strict { x >= a } else { x > a },
                };
                if above {
                    Status::Above
                } else if self.high.is_none() && over_low {
                    Status::Within
                } else {
                    Status::Undetermined
                }
            }
        }
    }
}

/// The lab's own flag on a result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LabFlag {
    pub text: String,
    pub kind: FlagKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    High,
    Low,
    CriticalHigh,
    CriticalLow,
    /// "A", "*": abnormal, direction not given.
    Abnormal,
    /// "CRIT": critical, direction not given.
    Critical,
}

impl FlagKind {
    pub fn is_critical(self) -> bool {
        matches!(self, Self::CriticalHigh | Self::CriticalLow | Self::Critical)
    }

    /// Whether this flag contradicts a computed status.
    fn contradicts(self, status: Status) -> bool {
        match self {
            Self::High | Self::CriticalHigh => matches!(status, Status::Below | Status::Within),
            Self::Low | Self::CriticalLow => matches!(status, Status::Above | Status::Within),
            Self::Abnormal | Self::Critical => status == Status::Within,
        }
    }
}

/// Where a value stands against its reference range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Below,
    Within,
    Above,
    /// The record gives no range for it.
    NoRange,
    /// A value such as "<0.5" whose place against the range cannot be told.
    Undetermined,
}

impl Status {
    pub fn words(self) -> &'static str {
        match self {
            Self::Below => "below the range",
            Self::Within => "within the range",
            Self::Above => "above the range",
            Self::NoRange => "no range given",
            Self::Undetermined => "cannot be placed against the range",
        }
    }
}

/// A line the parser could not read as a result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UnreadLine {
    /// 1-based.
    pub line: u32,
    pub text: String,
    /// Why, in a few words.
    pub reason: String,
}

/// Reads a lab report pasted as text. Never guesses: a line with numbers that is not a
/// readable result is returned in `unread`; headings, notes without numbers and lines such as
/// "Patient: …" or "Collected: …" are skipped.
pub fn parse(text: &str) -> ParsedRecord {
    let decimal_comma = number::uses_decimal_comma(text);
    let mut record = ParsedRecord { decimal_comma, ..ParsedRecord::default() };
    for (i, raw) in text.lines().enumerate() {
        let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
        match line::read(raw, decimal_comma) {
            line::Line::Skip => {}
            line::Line::Unread(reason) => record.unread.push(UnreadLine { line: n, text: raw.trim().to_string(), reason }),
            line::Line::Result(r) => record.rows.push(finish_row(n, r)),
        }
    }
    record
}

fn finish_row(line: u32, r: line::ReadRow) -> LabRow {
    let canonical = analytes::canonical(&r.analyte).map(str::to_string);
    let status = match &r.range {
        Some(range) => range.status_of(&r.value),
        None => Status::NoRange,
    };
    let flags_disagree = r.flag.as_ref().is_some_and(|f| f.kind.contradicts(status));
    let mut row = LabRow {
        line,
        analyte: r.analyte,
        canonical,
        value: r.value,
        unit: r.unit,
        range: r.range,
        lab_flag: r.flag,
        status,
        critical: false,
        flags_disagree,
    };
    row.critical = critical::is_critical(&row);
    row
}

#[cfg(test)]
mod tests;
