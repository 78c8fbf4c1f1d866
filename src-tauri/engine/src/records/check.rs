//! The answer check: after an answer streams, every number it states is looked up in the
//! record and the conversation, every status it gives a test is compared with the computed
//! one, and phrases that sound like a dose or a diagnosis are flagged. The model's words are
//! not trusted where code can read the record.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::critical::unit_key;
use super::{analytes, number, LabRow, ParsedRecord, Status};

/// What the check found in one answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AnswerCheck {
    pub issues: Vec<CheckIssue>,
    /// Each status the answer gives a result of the record.
    pub mentions: Vec<RowMention>,
    /// Numbers the answer states that were looked up.
    pub numbers_checked: u32,
}

impl AnswerCheck {
    pub fn count(&self, kind: IssueKind) -> usize {
        self.issues.iter().filter(|i| i.kind == kind).count()
    }
}

/// One thing to mark in an answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CheckIssue {
    pub kind: IssueKind,
    /// The words marked, exactly as in the answer.
    pub text: String,
    /// Where they are in the answer, in UTF-16 code units (as JavaScript counts).
    pub start: u32,
    pub end: u32,
    /// A short reason, for the person.
    pub explanation: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// A number (with its unit) found nowhere in the record or the conversation.
    UnmatchedNumber,
    /// A status for a result that the computed status contradicts.
    Contradiction,
    /// Sounds like advice on a medicine or a dose.
    Dose,
    /// Sounds like a diagnosis.
    Diagnosis,
}

/// A status the answer gives one result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RowMention {
    /// Index into the record's rows.
    pub row: u32,
    pub stated: Status,
    /// The computed status (or the lab's own flag) agrees.
    pub agrees: bool,
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid regex")
}

static NUMBER: LazyLock<Regex> = LazyLock::new(|| re(r"\d(?:[\d.,]*\d)?"));
static UNIT_AFTER: LazyLock<Regex> = LazyLock::new(|| re(r"^[ \t]*([^\s,;:)\]]+)"));

static STATUS_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)\b(?:
        (?P<more>(?:more|higher|greater|above)(?:\s+[\w-]+){0,2}?\s+than\s+(?:the\s+)?(?:normal|usual|expected)(?:\s+range)?)
      | (?P<less>(?:less|lower|fewer|below)(?:\s+[\w-]+){0,2}?\s+than\s+(?:the\s+)?(?:normal|usual|expected)(?:\s+range)?)
      | (?P<within>within\s+(?:the\s+|your\s+)?(?:normal\s+|reference\s+|healthy\s+|expected\s+|target\s+)?range
          | in\s+(?:the\s+)?(?:normal|reference|healthy|expected)\s+range | inside\s+(?:the\s+)?(?:normal\s+|reference\s+)?range
          | in\s+range | normal)
      | (?P<above>above\s+(?:the\s+)?(?:normal\s+|reference\s+|healthy\s+)?(?:range|normal|limit)
          | higher\s+than\s+(?:the\s+)?(?:normal|reference|healthy)(?:\s+range)? | too\s+high | elevated | raised | high(?:er)?)
      | (?P<below>below\s+(?:the\s+)?(?:normal\s+|reference\s+|healthy\s+)?(?:range|normal|limit)
          | lower\s+than\s+(?:the\s+)?(?:normal|reference|healthy)(?:\s+range)? | too\s+low | decreased | deficien(?:t|cy) | low(?:er)?)
    )\b")
});
/// "not", "isn't" … just before a status word: the claim is not read.
static NEGATION: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)(?:\b(?:not|no|never|neither|nor)\b|n['’]t\b)[\w\s]{0,12}$"));
/// "if", "whether", "in case": what follows is not a claim about the result.
static HYPOTHETICAL: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b(?:if|whether|in\s+case|when)\b"));
/// "high-density", "low-fat", "high blood pressure": not statuses.
/// "normal range: 145-569", "the normal range is…": a label, not a claim.
static NOT_A_STATUS: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)^[\s-]*(?:density|fat|sensitivity|blood\s+pressure|risk|dose|quality|-|ranges?\b|values?\b|limits?\b|levels?\s+(?:are|is|of|for)\b)"));
/// Words that tie a claim to the person's own result, not to the test in general.
static PERSONAL: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\b(?:your|my|this\s+(?:result|value|level|number)|the\s+(?:result|value)|came\s+back|is\s+at|status|(?:this|it|which)\s+is)\b")
});
static CLAUSE_BREAK: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\bbut\b|\bwhile\b|\bwhereas\b|\balthough\b|\bhowever\b|\bwhich\s+is\s+(?:a|the)\s+(?:good|bad)\b"));

