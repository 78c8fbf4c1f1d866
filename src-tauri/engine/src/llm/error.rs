use std::path::PathBuf;

use crate::error::{Coded, ErrorCode};
use crate::worker::WorkerError;

/// Everything that can go wrong in the language-model half of the engine.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("model file not found: {0}")]
    NotFound(PathBuf),
    #[error("cannot read model file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} is not a GGUF model file (wrong magic bytes)")]
    NotGguf(PathBuf),
    #[error("{path} is truncated or corrupt: its tensors need {needed} bytes but the file has {actual}")]
    Truncated { path: PathBuf, needed: u64, actual: u64 },
    #[error("{0} has a damaged GGUF header")]
    BadHeader(PathBuf),
    #[error("model architecture {arch:?} is not supported (supported: {supported})")]
    UnsupportedArchitecture { arch: String, supported: String },
    #[error("llama.cpp could not load {0}")]
    Load(PathBuf),
    #[error("this device's processor cannot run the language model: it lacks {0}")]
    CpuUnsupported(&'static str),
    #[error("could not create an inference context: {0}")]
    Context(String),
    #[error("could not format the conversation with the chat template: {0}")]
    Template(String),
    #[error(
        "the message is too long: it needs {needed} tokens but at most {available} fit in the \
         {n_ctx}-token context next to the system prompt and the answer"
    )]
    MessageTooLong { needed: usize, available: usize, n_ctx: u32 },
    #[error(
        "the attached record is too long for the conversation{}: it takes {record_tokens} tokens, and at \
         most {available} fit in the {n_ctx}-token context next to the instructions, a question and an answer",
        if *.reduced { ", even with only its results and the lines around the flagged ones" } else { "" }
    )]
    RecordTooLong { record_tokens: usize, available: usize, n_ctx: u32, reduced: bool },
    #[error("the assistant's instructions are too long: {tokens} tokens leave no room in the {n_ctx}-token context")]
    InstructionsTooLong { tokens: usize, n_ctx: u32 },
    #[error("inference failed: {0}")]
    Decode(String),
    #[error(transparent)]
    Worker(#[from] WorkerError),
}

impl Coded for LlmError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound(_) => ErrorCode::ModelNotFound,
            Self::Io { .. } => ErrorCode::ModelUnreadable,
            Self::NotGguf(_) => ErrorCode::ModelWrongFormat,
            Self::Truncated { .. } => ErrorCode::ModelTruncated,
            Self::BadHeader(_) => ErrorCode::ModelDamaged,
            Self::UnsupportedArchitecture { .. } => ErrorCode::ModelUnsupported,
            Self::Load(_) => ErrorCode::ModelLoadFailed,
            Self::CpuUnsupported(_) => ErrorCode::ModelUnsupported,
            Self::Context(_) => ErrorCode::LlmContext,
            Self::Template(_) => ErrorCode::LlmTemplate,
            Self::MessageTooLong { .. } => ErrorCode::MessageTooLong,
            Self::RecordTooLong { .. } => ErrorCode::RecordTooLong,
            Self::InstructionsTooLong { .. } => ErrorCode::InstructionsTooLong,
            Self::Decode(_) => ErrorCode::LlmInference,
            Self::Worker(e) => e.code(),
        }
    }
}
