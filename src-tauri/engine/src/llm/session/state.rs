//! Saving the KV cache beside a conversation and loading it back.

use llama_cpp_2::context::session::LlamaStateSeqFlags;
use llama_cpp_2::token::LlamaToken;

use super::ChatSession;
use crate::store::SavedState;

impl ChatSession<'_> {
    /// The KV cache's state and the tokens it holds, to save beside the conversation
    /// ([`crate::store::KvCacheDir`]); `None` when the cache is empty, or right after old
    /// turns were dropped and the cache shifted, until the next decode applies the shift (the
    /// saved data would not match their positions).
    pub fn save_state(&self) -> Option<SavedState> {
        if self.cached.is_empty() || self.shift_pending {
            return None;
        }
        let flags = LlamaStateSeqFlags::empty();
        let size = self.ctx.state_seq_get_size_ext(0, flags);
        let mut data = vec![0u8; size];
        // SAFETY: `data` holds the size llama.cpp asked for.
        let written = unsafe { self.ctx.state_seq_get_data_ext(data.as_mut_ptr(), 0, flags) };
        if written == 0 || written > size {
            tracing::warn!("could not read the KV cache's state");
            return None;
        }
        data.truncate(written);
        Some(SavedState {
            fingerprint: *self.model.fingerprint(),
            n_ctx: self.n_ctx(),
            tokens: self.cached.iter().map(|t| t.0).collect(),
            data,
        })
    }

    /// Loads a state saved by [`Self::save_state`] into the KV cache, so the conversation
    /// continues without re-reading what the state holds. Only a state of this model and
    /// context size, with tokens of this vocabulary, is loaded; anything else returns `false`
    /// (a state llama.cpp refuses leaves an empty cache): the conversation is then
    /// read again, as if there had been no file (an unsound state leaves the cache as it was).
    pub fn load_state(&mut self, state: &SavedState) -> bool {
        let n_vocab = self.model.model.n_vocab();
        let sound = &state.fingerprint == self.model.fingerprint()
            && state.n_ctx == self.n_ctx()
            && !state.tokens.is_empty()
            && state.tokens.len() < self.n_ctx() as usize
            && state.tokens.iter().all(|&t| (0..n_vocab).contains(&t));
        if !sound {
            return false;
        }
        self.logits_ready = None;
        self.ctx.clear_kv_cache();
        self.shift_pending = false;
        self.cached.clear();
        // SAFETY: the bytes were produced by `save_state` for this model file and context
        // size (fingerprint and checksum checked by the caller's store); llama.cpp checks the
        // layout again and refuses a mismatch.
        let loaded = unsafe { self.ctx.state_seq_set_data_ext(&state.data, 0, LlamaStateSeqFlags::empty()) };
        if !loaded {
            tracing::info!("llama.cpp refused a saved KV state; the conversation will be read again");
            self.ctx.clear_kv_cache();
            self.shift_pending = false;
            return false;
        }
        self.cached = state.tokens.iter().map(|&t| LlamaToken(t)).collect();
        true
    }
}
