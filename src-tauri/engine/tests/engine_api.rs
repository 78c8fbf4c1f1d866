//! The engine's API for the app, on the real models: workers that cancel instead of blocking
//! on drop, streams that always end with one done or error, the session API on the worker,
//! the voice turn, and listening controlled from other threads.

mod common;

use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use murmur_engine::asr::{listen, AsrError, AsrWorker, AudioInput, ListenOptions, PacedWav, VoiceError, VoiceEvent};
use murmur_engine::llm::{ChatEvent, FinishReason, LlmWorker, SamplingParams, SessionOptions};
use murmur_engine::voice::{voice_turn, VoiceTurnEvent, VoiceTurnOptions};
use murmur_engine::{gate, prompts, CancelToken, ErrorCode, Sink};

fn worker(n_ctx: u32) -> LlmWorker {
    LlmWorker::spawn(common::llm_path(), SessionOptions { n_ctx, threads: Some(common::threads()), ..SessionOptions::default() }).expect("load model")
}

fn greedy(max_tokens: usize) -> SamplingParams {
    SamplingParams { max_tokens, ..SamplingParams::greedy() }
}

/// All events of a stream, until it ends (at most `timeout`).
fn drain<T: std::fmt::Debug>(rx: &Receiver<T>, timeout: Duration) -> Vec<T> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while let Ok(e) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        out.push(e);
    }
    out
}

fn terminals(events: &[ChatEvent]) -> usize {
    events.iter().filter(|e| matches!(e, ChatEvent::Done(_) | ChatEvent::Error(_))).count()
}

#[test]
fn dropping_the_model_worker_cancels_the_answer_and_ends_every_queued_stream() {
    let w = worker(2048);
    let long = "List twenty common blood tests and explain each one in detail.";
    let first = w.ask(long, greedy(2000), CancelToken::new()).expect("send");
    let queued: Vec<_> = (0..2).map(|_| w.ask(long, greedy(2000), CancelToken::new()).expect("send")).collect();
    // Wait for the first answer to be under way.
    let mut seen = Vec::new();
    while !matches!(seen.last(), Some(ChatEvent::Token(_))) {
        seen.push(first.recv_timeout(Duration::from_secs(60)).expect("first token"));
    }
    let start = Instant::now();
    drop(w);
    let dropped_in = start.elapsed();
    seen.extend(drain(&first, Duration::from_secs(5)));
    // The answer in flight stopped as cancelled, with exactly one terminal event…
    assert_eq!(terminals(&seen), 1, "{seen:?}");
    match seen.last() {
        Some(ChatEvent::Done(stats)) => assert_eq!(stats.finish, FinishReason::Cancelled),
        other => panic!("expected a cancelled Done, got {other:?}"),
    }
    // …and the queued ones never ran: each ended with one error, no tokens.
    for rx in &queued {
        let events = drain(rx, Duration::from_secs(5));
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(matches!(&events[0], ChatEvent::Error(e) if e.code == ErrorCode::WorkerStopped), "{events:?}");
    }
    // Two answers of 2,000 tokens would take minutes; the drop took a moment.
    assert!(dropped_in < Duration::from_secs(20), "drop took {dropped_in:?}");
}

#[test]
fn chat_events_serialise_for_the_app() {
    let w = worker(2048);
    let events = drain(&w.ask("Say hello.", greedy(8), CancelToken::new()).expect("send"), Duration::from_secs(60));
    assert_eq!(terminals(&events), 1);
    let json = serde_json::to_value(&events).expect("serialise");
    let last = &json[events.len() - 1];
    assert_eq!(last["event"], "done", "{last}");
    assert!(last["data"]["generated_tokens"].as_u64().is_some_and(|n| n > 0), "{last}");
    assert_eq!(json[0]["event"], "token");
    // An error crosses as {code, message}.
    let too_long = "blood ".repeat(3000);
    let events = drain(&w.ask(too_long, greedy(8), CancelToken::new()).expect("send"), Duration::from_secs(60));
    let json = serde_json::to_value(events.last().expect("event")).expect("serialise");
    assert_eq!(json["event"], "error");
    assert_eq!(json["data"]["code"], "llm.message_too_long", "{json}");
    assert!(json["data"]["message"].as_str().is_some_and(|m| m.contains("message is too long")));
}

