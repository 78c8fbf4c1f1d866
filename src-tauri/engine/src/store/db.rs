//! The history database: conversations, their messages, and a few settings.
//!
//! One SQLite file in WAL mode with foreign keys on; every write is one transaction, and each
//! commit is synced (`synchronous = FULL`), so a kill at any moment leaves either the write
//! or nothing. A file that is not SQLite, was written by a newer schema, cannot be written
//! or is damaged gives its own error and is never modified.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use super::schema::{MIGRATIONS, SCHEMA_VERSION};
use super::{now_ms, HistoryError};
use crate::llm::{ExactTurn, FinishReason, Turn, TurnStats};

pub type ConversationId = i64;
pub type MessageId = i64;

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum MessageRole {
    User,
    Assistant,
}

/// How a message ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum AnswerState {
    /// Written in full (questions are always complete).
    Complete,
    /// Still being written when the app stopped (a crash, a kill, a power cut): the text is
    /// what was saved at the last checkpoint.
    Interrupted,
    /// Stopped by the person.
    Cancelled,
    /// The answer failed (the message says why).
    Failed,
}

impl AnswerState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Complete => "complete",
            Self::Interrupted => "interrupted",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "complete" => Self::Complete,
            "cancelled" => Self::Cancelled,
            "failed" => Self::Failed,
            _ => Self::Interrupted,
        }
    }

    /// Whether the model keeps an answer that ended so, with `text`: a complete answer, or
    /// one stopped (or interrupted) after it began. The live session keeps the same turns.
    pub fn kept(self, text: &str) -> bool {
        match self {
            Self::Complete => true,
            Self::Cancelled | Self::Interrupted => !text.is_empty(),
            Self::Failed => false,
        }
    }

    /// The state an answer that ended for `finish` is saved with.
    pub fn of(finish: FinishReason) -> Self {
        match finish {
            FinishReason::Cancelled => Self::Cancelled,
            FinishReason::Stop | FinishReason::MaxTokens | FinishReason::ContextFull => Self::Complete,
        }
    }
}

/// A line of the conversation list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConversationSummary {
    pub id: ConversationId,
    /// The person's title, or the first question's beginning; empty until the first question.
    pub title: String,
    /// Milliseconds since 1970 (UTC).
    pub created_at: i64,
    pub updated_at: i64,
    pub has_record: bool,
    /// The language model the conversation was started with (catalog id or file name).
    pub model: Option<String>,
    pub messages: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Message {
    pub id: MessageId,
    pub role: MessageRole,
    pub text: String,
    pub created_at: i64,
    pub state: AnswerState,
    pub stats: Option<TurnStats>,
    /// Why a failed answer failed.
    pub error: Option<String>,
}

/// Answers' token ids as generated, by message (kept apart from [`Message`]: the UI never
/// needs them).
pub type AnswerTokens = std::collections::HashMap<MessageId, Vec<i32>>;

/// A conversation with its messages, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Conversation {
    pub summary: ConversationSummary,
    pub record: Option<String>,
    pub messages: Vec<Message>,
}

impl Conversation {
    /// The turns the model should hold to continue this conversation: each question with its
    /// answer as far as it got, with the answer's ids from `tokens` where saved. A question
    /// without any answer text (failed, or stopped before the answer began) is left out, as
    /// the live session leaves it out.
    pub fn turns(&self, tokens: &AnswerTokens) -> Vec<ExactTurn> {
        let mut turns = Vec::new();
        let mut question: Option<&Message> = None;
        for m in &self.messages {
            match m.role {
                MessageRole::User => question = Some(m),
                MessageRole::Assistant => {
                    let Some(q) = question.take() else { continue };
                    if m.state.kept(&m.text) {
                        turns.push(ExactTurn {
                            turn: Turn { user: q.text.clone(), assistant: m.text.clone() },
                            // Ids only for an answer saved whole: an interrupted one's text
                            // may be ahead of or behind its last saved ids.
                            answer_tokens: if m.state == AnswerState::Interrupted { None } else { tokens.get(&m.id).cloned() },
                        });
                    }
                }
            }
        }
        turns
    }
}

/// Longest automatic title, in characters.
const TITLE_CHARS: usize = 60;

/// The history database. Shareable between threads (one connection behind a mutex: writes
/// are small and SQLite serialises them anyway).
#[derive(Debug)]
pub struct History {
    conn: Mutex<Connection>,
    path: PathBuf,
}

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

