//! WAV files with hound: 8/16/24/32-bit integer or 32-bit float, any channel count.

use std::path::Path;

use super::{AudioError, WHISPER_SAMPLE_RATE};

/// Decoded audio, mono, at its original sample rate.
#[derive(Clone, Debug)]
pub struct MonoClip {
    pub samples: Vec<f32>,
    pub sample_rate: u32,
}

impl MonoClip {
    pub fn duration_secs(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate.max(1))
    }
}

/// Reads a WAV file and mixes it down to mono f32 in [-1, 1].
pub fn read_mono(path: &Path) -> Result<MonoClip, AudioError> {
    let err = |e: hound::Error| AudioError::Read { path: path.to_path_buf(), message: e.to_string() };
    let reader = hound::WavReader::open(path).map_err(err)?;
    let spec = reader.spec();
    let channels = usize::from(spec.channels.max(1));
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.into_samples::<f32>().collect::<Result<_, _>>().map_err(err)?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1_i64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(err)?
        }
    };
    let samples = if channels == 1 {
        interleaved
    } else {
        interleaved.chunks_exact(channels).map(|f| f.iter().sum::<f32>() / channels as f32).collect()
    };
    if samples.is_empty() {
        return Err(AudioError::Empty(path.to_path_buf()));
    }
    Ok(MonoClip { samples, sample_rate: spec.sample_rate })
}

/// Reads a WAV file as Whisper input (16 kHz mono f32).
pub fn read_for_whisper(path: &Path) -> Result<Vec<f32>, AudioError> {
    let clip = read_mono(path)?;
    if clip.sample_rate != WHISPER_SAMPLE_RATE {
        return Err(AudioError::UnsupportedRate { path: path.to_path_buf(), rate: clip.sample_rate });
    }
    Ok(clip.samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, spec: hound::WavSpec, frames: &[[i16; 2]]) {
        let mut w = hound::WavWriter::create(path, spec).expect("create wav");
        for f in frames {
            for &s in &f[..usize::from(spec.channels)] {
                w.write_sample(s).expect("write sample");
            }
        }
        w.finalize().expect("finalize wav");
    }

    #[test]
    fn stereo_16_bit_is_mixed_to_mono() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("s.wav");
        let spec = hound::WavSpec { channels: 2, sample_rate: 16_000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
        write(&p, spec, &[[16384, 0], [-32768, -32768]]);
        let s = read_for_whisper(&p).expect("read");
        assert_eq!(s, vec![0.25, -1.0]);
    }

    #[test]
    fn wrong_rate_and_garbage_are_typed_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("r.wav");
        let spec = hound::WavSpec { channels: 1, sample_rate: 44_100, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
        write(&p, spec, &[[1, 0]]);
        assert!(matches!(read_for_whisper(&p), Err(AudioError::UnsupportedRate { rate: 44_100, .. })));
        let g = dir.path().join("g.wav");
        std::fs::write(&g, b"RIFF....not a wav").expect("write");
        assert!(matches!(read_for_whisper(&g), Err(AudioError::Read { .. })));
        let e = dir.path().join("e.wav");
        write(&e, spec, &[]);
        assert!(matches!(read_mono(&e), Err(AudioError::Empty(_))));
    }
}
