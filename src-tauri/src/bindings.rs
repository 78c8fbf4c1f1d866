//! The IPC surface, in one list: tauri-specta registers the commands and events, and writes
//! their TypeScript bindings to `gen/bindings.ts` (never edited by hand; a test fails when it
//! is stale: `npm run gen` rewrites it).

use specta_typescript::Typescript;
use tauri::Wry;
use tauri_specta::{collect_commands, collect_events, Builder};

use crate::commands::{chat, conversations, models, records, settings, voice};

/// Every command the UI may call (each needs a permission in `capabilities/`).
pub fn builder() -> Builder<Wry> {
    Builder::<Wry>::new()
        .commands(collect_commands![
            chat::chat_send,
            chat::chat_stop,
            chat::chat_regenerate,
            chat::chat_new,
            chat::chat_snapshot,
            chat::chat_typing,
            conversations::conversations_list,
            conversations::conversation_current,
            conversations::conversation_open,
            conversations::conversation_rename,
            conversations::conversation_delete,
            conversations::conversation_export::<Wry>,
            conversations::data_delete_all,
            voice::voice_start::<Wry>,
            voice::voice_stop,
            voice::voice_cancel,
            models::models_list::<Wry>,
            models::models_download,
            models::models_cancel_download,
            models::models_import::<Wry>,
            models::models_remove::<Wry>,
            models::models_load::<Wry>,
            records::record_attach,
            records::record_detach,
            records::record_task_message,
            records::record_current,
            records::answer_check,
            settings::settings_get,
            settings::settings_set,
            settings::app_about,
        ])
        .events(collect_events![models::ModelState])
        // Byte counts and token counts stay far below 2^53.
        .dangerously_cast_bigints_to_number()
}

pub const HEADER: &str = "// Generated from the Rust IPC types by src-tauri/src/bindings.rs (tauri-specta).\n// Do not edit: run `npm run gen`.\n";

/// Writes the TypeScript bindings to `path`.
pub fn export(path: &std::path::Path) -> Result<(), String> {
    builder().export(Typescript::default().header(HEADER), path).map_err(|e| e.to_string())
}

/// The bindings file in the repository.
pub fn committed_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../gen/bindings.ts")
}

#[cfg(test)]
mod tests {
    /// The bindings as the Rust types say now.
    fn fresh() -> String {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("bindings.ts");
        super::export(&path).expect("export");
        std::fs::read_to_string(&path).expect("read")
    }

    /// gen/bindings.ts is what the Rust types say now. `npm run gen` (MURMUR_UPDATE_BINDINGS=1)
    /// rewrites it.
    #[test]
    fn bindings_are_current() {
        let fresh = fresh();
        let committed_path = super::committed_path();
        if std::env::var_os("MURMUR_UPDATE_BINDINGS").is_some() {
            std::fs::write(&committed_path, &fresh).expect("write gen/bindings.ts");
            return;
        }
        let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
        assert!(committed == fresh, "gen/bindings.ts is stale: run `npm run gen` and commit it");
    }

    /// The UI listens for `ModelState` under the name the commands emit it with.
    #[test]
    fn the_model_state_event_name_matches() {
        let ts = std::fs::read_to_string(super::committed_path()).expect("gen/bindings.ts");
        assert!(ts.contains(&format!("makeEvent<ModelState, ModelState>(\"{}\")", crate::commands::models::MODEL_STATE_EVENT)));
    }

    /// Every command the bindings offer is in the ACL list (so it has a permission) and the
    /// other way round.
    #[test]
    fn every_command_is_in_the_acl_list() {
        let ts = fresh();
        // `__TAURI_INVOKE("name"` or `__TAURI_INVOKE<Type>("name"`.
        let mut invoked: Vec<&str> = ts
            .match_indices("__TAURI_INVOKE")
            .filter_map(|(i, m)| {
                let rest = &ts[i + m.len()..];
                let start = rest.find("(\"")? + 2;
                let len = rest[start..].find('"')?;
                (start < 80).then(|| &rest[start..start + len])
            })
            .collect();
        invoked.sort_unstable();
        invoked.dedup();
        let mut listed: Vec<&str> = crate::commands::list::APP_COMMANDS.to_vec();
        listed.sort_unstable();
        assert_eq!(invoked, listed);
    }
}
