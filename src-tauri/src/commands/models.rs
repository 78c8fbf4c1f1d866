//! The models on the device: the catalog and what is installed, downloads with progress,
//! imports, removal, and loading the chosen models.

use murmur_engine::controller::{AsrSpec, LlmSpec, ModelEvent};
use murmur_engine::models::{import, CatalogEntry, ChosenModel, DownloadProgress, ImportMode, Imported, ImportedModel, Installed, Role};
use murmur_engine::{CancelToken, EngineError, ErrorCode};
use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;
use tauri::{AppHandle, Emitter, Manager, Runtime, State};

use super::{blocking, invalid, CmdResult};
use crate::state::{lock, AppState};

#[derive(Clone, Debug, Serialize, Deserialize, specta::Type)]
pub struct CatalogModel {
    pub entry: CatalogEntry,
    pub installed: Installed,
}

/// Everything the onboarding and settings screens show about models.
#[derive(Clone, Debug, Serialize, Deserialize, specta::Type)]
pub struct ModelsView {
    pub catalog: Vec<CatalogModel>,
    pub imported: Vec<ImportedModel>,
    /// What would be loaded for each role now (`None`: nothing installed).
    pub llm: Option<ChosenModel>,
    pub asr: Option<ChosenModel>,
    /// What is loaded now.
    pub loaded_llm: Option<String>,
    pub loaded_asr: Option<String>,
}

/// The event name of [`ModelState`] (tauri-specta's kebab-case of the type name; a test checks
/// it against the bindings).
pub const MODEL_STATE_EVENT: &str = "model-state";

/// Broadcast whenever the loaded models change (or fail to load).
#[derive(Clone, Debug, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ModelState {
    Loading { role: Role, id: String },
    Loaded { role: Role, id: String },
    Failed { role: Role, error: EngineError },
    Unloaded { role: Role },
}

impl From<ModelEvent> for ModelState {
    fn from(e: ModelEvent) -> Self {
        match e {
            ModelEvent::Loading { role, id } => Self::Loading { role, id },
            ModelEvent::Loaded { role, id } => Self::Loaded { role, id },
            ModelEvent::Failed { role, error } => Self::Failed { role, error },
            ModelEvent::Unloaded { role } => Self::Unloaded { role },
        }
    }
}

/// Tells the window what the models are doing (the controller calls this on every change).
pub fn broadcast<R: Runtime>(app: &AppHandle<R>, event: ModelEvent) {
    if let Err(e) = app.emit(MODEL_STATE_EVENT, ModelState::from(event)) {
        tracing::warn!("model state event: {e}");
    }
}

fn view(state: &AppState) -> ModelsView {
    let settings = state.settings();
    let catalog = state.store.list(&state.catalog).into_iter().map(|(entry, installed)| CatalogModel { entry: entry.clone(), installed }).collect();
    let (loaded_llm, loaded_asr) = state.chat.loaded();
    ModelsView {
        catalog,
        imported: state.store.imported(&state.catalog),
        llm: state.store.chosen(&state.catalog, Role::Llm, settings.llm_model.as_deref()),
        asr: state.store.chosen(&state.catalog, Role::Asr, settings.asr_model.as_deref()),
        loaded_llm,
        loaded_asr,
    }
}

#[tauri::command]
#[specta::specta]
pub async fn models_list<R: Runtime>(app: AppHandle<R>) -> CmdResult<ModelsView> {
    blocking(move || Ok(view(&app.state::<AppState>()))).await
}

/// Downloads a catalog model; progress streams on `progress` (percent, bytes, speed, ETA)
/// and ends with `done`, `failed` (with the reason's code) or `cancelled` (resumable).
#[tauri::command]
#[specta::specta]
pub async fn models_download(state: State<'_, AppState>, id: String, progress: Channel<DownloadProgress>) -> CmdResult<()> {
    let entry = state.catalog.get(&id).map_err(|e| EngineError::from_coded(&e))?.clone();
    let downloader = state.downloader.as_ref().map_err(Clone::clone)?;
    let cancel = CancelToken::new();
    {
        let mut downloads = lock(&state.downloads);
        if downloads.contains_key(&id) {
            return Err(EngineError::new(ErrorCode::DownloadInProgress, format!("{id} is already being downloaded")));
        }
        downloads.insert(id.clone(), cancel.clone());
    }
    let mut last_sent = std::time::Instant::now() - super::FRAME;
    let mut on_progress = |p: &DownloadProgress| {
        // State changes always; byte counts at most once a frame.
        let bytes_only = matches!(p.state, murmur_engine::models::DownloadState::Downloading);
        if !bytes_only || last_sent.elapsed() >= super::FRAME {
            last_sent = std::time::Instant::now();
            let _ = progress.send(p.clone());
        }
    };
    let result = downloader.download(&entry, &state.store, &cancel, &mut on_progress).await;
    lock(&state.downloads).remove(&id);
    result.map(|_| ()).map_err(|e| EngineError::from_coded(&e))
}