static DOSE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)
        \b(?:take|taking|start|starting|increase|decrease|reduce|double|halve|switch\s+to|add|begin)\b[^.\n]{0,40}?
          \b\d+(?:[.,]\d+)?\s?(?:mg|mcg|µg|ug|g|iu|units?|ml|tablets?|pills?|capsules?|drops?)\b
      | \b\d+(?:[.,]\d+)?\s?(?:mg|mcg|µg|ug|iu|units?|tablets?|pills?|capsules?)\s+(?:a|per|each|every|once|twice|daily|at)\b
      | \b(?:take|taking|start\s+taking|starting)\s+(?:an?\s+|some\s+)?(?:iron\s+|vitamin\s+\w+\s+|magnesium\s+|potassium\s+|calcium\s+|folic\s+acid\s+)?
          (?:supplements?|medicines?|medications?|statins?|insulin|metformin|tablets|pills|capsules)\b
      | \b(?:you\s+should|you\s+need\s+to|you\s+must|I\s+recommend(?:\s+that\s+you)?)\s+(?:start|stop|begin|increase|decrease|reduce|change)
          \s+(?:taking\s+)?(?:a\s+|the\s+|your\s+)?(?:\w+\s+)?(?:medicines?|medications?|statins?|insulin|metformin|supplements?|dose|drugs?|pills?|tablets?)\b")
});
static DIAGNOSIS: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)
        \byou\s+(?:may\s+|might\s+|could\s+|probably\s+|likely\s+)?(?:have|'ve\s+got|have\s+got|suffer\s+from|are\s+suffering\s+from|are\s+diagnosed\s+with)\s+
          (?:a\s+|an\s+|the\s+)?(?:[\w-]+\s+){0,3}?
          (?:\w*(?:emia|aemia|itis|osis|pathy|oma)|diabetes|prediabetes|pre-diabetes|disease|syndrome|deficiency|infection
            |cancer|failure|disorder|hypertension|hyperlipidemia|hypothyroidism|hyperthyroidism|cholesterol|blood\s+sugar|insufficiency)\b
      | \byou(?:\s+are|'re)\s+(?:diabetic|pre-?diabetic|anaemic|anemic|hypothyroid|hyperthyroid|iron\s+deficient|vitamin\s+\w+\s+deficient)\b
      | \b(?:this|these\s+results?|your\s+results?|it)\s+(?:means?|shows?|confirms?|proves?)\s+(?:that\s+)?you\s+have\b")
});

/// Checks `answer` against the parsed `record`, its `record_text` and the `conversation` (the
/// person's messages and earlier answers, whose numbers count as known).
pub fn check_answer(answer: &str, record: &ParsedRecord, record_text: &str, conversation: &[&str]) -> AnswerCheck {
    let mut check = AnswerCheck::default();
    check_numbers(answer, record, record_text, conversation, &mut check);
    check_statuses(answer, record, &mut check);
    for (kind, pattern, why) in [
        (IssueKind::Dose, &*DOSE, "Whether to take a medicine, and how much, is for your clinician to decide."),
        (IssueKind::Diagnosis, &*DIAGNOSIS, "Murmur cannot diagnose: ask your clinician what these results mean for you."),
    ] {
        for m in pattern.find_iter(answer) {
            check.issues.push(issue(answer, kind, m.start(), m.end(), why.to_string()));
        }
    }
    check.issues.sort_by_key(|i| i.start);
    check
}

