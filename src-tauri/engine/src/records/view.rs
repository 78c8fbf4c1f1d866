//! What the model reads of an attached record: the parsed results in words (value, range,
//! status) ahead of the original text, so it explains statuses instead of working them out.
//! A record too long for the context is reduced to its results and the lines around the ones
//! outside their range, and the model and the person are both told so.

use super::{LabRow, ParsedRecord, Status};

/// How much of a record the model reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordView {
    /// The parsed table, then the whole record.
    Full,
    /// The whole record only, as before the parser (for measuring what the table changes).
    TextOnly,
    /// The parsed table, then only the lines around results outside their range.
    Reduced,
}

/// Lines kept before and after each flagged result in a reduced record.
const CONTEXT_LINES: usize = 2;
/// Unread lines kept in a reduced record, at most.
const MAX_UNREAD_KEPT: usize = 10;

/// One result in words: "LDL Cholesterol: 160 mg/dL; reference range below 100; status: above
/// the range (below 100)."
pub fn row_in_words(row: &LabRow) -> String {
    let mut s = format!("- {}: {}", row.analyte, row.value_with_unit());
    match &row.range {
        Some(range) => {
            let status = match row.status {
                Status::Below | Status::Above | Status::Within => format!("{} ({})", row.status.words(), range.describe()),
                other => other.words().to_string(),
            };
            s.push_str(&format!("; reference range {}; status: {status}", range.describe()));
        }
        None => s.push_str("; no reference range given"),
    }
    if let Some(flag) = &row.lab_flag {
        if row.flags_disagree {
            s.push_str(&format!("; the lab marked it {} (this differs from the range: mention both)", flag.text));
        } else {
            s.push_str(&format!("; the lab marked it {}", flag.text));
        }
    }
    if row.critical {
        s.push_str("; URGENT: in a critical range");
    }
    s.push('.');
    s
}

/// The parsed results as the model reads them, or `None` if nothing was read.
pub fn results_table(record: &ParsedRecord) -> Option<String> {
    if record.rows.is_empty() {
        return None;
    }
    let rows: Vec<String> = record.rows.iter().map(row_in_words).collect();
    Some(format!(
        "Results read from this record by Murmur's parser. These values, ranges and statuses are exact: \
use these statuses as they are written here, never work them out yourself.\n{}",
        rows.join("\n")
    ))
}

/// The record as the model reads it (the part of the system message after the instructions).
pub fn for_model(text: &str, record: &ParsedRecord, view: RecordView) -> String {
    let intro = "The person has shared this health record with you. It is their own private data; refer to it \
when you answer.";
    let table = results_table(record);
    match (view, table) {
        (RecordView::TextOnly, _) | (_, None) => format!("{intro}\n<record>\n{text}\n</record>"),
        (RecordView::Full, Some(table)) => format!("{intro}\n\n{table}\n\n<record>\n{text}\n</record>"),
        (RecordView::Reduced, Some(table)) => format!(
            "{intro}\n\nThe record is too long to read in full here: below are its {} results as read by the parser, \
and only the lines around the results outside their range and the lines the parser could not read. Say \
so if the person asks about something that is not shown.\n\n{table}\n\n<record excerpt>\n{}\n</record excerpt>",
            record.rows.len(),
            excerpt(text, record)
        ),
    }
}

/// The lines around results outside their range (or flagged by the lab) and the lines the
/// parser could not read, with "…" for gaps. Line numbers are those of `text` as parsed.
pub fn excerpt(text: &str, record: &ParsedRecord) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut keep = vec![false; lines.len()];
    // A few lines the parser could not read (a garbled result, say) are kept: the model may
    // still make sense of them. Many such lines are the record's prose (dates, notes): left out.
    let unread = if record.unread.len() <= MAX_UNREAD_KEPT { record.unread.as_slice() } else { &[] };
    for u in unread {
        if let Some(k) = keep.get_mut((u.line as usize).saturating_sub(1)) {
            *k = true;
        }
    }
    for row in &record.rows {
        let flagged = matches!(row.status, Status::Below | Status::Above) || row.lab_flag.is_some() || row.critical;
        if !flagged {
            continue;
        }
        let at = (row.line as usize).saturating_sub(1);
        let from = at.saturating_sub(CONTEXT_LINES);
        let to = (at + CONTEXT_LINES).min(lines.len().saturating_sub(1));
        for k in keep.iter_mut().take(to + 1).skip(from) {
            *k = true;
        }
    }
    let mut out = Vec::new();
    let mut gap = false;
    for (line, kept) in lines.iter().zip(&keep) {
        if *kept {
            if gap && !out.is_empty() {
                out.push("…");
            }
            out.push(line);
            gap = false;
        } else {
            gap = true;
        }
    }
    if out.is_empty() {
        return "(no result in this record is outside its range)".to_string();
    }
    out.join("\n")
}
