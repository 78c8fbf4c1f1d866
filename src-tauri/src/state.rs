//! What the app keeps between commands: its directories, the settings, and the engine's
//! workers (the loaded models), plus the one answer or voice turn in flight.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use murmur_engine::asr::AsrWorker;
use murmur_engine::llm::LlmWorker;
use murmur_engine::models::{Catalog, DownloadOptions, Downloader, HostPolicy, ModelStore};
use murmur_engine::settings::Settings;
use murmur_engine::store::{ConversationId, Conversations, ModelKey, DEFAULT_KV_CACHE_BYTES};
use murmur_engine::voice::VoiceTurn;
use murmur_engine::{CancelToken, EngineError, ErrorCode};

/// The app's private directories.
#[derive(Clone, Debug)]
pub struct AppDirs {
    /// App data: settings, the conversation database and its KV-cache files.
    pub data: PathBuf,
    /// Downloaded and imported models.
    pub models: PathBuf,
}

impl AppDirs {
    pub fn resolve<R: tauri::Runtime>(app: &tauri::AppHandle<R>) -> Result<Self, Box<dyn std::error::Error>> {
        use tauri::Manager;
        // MURMUR_DATA_DIR: tests and the e2e suite run against a scratch directory.
        let data = match std::env::var_os("MURMUR_DATA_DIR") {
            Some(d) => PathBuf::from(d),
            None => app.path().app_data_dir()?,
        };
        let models = std::env::var_os("MURMUR_MODELS_DIR").map(PathBuf::from).unwrap_or_else(|| data.join("models"));
        Ok(Self { data, models })
    }

    pub fn settings_file(&self) -> PathBuf {
        self.data.join("settings.json")
    }
}

/// The loaded models.
#[derive(Default)]
pub struct Loaded {
    pub llm: Option<LlmWorker>,
    pub llm_id: Option<String>,
    /// Context size and threads the loaded model runs with (a change needs a reload).
    pub llm_options: Option<(u32, Option<usize>)>,
    pub asr: Option<AsrWorker>,
    pub asr_id: Option<String>,
}

pub struct AppState {
    pub dirs: AppDirs,
    pub catalog: Catalog,
    pub store: ModelStore,
    pub downloader: Result<Downloader, EngineError>,
    pub settings: Mutex<Settings>,
    /// A problem with the settings file found at start (shown once, never overwritten).
    pub settings_problem: Mutex<Option<EngineError>>,
    pub loaded: Mutex<Loaded>,
    /// The answer in flight: its cancel token, and whether it is still streaming.
    pub answer: Mutex<Option<(CancelToken, Arc<AtomicBool>)>>,
    pub voice: Mutex<Option<VoiceTurn>>,
    /// Reading an attached record into the cache: Stop cancels it too (the record stays
    /// attached and is read with the next question).
    pub priming: Mutex<Option<CancelToken>>,
    /// Reading ahead the words being typed (a newer text, Stop or sending cancels it).
    pub typing: Mutex<Option<CancelToken>>,
    pub downloads: Mutex<HashMap<String, CancelToken>>,
    /// The saved conversations (an unusable database is reported, never replaced: the chat
    /// then works without saving).
    pub history: Result<Arc<Conversations>, EngineError>,
    /// The conversation open in the chat (`None`: a new one, saved with its first question).
    pub conversation: Mutex<Option<ConversationId>>,
    /// The record attached to the open conversation.
    pub record: Mutex<Option<String>>,
}

