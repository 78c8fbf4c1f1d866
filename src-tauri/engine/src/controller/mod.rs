//! The one owner of the open conversation. [`Controller`] holds its id, record and
//! instructions, the loaded models, the history store, and what it is busy with (answering,
//! listening, reading a record, reading ahead), and offers the product's verbs: ask, ask
//! again, stop, attach and detach a record, new, open, delete, reload a model, the voice
//! turn. After every verb, failures included, the model's view of the conversation and the
//! saved one hold the same turns. The app's commands and the CLI's `chat` are thin layers
//! over it: nothing else keeps a copy of this state.
//!
//! Streams: a verb that streams takes a [`Sink`]. If it returns an error, nothing was sent
//! (the caller shows that error); if it returns `Ok`, the stream ends with exactly one `Done`
//! or `Error` — one failure is never reported twice.
//!
//! The KV cache is saved when the person leaves the conversation (new, open, delete, a model
//! reload), when the app goes to the background ([`Controller::suspend`]) and after a while
//! idle — not after every answer. A kill in between leaves a resumable conversation: its
//! text and each answer's token ids are saved as it streams, and the model reads it again.

mod busy;
mod models;
mod voice;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use models::{AsrSpec, LlmSpec, ModelEvent};

use busy::{lock, Busy};
use models::Models;

use crate::llm::{ChatEvent, ExactTurn, FinishReason, LlmClient, SamplingParams, SessionSnapshot};
use crate::records::{check_answer, AnswerCheck, IssueKind, ParsedRecord, RecordInfo};
use crate::store::{AskOptions, ConversationId, Conversations, KvSaving, Replacing, Resumed, Saving};
use crate::{CancelToken, EngineError, ErrorCode, Sink};

/// How long an answer's saving may take to settle before the next verb goes on regardless.
const SETTLE_WAIT: Duration = Duration::from_secs(10);

/// Default quiet time after an answer before the KV cache is saved.
pub const IDLE_SAVE_AFTER: Duration = Duration::from_secs(20);

/// The open conversation as the person sees it.
#[derive(Default)]
struct Open {
    /// `None`: a new conversation, saved with its first question.
    conversation: Option<ConversationId>,
    record: Option<String>,
    instructions: Option<String>,
    /// The model's cache has changed since it was last saved.
    unsaved_cache: bool,
}

/// The owner of the open conversation (see the module doc).
pub struct Controller {
    history: Result<Arc<Conversations>, EngineError>,
    models: Mutex<Models>,
    /// One model load at a time.
    loading: Mutex<()>,
    open: Mutex<Open>,
    busy: Busy,
    /// The last answer's saving, settled before the next verb that reads or changes history.
    saving: Mutex<Option<Saving>>,
    /// Bumped by every answer: the idle saver saves only if none came since.
    answers: AtomicU64,
    idle_save_after: Mutex<Duration>,
    on_model: Box<dyn Fn(ModelEvent) + Send + Sync>,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller").field("conversation", &lock(&self.open).conversation).finish_non_exhaustive()
    }
}

fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::new(ErrorCode::InvalidInput, message)
}

fn coded<E: crate::error::Coded + std::error::Error>(e: E) -> EngineError {
    EngineError::from_coded(&e)
}

