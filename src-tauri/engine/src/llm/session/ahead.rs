//! Reading ahead: the system message before the first question (priming), what the next
//! question certainly starts with, and a whole question during a pause.

use llama_cpp_2::token::LlamaToken;

use super::{system_room, ChatSession, MIN_TURN_ROOM};
use crate::llm::LlmError;
use crate::CancelToken;

impl ChatSession<'_> {
    /// Prepares the KV cache for the first question of a conversation: it holds exactly the
    /// system prompt (and record) afterwards, so the question costs only its own tokens.
    /// Call it while the person is still speaking or typing.
    pub fn prime(&mut self, cancel: &CancelToken) -> Result<(), LlmError> {
        // Priming computes like an answer: Whisper's optional work waits while it runs.
        let _busy = crate::gate::LlmBusy::enter();
        let tokens = self.system_tokens()?;
        let n_ctx = self.ctx.n_ctx() as usize;
        if tokens.len() > system_room(n_ctx) {
            return Err(self.too_long_error(tokens.len(), n_ctx));
        }
        let mut keep = self.reuse_prefix(&tokens)?;
        // Mid-conversation (a voice follow-up), the cache holds the system prompt and the
        // conversation after it: keep it all, the next question reuses it.
        if keep == tokens.len() && !self.turns.is_empty() {
            return Ok(());
        }
        if keep < self.cached.len() {
            keep = self.truncate_cache(keep)?;
        }
        self.prefill(&tokens[keep..], false, cancel)?;
        Ok(())
    }

    /// Decodes now what the next question's prompt will certainly start with, so that only a
    /// few tokens are left when it comes: the template's closing tokens after the last answer
    /// and the next user header, plus `user_so_far` (the words of a partial transcript,
    /// or of text being typed) without its last token (the word may go on). A question that
    /// turns out different rolls the cache back to the first differing token: never a wrong
    /// cache, at worst lost work. Returns the tokens decoded. Does nothing when off, or when
    /// the conversation would have to drop turns to fit (the question decides that).
    pub fn prefill_ahead(&mut self, user_so_far: Option<&str>, cancel: &CancelToken) -> Result<usize, LlmError> {
        if !self.prefill_ahead {
            return Ok(0);
        }
        let _busy = crate::gate::LlmBusy::enter();
        let text = user_so_far.map(str::trim).unwrap_or("");
        // Two continuations that share nothing: the tokens they share are certain.
        let (x, y) = if text.is_empty() { ("x".to_string(), "?".to_string()) } else { (format!("{text} x"), format!("{text}?")) };
        let a = self.conversation_tokens(0, Some(&x))?;
        let b = self.conversation_tokens(0, Some(&y))?;
        let n_ctx = self.ctx.n_ctx() as usize;
        if a.len() + MIN_TURN_ROOM.max(n_ctx / 4) > n_ctx {
            return Ok(0);
        }
        let mut stable = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
        if !text.is_empty() {
            stable = stable.saturating_sub(1);
        }
        let tokens = &a[..stable];
        let mut keep = self.reuse_prefix(tokens)?;
        // Superseded already (a newer partial, recording stopped): leave the cache as it is.
        if keep == tokens.len() || cancel.is_cancelled() {
            return Ok(0);
        }
        if keep < self.cached.len() {
            keep = self.truncate_cache(keep)?;
        }
        let before = self.cached.len();
        self.abortable(cancel, |s| s.prefill(&tokens[keep..], false, cancel))?;
        Ok(self.cached.len() - before)
    }

    /// Decodes a whole question ahead, up to the opened answer, with the logits of its last
    /// token: for a transcript that is final unless the person speaks again (a pause,
    /// [`crate::asr::VoiceEvent::Paused`]). If `user` is then asked, the answer starts without
    /// decoding anything; if not, the next question rolls the cache back to where they part.
    /// Returns the tokens decoded. Does nothing when decoding ahead is off, or when the
    /// question would not fit without dropping turns (the question decides that).
    pub fn prefill_question(&mut self, user: &str, cancel: &CancelToken) -> Result<usize, LlmError> {
        if !self.prefill_ahead {
            return Ok(0);
        }
        let _busy = crate::gate::LlmBusy::enter();
        let tokens = self.conversation_tokens(0, Some(user))?;
        let n_ctx = self.ctx.n_ctx() as usize;
        if tokens.len() + MIN_TURN_ROOM.max(n_ctx / 4) > n_ctx || cancel.is_cancelled() {
            return Ok(0);
        }
        if self.answer_ready(&tokens) {
            return Ok(0);
        }
        // At least the last token is decoded again, for its logits.
        let mut keep = self.reuse_prefix(&tokens)?.min(tokens.len() - 1);
        if keep < self.cached.len() {
            keep = self.truncate_cache(keep)?;
        }
        let before = self.cached.len();
        if self.abortable(cancel, |s| s.prefill(&tokens[keep..], true, cancel))? {
            self.logits_ready = Some((self.cached.len(), self.batch.n_tokens() - 1));
        }
        Ok(self.cached.len() - before)
    }

    /// Whether the cache is exactly `tokens` with the last one's logits at hand.
    pub(super) fn answer_ready(&self, tokens: &[LlamaToken]) -> bool {
        self.logits_ready.is_some_and(|(len, _)| len == tokens.len()) && self.cached == tokens
    }
}
