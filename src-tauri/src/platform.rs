//! Every platform difference of the app lives here (the engine's own, thread counts, are in
//! `murmur_engine::platform`).
//! - Microphone: iOS needs its audio session set to play-and-record and activated before
//!   capture, and Android needs RECORD_AUDIO granted at run time; both through the in-repo
//!   mobile plugin (plugins/mic). Desktop systems ask by themselves.
//! - Backups: models and caches stay out of iCloud (iOS: excluded per directory) and Android
//!   backups (off for the app, in the plugin's manifest).
//! - Imports by reference (keep a model file where it is) only exist on desktop: mobile apps
//!   cannot keep access to a picked file across launches.

use murmur_engine::{EngineError, ErrorCode};
use tauri::{AppHandle, Runtime};
use tauri_plugin_murmur_mic::MicExt;

use crate::state::AppDirs;

/// Plugins that only some platforms need.
pub fn plugins<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.plugin(tauri_plugin_murmur_mic::init())
}

/// Asks for the microphone where the app must (mobile); `mic.permission_denied` explains
/// what to do when the person said no.
pub fn ensure_microphone<R: Runtime>(app: &AppHandle<R>) -> Result<(), EngineError> {
    match app.mic().request_microphone() {
        Ok(p) if p.granted => Ok(()),
        Ok(_) => Err(EngineError::new(
            ErrorCode::MicPermissionDenied,
            if cfg!(target_os = "ios") {
                "Murmur may not use the microphone. To ask by voice, allow it in Settings → Privacy & Security → Microphone."
            } else if cfg!(target_os = "android") {
                "Murmur may not use the microphone. To ask by voice, allow it in Settings → Apps → Murmur → Permissions."
            } else {
                "Murmur may not use the microphone: allow it in your system's privacy settings."
            },
        )),
        Err(e) => Err(EngineError::new(ErrorCode::MicBackend, format!("the microphone could not be prepared: {e}"))),
    }
}

/// Creates the app's directories and keeps them out of device backups.
/// The data folder (settings, history) is owner-only ([`murmur_engine::private_fs`]).
pub fn prepare_data_dirs<R: Runtime>(app: &AppHandle<R>, dirs: &AppDirs) {
    if let Err(e) = murmur_engine::private_fs::create_dir(&dirs.data) {
        tracing::warn!("cannot create {}: {e}", dirs.data.display());
    }
    for dir in [&dirs.data, &dirs.models] {
        if let Err(e) = std::fs::create_dir_all(dir) {
            tracing::warn!("cannot create {}: {e}", dir.display());
        }
        if let Err(e) = app.mic().exclude_from_backup(&dir.to_string_lossy()) {
            tracing::warn!("{e}");
        }
    }
}

/// Whether a model file may be imported by reference (kept where it is).
pub const IMPORT_BY_REFERENCE: bool = cfg!(desktop);
