//! `murmur bench-voice`: real-time factors and latencies of the voice path, as a table on
//! stdout and one JSON record. Figures are medians of `--runs` runs.

use std::time::{Duration, Instant};

use murmur_engine::asr::{AsrWorker, ListenOptions, PacedWav};
use murmur_engine::voice::{voice_turn, VoiceTurnEvent, VoiceTurnOptions};
use murmur_engine::audio::wav;
use murmur_engine::llm::ChatEvent;
use murmur_engine::{CancelToken, Sink};

use murmur_engine::asr::{TranscribeOptions, Transcriber};
use murmur_engine::llm::{ChatSession, LlmModel, SamplingParams, SessionOptions, Turn};

use crate::args::{BenchLlmArgs, BenchVoiceArgs, Cli};
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
    let threads = cli.thread_count();
    let mut json = serde_json::json!({ "threads": threads, "runs": runs, "rtf": [] });

    println!("| audio | seconds | final decode ms (median, spread) | RTF |");
    println!("|---|---:|---:|---:|");
    for path in &args.wavs {
        let pcm = wav::read_for_whisper(path)?;
        let secs = pcm.len() as f64 / 16_000.0;
        let audio_ctx = if args.full_audio_ctx { None } else { Some(TranscribeOptions::fitted_audio_ctx(pcm.len())) };
        let opts = TranscribeOptions { audio_ctx, ..opts.clone() };
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
        // The product's voice turn: priming while the person speaks, partial transcripts (and,
        // unless --no-prefill-ahead, their stable words prefilled), the final transcript, the
        // answer; in a new conversation and after conversations of the given lengths.
        let llm = chat::load_worker(cli)?;
        let mut rows = Vec::new();
        let mut targets = vec![0usize];
        targets.extend(&args.history);
        for &target in &targets {
            let history_tokens = grow_history(&llm, target)?;
            // Each run starts from this cache: the retracted question of the run before is
            // still in it and would be read for free.
            let history_state = if target > 0 { llm.save_state()? } else { None };
            let (mut finals, mut firsts, mut reused) = (Vec::new(), Vec::new(), Vec::new());
            // Where the time goes, per run: the stop → the final transcript (Whisper's own time
            // in it), the transcript → the first token (the model's part: from its request to
            // the first token, and the prefill in that).
            let mut profile: [Vec<f64>; 5] = Default::default();
            let mut speech_secs = 0.0;
            for _ in 0..runs {
                llm.prime_wait(CancelToken::new())?;
                // Push-to-talk: the recording stops when the speech (the file) ends, or that long
                // after it.
                let release = Duration::from_millis(args.release_after_ms);
                let input = PacedWav::open(question, release)?;
                speech_secs = input.speech_secs();
                let (sink, events) = Sink::channel();
                let listen = ListenOptions { auto_stop_silence: None, transcribe: opts.clone(), fit_audio_ctx: !args.full_audio_ctx, ..ListenOptions::default() };
                let options = VoiceTurnOptions { listen, sampling: cli.sampling(), prefill_partial: !cli.no_prefill_ahead, ..VoiceTurnOptions::default() };
                let _turn = voice_turn(llm.client(), client.clone(), Box::new(input), options, sink)?;
                let (mut stopped_at, mut heard_at, mut first_ms) = (None, None, f64::NAN);
                loop {
                    match events.recv()? {
                        VoiceTurnEvent::Heard { final_ms, transcript, .. } => {
                            // From the end of the question's audio: the stop, less the wait for it.
                            let now = Instant::now();
                            let stop = now - Duration::from_secs_f64(final_ms / 1000.0);
                            stopped_at = stop.checked_sub(release);
                            heard_at = Some(now);
                            finals.push(final_ms + release.as_secs_f64() * 1000.0);
                            profile[0].push(final_ms);
                            profile[1].push(transcript.elapsed_ms);
                        }
                        VoiceTurnEvent::Answer(ChatEvent::Token(_)) if first_ms.is_nan() => {
                            first_ms = stopped_at.map_or(f64::NAN, ms_since);
                            profile[2].push(heard_at.map_or(f64::NAN, ms_since));
                        }
                        VoiceTurnEvent::Answer(ChatEvent::Done(stats)) => {
                            reused.push(stats.prefilled_tokens as f64);
                            profile[3].push(stats.ttft_ms.unwrap_or(f64::NAN));
                            profile[4].push(stats.prefill_ms);
                            break;
                        }
                        VoiceTurnEvent::Answer(ChatEvent::Error(e)) | VoiceTurnEvent::Error(e) => return Err(Box::new(e)),
                        VoiceTurnEvent::NoSpeech => return Err("no speech heard in the question".into()),
                        _ => {}
                    }
                }
                firsts.push(first_ms);
                // The next run asks at the same length, from the same cache.
                llm.retract_last()?;
                if let Some(state) = &history_state {
                    if !llm.load_state(state.clone())? {
                        return Err("could not reload the history's KV state between runs".into());
                    }
                }
            }
            let (f, a) = (median(finals.clone()), median(firsts.clone()));
            println!();
            println!("| voice path ({speech_secs:.1} s question, {history_tokens} tokens of history, stopped {} ms after it) | median ms | spread ms |", args.release_after_ms);
            println!("|---|---:|---:|");
            println!("| end of speech → final transcript | {f:.0} | {:.0} |", spread(&finals));
            println!("| end of speech → first answer token | {a:.0} | {:.0} |", spread(&firsts));
            println!("| tokens left to read when the question came (median) | {:.0} | |", median(reused.clone()));
            let labels = ["stop → final transcript", "… Whisper's run (done ahead in a pause: not waited for)", "final transcript → first token", "… the model's request → first token", "… prefill of what was left"];
            for (label, v) in labels.iter().zip(&profile) {
                println!("| profile: {label} | {:.0} | {:.0} |", median(v.clone()), spread(v));
            }
            let row = serde_json::json!({ "target": target, "history_tokens": history_tokens, "question_s": speech_secs, "release_after_ms": args.release_after_ms, "to_final_ms": f, "to_first_token_ms": a,
                "runs_final_ms": finals, "runs_first_token_ms": firsts, "prefilled_tokens": reused,
                "profile": { "stop_to_final_ms": profile[0], "whisper_ms": profile[1], "final_to_first_token_ms": profile[2], "send_to_first_token_ms": profile[3], "prefill_ms": profile[4] } });
            if target == 0 {
                json["voice_path"] = row.clone();
            }
            rows.push(row);
        }
        json["voice_path_history"] = rows.into();
        json["fit_audio_ctx"] = (!args.full_audio_ctx).into();
        json["prefill_ahead"] = (!cli.no_prefill_ahead).into();
    }
    println!();
    println!("{}", serde_json::to_string(&json)?);
    Ok(())
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// A conversation of about `target` tokens in the worker, in the cache as after its last
/// answer (0: a new conversation). Returns the tokens cached.
fn grow_history(llm: &murmur_engine::llm::LlmWorker, target: usize) -> Result<usize> {
    llm.clear_history()?;
    llm.reset_cache()?;
    if target == 0 {
        return Ok(0);
    }
    // The tokens of one filler turn, measured (the cache after one exchange and after two),
    // then as many turns as reach the target.
    let one = filler_conversation(llm, 1)?;
    let per_turn = filler_conversation(llm, 2)?.saturating_sub(one).max(1);
    let turns = (target.saturating_sub(one) + per_turn / 2) / per_turn + 1;
    filler_conversation(llm, turns.max(1))
}

