//! `murmur bench-history`: a saved conversation grown by real generation, then the follow-up
//! question's time to first token in the session, after a restart with its saved KV cache,
//! and after a restart without it; with the save and load times and the cache file's size.

use std::sync::Arc;
use std::time::Instant;

use murmur_engine::llm::{ChatEvent, LlmWorker, SamplingParams, TurnStats};
use murmur_engine::store::{Conversations, ModelKey};
use murmur_engine::{CancelToken, Sink};

use crate::args::{BenchHistoryArgs, Cli};
use crate::output;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const QUESTIONS: &[&str] = &[
    "My lipid panel shows total cholesterol 241 mg/dL, LDL 160 mg/dL and HDL 42 mg/dL. Can you explain what each of these measures?",
    "What lifestyle factors usually affect LDL cholesterol?",
    "What is the difference between HDL and LDL in how they move cholesterol?",
    "My HbA1c was 5.9%. What does HbA1c measure and over what period?",
    "How do doctors usually follow up an HbA1c in that range?",
    "My ferritin was 12 ng/mL. What does ferritin tell about iron stores?",
    "What other tests are often looked at together with ferritin?",
    "My TSH was 5.2 mIU/L. What does TSH measure?",
    "Why might a doctor repeat a thyroid test before deciding anything?",
    "Can you summarise everything we discussed so far in a few short points?",
    "Which of these topics should I raise first at my next appointment?",
    "How should I prepare for a blood test in general?",
];

const FOLLOW_UP: &str = "What should I ask my doctor about all of this?";

