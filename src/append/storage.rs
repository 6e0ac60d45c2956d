//! The writes and barriers of an append, behind a trait: the appender does
//! all its I/O on the file through [`Storage`], so the power-loss test can
//! record every write and fsync and replay any crash state.

use std::fs::File;
use std::os::unix::fs::FileExt;

/// Positioned writes, size changes and durability barriers on one file.
pub(crate) trait Storage: Send {
    /// The file (for mappings and reads).
    fn file(&self) -> &File;
    /// Writes all of `buf` at `offset`.
    fn write_at(&mut self, buf: &[u8], offset: u64) -> std::io::Result<()>;
    /// Sets the file's length (growing leaves a hole of zeros).
    fn set_len(&mut self, len: u64) -> std::io::Result<()>;
    /// The barrier: everything written before is durable when it returns.
    fn sync(&mut self) -> std::io::Result<()>;
    /// Told that `buf` was written at `offset` through a shared mapping
    /// (reserved tensors), so a recorder sees those writes too.
    fn wrote_through_map(&mut self, _buf: &[u8], _offset: u64) {}
}

/// The real thing.
pub(crate) struct FileStorage(pub File);

impl Storage for FileStorage {
    fn file(&self) -> &File {
        &self.0
    }
    fn write_at(&mut self, buf: &[u8], offset: u64) -> std::io::Result<()> {
        self.0.write_all_at(buf, offset)
    }
    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        self.0.set_len(len)
    }
    fn sync(&mut self) -> std::io::Result<()> {
        // fdatasync: the data and the size needed to read it back.
        self.0.sync_data()
    }
}
