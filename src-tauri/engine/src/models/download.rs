//! Resumable, verified model downloads.
//!
//! Bytes go to `<file>.part` next to a small sidecar (`<file>.part.json`: URL, size, hash) that
//! says what the part belongs to. An interrupted download resumes with `Range: bytes=N-` and
//! requires `206 Partial Content`; a server that answers `200` instead, or whose size changed,
//! restarts from zero. SHA-256 is computed while the bytes arrive (on resume, over what is
//! already on disk first); size, then hash, are checked before the file is renamed into place
//! atomically. A mismatch deletes the part. Network errors and 5xx answers are retried with
//! exponential backoff; a cancel leaves the part for later. One download of a model runs at a
//! time (a lock file beside the part). No blocking file call runs on the async executor:
//! tokio::fs, or spawn_blocking (clippy's disallowed-methods, denied here, checks it).
#![deny(clippy::disallowed_methods)]

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::catalog::CatalogEntry;
use super::hash::hash_prefix;
use super::store::ModelStore;
use crate::error::{EngineError, ErrorCode};
use crate::CancelToken;

#[derive(Clone, Debug)]
pub struct DownloadOptions {
    /// Attempts without progress before giving up (an attempt that moved bytes resets it).
    pub max_attempts: u32,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Free space kept beyond the bytes still to download.
    pub disk_margin: u64,
    /// At most one progress event per interval (state changes always go out).
    pub progress_interval: Duration,
    pub connect_timeout: Duration,
    /// A connection that delivers nothing for this long is dropped and retried.
    pub read_timeout: Duration,
    /// Which servers may be contacted, for the first request and every redirect.
    pub hosts: HostPolicy,
}

/// The servers a downloader may talk to. The app allows only its catalog's hosts; plain
/// http only ever to this device, and only where a test server needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPolicy {
    /// https hosts allowed (`None`: any https host, e.g. a catalog the person chose in the CLI).
    pub https_hosts: Option<Vec<String>>,
    /// Plain http to this device (127.0.0.1, ::1, localhost), for tests against a local
    /// server. When `https_hosts` is a list, the loopback host must be on it too.
    pub loopback_http: bool,
}

impl HostPolicy {
    /// Only the catalog's hosts (its models' and the CDNs it names for redirects), https only.
    pub fn catalog(catalog: &super::Catalog) -> Self {
        Self { https_hosts: Some(catalog.hosts()), loopback_http: false }
    }

    fn allows(&self, url: &Url) -> Result<(), DownloadError> {
        let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        let secure = match url.scheme() {
            "https" => true,
            "http" => {
                self.loopback_http
                    && match url.host() {
                        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
                        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
                        None => false,
                    }
            }
            _ => false,
        };
        if !secure {
            return Err(DownloadError::Insecure(url.to_string()));
        }
        match &self.https_hosts {
            Some(hosts) if !hosts.iter().any(|h| h.eq_ignore_ascii_case(&host)) => Err(DownloadError::HostNotAllowed { host }),
            _ => Ok(()),
        }
    }
}

impl Default for HostPolicy {
    /// Any https host, and http to this device (the CLI and its tests).
    fn default() -> Self {
        Self { https_hosts: None, loopback_http: true }
    }
}

