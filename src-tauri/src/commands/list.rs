// The app's commands, by name: build.rs makes each an ACL permission (`allow-<name>`), and a
// test checks this list against the generated bindings and the capabilities. Included by
// build.rs and by the crate, so it is plain Rust with no imports.

/// Every command of the app.
pub const APP_COMMANDS: &[&str] = &[
    "chat_send",
    "chat_stop",
    "chat_regenerate",
    "chat_new",
    "chat_snapshot",
    "chat_typing",
    "conversations_list",
    "conversation_current",
    "conversation_open",
    "conversation_rename",
    "conversation_delete",
    "conversation_export",
    "data_delete_all",
    "voice_start",
    "voice_stop",
    "voice_cancel",
    "models_list",
    "models_download",
    "models_cancel_download",
    "models_import",
    "models_remove",
    "models_load",
    "record_attach",
    "record_detach",
    "record_task_message",
    "record_current",
    "answer_check",
    "settings_get",
    "settings_set",
    "app_about",
];
