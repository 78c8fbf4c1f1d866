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
fn a_context_size_out_of_range_is_a_clear_error_not_a_panic() {
    for ctx in ["4", "7", "0", "511", "40000", "many"] {
        let out = murmur().args(["--ctx", ctx, "ask", "Say hello.", "--greedy", "--max-tokens", "4"]).output().expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--ctx {ctx}: a usage error\n{stderr}");
        assert!(!stderr.contains("panicked"), "--ctx {ctx}: {stderr}");
        assert!(stderr.contains("--ctx") && stderr.contains("512 to 32768") || stderr.contains("not a number"), "--ctx {ctx}: {stderr}");
    }
    // The smallest is accepted: an answer, or (if the system prompt leaves no room in it) the
    // session's own clear error, never a panic.
    let out = murmur().args(["--ctx", "512", "ask", "Say hello.", "--greedy", "--max-tokens", "4"]).output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 1)) && !stderr.contains("panicked"), "{:?}: {stderr}", out.status);
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

/// Reads a child's pipe into a shared buffer as it comes.
fn collect(pipe: impl Read + Send + 'static) -> std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
    let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = buf.clone();
    std::thread::spawn(move || {
        let mut pipe = pipe;
        let mut chunk = [0u8; 256];
        while let Ok(n) = pipe.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock().expect("buffer").extend_from_slice(&chunk[..n]);
        }
    });
    buf
}

fn text_of(buf: &std::sync::Arc<std::sync::Mutex<Vec<u8>>>) -> String {
    String::from_utf8_lossy(&buf.lock().expect("buffer")).into_owned()
}

/// Waits until `cond` holds on the buffer (at most two minutes).
fn wait_for(buf: &std::sync::Arc<std::sync::Mutex<Vec<u8>>>, what: &str, cond: impl Fn(&str) -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !cond(&text_of(buf)) {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}: {}", text_of(buf));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_kill_during_a_saved_answer_keeps_the_conversation_and_the_chat_resumes_from_its_cache() {
    use murmur_engine::store::{AnswerState, History, MessageRole};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = murmur()
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--greedy", "--max-tokens", "300", "chat", "--conversation", "new"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn murmur chat");
    let mut stdin = child.stdin.take().expect("stdin");
    let out = collect(child.stdout.take().expect("stdout"));
    let err = collect(child.stderr.take().expect("stderr"));
    let prompts = |s: &str| s.matches("> ").count();
    wait_for(&err, "the prompt", |s| prompts(s) >= 1);
    writeln!(stdin, "What is HDL cholesterol? Answer in two sentences.").expect("write");
    wait_for(&err, "the first answer to end", |s| prompts(s) >= 2);
    let first = text_of(&out);
    writeln!(stdin, "List ten common blood tests and explain each one in detail.").expect("write");
    // Kill -9 once the second answer has streamed for a while (past a checkpoint).
    wait_for(&out, "the second answer", |s| s.len() > first.len() + 10);
    std::thread::sleep(std::time::Duration::from_millis(2500));
    child.kill().expect("kill -9");
    let _ = child.wait();
    let printed = text_of(&out);
    assert!(!text_of(&err).contains("HDL"), "no question in the logs");

    let h = History::open(&dir.path().join("history.sqlite3")).expect("reopens after the kill");
    assert_eq!(h.integrity_check().expect("check"), "ok");
    let list = h.list(None).expect("list");
    assert_eq!(list.len(), 1);
    let c = h.get(list[0].id).expect("conversation");
    assert_eq!(c.messages.len(), 4, "{:?}", c.messages);
    assert_eq!((c.messages[0].role, c.messages[0].state), (MessageRole::User, AnswerState::Complete));
    assert_eq!(c.messages[1].state, AnswerState::Complete);
    assert_eq!(c.messages[1].text.trim(), first.trim(), "the earlier answer is intact");
    let partial = &c.messages[3];
    assert_eq!(partial.state, AnswerState::Interrupted);
    assert!(!partial.text.is_empty(), "the answer so far was checkpointed");
    let second = &printed[first.len()..];
    assert!(second.starts_with(&partial.text), "saved: {:?}\nprinted: {second:?}", partial.text);
    drop(h);

    // Reopened: the cache is written when the chat ends (or after a quiet while), not after
    // every answer, so after the kill the conversation is read again from its saved turns,
    // and the chat goes on.
    let output = {
        let mut child = murmur()
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--greedy", "--max-tokens", "16", "--stats", "chat", "--conversation"])
            .arg(list[0].id.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "Thanks. What is LDL?\n/quit").expect("write");
        drop(stdin);
        child.wait_with_output().expect("wait")
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("no usable saved cache"), "{stderr}");
    assert!(!String::from_utf8_lossy(&output.stdout).trim().is_empty());
    let h = History::open(&dir.path().join("history.sqlite3")).expect("open");
    let c = h.get(list[0].id).expect("conversation");
    assert_eq!(c.messages.len(), 6);
    assert_eq!(c.messages[5].state, AnswerState::Complete);

    // The history commands see it; rm removes it and its cache file.
    let listed = murmur().arg("--data-dir").arg(dir.path()).args(["history", "list"]).output().expect("list");
    assert!(String::from_utf8_lossy(&listed.stdout).contains("What is HDL cholesterol?"));
    let md = murmur().arg("--data-dir").arg(dir.path()).args(["history", "export"]).arg(list[0].id.to_string()).output().expect("export");
    let md = String::from_utf8_lossy(&md.stdout).into_owned();
    assert!(md.starts_with("# What is HDL cholesterol?") && md.contains("Interrupted"), "{md}");
    assert!(dir.path().join("kv-cache").read_dir().expect("kv dir").count() > 0, "the chat's end saved the cache");
    let rm = murmur().arg("--data-dir").arg(dir.path()).args(["history", "rm"]).arg(list[0].id.to_string()).output().expect("rm");
    assert!(rm.status.success());
    assert_eq!(dir.path().join("kv-cache").read_dir().expect("kv dir").count(), 0, "the cache file went with it");
    let show = murmur().arg("--data-dir").arg(dir.path()).args(["history", "show"]).arg(list[0].id.to_string()).output().expect("show");
    assert!(!show.status.success() && String::from_utf8_lossy(&show.stderr).contains("no conversation"));
}