impl History {
    /// Opens (or creates) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, HistoryError> {
        check_header(path)?;
        create_private(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| map_err(path, e))?;
        let err = |e| map_err(path, e);
        if conn.is_readonly(rusqlite::MAIN_DB).map_err(err)? {
            return Err(HistoryError::ReadOnly { path: path.to_path_buf(), reason: "the file is read-only".into() });
        }
        // Read the version before anything writes to the file.
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(err)?;
        if version > SCHEMA_VERSION {
            return Err(HistoryError::NewerSchema { path: path.to_path_buf(), found: version, supported: SCHEMA_VERSION });
        }
        let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0)).map_err(err)?;
        if check != "ok" {
            return Err(HistoryError::Corrupt { path: path.to_path_buf(), detail: check });
        }
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(err)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(mode, "history: WAL journal not available");
        }
        conn.pragma_update(None, "synchronous", "FULL").map_err(err)?;
        conn.pragma_update(None, "foreign_keys", true).map_err(err)?;
        conn.pragma_update(None, "secure_delete", true).map_err(err)?;
        let mut history = Self { conn: Mutex::new(conn), path: path.to_path_buf() };
        history.migrate(version)?;
        Ok(history)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn migrate(&mut self, from: i64) -> Result<(), HistoryError> {
        let path = self.path.clone();
        let conn = self.conn.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(from).unwrap_or(0)) {
            let tx = conn.transaction().map_err(|e| map_err(&path, e))?;
            tx.execute_batch(sql).map_err(|e| map_err(&path, e))?;
            tx.pragma_update(None, "user_version", i as i64 + 1).map_err(|e| map_err(&path, e))?;
            tx.commit().map_err(|e| map_err(&path, e))?;
            tracing::info!(version = i + 1, "history schema migrated");
        }
        Ok(())
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` in one transaction.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>) -> Result<T, HistoryError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| map_err(&self.path, e))?;
        let out = f(&tx).map_err(|e| map_err(&self.path, e))?;
        tx.commit().map_err(|e| map_err(&self.path, e))?;
        Ok(out)
    }

    /// A new, empty conversation.
    pub fn create(&self, record: Option<&str>, model: Option<&str>) -> Result<ConversationId, HistoryError> {
        let now = now_ms();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO conversations (created_at, updated_at, record, model) VALUES (?1, ?1, ?2, ?3)",
                params![now, record, model],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// Conversations, most recently used first; with `query`, only those whose title or
    /// messages contain it (case-insensitive for ASCII letters).
    pub fn list(&self, query: Option<&str>) -> Result<Vec<ConversationSummary>, HistoryError> {
        let pattern = query.map(str::trim).filter(|q| !q.is_empty()).map(like_pattern);
        let conn = self.conn();
        let sql = "SELECT c.id, c.title, c.created_at, c.updated_at, c.record IS NOT NULL, c.model,
                          (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id)
                   FROM conversations c
                   WHERE ?1 IS NULL
                      OR c.title LIKE ?1 ESCAPE '\\'
                      OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.text LIKE ?1 ESCAPE '\\')
                   ORDER BY c.updated_at DESC, c.id DESC";
        let mut stmt = conn.prepare_cached(sql).map_err(|e| map_err(&self.path, e))?;
        let rows = stmt.query_map(params![pattern], summary_from_row).map_err(|e| map_err(&self.path, e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| map_err(&self.path, e))
    }

    pub fn get(&self, id: ConversationId) -> Result<Conversation, HistoryError> {
        let conn = self.conn();
        let err = |e| map_err(&self.path, e);
        let (summary, record) = conn
            .query_row(
                "SELECT c.id, c.title, c.created_at, c.updated_at, c.record IS NOT NULL, c.model,
                        (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id), c.record
                 FROM conversations c WHERE c.id = ?1",
                [id],
                |r| Ok((summary_from_row(r)?, r.get::<_, Option<String>>(7)?)),
            )
            .optional()
            .map_err(err)?
            .ok_or(HistoryError::NotFound(id))?;
        let mut stmt = conn
            .prepare_cached("SELECT id, role, text, created_at, state, stats, error FROM messages WHERE conversation_id = ?1 ORDER BY id")
            .map_err(err)?;
        let messages = stmt
            .query_map([id], |r| {
                let role: String = r.get(1)?;
                let state: String = r.get(4)?;
                let stats: Option<String> = r.get(5)?;
                Ok(Message {
                    id: r.get(0)?,
                    role: if role == "user" { MessageRole::User } else { MessageRole::Assistant },
                    text: r.get(2)?,
                    created_at: r.get(3)?,
                    state: AnswerState::parse(&state),
                    // Figures only: a row from another version that does not parse has none.
                    stats: stats.and_then(|s| serde_json::from_str(&s).ok()),
                    error: r.get(6)?,
                })
            })
            .map_err(err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(err)?;
        Ok(Conversation { summary, record, messages })
    }

    /// The saved token ids of conversation `id`'s answers.
    pub fn answer_tokens(&self, id: ConversationId) -> Result<AnswerTokens, HistoryError> {
        let conn = self.conn();
        let err = |e| map_err(&self.path, e);
        let mut stmt = conn.prepare_cached("SELECT id, tokens FROM messages WHERE conversation_id = ?1 AND tokens IS NOT NULL").map_err(err)?;
        let rows = stmt.query_map([id], |r| Ok((r.get::<_, i64>(0)?, decode_tokens(&r.get::<_, Vec<u8>>(1)?)))).map_err(err)?;
        rows.collect::<rusqlite::Result<AnswerTokens>>().map_err(err)
    }

    pub fn exists(&self, id: ConversationId) -> Result<bool, HistoryError> {
        let conn = self.conn();
        conn.query_row("SELECT 1 FROM conversations WHERE id = ?1", [id], |_| Ok(()))
            .optional()
            .map(|r| r.is_some())
            .map_err(|e| map_err(&self.path, e))
    }

    pub fn rename(&self, id: ConversationId, title: &str) -> Result<(), HistoryError> {
        let title = title.trim();
        let changed = self.write(|tx| tx.execute("UPDATE conversations SET title = ?2 WHERE id = ?1", params![id, title]))?;
        if changed == 0 {
            return Err(HistoryError::NotFound(id));
        }
        Ok(())
    }

    /// Attaches (or with `None` detaches) the conversation's record.
    pub fn set_record(&self, id: ConversationId, record: Option<&str>) -> Result<(), HistoryError> {
        let changed = self.write(|tx| tx.execute("UPDATE conversations SET record = ?2, updated_at = ?3 WHERE id = ?1", params![id, record, now_ms()]))?;
        if changed == 0 {
            return Err(HistoryError::NotFound(id));
        }
        Ok(())
    }

    /// Deletes a conversation with its messages and record. (Its KV-cache file is the
    /// caller's: [`super::KvCacheDir::remove`].)
    pub fn delete(&self, id: ConversationId) -> Result<(), HistoryError> {
        let changed = self.write(|tx| tx.execute("DELETE FROM conversations WHERE id = ?1", [id]))?;
        if changed == 0 {
            return Err(HistoryError::NotFound(id));
        }
        self.reclaim();
        Ok(())
    }

    /// Deletes every conversation and setting.
    pub fn delete_all(&self) -> Result<(), HistoryError> {
        self.write(|tx| {
            tx.execute("DELETE FROM conversations", [])?;
            tx.execute("DELETE FROM settings", [])
        })?;
        self.reclaim();
        Ok(())
    }

    /// After a delete: moves the WAL's pages into the file and empties the WAL, so deleted
    /// text does not linger in it (`secure_delete` zeroes the freed pages).
    fn reclaim(&self) {
        let conn = self.conn();
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
            tracing::warn!("history: checkpoint after delete failed: {e}");
        }
    }

    /// Saves the person's question (the conversation's title comes from its first one).
    pub fn add_question(&self, id: ConversationId, text: &str) -> Result<MessageId, HistoryError> {
        let now = now_ms();
        let title = auto_title(text);
        let inserted = self.write(|tx| {
            let changed = tx.execute(
                "UPDATE conversations SET updated_at = ?2, title = CASE WHEN title = '' THEN ?3 ELSE title END WHERE id = ?1",
                params![id, now, title],
            )?;
            if changed == 0 {
                return Ok(None);
            }
            tx.execute(
                "INSERT INTO messages (conversation_id, role, text, created_at, state) VALUES (?1, 'user', ?2, ?3, 'complete')",
                params![id, text, now],
            )?;
            Ok(Some(tx.last_insert_rowid()))
        })?;
        inserted.ok_or(HistoryError::NotFound(id))
    }

    /// Starts an answer: saved at once as `interrupted` with no text, so that a crash at any
    /// later moment leaves it marked. [`Self::checkpoint`] saves the text so far;
    /// [`Self::finish_answer`] the end.
    pub fn start_answer(&self, id: ConversationId) -> Result<MessageId, HistoryError> {
        let now = now_ms();
        let inserted = self.write(|tx| {
            if tx.execute("UPDATE conversations SET updated_at = ?2 WHERE id = ?1", params![id, now])? == 0 {
                return Ok(None);
            }
            tx.execute(
                "INSERT INTO messages (conversation_id, role, text, created_at, state) VALUES (?1, 'assistant', '', ?2, 'interrupted')",
                params![id, now],
            )?;
            Ok(Some(tx.last_insert_rowid()))
        })?;
        inserted.ok_or(HistoryError::NotFound(id))
    }

    /// Saves the answer's text so far (it stays marked `interrupted` until finished).
    pub fn checkpoint(&self, message: MessageId, text: &str) -> Result<(), HistoryError> {
        self.write(|tx| tx.execute("UPDATE messages SET text = ?2 WHERE id = ?1 AND state = 'interrupted'", params![message, text]))?;
        Ok(())
    }

    /// Saves the whole answer and how it ended.
    pub fn finish_answer(&self, message: MessageId, text: &str, state: AnswerState, stats: Option<&TurnStats>, error: Option<&str>) -> Result<(), HistoryError> {
        let stats = stats.and_then(|s| serde_json::to_string(s).ok());
        self.write(|tx| {
            tx.execute(
                "UPDATE messages SET text = ?2, state = ?3, stats = ?4, error = ?5 WHERE id = ?1",
                params![message, text, state.as_str(), stats, error],
            )
        })?;
        Ok(())
    }

    /// Saves an answer's token ids as generated (after it ended), for resuming exactly.
    pub fn set_answer_tokens(&self, message: MessageId, tokens: &[i32]) -> Result<(), HistoryError> {
        let blob = encode_tokens(tokens);
        self.write(|tx| tx.execute("UPDATE messages SET tokens = ?2 WHERE id = ?1", params![message, blob]))?;
        Ok(())
    }

    /// The conversation's last answer (for saving its tokens), if the last message is one.
    pub fn last_answer(&self, id: ConversationId) -> Result<Option<MessageId>, HistoryError> {
        let conn = self.conn();
        conn.query_row(
            "SELECT id, role FROM messages WHERE conversation_id = ?1 ORDER BY id DESC LIMIT 1",
            [id],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
        )
        .optional()
        .map(|r| r.filter(|(_, role)| role == "assistant").map(|(id, _)| id))
        .map_err(|e| map_err(&self.path, e))
    }

    /// Removes the last question and its answer (to ask it again); returns the question.
    pub fn retract_last(&self, id: ConversationId) -> Result<Option<String>, HistoryError> {
        self.write(|tx| {
            let last_question: Option<(i64, String)> = tx
                .query_row(
                    "SELECT id, text FROM messages WHERE conversation_id = ?1 AND role = 'user' ORDER BY id DESC LIMIT 1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((qid, text)) = last_question else { return Ok(None) };
            tx.execute("DELETE FROM messages WHERE conversation_id = ?1 AND id >= ?2", params![id, qid])?;
            Ok(Some(text))
        })
    }

    /// The first message of the conversation's last turn the model keeps (see
    /// [`Conversation::turns`]: a question whose answer has text or is complete), and the
    /// question's text: what "ask again" replaces. Later exchanges the model did not keep
    /// (failed, or stopped before the answer began) come after it.
    pub fn last_kept_question(&self, id: ConversationId) -> Result<Option<(MessageId, String)>, HistoryError> {
        let conversation = self.get(id)?;
        let mut question: Option<&Message> = None;
        let mut last = None;
        for m in &conversation.messages {
            match m.role {
                MessageRole::User => question = Some(m),
                MessageRole::Assistant => {
                    if let Some(q) = question.take() {
                        if m.state.kept(&m.text) {
                            last = Some((q.id, q.text.clone()));
                        }
                    }
                }
            }
        }
        Ok(last)
    }

    /// Deletes conversation `id`'s messages with ids in `from..until` (`until`: `None` for all
    /// after `from`), in one transaction.
    pub fn delete_messages(&self, id: ConversationId, from: MessageId, until: Option<MessageId>) -> Result<usize, HistoryError> {
        self.write(|tx| match until {
            Some(until) => tx.execute("DELETE FROM messages WHERE conversation_id = ?1 AND id >= ?2 AND id < ?3", params![id, from, until]),
            None => tx.execute("DELETE FROM messages WHERE conversation_id = ?1 AND id >= ?2", params![id, from]),
        })
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>, HistoryError> {
        let conn = self.conn();
        conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| map_err(&self.path, e))
    }

    pub fn set_setting(&self, key: &str, value: Option<&str>) -> Result<(), HistoryError> {
        self.write(|tx| match value {
            Some(v) => tx.execute("INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2", params![key, v]),
            None => tx.execute("DELETE FROM settings WHERE key = ?1", [key]),
        })?;
        Ok(())
    }

    /// `PRAGMA integrity_check`'s verdict ("ok" when the file is sound).
    pub fn integrity_check(&self) -> Result<String, HistoryError> {
        let conn = self.conn();
        conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(|e| map_err(&self.path, e))
    }
}

fn summary_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ConversationSummary> {
    Ok(ConversationSummary {
        id: r.get(0)?,
        title: r.get(1)?,
        created_at: r.get(2)?,
        updated_at: r.get(3)?,
        has_record: r.get(4)?,
        model: r.get(5)?,
        messages: r.get(6)?,
    })
}

/// A file that exists and is not SQLite is refused before SQLite touches it.
fn check_header(path: &Path) -> Result<(), HistoryError> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Err(HistoryError::ReadOnly { path: path.to_path_buf(), reason: e.to_string() })
        }
        Err(e) => return Err(HistoryError::Io(format!("{}: {e}", path.display()))),
    };
    let mut head = Vec::with_capacity(16);
    file.by_ref().take(16).read_to_end(&mut head).map_err(|e| HistoryError::Io(format!("{}: {e}", path.display())))?;
    // An empty file is what SQLite itself creates before the first write: fine.
    if head.is_empty() || head.as_slice() == SQLITE_MAGIC {
        Ok(())
    } else {
        Err(HistoryError::NotADatabase { path: path.to_path_buf() })
    }
}

fn map_err(path: &Path, e: rusqlite::Error) -> HistoryError {
    use rusqlite::ErrorCode as C;
    let path = path.to_path_buf();
    match e.sqlite_error_code() {
        Some(C::NotADatabase) => HistoryError::NotADatabase { path },
        Some(C::DatabaseCorrupt) => HistoryError::Corrupt { path, detail: e.to_string() },
        Some(C::ReadOnly | C::CannotOpen | C::PermissionDenied) => HistoryError::ReadOnly { path, reason: e.to_string() },
        Some(C::DiskFull) => HistoryError::ReadOnly { path, reason: "the disk is full".into() },
        _ => HistoryError::Io(e.to_string()),
    }
}

/// `%text%` for LIKE, with `%`, `_` and `\` in the text matched literally.
fn like_pattern(q: &str) -> String {
    let mut p = String::with_capacity(q.len() + 2);
    p.push('%');
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// The first line of the first question, shortened at a word.
fn auto_title(text: &str) -> String {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    if line.chars().count() <= TITLE_CHARS {
        return line.to_string();
    }
    let cut: String = line.chars().take(TITLE_CHARS).collect();
    let at_word = cut.rfind(' ').filter(|&i| i > TITLE_CHARS / 2).map_or(cut.as_str(), |i| &cut[..i]);
    format!("{}…", at_word.trim_end_matches([',', '.', ';', ':', ' ']))
}

fn encode_tokens(tokens: &[i32]) -> Vec<u8> {
    tokens.iter().flat_map(|t| t.to_le_bytes()).collect()
}

fn decode_tokens(bytes: &[u8]) -> Vec<i32> {
    bytes.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// Creates the database file (and its folder) readable by the owner only, before SQLite
/// opens it: its journal files take the same permissions. An existing file is left as it is.
fn create_private(path: &Path) -> Result<(), HistoryError> {
    let read_only = |e: std::io::Error| HistoryError::ReadOnly { path: path.to_path_buf(), reason: e.to_string() };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(read_only)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(read_only(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_the_first_line_cut_at_a_word() {
        assert_eq!(auto_title("  What is HDL?\nmore"), "What is HDL?");
        let long = "Could you explain what my thyroid stimulating hormone result of 5.2 means for me";
        let t = auto_title(long);
        assert!(t.ends_with('…') && t.chars().count() <= TITLE_CHARS + 1, "{t}");
        assert!(long.starts_with(t.trim_end_matches('…')), "{t}");
    }

    #[test]
    fn search_patterns_match_wildcards_literally() {
        assert_eq!(like_pattern("5%_a\\"), "%5\\%\\_a\\\\%");
    }

    #[test]
    fn token_blobs_round_trip() {
        let ids = vec![0, 1, 151_643, -1, i32::MAX];
        assert_eq!(decode_tokens(&encode_tokens(&ids)), ids);
    }
}
