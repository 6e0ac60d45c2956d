//! Positioned reads of one file, buffered or with O_DIRECT. O_DIRECT needs
//! the file offset, the length and the buffer address aligned to the
//! device's logical block size; [`ALIGN`] (4096) satisfies every device.
//! Each read takes the direct path for its aligned body and the buffered
//! path for the rest, and falls back to buffered reads when the kernel
//! refuses (EINVAL: a filesystem without O_DIRECT).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use crate::error::{Error, ErrorKind, Result};

/// Alignment O_DIRECT reads use for offsets, lengths and buffers.
pub(crate) const ALIGN: usize = 4096;

/// Counts of the reads a handle made, to tell whether O_DIRECT was used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IoStats {
    /// Bytes read with O_DIRECT.
    pub direct_bytes: u64,
    /// Bytes read through the page cache.
    pub buffered_bytes: u64,
    /// Direct reads refused by the kernel and redone buffered.
    pub direct_fallbacks: u64,
    /// True when the file could be opened with O_DIRECT at all.
    pub direct_available: bool,
}

/// A file read by position. Shared by threads (pread has no cursor).
pub(crate) struct Reader {
    path: PathBuf,
    file: File,
    direct: Option<File>,
    /// Cleared after the first EINVAL: the filesystem refuses O_DIRECT.
    direct_ok: AtomicBool,
    len: u64,
    direct_bytes: AtomicU64,
    buffered_bytes: AtomicU64,
    fallbacks: AtomicU64,
}

impl Reader {
    /// Wraps an open file; with `direct`, also opens it with O_DIRECT
    /// (silently buffered only where that open fails).
    pub fn new(path: &Path, file: File, len: u64, direct: bool) -> Reader {
        let direct = if direct { open_direct(&file) } else { None };
        Reader {
            path: path.to_path_buf(),
            direct_ok: AtomicBool::new(direct.is_some()),
            file,
            direct,
            len,
            direct_bytes: AtomicU64::new(0),
            buffered_bytes: AtomicU64::new(0),
            fallbacks: AtomicU64::new(0),
        }
    }

    /// The file (for advice and stat calls).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Size of the file at open.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when this reader tries O_DIRECT.
    pub fn is_direct(&self) -> bool {
        self.direct.is_some()
    }

    pub fn stats(&self) -> IoStats {
        IoStats {
            direct_bytes: self.direct_bytes.load(Relaxed),
            buffered_bytes: self.buffered_bytes.load(Relaxed),
            direct_fallbacks: self.fallbacks.load(Relaxed),
            direct_available: self.direct.is_some(),
        }
    }

    /// Fills `dst` with the bytes at `offset`; a file that became shorter
    /// than that since open is an error, never a short buffer.
    pub fn read_exact_at(&self, offset: u64, dst: &mut [u8]) -> Result<()> {
        let body = self.direct_body(offset, dst);
        if body > 0 {
            let (head, tail) = dst.split_at_mut(body);
            match self.direct_read(offset, head) {
                Ok(()) => return self.buffered_read(offset + body as u64, tail),
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    self.fallbacks.fetch_add(1, Relaxed);
                    self.direct_ok.store(false, Relaxed);
                }
                Err(e) => return Err(self.io_error(offset, e)),
            }
        }
        self.buffered_read(offset, dst)
    }

    /// Length of the prefix of `dst` that O_DIRECT may read (0: none).
    fn direct_body(&self, offset: u64, dst: &[u8]) -> usize {
        if self.direct.is_none() || !self.direct_ok.load(Relaxed) {
            return 0;
        }
        if offset % ALIGN as u64 != 0 || dst.as_ptr() as usize % ALIGN != 0 {
            return 0;
        }
        dst.len() / ALIGN * ALIGN
    }

    fn direct_read(&self, offset: u64, dst: &mut [u8]) -> std::io::Result<()> {
        let f = self.direct.as_ref().expect("checked by direct_body");
        let n = read_full(f, offset, dst)?;
        if n < dst.len() {
            return Err(short_read());
        }
        self.direct_bytes.fetch_add(n as u64, Relaxed);
        Ok(())
    }

    fn buffered_read(&self, offset: u64, dst: &mut [u8]) -> Result<()> {
        if dst.is_empty() {
            return Ok(());
        }
        let n = read_full(&self.file, offset, dst).map_err(|e| self.io_error(offset, e))?;
        self.buffered_bytes.fetch_add(n as u64, Relaxed);
        if n < dst.len() {
            return Err(self.io_error(offset, short_read()));
        }
        Ok(())
    }

    /// Reads file-contiguous segments with one vectored read per call
    /// (buffered), until all are full.
    pub fn read_vectored_at(&self, run: &[super::Segment]) -> Result<()> {
        let start = run[0].offset;
        let mut iov: Vec<libc::iovec> = run
            .iter()
            .map(|s| libc::iovec {
                iov_base: s.dst.cast(),
                iov_len: s.len,
            })
            .collect();
        let total: usize = run.iter().map(|s| s.len).sum();
        let mut done = 0usize;
        let mut first = 0usize;
        while done < total {
            let n = preadv(&self.file, &iov[first..], start + done as u64)
                .map_err(|e| self.io_error(start + done as u64, e))?;
            if n == 0 {
                return Err(self.io_error(start + done as u64, short_read()));
            }
            done += n;
            self.buffered_bytes.fetch_add(n as u64, Relaxed);
            // Skip the buffers that are full, trim the one partly filled.
            let mut n = n;
            while n > 0 && first < iov.len() {
                let take = n.min(iov[first].iov_len);
                iov[first].iov_base = iov[first].iov_base.cast::<u8>().wrapping_add(take).cast();
                iov[first].iov_len -= take;
                n -= take;
                if iov[first].iov_len == 0 {
                    first += 1;
                }
            }
        }
        Ok(())
    }

    fn io_error(&self, offset: u64, e: std::io::Error) -> Error {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            return Error::new(
                ErrorKind::Io,
                format!(
                    "{}: the file ends before byte {offset} + the bytes asked for (it was {} bytes at open: truncated while open?)",
                    self.path.display(),
                    self.len
                ),
            );
        }
        Error::io(&self.path, &format!("cannot read at offset {offset}"), e)
    }
}

fn short_read() -> std::io::Error {
    std::io::Error::from(std::io::ErrorKind::UnexpectedEof)
}

/// Reads until `dst` is full or the file ends; returns the bytes read.
fn read_full(f: &File, offset: u64, dst: &mut [u8]) -> std::io::Result<usize> {
    let mut done = 0;
    while done < dst.len() {
        match read_at(f, &mut dst[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

#[cfg(unix)]
fn preadv(f: &File, iov: &[libc::iovec], offset: u64) -> std::io::Result<usize> {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: every iovec describes caller memory lent for this batch.
        let n = unsafe {
            libc::preadv(
                f.as_raw_fd(),
                iov.as_ptr(),
                iov.len() as libc::c_int,
                offset as libc::off_t,
            )
        };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

#[cfg(unix)]
fn read_at(f: &File, dst: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(f, dst, offset)
}

#[cfg(windows)]
fn read_at(f: &File, dst: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(f, dst, offset)
}

/// A second descriptor on the same inode (not the same path: the file may
/// have been renamed over since), with O_DIRECT.
#[cfg(target_os = "linux")]
fn open_direct(file: &File) -> Option<File> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(format!("/proc/self/fd/{}", file.as_raw_fd()))
        .ok()
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_file: &File) -> Option<File> {
    None
}
