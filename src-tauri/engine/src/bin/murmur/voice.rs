//! `murmur transcribe` and `murmur voice`.

use murmur_engine::asr::{TranscribeOptions, Transcriber, MEDICAL_VOCABULARY_HINT};
use murmur_engine::audio::wav;
use murmur_engine::CancelToken;

use crate::args::{Cli, TranscribeArgs, VoiceArgs};
use crate::{chat, output};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn options(cli: &Cli, beam: Option<usize>) -> TranscribeOptions {
    TranscribeOptions {
        beam_size: beam,
        threads: cli.threads,
        initial_prompt: Some(MEDICAL_VOCABULARY_HINT.to_string()),
        ..TranscribeOptions::default()
    }
}

fn load_transcriber(cli: &Cli) -> Result<Transcriber> {
    let path = cli.whisper_path()?;
    output::progress(&format!("loading {}", path.display()));
    let t = Transcriber::load(&path);
    output::clear_progress();
    Ok(t?)
}

pub fn transcribe(cli: &Cli, args: &TranscribeArgs) -> Result<()> {
    let pcm = wav::read_for_whisper(&args.wav)?;
    let mut transcriber = load_transcriber(cli)?;
    let t = transcriber.transcribe(&pcm, &options(cli, args.beam))?;
    if cli.stats {
        eprintln!("[stats] audio {:.0} ms, transcribed in {:.0} ms (RTF {:.3})", t.audio_ms, t.elapsed_ms, t.elapsed_ms / t.audio_ms.max(1.0));
    }
    if t.no_speech {
        return Err(format!("no speech found in {}", args.wav.display()).into());
    }
    println!("{}", t.text);
    Ok(())
}

pub fn voice(cli: &Cli, args: &VoiceArgs) -> Result<()> {
    let pcm = wav::read_for_whisper(&args.wav)?;
    let record = chat::read_record(args.record.record.as_deref())?;
    let mut transcriber = load_transcriber(cli)?;
    let worker = chat::load_worker(cli)?;
    worker.set_record(record)?;
    // Read the system prompt into the KV cache while Whisper is not yet running.
    let _ = worker.prime(CancelToken::new())?.recv();
    let t = transcriber.transcribe(&pcm, &options(cli, None))?;
    if t.no_speech {
        return Err(format!("no speech found in {}", args.wav.display()).into());
    }
    eprintln!("you said: {}", t.text);
    if cli.stats {
        eprintln!("[stats] transcribed {:.0} ms of audio in {:.0} ms", t.audio_ms, t.elapsed_ms);
    }
    output::stream_answer(worker.send(t.text, cli.sampling(), CancelToken::new())?, cli.stats)?;
    Ok(())
}
