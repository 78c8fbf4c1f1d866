//! Voice activity: is there speech in this audio? Whisper turns silence, breathing or a tap
//! on the mic into text ("Thank you.", "you"), so nothing reaches it without speech.
//!
//! Three gates on 16 ms frames: an absolute energy floor (digital silence, faint noise), a
//! signal-to-noise gate against the recent noise floor (steady noise of any loudness: a fan,
//! wind, a rubbed or clipping mic never rises above itself, while speech always dips between
//! syllables and rises again), and earshot's small neural detector (voice versus clicks).

use std::collections::VecDeque;

use super::{rms, WHISPER_SAMPLE_RATE};

/// Frame length earshot works on: 256 samples = 16 ms at 16 kHz.
pub const FRAME: usize = 256;
pub const FRAME_MS: f64 = FRAME as f64 * 1000.0 / WHISPER_SAMPLE_RATE as f64;

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct VadConfig {
    /// earshot score at or above which a frame is voice.
    pub threshold: f32,
    /// Frames quieter than this RMS are never voice.
    pub energy_floor: f32,
    /// Voiced audio needed before a clip counts as speech (a click or a cough is shorter).
    pub min_speech_ms: f64,
    /// A voiced frame is at least this many dB above the noise floor: the quietest frame of
    /// the last `floor_window_ms`.
    pub snr_db: f32,
    pub floor_window_ms: f64,
}

impl Default for VadConfig {
    fn default() -> Self {
        Self { threshold: 0.5, energy_floor: 0.004, min_speech_ms: 300.0, snr_db: 6.0, floor_window_ms: 3000.0 }
    }
}

/// Streaming detector over 16 kHz mono audio.
pub struct VoiceDetector {
    detector: earshot::Detector<earshot::DefaultPredictor>,
    config: VadConfig,
    carry: Vec<f32>,
    voiced_frames: usize,
    frames: usize,
    /// Mean-square energy (above [`SPEECH_BAND_HZ`]) of the most recent frames: the
    /// noise-floor window.
    recent: VecDeque<f32>,
    window: usize,
    snr: f32,
    high_pass: HighPass,
    filtered: Vec<f32>,
}

/// The SNR gate looks above this frequency: speech's formants are there, while rumble,
/// handling noise and brown noise put nearly all their (fluctuating) energy below it.
pub const SPEECH_BAND_HZ: f32 = 250.0;

/// A second-order Butterworth high-pass filter (RBJ biquad), streaming.
#[derive(Debug, Clone)]
struct HighPass {
    b: [f32; 3],
    a: [f32; 2],
    x: [f32; 2],
    y: [f32; 2],
}

impl HighPass {
    fn new(cutoff_hz: f32, rate: f32) -> Self {
        let w0 = 2.0 * std::f32::consts::PI * cutoff_hz / rate;
        let (sin, cos) = w0.sin_cos();
        let alpha = sin / (2.0 * std::f32::consts::FRAC_1_SQRT_2);
        let a0 = 1.0 + alpha;
        let b0 = (1.0 + cos) / 2.0 / a0;
        Self { b: [b0, -2.0 * b0, b0], a: [-2.0 * cos / a0, (1.0 - alpha) / a0], x: [0.0; 2], y: [0.0; 2] }
    }

    fn run(&mut self, input: &[f32], out: &mut Vec<f32>) {
        out.clear();
        for &x in input {
            let y = self.b[0] * x + self.b[1] * self.x[0] + self.b[2] * self.x[1] - self.a[0] * self.y[0] - self.a[1] * self.y[1];
            self.x = [x, self.x[0]];
            self.y = [y, self.y[0]];
            out.push(y);
        }
    }

    fn reset(&mut self) {
        self.x = [0.0; 2];
        self.y = [0.0; 2];
    }
}

impl std::fmt::Debug for VoiceDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceDetector").field("config", &self.config).field("voiced_frames", &self.voiced_frames).finish()
    }
}

impl VoiceDetector {
    pub fn new(config: VadConfig) -> Self {
        let window = ((config.floor_window_ms / FRAME_MS).ceil() as usize).max(1);
        Self {
            detector: earshot::Detector::default(),
            config,
            carry: Vec::with_capacity(FRAME),
            voiced_frames: 0,
            frames: 0,
            recent: VecDeque::with_capacity(window + 1),
            window,
            snr: 10f32.powf(config.snr_db / 10.0),
            high_pass: HighPass::new(SPEECH_BAND_HZ, WHISPER_SAMPLE_RATE as f32),
            filtered: Vec::with_capacity(FRAME),
        }
    }

    /// Feeds audio; calls `on_frame(is_voice)` once per completed 16 ms frame.
    pub fn push(&mut self, samples: &[f32], mut on_frame: impl FnMut(bool)) {
        let mut rest = samples;
        if !self.carry.is_empty() {
            let take = (FRAME - self.carry.len()).min(rest.len());
            self.carry.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.carry.len() == FRAME {
                let frame = std::mem::take(&mut self.carry);
                let v = self.frame(&frame);
                on_frame(v);
                self.carry = frame;
                self.carry.clear();
            }
        }
        let mut chunks = rest.chunks_exact(FRAME);
        for frame in &mut chunks {
            let v = self.frame(frame);
            on_frame(v);
        }
        self.carry.extend_from_slice(chunks.remainder());
    }

    fn frame(&mut self, frame: &[f32]) -> bool {
        // The network keeps state: feed it every frame, quiet or not.
        let score = self.detector.predict_f32(frame);
        let level = rms(frame);
        let mut filtered = std::mem::take(&mut self.filtered);
        self.high_pass.run(frame, &mut filtered);
        let band = rms(&filtered);
        self.filtered = filtered;
        let energy = band * band;
        self.recent.push_back(energy);
        if self.recent.len() > self.window {
            self.recent.pop_front();
        }
        let floor = self.recent.iter().copied().fold(f32::INFINITY, f32::min);
        let voiced = score >= self.config.threshold && level >= self.config.energy_floor && energy >= floor * self.snr;
        self.frames += 1;
        if voiced {
            self.voiced_frames += 1;
        }
        voiced
    }

    pub fn voiced_ms(&self) -> f64 {
        self.voiced_frames as f64 * FRAME_MS
    }

    /// Enough voiced audio so far to count as speech.
    pub fn heard_speech(&self) -> bool {
        self.voiced_ms() >= self.config.min_speech_ms
    }

    pub fn reset(&mut self) {
        self.detector.reset();
        self.carry.clear();
        self.voiced_frames = 0;
        self.frames = 0;
        self.recent.clear();
        self.high_pass.reset();
    }
}

/// Voiced milliseconds in a whole 16 kHz clip.
pub fn voiced_ms(samples: &[f32], config: VadConfig) -> f64 {
    let mut d = VoiceDetector::new(config);
    d.push(samples, |_| {});
    d.voiced_ms()
}

/// Whether a whole 16 kHz clip holds speech.
pub fn has_speech(samples: &[f32], config: VadConfig) -> bool {
    voiced_ms(samples, config) >= config.min_speech_ms
}
