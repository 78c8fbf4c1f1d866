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
    /// [`LlmClient::send`]) and is saved as described in the module doc. `saved` (if given)
    /// receives the KV file's size once it is written (or `None`).
    pub fn ask(
        self: &Arc<Self>,
        llm: &LlmClient,
        id: ConversationId,
        text: &str,
        sampling: SamplingParams,
        cancel: CancelToken,
        mut events: Sink<ChatEvent>,
    ) -> Result<Saving, EngineError> {
        let coded = |e: HistoryError| EngineError::from_coded(&e);
        self.db.add_question(id, text).map_err(coded)?;
        let message = self.db.start_answer(id).map_err(coded)?;
        // Database writes (each synced) happen on their own thread, in order, never on the
        // model thread between two tokens.
        let (writes, queue) = std::sync::mpsc::channel::<Write>();
        let (saved_tx, saved_rx) = std::sync::mpsc::channel();
        let store = self.clone();
        std::thread::Builder::new()
            .name("history-save".into())
            .spawn(move || {
                let saved = write_answer(&store, id, message, &queue);
                let _ = saved_tx.send(saved);
            })
            .map_err(|e| coded(HistoryError::Io(format!("could not start saving the answer: {e}"))))?;
        let mut answer = AnswerWriter { llm: llm.clone(), writes, text: String::new(), last: Instant::now() };
        let sink = Sink::new(move |e: ChatEvent| {
            answer.on_event(&e);
            events.send(e);
        });
        llm.send(text, sampling, cancel, sink).map_err(|e| EngineError::from_coded(&e))?;
        Ok(Saving(saved_rx))
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

/// The end of an answer's saving: the KV file's size in bytes once written (`None`: no file).
#[derive(Debug)]
pub struct Saving(Receiver<Option<u64>>);

impl Saving {
    /// Waits until the answer, its tokens and its KV state are saved.
    pub fn wait(self) -> Option<u64> {
        self.0.recv().ok().flatten()
    }
}

/// What the model thread hands to the saving thread.
enum Write {
    Checkpoint(String),
    Finish { text: String, state: AnswerState, stats: Option<TurnStats>, error: Option<String> },
    /// The answer's ids and the KV state, copied by the model thread after the answer.
    Persist(Receiver<Vec<ExactTurn>>, Receiver<Option<SavedState>>),
}

/// Follows one streaming answer on the model thread: quick, never touches the disk.
struct AnswerWriter {
    llm: LlmClient,
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
                match (self.llm.exact_history_later(), self.llm.save_state_later()) {
                    (Ok(h), Ok(s)) => self.writes.send(Write::Persist(h, s)),
                    _ => return,
                }
            }
            ChatEvent::Error(err) => self.writes.send(Write::Finish { text: self.text.clone(), state: AnswerState::Failed, stats: None, error: Some(err.message.clone()) }),
        };
    }
}

/// The saving thread: applies the writes in order until the answer's stream is over; returns
/// the KV file's size if one was written.
fn write_answer(store: &Conversations, id: ConversationId, message: MessageId, queue: &Receiver<Write>) -> Option<u64> {
    let mut saved = None;
    for write in queue {
        let result = match write {
            Write::Checkpoint(text) => store.db.checkpoint(message, &text),
            Write::Finish { text, state, stats, error } => store.db.finish_answer(message, &text, state, stats.as_ref(), error.as_deref()),
            Write::Persist(history, state) => {
                saved = persist(store, id, message, &history, &state);
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::warn!("history: saving the answer failed: {e}");
        }
    }
    saved
}

fn persist(store: &Conversations, id: ConversationId, message: MessageId, history: &Receiver<Vec<ExactTurn>>, state: &Receiver<Option<SavedState>>) -> Option<u64> {
    if let Some(tokens) = history.recv().ok().and_then(|h| h.last().and_then(|t| t.answer_tokens.clone())) {
        if let Err(e) = store.db.set_answer_tokens(message, &tokens) {
            tracing::warn!("history: saving the answer's tokens failed: {e}");
        }
    }
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
