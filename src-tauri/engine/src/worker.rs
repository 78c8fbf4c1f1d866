//! The one worker pattern of the engine (the LLM, Whisper, the microphone and live listening
//! all use it): a dedicated thread that owns its state (a model, a device), started with
//! [`Worker::spawn`], which returns once the thread is ready or failed with a typed error.
//! Requests go over a channel, each with a [`CancelToken`]. Dropping the [`Worker`] cancels
//! the request in flight, discards the queued ones (their event streams end with an error,
//! see [`crate::stream::Sink`]) and joins the thread, so it never waits for queued work, and
//! never hangs while [`Client`] clones live.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::{Coded, ErrorCode};
use crate::CancelToken;

/// Why a worker could not take a request or could not start.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WorkerError {
    #[error("could not start the {name} thread: {message}")]
    Spawn { name: &'static str, message: String },
    #[error("the {0} thread stopped before it was ready")]
    DiedStarting(&'static str),
    #[error("the {0} worker has stopped")]
    Stopped(&'static str),
}

impl Coded for WorkerError {
    fn code(&self) -> ErrorCode {
        ErrorCode::WorkerStopped
    }
}

enum Message<R> {
    Job(R, CancelToken),
    /// Wakes the thread so that it notices the shut-down.
    Wake,
}

struct Control {
    shutdown: AtomicBool,
    /// The token of the request being served.
    current: Mutex<Option<CancelToken>>,
}

impl Control {
    fn shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }
}

/// Tells [`Worker::spawn`] that the thread is ready (with what the caller should know, e.g.
/// the model's metadata) or failed. Dropping it unused counts as a failure.
pub struct Ready<I, E> {
    tx: Sender<Result<I, E>>,
}

impl<I, E> Ready<I, E> {
    pub fn ok(self, info: I) {
        let _ = self.tx.send(Ok(info));
    }

    pub fn fail(self, error: E) {
        let _ = self.tx.send(Err(error));
    }
}

/// The thread's side: where its requests arrive.
pub struct Inbox<R> {
    rx: Receiver<Message<R>>,
    control: Arc<Control>,
}

/// A request and its cancel token.
pub struct Job<R> {
    pub request: R,
    pub cancel: CancelToken,
}

impl<R> Inbox<R> {
    fn accept(&self, request: R, cancel: CancelToken) -> Job<R> {
        if let Ok(mut current) = self.control.current.lock() {
            *current = Some(cancel.clone());
        }
        // Checked after publishing the token: either the dropping side sees the token and
        // cancels it, or this side sees the shut-down.
        if self.control.shutting_down() {
            cancel.cancel();
        }
        Job { request, cancel }
    }

    fn idle(&self) {
        if let Ok(mut current) = self.control.current.lock() {
            *current = None;
        }
    }

    /// Discards everything queued (their streams end with an error as they drop).
    fn drain(&self) {
        while self.rx.try_recv().is_ok() {}
    }

    /// Waits for the next request; `None` once the worker is shutting down.
    pub fn next(&self) -> Option<Job<R>> {
        self.idle();
        loop {
            if self.control.shutting_down() {
                self.drain();
                return None;
            }
            match self.rx.recv() {
                Ok(Message::Job(request, cancel)) if !self.control.shutting_down() => return Some(self.accept(request, cancel)),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }

    /// The next request if one is waiting (never blocks); `None` also while shutting down.
    pub fn try_next(&self) -> Option<Job<R>> {
        self.idle();
        loop {
            if self.control.shutting_down() {
                self.drain();
                return None;
            }
            match self.rx.try_recv() {
                Ok(Message::Job(request, cancel)) => return Some(self.accept(request, cancel)),
                Ok(Message::Wake) => continue,
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return None,
            }
        }
    }

    /// Waits up to `timeout` for a request.
    pub fn next_timeout(&self, timeout: Duration) -> Option<Job<R>> {
        self.idle();
        if self.control.shutting_down() {
            self.drain();
            return None;
        }
        match self.rx.recv_timeout(timeout) {
            Ok(Message::Job(request, cancel)) if !self.control.shutting_down() => Some(self.accept(request, cancel)),
            Ok(_) | Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// True once the owner has dropped the [`Worker`]: stop what you are doing.
    pub fn shutting_down(&self) -> bool {
        self.control.shutting_down()
    }
}

/// A cheap, clonable handle for sending requests (it does not keep the thread alive).
pub struct Client<R> {
    name: &'static str,
    tx: Sender<Message<R>>,
    control: Arc<Control>,
}

impl<R> Clone for Client<R> {
    fn clone(&self) -> Self {
        Self { name: self.name, tx: self.tx.clone(), control: self.control.clone() }
    }
}

impl<R> std::fmt::Debug for Client<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("worker", &self.name).finish()
    }
}

impl<R: Send + 'static> Client<R> {
    /// Queues a request. If the worker has stopped, the request is dropped (a stream it
    /// carries ends with an error) and `WorkerError::Stopped` is returned.
    pub fn submit(&self, request: R, cancel: CancelToken) -> Result<(), WorkerError> {
        if self.control.shutting_down() {
            return Err(WorkerError::Stopped(self.name));
        }
        self.tx.send(Message::Job(request, cancel)).map_err(|_| WorkerError::Stopped(self.name))
    }

    /// Cancels the request being served, if any (queued requests still run).
    pub fn cancel_current(&self) {
        if let Ok(current) = self.control.current.lock() {
            if let Some(c) = current.as_ref() {
                c.cancel();
            }
        }
    }
}

/// Owns a worker thread. Dropping it cancels the work in flight and joins the thread.
pub struct Worker<R> {
    client: Client<R>,
    handle: Option<JoinHandle<()>>,
}

impl<R> std::fmt::Debug for Worker<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("name", &self.client.name).finish()
    }
}

