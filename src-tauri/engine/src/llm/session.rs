//! A multi-turn chat session on one llama.cpp context, reusing the KV cache across turns.
//!
//! The conversation is kept as the exact token sequence in the cache: each answer as the ids
//! the model generated (re-tokenizing an answer's text often gives other ids, and the cache
//! would then be re-read from the first such token), and the chat template's text between
//! answers tokenized piece by piece. A follow-up therefore appends to what is cached and costs
//! only its own tokens. The longest common prefix with the cache is still computed, so an
//! edited history (a new record, a regenerated answer, dropped turns) reuses what it can.

use std::num::NonZeroU32;
use std::time::Instant;

use llama_cpp_2::context::params::{KvCacheType, LlamaContextParams};
use llama_cpp_2::context::session::LlamaStateSeqFlags;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::token::LlamaToken;
use serde::{Deserialize, Serialize};

use super::draft::{self, DraftParams};
use super::model::{backend, LlmModel};
use super::sampling::SamplingParams;
use super::template::{ChatFormat, Message, Role};
use super::utf8::Utf8Stream;
use super::LlmError;
use crate::records::view::{self, RecordView};
use crate::records::{self, ParsedRecord};
use crate::store::SavedState;
use crate::{platform, prompts, CancelToken};

/// Context settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SessionOptions {
    /// Context window in tokens (KV cache size).
    pub n_ctx: u32,
    /// Tokens handed to llama.cpp per prefill step.
    pub n_batch: u32,
    /// Tokens computed at once within a step (llama.cpp's micro-batch, at most `n_batch`):
    /// the compute buffer grows with it. `None`: [`platform::default_ubatch`].
    #[serde(default)]
    pub n_ubatch: Option<u32>,
    /// Let llama.cpp repack the weights for faster prefill, at the cost of a second copy of
    /// them in memory. `None`: [`platform::default_repack`]. Read when the model is loaded.
    #[serde(default)]
    pub repack: Option<bool>,
    /// Keep the KV cache in 8-bit (q8_0) instead of 16-bit floats: half the memory and half
    /// the attention's reads over a long conversation. `None`: [`platform::default_kv_q8`].
    #[serde(default)]
    pub kv_q8: Option<bool>,
    /// Most tokens drafted by prompt lookup and verified in one batch (0: off). Greedy
    /// answers only. The answer is the model's own greedy answer, except where two tokens are
    /// nearly tied: a batch rounds differently from one token at a time, so either may win.
    #[serde(default = "default_draft")]
    pub draft_max: u32,
    /// Decode what the next question will start with before it comes: the template's closing
    /// tokens after an answer, the words of a partial transcript.
    #[serde(default = "yes")]
    pub prefill_ahead: bool,
    /// Inference threads; `None` picks [`platform::default_threads`].
    pub threads: Option<usize>,
    /// Give the model an attached record's parsed results (values, ranges, statuses in words)
    /// ahead of its text. Off only to measure what the table changes.
    #[serde(default = "yes")]
    pub record_table: bool,
    /// Reserve logits for every token of a micro-batch, as llama.cpp does by default (for
    /// measuring what capping them saves; never needed).
    #[serde(default)]
    pub reserve_all_outputs: bool,
}

fn yes() -> bool {
    true
}

fn default_draft() -> u32 {
    DEFAULT_DRAFT
}

/// Drafted tokens per step by default: none. On this 2-core CPU a batch checking 9 tokens
/// costs several single steps and about a third of the drafts were accepted, so drafting did
/// not pay (docs/BENCHMARKS.md, "Drafting"); `--draft 8` / the setting turns it on.
pub const DEFAULT_DRAFT: u32 = 0;
/// The draft length the drafting setting turns on.
pub const DRAFT_WHEN_ON: u32 = 8;

impl Default for SessionOptions {
    fn default() -> Self {
        Self { n_ctx: 4096, n_batch: 512, n_ubatch: None, repack: None, threads: None, record_table: true, kv_q8: None, draft_max: DEFAULT_DRAFT, prefill_ahead: true, reserve_all_outputs: false }
    }
}

