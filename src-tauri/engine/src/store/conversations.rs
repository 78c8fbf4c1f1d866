//! Saved conversations driven through the model: what the app and the CLI both use.
//!
//! - [`Conversations::ask`] saves the question when it is sent, saves the answer as it
//!   streams (a checkpoint at most every [`CHECKPOINT_EVERY`]), then how it ended, and after
//!   it the answer's token ids and the KV cache's state (copied by the model thread, written
//!   to disk on another thread: off the path of the next question).
//! - [`Conversations::resume`] puts a saved conversation back into the model: its record, its
//!   turns with the exact answer tokens, and its KV state if a sound one is saved for this
//!   model and context size. Otherwise the next question reads the conversation again.

use std::path::Path;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{AnswerState, Conversation, ConversationId, History, HistoryError, KvCacheDir, MessageId, DATABASE_FILE, KV_CACHE_DIR};
use crate::llm::{ChatEvent, ExactTurn, LlmClient, SamplingParams, TurnStats};
use crate::store::SavedState;
use crate::{CancelToken, EngineError, Sink};

/// Longest time an answer streams without being saved.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Default bound on the KV-cache folder (a 2,000-token conversation on the 1.5B is ~60 MB).
pub const DEFAULT_KV_CACHE_BYTES: u64 = 512 * 1024 * 1024;

/// The loaded model, as far as saved states are concerned.
#[derive(Clone, Debug)]
pub struct ModelKey {
    pub fingerprint: [u8; 32],
    pub n_ctx: u32,
}

/// How a conversation was put back.
#[derive(Clone, Debug)]
pub struct Resumed {
    pub conversation: Conversation,
    /// The saved KV state was loaded (the next question reads only itself).
    pub cache_restored: bool,
    /// Tokens the restored state holds (0 if none).
    pub cached_tokens: usize,
    pub load_ms: f64,
}

/// The history database and the KV-cache folder of one data directory.
#[derive(Debug)]
pub struct Conversations {
    pub db: History,
    pub kv: KvCacheDir,
}

impl Conversations {
    /// Opens `data_dir/history.sqlite3` and `data_dir/kv-cache/`.
    pub fn open(data_dir: &Path, kv_max_bytes: u64) -> Result<Self, HistoryError> {
        let db = History::open(&data_dir.join(DATABASE_FILE))?;
        Ok(Self { db, kv: KvCacheDir::new(data_dir.join(KV_CACHE_DIR), kv_max_bytes) })
    }

    /// Puts conversation `id` into the model (see the module doc).
    pub fn resume(&self, llm: &LlmClient, model: &ModelKey, id: ConversationId) -> Result<Resumed, EngineError> {
        let conversation = self.db.get(id).map_err(|e| EngineError::from_coded(&e))?;
        let llm_err = |e: crate::llm::LlmError| EngineError::from_coded(&e);
        llm.set_record(conversation.record.clone()).map_err(llm_err)?;
        let tokens = self.db.answer_tokens(id).map_err(|e| EngineError::from_coded(&e))?;
        llm.restore_exact(conversation.turns(&tokens)).map_err(llm_err)?;
        let start = Instant::now();
        let (cache_restored, cached_tokens) = match self.kv.load(id, &model.fingerprint, model.n_ctx) {
            Some(state) => {
                let n = state.tokens.len();
                let loaded = llm.load_state(state).map_err(llm_err)?;
                if !loaded {
                    let _ = self.kv.remove(id);
                }
                (loaded, if loaded { n } else { 0 })
            }
            None => (false, 0),
        };
        let load_ms = start.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(cache_restored, cached_tokens, load_ms, "conversation reopened");
        Ok(Resumed { conversation, cache_restored, cached_tokens, load_ms })
    }

    /// Asks `text` in conversation `id`; the answer streams into `events` (as
    /// [`LlmClient::send`]) and is saved as described in the module doc, with the KV state
    /// written after each answer. See [`Self::ask_with`].
    pub fn ask(
        self: &Arc<Self>,
        llm: &LlmClient,
        id: ConversationId,
        text: &str,
        sampling: SamplingParams,
        cancel: CancelToken,
        events: Sink<ChatEvent>,
    ) -> Result<Saving, EngineError> {
        self.ask_with(llm, id, text, sampling, cancel, events, AskOptions::default())
    }

