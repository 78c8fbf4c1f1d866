//! Asking, streaming, stopping, asking again, starting over: the conversation controller's
//! verbs.

use murmur_engine::llm::{ChatEvent, SessionSnapshot};
use tauri::ipc::Channel;
use tauri::State;

use super::{answer_stream, blocking, invalid, CmdResult};
use crate::state::AppState;

/// Longest typed message accepted (a record goes through `record_attach`).
pub const MAX_MESSAGE_CHARS: usize = 20_000;

fn check_length(text: &str) -> CmdResult<()> {
    if text.chars().count() > MAX_MESSAGE_CHARS {
        return Err(invalid(format!("the message is longer than {MAX_MESSAGE_CHARS} characters; attach long text as a record")));
    }
    Ok(())
}

/// Asks `text`; the answer streams on `events` and ends with `done` or `error`.
#[tauri::command]
#[specta::specta]
pub async fn chat_send(state: State<'_, AppState>, text: String, events: Channel<ChatEvent>) -> CmdResult<()> {
    check_length(&text)?;
    let (chat, sampling) = (state.chat.clone(), state.settings().sampling());
    blocking(move || chat.ask(&text, sampling, answer_stream(events))).await
}

/// The person is typing `text`: the model reads its finished words now, so that a question
/// costs only its last words when it is sent. Nothing is said, kept or saved. Ignored while an
/// answer is being written or no model is loaded. Quick: it only queues the reading.
#[tauri::command]
#[specta::specta]
pub fn chat_typing(state: State<'_, AppState>, text: String) -> CmdResult<()> {
    if text.chars().count() <= MAX_MESSAGE_CHARS {
        state.chat.typing(&text);
    }
    Ok(())
}

/// Stops the answer in progress at once (also while the question is being read), the voice
/// turn and the reading of a record.
#[tauri::command]
#[specta::specta]
pub fn chat_stop(state: State<'_, AppState>) -> CmdResult<()> {
    state.chat.stop();
    Ok(())
}

/// Asks the last question again; its answer is replaced once the new one exists.
#[tauri::command]
#[specta::specta]
pub async fn chat_regenerate(state: State<'_, AppState>, events: Channel<ChatEvent>) -> CmdResult<()> {
    let (chat, sampling) = (state.chat.clone(), state.settings().sampling());
    blocking(move || chat.regenerate(sampling, answer_stream(events))).await
}

/// Starts a new conversation (the record and the instructions stay; it is saved with its
/// first question).
#[tauri::command]
#[specta::specta]
pub async fn chat_new(state: State<'_, AppState>) -> CmdResult<()> {
    let chat = state.chat.clone();
    blocking(move || chat.new_conversation()).await
}

/// The conversation as the model holds it.
#[tauri::command]
#[specta::specta]
pub async fn chat_snapshot(state: State<'_, AppState>) -> CmdResult<SessionSnapshot> {
    let chat = state.chat.clone();
    blocking(move || chat.snapshot()).await
}
