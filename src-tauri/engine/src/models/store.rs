//! Where models live: a directory the caller chooses (the app's private data directory; the
//! CLI's `--models-dir`), one file per catalog model, imported copies under `imported/`, and
//! `<id>.ref.json` for every import (a copy or a file that stays where the person keeps it).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::catalog::{Catalog, CatalogEntry, Role};
use crate::error::{Coded, ErrorCode};

#[derive(Clone, Debug)]
pub struct ModelStore {
    dir: PathBuf,
}

/// What is on the device for one catalog entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Installed {
    Missing,
    /// A download in progress or interrupted (resumable).
    Partial { bytes: u64 },
    /// Downloaded (verified when it was written).
    Ready { path: PathBuf },
    /// Imported by reference: the file stays where the person keeps it.
    Referenced { path: PathBuf },
}

/// The record of an import (`<id>.ref.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    pub path: PathBuf,
    /// `None` in records written before imports outside the catalog were listed.
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub summary: String,
}

/// A model imported under an id of its own (not a catalog entry).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImportedModel {
    pub id: String,
    pub role: Role,
    pub path: PathBuf,
    /// What its header said when it was imported (architecture, quantisation, …).
    pub summary: String,
    /// False when the file has gone (moved or deleted since it was imported).
    pub present: bool,
}

/// The model the engine would use for a role, and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ChosenModel {
    pub id: String,
    pub role: Role,
    pub path: PathBuf,
    /// True for the catalog's default model of the role.
    pub is_default: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no {} is installed: download one or import a model file", role_name(*.0))]
    NoModel(Role),
    #[error("the model store at {path} cannot be used: {message}")]
    Io { path: PathBuf, message: String },
}

impl Coded for StoreError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::NoModel(_) => ErrorCode::NoModelInstalled,
            Self::Io { .. } => ErrorCode::StoreIo,
        }
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Llm => "language model",
        Role::Asr => "speech model",
    }
}

const REF_SUFFIX: &str = ".ref.json";

