//! KV-cache files: a conversation's llama.cpp sequence state, saved after each answer so that
//! reopening it (even after a restart) continues without re-reading it.
//!
//! One file per conversation, `conversation-<id>.kv`: a header naming the model (a
//! fingerprint of its file) and the context size, the token ids the state holds, the state
//! bytes, and a SHA-256 of all of it. Written to a temporary file, synced and renamed (a kill
//! leaves the old file or the new one). A file that is truncated, damaged, from another model
//! or another context size is ignored (and removed), never loaded. The folder is bounded: the
//! least recently used files go first. A temporary file left by a kill mid-write counts
//! towards the bound until it is removed: when the folder is opened, if it is old enough not
//! to be another process's write in progress, or by eviction like any other file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::ConversationId;

const MAGIC: &[u8; 8] = b"MURMURKV";
/// The ending of a state being written (`conversation-<id>.kv.tmp`).
const TMP_SUFFIX: &str = ".kv.tmp";
/// A temporary file older than this when the folder is opened was left by a kill (a save
/// takes seconds at most); a younger one may be a write in progress in another process (the
/// CLI and the app can share a data folder).
const ORPHAN_AGE: std::time::Duration = std::time::Duration::from_secs(600);
const VERSION: u32 = 1;

/// A sequence's state and what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedState {
    /// The model file's fingerprint ([`crate::llm::LlmModel::fingerprint`]).
    pub fingerprint: [u8; 32],
    pub n_ctx: u32,
    /// The tokens in the cache, in order.
    pub tokens: Vec<i32>,
    /// llama.cpp's sequence state (`llama_state_seq_get_data`).
    pub data: Vec<u8>,
}

impl SavedState {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.tokens.len() * 4 + self.data.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&self.fingerprint);
        out.extend_from_slice(&self.n_ctx.to_le_bytes());
        out.extend_from_slice(&(self.tokens.len() as u64).to_le_bytes());
        for t in &self.tokens {
            out.extend_from_slice(&t.to_le_bytes());
        }
        out.extend_from_slice(&(self.data.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.data);
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        out
    }

    /// The state in `bytes`, if they are a whole, undamaged file of this format.
    fn decode(bytes: &[u8]) -> Result<Self, &'static str> {
        let body_len = bytes.len().checked_sub(32).ok_or("shorter than its checksum")?;
        let (body, digest) = bytes.split_at(body_len);
        if Sha256::digest(body).as_slice() != digest {
            return Err("checksum mismatch (truncated or damaged)");
        }
        let mut r = Reader(body);
        if r.take(8)? != MAGIC {
            return Err("not a Murmur KV-cache file");
        }
        if r.u32()? != VERSION {
            return Err("another format version");
        }
        let fingerprint: [u8; 32] = r.take(32)?.try_into().map_err(|_| "short fingerprint")?;
        let n_ctx = r.u32()?;
        let n_tokens = usize::try_from(r.u64()?).map_err(|_| "token count")?;
        let token_bytes = r.take(n_tokens.checked_mul(4).ok_or("token count")?)?;
        let tokens = token_bytes.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        let n_data = usize::try_from(r.u64()?).map_err(|_| "state size")?;
        let data = r.take(n_data)?.to_vec();
        if !r.0.is_empty() {
            return Err("trailing bytes");
        }
        Ok(Self { fingerprint, n_ctx, tokens, data })
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if self.0.len() < n {
            return Err("truncated");
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u32(&mut self) -> Result<u32, &'static str> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().map_err(|_| "truncated")?))
    }
    fn u64(&mut self) -> Result<u64, &'static str> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().map_err(|_| "truncated")?))
    }
}

/// The folder of KV-cache files, bounded to `max_bytes` in total.
#[derive(Clone, Debug)]
pub struct KvCacheDir {
    dir: PathBuf,
    max_bytes: u64,
}

impl KvCacheDir {
    /// The folder `dir` (created on the first save), bounded to `max_bytes`. Temporary files
    /// that a kill left behind in it are removed now.
    pub fn new(dir: impl Into<PathBuf>, max_bytes: u64) -> Self {
        let kv = Self { dir: dir.into(), max_bytes };
        kv.remove_orphans(ORPHAN_AGE);
        kv
    }

