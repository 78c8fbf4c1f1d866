//! WAV files with hound: any sample rate, channel count and bit depth (8/16/24/32-bit integer,
//! 32-bit float) in, resampled to Whisper's 16 kHz mono; 16 kHz mono 16-bit out.
//! Long files are read in blocks, so memory stays bounded.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use super::resample::StreamResampler;
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

/// A WAV file read block by block as 16 kHz mono.
pub struct WavStream {
    reader: hound::WavReader<BufReader<File>>,
    spec: hound::WavSpec,
    resampler: StreamResampler,
    path: PathBuf,
    frames_read: u64,
    done: bool,
    block: Vec<f32>,
}

impl std::fmt::Debug for WavStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavStream").field("path", &self.path).field("spec", &self.spec).finish_non_exhaustive()
    }
}

const BLOCK_FRAMES: usize = 4096;

impl WavStream {
    pub fn open(path: &Path) -> Result<Self, AudioError> {
        let reader = hound::WavReader::open(path).map_err(|e| read_error(path, &e))?;
        let spec = reader.spec();
        if spec.channels == 0 || spec.sample_rate == 0 {
            return Err(AudioError::Read { path: path.to_path_buf(), message: "the header declares no channels or no sample rate".into() });
        }
        Ok(Self {
            resampler: StreamResampler::new(spec.sample_rate)?,
            reader,
            spec,
            path: path.to_path_buf(),
            frames_read: 0,
            done: false,
            block: Vec::with_capacity(BLOCK_FRAMES * usize::from(spec.channels)),
        })
    }

    pub fn spec(&self) -> hound::WavSpec {
        self.spec
    }

    /// Length the header declares, in seconds.
    pub fn duration_secs(&self) -> f64 {
        f64::from(self.reader.duration()) / f64::from(self.spec.sample_rate)
    }

    /// Appends about `want` 16 kHz samples to `out` (fewer at the end of the file).
    /// Returns `false` once the file is exhausted.
    pub fn read_16k(&mut self, want: usize, out: &mut Vec<f32>) -> Result<bool, AudioError> {
        let target = out.len() + want;
        while !self.done && out.len() < target {
            self.read_block()?;
            let mono = downmix(&self.block, usize::from(self.spec.channels));
            if self.done {
                self.resampler.push(&mono, out)?;
                self.resampler.finish(out)?;
            } else {
                self.resampler.push(&mono, out)?;
            }
        }
        Ok(!self.done)
    }

    fn read_block(&mut self) -> Result<(), AudioError> {
        self.block.clear();
        let n = BLOCK_FRAMES * usize::from(self.spec.channels);
        let result: Result<(), hound::Error> = match self.spec.sample_format {
            hound::SampleFormat::Float => {
                self.reader.samples::<f32>().take(n).try_for_each(|s| s.map(|v| self.block.push(v)))
            }
            hound::SampleFormat::Int => {
                let scale = 1.0 / (1_i64 << (self.spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
                let block = &mut self.block;
                self.reader.samples::<i32>().take(n).try_for_each(|s| s.map(|v| block.push(v as f32 * scale)))
            }
        };
        match result {
            Ok(()) => {}
            // A file cut short (a crash while recording): keep what is there.
            // (hound reports a short read as UnexpectedEof or as Other with this message.)
            Err(hound::Error::IoError(e))
                if e.kind() == std::io::ErrorKind::UnexpectedEof || e.to_string() == "Failed to read enough bytes." =>
            {
                tracing::warn!("audio file ends before its declared length; using what is there");
                self.done = true;
            }
            Err(e) => return Err(read_error(&self.path, &e)),
        }
        let whole = self.block.len() - self.block.len() % usize::from(self.spec.channels);
        self.block.truncate(whole);
        self.frames_read += (whole / usize::from(self.spec.channels)) as u64;
        if self.block.len() < n {
            self.done = true;
        }
        Ok(())
    }
}

fn read_error(path: &Path, e: &hound::Error) -> AudioError {
    AudioError::Read { path: path.to_path_buf(), message: e.to_string() }
}

fn downmix(interleaved: &[f32], channels: usize) -> Vec<f32> {
    if channels <= 1 {
        return interleaved.to_vec();
    }
    interleaved.chunks_exact(channels).map(|f| f.iter().sum::<f32>() / channels as f32).collect()
}

/// Reads a whole WAV file and mixes it down to mono f32 in [-1, 1] at its own rate.
pub fn read_mono(path: &Path) -> Result<MonoClip, AudioError> {
    let reader = hound::WavReader::open(path).map_err(|e| read_error(path, &e))?;
    let spec = reader.spec();
    let channels = usize::from(spec.channels.max(1));
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.into_samples::<f32>().collect::<Result<_, _>>().map_err(|e| read_error(path, &e))?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1_i64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            reader.into_samples::<i32>().map(|s| s.map(|v| v as f32 * scale)).collect::<Result<_, _>>().map_err(|e| read_error(path, &e))?
        }
    };
    let samples = downmix(&interleaved, channels);
    if samples.is_empty() {
        return Err(AudioError::Empty(path.to_path_buf()));
    }
    Ok(MonoClip { samples, sample_rate: spec.sample_rate })
}

/// Reads a whole WAV file of any format as Whisper input (16 kHz mono f32).
pub fn read_for_whisper(path: &Path) -> Result<Vec<f32>, AudioError> {
    let mut stream = WavStream::open(path)?;
    let mut out = Vec::new();
    while stream.read_16k(WHISPER_SAMPLE_RATE as usize * 30, &mut out)? {}
    if out.is_empty() {
        return Err(AudioError::Empty(path.to_path_buf()));
    }
    Ok(out)
}

/// Writes 16 kHz mono audio as 16-bit PCM, atomically (a crash never leaves a half file
/// under the final name).
pub fn write_16k(path: &Path, samples: &[f32]) -> Result<(), AudioError> {
    let err = |message: String| AudioError::Write { path: path.to_path_buf(), message };
    let tmp = path.with_extension("wav.part");
    let spec = hound::WavSpec { channels: 1, sample_rate: WHISPER_SAMPLE_RATE, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(&tmp, spec).map_err(|e| err(e.to_string()))?;
    for &s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16).map_err(|e| err(e.to_string()))?;
    }
    w.finalize().map_err(|e| err(e.to_string()))?;
    std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
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
    fn other_rates_are_resampled_and_garbage_is_a_typed_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("r.wav");
        let spec = hound::WavSpec { channels: 1, sample_rate: 44_100, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
        write(&p, spec, &vec![[1000, 0]; 44_100]);
        assert_eq!(read_for_whisper(&p).expect("resampled").len(), 16_000);
        let g = dir.path().join("g.wav");
        std::fs::write(&g, b"RIFF....not a wav").expect("write");
        assert!(matches!(read_for_whisper(&g), Err(AudioError::Read { .. })));
        let e = dir.path().join("e.wav");
        write(&e, spec, &[]);
        assert!(matches!(read_for_whisper(&e), Err(AudioError::Empty(_))));
    }

    #[test]
    fn a_file_cut_short_keeps_what_is_there_and_writes_are_atomic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("w.wav");
        write_16k(&p, &vec![0.25; 16_000]).expect("write");
        assert!(!p.with_extension("wav.part").exists());
        let bytes = std::fs::read(&p).expect("read");
        std::fs::write(&p, &bytes[..bytes.len() / 2]).expect("truncate");
        let s = read_for_whisper(&p).expect("partial file");
        assert!((7_000..=8_100).contains(&s.len()), "{}", s.len());
    }
}
