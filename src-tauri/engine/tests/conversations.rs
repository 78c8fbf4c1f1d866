//! Saved conversations through the real model: an answer is saved as it streams, and a
//! conversation reopened in a new model worker (as after a restart) continues from its saved
//! KV state: the same greedy answer as a session that never stopped, without re-reading.

mod common;

use std::sync::Arc;
use std::time::Duration;

use murmur_engine::llm::{ChatEvent, LlmWorker, SamplingParams, SessionOptions, TurnStats};
use murmur_engine::store::{AnswerState, ConversationId, Conversations, ModelKey, MessageRole};
use murmur_engine::{CancelToken, Sink};

fn worker(n_ctx: u32) -> LlmWorker {
    LlmWorker::spawn(common::llm_path(), SessionOptions { n_ctx, threads: Some(common::threads()), ..SessionOptions::default() }).expect("load model")
}

fn key(w: &LlmWorker) -> ModelKey {
    ModelKey { fingerprint: *w.fingerprint(), n_ctx: w.n_ctx() }
}

fn greedy(max_tokens: usize) -> SamplingParams {
    SamplingParams { max_tokens, ..SamplingParams::greedy() }
}

/// Asks in a saved conversation; returns the answer, its stats and the KV file's size.
fn ask(store: &Arc<Conversations>, w: &LlmWorker, id: ConversationId, q: &str, max_tokens: usize) -> (String, TurnStats, Option<u64>) {
    let (sink, rx) = Sink::channel();
    let saving = store.ask(&w.client(), id, q, greedy(max_tokens), CancelToken::new(), sink).expect("ask");
    let mut text = String::new();
    let stats = loop {
        match rx.recv_timeout(Duration::from_secs(300)).expect("event") {
            ChatEvent::Token(t) => text.push_str(&t),
            ChatEvent::Done(s) => break s,
            ChatEvent::Error(e) => panic!("{e:?}"),
            ChatEvent::Trimmed { .. } => {}
        }
    };
    (text, stats, saving.wait())
}

fn prefix(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

const RECORD: &str = "Lipid panel, 2026-10-02\nTotal cholesterol 241 mg/dL (< 200) H\nHDL 42 mg/dL (> 40)\nLDL 160 mg/dL (< 100) H";

#[test]
fn a_reopened_conversation_continues_from_its_saved_cache() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Conversations::open(dir.path(), 1 << 30).expect("open"));
    let questions = ["Which of my results are outside their range?", "What is HDL?", "What could I ask my doctor about the LDL?"];

    // A session that never stops: three questions.
    let w = worker(2048);
    let id = store.db.create(Some(RECORD), Some("test")).expect("create");
    w.set_record(Some(RECORD.into())).expect("record");
    let mut answers = Vec::new();
    for q in &questions[..2] {
        let (text, stats, saved) = ask(&store, &w, id, q, 48);
        assert!(saved.is_some_and(|b| b > 0), "a KV state is saved after each answer");
        answers.push((text, stats));
    }
    // The never-stopped session's third answer (asked outside the history: the saved state
    // stays the one after two answers).
    let (expected, uninterrupted) = {
        let rx = w.ask(questions[2], greedy(48), CancelToken::new()).expect("ask");
        let mut t = String::new();
        let mut stats = None;
        for e in rx {
            match e {
                ChatEvent::Token(s) => t.push_str(&s),
                ChatEvent::Done(s) => stats = Some(s),
                e => panic!("{e:?}"),
            }
        }
        (t, stats.expect("done"))
    };
    let state = store.kv.load(id, w.fingerprint(), w.n_ctx()).expect("the state saved after the second answer");
    drop(w);

    // Saved as it ran: two complete answers with their token ids.
    let c = store.db.get(id).expect("get");
    assert_eq!(c.messages.len(), 4);
    assert!(c.messages.iter().all(|m| m.state == AnswerState::Complete));
    assert_eq!(c.messages[1].text, answers[0].0);
    let tokens = store.db.answer_tokens(id).expect("tokens");
    assert!(tokens.get(&c.messages[1].id).is_some_and(|t| t.len() == answers[0].1.generated_tokens));
    assert_eq!(c.messages[0].role, MessageRole::User);
    assert_eq!(c.summary.title, questions[0]);

    // "After a restart": a new worker, the conversation reopened with its cache.
    let w = worker(2048);
    let resumed = store.resume(&w.client(), &key(&w), id).expect("resume");
    assert!(resumed.cache_restored, "the saved state is loaded");
    assert_eq!(resumed.cached_tokens, state.tokens.len());
    let (restored_text, restored) = {
        let (t, s, _) = ask(&store, &w, id, questions[2], 48);
        (t, s)
    };
    assert_eq!(restored_text, expected, "same greedy answer as the session that never stopped");
    assert_eq!(restored.reused_tokens, uninterrupted.reused_tokens, "{restored:?}");
    assert!(restored.prefilled_tokens < 40, "only the new question is read: {restored:?}");
    drop(w);

    // Without the cache (another context size: the file does not apply), the same answer,
    // but the whole conversation is read again.
    store.db.retract_last(id).expect("retract");
    let w = worker(1024);
    let resumed = store.resume(&w.client(), &key(&w), id).expect("resume");
    assert!(!resumed.cache_restored);
    let (text, cold, _) = ask(&store, &w, id, questions[2], 48);
    // Read in other batch shapes, greedy decoding may part after a few dozen tokens on CPUs
    // (float rounding): the start must agree.
    assert_eq!(prefix(&text, 40), prefix(&expected, 40));
    assert_eq!(cold.reused_tokens, 0, "{cold:?}");
    assert!(cold.prefilled_tokens > 10 * restored.prefilled_tokens, "{cold:?} vs {restored:?}");
    let (cold_ttft, warm_ttft) = (cold.ttft_ms.unwrap_or(0.0), restored.ttft_ms.unwrap_or(f64::MAX));
    eprintln!("follow-up TTFT: restored cache {warm_ttft:.0} ms, read again {cold_ttft:.0} ms; load {:.0} ms", resumed.load_ms);
    assert!(warm_ttft < cold_ttft, "restored {warm_ttft} ms, read again {cold_ttft} ms");
}

