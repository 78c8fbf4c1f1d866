//! Conversation history: an SQLite database of conversations and messages ([`History`]), the
//! KV-cache files that let a reopened conversation continue without re-reading it
//! ([`KvCacheDir`]), and the Markdown export ([`export`]).
//!
//! Both live in the app's private data directory. Nothing of their content is logged.

mod conversations;
mod db;
pub mod export;
mod kv;
mod schema;

pub use conversations::{AskOptions, Conversations, KvSaving, ModelKey, Replacing, Resumed, Saving, CHECKPOINT_EVERY, DEFAULT_KV_CACHE_BYTES};
pub use db::{AnswerState, AnswerTokens, Conversation, ConversationId, ConversationSummary, History, Message, MessageId, MessageRole};
pub use kv::{KvCacheDir, SavedState};
pub use schema::SCHEMA_VERSION;

use std::path::PathBuf;

use crate::error::{Coded, ErrorCode};

/// The database file's name inside the data directory.
pub const DATABASE_FILE: &str = "history.sqlite3";
/// The KV-cache folder's name inside the data directory.
pub const KV_CACHE_DIR: &str = "kv-cache";

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("{path} is not a Murmur history database (it is not an SQLite file); it was left as it is")]
    NotADatabase { path: PathBuf },
    #[error("{path} was written by a newer version of Murmur (history version {found}, this version reads up to {supported}); it was left as it is: update Murmur to open it")]
    NewerSchema { path: PathBuf, found: i64, supported: i64 },
    #[error("the history {path} cannot be written: {reason}; nothing was changed")]
    ReadOnly { path: PathBuf, reason: String },
    #[error("the history database {path} is damaged ({detail}); it was left as it is")]
    Corrupt { path: PathBuf, detail: String },
    #[error("there is no conversation {0}")]
    NotFound(ConversationId),
    #[error("history: {0}")]
    Io(String),
}

impl Coded for HistoryError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::NotADatabase { .. } => ErrorCode::HistoryNotADatabase,
            Self::NewerSchema { .. } => ErrorCode::HistoryNewerSchema,
            Self::ReadOnly { .. } => ErrorCode::HistoryReadOnly,
            Self::Corrupt { .. } => ErrorCode::HistoryCorrupt,
            Self::NotFound(_) => ErrorCode::ConversationNotFound,
            Self::Io(_) => ErrorCode::HistoryIo,
        }
    }
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}
