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
    /// Keeps `held` alive until the stream ends (its last event, a disarm, or a drop): a
    /// busy guard held this way clears itself on every exit path.
    pub fn holding<G: Send + 'static>(mut self, held: G) -> Self {
        let Some(mut deliver) = self.deliver.take() else {
            drop(held);
            return self;
        };
        let mut held = Some(held);
        self.deliver = Some(Box::new(move |event: T| {
            // Released before the last event goes out: whoever hears it may start again at once.
            if event.is_terminal() {
                held.take();
            }
            deliver(event);
        }));
        self
    }

    /// Ends the stream without sending anything: the caller reports the error another way
    /// (e.g. a command's own result), so the person never sees two errors for one failure.
    pub fn disarm(&mut self) {
        self.deliver = None;
    }

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

/// Events that can be merged with the next one (consecutive answer tokens).
pub trait Coalesce: Sized {
    /// Appends `next` to `self` if both are of a mergeable kind; otherwise gives it back.
    fn merge(&mut self, next: Self) -> Option<Self>;
}

impl<T: StreamEvent + Coalesce> Sink<T> {
    /// A sink that delivers at most about one message per `interval` (a display frame):
    /// mergeable events arriving sooner than `interval` after the last delivery are merged and
    /// go out with the next event. Nothing waits for a timer: an event is held back only while
    /// events come faster than one per interval, and any other event (done, error) flushes.
    pub fn coalescing(interval: std::time::Duration, mut deliver: impl FnMut(T) + Send + 'static) -> Self {
        let mut held: Option<T> = None;
        let mut last: Option<std::time::Instant> = None;
        Self::new(move |event: T| {
            let terminal = event.is_terminal();
            let event = match held.take() {
                Some(mut h) => match h.merge(event) {
                    None => h,
                    Some(next) => {
                        deliver(h);
                        last = Some(std::time::Instant::now());
                        next
                    }
                },
                None => event,
            };
            let due = last.is_none_or(|t| t.elapsed() >= interval);
            if terminal || due {
                deliver(event);
                last = Some(std::time::Instant::now());
            } else {
                held = Some(event);
            }
        })
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

    impl Coalesce for Ev {
        fn merge(&mut self, next: Self) -> Option<Self> {
            match (self, next) {
                (Ev::Item(a), Ev::Item(b)) => {
                    *a += b;
                    None
                }
                (_, next) => Some(next),
            }
        }
    }

    #[test]
    fn coalescing_merges_bursts_and_flushes_on_the_end() {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut sink = Sink::coalescing(std::time::Duration::from_secs(3600), move |e| {
            let _ = tx.send(e);
        });
        for _ in 0..5 {
            sink.send(Ev::Item(1));
        }
        sink.send(Ev::Done);
        // The first goes at once; the burst after it is merged and flushed with the end.
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![Ev::Item(1), Ev::Item(4), Ev::Done]);
        let (tx, rx) = std::sync::mpsc::channel();
        let mut sink = Sink::coalescing(std::time::Duration::ZERO, move |e| {
            let _ = tx.send(e);
        });
        sink.send(Ev::Item(1));
        sink.send(Ev::Item(2));
        drop(sink);
        // Slow enough events are not merged; a dropped sink still ends the stream.
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![Ev::Item(1), Ev::Item(2), Ev::Error(ErrorCode::WorkerStopped)]);
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
