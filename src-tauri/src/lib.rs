//! Murmur's Tauri app: glue over `murmur-engine`. Managed state holds the engine's workers
//! ([`state::AppState`]); commands (one file per domain under `commands/`) validate input,
//! call the engine, forward its streams to a `tauri::ipc::Channel` and return engine errors
//! as `{code, message}`. Every platform difference lives in [`platform`].

pub mod bindings;
pub mod commands;
pub mod measure;
pub mod platform;
pub mod state;

use tauri::Manager;

/// Starts the app (desktop `main`, and the mobile entry point).
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    init_logging();
    let specta = bindings::builder();
    let app = platform::plugins(tauri::Builder::default())
        .plugin(tauri_plugin_fs::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_http::init())
        .invoke_handler(specta.invoke_handler())
        .setup(move |app| {
            specta.mount_events(app);
            let dirs = state::AppDirs::resolve(app.handle())?;
            platform::prepare_data_dirs(app.handle(), &dirs);
            let handle = app.handle().clone();
            app.manage(state::AppState::new(dirs, move |event| commands::models::broadcast(&handle, event)));
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("Murmur could not start: {e}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| match event {
        // Leaving the window (to another app, or the phone's home screen) saves the open
        // conversation's cache off the event loop; quitting saves it before the process ends.
        tauri::RunEvent::WindowEvent { event: tauri::WindowEvent::Focused(false), .. } => {
            if let Some(state) = handle.try_state::<state::AppState>() {
                let chat = state.chat.clone();
                std::thread::spawn(move || chat.suspend());
            }
        }
        tauri::RunEvent::Exit => {
            if let Some(state) = handle.try_state::<state::AppState>() {
                state.chat.suspend();
            }
        }
        _ => {}
    });
}

/// Logs go to stderr; `MURMUR_LOG` (an env-filter) raises them. Prompts, transcripts, records
/// and answers are never logged.
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("MURMUR_LOG").unwrap_or_else(|_| EnvFilter::new("warn,llama_cpp_2=error,whisper_rs=off"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
