//! `murmur ask` and `murmur chat`.

use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use murmur_engine::controller::{Controller, LlmSpec};
use murmur_engine::llm::LlmWorker;
use murmur_engine::prompts;
use murmur_engine::{CancelToken, EngineError, ErrorCode, Sink};

use crate::args::{AskArgs, ChatArgs, Cli, ConversationArg};
use crate::{history, output, records};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

pub fn load_worker(cli: &Cli) -> Result<LlmWorker> {
    let path = cli.model_path()?;
    output::progress(&format!("loading {}", path.display()));
    let worker = LlmWorker::spawn(path, cli.session_options());
    output::clear_progress();
    Ok(worker?)
}

pub fn read_record(path: Option<&Path>) -> Result<Option<String>> {
    match path {
        None => Ok(None),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("cannot read record {}: {e}", p.display()))?;
            if text.trim().is_empty() {
                return Err(format!("record {} is empty", p.display()).into());
            }
            Ok(Some(text))
        }
    }
}

/// Ctrl-C stops the answer in progress; at the prompt it quits.
fn install_ctrl_c() -> Arc<Mutex<Option<CancelToken>>> {
    let current: Arc<Mutex<Option<CancelToken>>> = Arc::new(Mutex::new(None));
    let handler_current = current.clone();
    let _ = ctrlc::set_handler(move || {
        let active = handler_current.lock().ok().and_then(|mut c| c.take());
        match active {
            Some(token) => token.cancel(),
            None => std::process::exit(130),
        }
    });
    current
}

pub fn ask(cli: &Cli, args: &AskArgs) -> Result<()> {
    let record = read_record(args.record.record.as_deref())?;
    let question = match (args.task, args.question.as_deref()) {
        (Some(task), extra) => {
            if record.is_none() {
                return Err(format!("--task {} needs --record FILE", task.name()).into());
            }
            prompts::task_message(task, extra)
        }
        (None, Some(q)) if !q.trim().is_empty() => q.to_string(),
        _ => return Err("nothing to ask: give a question, or --task with --record".into()),
    };
    let mut options = cli.session_options();
    options.record_table = !args.no_record_table;
    output::progress("loading the model");
    let worker = LlmWorker::spawn(cli.model_path()?, options);
    output::clear_progress();
    let worker = worker?;
    let parsed = record.as_deref().map(murmur_engine::records::parse);
    let red_flags = parsed.as_ref().and_then(murmur_engine::records::red_flags);
    if let (Some(flags), false) = (&red_flags, args.json) {
        records::print_red_flags(flags);
    }
    worker.set_record(record.clone())?;
    let current = install_ctrl_c();
    let cancel = CancelToken::new();
    if let Ok(mut c) = current.lock() {
        *c = Some(cancel.clone());
    }
    let events = worker.ask(question.clone(), cli.sampling(), cancel)?;
    let (answer, stats) = if args.json { output::collect_answer(events)? } else { output::stream_answer_text(events, cli.stats)? };
    let check = (args.check || args.json).then(|| {
        let empty = murmur_engine::records::ParsedRecord::default();
        murmur_engine::records::check_answer(&answer, parsed.as_ref().unwrap_or(&empty), record.as_deref().unwrap_or(""), &[question.as_str()])
    });
    if args.json {
        let reduced = worker.client().snapshot().map(|s| s.record_reduced).unwrap_or(false);
        let out = serde_json::json!({
            "question": question,
            "answer": answer,
            "stats": stats,
            "record": parsed,
            "record_reduced": reduced,
            "record_table": !args.no_record_table,
            "red_flags": red_flags,
            "check": check,
        });
        println!("{out}");
    } else if let Some(check) = &check {
        records::print_check(check);
    }
    Ok(())
}

/// `murmur chat`: the conversation controller the app uses, at a terminal. With
/// `--conversation` it is saved (and its cache written when the chat ends).
pub fn interactive(cli: &Cli, args: &ChatArgs) -> Result<()> {
    let record = read_record(args.record.record.as_deref())?;
    let path = cli.model_path()?;
    let model = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let history = match args.conversation {
        None => Err(EngineError::new(ErrorCode::InvalidInput, "this chat is not saved (use --conversation)")),
        Some(_) => Ok(Arc::new(history::open(cli)?)),
    };
    let chat = Controller::new(history, |_| {});
    output::progress(&format!("loading {}", path.display()));
    let loaded = chat.load_llm(LlmSpec { id: model, path, options: cli.session_options() });
    output::clear_progress();
    loaded?;
    match args.conversation {
        None => {}
        Some(ConversationArg::New) => eprintln!("[new conversation: saved in {} with its first question]", cli.data_dir().display()),
        Some(ConversationArg::Id(id)) => {
            let resumed = chat.open(id)?;
            let c = &resumed.conversation;
            let cache = if resumed.cache_restored {
                format!("saved cache of {} tokens loaded in {:.0} ms", resumed.cached_tokens, resumed.load_ms)
            } else if c.messages.is_empty() {
                "empty".to_string()
            } else {
                "no usable saved cache: the next question reads the conversation again".to_string()
            };
            eprintln!("[conversation {id}: \"{}\", {} messages; {cache}]", c.summary.title, c.messages.len());
        }
    }
    if let Some(text) = &record {
        let info = chat.attach_record(text)?;
        // Red flags come before any answer, in fixed words.
        if let Some(flags) = &info.red_flags {
            records::print_red_flags(flags);
        }
    }
    let stopper = chat.clone();
    // Ctrl-C stops the answer in progress; at the prompt it quits.
    let _ = ctrlc::set_handler(move || {
        if stopper.answering() {
            stopper.stop();
        } else {
            std::process::exit(130);
        }
    });
    eprintln!(
        "Murmur chat{}. Ask about your health records; /new starts over, /quit leaves. Ctrl-C stops an answer.",
        if record.is_some() { " (record attached)" } else { "" }
    );
    let stdin = std::io::stdin();
    let mut line = String::new();
    let result = loop {
        eprint!("> ");
        std::io::stderr().flush()?;
        line.clear();
        if stdin.lock().read_line(&mut line)? == 0 {
            break Ok(());
        }
        let text = line.trim();
        match text {
            "" => continue,
            "/quit" | "/exit" => break Ok(()),
            "/new" => {
                chat.new_conversation()?;
                eprintln!("[new conversation]");
                continue;
            }
            "/help" => {
                eprintln!("/new: start a new conversation; /quit: leave");
                continue;
            }
            _ => {}
        }
        let (sink, events) = Sink::channel();
        let result = chat.ask(text, cli.sampling(), sink).map_err(|e| -> Box<dyn std::error::Error> { e.into() }).and_then(|()| output::stream_answer(events, cli.stats));
        if let Err(e) = result {
            // A too-long message or a failed answer does not end the chat.
            eprintln!("murmur: {e}");
        }
    };
    // The conversation's cache is saved as the chat ends.
    chat.suspend();
    result
}