    /// Removes temporary files last written more than `age` ago.
    fn remove_orphans(&self, age: std::time::Duration) {
        let now = SystemTime::now();
        for (path, _, written) in self.files() {
            let old = now.duration_since(written).is_ok_and(|d| d >= age);
            if is_tmp(&path) && old && std::fs::remove_file(&path).is_ok() {
                tracing::debug!("removed a KV-cache file left half-written");
            }
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    pub fn path(&self, id: ConversationId) -> PathBuf {
        self.dir.join(format!("conversation-{id}.kv"))
    }

    /// Writes the state atomically, then evicts the least recently used files until the
    /// folder fits its bound (a state larger than the whole bound is not kept). Returns the
    /// file's size.
    pub fn save(&self, id: ConversationId, state: &SavedState) -> std::io::Result<u64> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&self.dir)?;
        let path = self.path(id);
        let tmp = tmp_path(&path);
        let bytes = state.encode();
        if bytes.len() as u64 > self.max_bytes {
            // Larger than the whole bound: not kept (and no other file evicted for it).
            self.remove(id)?;
            return Ok(0);
        }
        {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut f = options.open(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        if let Ok(d) = std::fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        self.evict();
        Ok(bytes.len() as u64)
    }

    /// The saved state of conversation `id`, if there is a sound one for this model
    /// (`fingerprint`) and context size. A file that is not is removed.
    pub fn load(&self, id: ConversationId, fingerprint: &[u8; 32], n_ctx: u32) -> Option<SavedState> {
        let path = self.path(id);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!("KV cache of a conversation unreadable ({e}); it will be read again");
                return None;
            }
        };
        let why = match SavedState::decode(&bytes) {
            Ok(s) if &s.fingerprint != fingerprint => "saved with another model",
            Ok(s) if s.n_ctx != n_ctx => "saved with another context size",
            Ok(s) => {
                // Recently used: keep it longest.
                if let Ok(f) = std::fs::File::options().write(true).open(&path) {
                    let _ = f.set_modified(SystemTime::now());
                }
                return Some(s);
            }
            Err(why) => why,
        };
        tracing::info!(reason = why, "ignored a conversation's KV-cache file; the conversation will be read again");
        let _ = std::fs::remove_file(&path);
        None
    }

    /// Removes conversation `id`'s file (with any temporary file).
    pub fn remove(&self, id: ConversationId) -> std::io::Result<()> {
        let path = self.path(id);
        for p in [tmp_path(&path), path] {
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Removes the folder and everything in it.
    pub fn clear(&self) -> std::io::Result<()> {
        match std::fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    /// The folder's cache files (temporary ones included) with size and last use, least
    /// recently used first.
    pub fn files(&self) -> Vec<(PathBuf, u64, SystemTime)> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let mut files: Vec<_> = entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "kv") || is_tmp(&e.path()))
            .filter_map(|e| {
                let m = e.metadata().ok()?;
                Some((e.path(), m.len(), m.modified().unwrap_or(SystemTime::UNIX_EPOCH)))
            })
            .collect();
        files.sort_by_key(|(_, _, used)| *used);
        files
    }

    pub fn total_bytes(&self) -> u64 {
        self.files().iter().map(|(_, len, _)| len).sum()
    }

    fn evict(&self) {
        let files = self.files();
        let mut total: u64 = files.iter().map(|(_, len, _)| len).sum();
        for (path, len, _) in files {
            if total <= self.max_bytes {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total -= len;
                tracing::debug!("evicted a conversation's KV cache (least recently used)");
            }
        }
    }
}

/// The temporary file a state of `path` is written to before it is renamed.
fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_stem().unwrap_or_default().to_os_string();
    name.push(TMP_SUFFIX);
    path.with_file_name(name)
}