impl Controller {
    /// A controller over `history` (an unusable history is kept as its error: the chat then
    /// works without saving). `on_model` hears every model load, failure and unload.
    pub fn new(history: Result<Arc<Conversations>, EngineError>, on_model: impl Fn(ModelEvent) + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Self {
            history,
            models: Mutex::new(Models::default()),
            loading: Mutex::new(()),
            open: Mutex::new(Open::default()),
            busy: Busy::default(),
            saving: Mutex::new(None),
            answers: AtomicU64::new(0),
            idle_save_after: Mutex::new(IDLE_SAVE_AFTER),
            on_model: Box::new(on_model),
        })
    }

    /// The history store (for listing, renaming, exporting), or why it cannot be used.
    pub fn history(&self) -> Result<Arc<Conversations>, EngineError> {
        self.history.clone()
    }

    /// After how long without a new answer the KV cache is saved.
    pub fn set_idle_save_after(&self, after: Duration) {
        *lock(&self.idle_save_after) = after;
    }

    /// The open conversation's id (`None`: a new one, not saved yet). Waits for the last
    /// answer's saving to settle (a refused first question leaves no conversation).
    pub fn current(&self) -> Option<ConversationId> {
        if !self.busy.answering() {
            self.settle_previous();
        }
        lock(&self.open).conversation
    }

    /// Whether an answer (typed or spoken) is being written.
    pub fn answering(&self) -> bool {
        self.busy.answering()
    }

    /// Whether an attached record is being read into the model.
    pub fn reading_record(&self) -> bool {
        self.busy.reading_record()
    }

    /// The conversation as the model holds it.
    pub fn snapshot(&self) -> Result<SessionSnapshot, EngineError> {
        self.settle_previous();
        self.llm()?.snapshot().map_err(coded)
    }

    /// Tests only (debug builds): the model's handle, to break it as a bug would.
    #[cfg(debug_assertions)]
    #[doc(hidden)]
    pub fn llm_for_tests(&self) -> Result<LlmClient, EngineError> {
        self.llm()
    }

    // ── asking ──────────────────────────────────────────────────────────────────────────

    /// Asks `text` in the open conversation (saved with it; a new conversation is created
    /// with its first question). The answer streams on `events`.
    pub fn ask(self: &Arc<Self>, text: &str, sampling: SamplingParams, mut events: Sink<ChatEvent>) -> Result<(), EngineError> {
        let text = text.trim();
        if text.is_empty() {
            events.disarm();
            return Err(invalid("the message is empty"));
        }
        let (llm, guard) = self.start_answer(&mut events)?;
        let cancel = guard.cancel_token();
        self.ask_saved(&llm, text.to_string(), sampling, cancel, events.holding(guard), None);
        Ok(())
    }

    /// Asks the last question again; its answer is replaced once the new one exists (a new
    /// answer that fails, or is stopped before it begins, leaves the old one as it was).
    pub fn regenerate(self: &Arc<Self>, sampling: SamplingParams, mut events: Sink<ChatEvent>) -> Result<(), EngineError> {
        let (llm, guard) = self.start_answer(&mut events)?;
        let taken = llm.exact_history().and_then(|before| llm.retract_last().map(|last| (before, last))).map_err(coded);
        let (before, last) = match taken {
            Ok((before, Some(last))) => (before, last),
            Ok((_, None)) => {
                events.disarm();
                return Err(invalid("there is no answer to write again"));
            }
            Err(e) => {
                events.disarm();
                return Err(e);
            }
        };
        let from = match (self.history.as_ref(), self.current()) {
            (Ok(history), Some(id)) => match history.db.last_kept_question(id) {
                Ok(q) => q.map(|(from, _)| from),
                Err(e) => {
                    let _ = llm.restore_exact(before);
                    events.disarm();
                    return Err(coded(e));
                }
            },
            _ => None,
        };
        let cancel = guard.cancel_token();
        let events = events.holding(guard);
        match from {
            Some(from) => self.ask_saved(&llm, last.user, sampling, cancel, events, Some(Replacing { from, before })),
            // Not saved: the model alone is put back if the new answer is not kept.
            None => {
                let restore = (llm.clone(), Some(before));
                let sink = restoring_sink(events, restore);
                let _ = llm.send(last.user, sampling, cancel, sink);
            }
        }
        Ok(())
    }

    /// The model and the answer slot for a new answer, once the last answer's saving has
    /// settled; on an error `events` is disarmed (the caller returns the error).
    fn start_answer(self: &Arc<Self>, events: &mut Sink<ChatEvent>) -> Result<(LlmClient, busy::SlotGuard), EngineError> {
        match self.ready_llm().and_then(|llm| self.busy.begin_answer().map(|g| (llm, g))) {
            Ok(started) => {
                self.settle_previous();
                Ok(started)
            }
            Err(e) => {
                events.disarm();
                Err(e)
            }
        }
    }

    /// Asks `text` into the saved conversation (created if new); every failure ends `events`.
    fn ask_saved(self: &Arc<Self>, llm: &LlmClient, text: String, sampling: SamplingParams, cancel: CancelToken, mut events: Sink<ChatEvent>, replacing: Option<Replacing>) {
        self.answers.fetch_add(1, Ordering::Relaxed);
        lock(&self.open).unsaved_cache = true;
        let Ok(history) = self.history.clone() else {
            let _ = llm.send(text, sampling, cancel, events);
            return;
        };
        let (id, created) = match self.conversation_for_question() {
            Ok(c) => c,
            Err(e) => {
                events.send(ChatEvent::Error(e));
                return;
            }
        };
        let options = AskOptions { kv: KvSaving::Deferred, replacing };
        match history.ask_with(llm, id, &text, sampling, cancel, events, options) {
            Ok(saving) => {
                *lock(&self.saving) = Some(saving);
                self.save_when_idle();
            }
            Err(_) if created => {
                // The question could not be saved: no empty conversation is left behind.
                let _ = history.delete(id);
                let mut open = lock(&self.open);
                if open.conversation == Some(id) {
                    open.conversation = None;
                }
            }
            Err(_) => {}
        }
    }

    /// The open conversation's id, creating it now if it is new (with the record and the
    /// loaded model's id); whether it was created.
    fn conversation_for_question(&self) -> Result<(ConversationId, bool), EngineError> {
        let history = self.history.clone()?;
        let model = self.loaded().0;
        let mut open = lock(&self.open);
        if let Some(id) = open.conversation {
            return Ok((id, false));
        }
        let id = history.db.create(open.record.as_deref(), model.as_deref()).map_err(coded)?;
        open.conversation = Some(id);
        Ok((id, true))
    }

    /// The person is typing `text`: its finished words are read ahead (nothing is said, kept
    /// or saved). Ignored while answering or without a model.
    pub fn typing(&self, text: &str) {
        let Some(words) = complete_words(text) else { return };
        if self.busy.answering() {
            return;
        }
        let Ok(llm) = self.llm() else { return };
        let cancel = CancelToken::new();
        self.busy.set_typing(cancel.clone());
        if let Err(e) = llm.prefill_ahead(Some(words.to_string()), cancel) {
            tracing::debug!("reading ahead what is typed: {e}");
        }
    }

    /// Stops the answer (also while its question is being read), the voice turn, the reading
    /// of a record and any read-ahead.
    pub fn stop(&self) {
        self.busy.stop_all();
    }

    /// Waits for the last answer's saving to settle (its text and ids saved, a replaced or
    /// dropped exchange reconciled with the model).
    fn settle_previous(&self) {
        let mut saving = lock(&self.saving);
        let Some(s) = saving.as_mut() else { return };
        if !s.settle(SETTLE_WAIT) {
            tracing::warn!("the last answer's saving has not settled; going on");
            return;
        }
        if s.removed_conversation() {
            // A refused first question: the conversation it had started is gone.
            *saving = None;
            drop(saving);
            lock(&self.open).conversation = None;
        }
    }

    // ── the record and the instructions ─────────────────────────────────────────────────

    /// Attaches `text` as the record and reads it into the model now; what the parser read of
    /// it. A record that does not fit (even reduced to its results) is refused with
    /// `llm.record_too_long`, and the record attached before stays, in the model and saved.
    /// Stop cancels the reading: the record stays attached and is read with the next question.
    pub fn attach_record(self: &Arc<Self>, text: &str) -> Result<RecordInfo, EngineError> {
        let text = text.trim().to_string();
        if text.is_empty() {
            return Err(invalid("the record is empty"));
        }
        let llm = self.ready_llm()?;
        let guard = self.busy.begin_priming()?;
        self.settle_previous();
        let previous = lock(&self.open).record.clone();
        let put_back = |llm: &LlmClient| {
            let _ = llm.set_record(previous.clone());
            let _ = llm.prime(CancelToken::new());
        };
        llm.set_record(Some(text.clone())).map_err(coded)?;
        if let Err(e) = llm.prime_wait(guard.cancel_token()) {
            put_back(&llm);
            return Err(e);
        }
        drop(guard);
        if let (Ok(history), Some(id)) = (self.history.as_ref(), self.current()) {
            if let Err(e) = history.db.set_record(id, Some(&text)) {
                put_back(&llm);
                return Err(coded(e));
            }
        }
        let reduced = llm.snapshot().map(|s| s.record_reduced).unwrap_or(false);
        let mut open = lock(&self.open);
        open.record = Some(text.clone());
        open.unsaved_cache = true;
        Ok(RecordInfo::of(&text, reduced))
    }

    /// Detaches the record (the conversation stays).
    pub fn detach_record(&self) -> Result<(), EngineError> {
        if let (Ok(history), Some(id)) = (self.history.as_ref(), self.current()) {
            history.db.set_record(id, None).map_err(coded)?;
        }
        if let Ok(llm) = self.llm() {
            llm.set_record(None).map_err(coded)?;
        }
        let mut open = lock(&self.open);
        open.record = None;
        open.unsaved_cache = true;
        Ok(())
    }

    /// The attached record as read, if there is one. Its red flags never depend on the model.
    pub fn record_current(&self) -> Option<RecordInfo> {
        let text = lock(&self.open).record.clone()?;
        let reduced = self.llm().ok().and_then(|llm| llm.snapshot().ok()).is_some_and(|s| s.record_reduced);
        Some(RecordInfo::of(&text, reduced))
    }

    /// Checks a finished answer against the attached record and what the person asked
    /// (without a record only the phrases are checked: there is nothing to hold numbers to).
    pub fn answer_check(&self, answer: &str) -> AnswerCheck {
        let record = lock(&self.open).record.clone();
        let questions: Vec<String> = self.llm().ok().and_then(|llm| llm.snapshot().ok()).map(|s| s.turns.into_iter().map(|t| t.user).collect()).unwrap_or_default();
        let asked: Vec<&str> = questions.iter().map(String::as_str).collect();
        let (parsed, text) = match &record {
            Some(text) => (crate::records::parse(text), text.as_str()),
            None => (ParsedRecord::default(), ""),
        };
        let mut check = check_answer(answer, &parsed, text, &asked);
        if record.is_none() {
            check.issues.retain(|i| i.kind != IssueKind::UnmatchedNumber);
            check.numbers_checked = 0;
        }
        check
    }

    /// Replaces the assistant's instructions (`None`: the default).
    pub fn set_instructions(&self, instructions: Option<String>) -> Result<(), EngineError> {
        lock(&self.open).instructions = instructions.clone();
        if let Ok(llm) = self.llm() {
            llm.set_system_prompt(instructions).map_err(coded)?;
        }
        Ok(())
    }

    // ── conversations ───────────────────────────────────────────────────────────────────

    /// Starts a new conversation (the record and the instructions stay); saved with its first
    /// question.
    pub fn new_conversation(&self) -> Result<(), EngineError> {
        self.stop();
        self.settle_previous();
        self.leave();
        lock(&self.open).conversation = None;
        if let Ok(llm) = self.llm() {
            llm.clear_history().map_err(coded)?;
        }
        Ok(())
    }

    /// Opens saved conversation `id`: the model gets its record and turns back, and its saved
    /// cache if that matches the loaded model (otherwise the next question reads it again).
    pub fn open(&self, id: ConversationId) -> Result<Resumed, EngineError> {
        let history = self.history.clone()?;
        let llm = self.llm()?;
        let key = self.model_key()?;
        self.stop();
        self.settle_previous();
        self.leave();
        let resumed = history.resume(&llm, &key, id)?;
        let mut open = lock(&self.open);
        open.conversation = Some(id);
        open.record = resumed.conversation.record.clone();
        open.unsaved_cache = false;
        Ok(resumed)
    }

    /// Deletes conversation `id` (messages, record, cache file). If it is open, the chat
    /// starts a new conversation without the record.
    pub fn delete(&self, id: ConversationId) -> Result<(), EngineError> {
        let history = self.history.clone()?;
        let is_open = self.current() == Some(id);
        if is_open {
            self.stop();
            self.settle_previous();
        }
        history.delete(id).map_err(coded)?;
        if is_open {
            self.forget_open()?;
        }
        Ok(())
    }

    /// Deletes every conversation, record and cache file; the instructions go back to the
    /// default. The models stay.
    pub fn delete_all(&self) -> Result<(), EngineError> {
        let history = self.history.clone()?;
        self.stop();
        self.settle_previous();
        history.delete_all().map_err(coded)?;
        lock(&self.open).instructions = None;
        if let Ok(llm) = self.llm() {
            llm.set_system_prompt(None).map_err(coded)?;
        }
        self.forget_open()
    }

    /// A new, empty conversation in the model, with no record.
    fn forget_open(&self) -> Result<(), EngineError> {
        {
            let mut open = lock(&self.open);
            open.conversation = None;
            open.record = None;
            open.unsaved_cache = false;
        }
        if let Ok(llm) = self.llm() {
            llm.clear_history().map_err(coded)?;
            llm.set_record(None).map_err(coded)?;
        }
        Ok(())
    }

    /// The app goes to the background (or quits): the open conversation's cache is saved.
    pub fn suspend(&self) {
        self.settle_previous();
        self.leave();
    }

    /// Saves the open conversation's KV cache if it changed since it was last saved.
    fn leave(&self) {
        let (id, unsaved) = {
            let open = lock(&self.open);
            (open.conversation, open.unsaved_cache)
        };
        let (Some(id), true, Ok(history), Ok(llm)) = (id, unsaved, self.history.as_ref(), self.llm()) else { return };
        match history.save_state(&llm, id) {
            Ok(bytes) => {
                tracing::debug!(?bytes, "conversation cache saved");
                lock(&self.open).unsaved_cache = false;
            }
            Err(e) => tracing::warn!(code = ?e.code, "the conversation's cache could not be saved"),
        }
    }

    /// Saves the cache once no answer has come for a while (one thread per answer, which
    /// does nothing if another answer came meanwhile).
    fn save_when_idle(self: &Arc<Self>) {
        let answer = self.answers.load(Ordering::Relaxed);
        let after = *lock(&self.idle_save_after);
        let weak = Arc::downgrade(self);
        let spawned = std::thread::Builder::new().name("murmur-idle-save".into()).spawn(move || {
            // Quiet for `after` once the answer is over; a newer answer has its own saver.
            loop {
                std::thread::sleep(after);
                let Some(this) = weak.upgrade() else { return };
                if this.answers.load(Ordering::Relaxed) != answer {
                    return;
                }
                if this.busy.idle() {
                    this.settle_previous();
                    this.leave();
                    return;
                }
            }
        });
        if let Err(e) = spawned {
            tracing::debug!("no idle saver: {e}");
        }
    }
}