#[test]
fn a_stopped_answer_is_saved_as_cancelled_and_a_foreign_cache_file_is_not_trusted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Conversations::open(dir.path(), 1 << 30).expect("open"));
    let w = worker(2048);
    let a = store.db.create(None, None).expect("a");
    let (sink, rx) = Sink::channel();
    let cancel = CancelToken::new();
    let saving = store.ask(&w.client(), a, "List twenty blood tests and explain each in detail.", greedy(400), cancel.clone(), sink).expect("ask");
    // Stop after a few tokens.
    let mut streamed = String::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(300)).expect("event") {
            ChatEvent::Token(t) => {
                streamed.push_str(&t);
                if streamed.len() > 20 {
                    cancel.cancel();
                }
            }
            ChatEvent::Done(_) => break,
            e => panic!("{e:?}"),
        }
    }
    saving.wait();
    let c = store.db.get(a).expect("get");
    assert_eq!(c.messages[1].state, AnswerState::Cancelled);
    assert_eq!(c.messages[1].text, streamed, "the stopped answer is kept as far as it got");

    // Conversation b gets a's cache file: same model, same context, other tokens. It loads
    // (the tokens are checked, not the text), and the next question keeps only the common
    // prefix: the answer is b's own, as a fresh session gives it.
    let b = store.db.create(None, None).expect("b");
    std::fs::copy(store.kv.path(a), store.kv.path(b)).expect("copy");
    drop(w);
    let w = worker(2048);
    store.resume(&w.client(), &key(&w), b).expect("resume b");
    let (text, stats, _) = ask(&store, &w, b, "What is ferritin?", 24);
    drop(w);
    let fresh = worker(2048);
    let (expected, _) = {
        let rx = fresh.ask("What is ferritin?", greedy(24), CancelToken::new()).expect("ask");
        let mut t = String::new();
        for e in rx {
            if let ChatEvent::Token(s) = e {
                t.push_str(&s);
            }
        }
        (t, ())
    };
    assert_eq!(prefix(&text, 40), prefix(&expected, 40));
    assert!(stats.reused_tokens < stats.prompt_tokens, "{stats:?}");
}