fn is_tmp(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(TMP_SUFFIX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(n: usize, fill: u8) -> SavedState {
        SavedState { fingerprint: [7; 32], n_ctx: 4096, tokens: (0..n as i32).collect(), data: vec![fill; n * 100] }
    }

    #[test]
    fn a_saved_state_loads_only_for_its_model_and_context() {
        let dir = tempfile::tempdir().expect("tempdir");
        let kv = KvCacheDir::new(dir.path().join("kv"), 1 << 20);
        let s = state(10, 3);
        kv.save(1, &s).expect("save");
        assert_eq!(kv.load(1, &[7; 32], 4096), Some(s.clone()));
        assert_eq!(kv.load(1, &[7; 32], 2048), None, "another context size");
        // The mismatching file was removed.
        assert!(!kv.path(1).exists());
        kv.save(1, &s).expect("save");
        assert_eq!(kv.load(1, &[8; 32], 4096), None, "another model");
        assert_eq!(kv.load(2, &[7; 32], 4096), None, "no file");
    }

    #[test]
    fn truncated_or_damaged_files_are_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let kv = KvCacheDir::new(dir.path(), 1 << 20);
        kv.save(1, &state(10, 3)).expect("save");
        let bytes = std::fs::read(kv.path(1)).expect("read");
        for cut in [0, 8, 40, bytes.len() / 2, bytes.len() - 1] {
            std::fs::write(kv.path(1), &bytes[..cut]).expect("write");
            assert_eq!(kv.load(1, &[7; 32], 4096), None, "cut at {cut}");
        }
        let mut flipped = bytes.clone();
        flipped[100] ^= 1;
        std::fs::write(kv.path(1), &flipped).expect("write");
        assert_eq!(kv.load(1, &[7; 32], 4096), None, "one bit flipped");
        std::fs::write(kv.path(1), b"GGUF and then some other file entirely").expect("write");
        assert_eq!(kv.load(1, &[7; 32], 4096), None, "foreign file");
    }

    #[test]
    fn the_least_recently_used_files_are_evicted_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Each file is ~2 KB; room for two.
        let kv = KvCacheDir::new(dir.path(), 4_500);
        let t0 = SystemTime::now() - std::time::Duration::from_secs(100);
        for id in 1..=2 {
            kv.save(id, &state(20, id as u8)).expect("save");
            let f = std::fs::File::options().write(true).open(kv.path(id)).expect("open");
            f.set_modified(t0 + std::time::Duration::from_secs(id as u64)).expect("mtime");
        }
        // Using 1 makes 2 the least recently used.
        assert!(kv.load(1, &[7; 32], 4096).is_some());
        kv.save(3, &state(20, 3)).expect("save");
        assert!(kv.path(1).exists() && kv.path(3).exists());
        assert!(!kv.path(2).exists(), "2 was used least recently");
        assert!(kv.total_bytes() <= 4_500);
        // A state bigger than the whole bound is not kept, and costs the others nothing.
        assert_eq!(kv.save(4, &state(100, 4)).expect("save"), 0);
        assert!(!kv.path(4).exists());
        assert!(kv.path(1).exists() && kv.path(3).exists());
        kv.remove(1).expect("remove");
        assert!(!kv.path(1).exists());
        kv.clear().expect("clear");
        assert!(!dir.path().exists() || kv.files().is_empty());
    }

    #[test]
    fn half_written_files_count_towards_the_bound_and_are_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let kv = KvCacheDir::new(dir.path(), 4_500);
        kv.save(1, &state(20, 1)).expect("save");
        // A kill mid-write of conversation 2 left its temporary file (~2 KB), an hour ago.
        let orphan = tmp_path(&kv.path(2));
        assert_eq!(orphan.file_name().and_then(|n| n.to_str()), Some("conversation-2.kv.tmp"));
        std::fs::write(&orphan, vec![0u8; 2_000]).expect("write");
        let hour_ago = SystemTime::now() - std::time::Duration::from_secs(3600);
        std::fs::File::options().write(true).open(&orphan).expect("open").set_modified(hour_ago).expect("mtime");
        let size = std::fs::metadata(kv.path(1)).expect("meta").len();
        assert_eq!(kv.total_bytes(), size + 2_000, "the orphan is counted");
        // Saving another file evicts the oldest first: the orphan, not conversation 1.
        kv.save(3, &state(20, 3)).expect("save");
        assert!(!orphan.exists(), "the orphan was evicted first");
        assert!(kv.path(1).exists() && kv.path(3).exists());
        // Opening the folder removes an old orphan, and leaves a fresh one (a write in progress
        // elsewhere) and the states alone.
        std::fs::write(&orphan, b"old").expect("write");
        std::fs::File::options().write(true).open(&orphan).expect("open").set_modified(hour_ago).expect("mtime");
        let fresh = tmp_path(&kv.path(4));
        std::fs::write(&fresh, b"in progress").expect("write");
        let reopened = KvCacheDir::new(dir.path(), 4_500);
        assert!(!orphan.exists(), "removed when the folder is opened");
        assert!(fresh.exists(), "a write that may be in progress is left");
        assert!(reopened.load(1, &[7; 32], 4096).is_some() && reopened.load(3, &[7; 32], 4096).is_some());
        reopened.remove(4).expect("remove");
        assert!(!fresh.exists(), "removing a conversation removes its temporary file");
    }
}
