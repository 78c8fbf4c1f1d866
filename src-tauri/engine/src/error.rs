//! The one error shape that crosses to the app: `{code, message}`.
//!
//! Every engine error type (`LlmError`, `AsrError`, `AudioError`, `CaptureError`,
//! `DownloadError`, `ImportError`, `CatalogError`, `StoreError`, `WorkerError`) maps to an
//! [`ErrorCode`] here. The codes are stable: the UI switches on them, so renaming one is a
//! breaking change. This enum is the one place they are documented.

use serde::{Deserialize, Serialize};

/// Stable error codes, serialised as `"area.name"` strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum ErrorCode {
    // ── model files (language and speech models alike) ──────────────────────────────────
    /// The model file does not exist (moved, deleted, or never installed).
    #[serde(rename = "model.not_found")]
    ModelNotFound,
    /// No model of the needed role is installed or imported on this device.
    #[serde(rename = "model.none_installed")]
    NoModelInstalled,
    /// The file exists but cannot be read (permissions, I/O error).
    #[serde(rename = "model.unreadable")]
    ModelUnreadable,
    /// The file is not a model of the expected kind (wrong magic bytes).
    #[serde(rename = "model.wrong_format")]
    ModelWrongFormat,
    /// The file is shorter than its own header says: an incomplete download or copy.
    #[serde(rename = "model.truncated")]
    ModelTruncated,
    /// The header is damaged or not the model family's.
    #[serde(rename = "model.damaged")]
    ModelDamaged,
    /// A well-formed model of an architecture the engine does not run.
    #[serde(rename = "model.unsupported")]
    ModelUnsupported,
    /// llama.cpp or whisper.cpp refused to load a file that passed the preflight checks.
    #[serde(rename = "model.load_failed")]
    ModelLoadFailed,
    /// The model is installed but not loaded yet (the app loads it after onboarding).
    #[serde(rename = "model.not_loaded")]
    ModelNotLoaded,

    // ── the language model ─────────────────────────────────────────────────────────────
    /// The inference context could not be created (usually: not enough memory).
    #[serde(rename = "llm.context")]
    LlmContext,
    /// The conversation could not be formatted with the model's chat template.
    #[serde(rename = "llm.template")]
    LlmTemplate,
    /// The person's message alone does not fit in the context next to the instructions.
    #[serde(rename = "llm.message_too_long")]
    MessageTooLong,
    /// The attached record (with the instructions) does not fit in the context.
    #[serde(rename = "llm.record_too_long")]
    RecordTooLong,
    /// The assistant's (customised) instructions alone leave no room in the context.
    #[serde(rename = "llm.instructions_too_long")]
    InstructionsTooLong,
    /// llama.cpp failed while computing.
    #[serde(rename = "llm.inference")]
    LlmInference,

    // ── speech recognition ─────────────────────────────────────────────────────────────
    /// whisper.cpp failed while transcribing.
    #[serde(rename = "asr.inference")]
    AsrInference,

    // ── audio files and the microphone ─────────────────────────────────────────────────
    /// An audio file could not be read or is not audio.
    #[serde(rename = "audio.read")]
    AudioRead,
    /// A recording could not be written.
    #[serde(rename = "audio.write")]
    AudioWrite,
    /// An audio file holds no samples.
    #[serde(rename = "audio.empty")]
    AudioEmpty,
    /// Converting the audio to 16 kHz failed.
    #[serde(rename = "audio.resample")]
    AudioResample,
    /// There is no microphone (or no audio system).
    #[serde(rename = "mic.not_found")]
    MicNotFound,
    /// The person (or the OS) denied microphone access.
    #[serde(rename = "mic.permission_denied")]
    MicPermissionDenied,
    /// Another app holds the microphone.
    #[serde(rename = "mic.busy")]
    MicBusy,
    /// The microphone went away while recording.
    #[serde(rename = "mic.disconnected")]
    MicDisconnected,
    /// The microphone offers no sample format the engine can use.
    #[serde(rename = "mic.unsupported_format")]
    MicUnsupportedFormat,
    /// Any other audio-system failure.
    #[serde(rename = "mic.backend")]
    MicBackend,

    // ── the model catalog, downloads and imports ───────────────────────────────────────
    /// The catalog file could not be read.
    #[serde(rename = "catalog.unreadable")]
    CatalogUnreadable,
    /// The catalog is malformed.
    #[serde(rename = "catalog.invalid")]
    CatalogInvalid,
    /// No such model id in the catalog.
    #[serde(rename = "catalog.unknown_model")]
    UnknownModel,
    /// The download address does not parse as a URL.
    #[serde(rename = "download.bad_url")]
    DownloadBadUrl,
    /// The download address is not https (plain http is allowed to this device only).
    #[serde(rename = "download.insecure")]
    DownloadInsecure,
    /// The server refused the request (e.g. 404, 403).
    #[serde(rename = "download.http")]
    DownloadHttp,
    /// The network failed repeatedly (offline, timeouts, connections cut short).
    #[serde(rename = "download.network")]
    DownloadNetwork,
    /// The server's file has another size than the catalog's.
    #[serde(rename = "download.size_mismatch")]
    DownloadSizeMismatch,
    /// The downloaded bytes are not the catalog's file (SHA-256 differs); they were deleted.
    #[serde(rename = "download.hash_mismatch")]
    DownloadHashMismatch,
    /// Not enough free space for the rest of the download.
    #[serde(rename = "download.disk_full")]
    DiskFull,
    /// The same model is already being downloaded (by this or another process).
    #[serde(rename = "download.in_progress")]
    DownloadInProgress,
    /// A file operation of the download failed.
    #[serde(rename = "download.io")]
    DownloadIo,
    /// The picked file is neither a GGUF language model nor a whisper.cpp model.
    #[serde(rename = "import.not_a_model")]
    ImportNotAModel,
    /// The file was imported under a catalog id but is not that catalog file.
    #[serde(rename = "import.not_the_catalog_model")]
    ImportNotTheCatalogModel,
    /// A model with that id or file name is already on the device.
    #[serde(rename = "import.exists")]
    ImportExists,
    /// A file operation of the import failed.
    #[serde(rename = "import.io")]
    ImportIo,
    /// The model store could not be read or changed.
    #[serde(rename = "store.io")]
    StoreIo,

    // ── settings ───────────────────────────────────────────────────────────────────────
    /// A setting is out of range (the message says which and the range).
    #[serde(rename = "settings.invalid")]
    SettingsInvalid,
    /// The settings file is damaged; it was left as it is and the defaults are used.
    #[serde(rename = "settings.unreadable")]
    SettingsUnreadable,
    /// The settings could not be saved.
    #[serde(rename = "settings.write")]
    SettingsWrite,

    // ── conversation history ───────────────────────────────────────────────────────────
    /// The history file is not an SQLite database (it was left as it is).
    #[serde(rename = "history.not_a_database")]
    HistoryNotADatabase,
    /// The history was written by a newer version of Murmur (it was left as it is).
    #[serde(rename = "history.newer_schema")]
    HistoryNewerSchema,
    /// The history cannot be written (read-only file or folder, or disk full).
    #[serde(rename = "history.read_only")]
    HistoryReadOnly,
    /// The history database is damaged (it was left as it is).
    #[serde(rename = "history.corrupt")]
    HistoryCorrupt,
    /// No conversation with that id.
    #[serde(rename = "history.not_found")]
    ConversationNotFound,
    /// Any other failure reading or writing the history.
    #[serde(rename = "history.io")]
    HistoryIo,

    // ── requests ─────────────────────────────────────────────────────────────────────────
    /// A request the app cannot take as it is (empty message, a record of the wrong kind…).
    #[serde(rename = "input.invalid")]
    InvalidInput,
    /// An answer (or a voice turn) is already running: stop it or wait.
    #[serde(rename = "busy")]
    Busy,

    // ── workers and streams ────────────────────────────────────────────────────────────
    /// The request was cancelled (Stop, a closed screen, a worker shutting down).
    #[serde(rename = "cancelled")]
    Cancelled,
    /// The worker thread has stopped (or could not start); its model must be loaded again.
    #[serde(rename = "worker.stopped")]
    WorkerStopped,
}

