//! Murmur's on-device engine: Whisper speech recognition and a streaming Qwen2.5 chat session,
//! in one process, on one ggml. Knows nothing of Tauri: the app crate and the `murmur` CLI are
//! thin layers over this crate.
//!
//! - [`llm`]: GGUF model loading, chat sessions with KV-cache prefix reuse, token streaming,
//!   cancellation, and the worker thread that owns them.
//! - [`asr`]: the Whisper transcriber, its worker thread, and live listening (partials, final).
//! - [`audio`]: microphone capture, resampling, voice activity, level meter, WAV files.
//! - [`models`]: the model catalog, the store, resumable verified downloads, imports.
//! - [`prompts`]: the health-records assistant's system and task prompts.
//! - [`records`]: lab reports read by code (values, ranges, statuses), red flags, the answer check.
//! - [`store`]: conversation history (SQLite) and the KV-cache files that resume it.
//! - [`voice`]: the voice turn (prime while listening → final transcript → answer).
//! - [`controller`]: the one owner of the open conversation and its verbs (ask, ask again,
//!   stop, records, new/open/delete, model loads, the voice turn): the app and the CLI sit on it.
//! - [`ggml`]: proof that llama.cpp and whisper.cpp share one ggml.
//!
//! Shared shapes: [`worker`] (one thread per model or device, with cancel and a drop that
//! never blocks on queued work), [`stream`] (event sinks that always end with one done or
//! error), [`error`] (the `{code, message}` every error becomes at the app boundary).

pub mod asr;
pub mod audio;
pub mod cancel;
pub mod controller;
pub mod error;
pub mod gate;
pub mod ggml;
pub mod llm;
pub mod models;
pub mod platform;
pub mod private_fs;
pub mod prompts;
pub mod records;
pub mod settings;
pub mod store;
pub mod stream;
pub mod voice;
pub mod worker;

pub use cancel::CancelToken;
pub use error::{EngineError, ErrorCode};
pub use stream::Sink;

#[cfg(test)]
mod tests {
    /// What the app keeps in its state and uses from command threads must be shareable.
    #[test]
    fn handles_are_send_and_sync() {
        fn shareable<T: Send + Sync>() {}
        fn sendable<T: Send>() {}
        shareable::<crate::llm::LlmWorker>();
        shareable::<crate::llm::LlmClient>();
        shareable::<crate::asr::AsrWorker>();
        shareable::<crate::asr::AsrClient>();
        shareable::<crate::asr::Listening>();
        shareable::<crate::asr::ListenHandle>();
        shareable::<crate::voice::VoiceTurn>();
        shareable::<crate::voice::VoiceTurnHandle>();
        shareable::<crate::models::Downloader>();
        shareable::<crate::controller::Controller>();
        sendable::<crate::audio::capture::Capture>();
        sendable::<crate::Sink<crate::llm::ChatEvent>>();
    }
}
