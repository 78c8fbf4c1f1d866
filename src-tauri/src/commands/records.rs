//! A health record attached to the conversation: pinned with the instructions and read into
//! the model's cache as soon as it is attached, so the first task does not wait for it.

use murmur_engine::prompts::{task_message, Task};
use murmur_engine::records::{check_answer, AnswerCheck, IssueKind, ParsedRecord, RecordInfo};
use murmur_engine::{CancelToken, EngineError};
use tauri::State;

use super::{blocking, invalid, CmdResult};
use crate::state::{lock, AppState};

/// Longest record accepted as text (whether it fits the context is the engine's answer).
pub const MAX_RECORD_BYTES: usize = 512 * 1024;

/// Attaches `text` and reads it into the model now; returns what the parser read of it (the
/// results, the red flags) and whether the model reads only part of it. A record too long
/// for the context even reduced to its results is refused with `llm.record_too_long` (and
/// stays detached).
#[tauri::command]
#[specta::specta]
pub async fn record_attach(state: State<'_, AppState>, text: String) -> CmdResult<RecordInfo> {
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(invalid("the record is empty"));
    }
    if text.len() > MAX_RECORD_BYTES {
        return Err(invalid(format!("the record is larger than {} KB of text", MAX_RECORD_BYTES / 1024)));
    }
    if text.contains('\0') {
        return Err(invalid("this file is not text: open a text file or paste the record"));
    }
    let llm = state.llm()?;
    llm.set_record(Some(text.clone())).map_err(|e| EngineError::from_coded(&e))?;
    // Stop (chat_stop) cancels the reading; the record stays attached and is read with the
    // next question instead.
    let cancel = CancelToken::new();
    *lock(&state.priming) = Some(cancel.clone());
    let primed = {
        let llm = llm.clone();
        blocking(move || llm.prime_wait(cancel)).await
    };
    lock(&state.priming).take();
    if let Err(e) = primed {
        let _ = llm.set_record(None);
        return Err(e);
    }
    let reduced = llm.snapshot().map_err(|e| EngineError::from_coded(&e))?.record_reduced;
    let info = RecordInfo::of(&text, reduced);
    remember(&state, Some(text))?;
    Ok(info)
}

/// The attached record as read (after a conversation is reopened), if there is one.
#[tauri::command]
#[specta::specta]
pub fn record_current(state: State<'_, AppState>) -> CmdResult<Option<RecordInfo>> {
    let Some(text) = lock(&state.record).clone() else {
        return Ok(None);
    };
    // The red flags must not depend on the model: without it, "reduced" is simply not known.
    let reduced = state.llm().ok().and_then(|llm| llm.snapshot().ok()).is_some_and(|s| s.record_reduced);
    Ok(Some(RecordInfo::of(&text, reduced)))
}

/// Checks an answer after it has streamed: numbers not found in the record or in what the
/// person wrote, statuses that contradict the computed ones, dose- and diagnosis-like
/// phrases. Without a record only the phrases are checked (there is nothing to hold numbers
/// against).
#[tauri::command]
#[specta::specta]
pub fn answer_check(state: State<'_, AppState>, answer: String) -> CmdResult<AnswerCheck> {
    let record = lock(&state.record).clone();
    let questions: Vec<String> = state.llm()?.snapshot().map_err(|e| EngineError::from_coded(&e))?.turns.into_iter().map(|t| t.user).collect();
    let asked: Vec<&str> = questions.iter().map(String::as_str).collect();
    let (parsed, text) = match &record {
        Some(text) => (murmur_engine::records::parse(text), text.as_str()),
        None => (ParsedRecord::default(), ""),
    };
    let mut check = check_answer(&answer, &parsed, text, &asked);
    if record.is_none() {
        check.issues.retain(|i| i.kind != IssueKind::UnmatchedNumber);
        check.numbers_checked = 0;
    }
    Ok(check)
}

/// Keeps the record with the open conversation (saved with it).
fn remember(state: &AppState, record: Option<String>) -> CmdResult<()> {
    if let (Ok(history), Some(id)) = (state.history(), *lock(&state.conversation)) {
        history.db.set_record(id, record.as_deref()).map_err(|e| EngineError::from_coded(&e))?;
    }
    *lock(&state.record) = record;
    Ok(())
}

#[tauri::command]
#[specta::specta]
pub fn record_detach(state: State<'_, AppState>) -> CmdResult<()> {
    state.llm()?.set_record(None).map_err(|e| EngineError::from_coded(&e))?;
    remember(&state, None)
}

/// The words of a task on the attached record ("Explain results", …), to send as a message.
#[tauri::command]
#[specta::specta]
pub fn record_task_message(task: Task, extra: Option<String>) -> String {
    task_message(task, extra.as_deref())
}