impl ErrorCode {
    /// The code as it appears on the wire (`"llm.message_too_long"`).
    pub fn as_str(self) -> &'static str {
        ALL.iter().position(|c| *c == self).and_then(|i| NAMES.get(i)).copied().unwrap_or("unknown")
    }
}

/// Every code, for documentation and tests.
pub const ALL: &[ErrorCode] = &[
    ErrorCode::ModelNotFound,
    ErrorCode::NoModelInstalled,
    ErrorCode::ModelUnreadable,
    ErrorCode::ModelWrongFormat,
    ErrorCode::ModelTruncated,
    ErrorCode::ModelDamaged,
    ErrorCode::ModelUnsupported,
    ErrorCode::ModelLoadFailed,
    ErrorCode::ModelNotLoaded,
    ErrorCode::LlmContext,
    ErrorCode::LlmTemplate,
    ErrorCode::MessageTooLong,
    ErrorCode::RecordTooLong,
    ErrorCode::InstructionsTooLong,
    ErrorCode::LlmInference,
    ErrorCode::AsrInference,
    ErrorCode::AudioRead,
    ErrorCode::AudioWrite,
    ErrorCode::AudioEmpty,
    ErrorCode::AudioResample,
    ErrorCode::MicNotFound,
    ErrorCode::MicPermissionDenied,
    ErrorCode::MicBusy,
    ErrorCode::MicDisconnected,
    ErrorCode::MicUnsupportedFormat,
    ErrorCode::MicBackend,
    ErrorCode::CatalogUnreadable,
    ErrorCode::CatalogInvalid,
    ErrorCode::UnknownModel,
    ErrorCode::DownloadBadUrl,
    ErrorCode::DownloadInsecure,
    ErrorCode::DownloadHttp,
    ErrorCode::DownloadNetwork,
    ErrorCode::DownloadSizeMismatch,
    ErrorCode::DownloadHashMismatch,
    ErrorCode::DiskFull,
    ErrorCode::DownloadInProgress,
    ErrorCode::DownloadIo,
    ErrorCode::ImportNotAModel,
    ErrorCode::ImportNotTheCatalogModel,
    ErrorCode::ImportExists,
    ErrorCode::ImportIo,
    ErrorCode::StoreIo,
    ErrorCode::SettingsInvalid,
    ErrorCode::SettingsUnreadable,
    ErrorCode::SettingsWrite,
    ErrorCode::HistoryNotADatabase,
    ErrorCode::HistoryNewerSchema,
    ErrorCode::HistoryReadOnly,
    ErrorCode::HistoryCorrupt,
    ErrorCode::ConversationNotFound,
    ErrorCode::HistoryIo,
    ErrorCode::InvalidInput,
    ErrorCode::Busy,
    ErrorCode::Cancelled,
    ErrorCode::WorkerStopped,
];

