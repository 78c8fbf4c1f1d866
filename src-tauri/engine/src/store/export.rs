//! A conversation as Markdown, for the person to keep or share with their clinician, and
//! read back ([`parse`]) so an export can be checked and imported.
//!
//! Each message follows an HTML comment naming its role and state: invisible when the
//! Markdown is rendered, and what [`parse`] reads. A message line that would look like such
//! a comment is escaped with a backslash.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{AnswerState, Conversation, MessageRole};

const MARK: &str = "<!-- murmur:";

/// What [`parse`] reads back from an export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exported {
    pub title: String,
    pub record: Option<String>,
    pub messages: Vec<(MessageRole, AnswerState, String)>,
}

fn date(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|d| d.replace_nanosecond(0).ok())
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_default()
}

fn escape(text: &str) -> String {
    text.lines()
        .map(|l| if l.starts_with(MARK) || l.starts_with('\\') && l[1..].starts_with(MARK) { format!("\\{l}") } else { l.to_string() })
        .collect::<Vec<_>>()
        .join("\n")
}

fn unescape(line: &str) -> &str {
    match line.strip_prefix('\\') {
        Some(rest) if rest.starts_with(MARK) || rest.starts_with('\\') && rest[1..].starts_with(MARK) => rest,
        _ => line,
    }
}

fn state_name(s: AnswerState) -> &'static str {
    match s {
        AnswerState::Complete => "complete",
        AnswerState::Interrupted => "interrupted",
        AnswerState::Cancelled => "cancelled",
        AnswerState::Failed => "failed",
    }
}

/// The conversation as Markdown.
pub fn markdown(c: &Conversation) -> String {
    let title = if c.summary.title.is_empty() { "Conversation" } else { &c.summary.title };
    let mut out = format!("# {}\n\n", title.replace('\n', " "));
    out.push_str(&format!(
        "Murmur conversation, started {}{}. Murmur explains records; it does not diagnose or prescribe — talk to a clinician about any result.\n\n",
        date(c.summary.created_at),
        c.summary.model.as_deref().map(|m| format!(" with {m}")).unwrap_or_default()
    ));
    if let Some(record) = &c.record {
        out.push_str(&format!("{MARK}record -->\n## Record\n\n{}\n\n", escape(record.trim_end())));
    }
    for m in &c.messages {
        let (role, heading) = match m.role {
            MessageRole::User => ("user", "You"),
            MessageRole::Assistant => ("assistant", "Murmur"),
        };
        out.push_str(&format!("{MARK}{role} {} -->\n### {heading}\n\n", state_name(m.state)));
        out.push_str(&escape(m.text.trim_end()));
        out.push('\n');
        let note = match (m.role, m.state) {
            (MessageRole::Assistant, AnswerState::Cancelled) => Some("(Stopped before the end.)".to_string()),
            (MessageRole::Assistant, AnswerState::Interrupted) => Some("(Interrupted: the app stopped while writing this answer.)".to_string()),
            (MessageRole::Assistant, AnswerState::Failed) => Some(format!("(Failed: {})", m.error.as_deref().unwrap_or("no answer"))),
            _ => None,
        };
        if let Some(note) = note {
            out.push_str(&format!("\n{MARK}note -->\n*{note}*\n"));
        }
        out.push('\n');
    }
    out
}

/// Reads back what [`markdown`] wrote.
pub fn parse(md: &str) -> Option<Exported> {
    let mut lines = md.lines().peekable();
    let title = lines.next()?.strip_prefix("# ")?.to_string();
    let mut record: Option<String> = None;
    let mut messages = Vec::new();
    enum Part {
        Preamble,
        Note,
        Record,
        Message(MessageRole, AnswerState),
    }
    let mut part = Part::Preamble;
    let mut body: Vec<&str> = Vec::new();
    let flush = |part: &Part, body: &mut Vec<&str>, record: &mut Option<String>, messages: &mut Vec<(MessageRole, AnswerState, String)>| {
        // Body: after the heading line and one blank line; trailing blank lines dropped.
        let start = 2.min(body.len());
        let mut text: Vec<&str> = body[start..].iter().map(|l| unescape(l)).collect();
        while text.last().is_some_and(|l| l.is_empty()) {
            text.pop();
        }
        let text = text.join("\n");
        match part {
            Part::Record => *record = Some(text),
            Part::Message(role, state) => messages.push((*role, *state, text)),
            Part::Preamble | Part::Note => {}
        }
        body.clear();
    };
    for line in lines {
        if let Some(mark) = line.strip_prefix(MARK).and_then(|l| l.strip_suffix(" -->")) {
            flush(&part, &mut body, &mut record, &mut messages);
            let mut words = mark.split(' ');
            part = match (words.next(), words.next()) {
                (Some("record"), _) => Part::Record,
                (Some("note"), _) => Part::Note,
                (Some(role @ ("user" | "assistant")), Some(state)) => {
                    let role = if role == "user" { MessageRole::User } else { MessageRole::Assistant };
                    let state = match state {
                        "complete" => AnswerState::Complete,
                        "cancelled" => AnswerState::Cancelled,
                        "failed" => AnswerState::Failed,
                        _ => AnswerState::Interrupted,
                    };
                    Part::Message(role, state)
                }
                _ => return None,
            };
            continue;
        }
        body.push(line);
    }
    flush(&part, &mut body, &mut record, &mut messages);
    Some(Exported { title, record, messages })
}
