//! The speed and memory levers on the real Qwen2.5 0.5B test model: drafting by prompt
//! lookup gives the model's greedy answer, differing only where two tokens are nearly tied
//! (a batch of tokens rounds differently from one token at a time — measured with flash
//! attention and repacking off too, so exact identity is not on offer on llama.cpp's CPU
//! kernels); decoding ahead (after an answer, and
//! the stable words of a question still being spoken) leaves fewer tokens for the question
//! and never changes an answer, even when the words heard so far are revised; the weights
//! can be used without repacking.
//!
//! Reading ahead splits the prompt into other batches than asking at once does, so a plain
//! answer is only the same up to a near tie ([`common::near_tie`]); token ids are compared
//! exactly only against a reference that read the same batches.

mod common;

use murmur_engine::llm::{ChatSession, ExactTurn, LlmModel, SamplingParams, SessionOptions, TurnStats};
use murmur_engine::CancelToken;

use common::near_tie::{assert_same_up_to_near_tie, Greedy, NEAR_TIE};

const RECORD: &str = "\
Riverside Clinical Laboratory — Comprehensive Metabolic Panel
Collected: 2026-03-02
Test                 Result   Units    Reference range   Flag
Sodium               138      mmol/L   135-145
Potassium            5.6      mmol/L   3.5-5.1           H
Glucose, fasting     112      mg/dL    70-99             H
Creatinine           1.02     mg/dL    0.60-1.20
eGFR                 78       mL/min/1.73m2  >60
ALT                  41       U/L      7-56
Hemoglobin A1c       6.1      %        4.0-5.6           H
LDL Cholesterol      162      mg/dL    <100              H
";

fn options(draft_max: u32, prefill_ahead: bool) -> SessionOptions {
    SessionOptions { n_ctx: 4096, threads: Some(common::threads()), draft_max, prefill_ahead, ..SessionOptions::default() }
}

fn greedy(max_tokens: usize) -> SamplingParams {
    SamplingParams { max_tokens, ..SamplingParams::greedy() }
}

fn ask(s: &mut ChatSession<'_>, q: &str, sampling: &SamplingParams) -> TurnStats {
    s.send(q, sampling, &CancelToken::new(), &mut |_| {}).expect("answer")
}

fn last_answer_ids(s: &ChatSession<'_>) -> Vec<i32> {
    let history: Vec<ExactTurn> = s.exact_history();
    history.last().and_then(|t| t.answer_tokens.clone()).expect("answer ids")
}

/// The last answer's ids and margins (the session keeps margins).
fn last_greedy(s: &ChatSession<'_>) -> Greedy {
    Greedy { ids: last_answer_ids(s), margins: s.last_margins().to_vec() }
}

/// A session on `options` with the record, keeping margins.
fn session<'m>(m: &'m LlmModel, options: &SessionOptions) -> ChatSession<'m> {
    let mut s = ChatSession::new(m, options).expect("session");
    s.set_record(Some(RECORD));
    s.keep_margins(true);
    s
}

