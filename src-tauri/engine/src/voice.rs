//! The voice turn, the product's main path, in one place for the app and the CLI:
//! prime the language model while the person speaks → the final transcript when they stop →
//! the answer, streamed. Whisper and the LLM never compute at once: priming holds the
//! LLM-busy gate, and partial transcripts wait for it.

use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};

use crate::asr::{listen, AsrClient, AudioInput, ListenHandle, ListenOptions, Listening, TranscribeOptions, Transcript, VoiceError, VoiceEvent};
use crate::error::EngineError;
use crate::llm::{ChatEvent, LlmClient, SamplingParams};
use crate::stream::{Sink, StreamEvent};
use crate::CancelToken;

/// Events of one voice turn, in order. It ends with `NoSpeech`, the answer's `Done` or
/// `Error`, or `Error`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum VoiceTurnEvent {
    /// Listening: started, levels, speech started, partial transcripts, transcribing.
    Listening(VoiceEvent),
    /// The final transcript. With `answering`, the answer follows; without (no auto-send:
    /// the transcript goes into the input for the person to edit), the turn ends here.
    Heard { transcript: Transcript, final_ms: f64, answering: bool },
    /// Nothing was said (silence, noise, a tap on the mic): no answer.
    NoSpeech,
    /// The answer: trimmed notices, tokens, and its `Done` or `Error` (which ends the turn).
    Answer(ChatEvent),
    /// Listening failed (no microphone, permission denied, cancelled, …).
    Error(EngineError),
}

impl StreamEvent for VoiceTurnEvent {
    fn is_terminal(&self) -> bool {
        match self {
            Self::NoSpeech | Self::Error(_) => true,
            Self::Answer(e) => e.is_terminal(),
            Self::Heard { answering, .. } => !answering,
            Self::Listening(_) => false,
        }
    }
    fn interrupted(error: EngineError) -> Self {
        Self::Error(error)
    }
}

impl crate::stream::Coalesce for VoiceTurnEvent {
    fn merge(&mut self, next: Self) -> Option<Self> {
        match (self, next) {
            (Self::Answer(a), Self::Answer(b)) => a.merge(b).map(Self::Answer),
            // Only the newest level matters to a meter.
            (Self::Listening(VoiceEvent::Level(a)), Self::Listening(VoiceEvent::Level(b))) => {
                *a = b;
                None
            }
            (_, next) => Some(next),
        }
    }
}

/// How a spoken question is asked: by default straight to the model; the app and the CLI
/// pass one that also saves it in the open conversation
/// ([`crate::store::Conversations::ask`]).
pub type AskFn = dyn Fn(String, SamplingParams, CancelToken, Sink<ChatEvent>) -> Result<(), EngineError> + Send + Sync;

#[derive(Clone)]
pub struct VoiceTurnOptions {
    pub listen: ListenOptions,
    pub sampling: SamplingParams,
    /// Prefill the system prompt (and record) while the person speaks.
    pub prime: bool,
    /// Also prefill the words of the partial transcripts while the person speaks (and the
    /// whole question during a pause), so that only the last few tokens are left when they
    /// stop (the question that is finally asked rolls back whatever differs).
    pub prefill_partial: bool,
    /// Answer the transcript at once (auto-send); otherwise the turn ends with it.
    pub answer: bool,
    /// Asks the transcript (`None`: [`LlmClient::send`]).
    pub ask: Option<Arc<AskFn>>,
}

impl std::fmt::Debug for VoiceTurnOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceTurnOptions")
            .field("listen", &self.listen)
            .field("sampling", &self.sampling)
            .field("prime", &self.prime)
            .field("prefill_partial", &self.prefill_partial)
            .field("answer", &self.answer)
            .field("ask", &self.ask.is_some())
            .finish()
    }
}

impl Default for VoiceTurnOptions {
    fn default() -> Self {
        Self { listen: ListenOptions::default(), sampling: SamplingParams::default(), prime: true, prefill_partial: true, answer: true, ask: None }
    }
}

/// A running voice turn. Dropping it cancels whatever is left of it.
#[derive(Debug)]
pub struct VoiceTurn {
    listening: Listening,
    cancel: CancelToken,
}

/// A clonable handle to stop or cancel a voice turn from another thread.
#[derive(Clone, Debug)]
pub struct VoiceTurnHandle {
    listening: ListenHandle,
    cancel: CancelToken,
}