impl Default for DownloadOptions {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            disk_margin: 64 << 20,
            progress_interval: Duration::from_millis(200),
            connect_timeout: Duration::from_secs(15),
            read_timeout: Duration::from_secs(30),
            hosts: HostPolicy::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DownloadState {
    Queued,
    /// Re-reading the bytes of an interrupted download before resuming.
    Checking,
    Downloading,
    Verifying,
    Done { path: PathBuf },
    Failed { error: EngineError },
    Cancelled,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DownloadProgress {
    pub id: String,
    pub state: DownloadState,
    pub bytes_done: u64,
    pub bytes_total: u64,
    /// Bytes per second over the last interval.
    pub speed_bps: f64,
    pub eta_secs: Option<f64>,
    pub attempt: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("the download address {url:?} is not a valid URL: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("refusing to download from {0}: only https is allowed")]
    Insecure(String),
    #[error("refusing to download from {host}: models come only from the hosts in the model catalog")]
    HostNotAllowed { host: String },
    #[error("the server answered {status} for {url}")]
    Http { status: u16, url: String },
    #[error("the download failed after {attempts} attempts: {message}")]
    Network { attempts: u32, message: String },
    #[error("the server offers {actual} bytes but the catalog expects {expected}: not downloading")]
    SizeMismatch { expected: u64, actual: u64 },
    #[error("the downloaded file is corrupt (SHA-256 {actual}, expected {expected}); it was deleted")]
    HashMismatch { expected: String, actual: String },
    #[error("not enough free space in {dir}: {needed} more bytes are needed, {available} are free")]
    DiskFull { dir: PathBuf, needed: u64, available: u64 },
    #[error("the download was cancelled; it will resume where it stopped")]
    Cancelled,
    #[error("{id} is already being downloaded")]
    InProgress { id: String },
    #[error("file error on {path}: {message}")]
    Io { path: PathBuf, message: String },
}

impl crate::error::Coded for DownloadError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::BadUrl { .. } => ErrorCode::DownloadBadUrl,
            Self::Insecure(_) | Self::HostNotAllowed { .. } => ErrorCode::DownloadInsecure,
            Self::Http { .. } => ErrorCode::DownloadHttp,
            Self::Network { .. } => ErrorCode::DownloadNetwork,
            Self::SizeMismatch { .. } => ErrorCode::DownloadSizeMismatch,
            Self::HashMismatch { .. } => ErrorCode::DownloadHashMismatch,
            Self::DiskFull { .. } => ErrorCode::DiskFull,
            Self::Cancelled => ErrorCode::Cancelled,
            Self::InProgress { .. } => ErrorCode::DownloadInProgress,
            Self::Io { .. } => ErrorCode::DownloadIo,
        }
    }
}

impl DownloadError {
    fn io(path: &Path, e: impl std::fmt::Display) -> Self {
        Self::Io { path: path.to_path_buf(), message: e.to_string() }
    }
}

#[derive(Serialize, Deserialize, PartialEq)]
struct Sidecar {
    url: String,
    bytes: u64,
    sha256: String,
}

/// What one HTTP attempt ended with.
enum Attempt {
    Complete,
    /// Retry (after backoff).
    Retry { message: String },
    /// Start over from byte 0 (the server ignored the range or the file changed).
    Restart,
}

pub struct Downloader {
    client: reqwest::Client,
    options: DownloadOptions,
}

impl std::fmt::Debug for Downloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Downloader").field("options", &self.options).finish_non_exhaustive()
    }
}

struct Reporter<'a> {
    on_progress: &'a mut (dyn FnMut(&DownloadProgress) + Send),
    progress: DownloadProgress,
    last: Instant,
    last_bytes: u64,
    interval: Duration,
}

impl Reporter<'_> {
    fn state(&mut self, state: DownloadState) {
        self.progress.state = state;
        (self.on_progress)(&self.progress);
    }

    fn bytes(&mut self, done: u64) {
        self.progress.bytes_done = done;
        let elapsed = self.last.elapsed();
        if elapsed >= self.interval {
            let speed = done.saturating_sub(self.last_bytes) as f64 / elapsed.as_secs_f64();
            self.progress.speed_bps = speed;
            let remaining = self.progress.bytes_total.saturating_sub(done) as f64;
            self.progress.eta_secs = (speed > 0.0).then(|| remaining / speed);
            self.last = Instant::now();
            self.last_bytes = done;
            (self.on_progress)(&self.progress);
        }
    }
}

