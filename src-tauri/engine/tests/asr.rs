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
fn medical_vocabulary_hint_is_the_default_and_makes_the_difference() {
    let mut t = Transcriber::load(&common::whisper_path()).expect("load whisper");
    // "my triglycerides and HDL were both out of range"
    let pcm = wav::read_for_whisper(&common::speech_dir().join("vocabulary.wav")).expect("wav");
    let heard = |text: &str, word: &str| common::words(text).contains(&word.to_string());
    // The engine's default options carry the hint (health questions are what people ask).
    assert_eq!(TranscribeOptions::default().initial_prompt.as_deref(), Some(MEDICAL_VOCABULARY_HINT));
    let hinted = t.transcribe(&pcm, &common::transcribe_options()).expect("transcribe");
    let plain = t.transcribe(&pcm, &TranscribeOptions { initial_prompt: None, ..common::transcribe_options() }).expect("transcribe");
    eprintln!("with the hint: {:?}\nwithout it: {:?}", hinted.text, plain.text);
    assert!(heard(&hinted.text, "triglycerides") && heard(&hinted.text, "hdl"), "{hinted:?}");
    // Without it, tiny.en mishears the words: the hint is what gets them right.
    assert!(!heard(&plain.text, "triglycerides"), "{plain:?}");
}

#[test]
fn loud_broadband_noise_is_no_speech_and_speech_in_noise_is_heard() {
    let mut t = Transcriber::load(&common::whisper_path()).expect("load whisper");
    let dir = common::speech_dir();
    for name in ["noise_white_loud.wav", "noise_white_clipping.wav", "noise_pink_loud.wav", "noise_brown_loud.wav", "noise.wav"] {
        let pcm = wav::read_for_whisper(&dir.join(name)).expect("wav");
        eprintln!("{name}: {:.0} ms voiced", murmur_engine::audio::vad::voiced_ms(&pcm, Default::default()));
        let got = t.transcribe(&pcm, &common::transcribe_options()).expect("transcribe");
        assert!(got.no_speech && got.text.is_empty(), "{name}: {got:?}");
    }
    let pcm = wav::read_for_whisper(&dir.join("speech_in_noise.wav")).expect("wav");
    eprintln!("speech_in_noise.wav: {:.0} ms voiced", murmur_engine::audio::vad::voiced_ms(&pcm, Default::default()));
    let got = t.transcribe(&pcm, &common::transcribe_options()).expect("transcribe");
    let r = common::words(&std::fs::read_to_string(dir.join("sentence1.txt")).expect("reference"));
    let errors = common::word_errors(&r, &common::words(&got.text));
    assert!(!got.no_speech && errors * 4 <= r.len(), "{got:?}");
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