/// An answer stream that gives the model `restore` back if the answer is not kept (it failed,
/// or was stopped before it began): "ask again" outside a saved conversation.
fn restoring_sink(mut events: Sink<ChatEvent>, restore: (LlmClient, Option<Vec<ExactTurn>>)) -> Sink<ChatEvent> {
    let (llm, mut before) = restore;
    Sink::new(move |e: ChatEvent| {
        let dropped = match &e {
            ChatEvent::Error(_) => true,
            ChatEvent::Done(stats) => stats.finish == FinishReason::Cancelled && stats.generated_tokens == 0,
            _ => false,
        };
        if dropped {
            if let Some(before) = before.take() {
                let _ = llm.restore_exact(before);
            }
        }
        events.send(e);
    })
}

/// The words of `text` that are finished (followed by a space), if any.
pub fn complete_words(text: &str) -> Option<&str> {
    let text = text.trim_start();
    let end = text.rfind(char::is_whitespace)?;
    Some(text[..end].trim_end()).filter(|w| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::complete_words;

    #[test]
    fn only_finished_words_are_read_ahead() {
        assert_eq!(complete_words("What does"), Some("What"));
        assert_eq!(complete_words("What does "), Some("What does"));
        assert_eq!(complete_words("  What  does a high"), Some("What  does a"));
        assert_eq!(complete_words("What"), None);
        assert_eq!(complete_words("   "), None);
        assert_eq!(complete_words(""), None);
    }
}
