//! The LLM worker: one thread owns the model, its context and the conversation. Callers send
//! requests over a channel and receive each answer as a stream of events that always ends
//! with `Done` or `Error`. No lock is held across inference; cancellation is a flag checked
//! between prefill chunks and between tokens.

use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread::JoinHandle;

use super::{ChatSession, GgufInfo, LlmError, LlmModel, SamplingParams, SessionOptions, Turn, TurnEvent, TurnStats};
use crate::CancelToken;

/// Events of one answer.
#[derive(Debug)]
pub enum ChatEvent {
    /// The oldest turns were dropped to fit the context.
    Trimmed { dropped_turns: usize },
    /// The next piece of the answer (complete UTF-8 characters).
    Token(String),
    /// The answer ended (also after a cancel); the stream is over.
    Done(TurnStats),
    /// The answer failed; the stream is over and the conversation is unchanged.
    Error(LlmError),
}

enum Request {
    Send { text: String, sampling: SamplingParams, cancel: CancelToken, events: Sender<ChatEvent> },
    Prime { cancel: CancelToken, done: Sender<Result<(), LlmError>> },
    SetRecord(Option<String>),
    ClearHistory,
    Turns(Sender<Vec<Turn>>),
}

/// Handle to the worker thread. Dropping it stops the thread after the current request.
pub struct LlmWorker {
    tx: Option<Sender<Request>>,
    handle: Option<JoinHandle<()>>,
    info: GgufInfo,
    n_ctx: u32,
}

impl std::fmt::Debug for LlmWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmWorker").field("info", &self.info).field("n_ctx", &self.n_ctx).finish()
    }
}

impl LlmWorker {
    /// Starts the thread and loads the model on it; returns once it is ready (or failed).
    pub fn spawn(path: PathBuf, options: SessionOptions) -> Result<Self, LlmError> {
        let (tx, rx) = channel::<Request>();
        let (ready_tx, ready_rx) = channel::<Result<(GgufInfo, u32), LlmError>>();
        let handle = std::thread::Builder::new()
            .name("murmur-llm".into())
            .spawn(move || {
                let model = match LlmModel::load(&path) {
                    Ok(m) => m,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let session = match ChatSession::new(&model, &options) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok((model.info().clone(), session.n_ctx())));
                serve(session, rx);
            })
            .map_err(|e| LlmError::Context(format!("cannot start the model thread: {e}")))?;
        match ready_rx.recv() {
            Ok(Ok((info, n_ctx))) => Ok(Self { tx: Some(tx), handle: Some(handle), info, n_ctx }),
            Ok(Err(e)) => {
                let _ = handle.join();
                Err(e)
            }
            Err(_) => {
                let _ = handle.join();
                Err(LlmError::WorkerGone)
            }
        }
    }

    pub fn info(&self) -> &GgufInfo {
        &self.info
    }

    pub fn n_ctx(&self) -> u32 {
        self.n_ctx
    }

    fn request(&self, r: Request) -> Result<(), LlmError> {
        self.tx.as_ref().ok_or(LlmError::WorkerGone)?.send(r).map_err(|_| LlmError::WorkerGone)
    }

    /// Asks a question; the answer streams on the returned receiver.
    pub fn send(&self, text: impl Into<String>, sampling: SamplingParams, cancel: CancelToken) -> Result<Receiver<ChatEvent>, LlmError> {
        let (events, rx) = channel();
        self.request(Request::Send { text: text.into(), sampling, cancel, events })?;
        Ok(rx)
    }

    /// Prefills the system prompt now (e.g. while the person is still speaking).
    pub fn prime(&self, cancel: CancelToken) -> Result<Receiver<Result<(), LlmError>>, LlmError> {
        let (done, rx) = channel();
        self.request(Request::Prime { cancel, done })?;
        Ok(rx)
    }

    pub fn set_record(&self, record: Option<String>) -> Result<(), LlmError> {
        self.request(Request::SetRecord(record))
    }

    pub fn clear_history(&self) -> Result<(), LlmError> {
        self.request(Request::ClearHistory)
    }

    /// The conversation so far.
    pub fn turns(&self) -> Result<Vec<Turn>, LlmError> {
        let (tx, rx) = channel();
        self.request(Request::Turns(tx))?;
        rx.recv().map_err(|_| LlmError::WorkerGone)
    }
}

impl Drop for LlmWorker {
    fn drop(&mut self) {
        drop(self.tx.take()); // closes the channel: the thread ends after its current request
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn serve(mut session: ChatSession<'_>, rx: Receiver<Request>) {
    while let Ok(request) = rx.recv() {
        match request {
            Request::Send { text, sampling, cancel, events } => {
                let mut forward = |e: TurnEvent<'_>| {
                    let _ = events.send(match e {
                        TurnEvent::Trimmed { dropped_turns } => ChatEvent::Trimmed { dropped_turns },
                        TurnEvent::Token(t) => ChatEvent::Token(t.to_string()),
                    });
                };
                let end = match session.send(&text, &sampling, &cancel, &mut forward) {
                    Ok(stats) => ChatEvent::Done(stats),
                    Err(e) => ChatEvent::Error(e),
                };
                let _ = events.send(end);
            }
            Request::Prime { cancel, done } => {
                let _ = done.send(session.prime(&cancel));
            }
            Request::SetRecord(record) => session.set_record(record.as_deref()),
            Request::ClearHistory => session.clear_history(),
            Request::Turns(reply) => {
                let _ = reply.send(session.turns().to_vec());
            }
        }
    }
}
