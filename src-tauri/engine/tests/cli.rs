//! The `murmur` binary, end to end on the real models.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

fn murmur() -> Command {
    let mut c = Command::new(common::murmur_bin());
    c.env("MURMUR_MODEL", common::llm_path())
        .env("MURMUR_WHISPER_MODEL", common::whisper_path())
        .env("MURMUR_THREADS", common::threads().to_string())
        .env_remove("MURMUR_LOG");
    c
}

/// Runs `command` to its end, successfully: its stdout as the pieces each read returned (to
/// see whether it streamed), the whole stdout, and its stderr.
fn run_reading_stdout(command: &mut Command) -> (Vec<String>, String, String) {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn murmur");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut reads = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        let n = stdout.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        reads.push(buf[..n].to_vec());
    }
    let mut stderr = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("stderr");
    assert!(child.wait().expect("wait").success(), "{stderr}");
    // A piece may split a character; the whole is UTF-8.
    let whole = String::from_utf8(reads.concat()).expect("utf-8 output");
    (reads.into_iter().map(|r| String::from_utf8_lossy(&r).into_owned()).collect(), whole, stderr)
}

#[test]
fn ask_streams_to_stdout_and_stats_to_stderr() {
    let (reads, text, stderr) = run_reading_stdout(murmur().args(["ask", "What is HbA1c? Two sentences.", "--greedy", "--max-tokens", "48", "--stats"]));
    assert!(!text.trim().is_empty());
    assert!(reads.len() >= 5, "stdout arrived in {} reads: not streamed per token", reads.len());
    assert!(stderr.contains("[stats]") && stderr.contains("decode"), "{stderr}");
    assert!(!stderr.contains("HbA1c"), "the question must not be logged: {stderr}");
}

#[test]
fn voice_transcribes_then_answers_in_one_process() {
    // Whisper is loaded first here, then the language model (the reverse of single_ggml.rs).
    let out = murmur()
        .args(["voice"])
        .arg(common::speech_dir().join("sentence2.wav"))
        .args(["--greedy", "--max-tokens", "32", "--stats"])
        .output()
        .expect("run murmur voice");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let said = stderr.lines().find_map(|l| l.strip_prefix("you said: ")).unwrap_or_default();
    let reference = common::words("what does a high ferritin level mean");
    assert!(common::word_errors(&reference, &common::words(said)) <= 1, "heard {said:?}");
    assert!(!String::from_utf8_lossy(&out.stdout).trim().is_empty(), "no answer");

    // Silence: the engine's recorded voice turn ends with "no speech", and nothing is answered.
    let out = murmur().args(["voice"]).arg(common::speech_dir().join("silence.wav")).args(["--greedy", "--max-tokens", "8"]).output().expect("run murmur voice");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no speech"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "answered silence: {}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn transcribe_and_its_errors() {
    let out = murmur().arg("transcribe").arg(common::speech_dir().join("sentence3.wav")).output().expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(common::words(&text).contains(&"blood".to_string()), "{text}");

    let out = murmur().arg("transcribe").arg(common::speech_dir().join("silence.wav")).output().expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no speech"), "{}", String::from_utf8_lossy(&out.stderr));

    let out = murmur().args(["ask", "hello", "--model", "/nonexistent/model.gguf"]).output().expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("model file not found"));
}

#[test]
fn chat_keeps_the_conversation_and_reuses_the_cache() {
    let mut child = murmur()
        .args(["chat", "--greedy", "--max-tokens", "24", "--stats"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn chat");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "My TSH is 6.1 mIU/L. What does TSH measure? One sentence.").expect("write");
        writeln!(stdin, "Is that value in the usual range? One sentence.").expect("write");
        writeln!(stdin, "/quit").expect("write");
    }
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let stats: Vec<String> = stderr.lines().map_while(Result::ok).filter(|l| l.starts_with("[stats-json]")).collect();
    assert!(child.wait().expect("wait").success());
    assert_eq!(stats.len(), 2, "{stats:?}");
    let second: serde_json::Value = serde_json::from_str(stats[1].trim_start_matches("[stats-json] ")).expect("json");
    let reused = second["reused_tokens"].as_u64().unwrap_or(0);
    let prompt = second["prompt_tokens"].as_u64().unwrap_or(0);
    assert!(reused > 0 && reused * 2 > prompt, "turn 2 reused {reused} of {prompt} tokens");
}

/// `listen --answer`: the engine's voice turn on a WAV played in real time, the transcript on
/// stdout, then the answer streamed as it is written (not printed once it is done).
#[test]
fn listen_answers_a_spoken_question_and_streams_the_answer() {
    let (reads, text, _) = run_reading_stdout(
        murmur().args(["listen", "--answer", "--file"]).arg(common::speech_dir().join("sentence2.wav")).args(["--auto-stop", "1.0", "--greedy", "--max-tokens", "32"]),
    );
    let (heard, answer) = text.split_once('\n').unwrap_or_default();
    let reference = common::words("what does a high ferritin level mean");
    assert!(common::word_errors(&reference, &common::words(heard)) <= 1, "heard {heard:?}");
    assert!(!answer.trim().is_empty(), "no answer");
    // The answer came in several pieces over time: streamed.
    let answer_reads = reads.iter().filter(|t| !t.trim().is_empty()).count().saturating_sub(1);
    assert!(answer_reads >= 3, "the answer arrived in {answer_reads} reads: not streamed: {reads:?}");
}