/// Pauses a download (the part stays; downloading again resumes it).
#[tauri::command]
#[specta::specta]
pub fn models_cancel_download(state: State<'_, AppState>, id: String) -> CmdResult<()> {
    if let Some(c) = lock(&state.downloads).get(&id) {
        c.cancel();
    }
    Ok(())
}

/// Imports a model file the person picked: validated by its header before it is accepted;
/// copied into the app's storage (`reference`: kept where it is, desktop only). Only a file
/// the person chose in the file picker is accepted (the picker adds it to the fs scope): the
/// web view cannot name any other path.
#[tauri::command]
#[specta::specta]
pub async fn models_import<R: Runtime>(app: AppHandle<R>, path: String, reference: bool) -> CmdResult<Imported> {
    use tauri_plugin_fs::FsExt;
    if path.trim().is_empty() {
        return Err(invalid("no file was chosen"));
    }
    if !app.try_fs_scope().is_some_and(|scope| scope.is_allowed(&path)) {
        return Err(invalid("choose the model file with the file picker"));
    }
    let state = app.state::<AppState>();
    let (store, catalog) = (state.store.clone(), state.catalog.clone());
    let mode = if reference && crate::platform::IMPORT_BY_REFERENCE { ImportMode::Reference } else { ImportMode::Copy };
    blocking(move || import(&store, &catalog, std::path::Path::new(&path), mode, None).map_err(|e| EngineError::from_coded(&e))).await
}

/// Deletes a downloaded or imported model (never a file imported by reference); a loaded one
/// is unloaded first.
#[tauri::command]
#[specta::specta]
pub async fn models_remove<R: Runtime>(app: AppHandle<R>, id: String) -> CmdResult<()> {
    blocking(move || {
        let state = app.state::<AppState>();
        state.chat.unload(Role::Llm, &id);
        state.chat.unload(Role::Asr, &id);
        let io = |e: std::io::Error| EngineError::new(ErrorCode::StoreIo, e.to_string());
        let removed = match state.catalog.get(&id) {
            Ok(entry) => state.store.remove(entry).map_err(io)?,
            Err(_) => state.store.remove_imported(&id).map_err(io)?,
        };
        if removed {
            Ok(())
        } else {
            Err(invalid(format!("no model {id:?} on this device")))
        }
    })
    .await
}

/// Loads the chosen language and speech models (replacing loaded ones; the open conversation
/// goes on in the new model). `model-state` events tell the window; returns what is loaded.
/// The speech model is optional: typing works without it, and its event says why the mic is
/// off.
#[tauri::command]
#[specta::specta]
pub async fn models_load<R: Runtime>(app: AppHandle<R>) -> CmdResult<ModelsView> {
    blocking(move || {
        let state = app.state::<AppState>();
        let settings = state.settings();
        let chosen = |role, preferred: Option<&String>| state.store.chosen(&state.catalog, role, preferred.map(String::as_str));
        let llm = chosen(Role::Llm, settings.llm_model.as_ref())
            .ok_or_else(|| EngineError::new(ErrorCode::NoModelInstalled, "no language model is installed: download one or use a model file you have"))?;
        state.chat.load_llm(LlmSpec { id: llm.id, path: llm.path, options: settings.session_options() })?;
        if let Some(asr) = chosen(Role::Asr, settings.asr_model.as_ref()) {
            let _ = state.chat.load_asr(AsrSpec { id: asr.id, path: asr.path });
        }
        Ok(view(&state))
    })
    .await
}