fn issue(answer: &str, kind: IssueKind, start: usize, end: usize, explanation: String) -> CheckIssue {
    let utf16 = |b: usize| u32::try_from(answer[..b].encode_utf16().count()).unwrap_or(u32::MAX);
    CheckIssue { kind, text: answer[start..end].to_string(), start: utf16(start), end: utf16(end), explanation }
}

/// A number stated somewhere, with the unit after it (if any).
struct Stated {
    value: f64,
    unit: Option<String>,
    start: usize,
    end: usize,
}

/// The numbers of a text that are quantities: not part of a name ("B12", "A1c", "25-OH"), not
/// list markers. With `small_counts`, bare integers up to 10 ("two results", "1.") are skipped.
fn numbers_in(text: &str, decimal_comma: bool, small_counts: bool) -> Vec<Stated> {
    let mut out = Vec::new();
    for m in NUMBER.find_iter(text) {
        let before = text[..m.start()].chars().next_back();
        let after = &text[m.end()..];
        if before.is_some_and(|c| c.is_alphabetic() || c == '_' || c == '^' || c == '/') {
            continue;
        }
        // "25-hydroxy", "24-hour"
        if after.starts_with('-') && after[1..].starts_with(|c: char| c.is_alphabetic()) {
            continue;
        }
        let Some(value) = number::parse(m.as_str(), decimal_comma).or_else(|| number::parse(m.as_str(), !decimal_comma)) else {
            continue;
        };
        let glued = after.starts_with(|c: char| c.is_alphabetic() || c == '%' || c == 'µ' || c == 'μ');
        let unit = UNIT_AFTER
            .captures(after)
            .and_then(|c| c.get(1))
            .map(|u| u.as_str().trim_end_matches(['.', ',']))
            // A lone "L" or "H" after a number is a lab flag far more often than litres.
            .filter(|u| super::line::is_unit(u) && !matches!(*u, "L" | "l" | "H" | "A"));
        if glued && unit.is_none() {
            continue; // "1st", "3rd", "2x"
        }
        let line_start = text[..m.start()].rsplit('\n').next().unwrap_or("").trim().is_empty();
        if line_start && (after.starts_with(". ") || after.starts_with(") ")) {
            continue; // a list marker
        }
        if small_counts && unit.is_none() && value.fract() == 0.0 && (0.0..=10.0).contains(&value) {
            continue;
        }
        let end = m.end() + unit.map_or(0, |u| after.find(u).map_or(0, |i| i + u.len()));
        out.push(Stated { value, unit: unit.map(str::to_string), start: m.start(), end });
    }
    out
}

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(1.0)
}

fn check_numbers(answer: &str, record: &ParsedRecord, record_text: &str, conversation: &[&str], check: &mut AnswerCheck) {
    // Known: every number of the record and the conversation, with the unit printed after it,
    // and each row's value and bounds with the row's unit.
    let mut known: Vec<(f64, Option<String>)> = Vec::new();
    for row in &record.rows {
        let unit = row.unit.as_deref().map(unit_key);
        known.push((row.value.number, unit.clone()));
        if let Some(r) = &row.range {
            known.extend(r.low.iter().chain(r.high.iter()).map(|&b| (b, unit.clone())));
        }
    }
    for text in std::iter::once(record_text).chain(conversation.iter().copied()) {
        known.extend(numbers_in(text, record.decimal_comma, false).into_iter().map(|s| (s.value, s.unit.as_deref().map(unit_key))));
    }
    for stated in numbers_in(answer, record.decimal_comma, true) {
        check.numbers_checked += 1;
        let unit = stated.unit.as_deref().map(unit_key);
        let value_known = known.iter().any(|(v, _)| same(*v, stated.value));
        // With a unit, it must be a unit the number has in the record (when it has one there).
        let units_known: Vec<&String> = known.iter().filter(|(v, _)| same(*v, stated.value)).filter_map(|(_, u)| u.as_ref()).collect();
        let matched = match &unit {
            Some(u) if !units_known.is_empty() => units_known.contains(&u),
            _ => value_known,
        };
        if matched {
            continue;
        }
        let text = &answer[stated.start..stated.end];
        let explanation = if value_known {
            format!("“{text}”: this number is in your record, but not with this unit.")
        } else {
            format!("“{text}” is not in your record or this conversation. Check it against the record.")
        };
        check.issues.push(issue(answer, IssueKind::UnmatchedNumber, stated.start, stated.end, explanation));
    }
}

