//! The Whisper model preflight on arbitrary bytes: it must return Ok or a typed error, never
//! panic (debug assertions, overflow checks on), read out of bounds or loop forever.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = murmur_engine::asr::model_file::inspect_reader(std::io::Cursor::new(data), data.len() as u64, std::path::Path::new("fuzz.bin"));
});
