//! Speech from files: any format in, the same words out; no text from non-speech; long files
//! in bounded memory; broken files fail clearly.

mod common;

use murmur_engine::asr::file::transcribe_file;
use murmur_engine::asr::{AsrError, Transcriber};
use murmur_engine::audio::{wav, AudioError};

#[test]
fn the_same_speech_at_16k_mono_48k_stereo_and_44k_16bit_transcribes_alike() {
    let mut t = Transcriber::load(&common::whisper_path()).expect("whisper");
    let dir = common::speech_dir();
    let variants = ["", "_48k_stereo", "_44k"];
    let mut errors = [0usize; 3];
    let mut disagreement = [0usize; 3];
    let mut words = 0;
    for i in 1..=5 {
        let reference = common::words(&std::fs::read_to_string(dir.join(format!("sentence{i}.txt"))).expect("reference"));
        words += reference.len();
        let mut heard = Vec::new();
        for (v, suffix) in variants.iter().enumerate() {
            let pcm = wav::read_for_whisper(&dir.join(format!("sentence{i}{suffix}.wav"))).expect("wav");
            let got = common::words(&t.transcribe(&pcm, &common::transcribe_options()).expect("transcribe").text);
            eprintln!("sentence{i}{suffix}: {}", got.join(" "));
            errors[v] += common::word_errors(&reference, &got);
            heard.push(got);
        }
        for v in 0..3 {
            disagreement[v] += common::word_errors(&heard[0], &heard[v]);
        }
    }
    for v in 0..3 {
        let wer = errors[v] as f64 / words as f64;
        eprintln!("{:>12}: WER {:.1}%, differs from 16 kHz by {:.1}%", variants[v], wer * 100.0, disagreement[v] as f64 * 100.0 / words as f64);
        assert!(wer <= 0.15, "{}: WER {:.1}%", variants[v], wer * 100.0);
        assert!(disagreement[v] as f64 / words as f64 <= 0.15);
    }
}

#[test]
fn silence_faint_noise_and_a_click_are_no_speech() {
    let mut t = Transcriber::load(&common::whisper_path()).expect("whisper");
    for name in ["silence.wav", "noise.wav", "click.wav"] {
        let pcm = wav::read_for_whisper(&common::speech_dir().join(name)).expect("wav");
        let got = t.transcribe(&pcm, &common::transcribe_options()).expect("transcribe");
        assert!(got.no_speech && got.text.is_empty(), "{name}: {got:?}");
    }
}

#[test]
fn broken_and_cut_short_files() {
    let mut t = Transcriber::load(&common::whisper_path()).expect("whisper");
    let dir = tempfile::tempdir().expect("tempdir");
    // A broken header: a clear, typed error.
    let broken = dir.path().join("broken.wav");
    let mut bytes = std::fs::read(common::speech_dir().join("sentence5.wav")).expect("read");
    bytes[8..12].copy_from_slice(b"AVI ");
    std::fs::write(&broken, &bytes).expect("write");
    match transcribe_file(&mut t, &broken, &common::transcribe_options(), |_| {}) {
        Err(AsrError::Audio(AudioError::Read { path, .. })) => assert_eq!(path, broken),
        other => panic!("expected a read error, got {other:?}"),
    }
    // A recording cut short (a crash mid-write): what is there is still transcribed.
    let cut = dir.path().join("cut.wav");
    let bytes = std::fs::read(common::speech_dir().join("sentence1.wav")).expect("read");
    std::fs::write(&cut, &bytes[..bytes.len() * 3 / 5]).expect("write");
    let got = transcribe_file(&mut t, &cut, &common::transcribe_options(), |_| {}).expect("partial file");
    assert!(common::words(&got.text).contains(&"cholesterol".to_string()), "{got:?}");
}

/// Peak RSS (kB) of the largest child waited for so far.
fn children_max_rss_kb() -> i64 {
    // SAFETY: getrusage fills the struct we pass.
    unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut u);
        u.ru_maxrss
    }
}

#[test]
fn a_ten_minute_file_is_transcribed_in_windows_with_bounded_memory() {
    let run = |name: &str| {
        let out = std::process::Command::new(common::murmur_bin())
            .args(["transcribe", "--stats", "--timestamps"])
            .arg(common::speech_dir().join(name))
            .env("MURMUR_WHISPER_MODEL", common::whisper_path())
            .env("MURMUR_THREADS", common::threads().to_string())
            .output()
            .expect("run murmur");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        (String::from_utf8_lossy(&out.stdout).into_owned(), children_max_rss_kb())
    };
    let (_, rss_30s) = run("speech_30s.wav");
    let (text, rss_10min) = run("long_10min.wav");
    // The 10-minute file as f32 in memory would be 106 MB at 44.1 kHz (+38 MB at 16 kHz).
    let growth_mb = (rss_10min - rss_30s) as f64 / 1024.0;
    eprintln!("peak RSS: 30 s file {} MB, 10 min file {} MB", rss_30s / 1024, rss_10min / 1024);
    assert!(growth_mb < 60.0, "peak RSS grew by {growth_mb:.0} MB for a 20x longer file");
    // Every part of the file was transcribed: segments run to the end with no long gap.
    let starts_ends: Vec<(f64, f64)> = text
        .lines()
        .filter_map(|l| {
            let inner = l.strip_prefix('[')?.split(']').next()?;
            let (a, b) = inner.split_once('→')?;
            Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
        })
        .collect();
    assert!(starts_ends.len() >= 20, "only {} segments for 20 windows of speech", starts_ends.len());
    let last_end = starts_ends.last().map_or(0.0, |s| s.1);
    assert!(last_end > 570.0, "timestamps should run to the end of the file, last ends at {last_end}");
    let gap = starts_ends.windows(2).map(|w| w[1].0 - w[0].1).fold(0.0f64, f64::max);
    assert!(gap < 30.0, "a {gap:.0} s stretch of speech produced no text");
    // The words too (tiny.en sometimes merges a repeated sentence, so not all 60 are required).
    let n = common::words(&text).iter().filter(|w| *w == "cholesterol").count();
    assert!(n >= 30, "'cholesterol' is said 60 times in the file, heard {n}");
}