/// Where a test is named in a text: (row index, start, end), longest names first, no overlaps.
fn mentions_in(text: &str, rows: &[LabRow]) -> Vec<(usize, usize, usize)> {
    let mut found: Vec<(usize, usize, usize)> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let mut names: Vec<&str> = vec![row.analyte.as_str()];
        if let Some(c) = &row.canonical {
            names.extend(analytes::aliases(c));
            names.extend(analytes::display_name(c));
        }
        for name in names {
            let name = name.trim();
            if name.is_empty() {
                continue;
            }
            // Short names ("K", "Na", "Hb") only in their own case; positions are always in
            // `text` itself (lower-casing can change byte lengths).
            let case = if name.chars().count() <= 3 { "" } else { "(?i)" };
            let Ok(pattern) = Regex::new(&format!("{case}{}", regex::escape(name))) else { continue };
            for m in pattern.find_iter(text) {
                let before_ok = text[..m.start()].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
                let after_ok = text[m.end()..].chars().next().is_none_or(|c| !c.is_alphanumeric());
                if before_ok && after_ok {
                    found.push((i, m.start(), m.end()));
                }
            }
        }
    }
    // Longest first; drop a name inside a longer one ("cholesterol" in "LDL cholesterol").
    found.sort_by_key(|&(_, s, e)| (std::cmp::Reverse(e - s), s));
    let mut kept: Vec<(usize, usize, usize)> = Vec::new();
    for f in found {
        if !kept.iter().any(|k| f.1 < k.2 && k.1 < f.2) {
            kept.push(f);
        }
    }
    kept.sort_by_key(|&(_, s, _)| s);
    kept
}

/// A clause of an answer: its byte span, and whether its sentence is a question.
struct Clause {
    start: usize,
    end: usize,
    question: bool,
}

/// Sentences cut into clauses.
fn clauses(text: &str) -> Vec<Clause> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    let cut = |s: usize, e: usize, question: bool, out: &mut Vec<Clause>| {
        let mut from = s;
        for m in CLAUSE_BREAK.find_iter(&text[s..e]) {
            out.push(Clause { start: from, end: s + m.start(), question });
            from = s + m.end();
        }
        out.push(Clause { start: from, end: e, question });
    };
    for (i, &b) in bytes.iter().enumerate() {
        let sentence_end = b == b'\n' || (matches!(b, b'.' | b'!' | b'?') && bytes.get(i + 1).is_none_or(|n| n.is_ascii_whitespace()));
        if sentence_end {
            cut(start, i, b == b'?', &mut out);
            start = i + 1;
        }
    }
    cut(start, text.len(), text.trim_end().ends_with('?'), &mut out);
    out.retain(|c| c.end > c.start);
    out
}

/// Whether the line that starts at or before `at` is a heading ("### …", "**Thyroid**").
fn is_heading(text: &str, at: usize) -> bool {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("").trim();
    line.starts_with('#') || (line.starts_with("**") && line.ends_with("**") && line.len() > 4)
}

/// The statuses a clause gives tests: (row, status, span of the status words). Negated words,
/// words after "if"/"whether", and a clause that gives one test two different statuses ("too
/// high or too low") claim nothing.
fn clause_claims(clause: &str, mentions: &[(usize, usize, usize)]) -> Vec<(usize, Status, usize, usize)> {
    let mut claims: Vec<(usize, Status, usize, usize)> = Vec::new();
    for m in STATUS_WORDS.captures_iter(clause) {
        let Some(whole) = m.get(0) else { continue };
        let stated = if m.name("within").is_some() {
            Status::Within
        } else if m.name("above").is_some() || m.name("more").is_some() {
            Status::Above
        } else {
            Status::Below
        };
        let before = &clause[..whole.start()];
        if NEGATION.is_match(before) || NOT_A_STATUS.is_match(&clause[whole.end()..]) || HYPOTHETICAL.is_match(before) {
            continue;
        }
        // The test named nearest before the words (else the first after them).
        let Some(&(row, ..)) = mentions.iter().rev().find(|(_, s, _)| *s < whole.start()).or_else(|| mentions.iter().find(|(_, s, _)| *s >= whole.end())) else {
            continue;
        };
        claims.push((row, stated, whole.start(), whole.end()));
    }
    let torn: Vec<usize> = claims.iter().filter(|a| claims.iter().any(|b| a.0 == b.0 && a.1 != b.1)).map(|a| a.0).collect();
    claims.retain(|c| !torn.contains(&c.0));
    claims
}

