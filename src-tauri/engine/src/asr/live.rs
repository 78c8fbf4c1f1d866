//! Live listening: audio in (microphone or a paced file) → 16 kHz mono → level meter and voice
//! activity → partial transcripts while the person speaks → the final transcript when they stop.
//!
//! Partials re-decode the utterance so far about every `partial_interval` with a shrunken
//! encoder window; at most one is in flight, none starts while the LLM answers, and the one in
//! flight is aborted when the person stops, so partials never delay the final transcript.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{AsrClient, AsrError, TranscribeOptions, Transcript};
use crate::audio::capture::{Capture, CaptureError};
use crate::audio::level::{Level, LevelMeter};
use crate::audio::resample::StreamResampler;
use crate::audio::vad::{VadConfig, VoiceDetector, FRAME, FRAME_MS};
use crate::audio::{wav, AudioError, WHISPER_SAMPLE_RATE};
use crate::error::EngineError;
use crate::stream::{Sink, StreamEvent};
use crate::worker::{Client, Inbox, Ready, Worker, WorkerError};
use crate::{gate, CancelToken};

#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error(transparent)]
    Asr(#[from] AsrError),
}

/// Where live audio comes from: interleaved f32 at the source's own rate.
pub trait AudioInput: Send {
    fn device(&self) -> String;
    fn sample_rate(&self) -> u32;
    fn channels(&self) -> u16;
    /// Appends what has arrived since the last call; `Ok(false)` once the source has ended.
    fn read(&mut self, out: &mut Vec<f32>) -> Result<bool, VoiceError>;
}

impl AudioInput for Capture {
    fn device(&self) -> String {
        self.device.clone()
    }
    fn sample_rate(&self) -> u32 {
        self.sample_rate
    }
    fn channels(&self) -> u16 {
        self.channels
    }
    fn read(&mut self, out: &mut Vec<f32>) -> Result<bool, VoiceError> {
        Capture::read(self, out)?;
        Ok(true)
    }
}

/// A WAV file released at real-time pace, as if spoken into a microphone, followed by
/// `trailing_silence` (for demos, benchmarks, and tests of the listening logic).
pub struct PacedWav {
    name: String,
    samples: Vec<f32>,
    rate: u32,
    channels: u16,
    start: Option<Instant>,
    released: usize,
    total: usize,
}

impl std::fmt::Debug for PacedWav {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PacedWav").field("name", &self.name).field("rate", &self.rate).finish_non_exhaustive()
    }
}

impl PacedWav {
    pub fn open(path: &std::path::Path, trailing_silence: Duration) -> Result<Self, AudioError> {
        let clip = wav::read_mono(path)?;
        let total = clip.samples.len() + (trailing_silence.as_secs_f64() * f64::from(clip.sample_rate)) as usize;
        Ok(Self { name: format!("file:{}", path.display()), samples: clip.samples, rate: clip.sample_rate, channels: 1, start: None, released: 0, total })
    }

    /// Seconds of audio in the file itself (without the trailing silence).
    pub fn speech_secs(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.rate)
    }
}

impl AudioInput for PacedWav {
    fn device(&self) -> String {
        self.name.clone()
    }
    fn sample_rate(&self) -> u32 {
        self.rate
    }
    fn channels(&self) -> u16 {
        self.channels
    }
    fn read(&mut self, out: &mut Vec<f32>) -> Result<bool, VoiceError> {
        let start = *self.start.get_or_insert_with(Instant::now);
        let due = ((start.elapsed().as_secs_f64() * f64::from(self.rate)) as usize).min(self.total);
        for i in self.released..due {
            out.push(self.samples.get(i).copied().unwrap_or(0.0));
        }
        self.released = due;
        Ok(self.released < self.total)
    }
}

