//! Saved conversations through the real model: an answer is saved as it streams, and a
//! conversation reopened in a new model worker (as after a restart) continues from its saved
//! KV state: the same greedy answer as a session that never stopped, without re-reading.
//!
//! Greedy answers are compared exactly only against a reference that read the same batches;
//! across batch shapes, up to a near tie ([`common::near_tie`]).

mod common;

use std::sync::Arc;
use std::time::Duration;

use murmur_engine::llm::{ChatEvent, ChatSession, LlmModel, LlmWorker, SamplingParams, SessionOptions, TurnStats};
use murmur_engine::store::{AnswerState, ConversationId, Conversations, ModelKey, MessageRole};
use murmur_engine::{CancelToken, Sink};

use common::near_tie::{assert_same_up_to_near_tie, Greedy};

fn options(n_ctx: u32) -> SessionOptions {
    SessionOptions { n_ctx, threads: Some(common::threads()), ..SessionOptions::default() }
}

fn worker(n_ctx: u32) -> LlmWorker {
    LlmWorker::spawn(common::llm_path(), options(n_ctx)).expect("load model")
}

/// The greedy answer (ids and margins) of a fresh session that reads conversation `id` as
/// saved and is asked `q`: the batches a worker reads it in after reopening it without a
/// cache (the whole conversation and the question at once).
fn fresh_answer(store: &Conversations, id: ConversationId, n_ctx: u32, q: &str, max_tokens: usize) -> Greedy {
    let m = LlmModel::load(&common::llm_path()).expect("model");
    let mut s = ChatSession::new(&m, &options(n_ctx)).expect("session");
    let c = store.db.get(id).expect("get");
    s.set_record(c.record.as_deref());
    s.restore_exact(c.turns(&store.db.answer_tokens(id).expect("tokens")));
    s.keep_margins(true);
    s.send(q, &greedy(max_tokens), &CancelToken::new(), &mut |_| {}).expect("answer");
    let ids = s.exact_history().last().and_then(|t| t.answer_tokens.clone()).expect("ids");
    Greedy { ids, margins: s.last_margins().to_vec() }
}

/// The ids of conversation `id`'s last answer, as saved.
fn last_saved_ids(store: &Conversations, id: ConversationId) -> Vec<i32> {
    let c = store.db.get(id).expect("get");
    let last = c.messages.last().expect("an answer");
    store.db.answer_tokens(id).expect("tokens").get(&last.id).cloned().expect("saved ids")
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

    // Without the cache (another context size: the file does not apply), the whole
    // conversation is read again: the answer of a fresh session reading the saved
    // conversation the same way, exactly.
    store.db.retract_last(id).expect("retract");
    let reference = fresh_answer(&store, id, 1024, questions[2], 48);
    let w = worker(1024);
    let resumed = store.resume(&w.client(), &key(&w), id).expect("resume");
    assert!(!resumed.cache_restored);
    let (_, cold, _) = ask(&store, &w, id, questions[2], 48);
    assert_eq!(last_saved_ids(&store, id), reference.ids, "the answer of a fresh session on the saved conversation");
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
    let cached_from_a = store.kv.load(b, w.fingerprint(), w.n_ctx()).expect("a's state, under b").tokens;
    let reference = fresh_answer(&store, b, 2048, "What is ferritin?", 24);
    let (_, stats, _) = ask(&store, &w, b, "What is ferritin?", 24);
    drop(w);
    // Only what a's tokens and b's prompt share was kept (the system prompt and the header).
    let m = LlmModel::load(&common::llm_path()).expect("model");
    let prompt = ChatSession::new(&m, &options(2048)).expect("session").prompt_token_ids("What is ferritin?").expect("prompt");
    let shared = cached_from_a.iter().zip(&prompt).take_while(|(x, y)| x == y).count();
    assert!(stats.reused_tokens > 0 && stats.reused_tokens <= shared, "{stats:?}, {shared} tokens shared");
    assert!(stats.reused_tokens < stats.prompt_tokens, "{stats:?}");
    // b's own answer, as a fresh session gives it: its prompt was read in other batches (a's
    // prefix, then the rest), so up to a near tie.
    let got = Greedy { ids: last_saved_ids(&store, b), margins: Vec::new() };
    assert_same_up_to_near_tie("a foreign cache's common prefix kept", &reference, &got);
}
