//! What the app keeps between commands: its directories, the settings, the model catalog and
//! downloads, and the engine's conversation [`Controller`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use murmur_engine::controller::{Controller, ModelEvent};
use murmur_engine::models::{Catalog, DownloadOptions, Downloader, HostPolicy, ModelStore};
use murmur_engine::settings::Settings;
use murmur_engine::store::{Conversations, DEFAULT_KV_CACHE_BYTES};
use murmur_engine::{CancelToken, EngineError};

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

/// What the app keeps: its directories, the model catalog, store and downloads, the settings,
/// and the engine's [`Controller`], the one owner of the open conversation (its id, record,
/// models, history and busy state). Commands hold no copy of the conversation.
pub struct AppState {
    pub dirs: AppDirs,
    pub catalog: Catalog,
    pub store: ModelStore,
    pub downloader: Result<Downloader, EngineError>,
    pub settings: Mutex<Settings>,
    /// A problem with the settings file found at start (shown once, never overwritten).
    pub settings_problem: Mutex<Option<EngineError>>,
    pub downloads: Mutex<HashMap<String, CancelToken>>,
    pub chat: Arc<Controller>,
}

impl AppState {
    /// `on_model` hears every model load, failure and unload (the app broadcasts them).
    pub fn new(dirs: AppDirs, on_model: impl Fn(ModelEvent) + Send + Sync + 'static) -> Self {
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
        let chat = Controller::new(history, on_model);
        if settings.instructions.is_some() {
            let _ = chat.set_instructions(settings.instructions.clone());
        }
        Self {
            chat,
            store: ModelStore::new(&dirs.models),
            dirs,
            catalog,
            downloader,
            settings: Mutex::new(settings),
            settings_problem: Mutex::new(problem),
            downloads: Mutex::new(HashMap::new()),
        }
    }

    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
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
