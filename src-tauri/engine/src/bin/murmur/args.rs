use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use murmur_engine::llm::{SamplingParams, SessionOptions};
use murmur_engine::models::{Catalog, ModelStore, Role};
use murmur_engine::prompts::Task;

#[derive(Parser, Debug)]
#[command(name = "murmur", version, about = "Private, on-device voice chat about your health records")]
pub struct Cli {
    /// GGUF language model (e.g. a Qwen2.5 Q4_K_M file).
    #[arg(long, global = true, env = "MURMUR_MODEL")]
    pub model: Option<PathBuf>,
    /// whisper.cpp ggml speech model (e.g. ggml-tiny.en.bin).
    #[arg(long, global = true, env = "MURMUR_WHISPER_MODEL")]
    pub whisper_model: Option<PathBuf>,
    /// Where downloaded and imported models live (default: the platform's data directory).
    #[arg(long, global = true, env = "MURMUR_MODELS_DIR")]
    pub models_dir: Option<PathBuf>,
    /// Where conversations are saved (history database and KV caches; default: the
    /// platform's data directory).
    #[arg(long, global = true, env = "MURMUR_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// A model catalog file to use instead of the built-in one.
    #[arg(long, global = true, env = "MURMUR_CATALOG")]
    pub catalog: Option<PathBuf>,
    /// Inference threads (default: performance cores).
    #[arg(long, global = true, env = "MURMUR_THREADS")]
    pub threads: Option<usize>,
    /// Context window in tokens (512 to 32,768).
    #[arg(long, global = true, default_value_t = 4096, value_parser = parse_ctx)]
    pub ctx: u32,
    /// Print per-turn statistics to stderr.
    #[arg(long, global = true)]
    pub stats: bool,
    /// Sampling temperature (0 = greedy).
    #[arg(long, global = true)]
    pub temperature: Option<f32>,
    /// Sampling seed.
    #[arg(long, global = true)]
    pub seed: Option<u32>,
    /// Greedy decoding (deterministic).
    #[arg(long, global = true)]
    pub greedy: bool,
    /// Longest answer, in tokens.
    #[arg(long, global = true, default_value_t = 1024)]
    pub max_tokens: usize,
    /// Repack the weights for faster prefill (a second copy of them in memory): on or off;
    /// default: the platform's (on for desktops, off for phones).
    #[arg(long, global = true, value_name = "on|off", value_parser = on_off)]
    pub repack: Option<bool>,
    /// KV cache type: q8 (8-bit, half the memory) or f16 (default: the platform's: q8 on
    /// phones, f16 on desktops).
    #[arg(long, global = true, value_name = "q8|f16", value_parser = kv_type)]
    pub kv: Option<bool>,
    /// Micro-batch of a prefill step in tokens (default: the platform's).
    #[arg(long, global = true)]
    pub ubatch: Option<u32>,
    /// Most tokens drafted by prompt lookup per step, greedy answers only (0: off).
    #[arg(long, global = true, default_value_t = murmur_engine::llm::session::DEFAULT_DRAFT)]
    pub draft: u32,
    /// Do not decode the next question's first tokens ahead (after an answer, while speaking).
    #[arg(long, global = true)]
    pub no_prefill_ahead: bool,
    /// Reserve logits for every token of a micro-batch, as llama.cpp does by default (to
    /// measure what capping them saves).
    #[arg(long, global = true, hide = true)]
    pub reserve_all_outputs: bool,
    /// More logging on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Ask one question and stream the answer.
    Ask(AskArgs),
    /// Talk in turns; the model keeps the conversation (type /help).
    Chat(ChatArgs),
    /// Transcribe a 16 kHz WAV file.
    Transcribe(TranscribeArgs),
    /// Transcribe a spoken question from a WAV file, then stream the answer.
    Voice(VoiceArgs),
    /// Listen on the microphone: partial lines while you speak, the final transcript after.
    Listen(ListenArgs),
    /// List the audio input devices.
    Devices,
    /// Measure the voice path (real-time factors and latencies) on WAV files.
    BenchVoice(BenchVoiceArgs),
    /// Measure the language model: prefill and decode speed, follow-up time to first token.
    BenchLlm(BenchLlmArgs),
    /// Saved conversations: follow-up time to first token in the session, after a restart
    /// with the saved KV cache and without it; save and load times.
    BenchHistory(BenchHistoryArgs),
    /// Long conversations: a follow-up's time to first token right after the context filled
    /// and the oldest turns were dropped, against a normal follow-up.
    BenchTrim(BenchTrimArgs),
    /// Peak memory with both models loaded and used, and the machine's memory bandwidth.
    BenchMemory,
    /// Saved conversations: list, show, export, remove.
    #[command(subcommand)]
    History(HistoryCommand),
    /// Health records read by code: `record parse FILE`.
    #[command(subcommand)]
    Record(RecordCommand),
    /// Models on this device: list, download, import, verify, remove.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Versions of the engine and its libraries.
    Info,
}

