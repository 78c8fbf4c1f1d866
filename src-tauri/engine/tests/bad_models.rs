//! A damaged or wrong model file gives a typed error, never a panic or an abort.

mod common;

use std::io::Write;

use murmur_engine::asr::{AsrError, Transcriber};
use murmur_engine::llm::{LlmError, LlmModel};

fn copy_prefix(src: &std::path::Path, dst: &std::path::Path, bytes: u64) {
    let mut f = std::fs::File::open(src).expect("open");
    let mut out = std::fs::File::create(dst).expect("create");
    std::io::copy(&mut std::io::Read::take(&mut f, bytes), &mut out).expect("copy");
}

/// A minimal, valid GGUF v3 header: no tensors, `general.architecture` = `arch`.
fn tiny_gguf(arch: &str) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(b"GGUF");
    v.extend_from_slice(&3u32.to_le_bytes());
    v.extend_from_slice(&0u64.to_le_bytes()); // tensors
    v.extend_from_slice(&1u64.to_le_bytes()); // key/values
    let key = b"general.architecture";
    v.extend_from_slice(&(key.len() as u64).to_le_bytes());
    v.extend_from_slice(key);
    v.extend_from_slice(&8u32.to_le_bytes()); // string
    v.extend_from_slice(&(arch.len() as u64).to_le_bytes());
    v.extend_from_slice(arch.as_bytes());
    v
}

#[test]
fn bad_gguf_files_are_typed_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.gguf");
    assert!(matches!(LlmModel::load(&missing), Err(LlmError::NotFound(_))));

    let text = dir.path().join("notes.gguf");
    std::fs::write(&text, "these are my notes, not a model").expect("write");
    assert!(matches!(LlmModel::load(&text), Err(LlmError::NotGguf(_))));

    let empty = dir.path().join("empty.gguf");
    std::fs::File::create(&empty).expect("create");
    assert!(matches!(LlmModel::load(&empty), Err(LlmError::NotGguf(_))));

    // The real model cut short, as an interrupted copy would leave it.
    let real = common::llm_path();
    let truncated = dir.path().join("truncated.gguf");
    copy_prefix(&real, &truncated, 64 << 20);
    match LlmModel::load(&truncated) {
        Err(LlmError::Truncated { needed, actual, .. }) => assert!(needed > actual),
        other => panic!("expected Truncated, got {other:?}"),
    }
    // Cut inside the header/tensor table.
    let header_cut = dir.path().join("header-cut.gguf");
    copy_prefix(&real, &header_cut, 100_000);
    assert!(matches!(LlmModel::load(&header_cut), Err(LlmError::BadHeader(_))));

    let bert = dir.path().join("bert.gguf");
    std::fs::File::create(&bert).and_then(|mut f| f.write_all(&tiny_gguf("bert"))).expect("write");
    match LlmModel::load(&bert) {
        Err(LlmError::UnsupportedArchitecture { arch, .. }) => assert_eq!(arch, "bert"),
        other => panic!("expected UnsupportedArchitecture, got {other:?}"),
    }
}

#[test]
fn bad_whisper_files_are_typed_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(matches!(Transcriber::load(&dir.path().join("nope.bin")), Err(AsrError::NotFound(_))));

    let text = dir.path().join("notes.bin");
    std::fs::write(&text, "not a whisper model at all").expect("write");
    assert!(matches!(Transcriber::load(&text), Err(AsrError::NotWhisperModel(_))));

    let real = common::whisper_path();
    let truncated = dir.path().join("truncated.bin");
    copy_prefix(&real, &truncated, 20 << 20);
    match Transcriber::load(&truncated) {
        Err(AsrError::Truncated { expected, actual, .. }) => assert!(expected > actual),
        other => panic!("expected Truncated, got {other:?}"),
    }

    // A GGUF language model is not a Whisper model.
    assert!(matches!(Transcriber::load(&common::llm_path()), Err(AsrError::NotWhisperModel(_))));
}
