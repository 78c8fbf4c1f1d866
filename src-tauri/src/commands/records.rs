//! A health record attached to the conversation: pinned with the instructions and read into
//! the model's cache as soon as it is attached, so the first task does not wait for it.

use murmur_engine::prompts::{task_message, Task};
use murmur_engine::records::{AnswerCheck, RecordInfo};
use tauri::State;

use super::{blocking, invalid, CmdResult};
use crate::state::AppState;

/// Longest record accepted as text (whether it fits the context is the engine's answer).
pub const MAX_RECORD_BYTES: usize = 512 * 1024;

/// Attaches `text` and reads it into the model now; returns what the parser read of it (the
/// results, the red flags) and whether the model reads only part of it. A record too long
/// for the context even reduced to its results is refused with `llm.record_too_long` (the
/// record attached before stays).
#[tauri::command]
#[specta::specta]
pub async fn record_attach(state: State<'_, AppState>, text: String) -> CmdResult<RecordInfo> {
    if text.len() > MAX_RECORD_BYTES {
        return Err(invalid(format!("the record is larger than {} KB of text", MAX_RECORD_BYTES / 1024)));
    }
    if text.contains('\0') {
        return Err(invalid("this file is not text: open a text file or paste the record"));
    }
    let chat = state.chat.clone();
    blocking(move || chat.attach_record(&text)).await
}

/// The attached record as read (after a conversation is reopened), if there is one.
#[tauri::command]
#[specta::specta]
pub async fn record_current(state: State<'_, AppState>) -> CmdResult<Option<RecordInfo>> {
    let chat = state.chat.clone();
    blocking(move || Ok(chat.record_current())).await
}

/// Checks an answer after it has streamed: numbers not found in the record or in what the
/// person wrote, statuses that contradict the computed ones, dose- and diagnosis-like
/// phrases.
#[tauri::command]
#[specta::specta]
pub async fn answer_check(state: State<'_, AppState>, answer: String) -> CmdResult<AnswerCheck> {
    let chat = state.chat.clone();
    blocking(move || Ok(chat.answer_check(&answer))).await
}

#[tauri::command]
#[specta::specta]
pub async fn record_detach(state: State<'_, AppState>) -> CmdResult<()> {
    let chat = state.chat.clone();
    blocking(move || chat.detach_record()).await
}

/// The words of a task on the attached record ("Explain results", …), to send as a message.
#[tauri::command]
#[specta::specta]
pub fn record_task_message(task: Task, extra: Option<String>) -> String {
    task_message(task, extra.as_deref())
}
