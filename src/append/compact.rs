//! `compact`: rewrite a .tenzor file into the canonical layout, dropping
//! dead space, under the write lock (so no append commits meanwhile).

use std::fs::OpenOptions;
use std::path::Path;

use crate::convert::{source, write_tenzor, ConvertOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::reader::{Format, TensorFile};

/// Sizes before and after [`compact`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactStats {
    /// Tensors in the file.
    pub tensors: usize,
    /// File size before.
    pub bytes_before: u64,
    /// File size after.
    pub bytes_after: u64,
}

/// Rewrites `path` (a .tenzor v2 file, canonical or appended to) into the
/// canonical layout with the same tensors, positions, metadata and
/// alignment, through a temporary file renamed over it. Readers that have
/// the old file open keep it (the rename leaves their inode alone); an
/// appender or editor at work makes this fail with [`ErrorKind::Busy`].
pub fn compact(path: impl AsRef<Path>) -> Result<CompactStats> {
    let path = path.as_ref();
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, "cannot open", e))?;
    let _lock = crate::lock::lock_for_writing(&file, path)?;
    let f = TensorFile::from_file(path, &file)?;
    if f.format() != Format::Tenzor {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "is a {} file; compact rewrites .tenzor v2 files (use tenzor convert)",
                f.format().name()
            ),
        )
        .in_file(path));
    }
    let bytes_before = f.as_bytes().len() as u64;
    let src = source(&f)?;
    let opts = ConvertOptions {
        alignment: Some(f.alignment()),
        max_shard_size: None,
    };
    let total = src.tensors.iter().map(|t| t.len).sum();
    write_tenzor(
        &src.tensors,
        &src.metadata,
        path,
        &opts,
        (&mut 0, total),
        &mut |_, _| {},
    )?;
    let bytes_after = std::fs::metadata(path)
        .map_err(|e| Error::io(path, "cannot stat", e))?
        .len();
    Ok(CompactStats {
        tensors: src.tensors.len(),
        bytes_before,
        bytes_after,
    })
}
