//! `murmur bench-trim`: a conversation filled to just below the context, then follow-ups until
//! the oldest turns are dropped. Reports the time to first token of the follow-up that trims
//! (the cache is shifted over the dropped turns) against the normal follow-ups before and
//! after it, and the same question with the conversation read again in full (what a trim
//! cost before the shift).

use std::time::Instant;

use murmur_engine::llm::{ChatSession, LlmModel, SamplingParams, Turn, TurnStats};
use murmur_engine::CancelToken;

use crate::args::{BenchTrimArgs, Cli};
use crate::output;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const INSTRUCTIONS: &str = "You are a helpful health assistant. Answer in one short sentence.";

const QUESTIONS: &[&str] = &[
    "What does an LDL cholesterol test measure?",
    "What does HbA1c measure?",
    "What does ferritin tell about iron stores?",
    "What does TSH measure?",
    "What is a normal resting heart rate for adults?",
    "What does a high CRP usually suggest?",
    "What does HDL cholesterol do?",
    "What are triglycerides?",
];

/// A past exchange of about 70 tokens.
fn filler(i: usize) -> Turn {
    Turn {
        user: format!("Question {i}: in a few words, what is a healthy habit for the morning, and why does it help people feel better during the day?"),
        assistant: format!("Habit {i}: drinking a glass of water after waking up helps, because the body loses water overnight and a little water restores energy and focus."),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn ask(s: &mut ChatSession<'_>, q: &str, sampling: &SamplingParams) -> Result<TurnStats> {
    Ok(s.send(q, sampling, &CancelToken::new(), &mut |_| {})?)
}

pub fn run(cli: &Cli, args: &BenchTrimArgs) -> Result<()> {
    let options = cli.session_options();
    let model = LlmModel::load_with(&cli.model_path()?, options.repack())?;
    // The app's answer length: the room kept for the answer decides when the context is full.
    let sampling = SamplingParams::greedy();
    let (mut normal, mut trimmed, mut after, mut reread) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut dropped, mut trim_prefilled, mut history) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..args.runs.max(1) {
        output::progress(&format!("run {}/{}: filling the context", run + 1, args.runs));
        let mut s = ChatSession::new(&model, &options)?;
        s.set_system_prompt(Some(INSTRUCTIONS));
        let n_ctx = s.n_ctx() as usize;
        let reserve = sampling.max_tokens.clamp(1, n_ctx / 4);
        // Just below the point where the context is full: a few follow-ups fill it.
        let mut turns = Vec::new();
        while s.prompt_len(QUESTIONS[0])? + reserve + 150 < n_ctx {
            turns.push(filler(turns.len()));
            s.restore_history(turns.clone());
        }
        // Read the conversation once (not timed).
        ask(&mut s, "Say hello.", &sampling)?;
        let mut trim = None;
        for q in QUESTIONS {
            let stats = ask(&mut s, q, &sampling)?;
            let ttft = stats.ttft_ms.unwrap_or(f64::NAN);
            if stats.dropped_turns > 0 {
                trim = Some(stats);
                trimmed.push(ttft);
                break;
            }
            normal.push(ttft);
        }
        let Some(trim) = trim else { return Err("the conversation never filled the context: raise --ctx or add questions".into()) };
        dropped.push(trim.dropped_turns as f64);
        trim_prefilled.push(trim.prefilled_tokens as f64);
        history.push(trim.prompt_tokens as f64);
        // A normal follow-up right after the trim.
        let stats = ask(&mut s, "What does a lipid panel include?", &sampling)?;
        after.push(stats.ttft_ms.unwrap_or(f64::NAN));
        s.retract_last();
        // The same question with the conversation read again in full (the cost of a trim
        // before the shift: the cache was reused only up to the system prompt).
        s.reset_cache();
        let start = Instant::now();
        let stats = ask(&mut s, "What does a lipid panel include?", &sampling)?;
        reread.push(stats.ttft_ms.unwrap_or_else(|| start.elapsed().as_secs_f64() * 1000.0));
    }
    output::clear_progress();
    let base = median(normal.iter().chain(&after).copied().collect());
    let trim_ms = median(trimmed.clone());
    println!("model: {}", cli.model_path()?.display());
    println!("context: {} tokens, runs: {}", options.n_ctx, args.runs);
    println!("| follow-up | TTFT (ms, median) | ÷ normal |");
    println!("|---|---|---|");
    println!("| normal (before and after the trim, {} samples) | {base:.0} | 1.00× |", normal.len() + after.len());
    println!("| right after the trim ({:.0} turns dropped, {:.0} tokens read, {:.0}-token prompt) | {trim_ms:.0} | {:.2}× |", median(dropped), median(trim_prefilled), median(history), trim_ms / base);
    let reread_ms = median(reread);
    println!("| conversation read again in full (before: a trim re-read it) | {reread_ms:.0} | {:.2}× |", reread_ms / base);
    Ok(())
}
