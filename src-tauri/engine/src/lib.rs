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
//! - [`ggml`]: proof that llama.cpp and whisper.cpp share one ggml.

pub mod asr;
pub mod audio;
pub mod cancel;
pub mod gate;
pub mod ggml;
pub mod llm;
pub mod models;
pub mod platform;
pub mod prompts;

pub use cancel::CancelToken;
