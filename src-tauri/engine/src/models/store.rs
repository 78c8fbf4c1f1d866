//! Where models live: the platform's app-data directory (or `MURMUR_MODELS_DIR`), one file per
//! model, plus `<id>.ref.json` for an imported file that stays where it is.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::catalog::{Catalog, CatalogEntry};

#[derive(Clone, Debug)]
pub struct ModelStore {
    dir: PathBuf,
}

/// What is on the device for one catalog entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Serialize, Deserialize)]
pub(crate) struct Reference {
    pub path: PathBuf,
}

impl ModelStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `MURMUR_MODELS_DIR`, else the platform's data directory (`~/.local/share/murmur/models`
    /// on Linux). The app passes its own sandboxed directory on mobile.
    pub fn default_dir() -> PathBuf {
        if let Some(d) = std::env::var_os("MURMUR_MODELS_DIR") {
            return PathBuf::from(d);
        }
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

    pub(crate) fn reference_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.ref.json"))
    }

    pub fn state(&self, entry: &CatalogEntry) -> Installed {
        if let Ok(text) = std::fs::read_to_string(self.reference_path(&entry.id)) {
            if let Ok(r) = serde_json::from_str::<Reference>(&text) {
                if r.path.is_file() {
                    return Installed::Referenced { path: r.path };
                }
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

    /// Deletes the model, its partial download and any reference (never a referenced file).
    pub fn remove(&self, entry: &CatalogEntry) -> std::io::Result<bool> {
        let mut removed = false;
        for p in [self.path(entry), self.part_path(entry), self.sidecar_path(entry), self.reference_path(&entry.id)] {
            match std::fs::remove_file(&p) {
                Ok(()) => removed = true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(removed)
    }
}
