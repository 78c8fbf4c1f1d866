//! The catalog of downloadable models (`models/catalog.json`, embedded at build time; a file
//! can replace it, e.g. for tests against a local server).

use std::path::Path;

use serde::{Deserialize, Serialize};

const EMBEDDED: &str = include_str!("../../../../models/catalog.json");

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Llm,
    Asr,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CatalogEntry {
    pub id: String,
    pub role: Role,
    pub name: String,
    pub url: String,
    /// File name in the model store.
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
    pub license: String,
    pub ram_mb: u64,
    pub description: String,
    #[serde(default)]
    pub default: bool,
    /// Size and hash checked against the host (not only cross-checked between catalogs).
    #[serde(default)]
    pub verified: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Catalog {
    pub version: u32,
    #[serde(default)]
    pub note: String,
    /// Hosts the models' addresses may redirect to (a host's CDN). Downloads in the app go
    /// only to these and to the hosts of the models' own addresses.
    #[serde(default)]
    pub redirect_hosts: Vec<String>,
    pub models: Vec<CatalogEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read the model catalog {path}: {message}")]
    Read { path: String, message: String },
    #[error("the model catalog is invalid: {0}")]
    Invalid(String),
    #[error("no model {0:?} in the catalog")]
    UnknownModel(String),
}

impl crate::error::Coded for CatalogError {
    fn code(&self) -> crate::error::ErrorCode {
        use crate::error::ErrorCode as C;
        match self {
            Self::Read { .. } => C::CatalogUnreadable,
            Self::Invalid(_) => C::CatalogInvalid,
            Self::UnknownModel(_) => C::UnknownModel,
        }
    }
}

impl Catalog {
    /// The catalog built into the app.
    pub fn embedded() -> Self {
        match Self::parse(EMBEDDED) {
            Ok(c) => c,
            // The embedded file is checked by a unit test; this cannot fail in a build.
            Err(e) => panic!("embedded catalog: {e}"),
        }
    }

    pub fn load(path: &Path) -> Result<Self, CatalogError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CatalogError::Read { path: path.display().to_string(), message: e.to_string() })?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, CatalogError> {
        let c: Catalog = serde_json::from_str(text).map_err(|e| CatalogError::Invalid(e.to_string()))?;
        for m in &c.models {
            let hash_ok = m.sha256.len() == 64 && m.sha256.bytes().all(|b| b.is_ascii_hexdigit());
            let file_ok = !m.file.is_empty() && !m.file.contains(['/', '\\']) && !m.file.starts_with('.');
            if !hash_ok || !file_ok || m.bytes == 0 || m.id.is_empty() {
                return Err(CatalogError::Invalid(format!("entry {:?} has a bad file name, size or hash", m.id)));
            }
        }
        for role in [Role::Llm, Role::Asr] {
            if c.models.iter().filter(|m| m.role == role && m.default).count() > 1 {
                return Err(CatalogError::Invalid(format!("more than one default {role:?} model")));
            }
        }
        Ok(c)
    }

    pub fn get(&self, id: &str) -> Result<&CatalogEntry, CatalogError> {
        self.models.iter().find(|m| m.id == id).ok_or_else(|| CatalogError::UnknownModel(id.to_string()))
    }

    pub fn default_for(&self, role: Role) -> Option<&CatalogEntry> {
        self.models.iter().find(|m| m.role == role && m.default)
    }

    /// Every host a download from this catalog may contact: its models' hosts and the
    /// redirect hosts it names (lower case, each once).
    pub fn hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = self
            .models
            .iter()
            .filter_map(|m| reqwest::Url::parse(&m.url).ok()?.host_str().map(str::to_string))
            .chain(self.redirect_hosts.iter().cloned())
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase())
            .collect();
        hosts.sort();
        hosts.dedup();
        hosts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_is_valid_and_has_the_product_defaults() {
        let c = Catalog::embedded();
        assert_eq!(c.default_for(Role::Llm).map(|m| m.id.as_str()), Some("qwen2.5-1.5b-instruct-q4_k_m"));
        assert_eq!(c.default_for(Role::Asr).map(|m| m.id.as_str()), Some("whisper-base.en"));
        let q = c.get("qwen2.5-1.5b-instruct-q4_k_m").expect("entry");
        assert_eq!(q.bytes, 1_117_320_736);
        assert!(c.models.iter().all(|m| m.url.starts_with("https://")));
        assert!(c.get("nope").is_err());
        // Downloads in the app may reach the model host and its CDNs, nothing else.
        let hosts = c.hosts();
        assert!(hosts.contains(&"huggingface.co".to_string()), "{hosts:?}");
        assert!(hosts.iter().all(|h| h == "huggingface.co" || h.ends_with(".hf.co")), "{hosts:?}");
    }

    #[test]
    fn bad_entries_are_rejected() {
        let bad = r#"{"version":1,"models":[{"id":"x","role":"llm","name":"x","url":"https://h/x","file":"../x",
            "bytes":1,"sha256":"00","license":"MIT","ram_mb":1,"description":""}]}"#;
        assert!(matches!(Catalog::parse(bad), Err(CatalogError::Invalid(_))));
    }
}