impl SessionOptions {
    /// Whether the model is loaded with repacked weights.
    pub fn repack(&self) -> bool {
        self.repack.unwrap_or_else(platform::default_repack)
    }
}

/// A record attached to the conversation: its text, what the parser read, and what the
/// model reads of it.
#[derive(Clone, Debug)]
struct AttachedRecord {
    text: String,
    parsed: ParsedRecord,
    /// The record part of the system message.
    block: String,
    /// Too long for the context: the model reads the results and the lines around the
    /// flagged ones only.
    reduced: bool,
}

/// Why an answer ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model ended its answer.
    Stop,
    /// `max_tokens` was reached.
    MaxTokens,
    /// The context window is full.
    ContextFull,
    /// Cancelled by the caller.
    Cancelled,
}

/// Figures for one turn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TurnStats {
    /// Tokens in the rendered conversation for this turn.
    pub prompt_tokens: usize,
    /// Of those, tokens already in the KV cache (not decoded again).
    pub reused_tokens: usize,
    /// Tokens decoded during prefill (`prompt_tokens - reused_tokens`).
    pub prefilled_tokens: usize,
    pub generated_tokens: usize,
    /// Oldest turns dropped to make the conversation fit.
    pub dropped_turns: usize,
    /// From the request to the first streamed text, in milliseconds.
    pub ttft_ms: Option<f64>,
    pub prefill_ms: f64,
    pub prefill_tok_s: f64,
    pub decode_ms: f64,
    pub decode_tok_s: f64,
    /// Tokens drafted by prompt lookup and checked by the model, and how many it accepted.
    #[serde(default)]
    pub drafted_tokens: usize,
    #[serde(default)]
    pub accepted_tokens: usize,
    pub finish: FinishReason,
}

/// Streamed while a turn runs.
#[derive(Debug, PartialEq)]
pub enum TurnEvent<'a> {
    /// The oldest turns were dropped to fit the context window.
    Trimmed { dropped_turns: usize },
    /// The next piece of the answer: always complete UTF-8 characters.
    Token(&'a str),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Turn {
    pub user: String,
    pub assistant: String,
}

/// A turn with its answer as the token ids the model generated, for restoring a conversation
/// exactly (e.g. from saved history). Without the ids, the answer's text is tokenized.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExactTurn {
    pub turn: Turn,
    pub answer_tokens: Option<Vec<i32>>,
}

/// A persistent ggml CPU threadpool. Without one attached, ggml creates and joins its worker
/// threads for every graph compute, i.e. for every generated token.
struct Threadpool(*mut llama_cpp_sys_2::ggml_threadpool);

impl Threadpool {
    fn new(threads: i32) -> Result<Self, LlmError> {
        // SAFETY: default parameters for `threads` threads; NULL is handled.
        let pool = unsafe {
            let mut params = llama_cpp_sys_2::ggml_threadpool_params_default(threads);
            llama_cpp_sys_2::ggml_threadpool_new(&mut params)
        };
        if pool.is_null() {
            return Err(LlmError::Context("could not start the inference threads".into()));
        }
        Ok(Self(pool))
    }
}

impl Drop for Threadpool {
    fn drop(&mut self) {
        // SAFETY: created by ggml_threadpool_new; the context using it is dropped before this
        // (field order in ChatSession).
        unsafe { llama_cpp_sys_2::ggml_threadpool_free(self.0) }
    }
}

/// Tokens kept free for a question and the start of an answer when checking that the system
/// message (instructions + record) fits.
const MIN_TURN_ROOM: usize = 256;
/// Tokens of a typical question, kept free when deciding whether a record must be reduced.
const QUESTION_ROOM: usize = 64;
/// Most tokens drafted at once (the batch checking them is one token wider).
pub const MAX_DRAFT: u32 = 16;

