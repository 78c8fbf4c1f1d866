//! The conversation controller on the real models: the model's view of the open conversation
//! and the saved one stay equal after every verb, failures included, and busy state clears
//! itself on every exit path. Each test is one defect of the app layer before the controller
//! owned the conversation (issue 19).

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use murmur_engine::asr::{AudioInput, ListenOptions};
use murmur_engine::audio::capture::Capture;
use murmur_engine::controller::{AsrSpec, Controller, LlmSpec, ModelEvent};
use murmur_engine::llm::{ChatEvent, FinishReason, SamplingParams, SessionOptions, Turn, TurnStats};
use murmur_engine::store::{Conversations, DEFAULT_KV_CACHE_BYTES};
use murmur_engine::voice::VoiceTurnEvent;
use murmur_engine::{EngineError, ErrorCode, Sink};

fn spec(n_ctx: u32) -> LlmSpec {
    LlmSpec { id: "test-llm".into(), path: common::llm_path(), options: SessionOptions { n_ctx, threads: Some(common::threads()), ..SessionOptions::default() } }
}

fn greedy(max_tokens: usize) -> SamplingParams {
    SamplingParams { max_tokens, ..SamplingParams::greedy() }
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<Conversations>,
    chat: Arc<Controller>,
    events: Arc<Mutex<Vec<ModelEvent>>>,
}

fn fixture(n_ctx: u32) -> Fixture {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Arc::new(Conversations::open(dir.path(), DEFAULT_KV_CACHE_BYTES).expect("history"));
    let events = Arc::new(Mutex::new(Vec::new()));
    let heard = events.clone();
    let chat = Controller::new(Ok(store.clone()), move |e| heard.lock().expect("events").push(e));
    chat.set_idle_save_after(Duration::from_secs(3600));
    chat.load_llm(spec(n_ctx)).expect("load");
    Fixture { _dir: dir, store, chat, events }
}

/// The events of one answer, until its end.
fn until_end(rx: &std::sync::mpsc::Receiver<ChatEvent>) -> (String, Vec<ChatEvent>) {
    let mut text = String::new();
    let mut all = Vec::new();
    while let Ok(e) = rx.recv_timeout(Duration::from_secs(300)) {
        if let ChatEvent::Token(t) = &e {
            text.push_str(t);
        }
        let end = matches!(e, ChatEvent::Done(_) | ChatEvent::Error(_));
        all.push(e);
        if end {
            return (text, all);
        }
    }
    panic!("the answer did not end: {all:?}");
}

fn done(events: &[ChatEvent]) -> TurnStats {
    match events.last() {
        Some(ChatEvent::Done(s)) => s.clone(),
        other => panic!("not done: {other:?}"),
    }
}

fn ask(chat: &Arc<Controller>, q: &str, max_tokens: usize) -> (String, Vec<ChatEvent>) {
    let (sink, rx) = Sink::channel();
    chat.ask(q, greedy(max_tokens), sink).expect("asked");
    until_end(&rx)
}

/// The turns the model holds and the turns the saved conversation gives a model.
fn views(f: &Fixture) -> (Vec<Turn>, Vec<Turn>) {
    let model = f.chat.snapshot().expect("snapshot").turns;
    let id = f.chat.current().expect("a saved conversation");
    let saved = f.store.db.get(id).expect("saved");
    let tokens = f.store.db.answer_tokens(id).expect("tokens");
    (model, saved.turns(&tokens).into_iter().map(|t| t.turn).collect())
}

/// The language model's threads alive in this process (its worker, and ggml's pool threads,
/// which inherit the worker's name).
fn llm_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| tasks.filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok()).filter(|name| name.trim() == "murmur-llm").count())
        .unwrap_or(0)
}

