//! The voice turn of the open conversation: listen, transcribe, and answer into the saved
//! conversation, holding the answer slot from the moment the microphone is open until the
//! turn's last event.

use std::sync::Arc;

use super::Controller;
use crate::asr::{AudioInput, ListenOptions};
use crate::llm::{ChatEvent, SamplingParams};
use crate::voice::{voice_turn, AskFn, VoiceTurnEvent, VoiceTurnOptions};
use crate::{EngineError, Sink};

impl Controller {
    /// Starts a voice turn on the microphone `open_input` opens: partial transcripts, the final
    /// one and (with `answer`) the answer stream on `events`. A turn still running is
    /// cancelled first. A microphone that fails to open is an error and leaves nothing busy.
    pub fn voice_start(
        self: &Arc<Self>,
        open_input: impl FnOnce() -> Result<Box<dyn AudioInput>, EngineError>,
        answer: bool,
        sampling: SamplingParams,
        listen: ListenOptions,
        mut events: Sink<VoiceTurnEvent>,
    ) -> Result<(), EngineError> {
        self.busy.cancel_voice();
        let started = self.ready_llm().and_then(|llm| self.asr().map(|asr| (llm, asr))).and_then(|models| self.busy.begin_answer().map(|g| (models, g)));
        let ((llm, asr), guard) = match started {
            Ok(ok) => ok,
            Err(e) => {
                events.disarm();
                return Err(e);
            }
        };
        // The guard is dropped with this error: nothing stays busy.
        let input = match open_input() {
            Ok(input) => input,
            Err(e) => {
                events.disarm();
                return Err(e);
            }
        };
        self.settle_previous();
        let weak = Arc::downgrade(self);
        let ask_llm = llm.clone();
        let ask: Arc<AskFn> = Arc::new(move |text: String, sampling: SamplingParams, cancel, mut sink: Sink<ChatEvent>| {
            match weak.upgrade() {
                Some(this) => this.ask_saved(&ask_llm, text, sampling, cancel, sink, None),
                None => sink.send(ChatEvent::Error(EngineError::new(crate::ErrorCode::Cancelled, "the conversation was closed"))),
            }
            Ok(())
        });
        let options = VoiceTurnOptions { listen, sampling, prime: answer, prefill_partial: answer, answer, ask: Some(ask) };
        // Stop (busy.stop_all) cancels the turn kept in its slot, and with it the answer.
        match voice_turn(llm, asr, input, options, events.holding(guard)) {
            Ok(turn) => {
                self.busy.set_voice(turn);
                Ok(())
            }
            // The turn's stream has ended with the error.
            Err(e) => {
                tracing::warn!("the voice turn could not start: {e}");
                Ok(())
            }
        }
    }

    /// The person released the mic button (or tapped it again): transcribe and answer.
    pub fn voice_stop(&self) {
        self.busy.stop_listening();
    }

    /// Cancels listening (no transcript) or the spoken question's answer.
    pub fn voice_cancel(&self) {
        self.busy.cancel_voice();
    }
}