/// `n` filler turns in the worker; the last one asked for real (one token of answer), so the
/// cache holds the conversation and what the worker decodes ahead after an answer. Returns
/// the tokens cached.
fn filler_conversation(llm: &murmur_engine::llm::LlmWorker, n: usize) -> Result<usize> {
    let turns: Vec<Turn> = (0..n.max(1)).map(filler_turn).collect();
    llm.clear_history()?;
    llm.restore(turns[..turns.len() - 1].to_vec())?;
    let last = turns.last().map(|t| t.user.clone()).unwrap_or_default();
    for e in llm.ask(last, SamplingParams { max_tokens: 1, ..SamplingParams::greedy() }, CancelToken::new())? {
        match e {
            ChatEvent::Done(_) => break,
            ChatEvent::Error(e) => return Err(Box::new(e)),
            _ => {}
        }
    }
    Ok(llm.snapshot()?.cached_tokens)
}

/// Filler for a conversation of a given length: plausible questions and answers about records.
fn filler_turn(i: usize) -> Turn {
    Turn {
        user: format!("Question {i}: my results from visit {i} list glucose, HbA1c, LDL, HDL and TSH. What do these tests measure, in general?"),
        assistant: format!(
            "For visit {i}: glucose is the sugar in your blood at the time of the test; HbA1c reflects the \
             average over about three months; LDL and HDL are two kinds of cholesterol carriers; TSH is a \
             hormone that shows how your thyroid is being driven. Your doctor can tell you what your values \
             mean for you."
        ),
    }
}

