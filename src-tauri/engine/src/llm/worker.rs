//! The LLM worker: one thread owns the model, its context and the conversation (the engine's
//! [`Worker`] pattern). Callers send requests and receive each answer as a stream of
//! [`ChatEvent`]s on a [`Sink`]; the stream always ends with exactly one `Done` or `Error`.
//! No lock is held across inference; cancellation is a flag checked between prefill chunks
//! and between tokens. Dropping the worker cancels the answer in flight.

use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};

use serde::{Deserialize, Serialize};

use super::{ChatSession, ExactTurn, GgufInfo, LlmError, LlmModel, SamplingParams, SessionOptions, Turn, TurnEvent, TurnStats};
use crate::error::EngineError;
use crate::store::SavedState;
use crate::stream::{Sink, StreamEvent};
use crate::worker::{Client, Ready, Worker, WorkerError};
use crate::CancelToken;

/// Events of one answer, in order; the last is `Done` or `Error`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum ChatEvent {
    /// The oldest turns were dropped to fit the context.
    Trimmed { dropped_turns: usize },
    /// The next piece of the answer (complete UTF-8 characters).
    Token(String),
    /// The answer ended (also after a cancel: see `finish`); the stream is over.
    Done(TurnStats),
    /// The answer failed; the stream is over and the conversation is unchanged.
    Error(EngineError),
}

impl StreamEvent for ChatEvent {
    fn is_terminal(&self) -> bool {
        matches!(self, Self::Done(_) | Self::Error(_))
    }
    fn interrupted(error: EngineError) -> Self {
        Self::Error(error)
    }
}

impl crate::stream::Coalesce for ChatEvent {
    fn merge(&mut self, next: Self) -> Option<Self> {
        match (self, next) {
            (Self::Token(a), Self::Token(b)) => {
                a.push_str(&b);
                None
            }
            (_, next) => Some(next),
        }
    }
}

/// What the session holds, for the app to show and for tests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SessionSnapshot {
    /// The system message as the model reads it (instructions, then any record).
    pub system_message: String,
    pub has_record: bool,
    /// The record is too long for the context: the model reads its parsed results and the
    /// lines around the flagged ones only (the person is told).
    pub record_reduced: bool,
    pub turns: Vec<Turn>,
    pub cached_tokens: usize,
    pub n_ctx: u32,
}

/// What the model worker knows once it is ready.
#[derive(Clone, Debug)]
pub struct LlmInfo {
    pub gguf: GgufInfo,
    pub n_ctx: u32,
    /// The model file's fingerprint (saved KV states name it).
    pub fingerprint: [u8; 32],
}

type Reply<T> = Sender<Result<T, EngineError>>;

/// Requests to the model thread.
#[derive(Debug)]
pub enum Request {
    Send { text: String, sampling: SamplingParams, events: Sink<ChatEvent> },
    Prime { done: Reply<()> },
    /// See [`ChatSession::prefill_ahead`].
    PrefillAhead { user_so_far: Option<String> },
    /// See [`ChatSession::prefill_question`].
    PrefillQuestion { user: String },
    SetSystemPrompt(Option<String>),
    SetRecord(Option<String>),
    ClearHistory,
    Restore(Vec<Turn>),
    RestoreExact(Vec<ExactTurn>),
    ExactHistory(Sender<Vec<ExactTurn>>),
    SaveState(Sender<Option<SavedState>>),
    LoadState(Box<SavedState>, Sender<bool>),
    ResetCache(Sender<()>),
    RetractLast(Sender<Option<Turn>>),
    Snapshot(Sender<SessionSnapshot>),
    /// Tests only: the model thread panics, as a bug in it would.
    #[cfg(debug_assertions)]
    Panic,
}

/// A clonable handle to the model thread, usable from any thread.
#[derive(Clone, Debug)]
pub struct LlmClient {
    client: Client<Request>,
}

impl LlmClient {
    fn request(&self, r: Request) -> Result<(), LlmError> {
        Ok(self.client.submit(r, CancelToken::new())?)
    }

