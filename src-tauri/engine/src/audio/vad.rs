//! Voice activity: is there speech in this audio? Whisper turns silence, breathing or a tap
//! on the mic into text ("Thank you.", "you"), so nothing reaches it without speech.
//!
//! Two gates: an energy floor (cheap, catches digital silence and faint noise), then earshot's
//! small neural detector on 16 ms frames (tells voice from noise and clicks).

use super::{rms, WHISPER_SAMPLE_RATE};

/// Frame length earshot works on: 256 samples = 16 ms at 16 kHz.
pub const FRAME: usize = 256;
pub const FRAME_MS: f64 = FRAME as f64 * 1000.0 / WHISPER_SAMPLE_RATE as f64;

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VadConfig {
    /// earshot score at or above which a frame is voice.
    pub threshold: f32,
    /// Frames quieter than this RMS are never voice.
    pub energy_floor: f32,
    /// Voiced audio needed before a clip counts as speech (a click or a cough is shorter).
    pub min_speech_ms: f64,
}

impl Default for VadConfig {
    fn default() -> Self {
        Self { threshold: 0.5, energy_floor: 0.004, min_speech_ms: 300.0 }
    }
}

/// Streaming detector over 16 kHz mono audio.
pub struct VoiceDetector {
    detector: earshot::Detector<earshot::DefaultPredictor>,
    config: VadConfig,
    carry: Vec<f32>,
    voiced_frames: usize,
    frames: usize,
}

impl std::fmt::Debug for VoiceDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceDetector").field("config", &self.config).field("voiced_frames", &self.voiced_frames).finish()
    }
}

impl VoiceDetector {
    pub fn new(config: VadConfig) -> Self {
        Self { detector: earshot::Detector::default(), config, carry: Vec::with_capacity(FRAME), voiced_frames: 0, frames: 0 }
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
        let voiced = score >= self.config.threshold && rms(frame) >= self.config.energy_floor;
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
