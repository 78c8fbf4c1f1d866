//! The GGUF preflight (ggml's own header parser, then ours) on arbitrary bytes, through a file
//! as in the app: it must return Ok or a typed error, never crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // One file per fuzzing process, in memory-backed /dev/shm when there is one.
    let dir = if std::path::Path::new("/dev/shm").is_dir() { std::path::PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
    let path = dir.join(format!("murmur-fuzz-{}.gguf", std::process::id()));
    if std::fs::write(&path, data).is_ok() {
        let _ = murmur_engine::llm::GgufInfo::read(&path);
    }
});