#[derive(Args, Debug)]
pub struct RecordArgs {
    /// A health record (text file) to attach to the conversation.
    #[arg(long)]
    pub record: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct AskArgs {
    /// The question (optional with --task).
    pub question: Option<String>,
    #[command(flatten)]
    pub record: RecordArgs,
    /// A ready-made task on the attached record.
    #[arg(long, value_parser = parse_task)]
    pub task: Option<Task>,
    /// After the answer, check it against the record: numbers not found in it, statuses that
    /// contradict the computed ones, dose- and diagnosis-like phrases.
    #[arg(long)]
    pub check: bool,
    /// Print one JSON object (answer, stats, the parsed record, red flags, the check) instead
    /// of streaming the answer.
    #[arg(long)]
    pub json: bool,
    /// Give the model the record's text only, without the parsed results table (to measure
    /// what the table changes).
    #[arg(long)]
    pub no_record_table: bool,
}

#[derive(Subcommand, Debug)]
pub enum RecordCommand {
    /// Read lab reports (text files) and print their results: value, unit, range, the lab's
    /// flag, the computed status; red flags; lines not understood.
    Parse {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// One JSON object per file (JSON Lines).
        #[arg(long)]
        json: bool,
    },
    /// Check an answer (a text file, or `-` for stdin) against a record: numbers not found in
    /// it or in the questions, statuses that contradict the computed ones, dose- and
    /// diagnosis-like phrases.
    Check {
        /// The record (text file).
        record: PathBuf,
        /// The answer (text file; `-`: stdin).
        answer: PathBuf,
        /// What the person asked (its numbers count as known); repeat for several.
        #[arg(long)]
        question: Vec<String>,
        /// The check as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct ChatArgs {
    #[command(flatten)]
    pub record: RecordArgs,
    /// Save the chat: `new` starts a saved conversation, a number continues that one (its
    /// saved cache makes the first follow-up as quick as in the session it came from).
    /// Without it nothing is saved.
    #[arg(long, value_parser = parse_conversation)]
    pub conversation: Option<ConversationArg>,
}

#[derive(Clone, Copy, Debug)]
pub enum ConversationArg {
    New,
    Id(i64),
}

fn parse_conversation(s: &str) -> Result<ConversationArg, String> {
    match s {
        "new" => Ok(ConversationArg::New),
        _ => s.parse::<i64>().map(ConversationArg::Id).map_err(|_| format!("`{s}`: give a conversation number (see `murmur history list`) or `new`")),
    }
}

#[derive(Subcommand, Debug)]
pub enum HistoryCommand {
    /// Saved conversations, most recent first.
    List {
        /// Only those whose title or messages contain this text.
        #[arg(long)]
        search: Option<String>,
    },
    /// A conversation's messages.
    Show { id: i64 },
    /// A conversation as Markdown (to stdout, or to --out FILE).
    Export {
        id: i64,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Delete conversations (messages, record and cache).
    Rm {
        #[arg(required_unless_present = "all")]
        ids: Vec<i64>,
        /// Delete every conversation (the models stay).
        #[arg(long)]
        all: bool,
    },
}

#[derive(Args, Debug)]
pub struct TranscribeArgs {
    /// A WAV file: any sample rate, channels and bit depth; any length.
    pub wav: PathBuf,
    /// Beam search width (default: greedy).
    #[arg(long)]
    pub beam: Option<usize>,
    /// Print segment timestamps.
    #[arg(long)]
    pub timestamps: bool,
    /// Encoder context in frames (50 per second of audio; default: the full 1500 = 30 s).
    #[arg(long)]
    pub audio_ctx: Option<i32>,
    /// General transcription: without the medical vocabulary hint.
    #[arg(long)]
    pub no_vocabulary_hint: bool,
}

#[derive(Args, Debug)]
pub struct ListenArgs {
    /// Input device name (default: the system's default microphone).
    #[arg(long)]
    pub device: Option<String>,
    /// Use a WAV file played at real-time pace instead of the microphone.
    #[arg(long, conflicts_with = "device")]
    pub file: Option<PathBuf>,
    /// Stream the model's answer to the transcript.
    #[arg(long)]
    pub answer: bool,
    /// Stop after this many seconds of silence following speech (0: only on Enter).
    #[arg(long, default_value_t = 1.5)]
    pub auto_stop: f64,
    /// Stop after this many seconds in any case.
    #[arg(long, default_value_t = 60.0)]
    pub max_secs: f64,
    /// Save the recording as a 16 kHz WAV (off by default: voice is health data).
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// No partial transcripts.
    #[arg(long)]
    pub no_partials: bool,
    #[command(flatten)]
    pub record: RecordArgs,
}

#[derive(Args, Debug)]
pub struct BenchLlmArgs {
    /// Prompt lengths to prefill (tokens).
    #[arg(long, value_delimiter = ',', default_value = "256,1024")]
    pub pp: Vec<usize>,
    /// Tokens to generate.
    #[arg(long, default_value_t = 128)]
    pub tg: usize,
    /// Conversation lengths (tokens) at which to time a follow-up question.
    #[arg(long, value_delimiter = ',', default_value = "250,1000,2000,3500")]
    pub history: Vec<usize>,
    /// Runs per figure.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Prefill batch size.
    #[arg(long, default_value_t = 512)]
    pub batch: u32,
    /// Only the follow-up measurements.
    #[arg(long)]
    pub skip_speed: bool,
    /// Only prefill and generation speed.
    #[arg(long)]
    pub skip_followup: bool,
}

#[derive(Args, Debug)]
pub struct BenchHistoryArgs {
    /// Grow the conversation (by real generation) to at least this many tokens; the restart
    /// figures are taken there.
    #[arg(long, default_value_t = 2000)]
    pub target: usize,
    /// Lengths (tokens) on the way at which the follow-up is also timed in the session and
    /// with the conversation read again (one run each for the latter).
    #[arg(long, value_delimiter = ',', default_value = "250,1000")]
    pub along: Vec<usize>,
    /// Longest answer while growing it.
    #[arg(long, default_value_t = 256)]
    pub answer_tokens: usize,
    /// Runs per figure (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
}

#[derive(Args, Debug)]
pub struct BenchTrimArgs {
    /// Conversations filled to the trim (the median of each figure is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
}

#[derive(Args, Debug)]
pub struct BenchVoiceArgs {
    /// Speech WAV files (their durations set the rows of the table).
    #[arg(required = true)]
    pub wavs: Vec<PathBuf>,
    /// A spoken question for the end-to-end (speech end → first answer token) figure.
    #[arg(long)]
    pub question: Option<PathBuf>,
    /// Encode every clip in whisper.cpp's full 30 s window (default: a window fitted to the
    /// clip, as the app's final transcripts are).
    #[arg(long)]
    pub full_audio_ctx: bool,
    /// Also time the spoken question after conversations of about these lengths (tokens).
    #[arg(long, value_delimiter = ',')]
    pub history: Vec<usize>,
    /// Stop recording this long after the question's audio ends (a person releasing the
    /// button or tapping after a pause; 0: at its last sample). Times are from the end of the
    /// question's audio either way.
    #[arg(long, default_value_t = 0)]
    pub release_after_ms: u64,
    /// Runs per figure (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
}

#[derive(Args, Debug)]
pub struct VoiceArgs {
    pub wav: PathBuf,
    #[command(flatten)]
    pub record: RecordArgs,
}

#[derive(Subcommand, Debug)]
pub enum ModelsCommand {
    /// The catalog and what is installed.
    List,
    /// Download models (resumes an interrupted download; Ctrl-C pauses).
    Download {
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Import a GGUF or whisper.cpp file already on disk (validated first).
    Import {
        path: PathBuf,
        /// Keep the file where it is instead of copying it.
        #[arg(long)]
        reference: bool,
        /// The id to file it under (a catalog id requires the exact catalog file).
        #[arg(long)]
        id: Option<String>,
    },
    /// Re-check an installed model's SHA-256 against the catalog.
    Verify { id: String },
    /// Delete a model (and any partial download), or an import.
    Remove { id: String },
}

fn kv_type(s: &str) -> Result<bool, String> {
    match s {
        "q8" | "q8_0" => Ok(true),
        "f16" => Ok(false),
        _ => Err(format!("{s:?}: expected q8 or f16")),
    }
}

fn on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" | "true" | "1" => Ok(true),
        "off" | "false" | "0" => Ok(false),
        _ => Err(format!("{s:?}: expected on or off")),
    }
}

fn parse_task(s: &str) -> Result<Task, String> {
    s.parse()
}

impl Cli {
    pub fn sampling(&self) -> SamplingParams {
        let mut p = if self.greedy { SamplingParams::greedy() } else { SamplingParams::default() };
        if let Some(t) = self.temperature {
            p.temperature = t;
        }
        if let Some(s) = self.seed {
            p.seed = s;
        }
        p.max_tokens = self.max_tokens;
        p
    }

