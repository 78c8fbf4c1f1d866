//! Numbers as labs print them: thousands separators, decimal commas.

use std::sync::LazyLock;

use regex::Regex;

/// A number with a decimal comma: "4,5", "0,80", "12,25" (a comma then one or two digits, or
/// "0," then anything).
static DECIMAL_COMMA: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|[^\d.,])(?:\d+,\d{1,2}|0,\d+)(?:$|[^\d.,])").expect("valid regex"));
/// A number with a decimal point: "4.5", "0.80", "0.845" (a point then one or two digits, or
/// "0." then anything; "250.000" is not one: in a decimal-comma report that groups thousands).
static DECIMAL_POINT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|[^\d.,/^])(?:\d+\.\d{1,2}|0\.\d+)(?:$|[^\d.,])").expect("valid regex"));

/// Whether a report writes decimals with a comma. Decided for the whole report, because
/// "1,200" alone cannot tell: it is 1200 in a report that writes "4.5" and 1.2 in one that
/// writes "4,5". The lines that write decimals with a comma must outnumber those that write
/// them with a point, so one "1,5" in a note does not turn a whole report around.
pub fn uses_decimal_comma(text: &str) -> bool {
    let commas = text.lines().filter(|l| DECIMAL_COMMA.is_match(l)).count();
    let points = text.lines().filter(|l| DECIMAL_POINT.is_match(l)).count();
    commas > points
}

/// Reads a number as printed ("250,000", "4,5", "1.234,5", "-2.0"). `None` if it is not one.
pub fn parse(text: &str, decimal_comma: bool) -> Option<f64> {
    let t = text.trim();
    let (sign, digits) = match t.strip_prefix(['-', '−']) {
        Some(rest) => (-1.0, rest),
        None => (1.0, t),
    };
    if digits.is_empty() || !digits.starts_with(|c: char| c.is_ascii_digit()) || !digits.ends_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    if !digits.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',') {
        return None;
    }
    let (thousands, decimal) = if decimal_comma { ('.', ',') } else { (',', '.') };
    let mut parts = digits.split(decimal);
    let whole = parts.next()?;
    let fraction = parts.next();
    if parts.next().is_some() || fraction.is_some_and(|f| f.contains(thousands)) {
        return None;
    }
    // Thousands separators only between groups of exactly three digits.
    let groups: Vec<&str> = whole.split(thousands).collect();
    if groups.len() > 1 && (groups[0].is_empty() || groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3)) {
        return None;
    }
    let mut plain: String = groups.concat();
    if let Some(f) = fraction {
        plain.push('.');
        plain.push_str(f);
    }
    plain.parse::<f64>().ok().map(|v| sign * v)
}

/// A number for people and prompts: "4.5", "100", "0.35" (no trailing zeros beyond the value).
pub fn format(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_separators_and_decimal_commas() {
        assert_eq!(parse("250,000", false), Some(250_000.0));
        assert_eq!(parse("1,200", false), Some(1200.0));
        assert_eq!(parse("4.5", false), Some(4.5));
        assert_eq!(parse("-2.0", false), Some(-2.0));
        assert_eq!(parse("4,5", true), Some(4.5));
        assert_eq!(parse("1.234,5", true), Some(1234.5));
        assert_eq!(parse("0,80", true), Some(0.8));
        assert_eq!(parse("1,20,0", false), None);
        assert_eq!(parse("12,34", false), None, "not a thousands group");
        assert_eq!(parse("4.", false), None);
        assert_eq!(parse("x10", false), None);
    }

    #[test]
    fn detects_decimal_comma_reports() {
        assert!(uses_decimal_comma("Kalium 4,5 mmol/L [3,5 - 5,1]"));
        assert!(uses_decimal_comma("Kreatinin 0,845 mg/dL"));
        assert!(!uses_decimal_comma("Platelets 250,000 /uL\nWBC 7,200 /uL"));
        assert!(!uses_decimal_comma("Sodium 139 mmol/L"));
        // One "1,5" in a note does not turn a report that writes "4.5" around.
        assert!(!uses_decimal_comma("Note: repeat in 1,5 weeks\nPotassium 4.5 mmol/L (3.5-5.1)\nGlucose 1,050 mg/dL (70-99)"));
        assert!(uses_decimal_comma("Kalium 4,5 mmol/L\nNatrium 139 mmol/L\nThrombozyten 250.000 /uL [150.000 - 400.000]\nKreatinin 0,9 mg/dL"));
    }

    #[test]
    fn formats_without_noise() {
        assert_eq!(format(4.5), "4.5");
        assert_eq!(format(100.0), "100");
        assert_eq!(format(0.35), "0.35");
        assert_eq!(format(-2.0), "-2");
    }
}
