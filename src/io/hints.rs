//! Advice to the kernel about a range of an open file: prefetch, release,
//! lock, unlock and the access pattern.

use super::pread::ALIGN;
use super::prefetch::Range;
use super::store::Store;
use super::Access;
use crate::error::{Error, ErrorKind, Result};

/// A kernel call on memory: page-aligned start and length.
struct Pages {
    addr: *mut libc::c_void,
    len: usize,
}

/// The pages covering `[offset, offset + len)` of memory starting at `base`
/// (a page-aligned mapping).
fn pages(base: *const u8, offset: u64, len: u64) -> Pages {
    let start = offset as usize / ALIGN * ALIGN;
    let end = (offset + len) as usize;
    Pages {
        addr: base.wrapping_add(start).cast_mut().cast(),
        len: end - start,
    }
}

fn os_result(rc: libc::c_int, what: &str, path: &std::path::Path) -> Result<()> {
    if rc == 0 {
        return Ok(());
    }
    Err(Error::io(path, what, std::io::Error::last_os_error()))
}

#[cfg(target_os = "linux")]
fn fadvise(f: &std::fs::File, offset: u64, len: u64, advice: libc::c_int) {
    use std::os::fd::AsRawFd;
    // Advice only: a refusal changes nothing the caller can observe.
    // SAFETY: a valid descriptor; fadvise does not touch memory.
    unsafe { libc::posix_fadvise(f.as_raw_fd(), offset as i64, len as i64, advice) };
}

#[cfg(not(target_os = "linux"))]
fn fadvise(_f: &std::fs::File, _offset: u64, _len: u64, _advice: libc::c_int) {}

/// Drops the page cache of a file range (clean pages only), e.g. for cold
/// benchmarks and for reading a file once without keeping it cached.
#[cfg(target_os = "linux")]
pub(crate) fn evict(f: &std::fs::File, offset: u64, len: u64) {
    fadvise(f, offset, len, libc::POSIX_FADV_DONTNEED);
}

/// See the Linux version: a no-op elsewhere.
#[cfg(not(target_os = "linux"))]
pub(crate) fn evict(_f: &std::fs::File, _offset: u64, _len: u64) {}

