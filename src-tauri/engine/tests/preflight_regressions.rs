//! The model-file preflights on every input the fuzzers found interesting or crashing
//! (fuzz/regressions/, fuzz/seeds/): each must give Ok or a typed error, never a panic.
//! `cargo fuzz` itself runs outside CI (see fuzz/README.md); its crashers are kept here.

use std::path::{Path, PathBuf};

use murmur_engine::asr::{model_file, AsrError};
use murmur_engine::llm::GgufInfo;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn files(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir).map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    v.sort();
    v
}

#[test]
fn whisper_preflight_survives_every_kept_input() {
    let inputs: Vec<_> = ["regressions", "seeds"].iter().flat_map(|k| files(k, "whisper_preflight")).collect();
    assert!(inputs.len() >= 4, "the kept inputs are missing: {inputs:?}");
    for path in inputs {
        let bytes = std::fs::read(&path).expect("read");
        let from_memory = model_file::inspect_reader(std::io::Cursor::new(&bytes), bytes.len() as u64, &path);
        let from_file = model_file::inspect(&path);
        eprintln!("{}: {:?}", path.display(), from_file.as_ref().map(|i| i.n_tensors));
        assert_eq!(from_memory.is_ok(), from_file.is_ok(), "{}", path.display());
    }
}

#[test]
fn a_crafted_tensor_shape_is_a_bad_model_not_an_overflow() {
    let path = fuzz_dir().join("regressions/whisper_preflight/shape-overflow.bin");
    assert_eq!(std::fs::metadata(&path).expect("kept crasher").len(), 156);
    match model_file::inspect(&path) {
        Err(AsrError::BadModel { reason, .. }) => assert!(reason.contains("shape") || reason.contains("size"), "{reason}"),
        other => panic!("expected BadModel, got {other:?}"),
    }
    let path = fuzz_dir().join("regressions/whisper_preflight/mel-overflow.bin");
    assert!(matches!(model_file::inspect(&path), Err(AsrError::BadModel { .. } | AsrError::Truncated { .. })));
}

#[test]
fn gguf_preflight_survives_every_kept_input() {
    let inputs: Vec<_> = ["regressions", "seeds"].iter().flat_map(|k| files(k, "gguf_preflight")).collect();
    assert!(inputs.len() >= 3, "the kept inputs are missing: {inputs:?}");
    for path in inputs {
        let r = GgufInfo::read(&path);
        eprintln!("{}: {:?}", path.display(), r.as_ref().map(|i| &i.architecture));
    }
    // The seeds are valid headers of a supported architecture.
    let seed = fuzz_dir().join("seeds/gguf_preflight/qwen2-one-tensor.gguf");
    assert_eq!(GgufInfo::read(&seed).expect("valid seed").architecture, "qwen2");
}
