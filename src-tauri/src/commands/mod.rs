//! The IPC layer, one file per domain. Each command validates its input, calls the engine,
//! forwards streams to a `Channel` (about one message per frame) and returns engine errors as
//! `{code, message}`; no product logic lives here.

pub mod chat;
pub mod conversations;
pub mod list;
pub mod models;
pub mod records;
pub mod settings;
pub mod voice;

use std::time::Duration;

use murmur_engine::{EngineError, ErrorCode};

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