impl Downloader {
    pub fn new(options: DownloadOptions) -> Result<Self, DownloadError> {
        let hosts = options.hosts.clone();
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 10 {
                attempt.error("too many redirects")
            } else if let Err(e) = hosts.allows(attempt.url()) {
                attempt.error(e)
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            .redirect(policy)
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .user_agent(concat!("murmur/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| DownloadError::Network { attempts: 0, message: e.to_string() })?;
        Ok(Self { client, options })
    }

    /// Downloads `entry` into `store` (or finds it there), reporting progress; returns the
    /// verified file's path.
    pub async fn download(
        &self,
        entry: &CatalogEntry,
        store: &ModelStore,
        cancel: &CancelToken,
        on_progress: &mut (dyn FnMut(&DownloadProgress) + Send),
    ) -> Result<PathBuf, DownloadError> {
        let mut r = Reporter {
            on_progress,
            progress: DownloadProgress {
                id: entry.id.clone(),
                state: DownloadState::Queued,
                bytes_done: 0,
                bytes_total: entry.bytes,
                speed_bps: 0.0,
                eta_secs: None,
                attempt: 0,
            },
            last: Instant::now(),
            last_bytes: 0,
            interval: self.options.progress_interval,
        };
        r.state(DownloadState::Queued);
        let result = self.run(entry, store, cancel, &mut r).await;
        match &result {
            Ok(path) => r.state(DownloadState::Done { path: path.clone() }),
            Err(DownloadError::Cancelled) => r.state(DownloadState::Cancelled),
            Err(e) => r.state(DownloadState::Failed { error: EngineError::from_coded(e) }),
        }
        result
    }

    async fn run(&self, entry: &CatalogEntry, store: &ModelStore, cancel: &CancelToken, r: &mut Reporter<'_>) -> Result<PathBuf, DownloadError> {
        let url = Url::parse(&entry.url).map_err(|e| DownloadError::BadUrl { url: entry.url.clone(), reason: e.to_string() })?;
        self.options.hosts.allows(&url)?;
        let dir = store.dir().to_path_buf();
        tokio::fs::create_dir_all(&dir).await.map_err(|e| DownloadError::io(&dir, e))?;
        let (final_path, part, sidecar_path) = (store.path(entry), store.part_path(entry), store.sidecar_path(entry));
        if tokio::fs::metadata(&final_path).await.is_ok_and(|m| m.len() == entry.bytes) {
            return Ok(final_path);
        }
        // One download of a model at a time, across processes too: both would write one part.
        let _lock = lock(&store.lock_path(entry), &entry.id).await?;

        // The part file only counts if the sidecar says it is this very file.
        let sidecar = Sidecar { url: entry.url.clone(), bytes: entry.bytes, sha256: entry.sha256.to_lowercase() };
        let same = tokio::fs::read_to_string(&sidecar_path).await.ok().and_then(|t| serde_json::from_str::<Sidecar>(&t).ok()).is_some_and(|s| s == sidecar);
        let mut have = if same { tokio::fs::metadata(&part).await.map(|m| m.len()).unwrap_or(0) } else { 0 };
        if have > entry.bytes {
            have = 0;
        }
        if have == 0 {
            let _ = tokio::fs::remove_file(&part).await;
        }
        let json = serde_json::to_string(&sidecar).map_err(|e| DownloadError::io(&sidecar_path, e))?;
        tokio::fs::write(&sidecar_path, json).await.map_err(|e| DownloadError::io(&sidecar_path, e))?;

        // Enough room for the rest, plus a margin?
        let d = dir.clone();
        #[allow(clippy::disallowed_methods)] // a blocking thread, not the executor
        let available = tokio::task::spawn_blocking(move || fs4::available_space(&d))
            .await
            .map_err(|e| DownloadError::io(&dir, e))?
            .map_err(|e| DownloadError::io(&dir, e))?;
        let needed = entry.bytes - have + self.options.disk_margin;
        if available < needed {
            return Err(DownloadError::DiskFull { dir: dir.clone(), needed, available });
        }

        let mut hasher = Sha256::new();
        if have > 0 {
            r.progress.bytes_done = have;
            r.state(DownloadState::Checking);
            let (p, mut h) = (part.clone(), Sha256::new());
            let (h, read) = tokio::task::spawn_blocking(move || hash_prefix(&p, have, &mut h).map(|n| (h, n)))
                .await
                .map_err(|e| DownloadError::io(&part, e))?
                .map_err(|e| DownloadError::io(&part, e))?;
            hasher = h;
            have = read;
        }

        let mut failures = 0u32;
        let mut backoff = self.options.backoff_initial;
        // Progress means getting further than ever before: a server that cuts every answer at
        // the same point and ignores ranges would otherwise restart forever.
        let mut high_water = have;
        loop {
            if cancel.is_cancelled() {
                return Err(DownloadError::Cancelled);
            }
            r.progress.attempt += 1;
            r.last = Instant::now();
            r.last_bytes = have;
            r.state(DownloadState::Downloading);
            let outcome = self.attempt(&url, entry, &part, &mut have, &mut hasher, cancel, r).await?;
            let progressed = have > high_water;
            high_water = high_water.max(have);
            let message = match outcome {
                Attempt::Complete => break,
                Attempt::Restart => {
                    tracing::warn!(id = %entry.id, "server did not resume the download; starting over");
                    have = 0;
                    hasher = Sha256::new();
                    "the server cannot resume the download".to_string()
                }
                Attempt::Retry { message } => message,
            };
            if progressed {
                failures = 0;
                backoff = self.options.backoff_initial;
            }
            failures += 1;
            if failures >= self.options.max_attempts {
                return Err(DownloadError::Network { attempts: failures, message });
            }
            tracing::info!(id = %entry.id, attempt = failures, "download interrupted ({message}); retrying in {backoff:?}");
            let until = Instant::now() + backoff;
            while Instant::now() < until {
                if cancel.is_cancelled() {
                    return Err(DownloadError::Cancelled);
                }
                tokio::time::sleep(Duration::from_millis(50).min(until - Instant::now())).await;
            }
            backoff = (backoff * 2).min(self.options.backoff_max);
        }

        r.state(DownloadState::Verifying);
        let size = tokio::fs::metadata(&part).await.map_err(|e| DownloadError::io(&part, e))?.len();
        let actual = hex::encode(hasher.finalize());
        if size != entry.bytes || actual != entry.sha256.to_lowercase() {
            let _ = tokio::fs::remove_file(&part).await;
            let _ = tokio::fs::remove_file(&sidecar_path).await;
            if size != entry.bytes {
                return Err(DownloadError::SizeMismatch { expected: entry.bytes, actual: size });
            }
            return Err(DownloadError::HashMismatch { expected: entry.sha256.clone(), actual });
        }
        tokio::fs::rename(&part, &final_path).await.map_err(|e| DownloadError::io(&final_path, e))?;
        let _ = tokio::fs::remove_file(&sidecar_path).await;
        tracing::info!(id = %entry.id, "model downloaded and verified");
        Ok(final_path)
    }

    #[allow(clippy::too_many_arguments)]
    async fn attempt(
        &self,
        url: &Url,
        entry: &CatalogEntry,
        part: &Path,
        have: &mut u64,
        hasher: &mut Sha256,
        cancel: &CancelToken,
        r: &mut Reporter<'_>,
    ) -> Result<Attempt, DownloadError> {
        if *have == entry.bytes {
            return Ok(Attempt::Complete);
        }
        let mut req = self.client.get(url.clone());
        if *have > 0 {
            req = req.header(RANGE, format!("bytes={have}-"));
        }
        let resp = match req.send().await {
            Ok(resp) => resp,
            // A redirect the host policy refused is final, with its own reason.
            Err(e) if e.is_redirect() => match refused_redirect(&e) {
                Some(refusal) => return Err(refusal),
                None => return Ok(Attempt::Retry { message: describe(&e) }),
            },
            Err(e) => return Ok(Attempt::Retry { message: describe(&e) }),
        };
        let status = resp.status();
        match status {
            StatusCode::PARTIAL_CONTENT if *have > 0 => {
                // "bytes START-END/TOTAL": it must continue where we are, for the same total.
                let range = resp.headers().get(CONTENT_RANGE).and_then(|v| v.to_str().ok()).unwrap_or("");
                let start = range.strip_prefix("bytes ").and_then(|s| s.split('-').next()).and_then(|s| s.parse::<u64>().ok());
                let total = range.rsplit('/').next().and_then(|s| s.parse::<u64>().ok());
                if start != Some(*have) || total != Some(entry.bytes) {
                    return Ok(Attempt::Restart);
                }
            }
            StatusCode::OK => {
                if *have > 0 {
                    // The range was ignored: what follows is the whole file. Start over with it.
                    tracing::warn!(id = %entry.id, "server ignored the range request; starting over");
                    *have = 0;
                    *hasher = Sha256::new();
                }
                if let Some(len) = resp.content_length() {
                    if len != entry.bytes {
                        return Err(DownloadError::SizeMismatch { expected: entry.bytes, actual: len });
                    }
                }
            }
            StatusCode::RANGE_NOT_SATISFIABLE => return Ok(Attempt::Restart),
            s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS || s == StatusCode::REQUEST_TIMEOUT => {
                return Ok(Attempt::Retry { message: format!("server answered {s}") });
            }
            s => return Err(DownloadError::Http { status: s.as_u16(), url: url.to_string() }),
        }

        // Writing and hashing run on a blocking thread, fed through a small queue, so that
        // they overlap with receiving (loopback delivers faster than one core can do all three).
        let (tx, mut rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(32);
        let (path, offset, mut h) = (part.to_path_buf(), *have, std::mem::take(hasher));
        #[allow(clippy::disallowed_methods)] // a blocking thread, not the executor
        let writer = tokio::task::spawn_blocking(move || -> std::io::Result<Sha256> {
            use std::io::{Seek, Write};
            let mut file = std::fs::OpenOptions::new().create(true).write(true).truncate(false).open(&path)?;
            file.set_len(offset)?;
            file.seek(std::io::SeekFrom::Start(offset))?;
            // Hashing runs beside writing: each chunk is shared, not copied.
            let (hash_tx, hash_rx) = std::sync::mpsc::sync_channel::<bytes::Bytes>(64);
            let hashing = std::thread::spawn(move || {
                for chunk in hash_rx {
                    h.update(&chunk);
                }
                h
            });
            let mut result = Ok(());
            while let Some(chunk) = rx.blocking_recv() {
                if let Err(e) = file.write_all(&chunk) {
                    result = Err(e);
                    break;
                }
                let _ = hash_tx.send(chunk);
            }
            drop(hash_tx);
            let h = hashing.join().map_err(|_| std::io::Error::other("the hashing thread panicked"))?;
            result?;
            // Whatever was received is kept, durably, for the next attempt or the rename.
            file.sync_all()?;
            Ok(h)
        });
        let mut stream = resp.bytes_stream();
        let outcome = loop {
            let next = tokio::select! {
                next = stream.next() => next,
                () = wait_cancelled(cancel) => break Err(DownloadError::Cancelled),
            };
            match next {
                Some(Ok(mut chunk)) => {
                    chunk.truncate((entry.bytes - *have).min(chunk.len() as u64) as usize);
                    let n = chunk.len() as u64;
                    if tx.send(chunk).await.is_err() {
                        break Ok(Attempt::Retry { message: "the writer stopped".into() });
                    }
                    *have += n;
                    r.bytes(*have);
                    if *have == entry.bytes {
                        break Ok(Attempt::Complete);
                    }
                }
                Some(Err(e)) => break Ok(Attempt::Retry { message: describe(&e) }),
                None => break Ok(Attempt::Retry { message: "the connection closed early".into() }),
            }
        };
        drop(tx);
        *hasher = writer.await.map_err(|e| DownloadError::io(part, e))?.map_err(|e| DownloadError::io(part, e))?;
        outcome
    }
}

/// Takes the download lock of one model, without waiting (held until the file is dropped).
async fn lock(path: &Path, id: &str) -> Result<std::fs::File, DownloadError> {
    let (p, id) = (path.to_path_buf(), id.to_string());
    #[allow(clippy::disallowed_methods)] // a blocking thread, not the executor
    let locked = tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&p).map_err(|e| DownloadError::io(&p, e))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => Err(DownloadError::InProgress { id }),
            Err(std::fs::TryLockError::Error(e)) => Err(DownloadError::io(&p, e)),
        }
    });
    locked.await.map_err(|e| DownloadError::io(path, e))?
}

async fn wait_cancelled(cancel: &CancelToken) {
    while !cancel.is_cancelled() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The host policy's refusal inside a redirect error, if that is what stopped it.
fn refused_redirect(e: &reqwest::Error) -> Option<DownloadError> {
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        match inner.downcast_ref::<DownloadError>() {
            Some(DownloadError::HostNotAllowed { host }) => return Some(DownloadError::HostNotAllowed { host: host.clone() }),
            Some(DownloadError::Insecure(url)) => return Some(DownloadError::Insecure(url.clone())),
            _ => source = inner.source(),
        }
    }
    None
}

fn describe(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}