#[test]
fn a_refused_question_saves_nothing_and_an_answer_frees_the_busy_state() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Arc::new(Conversations::open(dir.path(), DEFAULT_KV_CACHE_BYTES).expect("history"));
    let chat = Controller::new(Ok(store.clone()), |_| {});
    // No model yet: refused, with nothing sent on the stream and no empty conversation left.
    let (sink, rx) = Sink::channel();
    assert_eq!(chat.ask("Hello", greedy(8), sink).err().map(|e| e.code), Some(ErrorCode::ModelNotLoaded));
    assert!(rx.try_recv().is_err(), "a refused question streams nothing");
    let (sink, _rx) = Sink::channel();
    assert_eq!(chat.ask("   ", greedy(8), sink).err().map(|e| e.code), Some(ErrorCode::InvalidInput));
    assert!(store.db.list(None).expect("list").is_empty(), "no 'Untitled' conversation");

    chat.load_llm(spec(2048)).expect("load");
    let (sink, rx) = Sink::channel();
    chat.ask("In one sentence: what is HDL?", greedy(24), sink).expect("asked");
    assert!(chat.answering());
    let (sink2, rx2) = Sink::channel();
    assert_eq!(chat.ask("And LDL?", greedy(8), sink2).err().map(|e| e.code), Some(ErrorCode::Busy));
    assert!(rx2.try_recv().is_err());
    let (_, events) = until_end(&rx);
    done(&events);
    assert!(!chat.answering(), "the answer's end frees the busy state");
    assert_eq!(store.db.list(None).expect("list").len(), 1);
}

#[test]
fn a_microphone_that_fails_to_open_leaves_nothing_busy() {
    let f = fixture(2048);
    f.chat.load_asr(AsrSpec { id: "test-asr".into(), path: common::whisper_path() }).expect("load whisper");
    let open_missing = || Capture::start(Some("no such microphone")).map(|c| Box::new(c) as Box<dyn AudioInput>).map_err(|e| EngineError::from_coded(&e));
    let (sink, rx) = Sink::<VoiceTurnEvent>::channel();
    let err = f.chat.voice_start(open_missing, true, greedy(16), ListenOptions::default(), sink).expect_err("no such microphone");
    let code = serde_json::to_value(err.code).expect("code");
    assert!(code.as_str().is_some_and(|c| c.starts_with("mic.")), "{err:?}");
    assert!(rx.try_recv().is_err(), "the error is the command's, not also the stream's");
    assert!(!f.chat.answering());
    // The next question is answered, not refused as "an answer is still being written".
    let (_, events) = ask(&f.chat, "In one sentence: what is ferritin?", 16);
    assert!(done(&events).generated_tokens > 0);
}

#[test]
fn a_model_reload_keeps_the_open_conversation_in_the_model_and_in_the_history() {
    let f = fixture(2048);
    ask(&f.chat, "In one sentence: what is HDL cholesterol?", 24);
    let id = f.chat.current().expect("saved");
    let other = f.store.db.create(Some("OTHER RECORD"), None).expect("another conversation");
    // New settings: the model is loaded again with another context size.
    f.chat.load_llm(spec(1536)).expect("reload");
    assert_eq!(f.chat.current(), Some(id), "the same conversation stays open");
    assert_eq!(f.chat.snapshot().expect("snapshot").n_ctx, 1536);
    let (model, saved) = views(&f);
    assert_eq!(model.len(), 1, "the new model holds the conversation: {model:?}");
    assert_eq!(model, saved);
    ask(&f.chat, "And what is LDL? One sentence.", 24);
    let (model, saved) = views(&f);
    assert_eq!(model.len(), 2);
    assert_eq!(model, saved, "the follow-up was saved into the conversation with its history");
    f.chat.attach_record("Potassium 5.9 mmol/L (3.5-5.1) H").expect("attach");
    assert_eq!(f.store.db.get(id).expect("open one").record.as_deref(), Some("Potassium 5.9 mmol/L (3.5-5.1) H"));
    assert_eq!(f.store.db.get(other).expect("other one").record.as_deref(), Some("OTHER RECORD"), "no other conversation's record is overwritten");
    let events = f.events.lock().expect("events").clone();
    assert_eq!(events.iter().filter(|e| matches!(e, ModelEvent::Loaded { .. })).count(), 2, "{events:?}");
}