impl Store<'_> {
    fn mapped_base(&self) -> Option<*const u8> {
        match self {
            Store::Mapped { map, .. } => Some(map.as_ptr()),
            _ => None,
        }
    }

    /// Readahead advice for the whole file.
    pub fn advise(&self, access: Access) -> Result<()> {
        let (Some(r), Some(advice)) = (self.reader(), access_advice(access)) else {
            return Ok(());
        };
        fadvise(r.file(), 0, 0, advice.0);
        if let Some(base) = self.mapped_base() {
            let p = pages(base, 0, r.len());
            // SAFETY: advice on our own mapping; it never changes contents.
            let rc = unsafe { libc::madvise(p.addr, p.len, advice.1) };
            os_result(rc, "madvise", r.path())?;
        }
        Ok(())
    }

    /// Starts reading the range into memory in the background and returns
    /// at once (mapped files: a thread populates the page tables, see
    /// [`super::prefetch`]; the read backends: kernel readahead).
    pub fn prefetch(&self, offset: u64, len: u64) -> Result<()> {
        let Some(r) = self.reader() else {
            return Ok(());
        };
        match self {
            Store::Mapped { map, prefetch, .. } if len > 0 => {
                let p = pages(map.as_ptr(), offset, len);
                // The range lies inside the mapping, which outlives `prefetch`.
                prefetch.start(Range {
                    addr: p.addr as usize,
                    len: p.len,
                });
            }
            Store::Mapped { .. } => {}
            _ => fadvise(r.file(), offset, len, will_need()),
        }
        Ok(())
    }

    /// Drops the range's pages from this process and from the page cache.
    /// Mapped views stay valid: they fault back in from the file. The read
    /// backends keep their own copy until close (dropping it would change
    /// the bytes of views already handed out); only the page cache goes.
    pub fn release(&self, offset: u64, len: u64) -> Result<()> {
        let Some(r) = self.reader() else {
            return Ok(());
        };
        if let Some(base) = self.mapped_base() {
            let p = pages(base, offset, len);
            // SAFETY: a read-only file mapping: MADV_DONTNEED drops the page
            // table entries and later accesses read the file again.
            let rc = unsafe { libc::madvise(p.addr, p.len, libc::MADV_DONTNEED) };
            os_result(rc, "madvise(MADV_DONTNEED)", r.path())?;
        }
        evict(r.file(), offset, len);
        Ok(())
    }

    /// Maps the pages of the range now, in one call instead of a page fault
    /// per few pages (mapped files on Linux only; advice, so failures are
    /// ignored: touching the pages faults them in as usual).
    pub fn populate(&self, offset: u64, len: u64) {
        #[cfg(target_os = "linux")]
        if let (Some(base), true) = (self.mapped_base(), len > 0) {
            let p = pages(base, offset, len);
            // SAFETY: advice on our own read-only file mapping; it never
            // changes contents.
            unsafe { libc::madvise(p.addr, p.len, libc::MADV_POPULATE_READ) };
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (offset, len);
    }

    /// Drops the whole pages inside the range from this process's resident
    /// set (mapped files only; advice, so failures are ignored).
    pub fn drop_resident(&self, offset: u64, len: u64) {
        let Some(base) = self.mapped_base() else {
            return;
        };
        let start = (offset as usize).next_multiple_of(ALIGN);
        let end = (offset + len) as usize / ALIGN * ALIGN;
        if end > start {
            // SAFETY: a read-only file mapping: MADV_DONTNEED drops the page
            // table entries and later accesses read the file again.
            unsafe {
                libc::madvise(
                    base.wrapping_add(start).cast_mut().cast(),
                    end - start,
                    libc::MADV_DONTNEED,
                )
            };
        }
    }

    /// Locks the range in memory (reading it first with the read backends).
    pub fn lock(&self, offset: u64, len: u64) -> Result<()> {
        let (base, path) = self.lockable(offset, len)?;
        let p = pages(base, offset, len);
        // SAFETY: mlock on memory this store owns.
        if unsafe { libc::mlock(p.addr, p.len) } == 0 {
            return Ok(());
        }
        let err = std::io::Error::last_os_error();
        Err(Error::new(
            ErrorKind::Io,
            format!(
                "{}: cannot lock {} bytes in memory: {err} ({})",
                path.display(),
                p.len,
                memlock_limit()
            ),
        ))
    }

    /// Undoes [`Store::lock`] for the range.
    pub fn unlock(&self, offset: u64, len: u64) -> Result<()> {
        let (base, path) = self.lockable(offset, 0)?;
        let p = pages(base, offset, len);
        // SAFETY: munlock on memory this store owns.
        let rc = unsafe { libc::munlock(p.addr, p.len) };
        os_result(rc, "munlock", path)
    }

    fn lockable(&self, offset: u64, len: u64) -> Result<(*const u8, &std::path::Path)> {
        match self {
            Store::Borrowed(_) => Err(Error::new(
                ErrorKind::Unsupported,
                "memory buffer: the caller owns it and can lock it itself",
            )),
            Store::Mapped { map, reader, .. } => Ok((map.as_ptr(), reader.path())),
            Store::Loaded(l) => {
                l.ensure_range(offset, len)?;
                Ok((l.memory().0.cast_const(), l.reader.path()))
            }
        }
    }
}

/// The RLIMIT_MEMLOCK in words, for lock errors.
fn memlock_limit() -> String {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) } != 0 {
        return "RLIMIT_MEMLOCK unknown".to_string();
    }
    if lim.rlim_cur == libc::RLIM_INFINITY {
        return "RLIMIT_MEMLOCK is unlimited".to_string();
    }
    format!(
        "RLIMIT_MEMLOCK allows {} bytes; raise it with `ulimit -l` or grant CAP_IPC_LOCK",
        lim.rlim_cur
    )
}

#[cfg(target_os = "linux")]
fn will_need() -> libc::c_int {
    libc::POSIX_FADV_WILLNEED
}

#[cfg(not(target_os = "linux"))]
fn will_need() -> libc::c_int {
    0
}

/// (fadvise, madvise) advice for an access pattern.
fn access_advice(a: Access) -> Option<(libc::c_int, libc::c_int)> {
    #[cfg(target_os = "linux")]
    return match a {
        Access::Normal => None,
        Access::Sequential => Some((libc::POSIX_FADV_SEQUENTIAL, libc::MADV_SEQUENTIAL)),
        Access::Random => Some((libc::POSIX_FADV_RANDOM, libc::MADV_RANDOM)),
    };
    #[cfg(not(target_os = "linux"))]
    return match a {
        Access::Normal => None,
        Access::Sequential => Some((0, libc::MADV_SEQUENTIAL)),
        Access::Random => Some((0, libc::MADV_RANDOM)),
    };
}
