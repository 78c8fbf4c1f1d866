//! Settings: read, validate and save; what changes needs a model reload is applied by the
//! next `models_load`, the instructions at once.

use murmur_engine::settings::Settings;
use murmur_engine::{prompts, EngineError};
use serde::{Deserialize, Serialize};
use tauri::State;

use super::{blocking, CmdResult};
use crate::state::{lock, AppState};

#[derive(Clone, Debug, Serialize, Deserialize, specta::Type)]
pub struct SettingsView {
    pub settings: Settings,
    /// The built-in instructions (for "reset to default").
    pub default_instructions: String,
    /// A problem with the saved settings found at start (they were kept as they were).
    pub problem: Option<EngineError>,
}

#[derive(Clone, Debug, Serialize, Deserialize, specta::Type)]
pub struct AboutView {
    pub version: String,
    pub ggml: String,
    pub cpu_features: String,
    pub default_threads: u32,
}

#[tauri::command]
#[specta::specta]
pub fn settings_get(state: State<'_, AppState>) -> CmdResult<SettingsView> {
    Ok(SettingsView { settings: state.settings(), default_instructions: prompts::SYSTEM_PROMPT.to_string(), problem: lock(&state.settings_problem).clone() })
}

/// Saves the settings. Returns whether the models must be loaded again for them to apply
/// (context size, threads, another model); the instructions apply at once.
#[tauri::command]
#[specta::specta]
pub async fn settings_set(state: State<'_, AppState>, settings: Settings) -> CmdResult<bool> {
    let (file, to_save) = (state.dirs.settings_file(), settings.clone());
    blocking(move || to_save.save(&file).map_err(|e| EngineError::from_coded(&e))).await?;
    let before = std::mem::replace(&mut *lock(&state.settings), settings.clone());
    *lock(&state.settings_problem) = None;
    if before.instructions != settings.instructions {
        let (chat, instructions) = (state.chat.clone(), settings.instructions.clone());
        blocking(move || chat.set_instructions(instructions)).await?;
    }
    let reload = state.chat.llm_spec().is_some_and(|loaded| {
        let wanted = settings.session_options();
        loaded.options.n_ctx != wanted.n_ctx || loaded.options.threads != wanted.threads || loaded.options.repack != wanted.repack || loaded.options.draft_max != wanted.draft_max
    });
    Ok(reload || before.llm_model != settings.llm_model || before.asr_model != settings.asr_model)
}

#[tauri::command]
#[specta::specta]
pub fn app_about() -> AboutView {
    AboutView {
        version: env!("CARGO_PKG_VERSION").to_string(),
        ggml: murmur_engine::ggml::llama_ggml_version(),
        cpu_features: murmur_engine::ggml::system_info(),
        default_threads: u32::try_from(murmur_engine::platform::default_threads()).unwrap_or(1),
    }
}