    /// Asks a question; the answer streams into `events`. `cancel` stops it (between prefill
    /// chunks and between tokens); a cancelled answer ends with `Done` (finish `cancelled`).
    pub fn send(&self, text: impl Into<String>, sampling: SamplingParams, cancel: CancelToken, events: Sink<ChatEvent>) -> Result<(), LlmError> {
        Ok(self.client.submit(Request::Send { text: text.into(), sampling, events }, cancel)?)
    }

    /// As [`Self::send`], with the events on a channel.
    pub fn ask(&self, text: impl Into<String>, sampling: SamplingParams, cancel: CancelToken) -> Result<Receiver<ChatEvent>, LlmError> {
        let (sink, rx) = Sink::channel();
        self.send(text, sampling, cancel, sink)?;
        Ok(rx)
    }

    /// Prefills the system message (instructions and record) now, e.g. while the person is
    /// still speaking or as soon as a record is attached. The result arrives on the receiver.
    pub fn prime(&self, cancel: CancelToken) -> Result<Receiver<Result<(), EngineError>>, LlmError> {
        let (done, rx) = channel();
        self.client.submit(Request::Prime { done }, cancel)?;
        Ok(rx)
    }

    /// Decodes what the next question will start with (the template's tokens and
    /// `user_so_far`, the words heard or typed so far) while the person is still
    /// speaking or typing; `cancel` stops it. Fire and forget: a question that differs just
    /// re-reads from the first difference.
    pub fn prefill_ahead(&self, user_so_far: Option<String>, cancel: CancelToken) -> Result<(), LlmError> {
        Ok(self.client.submit(Request::PrefillAhead { user_so_far }, cancel)?)
    }

    /// Decodes a whole question ahead (a transcript that is final unless the person speaks
    /// again), so that asking exactly it starts the answer at once; `cancel` stops it. Fire
    /// and forget, like [`Self::prefill_ahead`].
    pub fn prefill_question(&self, user: String, cancel: CancelToken) -> Result<(), LlmError> {
        Ok(self.client.submit(Request::PrefillQuestion { user }, cancel)?)
    }

    /// Primes and waits.
    pub fn prime_wait(&self, cancel: CancelToken) -> Result<(), EngineError> {
        let rx = self.prime(cancel).map_err(|e| EngineError::from_coded(&e))?;
        rx.recv().map_err(|_| EngineError::from_coded(&WorkerError::Stopped("llm")))?
    }

    /// Replaces the assistant's instructions (`None`: the default); a record stays attached.
    pub fn set_system_prompt(&self, instructions: Option<String>) -> Result<(), LlmError> {
        self.request(Request::SetSystemPrompt(instructions))
    }

    /// Attaches a record (or detaches it with `None`); custom instructions stay.
    pub fn set_record(&self, record: Option<String>) -> Result<(), LlmError> {
        self.request(Request::SetRecord(record))
    }

    /// Starts a new conversation (instructions and record kept).
    pub fn clear_history(&self) -> Result<(), LlmError> {
        self.request(Request::ClearHistory)
    }

    /// Replaces the conversation with saved turns (the cache is reused as far as it matches).
    pub fn restore(&self, turns: Vec<Turn>) -> Result<(), LlmError> {
        self.request(Request::Restore(turns))
    }

    /// Replaces the conversation with saved turns whose answers keep the token ids the model
    /// generated (see [`ChatSession::restore_exact`]).
    pub fn restore_exact(&self, turns: Vec<ExactTurn>) -> Result<(), LlmError> {
        self.request(Request::RestoreExact(turns))
    }

    /// The conversation with each answer's token ids.
    pub fn exact_history(&self) -> Result<Vec<ExactTurn>, LlmError> {
        let (tx, rx) = channel();
        self.request(Request::ExactHistory(tx))?;
        rx.recv().map_err(|_| LlmError::Worker(WorkerError::Stopped("llm")))
    }

