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
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum ImportMode {
    /// Copy into the model store (safe if the original moves; uses the space twice).
    Copy,
    /// Keep the file where it is and remember its path.
    Reference,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
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
    #[error("a model named {id:?} is already on this device ({existing}); remove it first or import under another id")]
    Exists { id: String, existing: PathBuf },
    #[error("file error on {path}: {message}")]
    Io { path: PathBuf, message: String },
}

impl crate::error::Coded for ImportError {
    fn code(&self) -> crate::error::ErrorCode {
        use crate::error::ErrorCode as C;
        match self {
            Self::NotAModel(_) => C::ImportNotAModel,
            Self::Llm(e) => e.code(),
            Self::Asr(e) => e.code(),
            Self::NotTheCatalogModel { .. } => C::ImportNotTheCatalogModel,
            Self::Exists { .. } => C::ImportExists,
            Self::Io { .. } => C::ImportIo,
        }
    }
}

fn io(path: &Path, e: impl std::fmt::Display) -> ImportError {
    ImportError::Io { path: path.to_path_buf(), message: e.to_string() }
}

/// Validates `path` and adds it to `store` under `id` (default: the file name without
/// extension). If `id` is a catalog entry, the file must be exactly that model; otherwise it
/// is listed by [`ModelStore::imported`] and found by [`ModelStore::choose`]. Nothing on the
/// device is ever overwritten: an id or file name already in use is [`ImportError::Exists`].
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
    let id = id.trim_start_matches('.').to_string();
    if id.is_empty() {
        return Err(ImportError::NotAModel(path.to_path_buf()));
    }
    let entry = catalog.get(&id).ok();
    if let Some(entry) = entry {
        if entry.role != role {
            return Err(ImportError::NotTheCatalogModel { path: path.to_path_buf(), id });
        }
        if let Some(existing) = store.usable(entry) {
            return Err(ImportError::Exists { id, existing });
        }
        let size = path.metadata().map_err(|e| io(path, e))?.len();
        let hash = super::sha256_file(path).map_err(|e| io(path, e))?;
        if size != entry.bytes || hash != entry.sha256.to_lowercase() {
            return Err(ImportError::NotTheCatalogModel { path: path.to_path_buf(), id });
        }
    } else if let Some(r) = store.read_reference(&id) {
        return Err(ImportError::Exists { id, existing: r.path });
    }

    std::fs::create_dir_all(store.dir()).map_err(|e| io(store.dir(), e))?;
    let stored = match mode {
        ImportMode::Reference => path.canonicalize().map_err(|e| io(path, e))?,
        ImportMode::Copy => {
            // A catalog model becomes that entry's file; anything else goes to imported/.
            let dest = match entry {
                Some(entry) => store.path(entry),
                None => {
                    let dir = store.imported_dir();
                    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
                    dir.join(path.file_name().ok_or_else(|| ImportError::NotAModel(path.to_path_buf()))?)
                }
            };
            copy_new(path, &dest, &id)?;
            dest
        }
    };
    // A copied catalog model is found by its file name; everything else by its record.
    if !(entry.is_some() && mode == ImportMode::Copy) {
        let reference = Reference { path: stored.clone(), role: Some(role), summary: summary.clone() };
        let ref_path = store.reference_path(&id);
        let json = serde_json::to_string(&reference).map_err(|e| io(&ref_path, e))?;
        let tmp = ref_path.with_extension("json.tmp");
        std::fs::write(&tmp, json).map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &ref_path).map_err(|e| io(&ref_path, e))?;
    }
    Ok(Imported { id, role, path: stored, summary })
}

/// Copies `from` to `dest` through a temporary file, durably, and only if `dest` does not
/// exist (a hard link is the atomic "create if absent").
fn copy_new(from: &Path, dest: &Path, id: &str) -> Result<(), ImportError> {
    if dest.exists() {
        return Err(ImportError::Exists { id: id.to_string(), existing: dest.to_path_buf() });
    }
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dest.with_file_name(format!(".{name}.import.part"));
    std::fs::copy(from, &tmp).map_err(|e| io(&tmp, e))?;
    let synced = std::fs::File::open(&tmp).and_then(|f| f.sync_all());
    let linked = synced.and_then(|()| std::fs::hard_link(&tmp, dest));
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(ImportError::Exists { id: id.to_string(), existing: dest.to_path_buf() }),
        Err(e) => Err(io(dest, e)),
    }
}