/// The most the system message (instructions and record) may take of an `n_ctx` context: an
/// answer keeps a quarter of the context free (see `send`), a question needs some room too.
fn system_room(n_ctx: usize) -> usize {
    n_ctx.saturating_sub(MIN_TURN_ROOM.max(n_ctx / 4) + QUESTION_ROOM)
}

/// One conversation, owning a llama.cpp context.
pub struct ChatSession<'m> {
    model: &'m LlmModel,
    ctx: LlamaContext<'m>,
    /// Declared after `ctx`: dropped after the context that uses it.
    _threadpool: Threadpool,
    format: ChatFormat,
    /// The assistant's instructions (the default health prompt unless the person changed it).
    instructions: String,
    /// The attached record, pinned with the instructions in the system message.
    record: Option<AttachedRecord>,
    record_table: bool,
    turns: Vec<Turn>,
    /// For each turn, its answer's token ids as generated (`None`: restored as text).
    answer_tokens: Vec<Option<Vec<LlamaToken>>>,
    /// Tokens held in the KV cache (sequence 0, positions 0..len).
    cached: Vec<LlamaToken>,
    batch: LlamaBatch<'static>,
    n_batch: usize,
    draft: DraftParams,
    prefill_ahead: bool,
    /// Diagnostics: keep, for each token of the last greedy answer, how far its logit was
    /// ahead of the runner-up ([`Self::last_margins`]).
    keep_margins: bool,
    margins: Vec<f32>,
    /// The context's logits are those of the last cached token, at this index of the last
    /// batch, for a cache of this length (a question decoded ahead, [`Self::prefill_question`]):
    /// its answer can start without decoding anything. Cleared by anything that decodes or
    /// changes the cache.
    logits_ready: Option<(usize, i32)>,
    /// Test hook: behave like a model whose cache cannot be partially removed.
    #[cfg(test)]
    pub(crate) refuse_partial_removal: bool,
}

impl std::fmt::Debug for ChatSession<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatSession")
            .field("turns", &self.turns.len())
            .field("cached_tokens", &self.cached.len())
            .finish_non_exhaustive()
    }
}

