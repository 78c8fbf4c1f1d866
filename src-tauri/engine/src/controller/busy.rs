//! What the open conversation is busy with: an answer (typed or spoken), a voice turn, reading
//! an attached record, reading ahead what is being typed. Each is a slot with the token that
//! stops it; the answer and the record's reading are held by guards that clear their slot when
//! they drop, on every exit path (a stream's last event, an error, a panic, a disarmed stream),
//! never by a flag that only a stream's last event resets.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::voice::VoiceTurn;
use crate::{CancelToken, EngineError, ErrorCode};

#[derive(Default)]
struct Slots {
    answer: Option<(u64, CancelToken)>,
    priming: Option<(u64, CancelToken)>,
    voice: Option<VoiceTurn>,
    typing: Option<CancelToken>,
}

/// The busy state of one open conversation.
#[derive(Default)]
pub(crate) struct Busy {
    slots: Arc<Mutex<Slots>>,
    next: AtomicU64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Answer,
    Priming,
}

/// Holds a slot; dropping it frees the slot (if it still holds it).
pub(crate) struct SlotGuard {
    slots: Arc<Mutex<Slots>>,
    slot: Slot,
    id: u64,
    cancel: CancelToken,
}

impl SlotGuard {
    pub(crate) fn cancel_token(&self) -> CancelToken {
        self.cancel.clone()
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let mut slots = lock(&self.slots);
        let held = match self.slot {
            Slot::Answer => &mut slots.answer,
            Slot::Priming => &mut slots.priming,
        };
        if held.as_ref().is_some_and(|(id, _)| *id == self.id) {
            *held = None;
        }
    }
}

impl Busy {
    /// Takes the answer slot: one answer at a time, typed or spoken.
    pub(crate) fn begin_answer(&self) -> Result<SlotGuard, EngineError> {
        self.begin(Slot::Answer)
    }

    /// Takes the record-reading slot (refused while an answer is being written).
    pub(crate) fn begin_priming(&self) -> Result<SlotGuard, EngineError> {
        self.begin(Slot::Priming)
    }

    fn begin(&self, slot: Slot) -> Result<SlotGuard, EngineError> {
        let mut slots = lock(&self.slots);
        if slots.answer.is_some() {
            return Err(EngineError::new(ErrorCode::Busy, "an answer is still being written: stop it first"));
        }
        // A question asked while a record is being read waits for it on the model's queue;
        // a second record waits for the first.
        if slot == Slot::Priming && slots.priming.is_some() {
            return Err(EngineError::new(ErrorCode::Busy, "a record is still being read: wait a moment or stop it"));
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let cancel = CancelToken::new();
        let held = match slot {
            Slot::Answer => &mut slots.answer,
            Slot::Priming => &mut slots.priming,
        };
        *held = Some((id, cancel.clone()));
        Ok(SlotGuard { slots: self.slots.clone(), slot, id, cancel })
    }

    pub(crate) fn answering(&self) -> bool {
        lock(&self.slots).answer.is_some()
    }

    pub(crate) fn reading_record(&self) -> bool {
        lock(&self.slots).priming.is_some()
    }

    /// Whether anything at all is running (the idle saver waits for none).
    pub(crate) fn idle(&self) -> bool {
        let slots = lock(&self.slots);
        slots.answer.is_none() && slots.priming.is_none()
    }

    /// Keeps the running voice turn (to stop or cancel it); the one before is cancelled.
    pub(crate) fn set_voice(&self, turn: VoiceTurn) {
        let previous = lock(&self.slots).voice.replace(turn);
        if let Some(previous) = previous {
            previous.cancel();
        }
    }

    /// The person released the mic: transcribe and answer.
    pub(crate) fn stop_listening(&self) {
        if let Some(turn) = lock(&self.slots).voice.as_ref() {
            turn.stop();
        }
    }

    /// Cancels the voice turn (listening, or its answer).
    pub(crate) fn cancel_voice(&self) {
        let turn = lock(&self.slots).voice.take();
        if let Some(turn) = turn {
            turn.cancel();
        }
    }

    /// A newer read-ahead of typed words replaces the older one.
    pub(crate) fn set_typing(&self, cancel: CancelToken) {
        if let Some(previous) = lock(&self.slots).typing.replace(cancel) {
            previous.cancel();
        }
    }

    /// Stop: the answer, the voice turn, the record's reading and any read-ahead.
    pub(crate) fn stop_all(&self) {
        let mut slots = lock(&self.slots);
        if let Some((_, c)) = &slots.answer {
            c.cancel();
        }
        if let Some((_, c)) = &slots.priming {
            c.cancel();
        }
        if let Some(turn) = &slots.voice {
            turn.cancel();
        }
        if let Some(c) = slots.typing.take() {
            c.cancel();
        }
    }
}

/// Locks a mutex, recovering from a poisoned one (a panicked caller must not brick the app).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guard_frees_its_slot_on_drop_and_only_its_own() {
        let busy = Busy::default();
        let first = busy.begin_answer().expect("free");
        assert!(busy.answering());
        assert_eq!(busy.begin_answer().err().map(|e| e.code), Some(ErrorCode::Busy));
        assert_eq!(busy.begin_priming().err().map(|e| e.code), Some(ErrorCode::Busy), "no record reading while answering");
        drop(first);
        assert!(!busy.answering() && busy.idle());
        let priming = busy.begin_priming().expect("free again");
        assert_eq!(busy.begin_priming().err().map(|e| e.code), Some(ErrorCode::Busy), "one record at a time");
        let asked = busy.begin_answer().expect("a question waits for the record on the model's queue");
        drop((priming, asked));
        assert!(busy.begin_answer().is_ok());
    }

    #[test]
    fn stop_cancels_what_runs() {
        let busy = Busy::default();
        let answer = busy.begin_answer().expect("free");
        let typing = CancelToken::new();
        busy.set_typing(typing.clone());
        busy.stop_all();
        assert!(answer.cancel_token().is_cancelled());
        assert!(typing.is_cancelled());
        // Cancelled is not done: the slot stays taken until the answer really ends.
        assert!(busy.answering());
    }

    #[test]
    fn a_guard_held_by_a_stream_is_freed_by_its_last_event_or_by_a_drop() {
        use crate::llm::ChatEvent;
        use crate::Sink;
        let busy = Busy::default();
        let (sink, _rx) = Sink::<ChatEvent>::channel();
        let mut sink = sink.holding(busy.begin_answer().expect("free"));
        assert!(busy.answering());
        sink.send(ChatEvent::Token("a".into()));
        assert!(busy.answering());
        sink.send(ChatEvent::Error(EngineError::new(ErrorCode::LlmInference, "x")));
        assert!(!busy.answering(), "the last event frees it");
        let (sink, _rx) = Sink::<ChatEvent>::channel();
        let mut sink = sink.holding(busy.begin_answer().expect("free"));
        sink.disarm();
        assert!(!busy.answering(), "a disarmed stream frees it");
        let (sink, _rx) = Sink::<ChatEvent>::channel();
        drop(sink.holding(busy.begin_answer().expect("free")));
        assert!(!busy.answering(), "a dropped stream frees it");
    }
}
