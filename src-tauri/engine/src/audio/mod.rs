//! Audio: microphone capture (cpal), resampling to 16 kHz (rubato), voice activity
//! (earshot + an energy gate), the level meter, and WAV files in and out (hound).

pub mod capture;
pub mod level;
pub mod resample;
pub mod vad;
pub mod wav;

/// Whisper's input rate.
pub const WHISPER_SAMPLE_RATE: u32 = 16_000;

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("cannot read audio file {path}: {message}")]
    Read { path: std::path::PathBuf, message: String },
    #[error("cannot write audio file {path}: {message}")]
    Write { path: std::path::PathBuf, message: String },
    #[error("resampling failed: {0}")]
    Resample(String),
    #[error("{0} contains no audio")]
    Empty(std::path::PathBuf),
}

impl crate::error::Coded for AudioError {
    fn code(&self) -> crate::error::ErrorCode {
        use crate::error::ErrorCode as C;
        match self {
            Self::Read { .. } => C::AudioRead,
            Self::Write { .. } => C::AudioWrite,
            Self::Resample(_) => C::AudioResample,
            Self::Empty(_) => C::AudioEmpty,
        }
    }
}

/// Root mean square of a clip (0 for an empty one).
pub fn rms(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / samples.len() as f64).sqrt() as f32
}
