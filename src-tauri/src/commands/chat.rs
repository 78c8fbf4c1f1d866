//! Asking, streaming, stopping, regenerating, starting over.

use std::sync::atomic::Ordering;

use murmur_engine::llm::{ChatEvent, SessionSnapshot};
use murmur_engine::{EngineError, Sink};
use tauri::ipc::Channel;
use tauri::State;

use super::{invalid, CmdResult, FRAME};
use crate::state::{lock, AppState};

/// Longest typed message accepted (a record goes through `record_attach`).
pub const MAX_MESSAGE_CHARS: usize = 20_000;

/// Asks `text`; the answer streams on `events` and ends with `done` or `error`.
#[tauri::command]
#[specta::specta]
pub fn chat_send(state: State<'_, AppState>, text: String, events: Channel<ChatEvent>) -> CmdResult<()> {
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(invalid("the message is empty"));
    }
    if text.chars().count() > MAX_MESSAGE_CHARS {
        return Err(invalid(format!("the message is longer than {MAX_MESSAGE_CHARS} characters; attach long text as a record")));
    }
    ask(&state, text, events)
}

fn ask(state: &AppState, text: String, events: Channel<ChatEvent>) -> CmdResult<()> {
    let llm = state.llm()?;
    let saved = state.saved_conversation()?;
    let (cancel, streaming) = state.begin_answer()?;
    let sampling = state.settings().sampling();
    let mut coalesced = Sink::coalescing(FRAME, move |e: ChatEvent| {
        if matches!(e, ChatEvent::Done(_) | ChatEvent::Error(_)) {
            streaming.store(false, Ordering::Release);
        }
        if matches!(e, ChatEvent::Token(_)) {
            crate::measure::token_sent();
        }
        let _ = events.send(e);
    });
    let sink = Sink::new(move |e: ChatEvent| {
        if matches!(e, ChatEvent::Token(_)) {
            crate::measure::token_emitted();
        }
        coalesced.send(e);
    });
    match saved {
        // Saved as it streams; the KV state is written after the answer.
        Some((history, id)) => history.ask(&llm, id, &text, sampling, cancel, sink).map(|_saving| ()),
        None => llm.send(text, sampling, cancel, sink).map_err(|e| EngineError::from_coded(&e)),
    }
}

/// The person is typing `text`: the model reads its complete words now (after the
/// conversation so far), so that a question costs only its last words when it is sent. Nothing
/// is said, kept or saved; a question that turns out different is read again from its first
/// difference. Ignored while an answer is being written or no model is loaded.
#[tauri::command]
#[specta::specta]
pub fn chat_typing(state: State<'_, AppState>, text: String) -> CmdResult<()> {
    let Some(words) = complete_words(&text) else { return Ok(()) };
    let answering = lock(&state.answer).as_ref().is_some_and(|(_, streaming)| streaming.load(Ordering::Acquire));
    let Ok(llm) = state.llm() else { return Ok(()) };
    if answering || words.chars().count() > MAX_MESSAGE_CHARS {
        return Ok(());
    }
    let cancel = murmur_engine::CancelToken::new();
    if let Some(previous) = lock(&state.typing).replace(cancel.clone()) {
        previous.cancel();
    }
    llm.prefill_ahead(Some(words.to_string()), cancel).map_err(|e| EngineError::from_coded(&e))
}

/// The words of `text` that are finished (followed by a space), if any.
fn complete_words(text: &str) -> Option<&str> {
    let text = text.trim_start();
    let end = text.rfind(char::is_whitespace)?;
    Some(text[..end].trim_end()).filter(|w| !w.is_empty())
}

/// Stops the answer in progress, at once (also while the question is being read).
#[tauri::command]
#[specta::specta]
pub fn chat_stop(state: State<'_, AppState>) -> CmdResult<()> {
    stop_all(&state);
    Ok(())
}

/// Stops the answer, the voice turn and the reading of a record, if any.
pub fn stop_all(state: &AppState) {
    if let Some((cancel, _)) = lock(&state.answer).as_ref() {
        cancel.cancel();
    }
    if let Some(turn) = lock(&state.voice).as_ref() {
        turn.cancel();
    }
    if let Some(priming) = lock(&state.priming).as_ref() {
        priming.cancel();
    }
    if let Some(typing) = lock(&state.typing).take() {
        typing.cancel();
    }
}

/// Asks the last question again (its answer is replaced).
#[tauri::command]
#[specta::specta]
pub fn chat_regenerate(state: State<'_, AppState>, events: Channel<ChatEvent>) -> CmdResult<()> {
    let llm = state.llm()?;
    let last = llm.retract_last().map_err(|e| EngineError::from_coded(&e))?.ok_or_else(|| invalid("there is no answer to write again"))?;
    if let (Ok(history), Some(id)) = (state.history(), *lock(&state.conversation)) {
        history.db.retract_last(id).map_err(|e| EngineError::from_coded(&e))?;
    }
    ask(&state, last.user, events)
}

/// Starts a new conversation (the record and the instructions stay; it is saved with its
/// first question).
#[tauri::command]
#[specta::specta]
pub fn chat_new(state: State<'_, AppState>) -> CmdResult<()> {
    stop_all(&state);
    *lock(&state.conversation) = None;
    state.llm()?.clear_history().map_err(|e| EngineError::from_coded(&e))
}

/// The conversation as the model holds it.
#[tauri::command]
#[specta::specta]
pub fn chat_snapshot(state: State<'_, AppState>) -> CmdResult<SessionSnapshot> {
    state.llm()?.snapshot().map_err(|e| EngineError::from_coded(&e))
}

#[cfg(test)]
mod tests {
    use super::complete_words;

    #[test]
    fn only_finished_words_are_read_ahead() {
        assert_eq!(complete_words("What does"), Some("What"));
        assert_eq!(complete_words("What does "), Some("What does"));
        assert_eq!(complete_words("  What  does a high"), Some("What  does a"));
        assert_eq!(complete_words("What"), None);
        assert_eq!(complete_words("   "), None);
        assert_eq!(complete_words(""), None);
    }
}
