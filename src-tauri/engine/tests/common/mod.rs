//! Shared helpers for the integration tests, which run on real models.
//! `tests/fixtures/setup.sh` (called by `scripts/test.sh`) fetches them and exports the paths.
#![allow(dead_code)]

pub mod near_tie;
pub mod server;

use std::path::PathBuf;

fn cache_dir() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default().join(".cache/murmur")
}

fn fixture(var: &str, default: PathBuf) -> PathBuf {
    let path = std::env::var_os(var).map(PathBuf::from).unwrap_or(default);
    assert!(
        path.exists(),
        "{var}: {} does not exist. Run `bash scripts/test.sh` (or tests/fixtures/setup.sh) to fetch the test models.",
        path.display()
    );
    path
}

pub fn llm_path() -> PathBuf {
    fixture("MURMUR_TEST_LLM", cache_dir().join("test-models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"))
}

pub fn whisper_path() -> PathBuf {
    fixture("MURMUR_TEST_WHISPER", cache_dir().join("test-models/ggml-tiny.en.bin"))
}

pub fn speech_dir() -> PathBuf {
    fixture("MURMUR_TEST_SPEECH", cache_dir().join("test-speech"))
}

/// Threads for tests: 2, the size of the CI machine (overridable).
pub fn threads() -> usize {
    std::env::var("MURMUR_TEST_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or(2)
}

/// Default transcription settings on the test thread count.
pub fn transcribe_options() -> murmur_engine::asr::TranscribeOptions {
    murmur_engine::asr::TranscribeOptions { threads: Some(threads()), ..Default::default() }
}

/// Words for WER: lower case, letters and digits only, British spellings folded to American.
pub fn words(s: &str) -> Vec<String> {
    s.to_lowercase()
        .replace('.', "")
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_matches('\'').replace("summarise", "summarize"))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Word-level edit distance between reference and hypothesis.
pub fn word_errors(reference: &[String], hypothesis: &[String]) -> usize {
    let mut prev: Vec<usize> = (0..=hypothesis.len()).collect();
    for (i, r) in reference.iter().enumerate() {
        let mut cur = vec![i + 1; hypothesis.len() + 1];
        for (j, h) in hypothesis.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(r != h)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[hypothesis.len()]
}

/// The `murmur` command-line tool (built with the default `cli` feature).
#[cfg(feature = "cli")]
pub fn murmur_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_murmur"))
}

/// Reports a test that cannot run here, with its reason: on stderr, and as a line in the file
/// named by `MURMUR_TEST_SKIPS` (scripts/test.sh counts them as skipped, not passed).
pub fn skip(test: &str, reason: &str) {
    eprintln!("SKIPPED {test}: {reason}");
    if let Some(path) = std::env::var_os("MURMUR_TEST_SKIPS") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = writeln!(f, "{test}: {reason}");
        }
    }
}

/// Whether unprivileged user and mount namespaces work here (`unshare --user --mount`).
pub fn user_namespaces() -> Result<(), String> {
    match std::process::Command::new("unshare").args(["--user", "--map-root-user", "--mount", "true"]).output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!("user namespaces are unavailable: {}", String::from_utf8_lossy(&o.stderr).trim())),
        Err(e) => Err(format!("unshare (util-linux) cannot run: {e}")),
    }
}