impl<'m> ChatSession<'m> {
    /// A new conversation with the health assistant's system prompt.
    pub fn new(model: &'m LlmModel, options: &SessionOptions) -> Result<Self, LlmError> {
        let threads = options.threads.unwrap_or_else(platform::default_threads).max(1);
        let threads = i32::try_from(threads).unwrap_or(i32::MAX);
        let n_ctx = options.n_ctx.min(model.n_ctx_train().max(512));
        let n_batch = options.n_batch.clamp(8, n_ctx);
        let n_ubatch = options.n_ubatch.unwrap_or_else(platform::default_ubatch).clamp(8, n_batch);
        // A drafted check is one batch (the token just generated + the drafts): at most n_batch.
        let draft = DraftParams::new(options.draft_max.min(MAX_DRAFT).min(n_batch - 1) as usize);
        // Logits are only ever read for the last prompt token, the token just generated and the
        // drafted ones: reserving them for every row of a micro-batch would cost
        // n_ubatch × n_vocab × 4 bytes (310 MiB at 512) for nothing. llama.cpp aborts on a batch
        // asking for more, so none is built: a prefill asks for one output, a check for draft + 1.
        let kv_type = if options.kv_q8.unwrap_or_else(platform::default_kv_q8) { KvCacheType::Q8_0 } else { KvCacheType::F16 };
        let n_outputs = if options.reserve_all_outputs { 0 } else { draft.max_tokens as u32 + 1 };
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_ctx))
            .with_n_batch(n_batch)
            .with_n_ubatch(n_ubatch)
            .with_n_outputs_max(n_outputs)
            .with_type_k(kv_type)
            .with_type_v(kv_type)
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        let ctx = model
            .model
            .new_context(backend(), params)
            .map_err(|e| LlmError::Context(e.to_string()))?;
        let threadpool = Threadpool::new(threads)?;
        // SAFETY: both pointers are valid; the pool outlives the context (see the fields).
        unsafe { llama_cpp_sys_2::llama_attach_threadpool(ctx.as_raw(), threadpool.0, threadpool.0) };
        Ok(Self {
            _threadpool: threadpool,
            model,
            format: ChatFormat::for_model(&model.model),
            ctx,
            instructions: prompts::SYSTEM_PROMPT.to_string(),
            record: None,
            record_table: options.record_table,
            turns: Vec::new(),
            answer_tokens: Vec::new(),
            cached: Vec::new(),
            batch: LlamaBatch::new(n_batch as usize, 1),
            n_batch: n_batch as usize,
            draft,
            prefill_ahead: options.prefill_ahead,
            keep_margins: false,
            margins: Vec::new(),
            logits_ready: None,
            #[cfg(test)]
            refuse_partial_removal: false,
        })
    }

    pub fn n_ctx(&self) -> u32 {
        self.ctx.n_ctx()
    }

    /// Puts the inference threads to sleep until the next decode wakes them. Without it they
    /// spin for a while after every decode (ggml's polling: ~100 ms at its default level on
    /// this CPU), taking the cores from whatever runs next — Whisper's final transcript.
    pub fn rest(&self) {
        // SAFETY: the pool is alive for `self`'s lifetime; the next graph compute resumes it.
        unsafe { llama_cpp_sys_2::ggml_threadpool_pause(self._threadpool.0) };
    }

    /// Diagnostics (tests, evaluations): from now on keep the logit margins of greedy answers.
    pub fn keep_margins(&mut self, keep: bool) {
        self.keep_margins = keep;
    }

    /// For each token of the last greedy answer: its logit minus the runner-up's (small: a
    /// near tie, where rounding differences between computations can pick either).
    pub fn last_margins(&self) -> &[f32] {
        &self.margins
    }

    pub fn turns(&self) -> &[Turn] {
        &self.turns
    }

    /// Tokens currently held in the KV cache.
    pub fn cached_tokens(&self) -> usize {
        self.cached.len()
    }

    /// Replaces the assistant's instructions (`None`: the default health prompt). An attached
    /// record stays attached. The KV cache is reused up to the first changed token.
    pub fn set_system_prompt(&mut self, instructions: Option<&str>) {
        self.instructions = match instructions {
            Some(i) if !i.trim().is_empty() => i.trim().to_string(),
            _ => prompts::SYSTEM_PROMPT.to_string(),
        };
        // Longer instructions may leave the record less room: decide its view again.
        if let Some(text) = self.record.as_ref().map(|r| r.text.clone()) {
            self.set_record(Some(&text));
        }
    }

    /// Attaches a health record to the conversation (pinned with the instructions), or
    /// detaches it with `None`. The instructions are kept. The record is parsed; the model
    /// reads its results table and its text, or — when that leaves no room for a question and
    /// an answer — the table and the lines around the flagged results ([`Self::record_reduced`]).
    pub fn set_record(&mut self, record: Option<&str>) {
        self.record = record.map(str::trim).filter(|r| !r.is_empty()).map(|text| {
            let parsed = records::parse(text);
            let full = if self.record_table { RecordView::Full } else { RecordView::TextOnly };
            let block = view::for_model(text, &parsed, full);
            let mut attached = AttachedRecord { text: text.to_string(), parsed, block, reduced: false };
            // Room for the record: what an answer keeps free (a quarter of the context, see
            // `send`) and a question are not the record's.
            let room = system_room(self.ctx.n_ctx() as usize);
            if self.system_len(Some(&attached.block)) > room && self.record_table && !attached.parsed.rows.is_empty() {
                attached.block = view::for_model(text, &attached.parsed, RecordView::Reduced);
                attached.reduced = true;
                tracing::info!(rows = attached.parsed.rows.len(), "record too long for the context: the model reads its results and the lines around the flagged ones");
            }
            attached
        });
    }

    pub fn has_record(&self) -> bool {
        self.record.is_some()
    }

    /// The attached record as the parser read it.
    pub fn record(&self) -> Option<&ParsedRecord> {
        self.record.as_ref().map(|r| &r.parsed)
    }

    /// The attached record's text.
    pub fn record_text(&self) -> Option<&str> {
        self.record.as_ref().map(|r| r.text.as_str())
    }

    /// Whether the model reads only part of the attached record (it is too long).
    pub fn record_reduced(&self) -> bool {
        self.record.as_ref().is_some_and(|r| r.reduced)
    }

    /// The system message as the model reads it: the instructions, then any record.
    pub fn system_message(&self) -> String {
        prompts::system_message_with(&self.instructions, self.record.as_ref().map(|r| r.block.as_str()))
    }

    /// Tokens of the rendered system message with `block` as its record part.
    fn system_len(&self, block: Option<&str>) -> usize {
        let message = prompts::system_message_with(&self.instructions, block);
        match self.format.render(&self.model.model, &[Message::new(Role::System, message.clone())], false) {
            Ok(text) => self.tokenize(&text).len(),
            Err(_) => self.tokenize(&message).len(),
        }
    }

    /// Starts a new conversation with the same system prompt and record. The KV cache keeps
    /// the system prompt, so the next question does not re-read it.
    pub fn clear_history(&mut self) {
        self.turns.clear();
        self.answer_tokens.clear();
    }

    /// Tokens the next turn's prompt would have if `user` were asked now.
    pub fn prompt_len(&self, user: &str) -> Result<usize, LlmError> {
        Ok(self.conversation_tokens(0, Some(user))?.len())
    }

    /// The token ids the model would read for `user` now (the whole conversation, as in the
    /// cache): for tests and diagnostics.
    pub fn prompt_token_ids(&self, user: &str) -> Result<Vec<i32>, LlmError> {
        Ok(self.conversation_tokens(0, Some(user))?.iter().map(|t| t.0).collect())
    }

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
        self.cached.clear();
    }

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
    fn bench_tokens(&self, n: usize) -> Vec<LlamaToken> {
        let base = self.tokenize("The patient's lipid panel shows total cholesterol, LDL, HDL and triglycerides. ");
        base.iter().copied().cycle().take(n).collect()
    }

    /// Takes the last exchange out of the conversation (to ask again: "regenerate"). The KV
    /// cache keeps the prefix before it, so asking again re-reads only the question.
    pub fn retract_last(&mut self) -> Option<Turn> {
        self.answer_tokens.pop();
        self.turns.pop()
    }

    /// Replaces the conversation (e.g. a saved one reopened) from its text. The KV cache is
    /// reused as far as the new history matches it.
    pub fn restore_history(&mut self, turns: Vec<Turn>) {
        self.answer_tokens = vec![None; turns.len()];
        self.turns = turns;
    }

    /// The conversation with each answer's token ids as generated.
    pub fn exact_history(&self) -> Vec<ExactTurn> {
        self.turns
            .iter()
            .zip(&self.answer_tokens)
            .map(|(turn, ids)| ExactTurn { turn: turn.clone(), answer_tokens: ids.as_ref().map(|ids| ids.iter().map(|t| t.0).collect()) })
            .collect()
    }

    /// Replaces the conversation with one saved by [`Self::exact_history`]: the answers are
    /// read as the ids the model generated, so the cache matches a session that never
    /// stopped. Ids outside the model's vocabulary (a damaged or foreign save) are not
    /// trusted: that answer's text is tokenized instead.
    pub fn restore_exact(&mut self, history: Vec<ExactTurn>) {
        let n_vocab = self.model.model.n_vocab();
        let (turns, ids) = history
            .into_iter()
            .map(|t| {
                let ids = t.answer_tokens.filter(|ids| ids.iter().all(|&id| (0..n_vocab).contains(&id)));
                (t.turn, ids.map(|ids| ids.into_iter().map(LlamaToken).collect()))
            })
            .unzip();
        self.turns = turns;
        self.answer_tokens = ids;
    }

    /// The KV cache's state and the tokens it holds, to save beside the conversation
    /// ([`crate::store::KvCacheDir`]); `None` when the cache is empty.
    pub fn save_state(&self) -> Option<SavedState> {
        if self.cached.is_empty() {
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
        self.cached.clear();
        // SAFETY: the bytes were produced by `save_state` for this model file and context
        // size (fingerprint and checksum checked by the caller's store); llama.cpp checks the
        // layout again and refuses a mismatch.
        let loaded = unsafe { self.ctx.state_seq_set_data_ext(&state.data, 0, LlamaStateSeqFlags::empty()) };
        if !loaded {
            tracing::info!("llama.cpp refused a saved KV state; the conversation will be read again");
            self.ctx.clear_kv_cache();
            return false;
        }
        self.cached = state.tokens.iter().map(|&t| LlamaToken(t)).collect();
        true
    }

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

    /// Runs `f` with llama.cpp told to abort a decode as soon as `cancel` is set (between the
    /// graph's operations, not only between chunks): reading ahead must yield the cores to the
    /// final transcript at once when the person stops. What an aborted chunk wrote is removed.
    fn abortable<T>(&mut self, cancel: &CancelToken, f: impl FnOnce(&mut Self) -> T) -> T {
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

    /// Whether the cache is exactly `tokens` with the last one's logits at hand.
    fn answer_ready(&self, tokens: &[LlamaToken]) -> bool {
        self.logits_ready.is_some_and(|(len, _)| len == tokens.len()) && self.cached == tokens
    }

    /// The error for a system message (instructions + record) of `system_tokens` that leaves
    /// no room for a question and an answer.
    fn too_long_error(&self, system_tokens: usize, n_ctx: usize) -> LlmError {
        match &self.record {
            Some(record) => {
                let record_tokens = self.tokenize(&record.block).len();
                LlmError::RecordTooLong {
                    record_tokens,
                    available: system_room(n_ctx).saturating_sub(system_tokens.saturating_sub(record_tokens)),
                    n_ctx: n_ctx as u32,
                    reduced: record.reduced,
                }
            }
            None => LlmError::InstructionsTooLong { tokens: system_tokens, n_ctx: n_ctx as u32 },
        }
    }

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

        // Reuse the longest common prefix; at least one token must be decoded for logits,
        // unless the question was decoded ahead with them.
        let ready = self.logits_ready.filter(|_| self.answer_ready(&tokens));
        let mut keep = if ready.is_some() { tokens.len() } else { self.reuse_prefix(&tokens)?.min(tokens.len() - 1) };
        if keep < self.cached.len() {
            keep = self.truncate_cache(keep)?;
        }
        stats.reused_tokens = keep;

        let prefill_start = Instant::now();
        let completed = if ready.is_some() { !cancel.is_cancelled() } else { self.prefill(&tokens[keep..], true, cancel)? };
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

    /// The system message (instructions and record) as tokens: what priming caches.
    fn system_tokens(&self) -> Result<Vec<LlamaToken>, LlmError> {
        let text = self.format.render(&self.model.model, &[Message::new(Role::System, self.system_message())], false)?;
        Ok(self.tokenize(&text))
    }

    /// The conversation from turn `from` on (after the system message), plus `user` with the
    /// assistant's turn opened, as the exact token sequence the model reads: the template's
    /// text between answers tokenized piece by piece, each answer as the ids generated. A
    /// template whose renderings do not extend one another is rendered and tokenized whole.
    fn conversation_tokens(&self, from: usize, user: Option<&str>) -> Result<Vec<LlamaToken>, LlmError> {
        let model = &self.model.model;
        let mut msgs = vec![Message::new(Role::System, self.system_message())];
        let mut text = self.format.render(model, &msgs, false)?;
        let mut tokens = self.tokenize(&text);
        let turns = self.turns.iter().zip(&self.answer_tokens).skip(from);
        let mut exact = true;
        for (turn, ids) in turns {
            msgs.push(Message::new(Role::User, turn.user.clone()));
            let opened = self.format.render(model, &msgs, true)?;
            msgs.push(Message::new(Role::Assistant, turn.assistant.clone()));
            let closed = self.format.render(model, &msgs, false)?;
            let Some(question) = opened.strip_prefix(text.as_str()) else {
                exact = false;
                break;
            };
            let answered = closed.strip_prefix(opened.as_str()).is_some_and(|rest| rest.starts_with(turn.assistant.as_str()));
            if !answered {
                exact = false;
                break;
            }
            tokens.extend(self.tokenize(question));
            match ids {
                Some(ids) => tokens.extend_from_slice(ids),
                None => tokens.extend(self.tokenize(&turn.assistant)),
            }
            text = opened + &turn.assistant;
        }
        if exact {
            if let Some(user) = user {
                msgs.push(Message::new(Role::User, user));
                let opened = self.format.render(model, &msgs, true)?;
                match opened.strip_prefix(text.as_str()) {
                    Some(question) => tokens.extend(self.tokenize(question)),
                    None => exact = false,
                }
            }
        }
        if exact {
            return Ok(tokens);
        }
        tracing::debug!("chat template renderings do not extend one another: tokenizing the conversation whole");
        let mut msgs = vec![Message::new(Role::System, self.system_message())];
        for t in &self.turns[from..] {
            msgs.push(Message::new(Role::User, t.user.clone()));
            msgs.push(Message::new(Role::Assistant, t.assistant.clone()));
        }
        if let Some(user) = user {
            msgs.push(Message::new(Role::User, user));
        }
        Ok(self.tokenize(&self.format.render(model, &msgs, user.is_some())?))
    }

    /// The conversation plus `user` as tokens, dropping the oldest turns until it fits with
    /// `reserve` tokens to spare. The new message itself is never cut.
    fn fit_prompt(&self, user: &str, n_ctx: usize, reserve: usize) -> Result<(Vec<LlamaToken>, usize), LlmError> {
        let mut dropped = 0;
        loop {
            let tokens = self.conversation_tokens(dropped, Some(user))?;
            if tokens.len() + reserve <= n_ctx {
                return Ok((tokens, dropped));
            }
            if dropped < self.turns.len() {
                dropped += 1;
                continue;
            }
            // Only the system prompt (with its record) and the new message are left.
            let needed = self.tokenize(user).len();
            let overhead = tokens.len().saturating_sub(needed);
            if overhead + MIN_TURN_ROOM.max(reserve) > n_ctx {
                // The message is not the problem: the record (or instructions) leave no room.
                return Err(self.too_long_error(overhead, n_ctx));
            }
            return Err(LlmError::MessageTooLong {
                needed,
                available: n_ctx.saturating_sub(reserve + overhead),
                n_ctx: n_ctx as u32,
            });
        }
    }

    fn tokenize(&self, text: &str) -> Vec<LlamaToken> {
        let vocab = self.model.model.vocab();
        // The template already carries any BOS; special tokens in it are parsed.
        vocab.tokenize(text.as_bytes(), false, true)
    }

    /// Length of the common prefix of the cache and `tokens`.
    fn reuse_prefix(&self, tokens: &[LlamaToken]) -> Result<usize, LlmError> {
        Ok(self.cached.iter().zip(tokens).take_while(|(a, b)| a == b).count())
    }

    /// Drops cache entries from position `keep` on. Returns how many tokens the cache really
    /// keeps: `keep`, or 0 when the model's cache cannot be partially removed and had to be
    /// emptied (callers must then prefill from the start).
    fn truncate_cache(&mut self, keep: usize) -> Result<usize, LlmError> {
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
                self.cached.clear();
                Ok(0)
            }
        }
    }

    /// Removes KV entries from position `keep` on when `cached` already ends at or before
    /// `keep` (entries decoded but not recorded: rejected or unused drafts).
    fn truncate_cache_tail(&mut self, keep: usize) -> Result<(), LlmError> {
        self.logits_ready = None;
        let p0 = u32::try_from(keep).map_err(|e| LlmError::Decode(e.to_string()))?;
        match self.ctx.clear_kv_cache_seq(Some(0), Some(p0), None) {
            Ok(true) => Ok(()),
            _ => {
                // Cannot remove a tail (recurrent models): start again from an empty cache.
                self.ctx.clear_kv_cache();
                self.cached.clear();
                Err(LlmError::Decode("this model's cache cannot drop rejected draft tokens; turn drafting off (the draft_tokens setting)".into()))
            }
        }
    }

    /// Decodes `tokens` after the cache in chunks of `n_batch`, asking for logits of the last
    /// token only if `want_logits`. Returns `false` if cancelled between chunks (what was
    /// decoded stays cached and consistent).
    fn prefill(&mut self, tokens: &[LlamaToken], want_logits: bool, cancel: &CancelToken) -> Result<bool, LlmError> {
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
            self.cached.extend_from_slice(chunk);
        }
        Ok(true)
    }
}

