//! `murmur transcribe`, `murmur voice`, `murmur listen` and `murmur devices`.

use std::io::{IsTerminal, Write};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use murmur_engine::asr::file::transcribe_file;
use murmur_engine::asr::{listen as start_listening, AsrWorker, AudioInput, ListenOptions, PacedWav, TranscribeOptions, Transcriber, VoiceEvent};
use murmur_engine::audio::{capture, wav};
use murmur_engine::voice::{voice_turn, voice_turn_recorded, VoiceTurnEvent, VoiceTurnOptions};
use murmur_engine::{CancelToken, Sink};

use crate::args::{Cli, ListenArgs, TranscribeArgs, VoiceArgs};
use crate::{chat, output};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The engine's defaults for health questions (vocabulary hint included), on `--threads`.
pub fn options(cli: &Cli, beam: Option<usize>) -> TranscribeOptions {
    TranscribeOptions { beam_size: beam, threads: Some(cli.thread_count()), ..TranscribeOptions::default() }
}

fn load_transcriber(cli: &Cli) -> Result<Transcriber> {
    let path = cli.whisper_path()?;
    output::progress(&format!("loading {}", path.display()));
    let t = Transcriber::load(&path);
    output::clear_progress();
    Ok(t?)
}

pub fn transcribe(cli: &Cli, args: &TranscribeArgs) -> Result<()> {
    let mut transcriber = load_transcriber(cli)?;
    let mut opts = TranscribeOptions { timestamps: args.timestamps, audio_ctx: args.audio_ctx, ..options(cli, args.beam) };
    if args.no_vocabulary_hint {
        opts.initial_prompt = None;
    }
    let mut stdout = std::io::stdout().lock();
    let t = transcribe_file(&mut transcriber, &args.wav, &opts, |_| {})?;
    if cli.stats {
        eprintln!("[stats] audio {:.0} ms, transcribed in {:.0} ms (RTF {:.3})", t.audio_ms, t.elapsed_ms, t.elapsed_ms / t.audio_ms.max(1.0));
    }
    if t.no_speech {
        return Err(format!("no speech found in {}", args.wav.display()).into());
    }
    if args.timestamps {
        for s in &t.segments {
            writeln!(stdout, "[{:>8.2} → {:>8.2}] {}", s.start_ms as f64 / 1000.0, s.end_ms as f64 / 1000.0, s.text)?;
        }
    } else {
        writeln!(stdout, "{}", t.text)?;
    }
    Ok(())
}

pub fn voice(cli: &Cli, args: &VoiceArgs) -> Result<()> {
    let pcm = wav::read_for_whisper(&args.wav)?;
    let record = chat::read_record(args.record.record.as_deref())?;
    let asr = AsrWorker::spawn(cli.whisper_path()?)?;
    let worker = chat::load_worker(cli)?;
    worker.set_record(record)?;
    // The engine's voice turn on a recording: prime, transcribe, answer.
    let (sink, events) = Sink::channel();
    voice_turn_recorded(&worker.client(), &asr.client(), pcm, options(cli, None), cli.sampling(), CancelToken::new(), sink);
    answer_turn(events, cli.stats, |event| match event {
        VoiceTurnEvent::Heard { transcript, final_ms, .. } => {
            eprintln!("you said: {}", transcript.text);
            if cli.stats {
                eprintln!("[stats] transcribed {:.0} ms of audio in {final_ms:.0} ms", transcript.audio_ms);
            }
            Ok(())
        }
        VoiceTurnEvent::NoSpeech => Err(format!("no speech found in {}", args.wav.display()).into()),
        _ => Ok(()),
    })
}

/// Follows a voice turn to its end: `other` sees every event before the answer (and may end
/// the turn with an error); the answer then streams to stdout as its tokens arrive.
fn answer_turn(events: Receiver<VoiceTurnEvent>, stats: bool, mut other: impl FnMut(VoiceTurnEvent) -> Result<()>) -> Result<()> {
    let mut first = None;
    for event in events.iter() {
        match event {
            VoiceTurnEvent::Answer(e) => {
                first = Some(e);
                break;
            }
            VoiceTurnEvent::Error(e) => return Err(Box::new(e)),
            event => other(event)?,
        }
    }
    let Some(first) = first else { return Err("the voice turn ended without an answer".into()) };
    let (answer_tx, answer_rx) = std::sync::mpsc::channel();
    let _ = answer_tx.send(first);
    std::thread::spawn(move || {
        for event in events {
            if let VoiceTurnEvent::Answer(e) = event {
                if answer_tx.send(e).is_err() {
                    break;
                }
            }
        }
    });
    output::stream_answer(answer_rx, stats)?;
    Ok(())
}