pub fn llm(cli: &Cli, args: &BenchLlmArgs) -> Result<()> {
    let options = SessionOptions { n_batch: args.batch, ..cli.session_options() };
    let model = LlmModel::load_with(&cli.model_path()?, options.repack())?;
    let mut s = ChatSession::new(&model, &options)?;
    let runs = args.runs.max(1);
    let threads = cli.thread_count();
    let mut json = serde_json::json!({ "model": model.info().path, "file_bytes": model.info().file_size, "threads": threads, "n_batch": args.batch,
        "n_ubatch": options.n_ubatch, "repack": options.repack(), "prefill_ahead": options.prefill_ahead });

    // Prefill and generation, like llama-bench's ppN and tgN.
    let _ = s.bench_prefill(64)?; // warm-up
    let mut pp = serde_json::Map::new();
    for &n in if args.skip_speed { &[][..] } else { &args.pp[..] } {
        let v: Vec<f64> = (0..runs).map(|_| s.bench_prefill(n).map(|secs| n as f64 / secs)).collect::<std::result::Result<_, _>>()?;
        println!("pp{n}: {:.1} tok/s (±{:.1})", median(v.clone()), spread(&v) / 2.0);
        pp.insert(format!("pp{n}"), serde_json::json!(v));
    }
    json["pp_tok_s"] = pp.into();
    if !args.skip_speed {
        let v: Vec<f64> = (0..runs).map(|_| s.bench_generate(args.tg).map(|secs| args.tg as f64 / secs)).collect::<std::result::Result<_, _>>()?;
        println!("tg{}: {:.1} tok/s (±{:.1})", args.tg, median(v.clone()), spread(&v) / 2.0);
        json["tg_tok_s"] = serde_json::json!({ format!("tg{}", args.tg): v });
    }
    if args.skip_followup {
        println!("{}", serde_json::to_string(&json)?);
        return Ok(());
    }

    // Follow-up questions: time to first token with the cache reused, and with the whole
    // conversation read again (what a stateless app does every turn).
    let question = "And what should I ask my doctor about these results?";
    let sampling = SamplingParams { max_tokens: 1, ..SamplingParams::greedy() };
    let mut rows = Vec::new();
    let mut targets = vec![0usize];
    targets.extend(&args.history);
    for &target in &targets {
        // Grow a conversation to `target` tokens (0: turn 2, after a single short exchange).
        let mut turns = vec![filler_turn(0)];
        loop {
            s.restore_history(turns.clone());
            if s.prompt_len(question)? >= target {
                break;
            }
            turns.push(filler_turn(turns.len()));
        }
        let (mut warm, mut cold, mut history_tokens) = (Vec::new(), Vec::new(), 0);
        for _ in 0..runs {
            // Cold: the conversation and the question read from scratch (what a stateless app
            // does every turn). It also leaves the conversation in the cache for the warm run.
            s.restore_history(turns.clone());
            s.reset_cache();
            let c = s.send(question, &sampling, &CancelToken::new(), &mut |_| {})?;
            cold.push(c.ttft_ms.unwrap_or(f64::NAN));
            // Warm: the conversation so far in the cache, as after the previous answer; then
            // what the model worker does after every answer (a no-op with --no-prefill-ahead),
            // and the question.
            s.restore_history(turns.clone());
            s.truncate_to_history()?;
            s.prefill_ahead(None, &CancelToken::new())?;
            let w = s.send(question, &sampling, &CancelToken::new(), &mut |_| {})?;
            history_tokens = w.reused_tokens;
            warm.push(w.ttft_ms.unwrap_or(f64::NAN));
        }
        let label = if target == 0 { "turn 2".to_string() } else { format!("{target}") };
        println!("follow-up at {label} ({history_tokens} tokens of history): ttft {:.0} ms with reuse, {:.0} ms re-reading", median(warm.clone()), median(cold.clone()));
        rows.push(serde_json::json!({ "target": target, "history_tokens": history_tokens, "ttft_reuse_ms": warm, "ttft_full_ms": cold }));
    }
    json["followup"] = rows.into();
    println!("{}", serde_json::to_string(&json)?);
    Ok(())
}