#[test]
fn the_record_and_the_instructions_are_set_independently() {
    let w = worker(2048);
    w.set_system_prompt(Some("You are a terse assistant.".into())).expect("instructions");
    w.set_record(Some("LDL 160 mg/dL (ref < 100)".into())).expect("record");
    let s = w.snapshot().expect("snapshot");
    assert!(s.system_message.starts_with("You are a terse assistant."), "{}", s.system_message);
    assert!(s.system_message.contains("LDL 160 mg/dL"), "{}", s.system_message);
    assert!(s.has_record);
    // Detaching the record keeps the custom instructions; resetting them keeps a record.
    w.set_record(None).expect("record");
    assert_eq!(w.snapshot().expect("snapshot").system_message, "You are a terse assistant.");
    w.set_record(Some("TSH 6.1 mIU/L".into())).expect("record");
    w.set_system_prompt(None).expect("instructions");
    let s = w.snapshot().expect("snapshot");
    assert!(s.system_message.starts_with(prompts::SYSTEM_PROMPT) && s.system_message.contains("TSH 6.1"), "{}", s.system_message);
}

#[test]
fn a_conversation_is_restored_on_the_worker() {
    let w = worker(2048);
    let turns = vec![murmur_engine::llm::Turn { user: "What is LDL?".into(), assistant: "A kind of cholesterol carrier.".into() }];
    w.restore(turns.clone()).expect("restore");
    assert_eq!(w.turns().expect("turns"), turns);
    let prompt_tokens = |w: &murmur_engine::llm::LlmWorker| match drain(&w.ask("And HDL?", greedy(8), CancelToken::new()).expect("send"), Duration::from_secs(60)).last() {
        Some(ChatEvent::Done(stats)) => stats.prompt_tokens,
        other => panic!("{other:?}"),
    };
    let with_history = prompt_tokens(&w);
    assert_eq!(w.turns().expect("turns").len(), 2);
    // The restored turn is part of the prompt: the same question without it reads fewer tokens.
    w.clear_history().expect("clear");
    let without = prompt_tokens(&w);
    assert!(with_history >= without + 10, "the restored turn was not read: {with_history} vs {without} tokens");
}

#[test]
fn priming_holds_the_llm_busy_gate() {
    let w = worker(4096);
    // A record of ~2,100 tokens (within the ~3,000 a 4,096-token context leaves a record next to
    // an answer's quarter): priming takes a few seconds on 2 cores.
    w.set_record(Some("Glucose 105 mg/dL (70-99). HbA1c 5.9 % (4.0-5.6). ".repeat(60))).expect("record");
    let done = w.prime(CancelToken::new()).expect("prime");
    let mut busy_seen = false;
    let result = loop {
        busy_seen |= gate::llm_busy();
        match done.recv_timeout(Duration::from_millis(5)) {
            Ok(r) => break r,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(e) => panic!("{e}"),
        }
    };
    result.expect("primed");
    assert!(busy_seen, "partial transcripts could have run while priming");
    assert!(!gate::llm_busy());
    assert!(w.snapshot().expect("snapshot").cached_tokens > 1000);
}

#[test]
fn a_record_too_long_for_the_context_is_named_as_such() {
    let w = worker(1024);
    w.set_record(Some("Potassium 5.9 mmol/L (3.5-5.1) H. Sodium 131 mmol/L (136-145) L. ".repeat(80))).expect("record");
    let err = w.prime_wait(CancelToken::new()).expect_err("too long");
    assert_eq!(err.code, ErrorCode::RecordTooLong, "{err:?}");
    assert!(err.message.contains("record is too long"), "{}", err.message);
    let events = drain(&w.ask("Explain my results.", greedy(64), CancelToken::new()).expect("send"), Duration::from_secs(60));
    match events.last() {
        Some(ChatEvent::Error(e)) => assert_eq!(e.code, ErrorCode::RecordTooLong, "{e:?}"),
        other => panic!("expected a record-too-long error, got {other:?}"),
    }
}

