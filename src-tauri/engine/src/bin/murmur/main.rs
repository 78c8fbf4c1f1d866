//! `murmur`: the headless CLI over the engine (desktop testing, benchmarks, scripting).
//! Answer tokens go to stdout as they arrive; progress, stats and errors go to stderr.

mod args;
mod bench;
mod bench_history;
mod bench_trim;
mod chat;
mod history;
mod models;
mod output;
mod records;
mod voice;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result = match &cli.command {
        Command::Ask(a) => chat::ask(&cli, a),
        Command::Chat(a) => chat::interactive(&cli, a),
        Command::Transcribe(a) => voice::transcribe(&cli, a),
        Command::Voice(a) => voice::voice(&cli, a),
        Command::Listen(a) => voice::listen(&cli, a),
        Command::Devices => voice::devices(),
        Command::BenchVoice(a) => bench::voice(&cli, a),
        Command::BenchLlm(a) => bench::llm(&cli, a),
        Command::BenchHistory(a) => bench_history::run(&cli, a),
        Command::BenchTrim(a) => bench_trim::run(&cli, a),
        Command::BenchMemory => bench::memory(&cli),
        Command::History(c) => history::run(&cli, c),
        Command::Record(c) => records::run(c),
        Command::Models(c) => models::run(&cli, c),
        Command::Info => {
            output::info();
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            output::clear_progress();
            eprintln!("murmur: error: {e}");
            let mut source = std::error::Error::source(e.as_ref());
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr; `MURMUR_LOG` (an env-filter) overrides. Prompts, transcripts and
/// answers are never logged.
fn init_logging(verbose: u8) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    // llama.cpp and whisper.cpp warn about model quirks the user cannot act on; show their
    // errors only unless asked.
    let default = match verbose {
        0 => "warn,llama-cpp-2=error,llama_cpp_2=error,whisper_rs=off",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("MURMUR_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
