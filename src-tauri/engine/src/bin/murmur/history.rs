//! `murmur history`: the saved conversations.

use std::io::Write;

use murmur_engine::store::{export, AnswerState, Conversations, MessageRole, DEFAULT_KV_CACHE_BYTES};

use crate::args::{Cli, HistoryCommand};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

pub fn open(cli: &Cli) -> Result<Conversations> {
    Ok(Conversations::open(&cli.data_dir(), DEFAULT_KV_CACHE_BYTES)?)
}

/// A date for people: `2026-11-29 08:17` (UTC).
pub fn when(ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|d| d.format(&format).ok())
        .unwrap_or_default()
}

pub fn run(cli: &Cli, command: &HistoryCommand) -> Result<()> {
    let store = open(cli)?;
    let mut out = std::io::stdout().lock();
    match command {
        HistoryCommand::List { search } => {
            let list = store.db.list(search.as_deref())?;
            if list.is_empty() {
                eprintln!("{}", if search.is_some() { "no conversation matches" } else { "no saved conversations (murmur chat --conversation new)" });
            }
            for c in list {
                let title = if c.title.is_empty() { "(no question yet)" } else { &c.title };
                let record = if c.has_record { "  [record]" } else { "" };
                writeln!(out, "{:>5}  {}  {:>3} msgs  {title}{record}", c.id, when(c.updated_at), c.messages)?;
            }
        }
        HistoryCommand::Show { id } => {
            let c = store.db.get(*id)?;
            writeln!(out, "# {}  (conversation {}, started {})", c.summary.title, c.summary.id, when(c.summary.created_at))?;
            if c.record.is_some() {
                writeln!(out, "[record attached]")?;
            }
            for m in &c.messages {
                let who = match m.role {
                    MessageRole::User => "You",
                    MessageRole::Assistant => "Murmur",
                };
                let state = match m.state {
                    AnswerState::Complete => "",
                    AnswerState::Interrupted => " [interrupted]",
                    AnswerState::Cancelled => " [stopped]",
                    AnswerState::Failed => " [failed]",
                };
                writeln!(out, "\n{who}{state}:\n{}", m.text)?;
                if let Some(e) = &m.error {
                    writeln!(out, "({e})")?;
                }
            }
        }
        HistoryCommand::Export { id, out: file } => {
            let md = export::markdown(&store.db.get(*id)?);
            match file {
                Some(path) => {
                    std::fs::write(path, md).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                    eprintln!("exported conversation {id} to {}", path.display());
                }
                None => out.write_all(md.as_bytes())?,
            }
        }
        HistoryCommand::Rm { ids, all } => {
            if *all {
                store.delete_all()?;
                eprintln!("deleted every conversation");
            }
            for id in ids {
                store.delete(*id)?;
                eprintln!("deleted conversation {id}");
            }
        }
    }
    Ok(())
}