fn fit() -> bool {
    true
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ListenOptions {
    pub vad: VadConfig,
    /// Stop by itself after this much silence following speech (`None`: only on request).
    pub auto_stop_silence: Option<Duration>,
    /// Stop by itself after this long, speech or not.
    pub max_duration: Duration,
    /// Time between partial transcripts; `None` disables them.
    pub partial_interval: Option<Duration>,
    /// Decoding settings of the final transcript (partials use a fast variant of them).
    pub transcribe: TranscribeOptions,
    /// Audio kept before the voice onset and after the last voiced frame (`None`: the
    /// model's default, [`default_padding`]).
    #[serde(default)]
    pub padding: Option<Duration>,
    /// Encode the final transcript's audio in a window fitted to it (with a margin) instead
    /// of whisper.cpp's 30 s, unless `transcribe.audio_ctx` sets one.
    #[serde(default = "fit")]
    pub fit_audio_ctx: bool,
    /// Compute the final transcript as soon as a pause makes its audio complete (and hand it
    /// to the model as `Paused`), so stopping after a pause costs no transcription.
    #[serde(default = "fit")]
    pub final_ahead: bool,
    /// Save the recording (16 kHz mono WAV) here. Off by default: voice is health data.
    pub save_recording: Option<PathBuf>,
}

impl Default for ListenOptions {
    fn default() -> Self {
        Self {
            vad: VadConfig::default(),
            auto_stop_silence: Some(Duration::from_millis(1500)),
            max_duration: Duration::from_secs(60),
            partial_interval: Some(Duration::from_millis(800)),
            transcribe: TranscribeOptions::default(),
            fit_audio_ctx: true,
            final_ahead: true,
            padding: None,
            save_recording: None,
        }
    }
}

/// What a listening session reports, in order. It always ends with `Final` or `Error`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum VoiceEvent {
    Started { device: String, sample_rate: u32, channels: u16 },
    /// About 20 a second.
    Level(Level),
    SpeechStarted,
    /// The words so far: `stable` no longer changes in later partials; `tail` may.
    Partial { stable: String, tail: String },
    /// The person has paused long enough that the final transcript's audio is known (unless
    /// they speak again): this is that transcript, computed ahead. If they stop now, `Final`
    /// brings the same text at once; if they speak on, it is superseded.
    Paused { text: String },
    /// Recording has stopped; the final transcript is being computed.
    Transcribing,
    /// The end: `transcript.no_speech` is set when nothing was said. `final_ms`: from the
    /// end of recording to the final transcript.
    Final { transcript: Transcript, final_ms: f64 },
    Error(EngineError),
}

impl StreamEvent for VoiceEvent {
    fn is_terminal(&self) -> bool {
        matches!(self, Self::Final { .. } | Self::Error(_))
    }
    fn interrupted(error: EngineError) -> Self {
        Self::Error(error)
    }
}

impl crate::error::Coded for VoiceError {
    fn code(&self) -> crate::error::ErrorCode {
        match self {
            Self::Capture(e) => e.code(),
            Self::Audio(e) => e.code(),
            Self::Asr(e) => e.code(),
        }
    }
}

impl From<WorkerError> for VoiceError {
    fn from(e: WorkerError) -> Self {
        Self::Asr(AsrError::Worker(e))
    }
}

/// What the person (or the app) can tell a listening session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListenControl {
    /// The mic button was released: finish and transcribe.
    Stop,
    /// Give up: no final transcript (the stream ends with a `cancelled` error).
    Abort,
}

/// A running listening session; usable from any thread. Dropping it aborts the session.
#[derive(Debug)]
pub struct Listening {
    worker: Worker<ListenControl>,
}

/// A clonable handle that stops or aborts a session from another thread.
#[derive(Clone, Debug)]
pub struct ListenHandle {
    client: Client<ListenControl>,
}

impl ListenHandle {
    pub fn stop(&self) {
        let _ = self.client.submit(ListenControl::Stop, CancelToken::new());
    }

    pub fn abort(&self) {
        let _ = self.client.submit(ListenControl::Abort, CancelToken::new());
    }
}

impl Listening {
    /// The person released the mic button: finish and transcribe.
    pub fn stop(&self) {
        self.handle().stop();
    }

    /// Give up: no final transcript (the stream ends with a `cancelled` error), also while
    /// the final transcript is being computed.
    pub fn abort(&self) {
        self.handle().abort();
    }

