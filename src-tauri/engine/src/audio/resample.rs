//! Sample-rate conversion to Whisper's 16 kHz with rubato (synchronous FFT resampler), both
//! for whole clips and for a live stream fed in blocks of any size.

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler, WindowFunction};

use super::{AudioError, WHISPER_SAMPLE_RATE};

const CHUNK: usize = 1024;

/// Streaming mono resampler: push blocks of any length, get 16 kHz samples out, aligned
/// (the filter delay is removed) and complete after `finish`.
pub struct StreamResampler {
    inner: Option<Fft<f32>>,
    rate_in: u32,
    pending: Vec<f32>,
    out_chunk: Vec<f32>,
    /// Output samples still to drop (the resampler's delay).
    skip: usize,
    consumed: u64,
    produced: u64,
}

impl std::fmt::Debug for StreamResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamResampler").field("rate_in", &self.rate_in).finish_non_exhaustive()
    }
}

impl StreamResampler {
    pub fn new(rate_in: u32) -> Result<Self, AudioError> {
        if rate_in == 0 {
            return Err(AudioError::Resample("input sample rate is 0".into()));
        }
        let inner = if rate_in == WHISPER_SAMPLE_RATE {
            None
        } else {
            Some(
                // One FFT per chunk (not rubato's default 256-frame sub-chunks): a longer filter
                // keeps the pass band up to ~7.6 kHz. Whisper's mel bank reaches 8 kHz and the
                // sibilants up there matter to it; the extra delay (~20 ms) does not.
                Fft::<f32>::new_custom(rate_in as usize, WHISPER_SAMPLE_RATE as usize, CHUNK, 1, 1, WindowFunction::BlackmanHarris2, FixedSync::Input)
                    .map_err(|e| AudioError::Resample(e.to_string()))?,
            )
        };
        let (skip, out_max) = inner.as_ref().map_or((0, 0), |r| (r.output_delay(), r.output_frames_max()));
        Ok(Self {
            inner,
            rate_in,
            pending: Vec::with_capacity(CHUNK * 2),
            out_chunk: vec![0.0; out_max],
            skip,
            consumed: 0,
            produced: 0,
        })
    }

    /// Converts `input` (mono, at the input rate), appending 16 kHz samples to `out`.
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), AudioError> {
        self.consumed += input.len() as u64;
        if self.inner.is_none() {
            out.extend_from_slice(input);
            self.produced += input.len() as u64;
            return Ok(());
        }
        self.pending.extend_from_slice(input);
        let mut start = 0;
        while self.pending.len() - start >= CHUNK {
            self.run(start, None, out)?;
            start += CHUNK;
        }
        self.pending.drain(..start);
        Ok(())
    }

    /// Flushes the last partial block and the filter tail.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> Result<(), AudioError> {
        if self.inner.is_none() {
            return Ok(());
        }
        let expected = (self.consumed as f64 * f64::from(WHISPER_SAMPLE_RATE) / f64::from(self.rate_in)).round() as u64;
        let mut guard = 0;
        while self.produced < expected && guard < 8 {
            let real = self.pending.len();
            self.pending.resize(CHUNK, 0.0);
            let partial = Indexing { input_offset: 0, output_offset: 0, partial_len: Some(real), active_channels_mask: None };
            self.run(0, Some(&partial), out)?;
            self.pending.clear();
            guard += 1;
        }
        if self.produced > expected {
            let extra = (self.produced - expected) as usize;
            out.truncate(out.len().saturating_sub(extra));
            self.produced = expected;
        }
        Ok(())
    }

    fn run(&mut self, start: usize, indexing: Option<&Indexing>, out: &mut Vec<f32>) -> Result<(), AudioError> {
        let Some(r) = self.inner.as_mut() else { return Ok(()) };
        let err = |e: &dyn std::fmt::Display| AudioError::Resample(e.to_string());
        let input = InterleavedSlice::new(&self.pending[start..start + CHUNK], 1, CHUNK).map_err(|e| err(&e))?;
        let frames_out = self.out_chunk.len();
        let mut output = InterleavedSlice::new_mut(&mut self.out_chunk, 1, frames_out).map_err(|e| err(&e))?;
        let (_, written) = r.process_into_buffer(&input, &mut output, indexing).map_err(|e| err(&e))?;
        let drop = self.skip.min(written);
        self.skip -= drop;
        out.extend_from_slice(&self.out_chunk[drop..written]);
        self.produced += (written - drop) as u64;
        Ok(())
    }
}

/// Resamples a whole mono clip to 16 kHz.
pub fn to_whisper_rate(samples: &[f32], rate_in: u32) -> Result<Vec<f32>, AudioError> {
    if rate_in == WHISPER_SAMPLE_RATE {
        return Ok(samples.to_vec());
    }
    let mut r = StreamResampler::new(rate_in)?;
    let mut out = Vec::with_capacity((samples.len() as u64 * u64::from(WHISPER_SAMPLE_RATE) / u64::from(rate_in)) as usize + CHUNK);
    r.push(samples, &mut out)?;
    r.finish(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, hz: f32, secs: f32) -> Vec<f32> {
        (0..(rate as f32 * secs) as usize).map(|i| (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin() * 0.5).collect()
    }

    #[test]
    fn resampled_length_and_frequency_are_right() {
        for rate in [8_000, 22_050, 44_100, 48_000] {
            let out = to_whisper_rate(&sine(rate, 440.0, 1.0), rate).expect("resample");
            assert_eq!(out.len(), 16_000, "from {rate}");
            // Compare with an ideal 440 Hz sine at 16 kHz, away from the edges.
            let ideal = sine(16_000, 440.0, 1.0);
            let err: f32 = out[2000..14000].iter().zip(&ideal[2000..14000]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(err < 0.05, "from {rate}: max error {err}");
        }
    }

    #[test]
    fn pass_band_reaches_high_speech_frequencies() {
        let r = Fft::<f32>::new_custom(48_000, 16_000, CHUNK, 1, 1, WindowFunction::BlackmanHarris2, FixedSync::Input).expect("fft");
        // Relative to the input Nyquist (24 kHz): 7.2 kHz is 0.3.
        assert!(r.cutoff() * 24_000.0 > 7_200.0, "cutoff {} Hz", r.cutoff() * 24_000.0);
        let out = to_whisper_rate(&sine(48_000, 7_000.0, 0.5), 48_000).expect("resample");
        let level = crate::audio::rms(&out[1000..7000]);
        assert!(level > 0.3, "a 7 kHz tone came out at RMS {level}");
    }

    #[test]
    fn streaming_in_odd_blocks_matches_whole_clip() {
        let input = sine(48_000, 300.0, 0.77);
        let whole = to_whisper_rate(&input, 48_000).expect("whole");
        let mut r = StreamResampler::new(48_000).expect("new");
        let mut out = Vec::new();
        for block in input.chunks(333) {
            r.push(block, &mut out).expect("push");
        }
        r.finish(&mut out).expect("finish");
        assert_eq!(out.len(), whole.len());
        assert!(out.iter().zip(&whole).all(|(a, b)| (a - b).abs() < 1e-4));
    }
}
