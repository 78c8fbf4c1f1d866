//! The KV cache: what it holds (`cached`), cutting it back, shifting it over dropped turns,
//! and reading (prefilling) tokens into it, abortably.

use llama_cpp_2::token::LlamaToken;

use super::plan::{self, CachePlan};
use super::{pos, ChatSession};
use crate::llm::LlmError;
use crate::CancelToken;

impl ChatSession<'_> {
    /// Drops from the cache whatever follows the conversation's last answer (a question asked
    /// and retracted, a read-ahead): the cache as right after that answer. For benchmarks.
    pub fn truncate_to_history(&mut self) -> Result<(), LlmError> {
        let tokens = self.conversation_tokens(0, None)?;
        let keep = self.reuse_prefix(&tokens)?;
        if keep < self.cached.len() {
            self.truncate_cache(keep)?;
        }
        Ok(())
    }

    /// Empties the KV cache (the conversation is kept and will be read again in full).
    pub fn reset_cache(&mut self) {
        self.logits_ready = None;
        self.ctx.clear_kv_cache();
        self.shift_pending = false;
        self.cached.clear();
    }

    /// Length of the common prefix of the cache and `tokens`.
    pub(super) fn reuse_prefix(&self, tokens: &[LlamaToken]) -> Result<usize, LlmError> {
        Ok(plan::common_prefix(&self.cached, tokens))
    }

    /// Whether the cache's entries can be moved to other positions (llama.cpp's K-shift: RoPE
    /// models with one position per embedding, 16-bit or quantized cache alike).
    pub(super) fn can_shift(&self) -> bool {
        #[cfg(test)]
        if self.refuse_partial_removal {
            return false;
        }
        // SAFETY: the context is valid for `self`'s lifetime; its memory is owned by it.
        unsafe {
            let mem = llama_cpp_sys_2::llama_get_memory(self.ctx.as_raw());
            !mem.is_null() && llama_cpp_sys_2::llama_memory_can_shift(mem)
        }
    }

    /// Makes the cache the start of `tokens`, reusing what it holds of them: at most
    /// `max_reuse` tokens, in place or — with `shift_after` = `Some(pinned)`, after dropped
    /// turns — the part after the pinned system message moved back over what was dropped
    /// ([`plan::plan`]). Returns how many tokens of `tokens` the cache holds afterwards.
    pub(super) fn reuse_for(&mut self, tokens: &[LlamaToken], max_reuse: usize, shift_after: Option<usize>) -> Result<usize, LlmError> {
        let shift_after = shift_after.filter(|_| self.can_shift());
        let plan = plan::plan(&self.cached, tokens, max_reuse, shift_after);
        match plan.shift {
            Some(_) => self.shift_cache(plan),
            None if plan.keep < self.cached.len() => self.truncate_cache(plan.keep),
            None => Ok(plan.keep),
        }
    }

    /// Applies a plan with a shift: removes the entries after the moved run and those between
    /// the kept ones and the run, then moves the run back. Falls back to cutting the cache at
    /// `keep` if llama.cpp refuses a removal. Returns the tokens the cache holds.
    fn shift_cache(&mut self, plan: CachePlan) -> Result<usize, LlmError> {
        let Some(shift) = plan.shift else { return self.truncate_cache(plan.keep) };
        self.logits_ready = None;
        let to_u32 = |n: usize| u32::try_from(n).map_err(|e| LlmError::Decode(e.to_string()));
        let (keep, from, end) = (to_u32(plan.keep)?, to_u32(shift.from)?, to_u32(shift.from + shift.len)?);
        let delta = i32::try_from(plan.delta()).map_err(|e| LlmError::Decode(e.to_string()))?;
        let tail = self.ctx.clear_kv_cache_seq(Some(0), Some(end), None);
        let gap = self.ctx.clear_kv_cache_seq(Some(0), Some(keep), Some(from));
        if !matches!((tail, gap), (Ok(true), Ok(true))) {
            tracing::debug!("KV cache entries could not be removed for a shift; cutting the cache instead");
            return self.truncate_cache(plan.keep);
        }
        if self.ctx.kv_cache_seq_add(0, Some(from), Some(end), -delta).is_err() {
            return self.truncate_cache(plan.keep);
        }
        // llama.cpp rotates the moved keys at the next decode: until then the cache's data do
        // not match its positions, and it must not be saved.
        self.shift_pending = true;
        self.cached.drain(plan.keep..shift.from);
        self.cached.truncate(plan.reused());
        tracing::debug!(kept = plan.keep, moved = shift.len, by = delta, "KV cache shifted over dropped turns");
        Ok(plan.reused())
    }

    /// Drops cache entries from position `keep` on. Returns how many tokens the cache really
    /// keeps: `keep`, or 0 when the model's cache cannot be partially removed and had to be
    /// emptied (callers must then prefill from the start).
    pub(super) fn truncate_cache(&mut self, keep: usize) -> Result<usize, LlmError> {
        self.logits_ready = None;
        let p0 = u32::try_from(keep).map_err(|e| LlmError::Decode(e.to_string()))?;
        #[cfg(test)]
        let refused = self.refuse_partial_removal && keep > 0;
        #[cfg(not(test))]
        let refused = false;
        let removed = if refused { Ok(false) } else { self.ctx.clear_kv_cache_seq(Some(0), Some(p0), None) };
        match removed {
            Ok(true) => {
                self.cached.truncate(keep);
                Ok(keep)
            }
            Ok(false) | Err(_) => {
                // Partial removal unsupported (e.g. recurrent models): start from an empty cache.
                tracing::debug!("KV cache cannot be partially removed; emptied it");
                self.ctx.clear_kv_cache();
                self.shift_pending = false;
                self.cached.clear();
                Ok(0)
            }
        }
    }

    /// Removes KV entries from position `keep` on when `cached` already ends at or before
    /// `keep` (entries decoded but not recorded: rejected or unused drafts).
    pub(super) fn truncate_cache_tail(&mut self, keep: usize) -> Result<(), LlmError> {
        self.logits_ready = None;
        let p0 = u32::try_from(keep).map_err(|e| LlmError::Decode(e.to_string()))?;
        match self.ctx.clear_kv_cache_seq(Some(0), Some(p0), None) {
            Ok(true) => Ok(()),
            _ => {
                // Cannot remove a tail (recurrent models): start again from an empty cache.
                self.ctx.clear_kv_cache();
                self.shift_pending = false;
                self.cached.clear();
                Err(LlmError::Decode("this model's cache cannot drop rejected draft tokens; turn drafting off (the draft_tokens setting)".into()))
            }
        }
    }

    /// Decodes `tokens` after the cache in chunks of `n_batch`, asking for logits of the last
    /// token only if `want_logits`. Returns `false` if cancelled between chunks (what was
    /// decoded stays cached and consistent).
    pub(super) fn prefill(&mut self, tokens: &[LlamaToken], want_logits: bool, cancel: &CancelToken) -> Result<bool, LlmError> {
        self.logits_ready = None;
        let n_chunks = tokens.len().div_ceil(self.n_batch);
        for (i, chunk) in tokens.chunks(self.n_batch).enumerate() {
            if cancel.is_cancelled() {
                return Ok(false);
            }
            self.batch.clear();
            let base = self.cached.len();
            for (j, &token) in chunk.iter().enumerate() {
                let last = want_logits && i + 1 == n_chunks && j + 1 == chunk.len();
                self.batch
                    .add(token, pos(base + j), &[0], last)
                    .map_err(|e| LlmError::Decode(e.to_string()))?;
            }
            if let Err(e) = self.ctx.decode(&mut self.batch) {
                // Whatever this chunk wrote is not recorded in `cached`; remove it.
                self.truncate_cache(base)?;
                // Aborted mid-chunk (`abortable`; llama.h: 2 = aborted): a cancellation, not a
                // failure. Any other error stays one, cancelled or not.
                if e == llama_cpp_2::DecodeError::Unknown(2) && cancel.is_cancelled() {
                    return Ok(false);
                }
                return Err(LlmError::Decode(e.to_string()));
            }
            self.shift_pending = false;
            self.cached.extend_from_slice(chunk);
        }
        Ok(true)
    }

    /// Runs `f` with llama.cpp told to abort a decode as soon as `cancel` is set (between the
    /// graph's operations, not only between chunks): reading ahead must yield the cores to the
    /// final transcript at once when the person stops. What an aborted chunk wrote is removed.
    pub(super) fn abortable<T>(&mut self, cancel: &CancelToken, f: impl FnOnce(&mut Self) -> T) -> T {
        /// Removes the callback however `f` ends (a panic included).
        struct Disarm(*mut llama_cpp_sys_2::llama_context);
        impl Drop for Disarm {
            fn drop(&mut self) {
                // SAFETY: the context outlives this guard (it lives in the session `f` borrows).
                unsafe { llama_cpp_sys_2::llama_set_abort_callback(self.0, None, std::ptr::null_mut()) };
            }
        }
        let raw = self.ctx.as_raw();
        // SAFETY: `cancel` outlives every decode inside `f`, and the guard removes the callback
        // before returning; the context pointer is valid for `self`'s lifetime.
        unsafe { llama_cpp_sys_2::llama_set_abort_callback(raw, Some(crate::cancel::abort_when_cancelled), cancel.flag_ptr() as *mut std::ffi::c_void) };
        let _disarm = Disarm(raw);
        f(self)
    }
}
