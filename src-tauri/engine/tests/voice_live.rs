//! Live listening: a real microphone path (PulseAudio's virtual microphone, recorded with cpal
//! through ALSA), partial transcripts, the final one, and errors.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use murmur_engine::asr::{listen, AsrClient, AsrWorker, AudioInput, ListenOptions, Listening, PacedWav, Transcript, VoiceEvent};
use murmur_engine::audio::capture::{Capture, CaptureError};
use murmur_engine::Sink;

/// Starts listening with the events on a channel.
fn start(input: Box<dyn AudioInput>, asr: AsrClient, opts: ListenOptions) -> (Listening, Receiver<VoiceEvent>) {
    let (sink, events) = Sink::channel();
    (listen(input, asr, opts, sink).expect("listen"), events)
}

fn reference(i: usize) -> Vec<String> {
    common::words(&std::fs::read_to_string(common::speech_dir().join(format!("sentence{i}.txt"))).expect("reference"))
}

#[derive(Default, Debug)]
struct Heard {
    started: bool,
    levels: Vec<f32>,
    speech_started: bool,
    partials: Vec<(Instant, String)>,
    /// Final transcripts computed ahead during pauses.
    paused: Vec<(Instant, String)>,
    transcribing_at: Option<Instant>,
    final_at: Option<Instant>,
    final_ms: f64,
    transcript: Option<Transcript>,
}

fn collect(session: &(Listening, Receiver<VoiceEvent>), timeout: Duration) -> Heard {
    let mut h = Heard::default();
    let deadline = Instant::now() + timeout;
    loop {
        match session.1.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(VoiceEvent::Started { .. }) => h.started = true,
            Ok(VoiceEvent::Level(l)) => h.levels.push(l.rms),
            Ok(VoiceEvent::SpeechStarted) => h.speech_started = true,
            Ok(VoiceEvent::Partial { stable, tail }) => h.partials.push((Instant::now(), format!("{stable} {tail}"))),
            Ok(VoiceEvent::Paused { text }) => h.paused.push((Instant::now(), text)),
            Ok(VoiceEvent::Transcribing) => h.transcribing_at = Some(Instant::now()),
            Ok(VoiceEvent::Final { transcript, final_ms }) => {
                h.final_at = Some(Instant::now());
                h.final_ms = final_ms;
                h.transcript = Some(transcript);
                return h;
            }
            Ok(VoiceEvent::Error(e)) => panic!("listening failed: {e}"),
            Err(RecvTimeoutError::Timeout) => panic!("no final transcript within {timeout:?}: {h:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("the session ended without a final transcript: {h:?}"),
        }
    }
}

#[test]
fn partial_transcripts_come_before_a_final_that_is_at_least_as_good() {
    let asr = AsrWorker::spawn(common::whisper_path()).expect("whisper");
    for i in [1, 5] {
        let path = common::speech_dir().join(format!("sentence{i}_48k_stereo.wav"));
        let input = PacedWav::open(&path, Duration::from_secs(3)).expect("wav");
        let opts = ListenOptions {
            auto_stop_silence: Some(Duration::from_millis(1000)),
            partial_interval: Some(Duration::from_millis(600)),
            transcribe: common::transcribe_options(),
            ..ListenOptions::default()
        };
        let heard = collect(&start(Box::new(input), asr.client(), opts), Duration::from_secs(30));
        eprintln!("partials: {:?}", heard.partials.iter().map(|p| &p.1).collect::<Vec<_>>());
        let t = heard.transcript.expect("final");
        eprintln!("final: {:?}", t.text);
        assert!(heard.started && heard.speech_started);
        // How many partials fit depends on the machine's load (each is a Whisper run); that
        // they come, and all before the final, does not.
        assert!(!heard.partials.is_empty(), "expected partials while speaking, got none");
        assert!(heard.partials.iter().all(|p| Some(p.0) < heard.final_at));
        // About 20 level updates a second of audio.
        let secs = t.audio_ms / 1000.0;
        assert!((heard.levels.len() as f64) > secs * 15.0, "{} levels for {secs:.1} s", heard.levels.len());
        let r = reference(i);
        let final_errors = common::word_errors(&r, &common::words(&t.text));
        let last_partial = &heard.partials.last().expect("partial").1;
        let partial_errors = common::word_errors(&r, &common::words(last_partial));
        assert!(final_errors <= partial_errors, "final {:?} worse than last partial {last_partial:?}", t.text);
        assert!(final_errors as f64 / r.len() as f64 <= 0.15, "{:?}", t.text);
    }
}