    pub fn session_options(&self) -> SessionOptions {
        SessionOptions {
            n_ctx: self.ctx,
            threads: Some(self.thread_count()),
            n_ubatch: self.ubatch,
            repack: self.repack,
            kv_q8: self.kv,
            draft_max: self.draft.min(murmur_engine::llm::session::MAX_DRAFT),
            prefill_ahead: !self.no_prefill_ahead,
            reserve_all_outputs: self.reserve_all_outputs,
            ..SessionOptions::default()
        }
    }

    pub fn store(&self) -> ModelStore {
        ModelStore::new(self.models_dir.clone().unwrap_or_else(ModelStore::default_dir))
    }

    /// Where conversations are saved.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(|| dirs::data_dir().unwrap_or_else(std::env::temp_dir).join("murmur"))
    }

    pub fn catalog(&self) -> Result<Catalog, String> {
        match &self.catalog {
            Some(p) => Catalog::load(p).map_err(|e| e.to_string()),
            None => Ok(Catalog::embedded()),
        }
    }

    /// The model for `role`: the one given on the command line, else the engine's choice
    /// among the installed and imported ones.
    fn chosen(&self, given: Option<&PathBuf>, role: Role) -> Result<PathBuf, String> {
        if let Some(p) = given {
            return Ok(p.clone());
        }
        let catalog = self.catalog()?;
        self.store().choose(&catalog, role).map(|m| m.path).map_err(|e| {
            let (download, import, flag) = match role {
                Role::Llm => ("qwen2.5-1.5b-instruct-q4_k_m", "FILE.gguf", "--model FILE.gguf (env MURMUR_MODEL)"),
                Role::Asr => ("whisper-base.en", "FILE.bin", "--whisper-model FILE.bin (env MURMUR_WHISPER_MODEL)"),
            };
            format!("{e}: `murmur models download {download}`, `murmur models import {import}`, or pass {flag}")
        })
    }

    pub fn model_path(&self) -> Result<PathBuf, String> {
        self.chosen(self.model.as_ref(), Role::Llm)
    }

    pub fn whisper_path(&self) -> Result<PathBuf, String> {
        self.chosen(self.whisper_model.as_ref(), Role::Asr)
    }

    /// Threads for inference: `--threads` / `MURMUR_THREADS`, else the platform's default.
    pub fn thread_count(&self) -> usize {
        self.threads.filter(|n| *n > 0).unwrap_or_else(murmur_engine::platform::default_threads)
    }
}

/// `--ctx`: a whole number of tokens within [`murmur_engine::settings::CONTEXT_TOKENS`].
fn parse_ctx(s: &str) -> Result<u32, String> {
    let range = murmur_engine::settings::CONTEXT_TOKENS;
    let n: u32 = s.trim().parse().map_err(|_| format!("{s:?} is not a number of tokens"))?;
    if range.contains(&n) {
        Ok(n)
    } else {
        Err(format!("a context of {n} tokens is outside {} to {} tokens", range.start(), range.end()))
    }
}
