//! The IPC layer, one file per domain. Each command validates its input, makes one call into
//! the engine (the conversation's verbs are the [`murmur_engine::controller::Controller`]'s),
//! forwards streams to a `Channel` (about one message per frame) and returns engine errors as
//! `{code, message}`; no product logic lives here. Every command that touches the engine, the
//! disk or the model queue runs off the main thread (async, the work in [`blocking`]); a
//! test holds the synchronous ones to a short allow-list.

pub mod chat;
pub mod conversations;
pub mod list;
pub mod models;
pub mod records;
pub mod settings;
pub mod voice;

use std::time::Duration;

use murmur_engine::llm::ChatEvent;
use murmur_engine::{EngineError, ErrorCode, Sink};
use tauri::ipc::Channel;

/// Streams are coalesced to about one message per display frame.
pub const FRAME: Duration = Duration::from_millis(16);

pub type CmdResult<T> = Result<T, EngineError>;

pub fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::new(ErrorCode::InvalidInput, message)
}

/// Runs blocking engine work (model loading, priming, file hashing) off the IPC thread.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> CmdResult<T> + Send + 'static) -> CmdResult<T> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| EngineError::new(ErrorCode::WorkerStopped, format!("background task failed: {e}")))?
}

/// An answer's stream to the window: tokens coalesced to about one message per frame.
pub fn answer_stream(events: Channel<ChatEvent>) -> Sink<ChatEvent> {
    let mut coalesced = Sink::coalescing(FRAME, move |e: ChatEvent| {
        if matches!(e, ChatEvent::Token(_)) {
            crate::measure::token_sent();
        }
        let _ = events.send(e);
    });
    Sink::new(move |e: ChatEvent| {
        if matches!(e, ChatEvent::Token(_)) {
            crate::measure::token_emitted();
        }
        coalesced.send(e);
    })
}