#[test]
fn a_pause_computes_the_final_transcript_ahead_and_stopping_then_reuses_it() {
    let asr = AsrWorker::spawn(common::whisper_path()).expect("whisper");
    let path = common::speech_dir().join("sentence2_48k_stereo.wav");
    let listen_with = |final_ahead: bool| {
        // 4 s of silence after the speech, then the stop (the input ends): room for the final
        // transcript to be computed ahead even on a busy machine.
        let input = PacedWav::open(&path, Duration::from_secs(4)).expect("wav");
        let opts = ListenOptions {
            auto_stop_silence: None,
            final_ahead,
            transcribe: common::transcribe_options(),
            ..ListenOptions::default()
        };
        collect(&start(Box::new(input), asr.client(), opts), Duration::from_secs(30))
    };
    let ahead = listen_with(true);
    let text = ahead.transcript.as_ref().expect("final").text.clone();
    eprintln!("paused: {:?}; final: {text:?} after {:.0} ms", ahead.paused.iter().map(|p| &p.1).collect::<Vec<_>>(), ahead.final_ms);
    // The pause announced the transcript before the recording stopped, and the final is it.
    let (paused_at, paused_text) = ahead.paused.last().expect("a final transcript computed during the pause");
    assert!(Some(*paused_at) < ahead.transcribing_at, "computed ahead only after the stop");
    assert_eq!(paused_text, &text);
    // The same audio as without reading ahead: the same words, word for word.
    let plain = listen_with(false);
    assert!(plain.paused.is_empty());
    assert_eq!(plain.transcript.expect("final").text, text, "the transcript computed ahead differs from the one at the stop");
    assert!(common::word_errors(&reference(2), &common::words(&text)) as f64 / reference(2).len() as f64 <= 0.15, "{text:?}");
}

#[test]
fn speaking_again_after_a_pause_drops_the_transcript_computed_ahead() {
    let asr = AsrWorker::spawn(common::whisper_path()).expect("whisper");
    // Two sentences with 2.5 s between them: the first alone is transcribed during the pause,
    // then the person speaks on; the final transcript must hold both.
    let speech = |i: usize| murmur_engine::audio::wav::read_for_whisper(&common::speech_dir().join(format!("sentence{i}.wav"))).expect("wav");
    let mut pcm = speech(3);
    pcm.extend(std::iter::repeat_n(0.0, 40_000));
    pcm.extend(speech(4));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("two-sentences.wav");
    murmur_engine::audio::wav::write_16k(&path, &pcm).expect("write");
    let input = PacedWav::open(&path, Duration::from_secs(1)).expect("wav");
    let opts = ListenOptions { auto_stop_silence: None, transcribe: common::transcribe_options(), ..ListenOptions::default() };
    let heard = collect(&start(Box::new(input), asr.client(), opts), Duration::from_secs(60));
    let text = heard.transcript.expect("final").text;
    eprintln!("paused: {:?}; final: {text:?}", heard.paused.iter().map(|p| &p.1).collect::<Vec<_>>());
    let first = &heard.paused.first().expect("the first sentence transcribed during the pause").1;
    let mut both = reference(3);
    both.extend(reference(4));
    assert!(common::word_errors(&reference(3), &common::words(first)) as f64 / reference(3).len() as f64 <= 0.2, "{first:?}");
    assert!(common::word_errors(&both, &common::words(&text)) as f64 / both.len() as f64 <= 0.2, "the final lost the speech after the pause: {text:?}");
}

#[test]
fn listening_to_silence_or_a_click_gives_no_speech() {
    let asr = AsrWorker::spawn(common::whisper_path()).expect("whisper");
    for name in ["silence.wav", "click.wav", "noise.wav"] {
        let input = PacedWav::open(&common::speech_dir().join(name), Duration::from_millis(200)).expect("wav");
        let opts = ListenOptions { transcribe: common::transcribe_options(), ..ListenOptions::default() };
        let heard = collect(&start(Box::new(input), asr.client(), opts), Duration::from_secs(20));
        let t = heard.transcript.expect("final");
        assert!(t.no_speech && t.text.is_empty() && !heard.speech_started, "{name}: {t:?}");
        assert!(heard.partials.is_empty(), "{name}: partials for no speech");
    }
}

