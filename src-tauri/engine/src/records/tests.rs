//! The parser on the layouts labs print, and the statuses it computes.

use super::*;

fn one(line: &str) -> LabRow {
    let r = parse(line);
    assert!(r.unread.is_empty(), "{line:?} not read: {:?}", r.unread);
    assert_eq!(r.rows.len(), 1, "{line:?}: {:?}", r.rows);
    r.rows.into_iter().next().expect("one row")
}

fn unread(line: &str) {
    let r = parse(line);
    assert!(r.rows.is_empty(), "{line:?} read as {:?}", r.rows);
    assert_eq!(r.unread.len(), 1, "{line:?} must be reported as not understood");
}

#[test]
fn the_issue_s_lipid_panel() {
    let hdl = one("HDL Cholesterol      42     mg/dL     > 40");
    assert_eq!(hdl.canonical.as_deref(), Some("hdl"));
    assert_eq!(hdl.value.number, 42.0);
    assert_eq!(hdl.unit.as_deref(), Some("mg/dL"));
    let range = hdl.range.as_ref().expect("range");
    assert_eq!((range.low, range.high, range.low_inclusive), (Some(40.0), None, false));
    assert_eq!(hdl.status, Status::Within, "42 > 40 is inside a one-sided range");
    let total = one("Cholesterol, Total   241  H  mg/dL   100-199");
    assert_eq!(total.canonical.as_deref(), Some("total_cholesterol"));
    assert_eq!(total.status, Status::Above);
    assert_eq!(total.lab_flag.as_ref().map(|f| f.kind), Some(FlagKind::High));
    assert!(!total.flags_disagree);
    assert_eq!(one("HDL: 40 mg/dL (Reference: > 40)").status, Status::Below, "40 is not above 40");
}

#[test]
fn layouts() {
    let r = one("Potassium: 5.6 mmol/L H (Reference: 3.5-5.1)");
    assert_eq!((r.value.number, r.unit.as_deref(), r.status), (5.6, Some("mmol/L"), Status::Above));
    assert_eq!(r.range.as_ref().map(|x| x.text.as_str()), Some("3.5-5.1"));
    let r = one("Sodium 139 mmol/L (133-146)");
    assert_eq!((r.status, r.range.as_ref().and_then(|x| x.low)), (Status::Within, Some(133.0)));
    let r = one("Ferritin\t8\tng/mL\t[15 - 150]\tL");
    assert_eq!((r.status, r.lab_flag.map(|f| f.kind)), (Status::Below, Some(FlagKind::Low)));
    let r = one("Potassium | 6.8 | mmol/L | 3.5-5.1 | HH");
    assert!(r.critical);
    assert_eq!(r.lab_flag.map(|f| f.kind), Some(FlagKind::CriticalHigh));
    let r = one("ALT (SGPT)   H 62   U/L   up to 40");
    assert_eq!((r.canonical.as_deref(), r.status), (Some("alt"), Status::Above));
    assert!(r.range.as_ref().is_some_and(|x| x.high_inclusive));
    let r = one("Glucose, Fasting: 99 mg/dL (ref ≤ 99)");
    assert_eq!(r.status, Status::Within);
    let r = one("HbA1c 6.1 % (< 5.7)");
    assert_eq!((r.unit.as_deref(), r.status), (Some("%"), Status::Above));
    let r = one("Glucose 160mg/dL [70–99]");
    assert_eq!((r.unit.as_deref(), r.status), (Some("mg/dL"), Status::Above));
    let r = one("1. Hemoglobin 13.5 g/dL (12.0 - 15.5)");
    assert_eq!((r.analyte.as_str(), r.status), ("Hemoglobin", Status::Within));
    let r = one("Base excess  -3.0  mmol/L  -2.0 - 2.0");
    assert_eq!((r.value.number, r.status), (-3.0, Status::Below));
}

