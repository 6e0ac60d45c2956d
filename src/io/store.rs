//! The bytes behind an open file: a read-only map, a caller's buffer, or a
//! region of anonymous memory that positioned reads fill on demand.

use std::path::Path;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::pread::{Reader, ALIGN};
use super::prefetch::Prefetcher;
use super::{choose, Backend, BackendChoice, OpenOptions};
use crate::error::{Error, ErrorKind, Result};

/// Where a handle's bytes live.
pub(crate) enum Store<'a> {
    /// The caller's buffer ([`crate::TensorFile::from_bytes`]).
    Borrowed(&'a [u8]),
    /// The `mmap` backend; the reader serves copies into caller memory.
    /// `prefetch` is declared first so it is dropped first: its threads
    /// are cancelled and joined before `map` is unmapped.
    Mapped {
        prefetch: Prefetcher,
        map: memmap2::Mmap,
        reader: Reader,
    },
    /// The `read` and `direct` backends.
    Loaded(Loaded),
}

impl Store<'static> {
    /// Opens `path` with the backend `opts` asks for (resolving `auto`).
    pub fn open(path: &Path, opts: &OpenOptions) -> Result<(Store<'static>, BackendChoice)> {
        let (file, len) = crate::reader::open_regular(path)?;
        let choice = choose(opts.backend, &file);
        let store = match choice.backend {
            Backend::Read | Backend::Direct => {
                let direct = choice.backend == Backend::Direct;
                Store::Loaded(Loaded::new(Reader::new(path, file, len, direct))?)
            }
            Backend::Mmap | Backend::Auto => Store::map(path, file, len)?,
        };
        Ok((store, choice))
    }

    /// Maps an open file of `len` bytes read-only (the `mmap` backend).
    pub fn map(path: &Path, file: std::fs::File, len: u64) -> Result<Store<'static>> {
        // SAFETY: the map is read-only; the documented contract (and the
        // writer's rename-over) is that nobody modifies a file while it is
        // mapped, but for the sanctioned in-place edit (crate::Editor).
        let map = unsafe { memmap2::Mmap::map(&file) }
            .map_err(|e| Error::io(path, "cannot memory-map", e))?;
        Ok(Store::Mapped {
            prefetch: Prefetcher::default(),
            map,
            reader: Reader::new(path, file, len, false),
        })
    }
}

impl<'a> Store<'a> {
    /// Every byte of the file; with the read backends only the loaded
    /// ranges hold file content (see [`Store::ensure`]).
    pub fn bytes(&self) -> &[u8] {
        match self {
            Store::Borrowed(b) => b,
            Store::Mapped { map, .. } => map,
            Store::Loaded(l) => l.bytes(),
        }
    }

    /// Makes `[offset, offset + len)` hold the file's bytes (a no-op but for
    /// the read backends, which read the pages not read yet).
    pub fn ensure(&self, offset: u64, len: u64) -> Result<()> {
        match self {
            Store::Loaded(l) => l.ensure(offset, len),
            _ => Ok(()),
        }
    }

    /// True when `bytes()` holds the file's bytes for the range (always but
    /// for the read backends' pages not read yet).
    pub fn resident(&self, offset: u64, len: u64) -> bool {
        match self {
            Store::Loaded(l) => l.is_loaded(offset, len),
            _ => true,
        }
    }

    /// The positioned reader, for files opened from a path.
    pub fn reader(&self) -> Option<&Reader> {
        match self {
            Store::Borrowed(_) => None,
            Store::Mapped { reader, .. } => Some(reader),
            Store::Loaded(l) => Some(&l.reader),
        }
    }

    /// Copies `[offset, offset + dst.len())` into `dst`: from memory when it
    /// is there, else with positioned reads that leave the handle's own
    /// memory untouched. The range must lie inside the file.
    pub fn read_into(&self, offset: u64, dst: &mut [u8]) -> Result<()> {
        match self {
            Store::Borrowed(b) => {
                dst.copy_from_slice(&b[offset as usize..][..dst.len()]);
                Ok(())
            }
            Store::Mapped { reader, .. } => reader.read_exact_at(offset, dst),
            Store::Loaded(l) if l.is_loaded(offset, dst.len() as u64) => {
                dst.copy_from_slice(&l.bytes()[offset as usize..][..dst.len()]);
                Ok(())
            }
            Store::Loaded(l) => l.reader.read_exact_at(offset, dst),
        }
    }
}