    /// As [`Self::ask`], with `options`: when the KV state is written, and whether the new
    /// exchange replaces an earlier one ("ask again"). The stream always ends with one `Done`
    /// or `Error`: a question that could not be saved ends it with that error (also returned,
    /// for clean-up; the person must see it once, from the stream).
    #[allow(clippy::too_many_arguments)]
    pub fn ask_with(
        self: &Arc<Self>,
        llm: &LlmClient,
        id: ConversationId,
        text: &str,
        sampling: SamplingParams,
        cancel: CancelToken,
        mut events: Sink<ChatEvent>,
        options: AskOptions,
    ) -> Result<Saving, EngineError> {
        let coded = |e: HistoryError| EngineError::from_coded(&e);
        let saved = self.db.add_question(id, text).and_then(|q| self.db.start_answer(id).map(|a| (q, a)));
        let (question, message) = match saved {
            Ok(ids) => ids,
            Err(e) => {
                let e = coded(e);
                events.send(ChatEvent::Error(e.clone()));
                return Err(e);
            }
        };
        // Database writes (each synced) happen on their own thread, in order, never on the
        // model thread between two tokens.
        let (writes, queue) = std::sync::mpsc::channel::<Write>();
        let (saved_tx, saved_rx) = std::sync::mpsc::channel();
        let (settled_tx, settled_rx) = std::sync::mpsc::channel();
        let store = self.clone();
        let job = SaveJob { id, question, message, replacing: options.replacing, llm: llm.clone() };
        let spawned = std::thread::Builder::new().name("history-save".into()).spawn(move || {
            let saved = write_answer(&store, &job, &queue, &settled_tx);
            let _ = saved_tx.send(saved);
        });
        if let Err(e) = spawned {
            let _ = self.db.delete_messages(id, question, None);
            let e = coded(HistoryError::Io(format!("could not start saving the answer: {e}")));
            events.send(ChatEvent::Error(e.clone()));
            return Err(e);
        }
        let mut answer = AnswerWriter { llm: llm.clone(), kv: options.kv, writes, text: String::new(), last: Instant::now() };
        let sink = Sink::new(move |e: ChatEvent| {
            answer.on_event(&e);
            events.send(e);
        });
        // A stopped worker drops the request with its sink: the stream then ends with that
        // error, and the saving thread marks the answer.
        let _ = llm.send(text, sampling, cancel, sink);
        Ok(Saving { saved: saved_rx, settled: settled_rx, is_settled: false, removed: false })
    }

    /// Writes conversation `id`'s KV state now (when leaving it, when the app goes to the
    /// background, after a while idle). Returns the file's size (`None`: nothing to save, or
    /// the conversation is gone).
    pub fn save_state(&self, llm: &LlmClient, id: ConversationId) -> Result<Option<u64>, EngineError> {
        let state = llm.save_state().map_err(|e| EngineError::from_coded(&e))?;
        let Some(state) = state else { return Ok(None) };
        if !self.db.exists(id).map_err(|e| EngineError::from_coded(&e))? {
            return Ok(None);
        }
        let bytes = self
            .kv
            .save(id, &state)
            .map_err(|e| EngineError::from_coded(&HistoryError::Io(format!("the conversation's cache file could not be written: {e}"))))?;
        Ok((bytes > 0).then_some(bytes))
    }

    /// Deletes a conversation: its messages, record and KV-cache file.
    pub fn delete(&self, id: ConversationId) -> Result<(), HistoryError> {
        self.db.delete(id)?;
        self.kv.remove(id).map_err(|e| HistoryError::Io(format!("the conversation's cache file could not be removed: {e}")))
    }

    /// Deletes every conversation, setting and KV-cache file.
    pub fn delete_all(&self) -> Result<(), HistoryError> {
        self.db.delete_all()?;
        self.kv.clear().map_err(|e| HistoryError::Io(format!("the cache files could not be removed: {e}")))
    }
}