#[test]
fn stop_while_the_question_is_read_then_ask_again_asks_the_last_kept_question() {
    let f = fixture(4096);
    let (first, _) = ask(&f.chat, "In one sentence: what is HDL cholesterol?", 24);
    // A long question, stopped while it is being read: the model keeps no turn for it.
    let long = format!("{} Which of these should I ask my doctor about?", "My potassium was 5.9 and my sodium 131 last week. ".repeat(120));
    let (sink, rx) = Sink::channel();
    f.chat.ask(&long, greedy(24), sink).expect("asked");
    std::thread::sleep(Duration::from_millis(200));
    f.chat.stop();
    let (text, events) = until_end(&rx);
    assert_eq!(done(&events).finish, FinishReason::Cancelled);
    assert!(text.is_empty(), "stopped before the answer began: {text:?}");
    let (model, saved) = views(&f);
    assert_eq!(model, saved, "both views leave the stopped question out");
    assert_eq!(model.len(), 1);

    // Ask again: the question asked again is the last one kept (HDL), not the stopped one.
    let (sink, rx) = Sink::channel();
    f.chat.regenerate(greedy(24), sink).expect("regenerate");
    let (again, events) = until_end(&rx);
    assert!(done(&events).generated_tokens > 0);
    let (model, saved) = views(&f);
    assert_eq!(model, saved, "model and history agree after asking again");
    assert_eq!(model.len(), 1, "the old exchange was replaced, not repeated: {saved:?}");
    assert_eq!(model[0].user, "In one sentence: what is HDL cholesterol?");
    assert_eq!(model[0].assistant, again);
    let _ = first;

    // Ask again, stopped before the new answer begins: the old answer stays, in both views.
    let (sink, rx) = Sink::channel();
    f.chat.regenerate(greedy(24), sink).expect("regenerate");
    f.chat.stop();
    let (text, events) = until_end(&rx);
    assert_eq!(done(&events).finish, FinishReason::Cancelled);
    let (model, saved) = views(&f);
    assert_eq!(model, saved);
    assert_eq!(model.len(), 1);
    if text.is_empty() {
        assert_eq!(model[0].assistant, again, "the answer is not lost when asking again is stopped before it begins");
    } else {
        assert_eq!(model[0].assistant, text, "a new answer stopped after it began replaces the old one");
    }
}

#[test]
fn a_record_too_long_leaves_the_previous_record_in_the_model_and_the_history() {
    let f = fixture(1024);
    let short = "Potassium 5.9 mmol/L (3.5-5.1) H";
    f.chat.attach_record(short).expect("attach");
    ask(&f.chat, "Is my potassium in range? One sentence.", 16);
    let id = f.chat.current().expect("saved");
    // Prose with no results to reduce it to: it cannot fit a 1,024-token context.
    let long = "The patient reports feeling generally well and describes the week in detail. ".repeat(200);
    let err = f.chat.attach_record(&long).expect_err("too long");
    assert_eq!(err.code, ErrorCode::RecordTooLong, "{err:?}");
    let snapshot = f.chat.snapshot().expect("snapshot");
    assert!(snapshot.has_record && snapshot.system_message.contains(short), "the model still reads the earlier record");
    assert!(f.chat.record_current().is_some_and(|r| !r.parsed.rows.is_empty()));
    assert_eq!(f.store.db.get(id).expect("saved").record.as_deref(), Some(short));
    let (_, events) = ask(&f.chat, "And sodium?", 8);
    done(&events);
}

