//! One line of a lab report: a result, a line to skip, or a line that is not understood.
//!
//! A result is a test name, then a value ("42", "<0.5", "250,000"), then — in any order — a
//! unit, a reference range and the lab's flag. Whatever else follows the value makes the line
//! "not understood": the parser never guesses.

use std::sync::LazyLock;

use regex::Regex;

use super::{number, FlagKind, LabFlag, Qualifier, RefRange, Value};

pub(super) enum Line {
    /// A heading, a note without numbers, or a line such as "Patient: …".
    Skip,
    /// A line with numbers that is not a readable result, and why.
    Unread(String),
    Result(ReadRow),
}

pub(super) struct ReadRow {
    pub analyte: String,
    pub value: Value,
    pub unit: Option<String>,
    pub range: Option<RefRange>,
    pub flag: Option<LabFlag>,
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid regex")
}

/// "Patient: …", "Date of birth: …", "Collected: …": details of the report, not results.
static META: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)^(?:patient|name|dob|date|collected|collection|received|reported|report|mrn|id|page|specimen|ordered|physician|doctor|provider|accession|sex|gender|age|phone|tel|telephone|address|lab|laboratory|requested|printed|fax)\b[^:]{0,25}:")
});
static PAGE: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)^page\s+\d+(?:\s+of\s+\d+)?$"));
/// "1. ", "2) ", "- ", "• " before a line.
static LIST_MARKER: LazyLock<Regex> = LazyLock::new(|| re(r"^(?:\d{1,2}[.)]|[-•*])\s+"));

/// A value token: an optional comparison, a number, and possibly a unit or flag glued on.
static VALUE: LazyLock<Regex> = LazyLock::new(|| re(r"^(<=|>=|[<>≤≥])?([-−]?\d(?:[\d.,]*\d)?)(.*)$"));
static COMPARISON: LazyLock<Regex> = LazyLock::new(|| re(r"^(?:<=|>=|[<>≤≥])$"));

/// A reference range somewhere in the text after the value, with an optional label.
static RANGE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)
        (?:^|[\s(\[:])
        (?P<all>
          (?:(?:ref(?:erence)?\.?|normal|range|interval)(?:\s+(?:range|interval|values?))?\s*[:=]?\s*)?
          (?P<range>
              (?P<a>[-−]?\d(?:[\d.,]*\d)?)\s*(?:-|–|—|to)\s*(?P<b>[-−]?\d(?:[\d.,]*\d)?)
            | (?P<op><=|>=|[<>≤≥]|up\s+to|less\s+than|greater\s+than|below|above|under|over)\s*(?P<c>\d(?:[\d.,]*\d)?)
          )
        )
        (?:$|[\s)\]])")
});

/// Units as labs print them; never read as numbers.
static UNIT: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)^(?:
          [x×*]?10(?:\^|e|\*\*?)?\d{1,2}/(?:l|ul|µl|μl|mcl|mm3)
        | (?:k|m|thou|thousand|million|cells)/(?:u|µ|μ|mc)?l
        | /(?:u|µ|μ|mc)l | /mm3 | /hpf | /lpf
        | % | ‰ | fl | pg | secs? | ratio | index | mm/hr? | mmhg
        | (?:[mµμunpfk]|mc)?(?:gm?|mol|iu|u|eq|l|units?|kat)
          (?:/(?:(?:[dmµμunpk]|mc)?(?:l|g|mol)|kg|24\s?h|hr?|min|day|d)(?:/1\.73\s?m(?:2|²))?)?
        )$")
});

/// Words around a range or in a column layout that carry no value.
const LABEL_WORDS: [&str; 8] = ["ref", "ref.", "reference", "range", "normal", "interval", "units", "flag"];

/// Reads one line. `decimal_comma`: how the whole report writes decimals.
pub(super) fn read(raw: &str, decimal_comma: bool) -> Line {
    let trimmed = raw.trim();
    if !trimmed.chars().any(|c| c.is_ascii_digit()) {
        return Line::Skip;
    }
    // A line such as "Collected: …" is skipped only if it is not a readable result: "Sex
    // Hormone Binding Globulin: 45 nmol/L" starts like "Sex: F" but is a result.
    match read_result(trimmed, decimal_comma) {
        Line::Unread(_) if META.is_match(trimmed) || PAGE.is_match(trimmed) => Line::Skip,
        other => other,
    }
}