/// When a conversation's KV state is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KvSaving {
    /// After every answer (a full copy each time: tens of MB on the larger model).
    #[default]
    AfterEachAnswer,
    /// Only when asked ([`Conversations::save_state`]): the app saves when it leaves the
    /// conversation, goes to the background or has been idle a while. A kill before that
    /// still leaves a resumable conversation (its text and answer ids are saved with every
    /// answer; the model reads it again).
    Deferred,
}

/// How [`Conversations::ask_with`] saves.
#[derive(Debug, Default)]
pub struct AskOptions {
    pub kv: KvSaving,
    pub replacing: Option<Replacing>,
}

/// "Ask again": the new exchange replaces the conversation's messages from `from` on (the
/// last kept question, its answer and anything after) once its answer is kept. An answer that
/// is not kept (failed, or stopped before it began) leaves the old exchange as it was: the new
/// one is removed and the model gets `before` (its conversation before the question was taken
/// back) again.
#[derive(Debug)]
pub struct Replacing {
    pub from: MessageId,
    pub before: Vec<ExactTurn>,
}

/// The end of an answer's saving.
#[derive(Debug)]
pub struct Saving {
    saved: Receiver<Option<u64>>,
    settled: Receiver<bool>,
    is_settled: bool,
    removed: bool,
}

impl Saving {
    /// Waits until the answer, its tokens and (if saved after each answer) its KV state are
    /// saved; the KV file's size in bytes once written (`None`: no file).
    pub fn wait(self) -> Option<u64> {
        self.saved.recv().ok().flatten()
    }

