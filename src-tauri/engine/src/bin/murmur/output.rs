//! Terminal output: the streamed answer on stdout, everything else on stderr.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use murmur_engine::llm::{ChatEvent, FinishReason, TurnStats};

static SPINNER: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// A spinner on stderr while something loads (hidden when stderr is not a terminal).
pub fn progress(message: &str) {
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}").unwrap_or_else(|_| ProgressStyle::default_spinner()));
    bar.set_message(message.to_string());
    bar.enable_steady_tick(Duration::from_millis(100));
    if let Ok(mut s) = SPINNER.lock() {
        if let Some(old) = s.replace(bar) {
            old.finish_and_clear();
        }
    }
}

pub fn clear_progress() {
    if let Ok(mut s) = SPINNER.lock() {
        if let Some(bar) = s.take() {
            bar.finish_and_clear();
        }
    }
}

/// Prints an answer as it streams; returns its stats.
pub fn stream_answer(events: std::sync::mpsc::Receiver<ChatEvent>, show_stats: bool) -> Result<TurnStats, Box<dyn std::error::Error>> {
    stream_answer_text(events, show_stats).map(|(_, stats)| stats)
}

/// Collects an answer without printing it; returns its text and stats.
pub fn collect_answer(events: std::sync::mpsc::Receiver<ChatEvent>) -> Result<(String, TurnStats), Box<dyn std::error::Error>> {
    let mut text = String::new();
    for event in events {
        match event {
            ChatEvent::Trimmed { .. } => {}
            ChatEvent::Token(t) => text.push_str(&t),
            ChatEvent::Done(stats) => return Ok((text, stats)),
            ChatEvent::Error(e) => return Err(Box::new(e)),
        }
    }
    Err("the model stopped without finishing the answer".into())
}

/// Prints an answer as it streams; returns its text and stats.
pub fn stream_answer_text(events: std::sync::mpsc::Receiver<ChatEvent>, show_stats: bool) -> Result<(String, TurnStats), Box<dyn std::error::Error>> {
    let mut text = String::new();
    let mut out = std::io::stdout().lock();
    let mut ended_with_newline = true;
    for event in events {
        match event {
            ChatEvent::Trimmed { dropped_turns } => {
                eprintln!("[context full: dropped the {dropped_turns} oldest turn(s)]");
            }
            ChatEvent::Token(t) => {
                text.push_str(&t);
                out.write_all(t.as_bytes())?;
                out.flush()?;
                ended_with_newline = t.ends_with('\n');
            }
            ChatEvent::Done(stats) => {
                if !ended_with_newline {
                    writeln!(out)?;
                }
                out.flush()?;
                if stats.finish == FinishReason::Cancelled {
                    eprintln!("[answer stopped]");
                } else if stats.finish == FinishReason::MaxTokens {
                    eprintln!("[answer cut at --max-tokens]");
                } else if stats.finish == FinishReason::ContextFull {
                    eprintln!("[answer cut: context full]");
                }
                if show_stats {
                    print_stats(&stats);
                }
                return Ok((text, stats));
            }
            ChatEvent::Error(e) => return Err(Box::new(e)),
        }
    }
    // Unreachable: every answer stream ends with Done or Error (the engine's Sink).
    Err("the model stopped without finishing the answer".into())
}

pub fn print_stats(s: &TurnStats) {
    let ttft = s.ttft_ms.map_or("-".to_string(), |v| format!("{v:.0} ms"));
    eprintln!(
        "[stats] prompt {} tok (reused {}, prefilled {}), generated {} tok, dropped turns {} | \
         ttft {ttft} | prefill {:.1} tok/s | decode {:.1} tok/s | {:?}",
        s.prompt_tokens, s.reused_tokens, s.prefilled_tokens, s.generated_tokens, s.dropped_turns, s.prefill_tok_s, s.decode_tok_s, s.finish
    );
    // One machine-readable line too, for scripts and benchmarks.
    if let Ok(json) = serde_json::to_string(s) {
        eprintln!("[stats-json] {json}");
    }
}

pub fn info() {
    println!("murmur {}", env!("CARGO_PKG_VERSION"));
    println!("ggml (llama.cpp side): {}", murmur_engine::ggml::llama_ggml_version());
    println!("ggml (whisper.cpp side): {}", murmur_engine::ggml::whisper_ggml_version());
    let ((ops_l, ops_w), (types_l, types_w)) = murmur_engine::ggml::enum_counts();
    println!("GGML_OP_COUNT: llama {ops_l}, whisper {ops_w}; GGML_TYPE_COUNT: llama {types_l}, whisper {types_w}");
    println!("default threads: {}", murmur_engine::platform::default_threads());
    println!("system: {}", murmur_engine::ggml::system_info());
}