impl<R: Send + 'static> Worker<R> {
    /// Starts a thread named `murmur-{name}` running `body`, which must call `ready.ok(..)`
    /// (or `ready.fail(..)`) once set up, then serve `inbox` until it returns `None`.
    pub fn spawn<I, E, F>(name: &'static str, body: F) -> Result<(Self, I), E>
    where
        I: Send + 'static,
        E: From<WorkerError> + Send + 'static,
        F: FnOnce(Ready<I, E>, Inbox<R>) + Send + 'static,
    {
        let (tx, rx) = channel();
        let control = Arc::new(Control { shutdown: AtomicBool::new(false), current: Mutex::new(None) });
        let (ready_tx, ready_rx) = channel();
        let inbox = Inbox { rx, control: control.clone() };
        let handle = std::thread::Builder::new()
            .name(format!("murmur-{name}"))
            .spawn(move || body(Ready { tx: ready_tx }, inbox))
            .map_err(|e| E::from(WorkerError::Spawn { name, message: e.to_string() }))?;
        let worker = Self { client: Client { name, tx, control }, handle: Some(handle) };
        match ready_rx.recv() {
            Ok(Ok(info)) => Ok((worker, info)),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(E::from(WorkerError::DiedStarting(name))),
        }
    }

    pub fn client(&self) -> Client<R> {
        self.client.clone()
    }

    pub fn submit(&self, request: R, cancel: CancelToken) -> Result<(), WorkerError> {
        self.client.submit(request, cancel)
    }

    pub fn cancel_current(&self) {
        self.client.cancel_current();
    }

    /// Whether the thread is still running.
    pub fn is_alive(&self) -> bool {
        self.handle.as_ref().is_some_and(|h| !h.is_finished())
    }
}

impl<R> Drop for Worker<R> {
    fn drop(&mut self) {
        let control = &self.client.control;
        control.shutdown.store(true, Ordering::SeqCst);
        if let Ok(current) = control.current.lock() {
            if let Some(c) = current.as_ref() {
                c.cancel();
            }
        }
        let _ = self.client.tx.send(Message::Wake);
        if let Some(h) = self.handle.take() {
            if h.thread().id() != std::thread::current().id() {
                let _ = h.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::Sender;
    use std::time::Instant;

    /// A request that takes `ms` unless cancelled, then reports how it ended.
    struct Sleep {
        ms: u64,
        done: Sender<&'static str>,
    }

    fn sleeper() -> Worker<Sleep> {
        let (w, ()) = Worker::<Sleep>::spawn("test", |ready: Ready<(), WorkerError>, inbox| {
            ready.ok(());
            while let Some(job) = inbox.next() {
                let until = Instant::now() + Duration::from_millis(job.request.ms);
                let mut outcome = "done";
                while Instant::now() < until {
                    if job.cancel.is_cancelled() {
                        outcome = "cancelled";
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                let _ = job.request.done.send(outcome);
            }
        })
        .expect("spawn");
        w
    }

    #[test]
    fn drop_cancels_the_request_in_flight_and_discards_the_queue() {
        let w = sleeper();
        let (tx, rx) = channel();
        for _ in 0..5 {
            w.submit(Sleep { ms: 60_000, done: tx.clone() }, CancelToken::new()).expect("submit");
        }
        drop(tx);
        std::thread::sleep(Duration::from_millis(50));
        let start = Instant::now();
        drop(w);
        // Joined quickly: the first request was cancelled, the other four never ran.
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(rx.iter().collect::<Vec<_>>(), vec!["cancelled"]);
    }

    #[test]
    fn drop_does_not_hang_while_a_client_lives() {
        let w = sleeper();
        let client = w.client();
        drop(w);
        let (tx, _rx) = channel();
        assert_eq!(client.submit(Sleep { ms: 1, done: tx }, CancelToken::new()), Err(WorkerError::Stopped("test")));
    }

    #[test]
    fn a_failed_start_is_the_body_s_error_and_a_panic_is_a_typed_error() {
        let r = Worker::<()>::spawn("test", |ready: Ready<(), String>, _inbox| ready.fail("no model".into()));
        assert_eq!(r.err(), Some("no model".to_string()));
        let r = Worker::<()>::spawn("test", |_ready: Ready<(), WorkerError>, _inbox| panic!("load crashed"));
        assert_eq!(r.err(), Some(WorkerError::DiedStarting("test")));
    }

    impl From<WorkerError> for String {
        fn from(e: WorkerError) -> Self {
            e.to_string()
        }
    }
}
