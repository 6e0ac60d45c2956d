//! Many reads at once: byte ranges of one file into many caller buffers,
//! split into chunks, adjacent ranges coalesced into one vectored read, and
//! spread over a few threads.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::store::Store;
use crate::error::{Error, Result};

/// One read of a batch: `dst.len()` bytes of the file at `offset`.
#[derive(Debug)]
pub struct ReadRequest<'d> {
    /// Absolute offset in the file.
    pub offset: u64,
    /// Where the bytes go.
    pub dst: &'d mut [u8],
}

/// How a batch is carried out.
#[derive(Debug, Clone, Copy)]
pub struct BatchOptions {
    /// Threads reading at once (0: one per available core, at most 8).
    pub threads: usize,
    /// Largest single read in bytes (0: 8 MiB). Larger ranges are split.
    pub chunk_size: usize,
    /// Merge reads of adjacent file ranges into one vectored read.
    pub coalesce: bool,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            threads: 0,
            chunk_size: 0,
            coalesce: true,
        }
    }
}

const DEFAULT_CHUNK: usize = 8 << 20;
/// iovecs per vectored read (well under every IOV_MAX).
const MAX_IOV: usize = 64;

/// A piece of a request: file range and destination (raw, so pieces of
/// one caller buffer can go to different threads).
#[derive(Clone, Copy)]
pub(crate) struct Segment {
    pub offset: u64,
    pub dst: *mut u8,
    pub len: usize,
}

// SAFETY: each segment's destination is a disjoint piece of a `&mut [u8]`
// the caller lent for the duration of `read_segments`.
unsafe impl Send for Segment {}
// SAFETY: as above; segments are only read, never shared mutably.
unsafe impl Sync for Segment {}

impl Segment {
    pub fn of(req: &mut ReadRequest<'_>) -> Segment {
        Segment {
            offset: req.offset,
            dst: req.dst.as_mut_ptr(),
            len: req.dst.len(),
        }
    }
}

/// Splits, coalesces and reads `segs` (already checked against the file
/// size) with `opts`. Every destination is fully written, or an error is
/// returned (naming the first failing range).
pub(crate) fn read_segments(
    store: &Store<'_>,
    segs: Vec<Segment>,
    opts: &BatchOptions,
) -> Result<()> {
    let chunk = if opts.chunk_size == 0 {
        DEFAULT_CHUNK
    } else {
        opts.chunk_size
    };
    let mut pieces = split(segs, chunk);
    pieces.sort_unstable_by_key(|s| s.offset);
    let runs = if opts.coalesce {
        coalesce(&pieces, chunk)
    } else {
        (0..pieces.len()).map(|i| i..i + 1).collect()
    };
    let threads = match opts.threads {
        0 => std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8),
        n => n,
    }
    .min(runs.len())
    .max(1);
    let next = AtomicUsize::new(0);
    let work = || -> Result<()> {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(run) = runs.get(i) else {
                return Ok(());
            };
            read_run(store, &pieces[run.clone()])?;
        }
    };
    if threads == 1 {
        return work();
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::invalid("a batch read thread panicked")))
            })
            .collect::<Result<Vec<()>>>()
    })?;
    Ok(())
}

/// Cuts segments into pieces of at most `chunk` bytes, keeping 4096-byte
/// alignment of cut points relative to the file so O_DIRECT still applies.
fn split(segs: Vec<Segment>, chunk: usize) -> Vec<Segment> {
    let chunk = chunk.max(4096) / 4096 * 4096;
    let mut out = Vec::with_capacity(segs.len());
    for s in segs {
        let mut done = 0;
        while done < s.len || (s.len == 0 && done == 0) {
            let n = (s.len - done).min(chunk);
            out.push(Segment {
                offset: s.offset + done as u64,
                // `done <= s.len`: inside the caller's buffer.
                dst: s.dst.wrapping_add(done),
                len: n,
            });
            if n == 0 {
                break;
            }
            done += n;
        }
    }
    out
}

/// Groups sorted pieces into runs of file-contiguous ranges (at most `chunk`
/// bytes and [`MAX_IOV`] pieces each).
fn coalesce(pieces: &[Segment], chunk: usize) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut start = 0;
    let mut bytes = 0usize;
    for i in 0..pieces.len() {
        let joins = i > start
            && pieces[i - 1].offset + pieces[i - 1].len as u64 == pieces[i].offset
            && bytes + pieces[i].len <= chunk
            && i - start < MAX_IOV;
        if i > start && !joins {
            runs.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += pieces[i].len;
    }
    if start < pieces.len() {
        runs.push(start..pieces.len());
    }
    runs
}

fn read_run(store: &Store<'_>, run: &[Segment]) -> Result<()> {
    if run.len() > 1 {
        if let Some(r) = store.reader() {
            if !r.is_direct() {
                return r.read_vectored_at(run);
            }
        }
    }
    for s in run {
        // SAFETY: the caller lent these bytes; pieces never overlap.
        let dst = unsafe { std::slice::from_raw_parts_mut(s.dst, s.len) };
        store.read_into(s.offset, dst)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(offset: u64, len: usize) -> Segment {
        Segment {
            offset,
            dst: std::ptr::null_mut(),
            len,
        }
    }

    #[test]
    fn adjacent_ranges_coalesce_and_gaps_split_runs() {
        let p = [seg(0, 10), seg(10, 10), seg(30, 5), seg(35, 5)];
        assert_eq!(coalesce(&p, 1 << 20), vec![0..2, 2..4]);
        assert_eq!(coalesce(&p, 15), vec![0..1, 1..2, 2..4]);
    }

    #[test]
    fn split_cuts_at_4096_multiples() {
        let s = split(vec![seg(4096, 10_000)], 4096);
        let v: Vec<_> = s.iter().map(|s| (s.offset, s.len)).collect();
        assert_eq!(v, vec![(4096, 4096), (8192, 4096), (12288, 1808)]);
    }
}
