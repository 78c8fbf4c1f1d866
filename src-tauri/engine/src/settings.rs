//! The person's settings, as the app stores them: a small JSON file in the app's private
//! data directory, validated, written atomically (a kill mid-write leaves the old file).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Coded, ErrorCode};

/// The context sizes a person may choose (the settings screen, the CLI's `--ctx`).
pub const CONTEXT_TOKENS: std::ops::RangeInclusive<u32> = 512..=32_768;
use crate::llm::{SamplingParams, SessionOptions};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(default)]
pub struct Settings {
    /// 0 is precise (greedy), higher is more varied; at most 1.5.
    pub temperature: f32,
    /// Context window in tokens (512 to 32,768).
    pub n_ctx: u32,
    /// Inference threads; `None`: the device's performance cores.
    pub threads: Option<u32>,
    /// The assistant's instructions; `None`: the built-in health-records prompt.
    pub instructions: Option<String>,
    /// Send a spoken question as soon as it is transcribed.
    pub auto_send: bool,
    /// The language model to use (a catalog or import id); `None`: the engine's choice.
    pub llm_model: Option<String>,
    /// The speech model to use; `None`: the engine's choice.
    pub asr_model: Option<String>,
    /// Repack the model's weights for faster reading of long records, at the cost of a second
    /// copy of them in memory; `None`: the device's default (off on phones). Applies when the
    /// model is next loaded.
    pub repack_weights: Option<bool>,
    /// Draft tokens from the record and the conversation and let the model check them in one
    /// step (same answers, faster; precise answers only, temperature 0).
    pub draft_tokens: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            temperature: SamplingParams::default().temperature,
            n_ctx: SessionOptions::default().n_ctx,
            threads: None,
            instructions: None,
            auto_send: true,
            llm_model: None,
            asr_model: None,
            repack_weights: None,
            draft_tokens: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{0}")]
    Invalid(String),
    #[error("the settings file {path} cannot be read ({message}); it was left as it is and the defaults are used")]
    Unreadable { path: PathBuf, message: String },
    #[error("the settings could not be saved to {path}: {message}")]
    Write { path: PathBuf, message: String },
}

impl Coded for SettingsError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Invalid(_) => ErrorCode::SettingsInvalid,
            Self::Unreadable { .. } => ErrorCode::SettingsUnreadable,
            Self::Write { .. } => ErrorCode::SettingsWrite,
        }
    }
}

/// Longest custom instructions accepted (they stay in the context of every conversation).
pub const MAX_INSTRUCTIONS_CHARS: usize = 8_000;

impl Settings {
    /// The settings in `path`; the defaults if there is no file yet.
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let s: Self = serde_json::from_str(&text).map_err(|e| SettingsError::Unreadable { path: path.to_path_buf(), message: e.to_string() })?;
                s.validate()?;
                Ok(s)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(SettingsError::Unreadable { path: path.to_path_buf(), message: e.to_string() }),
        }
    }

    /// Validates, then writes atomically (temporary file, fsync, rename), readable by the owner
    /// only, in a folder only the owner may enter ([`crate::private_fs`]).
    pub fn save(&self, path: &Path) -> Result<(), SettingsError> {
        self.validate()?;
        let write = |e: &dyn std::fmt::Display| SettingsError::Write { path: path.to_path_buf(), message: e.to_string() };
        let json = serde_json::to_string_pretty(self).map_err(|e| write(&e))?;
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                crate::private_fs::create_dir(dir).map_err(|e| write(&e))?;
            }
        }
        let tmp = path.with_extension("json.tmp");
        // A leftover temporary file would keep its permissions: start from none.
        let _ = std::fs::remove_file(&tmp);
        {
            use std::io::Write;
            let mut f = crate::private_fs::new_file().open(&tmp).map_err(|e| write(&e))?;
            f.write_all(json.as_bytes()).and_then(|()| f.sync_all()).map_err(|e| write(&e))?;
        }
        std::fs::rename(&tmp, path).map_err(|e| write(&e))
    }

    pub fn validate(&self) -> Result<(), SettingsError> {
        let bad = |m: String| Err(SettingsError::Invalid(m));
        if !(0.0..=1.5).contains(&self.temperature) || self.temperature.is_nan() {
            return bad(format!("temperature {} is outside 0 to 1.5", self.temperature));
        }
        if !CONTEXT_TOKENS.contains(&self.n_ctx) {
            return bad(format!("context size {} is outside 512 to 32,768 tokens", self.n_ctx));
        }
        if self.threads.is_some_and(|t| !(1..=64).contains(&t)) {
            return bad("threads must be between 1 and 64".into());
        }
        if self.instructions.as_deref().is_some_and(|i| i.chars().count() > MAX_INSTRUCTIONS_CHARS) {
            return bad(format!("the instructions are longer than {MAX_INSTRUCTIONS_CHARS} characters"));
        }
        Ok(())
    }

    pub fn sampling(&self) -> SamplingParams {
        if self.temperature <= 0.0 {
            SamplingParams::greedy()
        } else {
            SamplingParams { temperature: self.temperature, ..SamplingParams::default() }
        }
    }

    pub fn session_options(&self) -> SessionOptions {
        let defaults = SessionOptions::default();
        SessionOptions {
            n_ctx: self.n_ctx,
            threads: self.threads.map(|t| t as usize),
            repack: self.repack_weights,
            draft_max: if self.draft_tokens { crate::llm::session::DRAFT_WHEN_ON } else { 0 },
            ..defaults
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_bad_files_are_never_overwritten() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("settings.json");
        assert_eq!(Settings::load(&path).expect("defaults"), Settings::default());
        let s = Settings { temperature: 0.0, instructions: Some("Be brief.".into()), threads: Some(2), ..Settings::default() };
        s.save(&path).expect("save");
        assert_eq!(Settings::load(&path).expect("load"), s);
        assert!(s.sampling().is_greedy());
        std::fs::write(&path, "{not json").expect("write");
        let e = Settings::load(&path).expect_err("corrupt");
        assert_eq!(e.code(), ErrorCode::SettingsUnreadable);
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "{not json", "left as it is");
        let bad = Settings { n_ctx: 100, ..Settings::default() };
        assert_eq!(bad.save(&path).expect_err("invalid").code(), ErrorCode::SettingsInvalid);
        assert!(!path.with_extension("json.tmp").exists());
    }

    #[cfg(unix)]
    #[test]
    fn the_settings_and_their_folder_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("data");
        let path = dir.join("settings.json");
        Settings::default().save(&path).expect("save");
        assert_eq!(mode(&path), 0o600, "the settings file");
        assert_eq!(mode(&dir), 0o700, "the data folder");
        // A file and folder written by an older version, readable by all: closed on save.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        std::fs::write(path.with_extension("json.tmp"), "left over").expect("tmp");
        std::fs::set_permissions(path.with_extension("json.tmp"), std::fs::Permissions::from_mode(0o644)).expect("chmod");
        Settings::default().save(&path).expect("save");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir), 0o700);
    }
}