impl AppState {
    pub fn new(dirs: AppDirs) -> Self {
        let (settings, problem) = match Settings::load(&dirs.settings_file()) {
            Ok(s) => (s, None),
            Err(e) => (Settings::default(), Some(EngineError::from_coded(&e))),
        };
        let catalog = test_catalog().unwrap_or_else(Catalog::embedded);
        let downloader = Downloader::new(DownloadOptions { hosts: download_hosts(&catalog), ..DownloadOptions::default() })
            .map_err(|e| EngineError::from_coded(&e));
        let history = Conversations::open(&dirs.data, DEFAULT_KV_CACHE_BYTES).map(Arc::new).map_err(|e| {
            tracing::warn!(code = ?murmur_engine::error::Coded::code(&e), "the conversation history cannot be used");
            EngineError::from_coded(&e)
        });
        Self {
            history,
            conversation: Mutex::new(None),
            record: Mutex::new(None),
            store: ModelStore::new(&dirs.models),
            dirs,
            catalog,
            downloader,
            settings: Mutex::new(settings),
            settings_problem: Mutex::new(problem),
            loaded: Mutex::new(Loaded::default()),
            answer: Mutex::new(None),
            voice: Mutex::new(None),
            priming: Mutex::new(None),
            typing: Mutex::new(None),
            downloads: Mutex::new(HashMap::new()),
        }
    }

    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    /// A handle to the loaded language model.
    pub fn llm(&self) -> Result<murmur_engine::llm::LlmClient, EngineError> {
        lock(&self.loaded).llm.as_ref().map(|w| w.client()).ok_or_else(|| EngineError::new(ErrorCode::ModelNotLoaded, "the language model is not loaded yet"))
    }

    pub fn asr(&self) -> Result<murmur_engine::asr::AsrClient, EngineError> {
        lock(&self.loaded).asr.as_ref().map(|w| w.client()).ok_or_else(|| EngineError::new(ErrorCode::ModelNotLoaded, "the speech model is not loaded yet"))
    }

    pub fn history(&self) -> Result<Arc<Conversations>, EngineError> {
        self.history.clone()
    }

    /// What saved KV states must match: the loaded model file and context size.
    pub fn llm_key(&self) -> Result<ModelKey, EngineError> {
        lock(&self.loaded)
            .llm
            .as_ref()
            .map(|w| ModelKey { fingerprint: *w.fingerprint(), n_ctx: w.n_ctx() })
            .ok_or_else(|| EngineError::new(ErrorCode::ModelNotLoaded, "the language model is not loaded yet"))
    }

    /// The open conversation, created now if it is a new one (with the attached record and
    /// the loaded model's id). `None` when the history cannot be used.
    pub fn saved_conversation(&self) -> Result<Option<(Arc<Conversations>, ConversationId)>, EngineError> {
        let Ok(history) = self.history() else { return Ok(None) };
        let mut current = lock(&self.conversation);
        if let Some(id) = *current {
            return Ok(Some((history, id)));
        }
        let record = lock(&self.record).clone();
        let model = lock(&self.loaded).llm_id.clone();
        let id = history.db.create(record.as_deref(), model.as_deref()).map_err(|e| EngineError::from_coded(&e))?;
        *current = Some(id);
        Ok(Some((history, id)))
    }

    /// Marks an answer as started; `Busy` if one is still streaming.
    pub fn begin_answer(&self) -> Result<(CancelToken, Arc<AtomicBool>), EngineError> {
        let mut answer = lock(&self.answer);
        if answer.as_ref().is_some_and(|(_, streaming)| streaming.load(Ordering::Acquire)) {
            return Err(EngineError::new(ErrorCode::Busy, "an answer is still being written: stop it first"));
        }
        let started = (CancelToken::new(), Arc::new(AtomicBool::new(true)));
        *answer = Some(started.clone());
        Ok(started)
    }
}

/// Downloads go only to the catalog's hosts over https. Development and test builds may also
/// use plain http to a server on this device (the end-to-end tests' model server).
pub fn download_hosts(catalog: &Catalog) -> HostPolicy {
    HostPolicy { loopback_http: cfg!(any(debug_assertions, feature = "test-hosts")), ..HostPolicy::catalog(catalog) }
}

/// Development and test builds may replace the catalog (`MURMUR_CATALOG`), e.g. with one that
/// points at a server on 127.0.0.1 (the downloader allows plain http to this device only).
/// Release builds always use the catalog built into the app.
fn test_catalog() -> Option<Catalog> {
    if cfg!(any(debug_assertions, feature = "test-hosts")) {
        let path = std::env::var_os("MURMUR_CATALOG")?;
        match Catalog::load(std::path::Path::new(&path)) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!("MURMUR_CATALOG: {e}");
                None
            }
        }
    } else {
        None
    }
}

/// Locks a mutex, recovering from a poisoned one (a panicked command must not brick the app).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
