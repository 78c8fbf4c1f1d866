//! Audio in: WAV files now; live microphone capture and resampling join here (voice issue).

pub mod wav;

/// Whisper's input rate.
pub const WHISPER_SAMPLE_RATE: u32 = 16_000;

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("cannot read audio file {path}: {message}")]
    Read { path: std::path::PathBuf, message: String },
    #[error("{path} is {rate} Hz; Whisper needs 16000 Hz (convert it, e.g. `sox in.wav -r 16000 out.wav`)")]
    UnsupportedRate { path: std::path::PathBuf, rate: u32 },
    #[error("{0} contains no audio")]
    Empty(std::path::PathBuf),
}

/// Root mean square of a clip (0 for an empty one).
pub fn rms(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / samples.len() as f64).sqrt() as f32
}