fn vm_hwm_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse::<f64>().ok()))
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Read bandwidth over a buffer much larger than the caches, with every thread reading.
fn read_bandwidth_gbps(threads: usize) -> f64 {
    let len = 1usize << 28; // 2 GiB of u64
    let buf: Vec<u64> = (0..len as u64).collect();
    let chunk = len / threads.max(1);
    let mut best = 0.0f64;
    for _ in 0..5 {
        let start = Instant::now();
        let total: u64 = std::thread::scope(|sc| {
            let handles: Vec<_> = buf.chunks(chunk).map(|c| sc.spawn(move || c.iter().fold(0u64, |a, &x| a.wrapping_add(x)))).collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0)).fold(0u64, u64::wrapping_add)
        });
        std::hint::black_box(total);
        best = best.max((len * 8) as f64 / start.elapsed().as_secs_f64() / 1e9);
    }
    best
}

pub fn memory(cli: &Cli) -> Result<()> {
    let threads = cli.thread_count();
    let baseline = vm_hwm_mb();
    let llm_path = cli.model_path()?;
    let whisper_path = cli.whisper_path()?;
    let options = SessionOptions { n_ctx: 4096, ..cli.session_options() };
    let model = LlmModel::load_with(&llm_path, options.repack())?;
    let mut s = ChatSession::new(&model, &options)?;
    let mut t = Transcriber::load(&whisper_path)?;
    // Use both, so that compute buffers exist and the weights are paged in.
    s.send("What is HbA1c?", &SamplingParams { max_tokens: 16, ..SamplingParams::greedy() }, &CancelToken::new(), &mut |_| {})?;
    let speech: Vec<f32> = (0..16_000 * 3).map(|i| ((i as f32) * 0.05).sin() * 0.1).collect();
    let _ = t.transcribe(&speech, &TranscribeOptions { vad: None, threads: Some(cli.thread_count()), ..TranscribeOptions::default() })?;
    let peak = vm_hwm_mb();
    let files = (std::fs::metadata(&llm_path)?.len() + std::fs::metadata(&whisper_path)?.len()) as f64 / (1024.0 * 1024.0);
    drop(s);
    drop(t);
    let bw = read_bandwidth_gbps(threads);
    let weights = model.info().file_size as f64;
    println!("peak RSS {peak:.0} MiB (process baseline {baseline:.0} MiB); model files {files:.0} MiB; over the files: {:.0} MiB", peak - files);
    println!("memory read bandwidth ({threads} threads): {bw:.1} GB/s; decode ceiling ≈ {:.1} tok/s (bandwidth ÷ {:.0} MB of weights read per token)", bw * 1e9 / weights, weights / 1e6);
    println!(
        "{}",
        serde_json::json!({ "peak_rss_mib": peak, "baseline_mib": baseline, "model_files_mib": files, "n_ctx": 4096,
            "repack": options.repack(), "n_ubatch": options.n_ubatch, "kv_q8": options.kv_q8, "draft_max": options.draft_max, "reserve_all_outputs": options.reserve_all_outputs,
            "read_bandwidth_gbps": bw, "weights_bytes": weights, "decode_ceiling_tok_s": bw * 1e9 / weights, "threads": threads })
    );
    Ok(())
}
