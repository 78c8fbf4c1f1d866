//! Models on the device: the catalog of downloadable models, where they are stored, resumable
//! and verified downloads, and importing a file the person already has.
//!
//! A model file gets its final name only after its size and SHA-256 have been checked (or, for
//! an import, its header validated); anything else is a `.part` file that neither this module
//! nor the loaders treat as a model.

pub mod catalog;
pub mod download;
mod hash;
pub mod import;
pub mod store;

pub use catalog::{Catalog, CatalogEntry, Role};
pub use download::{DownloadError, DownloadOptions, DownloadProgress, DownloadState, Downloader, HostPolicy};
pub use hash::sha256_file;
pub use import::{import, ImportError, ImportMode, Imported};
pub use store::{ChosenModel, ImportedModel, Installed, ModelStore, Reference, StoreError};
