//! Speech recognition with Whisper (whisper.cpp through whisper-rs, on the shared ggml).

pub mod file;
pub mod live;
pub mod model_file;
mod transcriber;
pub mod worker;

pub use live::{listen, AudioInput, ListenControl, ListenHandle, ListenOptions, Listening, PacedWav, VoiceError, VoiceEvent};
pub use model_file::WhisperModelInfo;
pub use worker::{AsrClient, AsrWorker};
pub use transcriber::{Segment, TranscribeOptions, Transcriber, Transcript, MEDICAL_VOCABULARY_HINT};

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AsrError {
    #[error("Whisper model file not found: {0}")]
    NotFound(PathBuf),
    #[error("cannot read Whisper model {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} is not a whisper.cpp ggml model (wrong magic bytes)")]
    NotWhisperModel(PathBuf),
    #[error("{path} is not a usable Whisper model: {reason}")]
    BadModel { path: PathBuf, reason: String },
    #[error("{path} is truncated: it should be {expected} bytes but has {actual}")]
    Truncated { path: PathBuf, expected: u64, actual: u64 },
    #[error("this device's processor cannot run the speech model: it lacks {0}")]
    CpuUnsupported(&'static str),
    #[error("whisper.cpp could not load {path}: {message}")]
    Load { path: PathBuf, message: String },
    #[error(transparent)]
    Worker(#[from] crate::worker::WorkerError),
    #[error("transcription cancelled")]
    Cancelled,
    #[error("transcription failed: {0}")]
    Inference(String),
    #[error(transparent)]
    Audio(#[from] crate::audio::AudioError),
}

impl crate::error::Coded for AsrError {
    fn code(&self) -> crate::error::ErrorCode {
        use crate::error::ErrorCode as C;
        match self {
            Self::NotFound(_) => C::ModelNotFound,
            Self::Io { .. } => C::ModelUnreadable,
            Self::NotWhisperModel(_) => C::ModelWrongFormat,
            Self::BadModel { .. } => C::ModelDamaged,
            Self::Truncated { .. } => C::ModelTruncated,
            Self::Load { .. } => C::ModelLoadFailed,
            Self::CpuUnsupported(_) => C::ModelUnsupported,
            Self::Worker(e) => e.code(),
            Self::Cancelled => C::Cancelled,
            Self::Inference(_) => C::AsrInference,
            Self::Audio(e) => e.code(),
        }
    }
}
