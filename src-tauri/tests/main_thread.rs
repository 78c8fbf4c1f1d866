//! No command blocks the window's main thread: a synchronous Tauri command runs on it, so
//! every command that touches the engine, the disk or the model's queue is async (its work
//! off the IPC thread). The synchronous ones are held to this short allow-list of commands
//! that only flip a flag or build a value.

use std::path::Path;

/// Commands that may stay synchronous, and why.
const SYNC_ALLOWED: &[(&str, &str)] = &[
    ("chat_stop", "cancels tokens"),
    ("chat_typing", "queues a read-ahead and returns"),
    ("voice_stop", "sends the listener a message"),
    ("voice_cancel", "cancels tokens"),
    ("models_cancel_download", "cancels a token"),
    ("record_task_message", "formats a string"),
    ("settings_get", "copies the settings in memory"),
    ("app_about", "reads build constants"),
];

/// Every `#[tauri::command]` in `src/commands/` with whether it is `async`.
fn commands() -> Vec<(String, bool)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/commands");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("commands dir") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("source");
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !line.trim_start().starts_with("#[tauri::command") {
                continue;
            }
            let marked_async = line.contains("async");
            let signature = lines[i + 1..].iter().find(|l| l.trim_start().starts_with("pub ")).expect("a fn after the attribute");
            let is_async = marked_async || signature.trim_start().starts_with("pub async fn");
            let name = signature.split("fn ").nth(1).and_then(|rest| rest.split(['(', '<']).next()).expect("a name").trim().to_string();
            found.push((name, is_async));
        }
    }
    found
}

#[test]
fn every_command_that_does_work_is_async() {
    let all = commands();
    assert!(all.len() >= 25, "found only {} commands: {all:?}", all.len());
    let sync: Vec<&str> = all.iter().filter(|(_, is_async)| !is_async).map(|(n, _)| n.as_str()).collect();
    let unexpected: Vec<&&str> = sync.iter().filter(|n| !SYNC_ALLOWED.iter().any(|(a, _)| a == *n)).collect();
    assert!(unexpected.is_empty(), "synchronous commands run on the main thread; make these async: {unexpected:?}");
    // The allow-list names real commands only (a renamed one must not keep a stale entry).
    for (allowed, _) in SYNC_ALLOWED {
        assert!(all.iter().any(|(n, _)| n == allowed), "{allowed} is not a command");
    }
}