#[test]
fn drafting_gives_the_greedy_answer_up_to_near_ties() {
    let m = LlmModel::load(&common::llm_path()).expect("model");
    let questions = [
        "Please explain my results in plain language, one line per result, with the value, unit and range as printed.",
        "Which of my results are flagged, and what do the flags mean?",
        "Summarise my record in a short paragraph.",
        // An open question: little to copy, drafting must not change it either.
        "How can I prepare for a visit with my doctor?",
    ];
    let mut plain = ChatSession::new(&m, &options(0, false)).expect("session");
    let mut drafted = ChatSession::new(&m, &options(8, false)).expect("session");
    for s in [&mut plain, &mut drafted] {
        s.set_record(Some(RECORD));
        s.keep_margins(true);
    }
    let (mut drafted_total, mut accepted_total, mut same, mut compared) = (0, 0, 0, 0);
    for q in questions {
        // Each question on its own (the record stays cached): a difference in one answer does
        // not carry into the next comparison.
        plain.clear_history();
        drafted.clear_history();
        let a = ask(&mut plain, q, &greedy(160));
        let b = ask(&mut drafted, q, &greedy(160));
        eprintln!("{q}\n  plain {:.1} tok/s; drafted {:.1} tok/s, {} of {} drafted tokens accepted", a.decode_tok_s, b.decode_tok_s, b.accepted_tokens, b.drafted_tokens);
        assert_eq!(a.drafted_tokens, 0, "drafting off drafts nothing");
        assert!(b.accepted_tokens <= b.drafted_tokens);
        drafted_total += b.drafted_tokens;
        accepted_total += b.accepted_tokens;
        let (x, y) = (last_answer_ids(&plain), last_answer_ids(&drafted));
        let first_difference = x.iter().zip(&y).position(|(p, d)| p != d);
        match first_difference {
            None => {
                assert_eq!(x.len(), y.len(), "one answer stopped early");
                same += x.len();
            }
            Some(i) => {
                // Not a drafting mistake (a wrong token accepted) but rounding at a near tie:
                // both runs had the two tokens within NEAR_TIE logits of each other there.
                let (mp, md) = (plain.last_margins()[i], drafted.last_margins()[i]);
                eprintln!("  first difference at token {i}: {} vs {}; margins {mp:.4} / {md:.4}", x[i], y[i]);
                assert!(mp < NEAR_TIE && md < NEAR_TIE, "answers to {q:?} differ at token {i} where the model was not torn (margins {mp} / {md})");
                same += i;
            }
        }
        compared += x.len().max(y.len());
    }
    eprintln!("{same} of {compared} tokens identical; {accepted_total} of {drafted_total} drafted tokens accepted");
    // The record answers copy names and numbers: drafts must have been tried and taken.
    assert!(accepted_total > 40, "{accepted_total} of {drafted_total} drafted tokens accepted");
    // The cache holds exactly the conversation (no rejected draft left behind): the next
    // question reuses all of it in both sessions.
    let a = ask(&mut plain, "Thank you.", &greedy(8));
    let b = ask(&mut drafted, "Thank you.", &greedy(8));
    assert_eq!(b.prompt_tokens - b.reused_tokens, b.prefilled_tokens);
    assert!(b.prefilled_tokens <= a.prefilled_tokens + 2 && b.prefilled_tokens < 20, "{a:?}\n{b:?}");
}

#[test]
fn drafting_is_greedy_only_and_sampled_answers_still_work() {
    let m = LlmModel::load(&common::llm_path()).expect("model");
    let mut s = ChatSession::new(&m, &options(8, false)).expect("session");
    s.set_record(Some(RECORD));
    let sampled = SamplingParams { max_tokens: 48, ..SamplingParams::default() };
    let stats = ask(&mut s, "Explain my potassium result.", &sampled);
    assert_eq!(stats.drafted_tokens, 0, "sampling does not draft: {stats:?}");
    assert!(stats.generated_tokens > 0);
}

#[test]
fn decoding_ahead_after_an_answer_leaves_only_the_question() {
    let m = LlmModel::load(&common::llm_path()).expect("model");
    let mut ahead = ChatSession::new(&m, &options(0, true)).expect("session");
    let mut plain = ChatSession::new(&m, &options(0, false)).expect("session");
    let first = "What does a potassium test measure?";
    let second = "And what is a normal range for it?";
    for s in [&mut ahead, &mut plain] {
        s.keep_margins(true);
        s.prime(&CancelToken::new()).expect("prime");
        ask(s, first, &greedy(32));
    }
    // The same batches so far: the same first answer, exactly.
    assert_eq!(last_answer_ids(&ahead), last_answer_ids(&plain), "the first answers, read alike");
    let n = ahead.prefill_ahead(None, &CancelToken::new()).expect("ahead");
    assert_eq!(plain.prefill_ahead(None, &CancelToken::new()).expect("off"), 0, "off does nothing");
    // The end of the answer's template and the next user header.
    assert!((2..=12).contains(&n), "{n} tokens decoded ahead");
    let a = ask(&mut ahead, second, &greedy(32));
    let b = ask(&mut plain, second, &greedy(32));
    assert_eq!(a.prefilled_tokens + n, b.prefilled_tokens, "ahead {a:?}\nplain {b:?}");
    assert_eq!(a.prompt_tokens, b.prompt_tokens);
    // Read in two batches instead of one: the same answer up to a near tie.
    assert_same_up_to_near_tie("read ahead after an answer", &last_greedy(&ahead), &last_greedy(&plain));
    // Twice is a no-op.
    let again = ahead.prefill_ahead(None, &CancelToken::new()).expect("ahead");
    assert!(again > 0);
    assert_eq!(ahead.prefill_ahead(None, &CancelToken::new()).expect("ahead"), 0);
}