    /// The KV cache's state (a copy in memory: quick, so it can follow an answer without
    /// delaying the next one; write it to disk elsewhere).
    pub fn save_state(&self) -> Result<Option<SavedState>, LlmError> {
        let (tx, rx) = channel();
        self.request(Request::SaveState(tx))?;
        rx.recv().map_err(|_| LlmError::Worker(WorkerError::Stopped("llm")))
    }

    /// As [`Self::exact_history`] without waiting: the request is queued now (ahead of any
    /// later one) and the history arrives on the receiver.
    pub fn exact_history_later(&self) -> Result<Receiver<Vec<ExactTurn>>, LlmError> {
        let (tx, rx) = channel();
        self.request(Request::ExactHistory(tx))?;
        Ok(rx)
    }

    /// As [`Self::save_state`] without waiting.
    pub fn save_state_later(&self) -> Result<Receiver<Option<SavedState>>, LlmError> {
        let (tx, rx) = channel();
        self.request(Request::SaveState(tx))?;
        Ok(rx)
    }

    /// Empties the KV cache (the conversation stays and is read again with the next
    /// question): for benchmarks.
    pub fn reset_cache(&self) -> Result<(), LlmError> {
        let (tx, rx) = channel();
        self.request(Request::ResetCache(tx))?;
        rx.recv().map_err(|_| LlmError::Worker(WorkerError::Stopped("llm")))
    }

    /// Loads a saved KV state; `false` if it was not loaded (the conversation is read again).
    pub fn load_state(&self, state: SavedState) -> Result<bool, LlmError> {
        let (tx, rx) = channel();
        self.request(Request::LoadState(Box::new(state), tx))?;
        rx.recv().map_err(|_| LlmError::Worker(WorkerError::Stopped("llm")))
    }

    /// Takes the last exchange out of the conversation and returns it (to ask it again).
    pub fn retract_last(&self) -> Result<Option<Turn>, LlmError> {
        let (tx, rx) = channel();
        self.request(Request::RetractLast(tx))?;
        rx.recv().map_err(|_| LlmError::Worker(WorkerError::Stopped("llm")))
    }

    pub fn snapshot(&self) -> Result<SessionSnapshot, LlmError> {
        let (tx, rx) = channel();
        self.request(Request::Snapshot(tx))?;
        rx.recv().map_err(|_| LlmError::Worker(WorkerError::Stopped("llm")))
    }

    /// The conversation so far.
    pub fn turns(&self) -> Result<Vec<Turn>, LlmError> {
        Ok(self.snapshot()?.turns)
    }

    /// Tests only (debug builds): makes the model thread panic, as a bug in it would.
    #[cfg(debug_assertions)]
    #[doc(hidden)]
    pub fn panic_for_tests(&self) -> Result<(), LlmError> {
        self.request(Request::Panic)
    }

    /// Stops the answer (or priming) in progress, if any.
    pub fn cancel_current(&self) {
        self.client.cancel_current();
    }
}

/// Owns the model thread. Dropping it cancels the work in flight, discards queued requests
/// (their streams end with an error) and frees the model.
#[derive(Debug)]
pub struct LlmWorker {
    worker: Worker<Request>,
    client: LlmClient,
    info: LlmInfo,
}

impl LlmWorker {
    /// Starts the thread and loads the model on it; returns once it is ready (or failed).
    pub fn spawn(path: PathBuf, options: SessionOptions) -> Result<Self, LlmError> {
        let (worker, info) = Worker::spawn("llm", move |ready: Ready<LlmInfo, LlmError>, inbox| {
            let model = match LlmModel::load_with(&path, options.repack()) {
                Ok(m) => m,
                Err(e) => return ready.fail(e),
            };
            let mut session = match ChatSession::new(&model, &options) {
                Ok(s) => s,
                Err(e) => return ready.fail(e),
            };
            ready.ok(LlmInfo { gguf: model.info().clone(), n_ctx: session.n_ctx(), fingerprint: *model.fingerprint() });
            while let Some(job) = inbox.next() {
                serve(&mut session, job.request, &job.cancel);
                // Between requests the inference threads sleep instead of spinning, so that
                // Whisper (the final transcript right after a read-ahead) has the cores.
                session.rest();
            }
        })?;
        let client = LlmClient { client: worker.client() };
        Ok(Self { worker, client, info })
    }