impl VoiceTurnHandle {
    /// The person is done speaking (mic button released): transcribe and answer.
    pub fn stop(&self) {
        self.listening.stop();
    }

    /// Cancel: no transcript, or stop the answer.
    pub fn cancel(&self) {
        self.cancel.cancel();
        self.listening.abort();
    }
}

impl VoiceTurn {
    pub fn handle(&self) -> VoiceTurnHandle {
        VoiceTurnHandle { listening: self.listening.handle(), cancel: self.cancel.clone() }
    }

    pub fn stop(&self) {
        self.listening.stop();
    }

    pub fn cancel(&self) {
        self.handle().cancel();
    }
}

impl Drop for VoiceTurn {
    fn drop(&mut self) {
        // This turn's priming or answer stops at once; listening is aborted as it drops.
        self.cancel.cancel();
    }
}

/// The words of a partial hypothesis, stable and not: all are read ahead (less the last token),
/// since the final transcript usually agrees with most of the latest hypothesis, and a
/// revision only rolls the cache back to where they part.
fn heard(stable: &str, tail: &str) -> String {
    if tail.is_empty() { stable.to_string() } else { format!("{stable} {tail}") }
}

/// What a voice turn last asked the model to read ahead.
#[derive(Debug, PartialEq)]
enum Ahead {
    /// The words of a partial transcript.
    Words(String),
    /// A whole question, after a pause.
    Question(String),
}

/// Starts a voice turn: listens on `input`, primes `llm` meanwhile, and answers the final
/// transcript. All events go to `events`.
pub fn voice_turn(
    llm: LlmClient,
    asr: AsrClient,
    input: Box<dyn AudioInput>,
    options: VoiceTurnOptions,
    events: Sink<VoiceTurnEvent>,
) -> Result<VoiceTurn, VoiceError> {
    let cancel = CancelToken::new();
    let events = Arc::new(Mutex::new(events));
    if options.prime {
        // Errors here (e.g. a record too long) come back with the answer itself.
        let _ = llm.prime(cancel.clone());
    }
    let (to_turn, answer_llm, answer_cancel, sampling, answering) = (events.clone(), llm.clone(), cancel.clone(), options.sampling.clone(), options.answer);
    let ask = options.ask.clone();
    let (ahead_llm, prefill_partial) = (llm.clone(), options.prefill_partial && options.answer);
    // What was last handed to the model to read ahead (the words of a partial, or a whole
    // question after a pause), and the token that stops that prefill.
    let mut ahead: Option<(Ahead, CancelToken)> = None;
    let listen_sink = Sink::new(move |e: VoiceEvent| {
        let send = |ev: VoiceTurnEvent| {
            if let Ok(mut sink) = to_turn.lock() {
                sink.send(ev);
            }
        };
        match &e {
            // New words heard: the model reads them now (queued behind priming; partials wait
            // for the model, so Whisper and the model still take turns). A newer prefill
            // supersedes the one before it (still queued or running): that one stops at once
            // (llama.cpp's abort callback), and what it decoded is kept where the new one agrees.
            VoiceEvent::Partial { stable, tail } if prefill_partial && !heard(stable, tail).is_empty() && ahead.as_ref().is_none_or(|(a, _)| *a != Ahead::Words(heard(stable, tail))) => {
                if let Some((_, previous)) = ahead.take() {
                    previous.cancel();
                }
                let cancel = CancelToken::new();
                let words = heard(stable, tail);
                if ahead_llm.prefill_ahead(Some(words.clone()), cancel.clone()).is_ok() {
                    ahead = Some((Ahead::Words(words), cancel));
                }
            }
            // A pause: the final transcript is known unless the person speaks on. The whole
            // question is read now, so stopping here starts the answer at once.
            VoiceEvent::Paused { text } if prefill_partial => {
                // The words read ahead just before (the same hypothesis, sent as a partial) are
                // where the question continues: let them finish rather than throw them away.
                if let Some((previous, cancel)) = ahead.take() {
                    let words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
                    if !matches!(&previous, Ahead::Words(w) if words(text).starts_with(&words(w))) {
                        cancel.cancel();
                    }
                }
                let cancel = CancelToken::new();
                if ahead_llm.prefill_question(text.clone(), cancel.clone()).is_ok() {
                    ahead = Some((Ahead::Question(text.clone()), cancel));
                }
            }
            // The final transcript needs the cores: stop a prefill of words still running (at
            // once: it is aborted mid-decode). A
            // question read after a pause goes on: its transcript is already done (if the
            // person spoke again and stopped before a new partial, the final shares the cores
            // with it for a moment).
            VoiceEvent::Transcribing => {
                if let Some((Ahead::Words(_), cancel)) = &ahead {
                    cancel.cancel();
                }
            }
            // The person spoke on after the pause (and stopped before a new partial): the
            // question read ahead is not the one asked; stop it, the answer is queued behind it.
            VoiceEvent::Final { transcript, .. } => {
                if let Some((Ahead::Question(q), cancel)) = &ahead {
                    if *q != transcript.text {
                        cancel.cancel();
                    }
                }
            }
            // A failed turn needs nothing more.
            VoiceEvent::Error(_) => {
                if let Some((_, cancel)) = ahead.take() {
                    cancel.cancel();
                }
            }
            _ => {}
        }
        match e {
            VoiceEvent::Final { transcript, .. } if transcript.no_speech => send(VoiceTurnEvent::NoSpeech),
            VoiceEvent::Final { transcript, final_ms } if !answering => send(VoiceTurnEvent::Heard { transcript, final_ms, answering }),
            VoiceEvent::Final { transcript, final_ms } => {
                let text = transcript.text.clone();
                send(VoiceTurnEvent::Heard { transcript, final_ms, answering });
                let to_answer = to_turn.clone();
                let answer = Sink::new(move |c: ChatEvent| {
                    if let Ok(mut sink) = to_answer.lock() {
                        sink.send(VoiceTurnEvent::Answer(c));
                    }
                });
                // If the model worker has stopped, the answer's sink is dropped and the turn
                // ends with its error.
                let _ = match &ask {
                    Some(ask) => ask(text, sampling.clone(), answer_cancel.clone(), answer),
                    None => answer_llm.send(text, sampling.clone(), answer_cancel.clone(), answer).map_err(|e| EngineError::from_coded(&e)),
                };
            }
            VoiceEvent::Error(e) => send(VoiceTurnEvent::Error(e)),
            other => send(VoiceTurnEvent::Listening(other)),
        }
    });
    let listening = listen(input, asr, options.listen, listen_sink)?;
    Ok(VoiceTurn { listening, cancel })
}