const LAB_PANEL: &str = "LIPID PANEL\nPatient: Test Person\nCholesterol, Total   241  H  mg/dL   100-199\nHDL Cholesterol   42   mg/dL   > 40\nPotassium   6.8   HH   mmol/L   3.5-5.1\nHemoglobin    see comment 2\n";

/// `murmur record parse` prints the table, the red flags and the lines it could not read;
/// `--json` the same as data.
#[test]
fn record_parse_prints_the_table_red_flags_and_unread_lines() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("panel.txt");
    std::fs::write(&file, LAB_PANEL).expect("write");
    let (_, out, _) = run_reading_stdout(murmur().args(["record", "parse"]).arg(&file));
    let line = |name: &str| out.lines().find(|l| l.contains(name)).unwrap_or_else(|| panic!("{name} in {out}")).to_string();
    assert!(line("Cholesterol, Total").contains("▲ above"), "{out}");
    assert!(line("HDL Cholesterol").contains("✓ within"), "{out}");
    assert!(line("Potassium").contains("▲ above URGENT"), "{out}");
    assert!(out.contains("Urgent results in this record") && out.contains("call emergency services"), "{out}");
    assert!(out.contains("line 6: Hemoglobin    see comment 2"), "{out}");
    let (_, json, _) = run_reading_stdout(murmur().args(["record", "parse", "--json"]).arg(&file));
    let v: serde_json::Value = serde_json::from_str(json.trim()).expect("one JSON line");
    assert_eq!(v["rows"].as_array().map(Vec::len), Some(3));
    assert_eq!(v["rows"][1]["status"], "within");
    assert_eq!(v["rows"][1]["canonical"], "hdl");
    assert_eq!(v["unread"][0]["line"], 6);
    assert_eq!(v["red_flags"]["lines"][0], 5);
    // A file that does not exist is named.
    let out = murmur().args(["record", "parse", "/nonexistent/panel.txt"]).output().expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read record /nonexistent/panel.txt"));
}

/// `murmur ask --task explain --record F --check` shows the red flags before the answer and
/// checks the answer after it; `--json` carries the answer, the parsed record and the check,
/// and the check's numbers are the answer's own.
#[test]
fn ask_with_a_record_shows_red_flags_first_and_checks_the_answer() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("panel.txt");
    std::fs::write(&file, LAB_PANEL).expect("write");
    let (_, out, err) =
        run_reading_stdout(murmur().args(["--greedy", "--max-tokens", "48", "--ctx", "2048", "ask", "--task", "explain", "--check", "--record"]).arg(&file));
    assert!(out.starts_with("Urgent results in this record:\n  • Potassium 6.8 mmol/L"), "the fixed red-flag message comes first: {out}");
    assert!(err.contains("[check] "), "{err}");
    let (_, json, _) =
        run_reading_stdout(murmur().args(["--greedy", "--max-tokens", "48", "--ctx", "2048", "ask", "--task", "explain", "--json", "--record"]).arg(&file));
    let v: serde_json::Value = serde_json::from_str(json.trim()).expect("one JSON object");
    let answer = v["answer"].as_str().expect("answer");
    assert!(!answer.is_empty());
    assert_eq!(v["record"]["rows"].as_array().map(Vec::len), Some(3));
    assert_eq!(v["record_table"], true);
    assert!(v["red_flags"]["items"][0].as_str().is_some_and(|i| i.contains("Potassium")));
    // Every issue's text is where the check says it is in the answer.
    let utf16: Vec<u16> = answer.encode_utf16().collect();
    for issue in v["check"]["issues"].as_array().expect("issues") {
        let (s, e) = (issue["start"].as_u64().expect("start") as usize, issue["end"].as_u64().expect("end") as usize);
        assert_eq!(String::from_utf16_lossy(&utf16[s..e]), issue["text"].as_str().expect("text"));
    }
    assert!(v["check"]["numbers_checked"].is_u64());
}
