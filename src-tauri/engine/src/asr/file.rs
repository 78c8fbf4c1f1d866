//! Transcribing a WAV file of any length in windows of at most 30 s, cut at quiet points, so
//! memory stays bounded however long the file is.

use std::path::Path;
use std::time::Instant;

use super::{AsrError, TranscribeOptions, Transcriber, Transcript};
use crate::audio::wav::WavStream;
use crate::audio::WHISPER_SAMPLE_RATE;

const WINDOW: usize = 30 * WHISPER_SAMPLE_RATE as usize;
/// Where to look for a cut: the last 4 s of a full window.
const SEARCH: usize = 4 * WHISPER_SAMPLE_RATE as usize;
const STEP: usize = WHISPER_SAMPLE_RATE as usize / 10;

/// Index of the start of the quietest 100 ms in the last seconds of `window`.
fn quiet_cut(window: &[f32]) -> usize {
    let from = window.len().saturating_sub(SEARCH);
    let mut best = (f32::MAX, window.len());
    let mut i = from;
    while i + STEP <= window.len() {
        let energy: f32 = window[i..i + STEP].iter().map(|s| s * s).sum();
        if energy < best.0 {
            best = (energy, i + STEP / 2);
        }
        i += STEP;
    }
    best.1
}

/// Transcribes a WAV file (any rate, channels, bit depth); `on_window` sees each window's
/// transcript as it is done. Returns the whole transcript.
pub fn transcribe_file(
    t: &mut Transcriber,
    path: &Path,
    options: &TranscribeOptions,
    mut on_window: impl FnMut(&Transcript),
) -> Result<Transcript, AsrError> {
    let start = Instant::now();
    let mut stream = WavStream::open(path)?;
    let mut buf: Vec<f32> = Vec::with_capacity(WINDOW + WHISPER_SAMPLE_RATE as usize);
    let mut offset_ms = 0i64;
    let mut total = Transcript { text: String::new(), segments: Vec::new(), no_speech: true, audio_ms: 0.0, elapsed_ms: 0.0 };
    let mut more = true;
    loop {
        if more && buf.len() < WINDOW {
            more = stream.read_16k(WINDOW - buf.len(), &mut buf)?;
        }
        if buf.is_empty() {
            break;
        }
        // While the file goes on, `buf` holds a full window: cut it at a quiet point.
        let cut = if more { quiet_cut(&buf[..WINDOW.min(buf.len())]) } else { buf.len() };
        let piece = t.transcribe(&buf[..cut], options)?;
        on_window(&piece);
        for mut s in piece.segments.clone() {
            s.start_ms += offset_ms;
            s.end_ms += offset_ms;
            total.segments.push(s);
        }
        if !piece.no_speech {
            if !total.text.is_empty() {
                total.text.push(' ');
            }
            total.text.push_str(&piece.text);
            total.no_speech = false;
        }
        total.audio_ms += piece.audio_ms;
        offset_ms += (cut as i64 * 1000) / i64::from(WHISPER_SAMPLE_RATE);
        buf.drain(..cut);
    }
    total.elapsed_ms = start.elapsed().as_secs_f64() * 1000.0;
    Ok(total)
}