#[test]
fn units_with_digits_are_never_numbers() {
    let r = one("WBC   7.2   x10^9/L   4.0-11.0");
    assert_eq!((r.value.number, r.unit.as_deref(), r.status), (7.2, Some("x10^9/L"), Status::Within));
    let r = one("Platelets  250  x10E3/uL  150-400");
    assert_eq!((r.unit.as_deref(), r.range.as_ref().and_then(|x| x.high)), (Some("x10E3/uL"), Some(400.0)));
    let r = one("eGFR   >60   mL/min/1.73m2   >59");
    assert_eq!((r.value.qualifier, r.unit.as_deref(), r.status), (Some(Qualifier::Greater), Some("mL/min/1.73m2"), Status::Within));
    let r = one("TSH  2.1  mIU/L  0.4-4.0");
    assert_eq!(r.unit.as_deref(), Some("mIU/L"));
    let r = one("Vitamin B12  180  pmol/L  L  [145-569]");
    assert_eq!((r.canonical.as_deref(), r.status), (Some("vitamin_b12"), Status::Within));
    assert!(r.flags_disagree, "the lab says low, the range says within: both are shown");
    let r = one("Ferritin 30 µg/L (15-150)");
    assert_eq!(r.unit.as_deref(), Some("µg/L"));
}

#[test]
fn thousands_and_decimal_commas() {
    let r = one("Platelets   250,000   /uL   150,000-400,000");
    assert_eq!((r.value.number, r.status), (250_000.0, Status::Within));
    let report = parse("Kalium  4,5  mmol/L  [3,5 - 5,1]\nThrombozyten  1.234  x10^9/L  [150 - 400] H");
    assert!(report.decimal_comma);
    assert_eq!(report.rows[0].value.number, 4.5);
    assert_eq!(report.rows[0].range.as_ref().and_then(|x| x.high), Some(5.1));
    assert_eq!(report.rows[1].value.number, 1234.0);
}

#[test]
fn qualified_values() {
    let r = one("CRP  <0.5  mg/L  0-5");
    assert_eq!((r.value.text.as_str(), r.status), ("<0.5", Status::Within));
    assert_eq!(one("CRP  < 0.5  mg/L  1-5").status, Status::Below);
    assert_eq!(one("PSA  <0.1  ng/mL  < 4.0").status, Status::Within);
    assert_eq!(one("eGFR  >60  mL/min/1.73m2  60-120").status, Status::Undetermined);
    assert_eq!(one("Troponin I  <5  ng/L  3-14").status, Status::Undetermined);
}

#[test]
fn never_guesses() {
    unread("Hemoglobin    see comment 2");
    unread("Result pending, call 555 0100");
    unread("Specimen hemolyzed - repeat in 2 weeks");
    unread("Glucose 2 hr post 140 mg/dL");
    unread("Glucose   70-99   mg/dL");
    let r = parse("LIPID PANEL\nPatient: Jane Doe\nDOB: 01/02/1970\nCollected: 2024-03-01 08:15\nPage 1 of 2\nTest  Result  Units\n");
    assert!(r.rows.is_empty() && r.unread.is_empty(), "{r:?}");
    let r = one("Vitamin A  0.5  mg/L  0.3-0.8");
    assert!(r.lab_flag.is_none(), "the A of Vitamin A is not a flag");
}

#[test]
fn lines_are_numbered_and_unread_lines_kept_verbatim() {
    let r = parse("CBC\nHemoglobin 11.2 g/dL L (12.0-15.5)\n\nHemoglobin see comment 2\n");
    assert_eq!(r.rows[0].line, 2);
    assert_eq!(r.unread[0].line, 4);
    assert_eq!(r.unread[0].text, "Hemoglobin see comment 2");
}

#[test]
fn red_flags_from_lab_flags_and_limits() {
    let r = parse("Potassium 6.8 mmol/L (3.5-5.1)\nSodium 139 mmol/L (133-146)\nGlucose 35 mg/dL LL (70-99)");
    let flags = red_flags(&r).expect("critical values");
    assert_eq!(flags.lines, vec![1, 3]);
    assert!(flags.items[0].contains("Potassium 6.8 mmol/L") && flags.items[0].contains("critical limit 6.2"), "{:?}", flags.items);
    assert!(flags.items[1].contains("the lab marked it LL"));
    assert_eq!(flags.advice, critical::ADVICE, "fixed words, not generated");
    // Out of range but not critical; and a limit is never applied in another unit.
    assert!(red_flags(&parse("Potassium 5.6 mmol/L (3.5-5.1)\nGlucose 35 mmol/mol (20-42)")).is_none());
    assert!(red_flags(&parse("Hemoglobin 65 g/L (120-160)")).is_some(), "g/L has its own limit");
    assert!(red_flags(&parse("Hemoglobin 6.5 mmol/L (7.5-10)")).is_none(), "no limit in mmol/L: the lab's flag decides");
}

