//! Red flags: results in a critical band, found by code and answered with fixed words, shown
//! before any answer. Never generated text.
//!
//! A result is critical when the lab flags it so (HH, LL, CRIT), or when it passes a limit of
//! [`LIMITS`]: a short table of critical limits for the tests most hospitals list, in the units
//! they are printed in. The limits are rounded from the mean limits that US medical centres
//! reported in Kost's survey (Kost GJ, "Critical limits for urgent clinician notification at
//! US medical centers", JAMA 1990;263:704–707), which current hospital lists still resemble.
//! A clinic's own list may differ; the lab's own flags always count. A result in a unit the
//! table does not know is left to the lab's flag (a limit is never applied across units).

use serde::{Deserialize, Serialize};

use super::{LabRow, Qualifier};

/// A critical limit: below `low` or above `high`, in `units`.
pub struct Limit {
    pub canonical: &'static str,
    /// Units the limits are in, compared without case, spaces or the µ/u spelling.
    pub units: &'static [&'static str],
    pub low: Option<f64>,
    pub high: Option<f64>,
}

pub const LIMITS: &[Limit] = &[
    Limit { canonical: "potassium", units: &["mmol/L", "mEq/L"], low: Some(2.8), high: Some(6.2) },
    Limit { canonical: "sodium", units: &["mmol/L", "mEq/L"], low: Some(120.0), high: Some(160.0) },
    Limit { canonical: "glucose", units: &["mg/dL"], low: Some(45.0), high: Some(480.0) },
    Limit { canonical: "glucose", units: &["mmol/L"], low: Some(2.5), high: Some(26.6) },
    Limit { canonical: "hemoglobin", units: &["g/dL"], low: Some(6.6), high: Some(19.9) },
    Limit { canonical: "hemoglobin", units: &["g/L"], low: Some(66.0), high: Some(199.0) },
    Limit { canonical: "calcium", units: &["mg/dL"], low: Some(6.0), high: Some(13.0) },
    Limit { canonical: "calcium", units: &["mmol/L"], low: Some(1.5), high: Some(3.25) },
];

/// The fixed words of the red-flag banner.
pub const ADVICE: &str = "Contact your doctor or clinic today about these results. If you feel unwell — for \
example chest pain, trouble breathing, fainting, confusion or weakness — call emergency services now.";
/// Said with it: results like these can be wrong.
pub const RETEST: &str = "A result like this is sometimes caused by how the sample was taken or handled, and \
the test may need repeating; only a clinician can tell.";

/// What the red-flag banner shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RedFlags {
    /// The critical results, as "Potassium 6.8 mmol/L (lab flag HH)".
    pub items: Vec<String>,
    /// Lines of the record the items come from (1-based).
    pub lines: Vec<u32>,
    pub advice: String,
    pub retest: String,
}

impl RedFlags {
    /// The whole message as plain text (CLI, logs of tests).
    pub fn text(&self) -> String {
        format!(
            "Urgent results in this record:\n{}\n{}\n{}",
            self.items.iter().map(|i| format!("  • {i}")).collect::<Vec<_>>().join("\n"),
            self.advice,
            self.retest
        )
    }
}

/// Words that mark a line as critical even where the parser could not read it.
static CRITICAL_WORDS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"(?i)\b(?:critical|panic|crit)\b|(?:^|\s)(?:HH|LL|!!)(?:\s|$)").expect("valid regex")
});

/// The red flags of a parsed record, if any result is critical — or any line the parser could
/// not read says it is ("critical value called to the ward"): never missed for being unreadable.
pub fn red_flags(record: &super::ParsedRecord) -> Option<RedFlags> {
    let critical: Vec<&LabRow> = record.rows.iter().filter(|r| r.critical).collect();
    let unread: Vec<&super::UnreadLine> = record.unread.iter().filter(|u| CRITICAL_WORDS.is_match(&u.text)).collect();
    if critical.is_empty() && unread.is_empty() {
        return None;
    }
    let mut lines: Vec<u32> = critical.iter().map(|r| r.line).chain(unread.iter().map(|u| u.line)).collect();
    lines.sort_unstable();
    let unread_items = unread.iter().map(|u| format!("Line {} could not be read, and it may mark a critical result: “{}”", u.line, u.text));
    let items = critical
        .iter()
        .map(|r| {
            let why = match (&r.lab_flag, limit_passed(r)) {
                (Some(f), _) if f.kind.is_critical() => format!("the lab marked it {}", f.text),
                (_, Some(limit)) => limit,
                _ => "critical".to_string(),
            };
            format!("{} {} ({why})", r.display_name(), r.value_with_unit())
        })
        .chain(unread_items)
        .collect();
    Some(RedFlags {
        items,
        lines,
        advice: ADVICE.to_string(),
        retest: RETEST.to_string(),
    })
}

/// Whether a row is in a critical band.
pub(super) fn is_critical(row: &LabRow) -> bool {
    row.lab_flag.as_ref().is_some_and(|f| f.kind.is_critical()) || limit_passed(row).is_some()
}

/// "below the critical limit 2.8", if the row passes a limit of the table.
fn limit_passed(row: &LabRow) -> Option<String> {
    let canonical = row.canonical.as_deref()?;
    let limit = match row.unit.as_deref() {
        Some(unit) => {
            let unit = unit_key(unit);
            LIMITS.iter().find(|l| l.canonical == canonical && l.units.iter().any(|u| unit_key(u) == unit))?
        }
        // No unit printed: the row's own reference range tells the scale ("3.5-5.1" is
        // potassium in mmol/L, "70-99" glucose in mg/dL); without a range, no limit applies.
        None => {
            let range = row.range.as_ref()?;
            LIMITS.iter().find(|l| l.canonical == canonical && on_scale(range, l))?
        }
    };
    let v = row.value.number;
    // "<2.0" is certainly below 2.8; ">2.0" says nothing about being below.
    let can_be_exact_or_lower = !matches!(row.value.qualifier, Some(Qualifier::Greater | Qualifier::GreaterOrEqual));
    let can_be_exact_or_higher = !matches!(row.value.qualifier, Some(Qualifier::Less | Qualifier::LessOrEqual));
    if let Some(low) = limit.low {
        if can_be_exact_or_lower && v < low {
            return Some(format!("below the critical limit {}", super::number::format(low)));
        }
    }
    if let Some(high) = limit.high {
        if can_be_exact_or_higher && v > high {
            return Some(format!("above the critical limit {}", super::number::format(high)));
        }
    }
    None
}

/// Whether a reference range fits a limit's scale: its bounds lie between half the low limit
/// and one and a half times the high one.
fn on_scale(range: &super::RefRange, limit: &Limit) -> bool {
    let (Some(low), Some(high)) = (limit.low, limit.high) else {
        return false;
    };
    let bounds: Vec<f64> = range.low.iter().chain(range.high.iter()).copied().collect();
    !bounds.is_empty() && bounds.iter().all(|&b| b >= low * 0.5 && b <= high * 1.5)
}

/// A unit for comparison: lower case, no spaces, µ/μ/mc as u.
pub(super) fn unit_key(unit: &str) -> String {
    unit.to_lowercase().replace(['µ', 'μ'], "u").replace("mc", "u").split_whitespace().collect()
}
