//! The commands over the real engine and the real test models, on Tauri's mock runtime: the
//! same functions the window calls, with `Channel`s built from closures that collect what
//! the commands stream.

use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use murmur_engine::llm::ChatEvent;
use murmur_engine::settings::Settings;
use murmur_engine::ErrorCode;
use murmur_lib::commands::{chat, models, records, settings};
use murmur_lib::state::{AppDirs, AppState};
use tauri::ipc::{Channel, InvokeResponseBody};
use tauri::test::{mock_app, MockRuntime};
use tauri::{App, Manager};

fn fixture(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: run scripts/test.sh (or tests/fixtures/setup.sh)"))
}

/// A mock app whose model store holds the test models (imported by reference).
fn app(dir: &std::path::Path) -> App<MockRuntime> {
    let dirs = AppDirs { data: dir.to_path_buf(), models: dir.join("models") };
    std::fs::create_dir_all(&dirs.models).expect("models dir");
    for (id, var, role) in [("test-llm", "MURMUR_TEST_LLM", "llm"), ("test-asr", "MURMUR_TEST_WHISPER", "asr")] {
        let reference = serde_json::json!({ "path": fixture(var), "role": role, "summary": "test model" });
        std::fs::write(dirs.models.join(format!("{id}.ref.json")), reference.to_string()).expect("ref");
    }
    let threads = Settings { threads: Some(2), temperature: 0.0, n_ctx: 2048, ..Settings::default() };
    threads.save(&dirs.settings_file()).expect("settings");
    let app = mock_app();
    app.manage(AppState::new(dirs, |_| {}));
    app
}

/// A Channel whose messages arrive on a receiver, parsed.
fn collect() -> (Channel<ChatEvent>, Receiver<serde_json::Value>) {
    let (tx, rx) = channel();
    let ch = Channel::new(move |body: InvokeResponseBody| {
        if let InvokeResponseBody::Json(json) = body {
            let _ = tx.send(serde_json::from_str(&json).unwrap_or(serde_json::Value::Null));
        }
        Ok(())
    });
    (ch, rx)
}

/// Runs an async command to its end (as the window's IPC does, off the main thread).
fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    tauri::async_runtime::block_on(f)
}

fn until_end(rx: &Receiver<serde_json::Value>) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    while let Ok(e) = rx.recv_timeout(Duration::from_secs(120)) {
        let end = e["event"] == "done" || e["event"] == "error";
        out.push(e);
        if end {
            break;
        }
    }
    out
}

