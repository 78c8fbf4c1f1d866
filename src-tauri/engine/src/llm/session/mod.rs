//! A multi-turn chat session on one llama.cpp context, reusing the KV cache across turns.
//!
//! The conversation is kept as the exact token sequence in the cache: each answer as the ids
//! the model generated (re-tokenizing an answer's text often gives other ids, and the cache
//! would then be re-read from the first such token), and the chat template's text between
//! answers tokenized piece by piece. A follow-up therefore appends to what is cached and costs
//! only its own tokens. The longest common prefix with the cache is still computed, so an
//! edited history (a new record, a regenerated answer) reuses what it can. When the context is
//! full, the oldest turns are dropped several at once and the rest of the cache is shifted
//! back over them, so the follow-up still reads only its own tokens.
//!
//! Modules by concern: [`tokens`] (the conversation as tokens, special tokens only from the
//! template), [`plan`] (what to keep of the cache and how many turns to drop: pure),
//! `cache` (cutting, shifting and reading into the KV cache), `ahead` (priming and read-ahead),
//! `decode` (answering), `state` (save/load), `bench` (benchmark hooks).

mod ahead;
mod bench;
mod cache;
mod decode;
pub mod plan;
mod state;
mod threadpool;
mod tokens;

use std::num::NonZeroU32;
use std::time::Instant;

use llama_cpp_2::context::params::{KvCacheType, LlamaContextParams};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::token::LlamaToken;
use serde::{Deserialize, Serialize};

use super::draft::DraftParams;
use super::model::{backend, LlmModel};
use super::template::ChatFormat;
use super::LlmError;
use crate::records::view::{self, RecordView};
use crate::records::{self, ParsedRecord};
use crate::{platform, prompts};
use threadpool::Threadpool;

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
    /// The cache was shifted over dropped turns and llama.cpp has not yet rotated the moved
    /// keys (it does at the next decode): its state must not be saved until then.
    shift_pending: bool,
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
            shift_pending: false,
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

    /// The error for a system message (instructions + record) of `system_tokens` that leaves
    /// no room for a question and an answer.
    pub(super) fn too_long_error(&self, system_tokens: usize, n_ctx: usize) -> LlmError {
        match &self.record {
            Some(record) => {
                let record_tokens = self.tokenize_text(&record.block).len();
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
    use crate::llm::SamplingParams;
    use crate::CancelToken;

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
