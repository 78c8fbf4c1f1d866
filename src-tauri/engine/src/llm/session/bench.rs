//! Benchmark hooks: prefill and generation speed measured on the session's own context.

use std::time::Instant;

use llama_cpp_2::token::LlamaToken;

use super::decode::argmax;
use super::{pos, ChatSession};
use crate::llm::utf8::Utf8Stream;
use crate::llm::LlmError;
use crate::CancelToken;

impl ChatSession<'_> {
    /// Benchmark: prefills `n` tokens into an empty cache in chunks of `n_batch`, as a prompt
    /// would be; returns the seconds taken. The cache is empty afterwards.
    pub fn bench_prefill(&mut self, n: usize) -> Result<f64, LlmError> {
        let tokens = self.bench_tokens(n);
        self.reset_cache();
        let start = Instant::now();
        self.prefill(&tokens, true, &CancelToken::new())?;
        let secs = start.elapsed().as_secs_f64();
        self.reset_cache();
        Ok(secs)
    }

    /// Benchmark: generates `n` tokens one by one after a one-token prompt, with the same
    /// sampling and detokenising as an answer (greedy); returns the seconds taken by the `n`.
    pub fn bench_generate(&mut self, n: usize) -> Result<f64, LlmError> {
        let first = self.bench_tokens(1);
        self.reset_cache();
        self.prefill(&first, true, &CancelToken::new())?;
        let vocab = self.model.model.vocab();
        let mut utf8 = Utf8Stream::new();
        let mut text = String::new();
        let mut logits_index = self.batch.n_tokens() - 1;
        let start = Instant::now();
        for _ in 0..n {
            // As llama-bench does, keep going whatever the model "wants" (no stop on EOG).
            let token = argmax(self.ctx.get_logits_ith(logits_index));
            utf8.push(&vocab.token_to_piece(token, false, None), &mut text);
            text.clear();
            self.batch.clear();
            self.batch.add(token, pos(self.cached.len()), &[0], true).map_err(|e| LlmError::Decode(e.to_string()))?;
            self.ctx.decode(&mut self.batch).map_err(|e| LlmError::Decode(e.to_string()))?;
            self.cached.push(token);
            logits_index = 0;
        }
        let secs = start.elapsed().as_secs_f64();
        self.reset_cache();
        Ok(secs)
    }

    /// Ordinary text tokens (no special tokens), `n` of them.
    pub(super) fn bench_tokens(&self, n: usize) -> Vec<LlamaToken> {
        let base = self.tokenize_text("The patient's lipid panel shows total cholesterol, LDL, HDL and triglycerides. ");
        base.iter().copied().cycle().take(n).collect()
    }
}