    pub fn handle(&self) -> ListenHandle {
        ListenHandle { client: self.worker.client() }
    }

    /// Whether the session's thread is still running.
    pub fn is_running(&self) -> bool {
        self.worker.is_alive()
    }
}

/// Starts listening on `input`, transcribing with `asr`; the events go to `events`, which
/// always ends with `Final` or `Error` (also if the thread cannot start).
pub fn listen(input: Box<dyn AudioInput>, asr: AsrClient, options: ListenOptions, events: Sink<VoiceEvent>) -> Result<Listening, VoiceError> {
    let (worker, ()) = Worker::spawn("listen", move |ready: Ready<(), VoiceError>, inbox| {
        let mut events = events;
        ready.ok(());
        if let Err(e) = run(input, &asr, &options, &inbox, &mut events) {
            events.send(VoiceEvent::Error(EngineError::from_coded(&e)));
        }
    })?;
    Ok(Listening { worker })
}

/// Audio kept before the first and after the last voiced frame.
/// Silence kept around the speech by default, by model size: measured on 65 spoken health
/// questions (docs/BENCHMARKS.md, "Silence around the speech and the encoder window"), tiny
/// transcribes best with half a second on each side, base with a quarter.
pub fn default_padding(audio_layers: i32) -> Duration {
    if audio_layers >= 6 {
        Duration::from_millis(250)
    } else {
        Duration::from_millis(500)
    }
}

/// The final transcript's audio and settings: only the speech and a margin (long leading
/// silence makes Whisper worse, not better), in a fitted encoder window unless the settings
/// give one. The same at the stop and when computed ahead during a pause.
fn final_request(
    utterance: &[f32],
    first_voice_frame: Option<usize>,
    last_voice_frame: usize,
    pad: usize,
    options: &ListenOptions,
) -> (Vec<f32>, TranscribeOptions) {
    // The voice gate already ran on the stream; don't run it again on the whole clip. A
    // spoken question needs its words, not timestamps (which also decode worse on short clips).
    let opts = TranscribeOptions { vad: None, timestamps: false, ..options.transcribe.clone() };
    let from = speech_start(first_voice_frame, pad).min(utterance.len());
    let to = (last_voice_frame * FRAME + pad).min(utterance.len()).max(from);
    let audio = utterance[from..to].to_vec();
    let opts = match opts.audio_ctx {
        None if options.fit_audio_ctx => TranscribeOptions { audio_ctx: Some(TranscribeOptions::fitted_audio_ctx(audio.len())), ..opts },
        _ => opts,
    };
    (audio, opts)
}

/// Waits for the final transcript; the person can still cancel meanwhile.
fn wait_final(rx: &Receiver<Result<Transcript, AsrError>>, cancel: &CancelToken, inbox: &Inbox<ListenControl>) -> Result<Transcript, VoiceError> {
    loop {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(result) => return Ok(result?),
            Err(RecvTimeoutError::Timeout) => {
                if controls(inbox).1 {
                    cancel.cancel();
                    let _ = rx.recv();
                    return Err(AsrError::Cancelled.into());
                }
            }
            Err(RecvTimeoutError::Disconnected) => return Err(AsrError::Worker(WorkerError::Stopped("asr")).into()),
        }
    }
}

/// The shortest pause after which the final transcript is computed ahead: the pauses between
/// a question's phrases (~0.3-0.45 s in the test speech) would otherwise each start one.
const MIN_PAUSE: usize = WHISPER_SAMPLE_RATE as usize / 2;

/// The final transcript computed ahead during a pause, for speech ending at `last_voice_frame`.
/// Dropped unused (the person spoke again, an error), it stops.
struct FinalAhead {
    last_voice_frame: usize,
    rx: Receiver<Result<Transcript, AsrError>>,
    cancel: CancelToken,
    /// Its result once it came (kept for the stop).
    result: Option<Result<Transcript, AsrError>>,
}

