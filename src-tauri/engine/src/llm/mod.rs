//! The language model: GGUF loading, chat sessions with KV-cache reuse, streaming, and the
//! worker thread that owns them.

pub mod draft;
mod error;
pub mod gguf;
mod model;
pub mod sampling;
pub mod session;
pub mod template;
pub mod utf8;
pub mod worker;

pub use error::LlmError;
pub use gguf::GgufInfo;
pub use model::LlmModel;
pub use sampling::SamplingParams;
pub use session::{ChatSession, ExactTurn, FinishReason, SessionOptions, Turn, TurnEvent, TurnStats};
pub use worker::{ChatEvent, LlmClient, LlmInfo, LlmWorker, SessionSnapshot};