/// A long record with results is not refused: the model reads its parsed results and the
/// lines around the flagged ones, and says so; a record whose results alone do not fit is
/// refused with a message that says it was already reduced.
#[test]
fn a_long_record_is_reduced_to_its_results_never_silently_cut() {
    let w = worker(1024);
    let mut record = String::from("DISCHARGE SUMMARY\n");
    for i in 0..60 {
        record.push_str(&format!("The patient was seen on the ward and observations were stable during round number {i}.\n"));
    }
    record.push_str("Sodium 139 mmol/L (133-146)\nPotassium 5.9 mmol/L H (3.5-5.1)\nCreatinine 88 umol/L (45-90)\n");
    for i in 0..60 {
        record.push_str(&format!("Nursing note {i}: comfortable overnight, mobilising with assistance, eating and drinking well.\n"));
    }
    w.set_record(Some(record)).expect("record");
    w.prime_wait(CancelToken::new()).expect("a reduced record fits");
    let snapshot = w.snapshot().expect("snapshot");
    assert!(snapshot.record_reduced, "the person must be told the model reads part of the record");
    let system = &snapshot.system_message;
    assert!(system.contains("too long to read in full"), "{system}");
    assert!(system.contains("- Potassium: 5.9 mmol/L; reference range 3.5 to 5.1; status: above the range"), "{system}");
    assert!(system.contains("- Sodium: 139") && system.contains("- Creatinine: 88"), "every result stays: {system}");
    assert!(!system.contains("Nursing note 30"), "far lines are left out");
    let events = drain(&w.ask("Which result is outside its range?", greedy(16), CancelToken::new()).expect("send"), Duration::from_secs(120));
    assert!(matches!(events.last(), Some(ChatEvent::Done(_))), "{events:?}");

    let many: String = (0..150).map(|i| format!("Potassium {}.{} mmol/L H (3.5-5.1)\n", 5 + i % 2, i % 10)).collect();
    w.set_record(Some(many)).expect("record");
    let err = w.prime_wait(CancelToken::new()).expect_err("150 results do not fit 1024 tokens");
    assert_eq!(err.code, ErrorCode::RecordTooLong, "{err:?}");
    assert!(err.message.contains("even with only its results"), "{}", err.message);
}

#[test]
fn the_voice_turn_primes_transcribes_and_answers() {
    let llm = worker(2048);
    let asr = AsrWorker::spawn(common::whisper_path()).expect("whisper");
    let input = PacedWav::open(&common::speech_dir().join("question.wav"), Duration::from_millis(1500)).expect("wav");
    let options = VoiceTurnOptions {
        listen: ListenOptions { auto_stop_silence: Some(Duration::from_millis(1000)), transcribe: common::transcribe_options(), ..ListenOptions::default() },
        sampling: greedy(24),
        prime: true,
        prefill_partial: true,
        answer: true,
        ask: None,
    };
    let (sink, rx) = Sink::channel();
    let turn = voice_turn(llm.client(), asr.client(), Box::new(input), options, sink).expect("turn");
    let events = drain(&rx, Duration::from_secs(90));
    drop(turn);
    let heard = events.iter().position(|e| matches!(e, VoiceTurnEvent::Heard { .. })).expect("a transcript");
    let VoiceTurnEvent::Heard { transcript, .. } = &events[heard] else { unreachable!() };
    assert!(common::words(&transcript.text).contains(&"ferritin".to_string()), "{transcript:?}");
    // Listening before the transcript; the answer after it, ending the turn.
    assert!(events[..heard].iter().all(|e| matches!(e, VoiceTurnEvent::Listening(_))));
    assert!(events[heard + 1..].iter().all(|e| matches!(e, VoiceTurnEvent::Answer(_))));
    assert!(events.iter().any(|e| matches!(e, VoiceTurnEvent::Answer(ChatEvent::Token(_)))));
    match events.last() {
        Some(VoiceTurnEvent::Answer(ChatEvent::Done(stats))) => {
            // The system prompt was read while the person spoke: the answer reused it.
            assert!(stats.reused_tokens > 100, "{stats:?}");
        }
        other => panic!("{other:?}"),
    }
    // The conversation holds the spoken question.
    assert_eq!(llm.turns().expect("turns")[0].user, transcript.text);
}

#[test]
fn a_voice_turn_with_nothing_said_ends_with_no_speech() {
    let llm = worker(2048);
    let asr = AsrWorker::spawn(common::whisper_path()).expect("whisper");
    let input = PacedWav::open(&common::speech_dir().join("noise_white_loud.wav"), Duration::from_millis(200)).expect("wav");
    let options = VoiceTurnOptions { listen: ListenOptions { transcribe: common::transcribe_options(), ..ListenOptions::default() }, ..VoiceTurnOptions::default() };
    let (sink, rx) = Sink::channel();
    let _turn = voice_turn(llm.client(), asr.client(), Box::new(input), options, sink).expect("turn");
    let events = drain(&rx, Duration::from_secs(30));
    assert!(matches!(events.last(), Some(VoiceTurnEvent::NoSpeech)), "{events:?}");
    assert!(llm.turns().expect("turns").is_empty());
}

/// An input that fails hard after a while (a driver bug, a panic in a callback).
struct Exploding(PacedWav, Instant);