    /// Waits (at most `timeout`) until the answer's text, how it ended and its token ids are
    /// saved, and an answer that replaced or was not kept has been reconciled with the model:
    /// the saved conversation and the model's then hold the same turns. `false` on time-out.
    pub fn settle(&mut self, timeout: Duration) -> bool {
        if !self.is_settled {
            self.is_settled = match self.settled.recv_timeout(timeout) {
                Ok(removed) => {
                    self.removed = removed;
                    true
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => true,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => false,
            };
        }
        self.is_settled
    }

    /// Once settled: the answer was refused before it began in a conversation it alone had
    /// started, and that conversation was removed.
    pub fn removed_conversation(&self) -> bool {
        self.removed
    }
}

/// What the saving thread knows of its answer.
struct SaveJob {
    id: ConversationId,
    question: MessageId,
    message: MessageId,
    replacing: Option<Replacing>,
    llm: LlmClient,
}

/// What the model thread hands to the saving thread.
enum Write {
    Checkpoint(String),
    Finish { text: String, state: AnswerState, stats: Option<TurnStats>, error: Option<String> },
    /// The answer's ids and the KV state, copied by the model thread after the answer.
    Persist(Receiver<Vec<ExactTurn>>, Option<Receiver<Option<SavedState>>>),
}

/// Follows one streaming answer on the model thread: quick, never touches the disk.
struct AnswerWriter {
    llm: LlmClient,
    kv: KvSaving,
    writes: std::sync::mpsc::Sender<Write>,
    text: String,
    last: Instant,
}

impl AnswerWriter {
    fn on_event(&mut self, e: &ChatEvent) {
        let _ = match e {
            ChatEvent::Token(t) => {
                self.text.push_str(t);
                if self.last.elapsed() < CHECKPOINT_EVERY {
                    return;
                }
                self.last = Instant::now();
                self.writes.send(Write::Checkpoint(self.text.clone()))
            }
            ChatEvent::Trimmed { .. } => return,
            ChatEvent::Done(stats) => {
                let finish = Write::Finish { text: self.text.clone(), state: AnswerState::of(stats.finish), stats: Some(stats.clone()), error: None };
                let _ = self.writes.send(finish);
                if stats.generated_tokens == 0 && stats.prefilled_tokens == 0 {
                    return;
                }
                // Queued on the model thread now, ahead of any later question.
                let Ok(history) = self.llm.exact_history_later() else { return };
                let state = match self.kv {
                    KvSaving::AfterEachAnswer => match self.llm.save_state_later() {
                        Ok(s) => Some(s),
                        Err(_) => return,
                    },
                    KvSaving::Deferred => None,
                };
                self.writes.send(Write::Persist(history, state))
            }
            ChatEvent::Error(err) => self.writes.send(Write::Finish { text: self.text.clone(), state: AnswerState::Failed, stats: None, error: Some(err.message.clone()) }),
        };
    }
}

/// The saving thread: applies the writes in order until the answer's stream is over; returns
/// the KV file's size if one was written. `settled` is told once the text, the end and the
/// ids are saved and the model reconciled (before the KV state is written).
fn write_answer(store: &Conversations, job: &SaveJob, queue: &Receiver<Write>, settled: &std::sync::mpsc::Sender<bool>) -> Option<u64> {
    let mut saved = None;
    let mut removed = false;
    let mut replacing = job.replacing.as_ref();
    for write in queue {
        let result = match write {
            Write::Checkpoint(text) => store.db.checkpoint(job.message, &text),
            Write::Finish { text, state, stats, error } => {
                let finished = store.db.finish_answer(job.message, &text, state, stats.as_ref(), error.as_deref());
                if let Some(r) = replacing.take() {
                    reconcile_replacement(store, job, r, state.kept(&text));
                }
                if state == AnswerState::Failed && text.is_empty() && replacing_was_none(&job.replacing) {
                    // Refused before it began (a question too long, a failed model): the
                    // person gets the question back to edit; the history keeps nothing of it,
                    // nor a conversation it alone had started.
                    let _ = store.db.delete_messages(job.id, job.question, None);
                    if store.db.get(job.id).is_ok_and(|c| c.messages.is_empty() && c.record.is_none()) && store.delete(job.id).is_ok() {
                        removed = true;
                    }
                }
                if !state.kept(&text) {
                    // Nothing else comes for an answer the model did not keep.
                    let _ = settled.send(removed);
                }
                finished
            }
            Write::Persist(history, state) => {
                save_tokens(store, job.message, &history);
                let _ = settled.send(removed);
                if let Some(state) = state {
                    saved = persist_state(store, job.id, &state);
                }
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::warn!("history: saving the answer failed: {e}");
        }
    }
    let _ = settled.send(removed);
    saved
}

fn replacing_was_none(r: &Option<Replacing>) -> bool {
    r.is_none()
}

/// Ask again, once the new answer has ended: it replaces the old exchange if the model kept
/// it; otherwise the old one stays and the model gets its conversation back.
fn reconcile_replacement(store: &Conversations, job: &SaveJob, replacing: &Replacing, kept: bool) {
    let result = if kept {
        store.db.delete_messages(job.id, replacing.from, Some(job.question)).map(|_| ())
    } else {
        if let Err(e) = job.llm.restore_exact(replacing.before.clone()) {
            tracing::warn!("history: the model could not get the conversation back: {e}");
        }
        store.db.delete_messages(job.id, job.question, None).map(|_| ())
    };
    if let Err(e) = result {
        tracing::warn!("history: replacing the answer failed: {e}");
    }
}

fn save_tokens(store: &Conversations, message: MessageId, history: &Receiver<Vec<ExactTurn>>) {
    if let Some(tokens) = history.recv().ok().and_then(|h| h.last().and_then(|t| t.answer_tokens.clone())) {
        if let Err(e) = store.db.set_answer_tokens(message, &tokens) {
            tracing::warn!("history: saving the answer's tokens failed: {e}");
        }
    }
}

fn persist_state(store: &Conversations, id: ConversationId, state: &Receiver<Option<SavedState>>) -> Option<u64> {
    let state = state.recv().ok().flatten()?;
    // The conversation may have been deleted meanwhile: then no file.
    if !store.db.exists(id).unwrap_or(false) {
        return None;
    }
    let start = Instant::now();
    match store.kv.save(id, &state) {
        Ok(bytes) => {
            tracing::debug!(bytes, ms = start.elapsed().as_secs_f64() * 1000.0, "conversation KV state saved");
            // Deleted while writing: remove what was just written.
            if !store.db.exists(id).unwrap_or(false) {
                let _ = store.kv.remove(id);
                return None;
            }
            (bytes > 0).then_some(bytes)
        }
        Err(e) => {
            tracing::warn!("history: saving the KV state failed: {e}");
            None
        }
    }
}
