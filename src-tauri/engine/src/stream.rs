//! Event streams the app can forward: a [`Sink`] delivers each event to a callback (a Tauri
//! `Channel`, a `std::sync::mpsc` sender, a test's `Vec`), and guarantees that the stream
//! ends with exactly one terminal event (done or error):
//! - events after the terminal one are discarded;
//! - a sink dropped before its terminal event (a worker that stopped, a thread that could not
//!   start or panicked, a request discarded at shut-down) sends an error itself.

use std::sync::mpsc::{channel, Receiver};

use crate::error::{EngineError, ErrorCode};

/// An event type with a terminal form.
pub trait StreamEvent: Send + 'static {
    /// True for the events that end a stream (done, final, error).
    fn is_terminal(&self) -> bool;
    /// The error event sent when a stream ends without a terminal event.
    fn interrupted(error: EngineError) -> Self;
}

/// The receiving end of a stream.
pub struct Sink<T: StreamEvent> {
    deliver: Option<Box<dyn FnMut(T) + Send>>,
}

impl<T: StreamEvent> std::fmt::Debug for Sink<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink").field("ended", &self.deliver.is_none()).finish()
    }
}

impl<T: StreamEvent> Sink<T> {
    /// A sink that calls `deliver` for every event (on the producing thread).
    pub fn new(deliver: impl FnMut(T) + Send + 'static) -> Self {
        Self { deliver: Some(Box::new(deliver)) }
    }

    /// A sink feeding a channel, for callers that want to block on the events.
    pub fn channel() -> (Self, Receiver<T>) {
        let (tx, rx) = channel();
        (
            Self::new(move |e| {
                let _ = tx.send(e);
            }),
            rx,
        )
    }

    /// Sends an event; the first terminal event ends the stream.
    pub fn send(&mut self, event: T) {
        let terminal = event.is_terminal();
        if let Some(deliver) = self.deliver.as_mut() {
            deliver(event);
        }
        if terminal {
            self.deliver = None;
        }
    }

    /// Whether the terminal event has been sent.
    pub fn ended(&self) -> bool {
        self.deliver.is_none()
    }
}

impl<T: StreamEvent> Drop for Sink<T> {
    fn drop(&mut self) {
        if !self.ended() {
            let why = if std::thread::panicking() {
                "the stream's worker thread failed unexpectedly"
            } else {
                "the stream ended before it finished: its worker stopped"
            };
            self.send(T::interrupted(EngineError::new(ErrorCode::WorkerStopped, why)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Ev {
        Item(u32),
        Done,
        Error(ErrorCode),
    }

    impl StreamEvent for Ev {
        fn is_terminal(&self) -> bool {
            !matches!(self, Ev::Item(_))
        }
        fn interrupted(error: EngineError) -> Self {
            Ev::Error(error.code)
        }
    }

    #[test]
    fn a_stream_ends_exactly_once() {
        let (mut sink, rx) = Sink::channel();
        sink.send(Ev::Item(1));
        sink.send(Ev::Done);
        sink.send(Ev::Item(2));
        sink.send(Ev::Error(ErrorCode::Cancelled));
        drop(sink);
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![Ev::Item(1), Ev::Done]);
    }

    #[test]
    fn a_dropped_stream_ends_with_an_error() {
        let (mut sink, rx) = Sink::channel();
        sink.send(Ev::Item(1));
        drop(sink);
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![Ev::Item(1), Ev::Error(ErrorCode::WorkerStopped)]);
    }

    #[test]
    fn a_panicking_producer_still_ends_the_stream() {
        let (sink, rx) = Sink::<Ev>::channel();
        let t = std::thread::spawn(move || {
            let _owned = sink;
            panic!("producer failed");
        });
        assert!(t.join().is_err());
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![Ev::Error(ErrorCode::WorkerStopped)]);
    }
}