pub fn devices() -> Result<()> {
    let devices = capture::input_devices()?;
    if devices.is_empty() {
        return Err("no input devices found".into());
    }
    for d in devices {
        println!("{}{} ({} Hz, {} ch, {})", if d.is_default { "* " } else { "  " }, d.name, d.sample_rate, d.channels, d.sample_format);
    }
    Ok(())
}

pub fn listen(cli: &Cli, args: &ListenArgs) -> Result<()> {
    let record = chat::read_record(args.record.record.as_deref())?;
    let asr = AsrWorker::spawn(cli.whisper_path()?)?;
    let llm = if args.answer {
        let w = chat::load_worker(cli)?;
        w.set_record(record)?;
        Some(w)
    } else {
        None
    };
    let input: Box<dyn AudioInput> = match &args.file {
        Some(path) => Box::new(PacedWav::open(path, Duration::from_secs_f64(args.auto_stop.max(0.0) + 0.5))?),
        None => Box::new(capture::Capture::start(args.device.as_deref())?),
    };
    let opts = ListenOptions {
        auto_stop_silence: (args.auto_stop > 0.0).then(|| Duration::from_secs_f64(args.auto_stop)),
        max_duration: Duration::from_secs_f64(args.max_secs.max(1.0)),
        partial_interval: (!args.no_partials).then(|| Duration::from_millis(800)),
        transcribe: options(cli, None),
        save_recording: args.save.clone(),
        ..ListenOptions::default()
    };
    let mut view = ListenView { tty: std::io::stderr().is_terminal(), stats: cli.stats };
    let Some(llm) = llm else {
        // Listening only: the final transcript goes to stdout.
        let (sink, events) = Sink::channel();
        let session = start_listening(input, asr.client(), opts, sink)?;
        enter_stops(args.file.is_none(), {
            let h = session.handle();
            move || h.stop()
        });
        for event in events {
            if let Some(t) = view.show(event)? {
                if t.no_speech {
                    return Err("no speech heard".into());
                }
                println!("{}", t.text);
            }
        }
        return Ok(());
    };

    // Listening, then the answer: the engine's voice turn (the model reads its instructions
    // while you speak).
    let (sink, events) = Sink::channel();
    let turn = voice_turn(llm.client(), asr.client(), input, VoiceTurnOptions { listen: opts, sampling: cli.sampling(), prime: true, prefill_partial: !cli.no_prefill_ahead, answer: true, ask: None }, sink)?;
    enter_stops(args.file.is_none(), {
        let h = turn.handle();
        move || h.stop()
    });
    answer_turn(events, cli.stats, |event| {
        match event {
            VoiceTurnEvent::Listening(e) => {
                view.show(e)?;
            }
            VoiceTurnEvent::Heard { transcript, final_ms, .. } => {
                view.clear();
                if cli.stats {
                    eprintln!("[stats] {:.0} ms of audio; final transcript {final_ms:.0} ms after the stop", transcript.audio_ms);
                }
                println!("{}", transcript.text);
            }
            VoiceTurnEvent::NoSpeech => return Err("no speech heard".into()),
            _ => {}
        }
        Ok(())
    })?;
    drop(turn);
    Ok(())
}

/// Enter stops recording (push-to-talk released), when the microphone is the input.
fn enter_stops(mic: bool, stop: impl FnOnce() + Send + 'static) {
    if mic && std::io::stdin().is_terminal() {
        eprintln!("Listening… speak, then press Enter (or pause) to stop.");
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
            stop();
        });
    }
}

/// Shows listening progress on stderr.
struct ListenView {
    tty: bool,
    stats: bool,
}

impl ListenView {
    fn clear(&self) {
        if self.tty {
            eprint!("\r\x1b[K");
        }
    }

    /// Shows one event; returns the final transcript when it comes.
    fn show(&mut self, event: VoiceEvent) -> Result<Option<murmur_engine::asr::Transcript>> {
        match event {
            VoiceEvent::Started { device, sample_rate, channels } => {
                tracing::info!(%device, sample_rate, channels, "recording");
                eprintln!("[recording from {device}: {sample_rate} Hz, {channels} ch]");
            }
            VoiceEvent::Level(_) | VoiceEvent::Transcribing | VoiceEvent::Paused { .. } => {}
            VoiceEvent::SpeechStarted => eprintln!("[speech]"),
            VoiceEvent::Partial { stable, tail } => {
                if self.tty {
                    eprint!("\r\x1b[K… {stable} {tail}");
                } else {
                    eprintln!("partial: {stable} | {tail}");
                }
            }
            VoiceEvent::Final { transcript, final_ms } => {
                self.clear();
                if self.stats {
                    eprintln!("[stats] {:.0} ms of audio; final transcript {final_ms:.0} ms after the stop", transcript.audio_ms);
                }
                return Ok(Some(transcript));
            }
            VoiceEvent::Error(e) => return Err(Box::new(e)),
        }
        Ok(None)
    }
}