#[test]
fn a_failed_database_write_is_reported_once_with_its_own_words() {
    let f = fixture(2048);
    ask(&f.chat, "In one sentence: what is HDL?", 12);
    let id = f.chat.current().expect("saved");
    // The conversation disappears from the database under the controller's feet (another
    // window, a failing disk): saving the next question fails.
    f.store.db.delete(id).expect("delete behind its back");
    let (sink, rx) = Sink::channel();
    f.chat.ask("And LDL?", greedy(12), sink).expect("accepted: the failure is the stream's");
    let (_, events) = until_end(&rx);
    assert_eq!(events.len(), 1, "exactly one event: {events:?}");
    match &events[0] {
        ChatEvent::Error(e) => assert_eq!(e.code, ErrorCode::ConversationNotFound, "{e:?}"),
        other => panic!("{other:?}"),
    }
    assert!(rx.recv_timeout(Duration::from_millis(500)).is_err(), "no second error");
    assert!(!f.chat.answering());
}

#[test]
fn two_quick_model_loads_never_hold_two_models_and_a_crashed_model_is_loaded_again() {
    let f = fixture(2048);
    ask(&f.chat, "In one sentence: what is HDL?", 12);
    // One loaded model's threads (its worker and ggml's pool, which inherits the name).
    let one_model = llm_threads();
    assert!(one_model >= 1);
    let most = Arc::new(Mutex::new(0usize));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (most, stop) = (most.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let n = llm_threads();
                let mut m = most.lock().expect("most");
                *m = (*m).max(n);
                drop(m);
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let loads: Vec<_> = [1536, 1280]
        .into_iter()
        .map(|n_ctx| {
            let chat = f.chat.clone();
            std::thread::spawn(move || chat.load_llm(spec(n_ctx)))
        })
        .collect();
    for l in loads {
        l.join().expect("load thread").expect("loaded");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    sampler.join().expect("sampler");
    assert!(*most.lock().expect("most") <= one_model, "at most one language model in memory at a time: {} threads seen, {one_model} for one model", most.lock().expect("most"));
    assert_eq!(f.chat.snapshot().expect("snapshot").turns.len(), 1, "the conversation followed both loads");

    // The model thread panics (a bug): the next question loads it again and goes on.
    f.chat.llm_for_tests().expect("model").panic_for_tests().expect("sent");
    let start = Instant::now();
    while f.chat.llm_for_tests().is_ok() && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let (_, events) = ask(&f.chat, "And LDL? One sentence.", 12);
    assert!(done(&events).generated_tokens > 0);
    let (model, saved) = views(&f);
    assert_eq!(model.len(), 2, "the conversation was put back into the reloaded model");
    assert_eq!(model, saved);
}

#[test]
fn the_cache_is_written_when_leaving_or_idle_not_after_every_answer() {
    let f = fixture(2048);
    for q in ["In one sentence: what is HDL?", "And LDL?", "And triglycerides?"] {
        ask(&f.chat, q, 12);
    }
    let id = f.chat.current().expect("saved");
    assert_eq!(f.store.kv.total_bytes(), 0, "three answers, no cache file written yet");
    f.chat.new_conversation().expect("new");
    let written = f.store.kv.total_bytes();
    assert!(written > 0, "leaving the conversation saved its cache");
    let resumed = f.chat.open(id).expect("reopen");
    assert!(resumed.cache_restored, "the saved cache matches");
    let (_, events) = ask(&f.chat, "And HbA1c? One sentence.", 12);
    assert!(done(&events).prefilled_tokens < 40, "the reopened conversation was not read again: {:?}", done(&events));

    // Idle: saved after a quiet while, once.
    f.chat.set_idle_save_after(Duration::from_millis(300));
    let before = std::fs::metadata(f.store.kv.path(id)).and_then(|m| m.modified()).expect("cache file");
    ask(&f.chat, "Thanks. One more word?", 4);
    let start = Instant::now();
    loop {
        let now = std::fs::metadata(f.store.kv.path(id)).and_then(|m| m.modified()).expect("cache file");
        if now > before {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "the idle saver never wrote the cache");
        std::thread::sleep(Duration::from_millis(100));
    }
}