fn read_result(trimmed: &str, decimal_comma: bool) -> Line {
    let line = LIST_MARKER.replace(trimmed, "").replace(['|', '\t'], " ");
    let tokens: Vec<(usize, &str)> = split_tokens(&line);
    let Some((value_at, value, glued)) = find_value(&tokens, decimal_comma) else {
        return Line::Unread("no result value after a test name".into());
    };
    let name_end = tokens[value_at].0;
    let mut name = line[..name_end].trim().trim_end_matches([':', '=']).trim().to_string();
    let mut flag = None;
    let mut unit = None;
    match glued {
        Glued::Unit(u) => unit = Some(u),
        Glued::Flag(f) => flag = Some(f),
        Glued::None => {}
    }
    // A flag column before the value ("Potassium  H  5.6"): only when the name without it is
    // a known test, so "Vitamin A" stays a name.
    if let Some((rest, last)) = name.rsplit_once(char::is_whitespace) {
        if let Some(f) = read_flag(last) {
            if last != "A" && super::analytes::canonical(rest).is_some() && flag.is_none() {
                flag = Some(f);
                name = rest.trim_end().trim_end_matches([':', '=']).trim().to_string();
            }
        }
    }
    if !name.chars().any(char::is_alphabetic) {
        return Line::Unread("no test name before the value".into());
    }
    let value_end = value.1;
    let tail = &line[value_end..];
    let (range, rest) = match find_range(tail, decimal_comma) {
        Ok(found) => found,
        Err(reason) => return Line::Unread(reason),
    };
    let mut leftovers = Vec::new();
    for token in join_unit_pieces(rest.split_whitespace().collect()) {
        let bare = token.trim_matches(|c| matches!(c, '(' | ')' | '[' | ']' | ',' | ';'));
        if bare.is_empty() || bare.chars().all(|c| matches!(c, ':' | '-' | '=' | '|' | '/')) {
            continue;
        }
        if let Some(f) = read_flag(bare) {
            match flag.take() {
                None => flag = Some(f),
                // "Critical High", "H (critical)": one flag in two words.
                Some(first) => match combine_flags(&first, &f) {
                    Some(both) => flag = Some(both),
                    None => {
                        flag = Some(first);
                        leftovers.push(token);
                    }
                },
            }
            continue;
        }
        if unit.is_none() && UNIT.is_match(bare) {
            unit = Some(bare.to_string());
            continue;
        }
        if LABEL_WORDS.contains(&bare.to_lowercase().trim_end_matches(':')) {
            continue;
        }
        leftovers.push(token);
    }
    if !leftovers.is_empty() {
        return Line::Unread(format!("“{}” after the value is not a unit, a range or a flag", leftovers.join(" ")));
    }
    if unit.is_none() && range.is_none() && super::analytes::canonical(&name).is_none() {
        return Line::Unread("no unit or reference range, and not a test Murmur knows".into());
    }
    Line::Result(ReadRow { analyte: name, value: value.0, unit, range, flag })
}

/// Whitespace-separated tokens with their byte offsets.
fn split_tokens(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, &line[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &line[s..]));
    }
    out
}

enum Glued {
    None,
    Unit(String),
    Flag(LabFlag),
}

/// The first value after at least one name token: its token index, the value with the byte
/// offset where it ends, and a unit or flag glued to it ("160mg/dL", "6.8HH").
fn find_value(tokens: &[(usize, &str)], decimal_comma: bool) -> Option<(usize, (Value, usize), Glued)> {
    for i in 1..tokens.len() {
        let (at, token) = tokens[i];
        // A comparison on its own, then the number: "< 0.5".
        if COMPARISON.is_match(token) {
            if let Some(&(next_at, next)) = tokens.get(i + 1) {
                if let Some((mut v, glued)) = read_value(next, decimal_comma) {
                    if v.qualifier.is_none() {
                        v.qualifier = qualifier(token);
                        v.text = format!("{token}{}", v.text);
                        return Some((i, (v, next_at + next.len()), glued));
                    }
                }
            }
            continue;
        }
        if let Some((v, glued)) = read_value(token, decimal_comma) {
            return Some((i, (v, at + token.len()), glued));
        }
    }
    None
}

fn read_value(token: &str, decimal_comma: bool) -> Option<(Value, Glued)> {
    let caps = VALUE.captures(token)?;
    let number_text = caps.get(2)?.as_str();
    let rest = caps.get(3).map_or("", |m| m.as_str());
    let glued = if rest.is_empty() {
        Glued::None
    } else if let Some(f) = read_flag(rest) {
        Glued::Flag(f)
    } else if UNIT.is_match(rest) {
        Glued::Unit(rest.to_string())
    } else {
        return None;
    };
    let number = number::parse(number_text, decimal_comma)?;
    let q = caps.get(1).map(|m| m.as_str());
    let text_end = token.len() - rest.len();
    Some((Value { text: token[..text_end].to_string(), number, qualifier: q.and_then(qualifier) }, glued))
}

fn qualifier(op: &str) -> Option<Qualifier> {
    match op {
        "<" => Some(Qualifier::Less),
        "<=" | "≤" => Some(Qualifier::LessOrEqual),
        ">" => Some(Qualifier::Greater),
        ">=" | "≥" => Some(Qualifier::GreaterOrEqual),
        _ => None,
    }
}