impl Drop for FinalAhead {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl FinalAhead {
    /// The transcript, the first time it is seen (`None`: still running, failed, or seen
    /// before; a failure is kept for the stop).
    fn poll(&mut self) -> Option<Transcript> {
        if self.result.is_some() {
            return None;
        }
        let result = match self.rx.try_recv() {
            Ok(r) => r,
            Err(TryRecvError::Empty) => return None,
            Err(TryRecvError::Disconnected) => Err(AsrError::Worker(WorkerError::Stopped("asr"))),
        };
        let seen = result.as_ref().ok().cloned();
        self.result = Some(result);
        seen
    }
}

/// Where the speech starts in the utterance (with a margin).
fn speech_start(first_voice_frame: Option<usize>, pad: usize) -> usize {
    first_voice_frame.map_or(0, |f| (f.saturating_sub(1) * FRAME).saturating_sub(pad))
}

/// Stable prefix agreement between consecutive partial hypotheses (LocalAgreement-2): a word
/// becomes stable when two hypotheses in a row agree on it, and a stable word never changes,
/// even if a later hypothesis revises it (the revision only affects the tail).
#[derive(Default)]
struct Agreement {
    previous: Vec<String>,
    stable: Vec<String>,
}

impl Agreement {
    fn update(&mut self, text: &str) -> (String, String) {
        let words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
        let n = self.stable.len();
        // Words after the stable ones become stable where two hypotheses in a row agree. (If
        // a hypothesis rewrote a stable word, the shown stable words are kept as they are.)
        if words.len() >= n && self.previous.len() >= n {
            let more = self.previous[n..].iter().zip(&words[n..]).take_while(|(a, b)| a == b).count();
            self.stable.extend_from_slice(&words[n..n + more]);
        }
        let tail = words.get(self.stable.len()..).unwrap_or(&[]).join(" ");
        self.previous = words;
        (self.stable.join(" "), tail)
    }
}

/// Control messages since the last look: (stop requested, abort requested).
fn controls(inbox: &Inbox<ListenControl>) -> (bool, bool) {
    let (mut stop, mut abort) = (false, inbox.shutting_down());
    while let Some(job) = inbox.try_next() {
        match job.request {
            ListenControl::Stop => stop = true,
            ListenControl::Abort => abort = true,
        }
    }
    (stop, abort || inbox.shutting_down())
}

fn run(
    mut input: Box<dyn AudioInput>,
    asr: &AsrClient,
    options: &ListenOptions,
    inbox: &Inbox<ListenControl>,
    events: &mut Sink<VoiceEvent>,
) -> Result<(), VoiceError> {
    let mut send = |e: VoiceEvent| events.send(e);
    let channels = usize::from(input.channels().max(1));
    send(VoiceEvent::Started { device: input.device(), sample_rate: input.sample_rate(), channels: input.channels() });
    let mut resampler = StreamResampler::new(input.sample_rate())?;
    let mut meter = LevelMeter::new(WHISPER_SAMPLE_RATE);
    let mut vad = VoiceDetector::new(options.vad);
    let max_samples = (options.max_duration.as_secs_f64() * f64::from(WHISPER_SAMPLE_RATE)) as usize;
    let pad = options.padding.unwrap_or_else(|| default_padding(asr.audio_layers()));
    let pad = (pad.as_secs_f64() * f64::from(WHISPER_SAMPLE_RATE)) as usize;

    let mut raw = Vec::new();
    let mut mono = Vec::new();
    let mut block = Vec::new();
    let mut utterance: Vec<f32> = Vec::with_capacity(WHISPER_SAMPLE_RATE as usize * 10);
    let (mut frames, mut last_voice_frame) = (0usize, 0usize);
    let mut first_voice_frame: Option<usize> = None;
    let mut speech_started = false;
    let mut partial: Option<(Receiver<Result<Transcript, AsrError>>, CancelToken)> = None;
    let mut last_partial = Instant::now();
    let mut agreement = Agreement::default();
    let partial_options = TranscribeOptions { timestamps: false, beam_size: None, vad: None, quick: true, ..options.transcribe.clone() };

    // The final transcript computed ahead during a pause, for the voiced frames it covers.
    let mut ahead: Option<FinalAhead> = None;

    let mut stop_requested = false;
    loop {
        let (stop, abort) = controls(inbox);
        stop_requested |= stop;
        if abort {
            if let Some((_, c)) = &partial {
                c.cancel();
            }
            if let Some(a) = &ahead {
                a.cancel.cancel();
            }
            return Err(AsrError::Cancelled.into());
        }
        raw.clear();
        let open = input.read(&mut raw)?;
        mono.clear();
        mono.extend(raw.chunks_exact(channels).map(|f| f.iter().sum::<f32>() / channels as f32));
        block.clear();
        resampler.push(&mono, &mut block)?;
        meter.push(&block, |l| send(VoiceEvent::Level(l)));
        vad.push(&block, |voiced| {
            frames += 1;
            if voiced {
                last_voice_frame = frames;
                first_voice_frame.get_or_insert(frames);
            }
        });
        utterance.extend_from_slice(&block);
        if !speech_started && vad.heard_speech() {
            speech_started = true;
            tracing::debug!(frames, "speech started");
            send(VoiceEvent::SpeechStarted);
        }

        // A finished partial: publish it.
        if let Some((rx, _)) = &partial {
            match rx.try_recv() {
                Ok(Ok(t)) => {
                    tracing::debug!(elapsed_ms = t.elapsed_ms, "partial transcript ready");
                    let (stable, tail) = agreement.update(&t.text);
                    send(VoiceEvent::Partial { stable, tail });
                    partial = None;
                }
                Ok(Err(e)) => {
                    tracing::debug!("partial transcript failed: {e}");
                    partial = None;
                }
                Err(TryRecvError::Disconnected) => partial = None,
                Err(TryRecvError::Empty) => {}
            }
        }

        // The person spoke again: the transcript computed ahead no longer covers the speech.
        if ahead.as_ref().is_some_and(|a| a.last_voice_frame != last_voice_frame) {
            if let Some(a) = ahead.take() {
                tracing::debug!("spoke again: the final transcript computed ahead is dropped");
                a.cancel.cancel();
            }
        }
        if let Some(a) = &mut ahead {
            if let Some(t) = a.poll() {
                if !t.no_speech && !t.text.trim().is_empty() {
                    if options.partial_interval.is_some() {
                        let (stable, tail) = agreement.update(&t.text);
                        send(VoiceEvent::Partial { stable, tail });
                    }
                    send(VoiceEvent::Paused { text: t.text.clone() });
                }
            }
        }

        let silence_ms = (frames - last_voice_frame) as f64 * FRAME_MS;
        let auto_stop = speech_started && options.auto_stop_silence.is_some_and(|d| silence_ms >= d.as_secs_f64() * 1000.0);
        if !open || stop_requested || auto_stop || utterance.len() >= max_samples {
            break;
        }

        // A pause long enough for the final transcript's audio to be complete (and longer than
        // the pauses between phrases): compute it now, so that stopping costs nothing. It
        // replaces a partial in flight (older audio; Whisper drops it at once, without being
        // waited for) and, like partials, never starts while the LLM computes.
        let pause_end = last_voice_frame * FRAME + pad.max(MIN_PAUSE);
        if options.final_ahead && speech_started && ahead.is_none() && utterance.len() >= pause_end && !gate::llm_busy() {
            if let Some((_, cancel)) = partial.take() {
                cancel.cancel();
            }
            let (audio, opts) = final_request(&utterance, first_voice_frame, last_voice_frame, pad, options);
            let cancel = CancelToken::new();
            tracing::debug!(samples = audio.len(), "final transcript computed ahead");
            ahead = Some(FinalAhead { last_voice_frame, rx: asr.submit(audio, opts, cancel.clone())?, cancel, result: None });
        }

        // Time for a partial? Only one at a time, never while the LLM computes, and none while
        // the final transcript is known ahead (nothing new was said).
        if let Some(interval) = options.partial_interval.filter(|_| ahead.is_none()) {
            if speech_started && partial.is_none() && last_partial.elapsed() >= interval && gate::llm_busy() {
                tracing::debug!("partial transcript skipped: the language model is computing");
            }
            if speech_started && partial.is_none() && last_partial.elapsed() >= interval && !gate::llm_busy() {
                let from = speech_start(first_voice_frame, pad).max(utterance.len().saturating_sub(30 * WHISPER_SAMPLE_RATE as usize));
                let window = &utterance[from..];
                let opts = TranscribeOptions { audio_ctx: Some(TranscribeOptions::fitted_audio_ctx(window.len())), ..partial_options.clone() };
                let cancel = CancelToken::new();
                tracing::debug!(samples = window.len(), "partial transcript submitted");
                partial = Some((asr.submit(window.to_vec(), opts, cancel.clone())?, cancel));
                last_partial = Instant::now();
            }
        }
        std::thread::sleep(Duration::from_millis(15));
    }
    let stopped_at = Instant::now();
    send(VoiceEvent::Transcribing);
    resampler.finish(&mut utterance)?;
    // The final transcript must not wait for a partial: abort it.
    if let Some((rx, cancel)) = partial.take() {
        tracing::debug!("partial transcript aborted for the final one");
        cancel.cancel();
        let _ = rx.recv();
    }
    if let Some(path) = &options.save_recording {
        wav::write_16k(path, &utterance)?;
    }
    // Computed ahead on exactly the audio the final would read (nothing was said since): it
    // is the final transcript, finished or still running.
    let ahead = ahead.filter(|a| a.last_voice_frame == last_voice_frame && vad.heard_speech());
    let ahead = match ahead {
        Some(mut a) => match a.result.take() {
            Some(Ok(t)) => Some(t),
            None => match wait_final(&a.rx, &a.cancel, inbox) {
                Ok(t) => Some(t),
                // The person cancelled while waiting.
                Err(e @ VoiceError::Asr(AsrError::Cancelled)) => return Err(e),
                Err(e) => {
                    tracing::debug!("the final transcript computed ahead failed ({e}); transcribing again");
                    None
                }
            },
            Some(Err(e)) => {
                tracing::debug!("the final transcript computed ahead failed ({e}); transcribing again");
                None
            }
        },
        None => None,
    };
    let transcript = if let Some(t) = ahead {
        t
    } else if vad.heard_speech() {
        let (audio, opts) = final_request(&utterance, first_voice_frame, last_voice_frame, pad, options);
        // The final decode can be aborted too (the person cancels, the app closes).
        let cancel = CancelToken::new();
        let rx = asr.submit(audio, opts, cancel.clone())?;
        wait_final(&rx, &cancel, inbox)?
    } else {
        Transcript {
            text: String::new(),
            segments: Vec::new(),
            no_speech: true,
            audio_ms: utterance.len() as f64 * 1000.0 / f64::from(WHISPER_SAMPLE_RATE),
            elapsed_ms: 0.0,
        }
    };
    send(VoiceEvent::Final { transcript, final_ms: stopped_at.elapsed().as_secs_f64() * 1000.0 });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Agreement;

    fn pair(a: &str, b: &str) -> (String, String) {
        (a.to_string(), b.to_string())
    }

    #[test]
    fn stable_prefix_grows_and_never_shrinks() {
        let mut a = Agreement::default();
        assert_eq!(a.update("what does"), pair("", "what does"));
        assert_eq!(a.update("what does a high"), pair("what does", "a high"));
        assert_eq!(a.update("what does a hi fur"), pair("what does a", "hi fur"));
        assert_eq!(a.update("what does a high ferritin"), pair("what does a", "high ferritin"));
    }

    #[test]
    fn a_revised_hypothesis_never_rewrites_stable_words() {
        let mut a = Agreement::default();
        a.update("what does a high");
        assert_eq!(a.update("what does a high fer"), pair("what does a high", "fer"));
        // Whisper changes its mind about a word that was already stable: the stable words
        // stay as they were shown (same count is not enough: the content must not change).
        assert_eq!(a.update("what does the high ferritin"), pair("what does a high", "ferritin"));
        assert_eq!(a.update("what does the high ferritin mean"), pair("what does a high ferritin", "mean"));
    }
}