#[test]
fn load_ask_stop_and_the_errors_the_ui_switches_on() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = app(dir.path());
    let state = app.state::<AppState>();

    // Before loading, asking is a clear error, not a hang.
    let (ch, _rx) = collect();
    let err = run(chat::chat_send(state.clone(), "Hello".into(), ch)).expect_err("not loaded");
    assert_eq!(err.code, ErrorCode::ModelNotLoaded);

    let view = run(models::models_list(app.handle().clone())).expect("list");
    assert_eq!(view.llm.as_ref().map(|m| m.id.as_str()), Some("test-llm"));
    let loaded = run(models::models_load(app.handle().clone())).expect("load");
    assert_eq!(loaded.loaded_llm.as_deref(), Some("test-llm"));
    assert_eq!(loaded.loaded_asr.as_deref(), Some("test-asr"));

    // An answer streams tokens, then done; a second question meanwhile is refused as busy.
    let (ch, rx) = collect();
    run(chat::chat_send(state.clone(), "In one sentence: what is HDL cholesterol?".into(), ch)).expect("send");
    let (ch2, _rx2) = collect();
    let busy = run(chat::chat_send(state.clone(), "And LDL?".into(), ch2)).expect_err("busy");
    assert_eq!(busy.code, ErrorCode::Busy);
    let events = until_end(&rx);
    assert!(events.iter().filter(|e| e["event"] == "token").count() >= 3, "{events:?}");
    assert_eq!(events.last().map(|e| e["event"].clone()), Some("done".into()), "{events:?}");

    // Stop ends a long answer as cancelled.
    let (ch, rx) = collect();
    run(chat::chat_send(state.clone(), "List twenty blood tests and explain each in detail.".into(), ch)).expect("send");
    let first = rx.recv_timeout(Duration::from_secs(60)).expect("first event");
    assert_eq!(first["event"], "token");
    chat::chat_stop(state.clone()).expect("stop");
    let rest = until_end(&rx);
    assert_eq!(rest.last().map(|e| e["data"]["finish"].clone()), Some("cancelled".into()), "{rest:?}");

    // Regenerate asks the last question again.
    let (ch, rx) = collect();
    run(chat::chat_regenerate(state.clone(), ch)).expect("regenerate");
    assert_eq!(until_end(&rx).last().map(|e| e["event"].clone()), Some("done".into()));

    // Stop also stops reading a record being attached (it can take seconds); the record stays
    // attached and the rest of it is read with the next question.
    let record = "Ferritin 12 ng/mL (30-400) L. ".repeat(70);
    let attaching = {
        let handle = app.handle().clone();
        std::thread::spawn(move || tauri::async_runtime::block_on(records::record_attach(handle.state::<AppState>(), record)))
    };
    while !state.chat.reading_record() && !attaching.is_finished() {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(200));
    chat::chat_stop(state.clone()).expect("stop");
    attaching.join().expect("attach thread").expect("a stopped reading still attaches the record");
    let snapshot = run(chat::chat_snapshot(state.clone())).expect("snapshot");
    assert!(snapshot.has_record);
    assert!(snapshot.cached_tokens < 1000, "the record was read to the end despite Stop: {} tokens cached", snapshot.cached_tokens);

    // A model file the person did not pick in the file picker is refused: the web view cannot
    // make the app read any path it names.
    let err = run(models::models_import(app.handle().clone(), fixture("MURMUR_TEST_LLM"), true)).expect_err("not picked");
    assert_eq!(err.code, ErrorCode::InvalidInput, "{err:?}");

    // A record too long for the context is named as such; the record attached before stays
    // (in the model, and with the conversation).
    let long = "Potassium 5.9 mmol/L (3.5-5.1) H. Sodium 131 mmol/L (136-145) L. ".repeat(200);
    let err = run(records::record_attach(state.clone(), long)).expect_err("too long");
    assert_eq!(err.code, ErrorCode::RecordTooLong, "{err:?}");
    let kept = run(chat::chat_snapshot(state.clone())).expect("snapshot");
    assert!(kept.has_record && kept.system_message.contains("Ferritin 12 ng/mL"), "the earlier record was kept");
    let info = run(records::record_attach(state.clone(), "LDL 160 mg/dL (ref < 100) H\nPotassium 6.9 mmol/L (3.5-5.1)".into())).expect("attach");
    assert!(run(chat::chat_snapshot(state.clone())).expect("snapshot").has_record);
    // The record as read by code comes back with its red flags; the model reads all of it.
    assert_eq!(info.parsed.rows.len(), 2);
    assert_eq!(info.parsed.rows[0].status, murmur_engine::records::Status::Above);
    assert!(info.red_flags.as_ref().is_some_and(|f| f.items[0].starts_with("Potassium 6.9 mmol/L")), "{info:?}");
    assert!(!info.reduced);
    assert_eq!(run(records::record_current(state.clone())).expect("current"), Some(info));
    // An answer is checked against the attached record.
    let check = run(records::answer_check(state.clone(), "Your LDL of 160 mg/dL is within the normal range; take 20 mg of a statin.".into())).expect("check");
    let kinds: Vec<_> = check.issues.iter().map(|i| i.kind).collect();
    use murmur_engine::records::IssueKind;
    assert_eq!(kinds, vec![IssueKind::Contradiction, IssueKind::Dose, IssueKind::UnmatchedNumber], "{check:?}");

    // Empty input and bad settings are refused with their own codes.
    let (ch, _rx) = collect();
    assert_eq!(run(chat::chat_send(state.clone(), "   ".into(), ch)).expect_err("empty").code, ErrorCode::InvalidInput);
    let bad = Settings { n_ctx: 10, ..Settings::default() };
    assert_eq!(run(settings::settings_set(state.clone(), bad)).expect_err("invalid").code, ErrorCode::SettingsInvalid);
    // Errors cross to the UI as {code, message}.
    let json = serde_json::to_value(&err).expect("json");
    assert_eq!(json["code"], "llm.record_too_long");
}
