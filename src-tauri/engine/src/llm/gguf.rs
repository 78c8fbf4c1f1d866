//! A preflight look at a GGUF file before llama.cpp maps it: is it GGUF at all, is it whole,
//! is its architecture one we run. llama.cpp itself only says "failed to load"; this gives
//! the person a specific reason.

use std::ffi::{CStr, CString};
use std::io::Read;
use std::path::{Path, PathBuf};

use super::LlmError;

/// Architectures the engine runs (the Qwen2.5 family first; others share llama.cpp's code
/// paths and ChatML-style or embedded templates).
pub const SUPPORTED_ARCHITECTURES: &[&str] = &["qwen2", "qwen3", "llama"];

/// What the header says about a model.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GgufInfo {
    pub path: PathBuf,
    pub file_size: u64,
    pub version: u32,
    pub architecture: String,
    pub name: Option<String>,
    /// `general.file_type` (15 = Q4_K_M).
    pub file_type: Option<u32>,
    pub context_length: Option<u32>,
    pub n_tensors: i64,
    pub chat_template: Option<String>,
}

impl GgufInfo {
    /// Reads and checks the header; fails with a typed error for a missing, non-GGUF,
    /// truncated or unsupported file. Never maps the tensor data.
    pub fn read(path: &Path) -> Result<Self, LlmError> {
        let io = |source| LlmError::Io { path: path.to_path_buf(), source };
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => LlmError::NotFound(path.to_path_buf()),
            _ => io(e),
        })?;
        if !meta.is_file() {
            return Err(LlmError::NotFound(path.to_path_buf()));
        }
        let mut magic = [0u8; 4];
        let mut f = std::fs::File::open(path).map_err(io)?;
        if f.read_exact(&mut magic).is_err() || &magic != b"GGUF" {
            return Err(LlmError::NotGguf(path.to_path_buf()));
        }
        drop(f);
        // Routes ggml's own messages about a bad header into `tracing`.
        super::model::backend();

        let cpath = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| LlmError::BadHeader(path.to_path_buf()))?;
        let params = llama_cpp_sys_2::gguf_init_params { no_alloc: true, ctx: std::ptr::null_mut() };
        // SAFETY: a valid C string and params; a NULL result is handled.
        let ctx = unsafe { llama_cpp_sys_2::gguf_init_from_file(cpath.as_ptr(), params) };
        if ctx.is_null() {
            // The header or the tensor table runs past the end of the file, or is damaged.
            return Err(LlmError::BadHeader(path.to_path_buf()));
        }
        let guard = Ctx(ctx);
        let info = guard.info(path, meta.len());
        drop(guard);
        let info = info?;

        if !SUPPORTED_ARCHITECTURES.contains(&info.architecture.as_str()) {
            return Err(LlmError::UnsupportedArchitecture {
                arch: info.architecture,
                supported: SUPPORTED_ARCHITECTURES.join(", "),
            });
        }
        Ok(info)
    }
}

struct Ctx(*mut llama_cpp_sys_2::gguf_context);

impl Drop for Ctx {
    fn drop(&mut self) {
        // SAFETY: created by gguf_init_from_file, freed once.
        unsafe { llama_cpp_sys_2::gguf_free(self.0) }
    }
}

impl Ctx {
    fn key(&self, key: &str) -> Option<i64> {
        let c = CString::new(key).ok()?;
        // SAFETY: valid context and C string.
        let id = unsafe { llama_cpp_sys_2::gguf_find_key(self.0, c.as_ptr()) };
        (id >= 0).then_some(id)
    }

    fn str_val(&self, key: &str) -> Option<String> {
        let id = self.key(key)?;
        // SAFETY: id is a valid key index; the type is checked before reading.
        unsafe {
            if llama_cpp_sys_2::gguf_get_kv_type(self.0, id) != llama_cpp_sys_2::GGUF_TYPE_STRING {
                return None;
            }
            let p = llama_cpp_sys_2::gguf_get_val_str(self.0, id);
            (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
        }
    }

    fn u32_val(&self, key: &str) -> Option<u32> {
        let id = self.key(key)?;
        // SAFETY: id is valid; each getter is called only for its own type.
        unsafe {
            match llama_cpp_sys_2::gguf_get_kv_type(self.0, id) {
                llama_cpp_sys_2::GGUF_TYPE_UINT32 => Some(llama_cpp_sys_2::gguf_get_val_u32(self.0, id)),
                llama_cpp_sys_2::GGUF_TYPE_INT32 => {
                    u32::try_from(llama_cpp_sys_2::gguf_get_val_i32(self.0, id)).ok()
                }
                llama_cpp_sys_2::GGUF_TYPE_UINT64 => {
                    u32::try_from(llama_cpp_sys_2::gguf_get_val_u64(self.0, id)).ok()
                }
                _ => None,
            }
        }
    }

    fn info(&self, path: &Path, file_size: u64) -> Result<GgufInfo, LlmError> {
        let architecture =
            self.str_val("general.architecture").ok_or_else(|| LlmError::BadHeader(path.to_path_buf()))?;
        // SAFETY: valid context; tensor ids are within 0..n_tensors.
        let (version, n_tensors, needed) = unsafe {
            let n = llama_cpp_sys_2::gguf_get_n_tensors(self.0);
            let data = llama_cpp_sys_2::gguf_get_data_offset(self.0) as u64;
            let mut end = data;
            for i in 0..n {
                let off = llama_cpp_sys_2::gguf_get_tensor_offset(self.0, i) as u64;
                let size = llama_cpp_sys_2::gguf_get_tensor_size(self.0, i) as u64;
                end = end.max(data.saturating_add(off).saturating_add(size));
            }
            (llama_cpp_sys_2::gguf_get_version(self.0), n, end)
        };
        if needed > file_size {
            return Err(LlmError::Truncated { path: path.to_path_buf(), needed, actual: file_size });
        }
        Ok(GgufInfo {
            path: path.to_path_buf(),
            file_size,
            version,
            name: self.str_val("general.name"),
            file_type: self.u32_val("general.file_type"),
            context_length: self.u32_val(&format!("{architecture}.context_length")),
            chat_template: self.str_val("tokenizer.chat_template"),
            n_tensors,
            architecture,
        })
    }
}
