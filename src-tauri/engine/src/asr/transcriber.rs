//! The Whisper transcriber: owns a whisper.cpp context and state (one per worker thread).

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState};

use super::{model_file, AsrError, WhisperModelInfo};
use crate::audio::vad::{self, VadConfig};
use crate::audio::{self, WHISPER_SAMPLE_RATE};
use crate::{platform, CancelToken};

/// Below this RMS a clip is treated as silence without running Whisper, which would
/// otherwise invent text ("Thank you.") for it. Richer voice activity comes with live capture.
pub const SILENCE_RMS: f32 = 0.003;

/// A decoder hint with words people use about their records, which tiny models otherwise
/// mishear ("ferret in" for ferritin).
pub const MEDICAL_VOCABULARY_HINT: &str =
    "LDL, HDL, A1c, ferritin, TSH, cholesterol, triglycerides, hemoglobin, creatinine, blood pressure, thyroid.";

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TranscribeOptions {
    /// ISO code ("en"), or `None` to detect (multilingual models only).
    pub language: Option<String>,
    /// Beam width; `None` is greedy.
    pub beam_size: Option<usize>,
    /// Vocabulary hint for the decoder. Default: [`MEDICAL_VOCABULARY_HINT`], since people
    /// ask Murmur about their health records; `None` for general transcription.
    pub initial_prompt: Option<String>,
    pub threads: Option<usize>,
    /// Segment timestamps (off saves a little time when only the text is needed).
    pub timestamps: bool,
    /// Encoder context in frames (1500 = 30 s). Smaller is much faster for short clips and
    /// is used for partial transcripts; `None` is the full window.
    pub audio_ctx: Option<i32>,
    /// Voice-activity gate: audio without speech returns `no_speech` without running Whisper.
    pub vad: Option<VadConfig>,
    /// Quick mode for partial transcripts: one decoding pass (no temperature fallback) and at
    /// most a few tokens per second of audio, so that a window of noise cannot make Whisper
    /// loop for seconds and hold up the partials after it.
    #[serde(default)]
    pub quick: bool,
}

impl Default for TranscribeOptions {
    fn default() -> Self {
        Self {
            language: Some("en".into()),
            beam_size: None,
            initial_prompt: Some(MEDICAL_VOCABULARY_HINT.to_string()),
            threads: None,
            timestamps: true,
            audio_ctx: None,
            vad: Some(VadConfig::default()),
            quick: false,
        }
    }
}

impl TranscribeOptions {
    /// An encoder context just large enough for `samples` of 16 kHz audio, with a margin of
    /// 128 frames (2.56 s): with no margin Whisper loops on some clips; with 128, at each
    /// model's own padding ([`super::live::default_padding`]), the word error rate on 65 spoken
    /// questions was no worse than with the full 30 s window (tiny.en 22.1 vs 22.8 %, base 19.8
    /// vs 23.1 %; docs/BENCHMARKS.md, "Silence around the speech and the encoder window").
    pub fn fitted_audio_ctx(samples: usize) -> i32 {
        let frames = samples.div_ceil(320) as i32; // 50 encoder frames per second
        (frames + 128).clamp(256, 1500)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Segment {
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
    pub no_speech_prob: f32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Transcript {
    /// The whole transcript, trimmed; empty when `no_speech`.
    pub text: String,
    pub segments: Vec<Segment>,
    /// True when the clip held no speech (silence, or nothing Whisper could hear).
    pub no_speech: bool,
    pub audio_ms: f64,
    pub elapsed_ms: f64,
}

impl Transcript {
    fn no_speech(audio_ms: f64, start: Instant) -> Self {
        Self { text: String::new(), segments: Vec::new(), no_speech: true, audio_ms, elapsed_ms: start.elapsed().as_secs_f64() * 1000.0 }
    }
}

/// A loaded Whisper model with its decoding state.
pub struct Transcriber {
    // Field order: the state must drop before the context it came from.
    state: WhisperState,
    _ctx: WhisperContext,
    info: WhisperModelInfo,
}

impl std::fmt::Debug for Transcriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transcriber").field("info", &self.info).finish_non_exhaustive()
    }
}

fn install_logging() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(whisper_rs::install_logging_hooks);
}

impl Transcriber {
    /// Checks the model file, then loads it.
    pub fn load(path: &Path) -> Result<Self, AsrError> {
        if let Some(missing) = crate::platform::missing_cpu_feature() {
            return Err(AsrError::CpuUnsupported(missing));
        }
        let info = model_file::inspect(path)?;
        install_logging();
        let ctx = WhisperContext::new_with_params(path, WhisperContextParameters::default())
            .map_err(|e| AsrError::Load { path: path.to_path_buf(), message: e.to_string() })?;
        let state = ctx
            .create_state()
            .map_err(|e| AsrError::Load { path: path.to_path_buf(), message: e.to_string() })?;
        tracing::info!(layers = info.n_audio_layer, multilingual = info.multilingual, "Whisper model loaded");
        Ok(Self { state, _ctx: ctx, info })
    }

