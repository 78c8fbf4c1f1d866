//! The models on the device: the catalog and what is installed, downloads with progress,
//! imports, removal, and loading the chosen models.

use murmur_engine::asr::AsrWorker;
use murmur_engine::llm::LlmWorker;
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

fn broadcast<R: Runtime>(app: &AppHandle<R>, state: ModelState) {
    if let Err(e) = app.emit(MODEL_STATE_EVENT, state) {
        tracing::warn!("model state event: {e}");
    }
}

fn chosen(state: &AppState, role: Role, preferred: Option<&str>) -> Option<ChosenModel> {
    // The person's choice in settings, if it is still installed; else the engine's choice.
    if let Some(id) = preferred {
        if let Ok(entry) = state.catalog.get(id) {
            if let Some(path) = state.store.usable(entry) {
                return Some(ChosenModel { id: id.to_string(), role, path, is_default: entry.default });
            }
        }
        if let Some(m) = state.store.imported(&state.catalog).into_iter().find(|m| m.id == id && m.role == role && m.present) {
            return Some(ChosenModel { id: m.id, role, path: m.path, is_default: false });
        }
    }
    state.store.choose(&state.catalog, role).ok()
}

#[tauri::command]
#[specta::specta]
pub fn models_list(state: State<'_, AppState>) -> CmdResult<ModelsView> {
    let settings = state.settings();
    let catalog = state.store.list(&state.catalog).into_iter().map(|(entry, installed)| CatalogModel { entry: entry.clone(), installed }).collect();
    let loaded = lock(&state.loaded);
    Ok(ModelsView {
        catalog,
        imported: state.store.imported(&state.catalog),
        llm: chosen(&state, Role::Llm, settings.llm_model.as_deref()),
        asr: chosen(&state, Role::Asr, settings.asr_model.as_deref()),
        loaded_llm: loaded.llm_id.clone(),
        loaded_asr: loaded.asr_id.clone(),
    })
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

/// Deletes a downloaded or imported model (never a file imported by reference).
#[tauri::command]
#[specta::specta]
pub fn models_remove<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>, id: String) -> CmdResult<()> {
    {
        let mut loaded = lock(&state.loaded);
        if loaded.llm_id.as_deref() == Some(id.as_str()) {
            loaded.llm = None;
            loaded.llm_id = None;
            broadcast(&app, ModelState::Unloaded { role: Role::Llm });
        }
        if loaded.asr_id.as_deref() == Some(id.as_str()) {
            loaded.asr = None;
            loaded.asr_id = None;
            broadcast(&app, ModelState::Unloaded { role: Role::Asr });
        }
    }
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
}

/// Loads the chosen language and speech models (replacing loaded ones). Broadcasts
/// `ModelState`; returns what was loaded.
#[tauri::command]
#[specta::specta]
pub async fn models_load<R: Runtime>(app: AppHandle<R>) -> CmdResult<ModelsView> {
    let state = app.state::<AppState>();
    let settings = state.settings();
    let llm = chosen(&state, Role::Llm, settings.llm_model.as_deref())
        .ok_or_else(|| EngineError::new(ErrorCode::NoModelInstalled, "no language model is installed: download one or use a model file you have"))?;
    let asr = chosen(&state, Role::Asr, settings.asr_model.as_deref());
    // Unload first: two models of this size must never be in memory together on a phone.
    let options = settings.session_options();
    {
        let mut loaded = lock(&state.loaded);
        if loaded.llm_id.as_deref() != Some(llm.id.as_str()) || loaded.llm_options != Some((options.n_ctx, options.threads)) {
            loaded.llm = None;
            loaded.llm_id = None;
            loaded.llm_options = None;
        }
    }
    if lock(&state.loaded).llm.is_none() {
        broadcast(&app, ModelState::Loading { role: Role::Llm, id: llm.id.clone() });
        let (path, spawn_options) = (llm.path.clone(), options.clone());
        match blocking(move || LlmWorker::spawn(path, spawn_options).map_err(|e| EngineError::from_coded(&e))).await {
            Ok(worker) => {
                if let Some(instructions) = settings.instructions.clone() {
                    let _ = worker.set_system_prompt(Some(instructions));
                }
                // Read the instructions into the cache now, so the first question is quick.
                let _ = worker.prime(CancelToken::new());
                let mut loaded = lock(&state.loaded);
                loaded.llm_options = Some((options.n_ctx, options.threads));
                loaded.llm = Some(worker);
                loaded.llm_id = Some(llm.id.clone());
                broadcast(&app, ModelState::Loaded { role: Role::Llm, id: llm.id.clone() });
            }
            Err(error) => {
                broadcast(&app, ModelState::Failed { role: Role::Llm, error: error.clone() });
                return Err(error);
            }
        }
    }
    if let Some(asr) = asr {
        let current = lock(&state.loaded).asr_id.clone();
        if current.as_deref() != Some(asr.id.as_str()) {
            broadcast(&app, ModelState::Loading { role: Role::Asr, id: asr.id.clone() });
            let path = asr.path.clone();
            match blocking(move || AsrWorker::spawn(path).map_err(|e| EngineError::from_coded(&e))).await {
                Ok(worker) => {
                    let mut loaded = lock(&state.loaded);
                    loaded.asr = Some(worker);
                    loaded.asr_id = Some(asr.id.clone());
                    broadcast(&app, ModelState::Loaded { role: Role::Asr, id: asr.id.clone() });
                }
                // Voice is optional: typing still works; the event tells the UI why the mic is off.
                Err(error) => {
                    broadcast(&app, ModelState::Failed { role: Role::Asr, error });
                }
            }
        }
    }
    models_list(state)
}