#[test]
fn the_model_reads_statuses_in_words() {
    let text = "HDL Cholesterol 42 mg/dL > 40\nLDL 160 mg/dL H (< 100)";
    let r = parse(text);
    let v = view::for_model(text, &r, view::RecordView::Full);
    assert!(v.contains("- HDL Cholesterol: 42 mg/dL; reference range above 40; status: within the range (above 40)."), "{v}");
    assert!(v.contains("- LDL: 160 mg/dL; reference range below 100; status: above the range (below 100); the lab marked it H."), "{v}");
    assert!(v.find("Results read").expect("table") < v.find("<record>").expect("record"), "the table comes first");
    let plain = view::for_model(text, &r, view::RecordView::TextOnly);
    assert!(!plain.contains("status:"));
}

#[test]
fn a_reduced_record_keeps_every_result_and_the_lines_around_flagged_ones() {
    let mut text = String::from("REPORT\n");
    for i in 0..40 {
        text.push_str(&format!("Note line {i} about nothing in particular\n"));
    }
    text.push_str("Sodium 139 mmol/L (133-146)\nPotassium 5.9 mmol/L H (3.5-5.1)\nChloride 101 mmol/L (98-107)\n");
    for i in 0..40 {
        text.push_str(&format!("Trailing note {i}\n"));
    }
    let r = parse(&text);
    let v = view::for_model(&text, &r, view::RecordView::Reduced);
    assert!(v.contains("too long to read in full"));
    assert!(v.contains("- Sodium: 139") && v.contains("- Chloride: 101"), "every result is in the table");
    let excerpt = view::excerpt(&text, &r);
    assert!(excerpt.contains("Potassium 5.9"));
    assert!(!excerpt.contains("Note line 3 "), "{excerpt}");
    assert!(excerpt.len() < text.len() / 5);
}

#[test]
fn review_cases_names_flags_units_and_scale() {
    // A name repeated in brackets, two-word and lower-case flags, "gm/dL".
    let r = one("Potassium (K)   6.9   mmol/L   3.5-5.1");
    assert!(r.critical, "the limit applies to Potassium (K)");
    let r = one("Potassium  6.9  Critical High  mmol/L  3.5-5.1");
    assert_eq!(r.lab_flag.map(|f| f.kind), Some(FlagKind::CriticalHigh));
    assert_eq!(one("Sodium 150 high mmol/L (135-145)").lab_flag.map(|f| f.kind), Some(FlagKind::High));
    assert_eq!(one("Hemoglobin 13.1 gm/dL (12-16)").unit.as_deref(), Some("gm/dL"));
    // No unit printed: the range tells the scale.
    assert!(one("Potassium 6.9 (3.5-5.1)").critical);
    assert!(!one("Glucose 30 (20-42)").critical, "a range of 20-42 is not glucose in mg/dL or mmol/L");
    // Ionised calcium and urine tests are not held to blood limits.
    assert!(!one("Ca++ 1.10 mmol/L (1.15-1.30)").critical);
    // A result is never skipped for starting like a header.
    assert_eq!(one("Sex Hormone Binding Globulin: 45 nmol/L (18-144)").value.number, 45.0);
    // An unreadable line that says it is critical still raises the red flag.
    let r = parse("Potassium 6.9 mmol/L critical value phoned to ward 4");
    assert!(r.rows.is_empty());
    let flags = red_flags(&r).expect("a red flag from an unread line");
    assert!(flags.items[0].starts_with("Line 1 could not be read"), "{:?}", flags.items);
}