    pub fn info(&self) -> &WhisperModelInfo {
        &self.info
    }

    /// Transcribes 16 kHz mono f32 audio.
    pub fn transcribe(&mut self, pcm: &[f32], options: &TranscribeOptions) -> Result<Transcript, AsrError> {
        self.transcribe_cancellable(pcm, options, &CancelToken::new())
    }

    /// As [`Self::transcribe`]; `cancel` aborts whisper.cpp mid-decode (`AsrError::Cancelled`).
    pub fn transcribe_cancellable(&mut self, pcm: &[f32], options: &TranscribeOptions, cancel: &CancelToken) -> Result<Transcript, AsrError> {
        let start = Instant::now();
        let audio_ms = pcm.len() as f64 * 1000.0 / f64::from(WHISPER_SAMPLE_RATE);
        let silent = audio::rms(pcm) < SILENCE_RMS || options.vad.is_some_and(|c| !vad::has_speech(pcm, c));
        if silent {
            return Ok(Transcript::no_speech(audio_ms, start));
        }
        let strategy = match options.beam_size {
            Some(beam_size) if beam_size > 1 => {
                SamplingStrategy::BeamSearch { beam_size: beam_size as i32, patience: -1.0 }
            }
            _ => SamplingStrategy::Greedy { best_of: 1 },
        };
        let mut params = FullParams::new(strategy);
        let threads = options.threads.unwrap_or_else(platform::default_threads).max(1);
        params.set_n_threads(threads as i32);
        params.set_language(options.language.as_deref().or(Some("auto")));
        params.set_translate(false);
        params.set_no_context(true);
        params.set_suppress_blank(true);
        params.set_suppress_nst(true);
        params.set_print_special(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_timestamps(false);
        params.set_no_timestamps(!options.timestamps);
        if let Some(ctx) = options.audio_ctx {
            params.set_audio_ctx(ctx);
        }
        // Speech is about 3 words (4 tokens) a second. A decode that loops ("juice juice …")
        // stops at a bound from the audio's length instead of whisper.cpp's 224 tokens per
        // segment: partials allow twice the usual rate; final transcripts five times, plus 32
        // (whisper.cpp ends the window at the bound, so it must never cut real speech; its own
        // repetition check only looks at decodes longer than 32 tokens).
        let secs = pcm.len() as f64 / f64::from(WHISPER_SAMPLE_RATE);
        if options.quick {
            params.set_temperature_inc(0.0);
            params.set_single_segment(true);
            params.set_max_tokens(((secs * 8.0) as i32 + 8).min(224));
        } else {
            params.set_max_tokens(((secs * 20.0) as i32 + 32).min(224));
        }
        if let Some(prompt) = options.initial_prompt.as_deref() {
            params.set_initial_prompt(prompt);
        }
        // whisper-rs 0.16's `set_abort_callback_safe` hands whisper.cpp a pointer to a boxed
        // trait object but calls it as the closure type (type confusion: random aborts,
        // "failed to encode"). Use the raw callback on the token's flag instead.
        // SAFETY: `cancel` outlives `full` below, which is the only user of the pointer.
        unsafe {
            params.set_abort_callback(Some(crate::cancel::abort_when_cancelled));
            params.set_abort_callback_user_data(cancel.flag_ptr() as *mut std::ffi::c_void);
        }
        let result = self.state.full(params, pcm);
        if cancel.is_cancelled() {
            return Err(AsrError::Cancelled);
        }
        result.map_err(|e| AsrError::Inference(e.to_string()))?;

        let mut segments = Vec::new();
        for seg in self.state.as_iter() {
            let text = seg.to_str_lossy().map_err(|e| AsrError::Inference(e.to_string()))?.trim().to_string();
            segments.push(Segment {
                start_ms: seg.start_timestamp() * 10,
                end_ms: seg.end_timestamp() * 10,
                no_speech_prob: seg.no_speech_probability(),
                text,
            });
        }
        let text = segments.iter().map(|s| s.text.as_str()).filter(|t| !t.is_empty()).collect::<Vec<_>>().join(" ");
        let no_speech = text.is_empty();
        Ok(Transcript { text, segments, no_speech, audio_ms, elapsed_ms: start.elapsed().as_secs_f64() * 1000.0 })
    }
}
