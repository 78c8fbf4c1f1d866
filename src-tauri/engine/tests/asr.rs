//! Whisper on real espeak-ng speech with the real tiny.en model.

mod common;

use murmur_engine::asr::{TranscribeOptions, Transcriber, MEDICAL_VOCABULARY_HINT};
use murmur_engine::audio::wav;

#[test]
fn spoken_health_sentences_transcribe_within_15_percent_wer() {
    let mut t = Transcriber::load(&common::whisper_path()).expect("load whisper");
    let dir = common::speech_dir();
    let (mut errors, mut words) = (0, 0);
    for i in 1..=5 {
        let pcm = wav::read_for_whisper(&dir.join(format!("sentence{i}.wav"))).expect("wav");
        let reference = std::fs::read_to_string(dir.join(format!("sentence{i}.txt"))).expect("reference");
        let got = t.transcribe(&pcm, &common::transcribe_options()).expect("transcribe");
        let (r, h) = (common::words(&reference), common::words(&got.text));
        let e = common::word_errors(&r, &h);
        eprintln!("{i}: {:?} -> {:?} ({e} errors / {} words, {:.0} ms)", reference.trim(), got.text, r.len(), got.elapsed_ms);
        assert!(!got.no_speech);
        errors += e;
        words += r.len();
    }
    let wer = errors as f64 / words as f64;
    eprintln!("WER {:.1}% over {words} words", wer * 100.0);
    assert!(wer <= 0.15, "WER {:.1}%", wer * 100.0);
}

#[test]
fn medical_vocabulary_hint_is_applied() {
    let mut t = Transcriber::load(&common::whisper_path()).expect("load whisper");
    let pcm = wav::read_for_whisper(&common::speech_dir().join("sentence2.wav")).expect("wav");
    let hinted = TranscribeOptions { initial_prompt: Some(MEDICAL_VOCABULARY_HINT.to_string()), ..common::transcribe_options() };
    let got = t.transcribe(&pcm, &hinted).expect("transcribe");
    assert!(common::words(&got.text).contains(&"ferritin".to_string()), "{got:?}");
}

#[test]
fn silence_is_no_speech_not_text() {
    let mut t = Transcriber::load(&common::whisper_path()).expect("load whisper");
    let pcm = wav::read_for_whisper(&common::speech_dir().join("silence.wav")).expect("wav");
    let got = t.transcribe(&pcm, &common::transcribe_options()).expect("transcribe");
    assert!(got.no_speech, "{got:?}");
    assert_eq!(got.text, "");
}

#[test]
fn beam_search_also_transcribes() {
    let mut t = Transcriber::load(&common::whisper_path()).expect("load whisper");
    let dir = common::speech_dir();
    let pcm = wav::read_for_whisper(&dir.join("sentence5.wav")).expect("wav");
    let reference = std::fs::read_to_string(dir.join("sentence5.txt")).expect("reference");
    let got = t.transcribe(&pcm, &TranscribeOptions { beam_size: Some(4), ..common::transcribe_options() }).expect("transcribe");
    let r = common::words(&reference);
    assert!(common::word_errors(&r, &common::words(&got.text)) * 5 <= r.len(), "{got:?}");
}