/// The most likely token (as [`argmax`]) and how far ahead of the runner-up it is, in logits.
fn top2(logits: &[f32]) -> (LlamaToken, f32) {
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
fn argmax(logits: &[f32]) -> LlamaToken {
    let mut best = (0usize, f32::NEG_INFINITY);
    for (i, &l) in logits.iter().enumerate() {
        if l > best.1 {
            best = (i, l);
        }
    }
    LlamaToken(i32::try_from(best.0).unwrap_or(0))
}

fn pos(i: usize) -> i32 {
    i32::try_from(i).unwrap_or(i32::MAX)
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

fn per_second(n: usize, ms: f64) -> f64 {
    if ms > 0.0 {
        n as f64 * 1000.0 / ms
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The everyday test model (tests/fixtures/setup.sh fetches it).
    fn test_model() -> LlmModel {
        let path = std::env::var_os("MURMUR_TEST_LLM").map(std::path::PathBuf::from).unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/murmur/test-models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
        });
        LlmModel::load(&path).unwrap_or_else(|e| panic!("{e}: run tests/fixtures/setup.sh (scripts/test.sh does)"))
    }

    fn answer(s: &mut ChatSession<'_>, q: &str) -> (String, TurnStats) {
        let mut text = String::new();
        let sampling = SamplingParams { max_tokens: 24, ..SamplingParams::greedy() };
        let stats = s
            .send(q, &sampling, &CancelToken::new(), &mut |e| {
                if let TurnEvent::Token(t) = e {
                    text.push_str(t);
                }
            })
            .expect("answer");
        (text, stats)
    }

    #[test]
    fn a_cache_that_cannot_be_partially_removed_is_read_again_in_full() {
        let model = test_model();
        let options = SessionOptions { n_ctx: 2048, threads: Some(2), ..SessionOptions::default() };
        let mut s = ChatSession::new(&model, &options).expect("session");
        s.refuse_partial_removal = true;
        answer(&mut s, "What does LDL stand for?");
        // Attaching a record changes the system message: the cache must be cut where it
        // changes, which this "model" cannot do, so it is emptied and read again in full.
        s.set_record(Some("LDL 160 mg/dL (reference < 100)"));
        let (text, stats) = answer(&mut s, "Is my LDL above its range?");
        assert_eq!(stats.reused_tokens, 0, "{stats:?}");
        assert_eq!(stats.prefilled_tokens, stats.prompt_tokens, "{stats:?}");
        assert_eq!(s.cached_tokens(), stats.prompt_tokens + stats.generated_tokens);
        // And the answer is the one a fresh session gives for the same conversation.
        let mut fresh = ChatSession::new(&model, &options).expect("session");
        fresh.set_record(Some("LDL 160 mg/dL (reference < 100)"));
        fresh.restore_exact(s.exact_history()[..1].to_vec());
        let (expected, _) = answer(&mut fresh, "Is my LDL above its range?");
        assert_eq!(text, expected);
    }
}
