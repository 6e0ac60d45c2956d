//! Gathering many byte ranges of one file (the runs of a slice) into one
//! caller buffer, whatever the backend: copies from memory when the bytes
//! are there (a mapping, a caller's buffer, pages already read), else
//! positioned reads that leave the handle's own memory untouched.

use super::pread::{Reader, ALIGN};
use super::store::Store;
use crate::error::Result;

/// One contiguous piece: `len` bytes at file offset `src` go to `dst[at..]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    pub src: u64,
    pub at: usize,
    pub len: usize,
}

/// A run this long is read straight into the destination with its own
/// read (O_DIRECT where aligned); shorter runs share window reads.
const OWN_READ: usize = 256 << 10;
/// A gap up to this size between two runs is read and thrown away rather
/// than paid for with another read: one pread costs about as much as
/// copying 4 KiB from the page cache (measured: `cargo bench --bench
/// slices`, 64 KiB bridged gaps made narrow column slices 2.5x slower),
/// one O_DIRECT request about as much as transferring 256 KiB from a disk.
const BRIDGE: u64 = 4 << 10;
const BRIDGE_DIRECT: u64 = 256 << 10;
/// Largest window read into the bounce buffer at once.
const WINDOW: u64 = 4 << 20;

/// Copies every run of `runs` (in increasing file order, not overlapping,
/// all inside `span`, every `at + len` within `dst`) into `dst`.
pub(crate) fn gather<I>(store: &Store<'_>, span: (u64, u64), runs: I, dst: &mut [u8]) -> Result<()>
where
    I: Iterator<Item = Run> + Clone,
{
    match store.reader() {
        Some(reader) if !store.resident(span.0, span.1 - span.0) => read_runs(reader, runs, dst),
        _ => {
            let bytes = store.bytes();
            for r in runs {
                dst[r.at..][..r.len].copy_from_slice(&bytes[r.src as usize..][..r.len]);
            }
            Ok(())
        }
    }
}

/// Reads the runs with positioned reads: long runs each on their own, short
/// ones grouped into windows (gaps up to [`BRIDGE`], or [`BRIDGE_DIRECT`]
/// with O_DIRECT; at most [`WINDOW`] bytes) read into an aligned bounce
/// buffer and copied out.
fn read_runs<I>(reader: &Reader, mut runs: I, dst: &mut [u8]) -> Result<()>
where
    I: Iterator<Item = Run> + Clone,
{
    let mut bounce = Bounce::default();
    let (bridge, page) = match reader.is_direct() {
        true => (BRIDGE_DIRECT, ALIGN as u64),
        false => (BRIDGE, 1),
    };
    loop {
        let window_runs = runs.clone();
        let Some(first) = runs.next() else {
            return Ok(());
        };
        if first.len >= OWN_READ {
            reader.read_exact_at(first.src, &mut dst[first.at..][..first.len])?;
            continue;
        }
        let (start, mut end, mut count) = (first.src, first.src + first.len as u64, 1);
        loop {
            let before = runs.clone();
            match runs.next() {
                Some(r) if r.src - end <= bridge && r.src + r.len as u64 - start <= WINDOW => {
                    end = r.src + r.len as u64;
                    count += 1;
                }
                _ => {
                    runs = before;
                    break;
                }
            }
        }
        // O_DIRECT: widened to whole pages (within the file) so it applies.
        let from = start / page * page;
        let to = end.div_ceil(page) * page;
        let buf = bounce.get((to.min(reader.len()) - from) as usize);
        reader.read_exact_at(from, buf)?;
        for r in window_runs.take(count) {
            dst[r.at..][..r.len].copy_from_slice(&buf[(r.src - from) as usize..][..r.len]);
        }
    }
}

/// A reusable buffer whose start is [`ALIGN`]-aligned.
#[derive(Default)]
struct Bounce {
    mem: Vec<u8>,
}

impl Bounce {
    fn get(&mut self, len: usize) -> &mut [u8] {
        if self.mem.len() < len + ALIGN {
            self.mem = vec![0; len + ALIGN];
        }
        let skip = self.mem.as_ptr().align_offset(ALIGN);
        &mut self.mem[skip..][..len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounce_buffers_are_aligned_and_sized() {
        let mut b = Bounce::default();
        for len in [1, 4096, 10_000, 3] {
            let s = b.get(len);
            assert_eq!(s.len(), len);
            assert_eq!(s.as_ptr() as usize % ALIGN, 0);
        }
    }
}
