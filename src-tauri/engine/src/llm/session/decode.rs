//! Answering a question: fitting the prompt (dropping old turns), reusing the cache, reading
//! the question and generating the answer token by token (with optional drafting).

use std::time::Instant;

use llama_cpp_2::token::LlamaToken;

use super::{ms, per_second, plan, pos, ChatSession, FinishReason, Turn, TurnEvent, TurnStats, MIN_TURN_ROOM};
use crate::llm::draft::{self, DraftParams};
use crate::llm::sampling::SamplingParams;
use crate::llm::utf8::Utf8Stream;
use crate::llm::LlmError;
use crate::CancelToken;

impl ChatSession<'_> {
    /// Answers `user`, streaming the answer through `on_event`. The conversation keeps the
    /// question and the answer (a cancelled answer is kept as far as it got).
    pub fn send(
        &mut self,
        user: &str,
        sampling: &SamplingParams,
        cancel: &CancelToken,
        on_event: &mut dyn FnMut(TurnEvent<'_>),
    ) -> Result<TurnStats, LlmError> {
        let start = Instant::now();
        let _busy = crate::gate::LlmBusy::enter();
        let n_ctx = self.ctx.n_ctx() as usize;
        // Room kept free for the answer when deciding whether the prompt fits.
        let reserve = sampling.max_tokens.clamp(1, n_ctx / 4);

        let (tokens, dropped_turns) = self.fit_prompt(user, n_ctx, reserve)?;
        if dropped_turns > 0 {
            tracing::info!(dropped_turns, "context full: dropped the oldest turns");
            self.turns.drain(..dropped_turns);
            self.answer_tokens.drain(..dropped_turns);
            on_event(TurnEvent::Trimmed { dropped_turns });
        }

        let mut stats = TurnStats {
            prompt_tokens: tokens.len(),
            reused_tokens: 0,
            prefilled_tokens: 0,
            generated_tokens: 0,
            dropped_turns,
            ttft_ms: None,
            prefill_ms: 0.0,
            prefill_tok_s: 0.0,
            decode_ms: 0.0,
            decode_tok_s: 0.0,
            drafted_tokens: 0,
            accepted_tokens: 0,
            finish: FinishReason::Stop,
        };

        // Reuse what the cache holds of the prompt: its common prefix, or after dropped turns
        // the system message in place and the kept turns shifted back over the dropped ones.
        // At least one token must be decoded for logits, unless the question was decoded ahead
        // with them.
        let ready = self.logits_ready.filter(|_| self.answer_ready(&tokens));
        let keep = match ready {
            Some(_) => tokens.len(),
            None => {
                let pinned = if dropped_turns > 0 { Some(plan::common_prefix(&self.system_tokens()?, &tokens)) } else { None };
                self.reuse_for(&tokens, tokens.len() - 1, pinned)?
            }
        };
        stats.reused_tokens = keep;

        // The question is read abortably: a stop takes effect within the chunk being read,
        // and what the aborted chunk wrote is removed.
        let prefill_start = Instant::now();
        let completed = match ready {
            Some(_) => !cancel.is_cancelled(),
            None => self.abortable(cancel, |s| s.prefill(&tokens[keep..], true, cancel))?,
        };
        self.logits_ready = None;
        stats.prefilled_tokens = tokens.len() - keep;
        stats.prefill_ms = ms(prefill_start);
        stats.prefill_tok_s = per_second(stats.prefilled_tokens, stats.prefill_ms);
        if !completed {
            // Cancelled before the answer started: the question is not kept.
            stats.finish = FinishReason::Cancelled;
            return Ok(stats);
        }

        let decode_start = Instant::now();
        let mut answer = String::new();
        let mut generated = Vec::new();
        let mut piece_text = String::new();
        let mut utf8 = Utf8Stream::new();
        let mut sampler = sampling.build(self.model.model.n_vocab());
        // Plain greedy needs no sampler chain: an argmax over the logits skips building
        // llama.cpp's 150k-entry candidate array on every token.
        let fast_greedy = sampling.is_greedy() && (sampling.repeat_penalty - 1.0).abs() <= f32::EPSILON;
        let vocab = self.model.model.vocab();
        let mut logits_index = ready.map_or(self.batch.n_tokens() - 1, |(_, index)| index);
        let mut emit = |text: &str, answer: &mut String, stats: &mut TurnStats| {
            if !text.is_empty() {
                if stats.ttft_ms.is_none() {
                    stats.ttft_ms = Some(ms(start));
                }
                answer.push_str(text);
                on_event(TurnEvent::Token(text));
            }
        };
        // Drafting needs the model's own next token at each drafted position: greedy only.
        let draft = if fast_greedy { self.draft } else { DraftParams::new(0) };
        // Tokens known to come next, already checked by the model (accepted drafts): their
        // KV entries are in the cache after `cached`, not yet recorded there.
        let mut accepted: std::collections::VecDeque<(LlamaToken, f32)> = std::collections::VecDeque::new();
        self.margins.clear();
        loop {
            if cancel.is_cancelled() {
                stats.finish = FinishReason::Cancelled;
                break;
            }
            if stats.generated_tokens >= sampling.max_tokens {
                stats.finish = FinishReason::MaxTokens;
                break;
            }
            if self.cached.len() >= n_ctx {
                stats.finish = FinishReason::ContextFull;
                break;
            }
            let (token, margin, in_cache) = match accepted.pop_front() {
                Some((t, margin)) => (t, margin, true),
                None if fast_greedy => {
                    let (t, margin) = top2(self.ctx.get_logits_ith(logits_index));
                    (t, margin, false)
                }
                None => (sampler.sample(&self.ctx, logits_index), f32::NAN, false),
            };
            if vocab.is_eog(token) {
                break;
            }
            if self.keep_margins {
                self.margins.push(margin);
            }
            let bytes = vocab.token_to_piece(token, false, None);
            piece_text.clear();
            utf8.push(&bytes, &mut piece_text);
            emit(&piece_text, &mut answer, &mut stats);
            stats.generated_tokens += 1;
            if in_cache {
                self.cached.push(token);
                generated.push(token);
                continue;
            }

            // Guess what follows from earlier text, and check the guess in the same batch.
            self.cached.push(token);
            let room = n_ctx.saturating_sub(self.cached.len()).min(sampling.max_tokens.saturating_sub(stats.generated_tokens));
            let guess: Vec<LlamaToken> = draft::lookup(&self.cached, DraftParams { max_tokens: draft.max_tokens.min(room), ..draft }).to_vec();
            self.cached.pop();
            self.batch.clear();
            let base = self.cached.len();
            for (i, &t) in std::iter::once(&token).chain(&guess).enumerate() {
                self.batch.add(t, pos(base + i), &[0], true).map_err(|e| LlmError::Decode(e.to_string()))?;
            }
            if let Err(e) = self.ctx.decode(&mut self.batch) {
                self.truncate_cache(base)?;
                return Err(LlmError::Decode(e.to_string()));
            }
            self.cached.push(token);
            generated.push(token);
            logits_index = 0;
            if guess.is_empty() {
                continue;
            }
            // The model's own next token after each position: keep the drafted tokens while
            // they agree; the first disagreement is the next token (read from its logits).
            let mut n_ok = 0;
            while n_ok < guess.len() {
                let (best, margin) = top2(self.ctx.get_logits_ith(pos(n_ok)));
                if best != guess[n_ok] {
                    break;
                }
                accepted.push_back((best, margin));
                n_ok += 1;
            }
            stats.drafted_tokens += guess.len();
            stats.accepted_tokens += n_ok;
            logits_index = pos(n_ok);
            if n_ok < guess.len() {
                // Drop the rejected drafts' cache entries (the accepted ones stay: they are
                // recorded in `cached` as they are emitted).
                // A model that cannot drop them fails the answer (the cache is emptied, so the
                // next question starts clean) rather than ending it as if it were complete.
                self.truncate_cache_tail(base + 1 + n_ok)?;
            }
        }
        // Checked drafts not emitted (the answer ended first, e.g. on a drafted end-of-turn
        // token) leave the cache.
        if stats.drafted_tokens > 0 {
            let len = self.cached.len();
            self.truncate_cache_tail(len)?;
        }
        piece_text.clear();
        utf8.finish(&mut piece_text);
        emit(&piece_text, &mut answer, &mut stats);

        stats.decode_ms = ms(decode_start);
        stats.decode_tok_s = per_second(stats.generated_tokens, stats.decode_ms);
        self.turns.push(Turn { user: user.to_string(), assistant: answer });
        self.answer_tokens.push(Some(generated));
        Ok(stats)
    }

    /// The conversation plus `user` as tokens, with the oldest turns dropped when it does not
    /// fit with `reserve` tokens to spare ([`plan::turns_to_drop`]: enough of them at once to
    /// leave real room), and how many were dropped. The new message itself is never cut.
    pub(super) fn fit_prompt(&self, user: &str, n_ctx: usize, reserve: usize) -> Result<(Vec<LlamaToken>, usize), LlmError> {
        let tokens = self.conversation_tokens(0, Some(user))?;
        if plan::fits(tokens.len(), n_ctx, reserve) {
            return Ok((tokens, 0));
        }
        let drop = plan::turns_to_drop(self.turns.len(), n_ctx, reserve, |k| self.conversation_tokens(k, Some(user)).map(|t| t.len()))?;
        if let Some(dropped) = drop {
            return Ok((self.conversation_tokens(dropped, Some(user))?, dropped));
        }
        // Even with only the system prompt (with its record) and the new message left.
        let tokens = self.conversation_tokens(self.turns.len(), Some(user))?;
        let needed = self.tokenize_text(user).len();
        let overhead = tokens.len().saturating_sub(needed);
        if overhead + MIN_TURN_ROOM.max(reserve) > n_ctx {
            // The message is not the problem: the record (or instructions) leave no room.
            return Err(self.too_long_error(overhead, n_ctx));
        }
        Err(LlmError::MessageTooLong { needed, available: n_ctx.saturating_sub(reserve + overhead), n_ctx: n_ctx as u32 })
    }
}

/// The most likely token (as [`argmax`]) and how far ahead of the runner-up it is, in logits.
pub(super) fn top2(logits: &[f32]) -> (LlamaToken, f32) {
    // One pass; the first of equal maxima wins, as in `argmax`.
    let (mut best, mut first, mut second) = (0usize, f32::NEG_INFINITY, f32::NEG_INFINITY);
    for (i, &l) in logits.iter().enumerate() {
        if l > first {
            second = first;
            first = l;
            best = i;
        } else if l > second {
            second = l;
        }
    }
    (LlamaToken(i32::try_from(best).unwrap_or(0)), first - second)
}

/// The most likely token (the first on ties, as llama.cpp's greedy sampler picks).
pub(super) fn argmax(logits: &[f32]) -> LlamaToken {
    let mut best = (0usize, f32::NEG_INFINITY);
    for (i, &l) in logits.iter().enumerate() {
        if l > best.1 {
            best = (i, l);
        }
    }
    LlamaToken(i32::try_from(best.0).unwrap_or(0))
}