    pub fn info(&self) -> &GgufInfo {
        &self.info.gguf
    }

    pub fn n_ctx(&self) -> u32 {
        self.info.n_ctx
    }

    pub fn fingerprint(&self) -> &[u8; 32] {
        &self.info.fingerprint
    }

    /// A handle for other threads (it does not keep the model loaded).
    pub fn client(&self) -> LlmClient {
        self.client.clone()
    }

    pub fn is_alive(&self) -> bool {
        self.worker.is_alive()
    }
}

impl std::ops::Deref for LlmWorker {
    type Target = LlmClient;
    fn deref(&self) -> &LlmClient {
        &self.client
    }
}

fn serve(session: &mut ChatSession<'_>, request: Request, cancel: &CancelToken) {
    match request {
        Request::Send { text, sampling, mut events } => {
            let mut forward = |e: TurnEvent<'_>| {
                events.send(match e {
                    TurnEvent::Trimmed { dropped_turns } => ChatEvent::Trimmed { dropped_turns },
                    TurnEvent::Token(t) => ChatEvent::Token(t.to_string()),
                })
            };
            let end = match session.send(&text, &sampling, cancel, &mut forward) {
                Ok(stats) => {
                    // An answer stopped before it began leaves no turn (as a saved conversation
                    // leaves it out when reopened): the model's view and the saved one agree.
                    if stats.finish == super::FinishReason::Cancelled && stats.generated_tokens == 0 && session.turns().last().is_some_and(|t| t.user == text && t.assistant.is_empty()) {
                        session.retract_last();
                    }
                    ChatEvent::Done(stats)
                }
                Err(e) => ChatEvent::Error(EngineError::from_coded(&e)),
            };
            let answered = matches!(end, ChatEvent::Done(_));
            events.send(end);
            // The next question starts with the template's closing tokens and a user header:
            // decode them now, while the person reads, not when they ask.
            if answered && !cancel.is_cancelled() {
                if let Err(e) = session.prefill_ahead(None, cancel) {
                    tracing::debug!("prefill ahead after the answer failed: {e}");
                }
            }
        }
        Request::PrefillAhead { user_so_far } => {
            if let Err(e) = session.prefill_ahead(user_so_far.as_deref(), cancel) {
                tracing::debug!("prefill ahead failed: {e}");
            }
        }
        Request::PrefillQuestion { user } => {
            if let Err(e) = session.prefill_question(&user, cancel) {
                tracing::debug!("question ahead failed: {e}");
            }
        }
        Request::Prime { done } => {
            let _ = done.send(session.prime(cancel).map_err(|e| EngineError::from_coded(&e)));
        }
        Request::SetSystemPrompt(instructions) => session.set_system_prompt(instructions.as_deref()),
        Request::SetRecord(record) => session.set_record(record.as_deref()),
        Request::ClearHistory => session.clear_history(),
        Request::Restore(turns) => session.restore_history(turns),
        Request::RestoreExact(turns) => session.restore_exact(turns),
        Request::ExactHistory(reply) => {
            let _ = reply.send(session.exact_history());
        }
        Request::SaveState(reply) => {
            let _ = reply.send(session.save_state());
        }
        Request::LoadState(state, reply) => {
            let _ = reply.send(session.load_state(&state));
        }
        Request::ResetCache(reply) => {
            session.reset_cache();
            let _ = reply.send(());
        }
        Request::RetractLast(reply) => {
            let _ = reply.send(session.retract_last());
        }
        #[cfg(debug_assertions)]
        Request::Panic => panic!("the model thread panicked (asked to, by a test)"),
        Request::Snapshot(reply) => {
            let _ = reply.send(SessionSnapshot {
                system_message: session.system_message(),
                has_record: session.has_record(),
                record_reduced: session.record_reduced(),
                turns: session.turns().to_vec(),
                cached_tokens: session.cached_tokens(),
                n_ctx: session.n_ctx(),
            });
        }
    }
}
