//! Asynchronous prefetch of a mapped file: a background thread populates
//! the page tables of the range (`MADV_POPULATE_READ`, Linux >= 5.14),
//! reading from disk what the page cache lacks, so `prefetch` returns at
//! once and the caller's later touches find their pages mapped. Where the
//! kernel does not know that advice (EINVAL) the thread falls back to
//! `MADV_WILLNEED` (start readahead, map nothing).
//!
//! The thread works in steps and checks a cancel flag between them; the
//! store owning the mapping cancels and joins every thread before it
//! unmaps (its [`Prefetcher`] is dropped first), so no thread ever touches
//! an unmapped address. A close therefore waits for at most one step.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Bytes populated per step (the most a close waits for).
const STEP: usize = 8 << 20;

/// Ranges smaller than this get `MADV_WILLNEED` on the caller's thread: a
/// thread would cost more than the advice, and the kernel's readahead of
/// a small range is asynchronous already.
const THREAD_FROM: usize = 1 << 20;

struct Job {
    cancel: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

/// The prefetch threads of one mapping (see the module docs).
#[derive(Default)]
pub(crate) struct Prefetcher {
    jobs: Mutex<Vec<Job>>,
}

/// A page-aligned range of a mapping, as plain numbers so a thread can
/// carry it.
#[derive(Clone, Copy)]
pub(crate) struct Range {
    pub addr: usize,
    pub len: usize,
}

impl Prefetcher {
    /// Starts prefetching `r`, which must lie inside the mapping that owns
    /// this prefetcher and outlives it.
    pub(crate) fn start(&self, r: Range) {
        if r.len < THREAD_FROM || !cfg!(target_os = "linux") {
            advise(r, libc::MADV_WILLNEED);
            return;
        }
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&cancel);
        let spawned = std::thread::Builder::new()
            .name("tenzor-prefetch".into())
            .spawn(move || populate(r, &flag));
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        jobs.retain(|j| !j.thread.is_finished());
        match spawned {
            Ok(thread) => jobs.push(Job { cancel, thread }),
            // No thread to be had: the kernel's readahead will do.
            Err(_) => {
                advise(r, libc::MADV_WILLNEED);
            }
        }
    }
}

impl Drop for Prefetcher {
    fn drop(&mut self) {
        let jobs = std::mem::take(self.jobs.get_mut().unwrap_or_else(|e| e.into_inner()));
        for j in &jobs {
            j.cancel.store(true, Ordering::Relaxed);
        }
        for j in jobs {
            let _ = j.thread.join();
        }
    }
}

/// madvise on a range of our own mapping; returns the errno on failure.
fn advise(r: Range, advice: libc::c_int) -> Option<i32> {
    // SAFETY: the range lies inside a live read-only file mapping (the
    // caller's contract); this advice never changes its contents.
    let rc = unsafe { libc::madvise(r.addr as *mut libc::c_void, r.len, advice) };
    (rc != 0).then(|| std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
}

/// The thread: populate step by step until done or cancelled. Errors stop
/// it quietly (this is advice): EFAULT/EIO mean a page past the end of a
/// truncated file or a failed read, which the caller's own touch reports.
#[cfg(target_os = "linux")]
fn populate(r: Range, cancel: &AtomicBool) {
    let mut at = 0;
    while at < r.len && !cancel.load(Ordering::Relaxed) {
        let step = Range {
            addr: r.addr + at,
            len: (r.len - at).min(STEP),
        };
        match advise(step, libc::MADV_POPULATE_READ) {
            None => at += step.len,
            Some(libc::EINTR) => {}
            Some(libc::EINVAL) => {
                let rest = Range {
                    addr: step.addr,
                    len: r.len - at,
                };
                advise(rest, libc::MADV_WILLNEED);
                return;
            }
            Some(_) => return,
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn populate(r: Range, _cancel: &AtomicBool) {
    advise(r, libc::MADV_WILLNEED);
}
