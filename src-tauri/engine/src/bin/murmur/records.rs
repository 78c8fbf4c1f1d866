//! `murmur record parse FILE…` and the answer check printed by `murmur ask --check`.

use std::io::Write;

use murmur_engine::records::{self, AnswerCheck, IssueKind, LabRow, ParsedRecord, RedFlags, Status};

use crate::args::RecordCommand;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

pub fn run(command: &RecordCommand) -> Result<()> {
    match command {
        RecordCommand::Parse { files, json } => {
            let mut out = std::io::stdout().lock();
            for file in files {
                let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read record {}: {e}", file.display()))?;
                let parsed = records::parse(&text);
                if *json {
                    let line = serde_json::json!({
                        "file": file.display().to_string(),
                        "rows": parsed.rows,
                        "unread": parsed.unread,
                        "decimal_comma": parsed.decimal_comma,
                        "red_flags": records::red_flags(&parsed),
                    });
                    writeln!(out, "{line}")?;
                } else {
                    if files.len() > 1 {
                        writeln!(out, "== {}", file.display())?;
                    }
                    write!(out, "{}", table(&parsed))?;
                    if let Some(flags) = records::red_flags(&parsed) {
                        writeln!(out, "\n{}", flags.text())?;
                    }
                }
            }
            Ok(())
        }
        RecordCommand::Check { record, answer, question, json } => {
            let text = std::fs::read_to_string(record).map_err(|e| format!("cannot read record {}: {e}", record.display()))?;
            let answer_text = if answer.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin()).map_err(|e| format!("cannot read the answer from stdin: {e}"))?
            } else {
                std::fs::read_to_string(answer).map_err(|e| format!("cannot read answer {}: {e}", answer.display()))?
            };
            let asked: Vec<&str> = question.iter().map(String::as_str).collect();
            let check = records::check_answer(&answer_text, &records::parse(&text), &text, &asked);
            if *json {
                println!("{}", serde_json::to_string(&check)?);
            } else {
                print_check(&check);
            }
            Ok(())
        }
    }
}

fn status_mark(row: &LabRow) -> String {
    let s = match row.status {
        Status::Below => "▼ below",
        Status::Above => "▲ above",
        Status::Within => "✓ within",
        Status::NoRange => "– no range",
        Status::Undetermined => "? cannot tell",
    };
    let mut s = s.to_string();
    if row.flags_disagree {
        s.push_str(" (lab: differs)");
    }
    if row.critical {
        s.push_str(" URGENT");
    }
    s
}

/// The parsed results as a plain-text table, then the lines not understood.
pub fn table(parsed: &ParsedRecord) -> String {
    let header = ["line", "test", "value", "unit", "range", "lab flag", "status"];
    let rows: Vec<[String; 7]> = parsed
        .rows
        .iter()
        .map(|r| {
            [
                r.line.to_string(),
                r.analyte.clone(),
                r.value.text.clone(),
                r.unit.clone().unwrap_or_default(),
                r.range.as_ref().map(|x| x.text.clone()).unwrap_or_default(),
                r.lab_flag.as_ref().map(|f| f.text.clone()).unwrap_or_default(),
                status_mark(r),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let padded: Vec<String> = cells.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("No results could be read from this record.\n");
    } else {
        out.push_str(&line(&header.map(str::to_string)));
        for row in &rows {
            out.push_str(&line(row));
        }
    }
    if !parsed.unread.is_empty() {
        out.push_str("\nNot understood (not read as results):\n");
        for u in &parsed.unread {
            out.push_str(&format!("  line {}: {} — {}\n", u.line, u.text, u.reason));
        }
    }
    out
}

/// The check of an answer, for a terminal.
pub fn print_check(check: &AnswerCheck) {
    if check.issues.is_empty() {
        eprintln!("[check] {} number(s) checked: all found in the record; no contradiction, dose or diagnosis phrase", check.numbers_checked);
        return;
    }
    eprintln!("[check] {} number(s) checked; {} issue(s):", check.numbers_checked, check.issues.len());
    for i in &check.issues {
        let kind = match i.kind {
            IssueKind::UnmatchedNumber => "number",
            IssueKind::Contradiction => "contradiction",
            IssueKind::Dose => "dose",
            IssueKind::Diagnosis => "diagnosis",
        };
        eprintln!("  [{kind}] “{}”: {}", i.text, i.explanation);
    }
}

/// The red-flag banner, before any answer.
pub fn print_red_flags(flags: &RedFlags) {
    println!("{}\n", flags.text());
}