impl AudioInput for Exploding {
    fn device(&self) -> String {
        "exploding".into()
    }
    fn sample_rate(&self) -> u32 {
        self.0.sample_rate()
    }
    fn channels(&self) -> u16 {
        self.0.channels()
    }
    fn read(&mut self, out: &mut Vec<f32>) -> Result<bool, VoiceError> {
        assert!(self.1.elapsed() < Duration::from_millis(300), "the audio input crashed");
        self.0.read(out)
    }
}

#[test]
fn listening_ends_with_an_error_even_when_its_thread_dies() {
    let asr = AsrWorker::spawn(common::whisper_path()).expect("whisper");
    let input = Exploding(PacedWav::open(&common::speech_dir().join("sentence1.wav"), Duration::ZERO).expect("wav"), Instant::now());
    let (sink, rx) = Sink::channel();
    let _session = listen(Box::new(input), asr.client(), ListenOptions { transcribe: common::transcribe_options(), ..ListenOptions::default() }, sink).expect("listen");
    let events = drain(&rx, Duration::from_secs(20));
    let ends = events.iter().filter(|e| matches!(e, VoiceEvent::Final { .. } | VoiceEvent::Error(_))).count();
    assert_eq!(ends, 1, "{events:?}");
    assert!(matches!(events.last(), Some(VoiceEvent::Error(e)) if e.code == ErrorCode::WorkerStopped), "{events:?}");
}

#[test]
fn the_final_transcription_can_be_aborted_from_another_thread() {
    let asr = AsrWorker::spawn(common::whisper_path()).expect("whisper");
    let input = PacedWav::open(&common::speech_dir().join("speech_10s.wav"), Duration::ZERO).expect("wav");
    let opts = ListenOptions { auto_stop_silence: None, partial_interval: None, transcribe: common::transcribe_options(), ..ListenOptions::default() };
    let (sink, rx) = Sink::channel();
    let session = listen(Box::new(input), asr.client(), opts, sink).expect("listen");
    let handle = session.handle();
    let mut events = Vec::new();
    // Speak for a while, release the button, then cancel as soon as the final decode starts.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut stopped = false;
    while let Ok(e) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        match &e {
            VoiceEvent::SpeechStarted if !stopped => {
                std::thread::sleep(Duration::from_millis(2500));
                let h = handle.clone();
                std::thread::spawn(move || h.stop()).join().expect("stop from another thread");
                stopped = true;
            }
            VoiceEvent::Transcribing => {
                let h = handle.clone();
                std::thread::spawn(move || h.abort()).join().expect("abort from another thread");
            }
            _ => {}
        }
        events.push(e);
    }
    let transcribing = events.iter().position(|e| matches!(e, VoiceEvent::Transcribing)).expect("the final decode started");
    // After the decode started, the only event is the cancellation: no final transcript.
    assert_eq!(events.len(), transcribing + 2, "{:?}", &events[transcribing..]);
    assert!(matches!(&events[transcribing + 1], VoiceEvent::Error(e) if e.code == ErrorCode::Cancelled), "{:?}", &events[transcribing..]);
}

#[test]
fn dropping_the_speech_worker_does_not_wait_for_queued_audio_or_clients() {
    let asr = AsrWorker::spawn(common::whisper_path()).expect("whisper");
    let client = asr.client();
    let pcm = murmur_engine::audio::wav::read_for_whisper(&common::speech_dir().join("speech_30s.wav")).expect("wav");
    let opts = murmur_engine::asr::TranscribeOptions { beam_size: Some(5), ..common::transcribe_options() };
    let jobs: Vec<_> = (0..3).map(|_| client.submit(pcm.clone(), opts.clone(), CancelToken::new()).expect("submit")).collect();
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    drop(asr);
    let took = start.elapsed();
    // The job in flight was aborted, the queued ones never ran.
    let results: Vec<_> = jobs.into_iter().map(murmur_engine::asr::worker::wait).collect();
    assert!(results.iter().all(Result::is_err), "{results:?}");
    assert!(matches!(results[0], Err(AsrError::Cancelled)), "{:?}", results[0]);
    // Three beam-search decodes of 30 s would take far longer than this.
    assert!(took < Duration::from_secs(10), "{took:?}");
    // The client outlives the worker: it gets a clear error, not a hang.
    let late = client.submit(pcm, opts, CancelToken::new());
    assert!(matches!(late, Err(AsrError::Worker(_))), "{late:?}");
}