/// Two flag words that make one: "Critical High" → critical high.
fn combine_flags(a: &LabFlag, b: &LabFlag) -> Option<LabFlag> {
    let kind = match (a.kind, b.kind) {
        (FlagKind::Critical, FlagKind::High) | (FlagKind::High, FlagKind::Critical) => FlagKind::CriticalHigh,
        (FlagKind::Critical, FlagKind::Low) | (FlagKind::Low, FlagKind::Critical) => FlagKind::CriticalLow,
        _ => return None,
    };
    Some(LabFlag { text: format!("{} {}", a.text, b.text), kind })
}

/// The lab's flag: "H", "L", "HH", "LL", "A", "*", "CRIT", "High", "(H)", "panic", …
/// Single letters only in capitals ("L" is a flag, "l" is not); words in any case.
pub(super) fn read_flag(token: &str) -> Option<LabFlag> {
    let bare = token.trim_matches(|c| matches!(c, '(' | ')' | '[' | ']'));
    let word = bare.to_lowercase();
    let kind = match bare {
        "H" | "H*" | "+" => FlagKind::High,
        "L" | "L*" | "-" => FlagKind::Low,
        "HH" | "H!" | ">>" => FlagKind::CriticalHigh,
        "LL" | "L!" | "<<" => FlagKind::CriticalLow,
        "A" | "*" | "ABN" | "!" => FlagKind::Abnormal,
        "CRIT" | "C!" | "**" | "!!" => FlagKind::Critical,
        _ => match word.as_str() {
            "high" => FlagKind::High,
            "low" => FlagKind::Low,
            "abnormal" => FlagKind::Abnormal,
            "crit" | "critical" | "panic" => FlagKind::Critical,
            _ => return None,
        },
    };
    // A lone "-" or "+" reads as a flag only in brackets ("(+)"); bare, it is punctuation.
    if matches!(bare, "-" | "+") && bare == token {
        return None;
    }
    Some(LabFlag { text: bare.to_string(), kind })
}

/// The reference range in the text after the value, and that text without it.
fn find_range(tail: &str, decimal_comma: bool) -> Result<(Option<RefRange>, String), String> {
    let Some(caps) = RANGE.captures(tail) else {
        return Ok((None, tail.to_string()));
    };
    let (Some(all), Some(range)) = (caps.name("all"), caps.name("range")) else {
        return Ok((None, tail.to_string()));
    };
    let num = |name: &str| -> Result<Option<f64>, String> {
        match caps.name(name) {
            None => Ok(None),
            Some(m) => number::parse(m.as_str(), decimal_comma)
                .map(Some)
                .ok_or_else(|| format!("the range “{}” has a number Murmur cannot read", range.as_str())),
        }
    };
    let parsed = if let (Some(a), Some(b)) = (num("a")?, num("b")?) {
        if a > b {
            return Err(format!("the range “{}” goes from high to low", range.as_str()));
        }
        RefRange { text: range.as_str().to_string(), low: Some(a), high: Some(b), low_inclusive: true, high_inclusive: true }
    } else {
        let c = num("c")?.ok_or_else(|| "a range without its number".to_string())?;
        let op = caps.name("op").map_or("", |m| m.as_str()).to_lowercase();
        let op: String = op.split_whitespace().collect::<Vec<_>>().join(" ");
        let (low, high, inclusive) = match op.as_str() {
            "<" | "less than" | "below" | "under" => (None, Some(c), false),
            "<=" | "≤" | "up to" => (None, Some(c), true),
            ">" | "greater than" | "above" | "over" => (Some(c), None, false),
            ">=" | "≥" => (Some(c), None, true),
            other => return Err(format!("the range sign “{other}” is not understood")),
        };
        RefRange { text: range.as_str().to_string(), low, high, low_inclusive: inclusive, high_inclusive: inclusive }
    };
    let mut rest = String::with_capacity(tail.len());
    rest.push_str(&tail[..all.start()]);
    rest.push(' ');
    rest.push_str(&tail[all.end()..]);
    // A second range in the same line is not ours to choose between.
    if RANGE.is_match(&rest) {
        return Err("more than one reference range on the line".into());
    }
    Ok((Some(parsed), rest))
}

/// Joins units printed in two pieces: "x 10^9/L", "mL/min/1.73 m2".
fn join_unit_pieces(tokens: Vec<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i];
        if let Some(next) = tokens.get(i + 1) {
            let joins = (matches!(t, "x" | "×") && next.starts_with("10")) || (t.ends_with("1.73") && matches!(*next, "m2" | "m²"));
            if joins {
                out.push(format!("{t}{next}"));
                i += 2;
                continue;
            }
        }
        out.push(t.to_string());
        i += 1;
    }
    out
}

/// Whether a word is a unit as labs print them ("mg/dL", "x10^9/L", "%").
pub(super) fn is_unit(word: &str) -> bool {
    UNIT.is_match(word)
}
