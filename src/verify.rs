//! The data pass of [`TensorFile::verify`]: every tensor's checksum
//! recomputed on up to [`MAX_THREADS`] threads, each streaming its tensor
//! through bounded memory ([`crate::io`]'s `Store::stream`), so a 2 GiB file
//! is checked at the speed of both cores with a resident size of a few
//! MiB per thread whatever the backend.
//!
//! Tensors are the unit of parallel work: xxh3's accumulator is sequential,
//! so one tensor's checksum cannot be split across threads without changing
//! the stored value. A file holding one giant tensor is hashed by one thread.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::error::{Error, ErrorKind, Result};
use crate::reader::TensorFile;
use crate::tensor::Tensor;

/// At most this many hashing threads: each keeps up to one step of the
/// file (4 MiB) resident, so memory stays bounded on large machines.
const MAX_THREADS: usize = 4;

/// Files smaller than this are hashed on the calling thread: starting
/// threads would cost more than they save.
const PARALLEL_FROM: usize = 16 << 20;

impl TensorFile<'_> {
    /// Recomputes every tensor's checksum (a single file, not a set). The
    /// error names the first bad tensor in position order, whatever the
    /// thread timing: positions are handed out in order, a thread stops
    /// only past the lowest failure seen, so every position before the
    /// reported one was checked and passed.
    pub(crate) fn verify_checksums(&self) -> Result<()> {
        let n = self.len();
        let threads = std::thread::available_parallelism()
            .map_or(1, |t| t.get())
            .min(MAX_THREADS)
            .min(n);
        if threads <= 1 || self.as_bytes().len() < PARALLEL_FROM {
            let mut buf = Vec::new();
            return (0..n).try_for_each(|p| self.verify_position(p, &mut buf));
        }
        let next = AtomicUsize::new(0);
        let lowest_bad = AtomicUsize::new(usize::MAX);
        let first: Mutex<Option<(usize, Error)>> = Mutex::new(None);
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    let mut buf = Vec::new();
                    loop {
                        let p = next.fetch_add(1, Ordering::Relaxed);
                        if p >= n || p > lowest_bad.load(Ordering::Relaxed) {
                            return;
                        }
                        if let Err(e) = self.verify_position(p, &mut buf) {
                            lowest_bad.fetch_min(p, Ordering::Relaxed);
                            let mut f = first.lock().unwrap_or_else(|e| e.into_inner());
                            if f.as_ref().is_none_or(|(q, _)| p < *q) {
                                *f = Some((p, e));
                            }
                        }
                    }
                });
            }
        });
        match first.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some((_, e)) => Err(e),
            None => Ok(()),
        }
    }

    /// Checks the checksum of the tensor at `position`, streaming its data
    /// (`buf` is the thread's read buffer for the read backends).
    fn verify_position(&self, position: usize, buf: &mut Vec<u8>) -> Result<()> {
        let t = self.describe_at(position).map_err(|e| self.tag(e))?;
        let Some(stored) = t.checksum() else {
            return Ok(());
        };
        let mut h = crate::format::Checksum::new();
        self.store
            .stream(t.offset, t.data.len() as u64, buf, &mut |c| {
                h.update(c);
                Ok(())
            })
            .map_err(|e| self.tag(e.for_tensor(&t.display_name())))?;
        self.compare_checksum(&t, stored, h.digest())
    }

    /// The error of a tensor whose data hashes to `actual`, not `stored`.
    pub(crate) fn compare_checksum(&self, t: &Tensor<'_>, stored: u64, actual: u64) -> Result<()> {
        if actual == stored {
            return Ok(());
        }
        let e = Error::new(
            ErrorKind::Checksum,
            format!("data checksum mismatch (stored {stored:#018x}, computed {actual:#018x}): the data is corrupted"),
        )
        .for_tensor(&t.display_name());
        Err(self.tag(e))
    }
}
