//! Whisper and the LLM must never compute at the same time: on a phone (and on 2 cores) they
//! would starve each other. The LLM session marks itself busy here while it answers; optional
//! Whisper work (partial transcripts) checks before it starts.

use std::sync::atomic::{AtomicUsize, Ordering};

static LLM_ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// True while a language-model answer is being computed.
pub fn llm_busy() -> bool {
    LLM_ACTIVE.load(Ordering::Acquire) > 0
}

/// Held by the LLM for the duration of an answer.
#[derive(Debug)]
pub struct LlmBusy(());

impl LlmBusy {
    pub fn enter() -> Self {
        LLM_ACTIVE.fetch_add(1, Ordering::AcqRel);
        Self(())
    }
}

impl Drop for LlmBusy {
    fn drop(&mut self) {
        LLM_ACTIVE.fetch_sub(1, Ordering::AcqRel);
    }
}
