//! llama.cpp and whisper.cpp must run on one ggml per process (see patches/README.md).
//! These accessors let tests and `murmur --version` show that they do.

use std::ffi::CStr;

/// The ggml version as llama.cpp's bindings see it.
pub fn llama_ggml_version() -> String {
    // SAFETY: ggml_version returns a pointer to a static NUL-terminated string.
    unsafe { CStr::from_ptr(llama_cpp_sys_2::ggml_version()) }
        .to_string_lossy()
        .into_owned()
}

/// The ggml version as whisper.cpp's bindings see it.
pub fn whisper_ggml_version() -> String {
    // SAFETY: as above; the symbol comes from the same (single) ggml library.
    unsafe { CStr::from_ptr(whisper_rs_sys::ggml_version()) }
        .to_string_lossy()
        .into_owned()
}

/// `GGML_OP_COUNT` and `GGML_TYPE_COUNT` as compiled into each binding, `(llama, whisper)`:
/// differing values would mean the two were built against different ggml headers (a shifted
/// op enum, the classic crash of two mixed ggml versions).
pub fn enum_counts() -> ((u32, u32), (u32, u32)) {
    (
        (llama_cpp_sys_2::GGML_OP_COUNT, whisper_rs_sys::ggml_op_GGML_OP_COUNT),
        (llama_cpp_sys_2::GGML_TYPE_COUNT, whisper_rs_sys::ggml_type_GGML_TYPE_COUNT),
    )
}

/// The CPU features ggml was compiled with and detected (llama.cpp's system info line).
pub fn system_info() -> String {
    // SAFETY: returns a pointer to a static NUL-terminated string.
    unsafe { CStr::from_ptr(llama_cpp_sys_2::llama_print_system_info()) }
        .to_string_lossy()
        .trim()
        .to_string()
}