fn check_statuses(answer: &str, record: &ParsedRecord, check: &mut AnswerCheck) {
    // The test being talked about: "### Magnesium … Status: above the range", "Your iron is
    // 30.5. This is above the range." A heading that names no test ends it.
    // Under a heading that names a test, that test is the subject even when a line mentions
    // another ("### Transferrin / The amount of iron… / Status: within the range").
    let mut heading_subject: Option<usize> = None;
    let mut carried: Option<usize> = None;
    for Clause { start: cs, end: ce, question } in clauses(answer) {
        let clause = &answer[cs..ce];
        let mut mentions = mentions_in(clause, &record.rows);
        let last = mentions.last().map(|&(row, ..)| row);
        if is_heading(answer, cs) {
            heading_subject = last;
            carried = None;
        } else if last.is_some() {
            carried = last;
        }
        let subject = heading_subject.or(carried);
        // A question ("Is my sugar too high or too low?") claims nothing.
        if question {
            continue;
        }
        if mentions.is_empty() {
            match subject {
                Some(row) => mentions.push((row, 0, 0)),
                None => continue,
            }
        }
        let claims = clause_claims(clause, &mentions);
        for (row_index, stated, whole_start, whole_end) in claims {
            let whole = whole_start..whole_end;
            let row = &record.rows[row_index];
            // Without a range, the lab's own flag says where the result is (a critical
            // potassium printed without a range is still not "normal").
            let truth = match (row.status, row.lab_flag.as_ref().map(|f| f.kind)) {
                (Status::NoRange, Some(super::FlagKind::High | super::FlagKind::CriticalHigh)) => Status::Above,
                (Status::NoRange, Some(super::FlagKind::Low | super::FlagKind::CriticalLow)) => Status::Below,
                (status, _) => status,
            };
            if !matches!(truth, Status::Below | Status::Within | Status::Above) {
                continue;
            }
            // A claim about the person's own result: "your", the value itself, "the result"…
            if !PERSONAL.is_match(clause) && !clause.contains(row.value.text.as_str()) {
                continue;
            }
            let lab_says = row.lab_flag.as_ref().map(|f| match f.kind {
                super::FlagKind::High | super::FlagKind::CriticalHigh => Status::Above,
                super::FlagKind::Low | super::FlagKind::CriticalLow => Status::Below,
                _ => row.status,
            });
            let agrees = stated == truth || (row.flags_disagree && lab_says == Some(stated));
            let row_u32 = u32::try_from(row_index).unwrap_or(u32::MAX);
            if check.mentions.iter().any(|x| x.row == row_u32 && x.stated == stated) {
                continue;
            }
            check.mentions.push(RowMention { row: row_u32, stated, agrees });
            if !agrees {
                let explanation = match &row.range {
                    Some(range) => format!(
                        "Says {} is {}; your record: {} against a range of {}, which is {}.",
                        row.display_name(),
                        stated.words(),
                        row.value_with_unit(),
                        range.describe(),
                        truth.words()
                    ),
                    None => format!(
                        "Says {} is {}; your record: {}, which the lab marked {}.",
                        row.display_name(),
                        stated.words(),
                        row.value_with_unit(),
                        row.lab_flag.as_ref().map_or("", |f| f.text.as_str())
                    ),
                };
                check.issues.push(issue(answer, IssueKind::Contradiction, cs + whole.start, cs + whole.end, explanation));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::parse;

    const LIPIDS: &str = "HDL Cholesterol   42   mg/dL   > 40\nCholesterol, Total   241  H  mg/dL   100-199\nLDL Cholesterol 160 mg/dL H (< 100)";

    fn check(answer: &str) -> AnswerCheck {
        check_answer(answer, &parse(LIPIDS), LIPIDS, &["What does my lipid panel mean?"])
    }

    #[test]
    fn the_issue_s_wrong_answers_are_caught() {
        let c = check(
            "Your HDL cholesterol is 42 mg/dL, which is above the reference range, so you have high HDL cholesterol. \
You should lower it.",
        );
        let contradictions: Vec<_> = c.issues.iter().filter(|i| i.kind == IssueKind::Contradiction).collect();
        assert!(!contradictions.is_empty(), "{c:?}");
        assert!(contradictions[0].explanation.contains("within the range"), "{}", contradictions[0].explanation);
        assert_eq!(c.count(IssueKind::Diagnosis), 1, "“you have high HDL cholesterol”: {c:?}");
        assert_eq!(c.count(IssueKind::UnmatchedNumber), 0);
        let c = check("Your total cholesterol of 241 mg/dL is within range.");
        assert_eq!(c.count(IssueKind::Contradiction), 1, "{c:?}");
        assert_eq!(c.mentions, vec![RowMention { row: 1, stated: Status::Within, agrees: false }]);
    }

    #[test]
    fn a_right_answer_passes() {
        let answer = "Your total cholesterol is 241 mg/dL, above the range of 100 to 199. Your LDL cholesterol \
is 160 mg/dL, which is higher than the reference of under 100. Your HDL cholesterol is 42 mg/dL, within \
the range (above 40). High-density lipoprotein is often called good cholesterol. Ask your doctor what these \
results mean for you.";
        let c = check(answer);
        assert!(c.issues.is_empty(), "{:#?}", c.issues);
        let agreed: Vec<u32> = c.mentions.iter().filter(|m| m.agrees).map(|m| m.row).collect();
        assert_eq!(agreed, vec![1, 2, 0], "{:?}", c.mentions);
        assert!(c.numbers_checked >= 6);
    }

    #[test]
    fn statuses_copied_from_the_table_count_as_named() {
        let c = check("HDL Cholesterol: 42 mg/dL; reference range above 40; status: within the range (above 40).\n\
LDL Cholesterol: 160 mg/dL; reference range below 100; status: above the range (below 100); the lab marked it H.");
        assert!(c.issues.is_empty(), "{:?}", c.issues);
        let named: Vec<(u32, Status)> = c.mentions.iter().filter(|m| m.agrees).map(|m| (m.row, m.stated)).collect();
        assert_eq!(named, vec![(0, Status::Within), (2, Status::Above)]);
    }

    #[test]
    fn the_test_being_talked_about_carries_over_lines_and_sentences() {
        // The 1.5B's markdown: the test in a heading, its status lines below.
        let c = check("### HDL Cholesterol\n**Test:** a kind of cholesterol.\n**Result:** 42 mg/dL\n**Status:** Above the range.\n\n### Your total cholesterol\n\
Your total cholesterol is 241 mg/dL. This is within the reference range.\n\n### What to ask\nIs this normal?");
        let stated: Vec<(u32, Status, bool)> = c.mentions.iter().map(|m| (m.row, m.stated, m.agrees)).collect();
        assert_eq!(stated, vec![(0, Status::Above, false), (1, Status::Within, false)], "{:?}", c.issues);
        assert_eq!(c.count(IssueKind::Contradiction), 2);
        // "more iron than normal" is above, not "normal".
        let c = check("Your total cholesterol of 241 mg/dL shows more cholesterol than normal in the blood.");
        assert_eq!(c.mentions, vec![RowMention { row: 1, stated: Status::Above, agrees: true }], "{:?}", c.issues);
    }

    #[test]
    fn a_result_without_a_range_is_held_against_the_lab_s_flag() {
        let text = "Potassium 6.8 HH mmol/L";
        let c = check_answer("Your potassium of 6.8 mmol/L is normal.", &parse(text), text, &[]);
        assert_eq!(c.count(IssueKind::Contradiction), 1, "{:?}", c.issues);
        assert!(c.issues[0].explanation.contains("which the lab marked HH"), "{}", c.issues[0].explanation);
    }

    #[test]
    fn numbers_must_come_from_the_record_or_the_conversation() {
        let c = check("Your LDL of 130 mg/dL is a little high; your HDL is 42 mmol/L.");
        let unmatched: Vec<&str> = c.issues.iter().filter(|i| i.kind == IssueKind::UnmatchedNumber).map(|i| i.text.as_str()).collect();
        assert_eq!(unmatched, vec!["130 mg/dL", "42 mmol/L"]);
        assert!(c.issues.iter().any(|i| i.explanation.contains("not with this unit")));
        // Names with digits, list markers, small counts and dates of the record are not claims.
        let c = check_answer(
            "1. Your vitamin B12 and HbA1c were not measured.\n2. Two of 3 results are high. Collected 2024-03-01.",
            &parse(LIPIDS),
            &format!("{LIPIDS}\nCollected: 2024-03-01"),
            &[],
        );
        assert_eq!(c.count(IssueKind::UnmatchedNumber), 0, "{:?}", c.issues);
        // A number the person said counts as known.
        let c = check_answer("You said your weight is 82 kg.", &parse(LIPIDS), LIPIDS, &["I weigh 82 kg"]);
        assert_eq!(c.count(IssueKind::UnmatchedNumber), 0, "{:?}", c.issues);
    }

    #[test]
    fn spans_are_where_the_words_are_in_utf16() {
        let answer = "Résumé — your LDL is 999 mg/dL.";
        let c = check(answer);
        let i = c.issues.iter().find(|i| i.kind == IssueKind::UnmatchedNumber).expect("999 is unknown");
        let utf16: Vec<u16> = answer.encode_utf16().collect();
        assert_eq!(String::from_utf16_lossy(&utf16[i.start as usize..i.end as usize]), "999 mg/dL");
    }

    #[test]
    fn doses_and_diagnoses_are_flagged() {
        for (answer, kind) in [
            ("You could take 20 mg of atorvastatin each night.", IssueKind::Dose),
            ("Vitamin D 1000 IU daily may help.", IssueKind::Dose),
            ("You should start taking a statin.", IssueKind::Dose),
            ("This means you have diabetes.", IssueKind::Diagnosis),
            ("You have anaemia.", IssueKind::Diagnosis),
            ("You are prediabetic.", IssueKind::Diagnosis),
            ("It suggests that you may have iron deficiency.", IssueKind::Diagnosis),
            ("Your doctor might recommend taking iron supplements.", IssueKind::Dose),
        ] {
            let c = check(answer);
            assert_eq!(c.count(kind), 1, "{answer}: {c:?}");
        }
        for fine in [
            "If you have questions, ask your doctor.",
            "Do not change any medicine without talking to your doctor.",
            "Low-density lipoprotein carries cholesterol.",
        ] {
            let c = check(fine);
            assert!(c.issues.is_empty(), "{fine}: {:?}", c.issues);
        }
    }

    #[test]
    fn general_statements_and_negations_are_not_claims() {
        for text in [
            "High LDL cholesterol can raise the risk of heart disease. Your HDL is not low.",
            "Is there a possibility that my HDL cholesterol is too low?",
            "Ask whether your HDL could be low.",
            "Your HDL cholesterol can be too high or too low for many reasons",
            "Your total cholesterol: 241 mg/dL (Normal range: 100-199)",
            "Your total cholesterol isn't normal.",
            "Your total cholesterol isn’t within the range.",
        ] {
            let c = check(text);
            assert_eq!(c.count(IssueKind::Contradiction), 0, "{text}: {:?}", c.issues);
        }
        let c = check("High LDL cholesterol can raise the risk of heart disease. Your HDL is not low.");
        assert_eq!(c.count(IssueKind::Contradiction), 0, "{:?}", c.issues);
    }
}
