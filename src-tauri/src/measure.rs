//! Timing probes for the app's measurements (tests/e2e/measure.mjs), off unless
//! `MURMUR_MEASURE_IPC` names a file: each answer message sent to the UI appends its wall-clock
//! time in milliseconds. Only times are written, never content.

use std::io::Write;
use std::sync::Mutex;

static FILE: Mutex<Option<std::fs::File>> = Mutex::new(None);
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

/// Records that a token message leaves for the UI now.
pub fn token_sent() {
    init();
    if let Some(f) = crate::state::lock(&FILE).as_mut() {
        let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        let _ = writeln!(f, "{ms:.3}");
    }
}
