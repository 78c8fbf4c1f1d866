//! Loading a GGUF model: preflight checks, then llama.cpp with mmap.

use std::path::Path;
use std::sync::OnceLock;

use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;

use super::gguf::GgufInfo;
use super::LlmError;

/// llama.cpp's process-wide backend: initialised once, never freed.
pub(crate) fn backend() -> &'static LlamaBackend {
    static BACKEND: OnceLock<LlamaBackend> = OnceLock::new();
    BACKEND.get_or_init(|| {
        // Route llama.cpp's and ggml's own logging into `tracing` (they never log prompts at
        // the levels we enable by default).
        llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
        match LlamaBackend::init() {
            Ok(b) => b,
            // Only fails if initialised before, which this OnceLock prevents.
            Err(e) => panic!("llama.cpp backend initialised twice: {e}"),
        }
    })
}

/// A loaded language model (weights memory-mapped, shared read-only).
pub struct LlmModel {
    pub(crate) model: LlamaModel,
    info: GgufInfo,
    fingerprint: [u8; 32],
}

impl std::fmt::Debug for LlmModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmModel").field("info", &self.info).finish_non_exhaustive()
    }
}

impl LlmModel {
    /// Checks the file (typed errors for missing, non-GGUF, truncated, unsupported files) and
    /// loads it with mmap, CPU only, with the platform's default for repacking.
    pub fn load(path: &Path) -> Result<Self, LlmError> {
        Self::load_with(path, crate::platform::default_repack())
    }

    /// As [`Self::load`]; `repack`: let llama.cpp re-lay the quantised weights out for its
    /// faster prefill kernels. That keeps a second, anonymous copy of most weights beside the
    /// memory-mapped file (597 MiB for the 1.5B on x86); without it the kernels read the
    /// mapped file directly (decode speed is unchanged, prefill is slower; docs/BENCHMARKS.md).
    pub fn load_with(path: &Path, repack: bool) -> Result<Self, LlmError> {
        if let Some(missing) = crate::platform::missing_cpu_feature() {
            return Err(LlmError::CpuUnsupported(missing));
        }
        let info = GgufInfo::read(path)?;
        let params = LlamaModelParams::default().with_use_mmap(true).with_n_gpu_layers(0).with_use_extra_bufts(repack);
        let model = LlamaModel::load_from_file(backend(), path, &params)
            .map_err(|_| LlmError::Load(path.to_path_buf()))?;
        let fingerprint = fingerprint(path).map_err(|_| LlmError::Load(path.to_path_buf()))?;
        tracing::info!(
            arch = %info.architecture,
            file_type = ?info.file_type,
            size_mb = info.file_size / 1_000_000,
            repack,
            "language model loaded"
        );
        Ok(Self { model, info, fingerprint })
    }

    pub fn info(&self) -> &GgufInfo {
        &self.info
    }

    /// Identifies the model file, for saved KV-cache states: SHA-256 of its length, its first
    /// and its last MiB (the header with all metadata, and the last weights). Cheap to compute
    /// (the whole file's hash would take seconds on a phone).
    pub fn fingerprint(&self) -> &[u8; 32] {
        &self.fingerprint
    }

    /// Token ids of `text` (special tokens such as `<|im_end|>` parsed).
    pub fn tokenize(&self, text: &str) -> Vec<i32> {
        self.model.vocab().tokenize(text.as_bytes(), false, true).into_iter().map(|t| t.0).collect()
    }

    /// The raw bytes of one token (may be part of a UTF-8 character).
    pub fn token_bytes(&self, token: i32) -> Vec<u8> {
        self.model.vocab().token_to_piece(llama_cpp_2::token::LlamaToken(token), false, None)
    }

    /// Context length the model was trained for.
    pub fn n_ctx_train(&self) -> u32 {
        self.model.n_ctx_train()
    }
}

fn fingerprint(path: &Path) -> std::io::Result<[u8; 32]> {
    use sha2::{Digest, Sha256};
    use std::io::{Read, Seek, SeekFrom};
    const PART: u64 = 1 << 20;
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let mut hash = Sha256::new();
    hash.update(len.to_le_bytes());
    let mut buf = Vec::with_capacity(PART as usize);
    file.by_ref().take(PART).read_to_end(&mut buf)?;
    hash.update(&buf);
    buf.clear();
    file.seek(SeekFrom::Start(len.saturating_sub(PART)))?;
    file.take(PART).read_to_end(&mut buf)?;
    hash.update(&buf);
    Ok(hash.finalize().into())
}
