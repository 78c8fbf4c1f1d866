//! A preflight walk over a whisper.cpp ggml model file: magic, hyper-parameters, vocabulary
//! and every tensor header, so a wrong or truncated file gets a specific error before
//! whisper.cpp touches it.

use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::AsrError;

const GGML_MAGIC: u32 = 0x6767_6d6c;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WhisperModelInfo {
    pub n_vocab: i32,
    pub n_audio_layer: i32,
    pub n_text_layer: i32,
    pub n_audio_state: i32,
    pub n_mels: i32,
    pub ftype: i32,
    pub multilingual: bool,
    pub n_tensors: usize,
    pub file_size: u64,
}

/// Bytes of `n` elements of ggml type `ttype`, for the types whisper.cpp models use (`None`
/// for an unknown type, a size that is not whole blocks, or one that overflows).
fn tensor_bytes(ttype: i32, n: u64) -> Option<u64> {
    let (block, bytes) = match ttype {
        0 => (1, 4),   // f32
        1 => (1, 2),   // f16
        2 => (32, 18), // q4_0
        3 => (32, 20), // q4_1
        6 => (32, 22), // q5_0
        7 => (32, 24), // q5_1
        8 => (32, 34), // q8_0
        _ => return None,
    };
    if n.is_multiple_of(block) {
        (n / block).checked_mul(bytes)
    } else {
        None
    }
}

/// Checks a model file; see [`inspect_reader`].
pub fn inspect(path: &Path) -> Result<WhisperModelInfo, AsrError> {
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => AsrError::NotFound(path.to_path_buf()),
        _ => AsrError::Io { path: path.to_path_buf(), source: e },
    })?;
    let file_size = file.metadata().map_err(|e| AsrError::Io { path: path.to_path_buf(), source: e })?.len();
    inspect_reader(BufReader::new(file), file_size, path)
}

/// Walks a whisper.cpp model of `file_size` bytes (`path` only names it in errors). Every
/// size read from the file is checked before use: a crafted header gives an error, never a
/// panic or an overflow.
pub fn inspect_reader<R: Read + Seek>(mut r: R, file_size: u64, path: &Path) -> Result<WhisperModelInfo, AsrError> {
    let io = |source| AsrError::Io { path: path.to_path_buf(), source };
    let bad = |reason: &str| AsrError::BadModel { path: path.to_path_buf(), reason: reason.to_string() };
    let truncated = |expected: u64| AsrError::Truncated { path: path.to_path_buf(), expected, actual: file_size };
    let i32_at = |r: &mut R| -> Result<i32, AsrError> {
        let mut b = [0u8; 4];
        r.read_exact(&mut b).map_err(|_| AsrError::NotWhisperModel(path.to_path_buf()))?;
        Ok(i32::from_le_bytes(b))
    };
    if i32_at(&mut r)? as u32 != GGML_MAGIC {
        return Err(AsrError::NotWhisperModel(path.to_path_buf()));
    }
    let mut hp = [0i32; 11];
    for v in &mut hp {
        *v = i32_at(&mut r).map_err(|_| truncated(file_size.saturating_add(1)))?;
    }
    let [n_vocab, _n_audio_ctx, n_audio_state, _n_audio_head, n_audio_layer, _n_text_ctx, _n_text_state, _n_text_head, n_text_layer, n_mels, ftype] =
        hp;
    if !(51_000..=52_000).contains(&n_vocab) || !(1..=64).contains(&n_audio_layer) || !matches!(n_mels, 80 | 128) {
        return Err(bad("its hyper-parameters are not Whisper's"));
    }

    // Walk the rest with an explicit position so a short file is caught exactly.
    let mut pos: u64 = 4 + 11 * 4;
    let read_i32 = |r: &mut R, pos: &mut u64| -> Result<i32, AsrError> {
        let mut b = [0u8; 4];
        r.read_exact(&mut b).map_err(|_| truncated(pos.saturating_add(4)))?;
        *pos += 4;
        Ok(i32::from_le_bytes(b))
    };
    let skip = |r: &mut R, pos: &mut u64, n: Option<u64>| -> Result<(), AsrError> {
        let end = n.and_then(|n| pos.checked_add(n)).ok_or_else(|| bad("a size in the file is impossibly large"))?;
        if end > file_size {
            return Err(truncated(end));
        }
        *pos = end;
        r.seek(SeekFrom::Start(end)).map_err(io)?;
        Ok(())
    };
    // mel filters
    let n_mel = read_i32(&mut r, &mut pos)?;
    let n_fft = read_i32(&mut r, &mut pos)?;
    if n_mel <= 0 || n_fft <= 0 {
        return Err(bad("bad mel filter table"));
    }
    skip(&mut r, &mut pos, 4u64.checked_mul(n_mel as u64).and_then(|b| b.checked_mul(n_fft as u64)))?;
    // vocabulary
    let n_tokens = read_i32(&mut r, &mut pos)?;
    if !(0..=n_vocab).contains(&n_tokens) {
        return Err(bad("bad vocabulary size"));
    }
    for _ in 0..n_tokens {
        let len = read_i32(&mut r, &mut pos)?;
        if !(0..=1024).contains(&len) {
            return Err(bad("bad vocabulary entry"));
        }
        skip(&mut r, &mut pos, Some(len as u64))?;
    }
    // tensors, to the end of the file
    let mut n_tensors = 0;
    while pos < file_size {
        let n_dims = read_i32(&mut r, &mut pos)?;
        let name_len = read_i32(&mut r, &mut pos)?;
        let ttype = read_i32(&mut r, &mut pos)?;
        if !(1..=4).contains(&n_dims) || !(1..=256).contains(&name_len) {
            return Err(bad("bad tensor header"));
        }
        let mut n: u64 = 1;
        for _ in 0..n_dims {
            let d = read_i32(&mut r, &mut pos)?;
            if d <= 0 {
                return Err(bad("bad tensor shape"));
            }
            n = n.checked_mul(d as u64).ok_or_else(|| bad("bad tensor shape"))?;
        }
        skip(&mut r, &mut pos, Some(name_len as u64))?;
        let bytes = tensor_bytes(ttype, n).ok_or_else(|| bad("unknown tensor type or size"))?;
        skip(&mut r, &mut pos, Some(bytes))?;
        n_tensors += 1;
    }
    if n_tensors == 0 {
        return Err(truncated(pos.saturating_add(1)));
    }
    Ok(WhisperModelInfo {
        n_vocab,
        n_audio_layer,
        n_text_layer,
        n_audio_state,
        n_mels,
        ftype,
        multilingual: n_vocab >= 51_865,
        n_tensors,
        file_size,
    })
}
