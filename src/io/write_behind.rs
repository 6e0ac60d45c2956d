//! A buffered writer for a file written front to back (`convert`, the
//! writer, `compact`) that keeps the file's dirty pages bounded: every
//! [`WINDOW`] bytes it starts writeback of the window just written
//! (`sync_file_range(SYNC_FILE_RANGE_WRITE)`), waits for the window before
//! it, and drops that one from the page cache (`POSIX_FADV_DONTNEED`).
//! Writing a 2 GiB file then holds about two windows of it in memory
//! instead of letting gigabytes of dirty pages pile up for the final fsync.
//!
//! This is memory advice, not durability: `sync_file_range` flushes neither
//! metadata nor the disk's cache. Crash safety stays with the caller's
//! protocol (write a temporary file, fsync it, rename it over the
//! destination, fsync the directory: [`crate::atomic`]); a writeback error
//! here is ignored because the fsync of that protocol reports it again.
//! Elsewhere than on Linux the advice is skipped and this is a `BufWriter`.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};

/// Bytes written between two rounds of advice.
const WINDOW: u64 = 32 << 20;

/// See the module docs.
pub(crate) struct WriteBehind {
    w: BufWriter<File>,
    /// Position after the last byte accepted.
    pos: u64,
    /// Start of the window whose writeback has not been started.
    started: u64,
    /// Start of the range started but not yet waited for and dropped.
    dropped: u64,
}

impl WriteBehind {
    /// Buffers writes to `file` (1 MiB), starting at its current position.
    pub(crate) fn new(mut file: File) -> std::io::Result<WriteBehind> {
        let pos = file.stream_position()?;
        Ok(WriteBehind {
            w: BufWriter::with_capacity(1 << 20, file),
            pos,
            started: pos,
            dropped: pos,
        })
    }

    /// One round of advice: see the module docs.
    fn write_behind(&mut self) -> std::io::Result<()> {
        self.w.flush()?;
        advise(self.w.get_ref(), self.started, self.pos, self.dropped);
        self.dropped = self.started;
        self.started = self.pos;
        Ok(())
    }
}

/// Starts writeback of `[started, pos)`, waits for `[dropped, started)`
/// and drops it from the page cache.
#[cfg(target_os = "linux")]
fn advise(f: &File, started: u64, pos: u64, dropped: u64) {
    use std::os::fd::AsRawFd;
    let fd = f.as_raw_fd();
    // SAFETY: a valid descriptor; these calls touch no memory of ours.
    unsafe {
        libc::sync_file_range(
            fd,
            started as i64,
            (pos - started) as i64,
            libc::SYNC_FILE_RANGE_WRITE,
        );
        if started > dropped {
            let (off, len) = (dropped as i64, (started - dropped) as i64);
            libc::sync_file_range(
                fd,
                off,
                len,
                libc::SYNC_FILE_RANGE_WAIT_BEFORE
                    | libc::SYNC_FILE_RANGE_WRITE
                    | libc::SYNC_FILE_RANGE_WAIT_AFTER,
            );
            libc::posix_fadvise(fd, off, len, libc::POSIX_FADV_DONTNEED);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise(_f: &File, _started: u64, _pos: u64, _dropped: u64) {}

impl Write for WriteBehind {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.w.write(buf)?;
        self.pos += n as u64;
        if self.pos - self.started >= WINDOW {
            self.write_behind()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }
}

impl Seek for WriteBehind {
    /// Flushes, moves, and starts a new window at the new position (the
    /// range written before stays cached: advice covers front-to-back runs).
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let p = self.w.seek(to)?;
        (self.pos, self.started, self.dropped) = (p, p, p);
        Ok(p)
    }
}
