//! Importing a model file the person already has. It is validated by its header before it is
//! accepted: GGUF architecture, quantisation and context length, or Whisper's hyper-parameters.
//! It is then copied into the store (atomically) or referenced where it is.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::catalog::{Catalog, Role};
use super::store::{ModelStore, Reference};
use crate::asr::{model_file, AsrError};
use crate::llm::{GgufInfo, LlmError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportMode {
    /// Copy into the model store (safe if the original moves; uses the space twice).
    Copy,
    /// Keep the file where it is and remember its path.
    Reference,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Imported {
    pub id: String,
    pub role: Role,
    pub path: PathBuf,
    /// What the header says, for the person to confirm (architecture, quantisation, …).
    pub summary: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0} is neither a GGUF language model nor a whisper.cpp model")]
    NotAModel(PathBuf),
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error(transparent)]
    Asr(#[from] AsrError),
    #[error("{path} is not {id}: its size or SHA-256 differs from the catalog's")]
    NotTheCatalogModel { path: PathBuf, id: String },
    #[error("file error on {path}: {message}")]
    Io { path: PathBuf, message: String },
}

fn io(path: &Path, e: impl std::fmt::Display) -> ImportError {
    ImportError::Io { path: path.to_path_buf(), message: e.to_string() }
}

/// Validates `path` and adds it to `store` under `id` (default: the file name without
/// extension). If `id` is a catalog entry, the file must be exactly that model.
pub fn import(store: &ModelStore, catalog: &Catalog, path: &Path, mode: ImportMode, id: Option<&str>) -> Result<Imported, ImportError> {
    let mut magic = [0u8; 4];
    {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|e| io(path, e))?;
        f.read_exact(&mut magic).map_err(|_| ImportError::NotAModel(path.to_path_buf()))?;
    }
    let (role, summary) = if &magic == b"GGUF" {
        let info = GgufInfo::read(path)?;
        let summary = format!(
            "GGUF {} {}, file type {}, context {} tokens",
            info.architecture,
            info.name.as_deref().unwrap_or(""),
            info.file_type.map_or("?".to_string(), |t| t.to_string()),
            info.context_length.map_or("?".to_string(), |t| t.to_string()),
        );
        (Role::Llm, summary)
    } else if u32::from_le_bytes(magic) == 0x6767_6d6c {
        let info = model_file::inspect(path)?;
        let summary = format!(
            "Whisper ggml, {} audio layers, {} text layers, {}",
            info.n_audio_layer,
            info.n_text_layer,
            if info.multilingual { "multilingual" } else { "English-only" }
        );
        (Role::Asr, summary)
    } else {
        return Err(ImportError::NotAModel(path.to_path_buf()));
    };

    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
    let id: String = id.unwrap_or(stem).chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '-' }).collect();
    if let Ok(entry) = catalog.get(&id) {
        let size = path.metadata().map_err(|e| io(path, e))?.len();
        let hash = super::sha256_file(path).map_err(|e| io(path, e))?;
        if size != entry.bytes || hash != entry.sha256.to_lowercase() {
            return Err(ImportError::NotTheCatalogModel { path: path.to_path_buf(), id });
        }
    }

    std::fs::create_dir_all(store.dir()).map_err(|e| io(store.dir(), e))?;
    let stored = match mode {
        ImportMode::Reference => path.canonicalize().map_err(|e| io(path, e))?,
        ImportMode::Copy => {
            let file_name = path.file_name().ok_or_else(|| ImportError::NotAModel(path.to_path_buf()))?;
            let dest = store.dir().join(file_name);
            let tmp = store.dir().join(format!("{}.import.part", file_name.to_string_lossy()));
            std::fs::copy(path, &tmp).map_err(|e| io(&tmp, e))?;
            std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(|e| io(&tmp, e))?;
            std::fs::rename(&tmp, &dest).map_err(|e| io(&dest, e))?;
            dest
        }
    };
    let reference = Reference { path: stored.clone() };
    let ref_path = store.reference_path(&id);
    let json = serde_json::to_string(&reference).map_err(|e| io(&ref_path, e))?;
    std::fs::write(&ref_path, json).map_err(|e| io(&ref_path, e))?;
    Ok(Imported { id, role, path: stored, summary })
}
