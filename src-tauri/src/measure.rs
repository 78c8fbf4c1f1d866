//! Timing probes for the app's measurements (tests/e2e/measure.mjs), off unless
//! `MURMUR_MEASURE_IPC` names a file: each answer message sent to the UI appends the wall-clock
//! time, in milliseconds, at which the engine emitted the oldest token it carries (so the time
//! a token is held back to coalesce messages counts). Only times are written, never content.

use std::io::Write;
use std::sync::Mutex;

static FILE: Mutex<Option<std::fs::File>> = Mutex::new(None);
/// When the engine emitted the oldest token not yet sent to the UI (one answer streams at a time).
static PENDING: Mutex<Option<f64>> = Mutex::new(None);
static INIT: std::sync::Once = std::sync::Once::new();

fn init() {
    INIT.call_once(|| {
        if let Some(path) = std::env::var_os("MURMUR_MEASURE_IPC") {
            if let Ok(f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
                *crate::state::lock(&FILE) = Some(f);
            }
        }
    });
}

fn now_ms() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Records that the engine emitted a token now (before any coalescing).
pub fn token_emitted() {
    init();
    if crate::state::lock(&FILE).is_some() {
        crate::state::lock(&PENDING).get_or_insert_with(now_ms);
    }
}

/// Records that a token message leaves for the UI now: writes when its oldest token was emitted.
pub fn token_sent() {
    init();
    if let Some(f) = crate::state::lock(&FILE).as_mut() {
        let emitted = crate::state::lock(&PENDING).take().unwrap_or_else(now_ms);
        let _ = writeln!(f, "{emitted:.3}");
    }
}