#[test]
fn words_heard_so_far_are_read_ahead_and_a_revision_rolls_back_cleanly() {
    let m = LlmModel::load(&common::llm_path()).expect("model");
    let question = "What does the high glucose result mean for me?";
    let mut reference = session(&m, &options(0, false));
    reference.prime(&CancelToken::new()).expect("prime");
    let expected = ask(&mut reference, question, &greedy(40));

    let mut s = session(&m, &options(0, true));
    s.prime(&CancelToken::new()).expect("prime");
    let primed = s.cached_tokens();
    // Partial transcripts as they arrive; the second revises a word of the first.
    let n1 = s.prefill_ahead(Some("What does a high glu"), &CancelToken::new()).expect("ahead");
    assert!(n1 >= 5, "{n1}");
    let n2 = s.prefill_ahead(Some("What does the high glucose"), &CancelToken::new()).expect("ahead");
    assert!(n2 > 0 && s.cached_tokens() < primed + n1 + n2, "rolled back before adding: {primed} {n1} {n2} {}", s.cached_tokens());
    let stats = ask(&mut s, question, &greedy(40));
    // The question was read in pieces, the reference's at once: up to a near tie.
    assert_same_up_to_near_tie("read ahead in pieces", &last_greedy(&s), &last_greedy(&reference));
    assert_eq!(stats.prompt_tokens, expected.prompt_tokens);
    assert!(stats.prefilled_tokens < expected.prefilled_tokens - 4, "only the last words were left: {stats:?} vs {expected:?}");

    // A question quite different from what was heard: the cache goes back to the header. The
    // reference holds the same conversation (this session's own first answer).
    let history = s.exact_history();
    s.prefill_ahead(Some("Is my potassium dangerous"), &CancelToken::new()).expect("ahead");
    let other = "Please summarise the record.";
    let got = ask(&mut s, other, &greedy(24));
    let mut reference2 = session(&m, &options(0, false));
    reference2.restore_exact(history);
    let plain = ask(&mut reference2, other, &greedy(24));
    assert_eq!(got.prompt_tokens, plain.prompt_tokens, "{got:?}\n{plain:?}");
    assert_same_up_to_near_tie("after a read-ahead that was not asked", &last_greedy(&s), &last_greedy(&reference2));
}

#[test]
fn a_question_read_ahead_during_a_pause_starts_its_answer_without_decoding() {
    let m = LlmModel::load(&common::llm_path()).expect("model");
    let question = "What does the high glucose result mean for me?";
    let other = "Is my potassium dangerous?";
    let heard = "What does the high";
    // Plain: no reading ahead, the question read at once after priming.
    let mut plain = session(&m, &options(0, false));
    plain.prime(&CancelToken::new()).expect("prime");
    assert_eq!(plain.prefill_question(question, &CancelToken::new()).expect("off"), 0, "off does nothing");
    let expected = ask(&mut plain, question, &greedy(40));
    // The same batches as below without the pause: the words heard so far, then the rest of
    // the question read when it is asked.
    let mut paced = session(&m, &options(0, true));
    paced.prime(&CancelToken::new()).expect("prime");
    paced.prefill_ahead(Some(heard), &CancelToken::new()).expect("ahead");
    ask(&mut paced, question, &greedy(40));

    let mut s = session(&m, &options(0, true));
    s.prime(&CancelToken::new()).expect("prime");
    s.prefill_ahead(Some(heard), &CancelToken::new()).expect("ahead");
    // The pause: the whole question, up to the opened answer, with its last token's logits.
    let n = s.prefill_question(question, &CancelToken::new()).expect("question ahead");
    assert!(n > 0);
    assert_eq!(s.prefill_question(question, &CancelToken::new()).expect("again"), 0, "read once");
    let stats = ask(&mut s, question, &greedy(40));
    assert_eq!(stats.prefilled_tokens, 0, "nothing left to decode: {stats:?}");
    assert_eq!(stats.prompt_tokens, expected.prompt_tokens);
    assert_eq!(last_answer_ids(&s), last_answer_ids(&paced), "the answer is the one read when asked, in the same batches");
    assert_same_up_to_near_tie("a question read at the pause", &last_greedy(&s), &last_greedy(&plain));

    // The person spoke on after the pause: a different question is asked. The cache goes back
    // to where they part, and the answer is the one without the pause (same conversation: the
    // first answers are equal, checked above), up to a near tie (the cache's end of the first
    // turn was read in another batch).
    s.prefill_question("What does my cholesterol mean?", &CancelToken::new()).expect("question ahead");
    let got = ask(&mut s, other, &greedy(24));
    assert!(got.prefilled_tokens > 0);
    let want = ask(&mut paced, other, &greedy(24));
    assert_eq!(got.prompt_tokens, want.prompt_tokens, "{got:?}\n{want:?}");
    assert_same_up_to_near_tie("after a question read at a pause and not asked", &last_greedy(&s), &last_greedy(&paced));

    // Cancelled before it starts (superseded): the cache is left alone.
    let before = s.cached_tokens();
    let cancel = CancelToken::new();
    cancel.cancel();
    assert_eq!(s.prefill_question("Anything else?", &cancel).expect("cancelled"), 0);
    assert_eq!(s.cached_tokens(), before);
}

