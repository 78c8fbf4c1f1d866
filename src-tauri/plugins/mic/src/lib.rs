//! Murmur's mobile plugin. On desktop every call succeeds at once (the OS asks for the
//! microphone itself, and nothing is backed up by the app).
//! - Android: asks for `RECORD_AUDIO` at run time (cpal's AAudio input needs it granted);
//!   the plugin's manifest turns app backups off, so models and caches never leave the phone.
//! - iOS: sets the audio session to play-and-record and activates it before capture (cpal
//!   does not), asks for microphone permission, and marks directories excluded from backup.

use serde::{Deserialize, Serialize};
use tauri::plugin::{Builder, TauriPlugin};
use tauri::{Manager, Runtime};

#[cfg(target_os = "ios")]
tauri::ios_plugin_binding!(init_plugin_murmur_mic);

/// The answer to a microphone request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MicPermission {
    pub granted: bool,
}

#[derive(Serialize)]
struct ExcludeArgs<'a> {
    path: &'a str,
}

/// The plugin's handle in the app state.
pub struct Mic<R: Runtime> {
    #[cfg(mobile)]
    handle: tauri::plugin::PluginHandle<R>,
    #[cfg(not(mobile))]
    _runtime: std::marker::PhantomData<fn() -> R>,
}

impl<R: Runtime> Mic<R> {
    /// Asks for the microphone (and, on iOS, activates the play-and-record audio session).
    pub fn request_microphone(&self) -> Result<MicPermission, String> {
        #[cfg(mobile)]
        {
            self.handle.run_mobile_plugin::<MicPermission>("requestMicrophone", ()).map_err(|e| e.to_string())
        }
        #[cfg(not(mobile))]
        {
            Ok(MicPermission { granted: true })
        }
    }

    /// Keeps `path` (a directory of models or caches) out of device backups (iOS; Android's
    /// backups are off for the whole app).
    pub fn exclude_from_backup(&self, path: &str) -> Result<(), String> {
        #[cfg(target_os = "ios")]
        {
            self.handle.run_mobile_plugin::<()>("excludeFromBackup", ExcludeArgs { path }).map_err(|e| e.to_string())
        }
        #[cfg(not(target_os = "ios"))]
        {
            let _ = ExcludeArgs { path };
            Ok(())
        }
    }
}

/// Access from any `Manager` (app, window, handle).
pub trait MicExt<R: Runtime> {
    fn mic(&self) -> &Mic<R>;
}

impl<R: Runtime, T: Manager<R>> MicExt<R> for T {
    fn mic(&self) -> &Mic<R> {
        self.state::<Mic<R>>().inner()
    }
}

pub fn init<R: Runtime>() -> TauriPlugin<R> {
    Builder::new("murmur-mic")
        .setup(|app, api| {
            #[cfg(target_os = "android")]
            let handle = api.register_android_plugin("app.murmur.mic", "MicPlugin")?;
            #[cfg(target_os = "ios")]
            let handle = api.register_ios_plugin(init_plugin_murmur_mic)?;
            #[cfg(mobile)]
            app.manage(Mic { handle });
            #[cfg(not(mobile))]
            {
                let _ = api;
                app.manage(Mic::<R> { _runtime: std::marker::PhantomData });
            }
            Ok(())
        })
        .build()
}