impl ModelStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The platform's data directory (`~/.local/share/murmur/models` on Linux). The app passes
    /// its own sandboxed directory on mobile; the CLI its `--models-dir`.
    pub fn default_dir() -> PathBuf {
        dirs::data_dir().unwrap_or_else(std::env::temp_dir).join("murmur").join("models")
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self, entry: &CatalogEntry) -> PathBuf {
        self.dir.join(&entry.file)
    }

    pub fn part_path(&self, entry: &CatalogEntry) -> PathBuf {
        self.dir.join(format!("{}.part", entry.file))
    }

    pub fn sidecar_path(&self, entry: &CatalogEntry) -> PathBuf {
        self.dir.join(format!("{}.part.json", entry.file))
    }

    /// The lock held while `entry` downloads (one download of a model at a time).
    pub fn lock_path(&self, entry: &CatalogEntry) -> PathBuf {
        self.dir.join(format!("{}.part.lock", entry.file))
    }

    /// Where copied imports go (apart from catalog files, so that they can never be taken
    /// for a downloaded catalog model).
    pub fn imported_dir(&self) -> PathBuf {
        self.dir.join("imported")
    }

    pub(crate) fn reference_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}{REF_SUFFIX}"))
    }

    pub(crate) fn read_reference(&self, id: &str) -> Option<Reference> {
        let text = std::fs::read_to_string(self.reference_path(id)).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn state(&self, entry: &CatalogEntry) -> Installed {
        if let Some(r) = self.read_reference(&entry.id) {
            if r.path.is_file() {
                return Installed::Referenced { path: r.path };
            }
        }
        let path = self.path(entry);
        if path.metadata().is_ok_and(|m| m.is_file() && m.len() == entry.bytes) {
            return Installed::Ready { path };
        }
        match self.part_path(entry).metadata() {
            Ok(m) => Installed::Partial { bytes: m.len() },
            Err(_) => Installed::Missing,
        }
    }

    /// The usable file of an entry, if any.
    pub fn usable(&self, entry: &CatalogEntry) -> Option<PathBuf> {
        match self.state(entry) {
            Installed::Ready { path } | Installed::Referenced { path } => Some(path),
            _ => None,
        }
    }

    pub fn list<'c>(&self, catalog: &'c Catalog) -> Vec<(&'c CatalogEntry, Installed)> {
        catalog.models.iter().map(|m| (m, self.state(m))).collect()
    }

    /// Models imported under ids of their own (not catalog entries), sorted by id.
    pub fn imported(&self, catalog: &Catalog) -> Vec<ImportedModel> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let mut out: Vec<ImportedModel> = entries
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                let id = name.strip_suffix(REF_SUFFIX)?.to_string();
                if catalog.get(&id).is_ok() {
                    return None;
                }
                let r = self.read_reference(&id)?;
                // Older records have no role: tell by the file's magic bytes.
                let role = r.role.or_else(|| sniff_role(&r.path))?;
                Some(ImportedModel { present: r.path.is_file(), id, role, path: r.path, summary: r.summary })
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    /// The model to use for `role`: the catalog's default if installed, then any other
    /// installed catalog model, then an imported one.
    pub fn choose(&self, catalog: &Catalog, role: Role) -> Result<ChosenModel, StoreError> {
        let mut candidates: Vec<_> = catalog.models.iter().filter(|m| m.role == role).collect();
        candidates.sort_by_key(|m| !m.default);
        if let Some((m, path)) = candidates.into_iter().find_map(|m| self.usable(m).map(|p| (m, p))) {
            return Ok(ChosenModel { id: m.id.clone(), role, path, is_default: m.default });
        }
        self.imported(catalog)
            .into_iter()
            .find(|m| m.role == role && m.present)
            .map(|m| ChosenModel { id: m.id, role, path: m.path, is_default: false })
            .ok_or(StoreError::NoModel(role))
    }

    /// The model to use for `role`: the person's choice (`preferred`, a catalog or imported
    /// id) if it is still usable, otherwise [`Self::choose`]'s.
    pub fn chosen(&self, catalog: &Catalog, role: Role, preferred: Option<&str>) -> Option<ChosenModel> {
        if let Some(id) = preferred {
            if let Ok(entry) = catalog.get(id) {
                if let Some(path) = self.usable(entry) {
                    return Some(ChosenModel { id: id.to_string(), role, path, is_default: entry.default });
                }
            }
            if let Some(m) = self.imported(catalog).into_iter().find(|m| m.id == id && m.role == role && m.present) {
                return Some(ChosenModel { id: m.id, role, path: m.path, is_default: false });
            }
        }
        self.choose(catalog, role).ok()
    }

    /// Deletes the model, its partial download and any reference (never a referenced file
    /// outside the store).
    pub fn remove(&self, entry: &CatalogEntry) -> std::io::Result<bool> {
        let mut removed = false;
        for p in [self.path(entry), self.part_path(entry), self.sidecar_path(entry), self.reference_path(&entry.id)] {
            removed |= remove_if_present(&p)?;
        }
        Ok(removed)
    }

    /// Deletes an import made under an id of its own: its record, and the file if it is a
    /// copy inside the store (a file imported by reference is left where it is).
    pub fn remove_imported(&self, id: &str) -> std::io::Result<bool> {
        let Some(r) = self.read_reference(id) else { return Ok(false) };
        if r.path.starts_with(self.imported_dir()) {
            remove_if_present(&r.path)?;
        }
        remove_if_present(&self.reference_path(id))
    }
}

fn remove_if_present(p: &Path) -> std::io::Result<bool> {
    match std::fs::remove_file(p) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// The role of a model file by its magic bytes.
pub(crate) fn sniff_role(path: &Path) -> Option<Role> {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path).ok()?.read_exact(&mut magic).ok()?;
    if &magic == b"GGUF" {
        Some(Role::Llm)
    } else if u32::from_le_bytes(magic) == 0x6767_6d6c {
        Some(Role::Asr)
    } else {
        None
    }
}
