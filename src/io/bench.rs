//! `tenzor bench FILE`: open, cold and warm full load of a file for each
//! backend, side by side with a plain sequential read of the same file (what
//! `cat FILE > /dev/null` does), so users can pick a backend for their own
//! storage. Cold runs first evict the file from the page cache
//! (`posix_fadvise(POSIX_FADV_DONTNEED)`; pages other processes map stay).

use std::path::Path;
use std::time::{Duration, Instant};

use super::{hints, Backend, BatchOptions, OpenOptions, Validation};
use crate::error::{Error, Result};
use crate::reader::TensorFile;

/// One measured way of loading the file.
#[derive(Debug, Clone)]
pub struct BenchRow {
    /// What was measured, e.g. `cold read`.
    pub what: String,
    /// Median time.
    pub median: Duration,
    /// Bytes moved per run (0 for opens).
    pub bytes: u64,
}

impl BenchRow {
    /// Throughput of the median run in GB/s (0 for opens).
    pub fn gbps(&self) -> f64 {
        self.bytes as f64 / self.median.as_secs_f64() / 1e9
    }
}

fn median(runs: usize, mut f: impl FnMut() -> Result<Duration>) -> Result<Duration> {
    let mut v = (0..runs.max(1)).map(|_| f()).collect::<Result<Vec<_>>>()?;
    v.sort();
    Ok(v[v.len() / 2])
}

fn evict(path: &Path) -> Result<()> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, "cannot open", e))?;
    hints::evict(&f, 0, 0);
    Ok(())
}

/// Reads the whole file front to back in 1 MiB reads, as `cat` does.
fn sequential(path: &Path) -> Result<u64> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, "cannot open", e))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| Error::io(path, "cannot read", e))?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
    }
}

/// Touches one byte of every page of every tensor (a mapped load).
fn touch(f: &TensorFile<'_>) -> Result<u64> {
    let mut sum = 0u8;
    let mut bytes = 0u64;
    for t in f.try_iter() {
        let d = t?.data();
        bytes += d.len() as u64;
        sum = d.iter().step_by(4096).fold(sum, |a, &b| a.wrapping_add(b));
    }
    std::hint::black_box(sum);
    Ok(bytes)
}

/// A page-aligned, already-faulted destination for every tensor (a
/// staging buffer), then a batch read of all tensors into it.
struct Arena {
    mem: Vec<u8>,
    skew: usize,
}

impl Arena {
    fn new(len: usize) -> Arena {
        let mut mem = vec![1u8; len + 4096];
        let skew = mem.as_mut_ptr().align_offset(4096);
        Arena { mem, skew }
    }

    fn read_all(&mut self, f: &TensorFile<'_>, threads: usize) -> Result<u64> {
        // Described, not looked up: a lookup under the read backends would
        // read every tensor into the handle first.
        let names: Vec<(String, usize)> = (0..f.len())
            .map(|p| {
                let t = f.describe_at(p)?;
                Ok((t.name().unwrap_or("").to_string(), t.data().len()))
            })
            .collect::<Result<_>>()?;
        let mut rest = &mut self.mem[self.skew..];
        let mut reqs: Vec<(&str, &mut [u8])> = Vec::with_capacity(names.len());
        for (name, len) in &names {
            // Each destination starts 4096-aligned, as O_DIRECT wants.
            let padded = len.next_multiple_of(4096).min(rest.len());
            let (dst, tail) = std::mem::take(&mut rest).split_at_mut(padded);
            reqs.push((name.as_str(), dst));
            rest = tail;
        }
        let o = BatchOptions {
            threads,
            ..Default::default()
        };
        f.read_tensors(&mut reqs, &o)?;
        Ok(names.iter().map(|(_, n)| *n as u64).sum())
    }
}

/// Runs every measurement `runs` times and returns the medians.
pub fn run(path: &Path, runs: usize) -> Result<Vec<BenchRow>> {
    let probe = TensorFile::open(path)?;
    let arena_len: usize = probe
        .iter()
        .map(|t| t.data().len().next_multiple_of(4096))
        .sum();
    if probe.iter().any(|t| t.name().is_none()) {
        return Err(Error::new(
            crate::ErrorKind::Unsupported,
            "bench reads tensors by name: legacy v1 files have none",
        ));
    }
    drop(probe);
    let mut arena = Arena::new(arena_len);
    let mut rows = Vec::new();
    let mut row = |what: &str, bytes: u64, d: Duration| {
        rows.push(BenchRow {
            what: what.to_string(),
            median: d,
            bytes,
        })
    };
    for (what, validation) in [
        ("open+lookup full", Validation::Full),
        ("open+lookup lazy", Validation::Lazy),
    ] {
        let o = OpenOptions {
            validation,
            ..Default::default()
        };
        let d = median(runs * 5, || {
            let t = Instant::now();
            let f = TensorFile::open_with(path, &o)?;
            std::hint::black_box(f.get_at(0).map(|t| t.data().as_ptr()));
            Ok(t.elapsed())
        })?;
        row(what, 0, d);
    }
    for cold in [true, false] {
        let tag = if cold { "cold" } else { "warm" };
        let once = |load: &mut dyn FnMut() -> Result<u64>| -> Result<(u64, Duration)> {
            let mut bytes = 0;
            let d = median(runs, || {
                if cold {
                    evict(path)?;
                } else {
                    load()?; // warm the cache
                }
                let t = Instant::now();
                bytes = load()?;
                Ok(t.elapsed())
            })?;
            Ok((bytes, d))
        };
        let (b, d) = once(&mut || sequential(path))?;
        row(&format!("{tag} sequential read (cat)"), b, d);
        let (b, d) = once(&mut || touch(&TensorFile::open(path)?))?;
        row(&format!("{tag} mmap, touch every page"), b, d);
        let pre = OpenOptions {
            prefetch: true,
            access: super::Access::Sequential,
            ..Default::default()
        };
        let (b, d) = once(&mut || touch(&TensorFile::open_with(path, &pre)?))?;
        row(&format!("{tag} mmap + prefetch, touch"), b, d);
        for backend in [Backend::Mmap, Backend::Read, Backend::Direct] {
            let o = OpenOptions {
                backend,
                validation: Validation::Lazy,
                ..Default::default()
            };
            for threads in [1usize, 2] {
                let (b, d) =
                    once(&mut || arena.read_all(&TensorFile::open_with(path, &o)?, threads))?;
                row(
                    &format!("{tag} {} read_tensors, {threads} thread(s)", backend.name()),
                    b,
                    d,
                );
            }
        }
    }
    Ok(rows)
}
