//! `murmur bench-voice`: real-time factors and latencies of the voice path, as a table on
//! stdout and one JSON record. Figures are medians of `--runs` runs.

use std::time::{Duration, Instant};

use murmur_engine::asr::{listen, AsrWorker, ListenOptions, PacedWav, VoiceEvent};
use murmur_engine::audio::wav;
use murmur_engine::llm::ChatEvent;
use murmur_engine::CancelToken;

use crate::args::{BenchVoiceArgs, Cli};
use crate::{chat, voice};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        f64::NAN
    } else {
        v[v.len() / 2]
    }
}

fn spread(v: &[f64]) -> f64 {
    let (lo, hi) = v.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    hi - lo
}

pub fn voice(cli: &Cli, args: &BenchVoiceArgs) -> Result<()> {
    let runs = args.runs.max(1);
    let asr = AsrWorker::spawn(cli.whisper_path()?)?;
    let client = asr.client();
    let opts = voice::options(cli, None);
    let threads = cli.threads.unwrap_or_else(murmur_engine::platform::default_threads);
    let mut json = serde_json::json!({ "threads": threads, "runs": runs, "rtf": [] });

    println!("| audio | seconds | final decode ms (median, spread) | RTF |");
    println!("|---|---:|---:|---:|");
    for path in &args.wavs {
        let pcm = wav::read_for_whisper(path)?;
        let secs = pcm.len() as f64 / 16_000.0;
        let _ = client.transcribe(pcm.clone(), opts.clone())?; // warm-up
        let mut times = Vec::new();
        for _ in 0..runs {
            let t = client.transcribe(pcm.clone(), opts.clone())?;
            times.push(t.elapsed_ms);
        }
        let ms = median(times.clone());
        let rtf = ms / 1000.0 / secs;
        println!("| {} | {secs:.1} | {ms:.0} (±{:.0}) | {rtf:.3} |", path.display(), spread(&times) / 2.0);
        if let Some(a) = json["rtf"].as_array_mut() {
            a.push(serde_json::json!({ "file": path.display().to_string(), "audio_s": secs, "decode_ms": ms, "rtf": rtf, "runs_ms": times }));
        }
    }

    if let Some(question) = &args.question {
        let llm = chat::load_worker(cli)?;
        let (mut finals, mut firsts) = (Vec::new(), Vec::new());
        let mut speech_secs = 0.0;
        for _ in 0..runs {
            llm.clear_history()?;
            let _ = llm.prime(CancelToken::new())?.recv();
            // Push-to-talk: the recording stops when the speech (the file) ends.
            let input = PacedWav::open(question, Duration::ZERO)?;
            speech_secs = input.speech_secs();
            let session = listen(Box::new(input), client.clone(), ListenOptions { auto_stop_silence: None, transcribe: opts.clone(), ..ListenOptions::default() });
            let (transcript, stopped_at) = loop {
                match session.events().recv()? {
                    VoiceEvent::Final { transcript, stopped_at } => break (transcript, stopped_at),
                    VoiceEvent::Error(e) => return Err(Box::new(e)),
                    _ => {}
                }
            };
            let final_ms = stopped_at.elapsed().as_secs_f64() * 1000.0;
            let events = llm.send(transcript.text, cli.sampling(), CancelToken::new())?;
            let mut first_ms = f64::NAN;
            for e in events {
                match e {
                    ChatEvent::Token(_) if first_ms.is_nan() => first_ms = ms_since(stopped_at),
                    ChatEvent::Done(_) => break,
                    ChatEvent::Error(e) => return Err(Box::new(e)),
                    _ => {}
                }
            }
            finals.push(final_ms);
            firsts.push(first_ms);
        }
        let (f, a) = (median(finals.clone()), median(firsts.clone()));
        println!();
        println!("| voice path ({speech_secs:.1} s question) | median ms | spread ms |");
        println!("|---|---:|---:|");
        println!("| end of speech → final transcript | {f:.0} | {:.0} |", spread(&finals));
        println!("| end of speech → first answer token | {a:.0} | {:.0} |", spread(&firsts));
        json["voice_path"] = serde_json::json!({ "question_s": speech_secs, "to_final_ms": f, "to_first_token_ms": a, "runs_final_ms": finals, "runs_first_token_ms": firsts });
    }
    println!();
    println!("{}", serde_json::to_string(&json)?);
    Ok(())
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}