fn worker(cli: &Cli) -> Result<(LlmWorker, f64)> {
    let start = Instant::now();
    let w = LlmWorker::spawn(cli.model_path()?, cli.session_options())?;
    Ok((w, ms(start)))
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The answer's stats (its text is not needed).
fn finish(rx: std::sync::mpsc::Receiver<ChatEvent>) -> Result<TurnStats> {
    for e in rx {
        match e {
            ChatEvent::Done(s) => return Ok(s),
            ChatEvent::Error(e) => return Err(Box::new(e)),
            _ => {}
        }
    }
    Err("the answer ended without a result".into())
}

/// The follow-up, not saved: its time to first token and what it reused.
fn follow_up(w: &LlmWorker) -> Result<TurnStats> {
    let stats = finish(w.ask(FOLLOW_UP, SamplingParams { max_tokens: 4, ..SamplingParams::greedy() }, CancelToken::new())?)?;
    w.retract_last()?;
    Ok(stats)
}

pub fn run(cli: &Cli, args: &BenchHistoryArgs) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("murmur-bench-history-{}", std::process::id()));
    let result = measure(cli, args, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn measure(cli: &Cli, args: &BenchHistoryArgs, dir: &std::path::Path) -> Result<()> {
    let runs = args.runs.max(1);
    let store = Arc::new(Conversations::open(dir, u64::MAX)?);
    let (w, load_model_ms) = worker(cli)?;
    let key = ModelKey { fingerprint: *w.fingerprint(), n_ctx: w.n_ctx() };
    let id = store.db.create(None, Some("bench"))?;

    // Grow the conversation by real generation (greedy, so runs are comparable).
    let sampling = SamplingParams { max_tokens: args.answer_tokens, ..SamplingParams::greedy() };
    let mut generated = 0;
    let mut along: Vec<usize> = args.along.iter().copied().filter(|&t| t < args.target).collect();
    along.sort_unstable();
    let mut rows = Vec::new();
    for (i, q) in QUESTIONS.iter().cycle().enumerate() {
        let (sink, rx) = Sink::channel();
        let saving = store.ask(&w.client(), id, q, sampling.clone(), CancelToken::new(), sink)?;
        let stats = finish(rx)?;
        saving.wait();
        generated += stats.generated_tokens;
        let cached = w.snapshot()?.cached_tokens;
        output::progress(&format!("turn {}: {cached} tokens in the conversation", i + 1));
        if cached >= args.target {
            break;
        }
        // A length on the way: the follow-up in the session (runs, the same state loaded
        // again between them), then read again from an empty cache (one run).
        if along.first().is_some_and(|&t| cached >= t) {
            along.remove(0);
            let state = w.save_state()?.ok_or("empty cache")?;
            let mut reused = Vec::new();
            for _ in 0..runs {
                reused.push(follow_up(&w)?);
                w.load_state(state.clone())?;
            }
            w.reset_cache()?;
            let reread = follow_up(&w)?;
            w.load_state(state)?;
            rows.push((cached, reused, reread));
        }
    }
    output::clear_progress();
    let history_tokens = w.snapshot()?.cached_tokens;
    let turns = w.turns()?.len();

    // In the session: the first follow-up right after the last answer; further runs load the
    // same state again (the same bytes as the session's cache).
    let state_copy_start = Instant::now();
    let state = w.save_state()?.ok_or("empty cache")?;
    let copy_ms = ms(state_copy_start);
    let mut in_session = vec![follow_up(&w)?];
    for _ in 1..runs {
        w.load_state(state.clone())?;
        in_session.push(follow_up(&w)?);
    }
    let write_start = Instant::now();
    let file_bytes = store.kv.save(id, &state)?;
    let write_ms = ms(write_start);
    drop(w);

    // After a restart, with the saved cache: a new worker, the conversation reopened.
    let mut restored = Vec::new();
    let mut load_ms = Vec::new();
    for _ in 0..runs {
        let (w, _) = worker(cli)?;
        let resumed = store.resume(&w.client(), &key, id)?;
        if !resumed.cache_restored {
            return Err("the saved cache was not restored".into());
        }
        load_ms.push(resumed.load_ms);
        restored.push(follow_up(&w)?);
    }

    // After a restart, without it: the conversation is read again.
    store.kv.remove(id)?;
    let mut cold = Vec::new();
    for _ in 0..runs {
        let (w, _) = worker(cli)?;
        store.resume(&w.client(), &key, id)?;
        cold.push(follow_up(&w)?);
    }

    let ttft = |v: &[TurnStats]| median(v.iter().map(|s| s.ttft_ms.unwrap_or(f64::NAN)).collect());
    let prefilled = |v: &[TurnStats]| v.first().map_or(0, |s| s.prefilled_tokens);
    let model = cli.model_path()?.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    println!("conversation: {history_tokens} tokens, {turns} turns, {generated} generated ({model}, n_ctx {}, {runs} runs, medians)", key.n_ctx);
    if !rows.is_empty() {
        println!("| history tokens | in the session (ms) | read again (ms) | speed-up |");
        println!("|---:|---:|---:|---:|");
        for (n, reused, reread) in &rows {
            let (a, b) = (ttft(reused), reread.ttft_ms.unwrap_or(f64::NAN));
            println!("| {n} | {a:.0} | {b:.0} | {:.1}× |", b / a);
        }
    }
    println!("| follow-up | TTFT (ms) | tokens read |");
    println!("|---|---:|---:|");
    println!("| in the session | {:.0} | {} |", ttft(&in_session), prefilled(&in_session));
    println!("| after a restart, saved cache restored | {:.0} | {} |", ttft(&restored), prefilled(&restored));
    println!("| after a restart, no saved cache | {:.0} | {} |", ttft(&cold), prefilled(&cold));
    println!(
        "save: state copy {copy_ms:.0} ms (model thread) + file write {write_ms:.0} ms (saving thread), file {:.1} MB; load (read, check, restore) {:.0} ms; model load {load_model_ms:.0} ms",
        file_bytes as f64 / 1e6,
        median(load_ms.clone())
    );
    let json = serde_json::json!({
        "model": model, "n_ctx": key.n_ctx, "history_tokens": history_tokens, "turns": turns, "runs": runs,
        "ttft_ms": { "in_session": in_session.iter().map(|s| s.ttft_ms).collect::<Vec<_>>(),
                     "restored": restored.iter().map(|s| s.ttft_ms).collect::<Vec<_>>(),
                     "cold": cold.iter().map(|s| s.ttft_ms).collect::<Vec<_>>() },
        "prefilled": { "in_session": prefilled(&in_session), "restored": prefilled(&restored), "cold": prefilled(&cold) },
        "along": rows.iter().map(|(n, reused, reread)| serde_json::json!({ "history_tokens": n, "in_session_ttft_ms": reused.iter().map(|s| s.ttft_ms).collect::<Vec<_>>(), "reread_ttft_ms": reread.ttft_ms })).collect::<Vec<_>>(),
        "save_copy_ms": copy_ms, "save_write_ms": write_ms, "file_bytes": file_bytes, "load_ms": load_ms, "model_load_ms": load_model_ms,
    });
    println!("{json}");
    Ok(())
}