#[test]
fn a_read_ahead_is_aborted_mid_decode_and_leaves_a_clean_cache() {
    let m = LlmModel::load(&common::llm_path()).expect("model");
    let question = "What does the high glucose result mean for me?";
    // One chunk of up to 1,024 tokens in micro-batches of 64: llama.cpp keeps the micro-batches
    // it finished when aborted; the session must remove them too.
    let chunked = SessionOptions { n_batch: 1024, n_ubatch: Some(64), ..options(0, true) };
    // The reference reads the same batches without the aborted read-ahead: primed, then asked.
    let mut reference = session(&m, &chunked);
    reference.prime(&CancelToken::new()).expect("prime");
    ask(&mut reference, question, &greedy(24));
    let expected_ids = last_answer_ids(&reference);

    let mut s = session(&m, &chunked);
    s.prime(&CancelToken::new()).expect("prime");
    let primed = s.cached_tokens();
    // A long dictation read ahead in one chunk (~800 tokens: seconds of decoding here),
    // cancelled 100 ms in: the decode stops inside the chunk, and none of it stays cached.
    let long = "I would like to go through every line of the report with you, one value at a time, ".repeat(40);
    let cancel = CancelToken::new();
    let canceller = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(100));
            cancel.cancel();
        })
    };
    let n = s.prefill_ahead(Some(&long), &cancel).expect("aborted, not failed");
    canceller.join().expect("canceller");
    assert_eq!(n, 0, "aborted inside its only chunk");
    assert_eq!(s.cached_tokens(), primed, "what the aborted chunk wrote was removed");
    ask(&mut s, question, &greedy(24));
    // Nothing of the aborted chunk is left to be attended to: the same answer, exactly.
    assert_eq!(last_answer_ids(&s), expected_ids, "the answer after an aborted read-ahead is the plain one");
}

#[test]
fn weights_used_as_mapped_without_repacking_answer_too() {
    let m = LlmModel::load_with(&common::llm_path(), false).expect("model");
    let mut s = ChatSession::new(&m, &options(8, true)).expect("session");
    s.set_record(Some(RECORD));
    let stats = ask(&mut s, "Which results are flagged high?", &greedy(48));
    let answer = &s.turns()[0].assistant;
    assert!(stats.generated_tokens > 8, "{stats:?}");
    assert!(answer.to_lowercase().contains("potassium") || answer.to_lowercase().contains("glucose") || answer.contains("LDL"), "{answer}");
}

#[test]
fn an_eight_bit_kv_cache_answers_and_a_state_of_the_other_type_is_refused() {
    let m = LlmModel::load(&common::llm_path()).expect("model");
    let q8 = SessionOptions { kv_q8: Some(true), ..options(0, true) };
    let mut s = ChatSession::new(&m, &q8).expect("session");
    s.set_record(Some(RECORD));
    let stats = ask(&mut s, "Which results are flagged high?", &greedy(48));
    let answer = s.turns()[0].assistant.to_lowercase();
    assert!(stats.generated_tokens > 8, "{stats:?}");
    assert!(["potassium", "glucose", "ldl", "a1c"].iter().any(|w| answer.contains(w)), "{answer}");
    // A conversation saved with an 8-bit cache does not load into a 16-bit one (llama.cpp
    // checks the layout): the conversation is then read again, never misread.
    let saved = s.save_state().expect("state");
    let mut f16 = ChatSession::new(&m, &SessionOptions { kv_q8: Some(false), ..options(0, true) }).expect("session");
    assert!(!f16.load_state(&saved), "a q8_0 state must not load into an f16 cache");
    assert_eq!(f16.cached_tokens(), 0);
    let mut again = ChatSession::new(&m, &q8).expect("session");
    assert!(again.load_state(&saved), "the same type loads");
    assert_eq!(again.cached_tokens(), saved.tokens.len());
}