/// A voice turn on speech already recorded (a file, a clip the person shared): the model reads
/// its instructions first, then Whisper transcribes the whole clip (never both at once), then
/// the answer streams. Events as for [`voice_turn`]: `Heard` then the answer, or `NoSpeech`,
/// or `Error`. Returns once the answer has been handed to the model (it streams on); `cancel`
/// stops any part of it.
pub fn voice_turn_recorded(
    llm: &LlmClient,
    asr: &AsrClient,
    pcm: Vec<f32>,
    transcribe: TranscribeOptions,
    sampling: SamplingParams,
    cancel: CancelToken,
    events: Sink<VoiceTurnEvent>,
) {
    let events = Arc::new(Mutex::new(events));
    let send = |ev: VoiceTurnEvent| {
        if let Ok(mut sink) = events.lock() {
            sink.send(ev);
        }
    };
    // A priming error (e.g. a record too long) comes back with the answer itself.
    let _ = llm.prime_wait(cancel.clone());
    let started = std::time::Instant::now();
    let transcript = match asr.submit(pcm, transcribe, cancel.clone()).and_then(crate::asr::worker::wait) {
        Ok(t) => t,
        Err(e) => return send(VoiceTurnEvent::Error(EngineError::from_coded(&e))),
    };
    if transcript.no_speech {
        return send(VoiceTurnEvent::NoSpeech);
    }
    let text = transcript.text.clone();
    send(VoiceTurnEvent::Heard { transcript, final_ms: started.elapsed().as_secs_f64() * 1000.0, answering: true });
    let to_answer = events.clone();
    let answer = Sink::new(move |c: ChatEvent| {
        if let Ok(mut sink) = to_answer.lock() {
            sink.send(VoiceTurnEvent::Answer(c));
        }
    });
    // If the model worker has stopped, the answer's sink is dropped and the turn ends with
    // its error.
    let _ = llm.send(text, sampling, cancel, answer);
}