/// Anonymous memory the size of the file, filled page by page with
/// positioned reads. A page is written once, before any view of it exists,
/// and never again: views handed out stay valid and unchanged until close.
pub(crate) struct Loaded {
    pub(crate) reader: Reader,
    ptr: NonNull<u8>,
    len: usize,
    /// One bit per 4096-byte page: set once the page holds file bytes.
    pages: Vec<AtomicU64>,
    /// Serialises filling, so no page is written while another thread reads it.
    fill: Mutex<()>,
}

// SAFETY: `ptr` is a private anonymous mapping owned by this value; bytes
// are written only under `fill`, only in pages not yet marked loaded, and
// no reference into a page exists before it is marked loaded.
unsafe impl Send for Loaded {}
// SAFETY: as above.
unsafe impl Sync for Loaded {}

impl Loaded {
    fn new(reader: Reader) -> Result<Loaded> {
        let len = usize::try_from(reader.len()).map_err(|_| {
            Error::new(
                ErrorKind::Unsupported,
                format!(
                    "{}: {} bytes do not fit in this process's address space",
                    reader.path().display(),
                    reader.len()
                ),
            )
        })?;
        let ptr = map_anonymous(len).map_err(|e| {
            Error::io(
                reader.path(),
                "cannot reserve memory for the read backend",
                e,
            )
        })?;
        let words = len.div_ceil(ALIGN).div_ceil(64);
        Ok(Loaded {
            reader,
            ptr,
            len,
            pages: (0..words).map(|_| AtomicU64::new(0)).collect(),
            fill: Mutex::new(()),
        })
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `len` bytes mapped read-write for the life of `self`;
        // see the type's comment for why reading them is never racy.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    fn page_loaded(&self, p: usize) -> bool {
        self.pages[p / 64].load(Ordering::Acquire) & (1 << (p % 64)) != 0
    }

    fn page_span(&self, offset: u64, len: u64) -> std::ops::Range<usize> {
        let first = offset as usize / ALIGN;
        let end = (offset + len) as usize;
        first..end.div_ceil(ALIGN)
    }

    pub(super) fn is_loaded(&self, offset: u64, len: u64) -> bool {
        self.page_span(offset, len).all(|p| self.page_loaded(p))
    }

    /// [`Loaded::ensure`], for the hints module.
    pub(crate) fn ensure_range(&self, offset: u64, len: u64) -> Result<()> {
        self.ensure(offset, len)
    }

    /// Reads every page of the range not read yet.
    fn ensure(&self, offset: u64, len: u64) -> Result<()> {
        if len == 0 || self.is_loaded(offset, len) {
            return Ok(());
        }
        let _guard = self.fill.lock().unwrap_or_else(|p| p.into_inner());
        let span = self.page_span(offset, len);
        let mut p = span.start;
        while p < span.end {
            if self.page_loaded(p) {
                p += 1;
                continue;
            }
            let run_end = (p..span.end)
                .find(|&q| self.page_loaded(q))
                .unwrap_or(span.end);
            let start = p * ALIGN;
            let end = (run_end * ALIGN).min(self.len);
            // SAFETY: pages [p, run_end) are inside the mapping, not marked
            // loaded, so no reference to them exists; `fill` is held.
            let dst = unsafe {
                std::slice::from_raw_parts_mut(self.ptr.as_ptr().add(start), end - start)
            };
            self.reader.read_exact_at(start as u64, dst)?;
            for q in p..run_end {
                self.pages[q / 64].fetch_or(1 << (q % 64), Ordering::Release);
            }
            p = run_end;
        }
        Ok(())
    }

    /// Start and length of the handle's memory, for locking.
    pub(crate) fn memory(&self) -> (*mut u8, usize) {
        (self.ptr.as_ptr(), self.len)
    }
}

impl Drop for Loaded {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `map_anonymous`, unmapped once.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// Reserves `len` bytes of zeroed memory: only pages written cost memory.
fn map_anonymous(len: usize) -> std::io::Result<NonNull<u8>> {
    #[cfg(target_os = "linux")]
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
    #[cfg(not(target_os = "linux"))]
    let flags = libc::MAP_PRIVATE | libc::MAP_ANON;
    // SAFETY: a fresh anonymous mapping; no existing memory is affected.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            flags,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error());
    }
    NonNull::new(p.cast()).ok_or_else(|| std::io::Error::other("mmap returned NULL"))
}
