//! llama.cpp and whisper.cpp share one ggml, and both models run in one process.
//! This file is its own test binary so that the order of loading below is the first in
//! its process; the reverse order runs through `murmur voice` in cli.rs.

mod common;

use std::process::Command;

use murmur_engine::asr::{TranscribeOptions, Transcriber};
use murmur_engine::audio::wav;
use murmur_engine::llm::{ChatSession, LlmModel, SamplingParams, SessionOptions, TurnEvent};
use murmur_engine::{ggml, CancelToken};

#[test]
fn both_libraries_report_the_same_ggml() {
    assert_eq!(ggml::llama_ggml_version(), ggml::whisper_ggml_version());
    let (ops, types) = ggml::enum_counts();
    assert_eq!(ops.0, ops.1, "the op enum differs between the two bindings");
    assert_eq!(types.0, types.1, "the type enum differs between the two bindings");
    // whisper.cpp 1.8.3 vendors ggml 0.9.5; the shared one is llama.cpp's.
    assert_ne!(ggml::whisper_ggml_version(), "0.9.5");
}

#[test]
fn each_ggml_symbol_is_defined_once_in_the_binary() {
    let out = Command::new("nm").arg("--defined-only").arg(common::murmur_bin()).output().expect("run nm (binutils)");
    assert!(out.status.success(), "nm failed: {}", String::from_utf8_lossy(&out.stderr));
    let symbols = String::from_utf8_lossy(&out.stdout);
    let count = |name: &str| symbols.lines().filter(|l| l.split_whitespace().last() == Some(name)).count();
    for name in ["ggml_init", "ggml_graph_compute", "ggml_backend_cpu_init", "ggml_version", "ggml_mul_mat", "gguf_init_from_file"] {
        assert_eq!(count(name), 1, "{name} is defined {} times", count(name));
    }
    // No ggml symbol at all is defined twice (a second, local copy would show up here).
    let mut seen = std::collections::HashMap::<&str, usize>::new();
    for name in symbols.lines().filter_map(|l| l.split_whitespace().last()).filter(|n| n.starts_with("ggml_")) {
        *seen.entry(name).or_default() += 1;
    }
    assert!(seen.len() > 100, "only {} ggml symbols found", seen.len());
    let twice: Vec<_> = seen.iter().filter(|(_, &n)| n > 1).collect();
    assert!(twice.is_empty(), "defined more than once: {twice:?}");
    // And both libraries are really in there.
    assert_eq!(count("whisper_full_with_state"), 1);
    assert_eq!(count("llama_decode"), 1);
}

#[test]
fn llm_first_then_whisper_then_llm_again() {
    let threads = Some(common::threads());
    let model = LlmModel::load(&common::llm_path()).expect("llm");
    let mut session = ChatSession::new(&model, &SessionOptions { n_ctx: 2048, threads, ..Default::default() }).expect("session");
    let sampling = SamplingParams { max_tokens: 16, ..SamplingParams::greedy() };
    let mut first = String::new();
    session
        .send("Say hello.", &sampling, &CancelToken::new(), &mut |e| {
            if let TurnEvent::Token(t) = e {
                first.push_str(t);
            }
        })
        .expect("first answer");
    assert!(!first.trim().is_empty());

    let mut whisper = Transcriber::load(&common::whisper_path()).expect("whisper");
    let pcm = wav::read_for_whisper(&common::speech_dir().join("sentence2.wav")).expect("wav");
    let t = whisper.transcribe(&pcm, &TranscribeOptions { threads, ..Default::default() }).expect("transcribe");
    let reference = common::words("what does a high ferritin level mean");
    assert!(common::word_errors(&reference, &common::words(&t.text)) <= 1, "{:?}", t.text);

    let mut second = String::new();
    session
        .send(&t.text, &sampling, &CancelToken::new(), &mut |e| {
            if let TurnEvent::Token(tok) = e {
                second.push_str(tok);
            }
        })
        .expect("second answer");
    assert!(!second.trim().is_empty());
}
