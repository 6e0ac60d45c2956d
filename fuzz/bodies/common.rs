//! Helpers of the fuzz bodies: getting past the header checksum, and a
//! scratch directory on tmpfs for the targets that write files.

use std::path::PathBuf;

use tenzor::format::{self, hdr};
use tenzor::{Format, TensorFile};

/// A copy of `data` with its .tenzor v2 header checksum recomputed, when
/// `data` is a v2 file whose data offset lies inside it and whose stored
/// checksum is wrong. Without this, almost every mutation of a .tenzor file
/// stops at the header checksum and the index, name and data rules behind
/// it are reached only by hand-made cases.
pub fn resigned(data: &[u8]) -> Option<Vec<u8>> {
    if data.len() < format::HEADER_SIZE
        || data[..8] != format::MAGIC
        || format::u32_at(data, hdr::VERSION) != format::VERSION
    {
        return None;
    }
    let data_offset = usize::try_from(format::u64_at(data, hdr::DATA_OFFSET)).ok()?;
    if data_offset < format::HEADER_SIZE || data_offset > data.len() {
        return None;
    }
    let sum = format::header_region_checksum(&data[..data_offset]);
    if sum == format::u64_at(data, hdr::CHECKSUM) {
        return None;
    }
    let mut fixed = data.to_vec();
    fixed[hdr::CHECKSUM..hdr::CHECKSUM + 8].copy_from_slice(&sum.to_le_bytes());
    Some(fixed)
}

/// Runs `body` on `data` as it is, then on its re-signed copy if any.
pub fn with_resigned(data: &[u8], body: impl Fn(&[u8])) {
    body(data);
    if let Some(fixed) = resigned(data) {
        body(&fixed);
    }
}

/// A fresh directory for one run, on tmpfs when there is one (the writer
/// fsyncs; on tmpfs that costs nothing). Removed when dropped.
pub fn scratch() -> tempfile::TempDir {
    let shm = PathBuf::from("/dev/shm");
    let base = if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    };
    tempfile::Builder::new()
        .prefix("tenzor-fuzz-")
        .tempdir_in(base)
        .expect("scratch directory")
}

/// Names of the entries of `dir`, sorted.
pub fn entries(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read scratch dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// True for the first file of a GGUF split, which opens by path only
/// beside its siblings, under the split's naming.
pub fn is_split_head(f: &TensorFile<'_>) -> bool {
    let Ok(m) = f.metadata() else { return false };
    f.format() == Format::Gguf
        && m.get("split.no").and_then(|v| v.as_u64()) == Some(0)
        && m.get("split.count")
            .and_then(|v| v.as_u64())
            .is_some_and(|c| c > 1)
}
