//! Appending to existing .tenzor files (modes `a` and `a+`), crash-safely
//! and without disturbing readers: the appendable layout (FORMAT.md,
//! "Appendable layout") and the [`Appender`] handle.
//!
//! - `layout`: the root slots and index regions, byte by byte;
//! - `open`: finding and validating the newest committed generation;
//! - `appender`: the handle that adds tensors and commits;
//! - `compact`: rewriting into the canonical layout;
//! - `storage`: the writes and barriers of a commit, behind a trait so the
//!   power-loss test can record them.
//!
//! Reading the appendable layout (`layout`, `open`) is part of every build;
//! the rest needs feature `write`.

#[cfg(feature = "write")]
mod appender;
#[cfg(feature = "write")]
mod compact;
mod layout;
mod open;
#[cfg(feature = "write")]
mod storage;
#[cfg(all(test, feature = "write"))]
mod tests;

#[cfg(feature = "write")]
pub(crate) use appender::commit_checksums;
#[cfg(feature = "write")]
pub use appender::{AppendOptions, Appender};
#[cfg(feature = "write")]
pub use compact::{compact, CompactStats};
pub(crate) use open::{resolve, Root};

/// Maps `len` bytes of `file` at `offset` shared and writable (the range
/// must lie inside the file). Writes through it reach the file's page
/// cache, so other maps and reads of the file see them.
#[cfg(feature = "write")]
pub(crate) fn map_rw(
    file: &std::fs::File,
    offset: u64,
    len: u64,
) -> std::io::Result<memmap2::MmapMut> {
    let len = usize::try_from(len)
        .map_err(|_| std::io::Error::other("range is larger than the address space"))?;
    // SAFETY: the range belongs to a file this process holds the write lock
    // of (appender) or created privately (writer); nothing truncates it
    // while the map lives (both drop their maps before truncating).
    unsafe {
        memmap2::MmapOptions::new()
            .offset(offset)
            .len(len)
            .map_mut(file)
    }
}