#[test]
fn a_missing_microphone_is_a_clear_error() {
    match Capture::start(Some("no such microphone")) {
        Err(e @ CaptureError::DeviceNotFound(_)) => assert!(e.to_string().contains("no such microphone")),
        other => panic!("expected DeviceNotFound, got {:?}", other.map(|c| c.device.clone())),
    }
}

/// A private PulseAudio server with a null sink whose monitor is the default source: what is
/// played into the sink is what the "microphone" records. Stopped on drop.
struct VirtualMic {
    dir: tempfile::TempDir,
}

impl VirtualMic {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        // cpal's ALSA `default` device reaches PulseAudio through libasound2-plugins, which
        // reads the server location from the environment like pactl and paplay do.
        std::env::set_var("PULSE_RUNTIME_PATH", dir.path());
        let log = dir.path().join("pulse.log");
        let status = Command::new("pulseaudio")
            .args(["-D", "--exit-idle-time=-1", "--disallow-exit", "-n", "--use-pid-file=yes"])
            .arg("--load=module-native-protocol-unix")
            .arg(format!("--log-target=file:{}", log.display()))
            .status()
            .expect("run pulseaudio (see scripts/setup-system.sh)");
        assert!(status.success(), "pulseaudio did not start: {}", std::fs::read_to_string(&log).unwrap_or_default());
        let mic = Self { dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !pactl(&["info"]) {
            assert!(Instant::now() < deadline, "pulseaudio is not answering");
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(pactl(&["load-module", "module-null-sink", "sink_name=vsink", "rate=48000", "channels=1"]));
        assert!(pactl(&["set-default-sink", "vsink"]));
        assert!(pactl(&["set-default-source", "vsink.monitor"]));
        mic
    }

    fn play(&self, wav: &Path) -> std::process::Child {
        Command::new("paplay").arg(wav).spawn().expect("paplay")
    }
}

impl Drop for VirtualMic {
    fn drop(&mut self) {
        let _ = Command::new("pulseaudio").arg("--kill").status();
        let pid_file: PathBuf = self.dir.path().join("pid");
        if let Some(pid) = std::fs::read_to_string(pid_file).ok().and_then(|p| p.trim().parse::<i32>().ok()) {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

fn pactl(args: &[&str]) -> bool {
    Command::new("pactl").args(args).output().is_ok_and(|o| o.status.success())
}

#[test]
fn speech_into_the_real_microphone_path_is_transcribed() {
    let mic = VirtualMic::start();
    let asr = AsrWorker::spawn(common::whisper_path()).expect("whisper");
    let input = Capture::start(None).expect("the default microphone (PulseAudio's monitor source)");
    eprintln!("recording from {} at {} Hz, {} ch", input.device, input.sample_rate, input.channels);
    let opts = ListenOptions {
        auto_stop_silence: Some(Duration::from_millis(1500)),
        max_duration: Duration::from_secs(20),
        transcribe: common::transcribe_options(),
        ..ListenOptions::default()
    };
    let session = start(Box::new(input), asr.client(), opts);
    std::thread::sleep(Duration::from_millis(500));
    let mut player = mic.play(&common::speech_dir().join("sentence5.wav"));
    let heard = collect(&session, Duration::from_secs(40));
    let _ = player.wait();
    let t = heard.transcript.expect("final");
    eprintln!("heard {:?} ({:.1} s of audio, {} partials)", t.text, t.audio_ms / 1000.0, heard.partials.len());
    // A loaded machine may deliver less audio than played: assert on content and a minimum length.
    assert!(t.audio_ms >= 2000.0, "only {:.0} ms of audio", t.audio_ms);
    assert!(heard.levels.iter().any(|&rms| rms > 0.02), "the level meter never moved");
    let r = reference(5);
    let errors = common::word_errors(&r, &common::words(&t.text));
    assert!(errors as f64 / r.len() as f64 <= 0.3, "heard {:?}", t.text);
}
