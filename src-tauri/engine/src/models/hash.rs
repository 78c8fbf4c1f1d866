use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

/// SHA-256 of a whole file, streamed, as lowercase hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    hash_prefix(path, u64::MAX, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

/// Feeds the first `len` bytes of `path` into `hasher`; returns how many there were.
pub(crate) fn hash_prefix(path: &Path, len: u64, hasher: &mut Sha256) -> std::io::Result<u64> {
    let mut f = std::fs::File::open(path)?.take(len);
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
}