/// The wire names, in the order of [`ALL`] (checked by a test).
const NAMES: &[&str] = &[
    "model.not_found",
    "model.none_installed",
    "model.unreadable",
    "model.wrong_format",
    "model.truncated",
    "model.damaged",
    "model.unsupported",
    "model.load_failed",
    "model.not_loaded",
    "llm.context",
    "llm.template",
    "llm.message_too_long",
    "llm.record_too_long",
    "llm.instructions_too_long",
    "llm.inference",
    "asr.inference",
    "audio.read",
    "audio.write",
    "audio.empty",
    "audio.resample",
    "mic.not_found",
    "mic.permission_denied",
    "mic.busy",
    "mic.disconnected",
    "mic.unsupported_format",
    "mic.backend",
    "catalog.unreadable",
    "catalog.invalid",
    "catalog.unknown_model",
    "download.bad_url",
    "download.insecure",
    "download.http",
    "download.network",
    "download.size_mismatch",
    "download.hash_mismatch",
    "download.disk_full",
    "download.in_progress",
    "download.io",
    "import.not_a_model",
    "import.not_the_catalog_model",
    "import.exists",
    "import.io",
    "store.io",
    "settings.invalid",
    "settings.unreadable",
    "settings.write",
    "history.not_a_database",
    "history.newer_schema",
    "history.read_only",
    "history.corrupt",
    "history.not_found",
    "history.io",
    "input.invalid",
    "busy",
    "cancelled",
    "worker.stopped",
];

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An engine error as the app sees it: a stable code to switch on and a message for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[error("{message}")]
pub struct EngineError {
    pub code: ErrorCode,
    pub message: String,
}

impl EngineError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    /// The error with its causes in one message (`error: cause: cause`).
    pub fn from_coded<E: Coded + std::error::Error + ?Sized>(e: &E) -> Self {
        let mut message = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            let text = s.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = s.source();
        }
        Self { code: e.code(), message }
    }

    pub fn cancelled() -> Self {
        Self::new(ErrorCode::Cancelled, "cancelled")
    }
}

/// An error type with a stable [`ErrorCode`].
pub trait Coded {
    fn code(&self) -> ErrorCode;
}

impl Coded for EngineError {
    fn code(&self) -> ErrorCode {
        self.code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_unique_dotted_wire_name() {
        assert_eq!(ALL.len(), NAMES.len());
        let mut seen = std::collections::HashSet::new();
        for (code, name) in ALL.iter().zip(NAMES) {
            let wire = serde_json::to_value(code).expect("serialise");
            assert_eq!(wire, serde_json::Value::String((*name).to_string()), "{code:?}");
            assert_eq!(code.as_str(), *name);
            assert!(seen.insert(*name), "duplicate {name}");
            let back: ErrorCode = serde_json::from_value(wire).expect("deserialise");
            assert_eq!(back, *code);
        }
    }

    #[test]
    fn engine_errors_serialise_as_code_and_message() {
        let e = EngineError::new(ErrorCode::MessageTooLong, "too long");
        let json = serde_json::to_string(&e).expect("json");
        assert_eq!(json, r#"{"code":"llm.message_too_long","message":"too long"}"#);
    }
}
