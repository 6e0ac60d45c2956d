//! The loading targets of issue 8, side by side in one run: open + one
//! lookup (full and lazy validation) against the safetensors crate and the
//! operating system's floor, at 100 to 100,000 tensors. Prints medians and
//! ratios. `scripts/bench_load.py` runs it repeatedly and adds the 2 GiB
//! load/verify/convert rows.
//!
//! `cargo bench --bench load` (TENZOR_BENCH_QUICK=1 for a smoke run).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

mod common;

use common::{make_pair, name};
use tenzor::{OpenOptions, TensorFile, Validation};

/// Median of `runs` timings of `f`, each averaged over enough calls to
/// last about a millisecond.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    f();
    let once = start.elapsed().max(Duration::from_nanos(100));
    let reps = (Duration::from_millis(1).as_nanos() / once.as_nanos()).clamp(1, 10_000) as u32;
    let mut v: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed() / reps
        })
        .collect();
    v.sort();
    v[v.len() / 2]
}

/// open + fstat + mmap + touch one page + munmap: what any loader pays.
fn os_floor(p: &Path) {
    let f = std::fs::File::open(p).unwrap();
    let len = f.metadata().unwrap().len();
    let map = unsafe { memmap2::Mmap::map(&f).unwrap() };
    black_box(map[(len / 2) as usize]);
}

/// The offsets of the pages a lookup of `target` must read: the header,
/// the target's index entry and its name (what the OS floor below touches).
fn lookup_pages(p: &Path, target: &str) -> [usize; 3] {
    use tenzor::format::{ent, hdr, u32_at, u64_at, ENTRY_SIZE};
    let b = std::fs::read(p).unwrap();
    let count = u32_at(&b, hdr::TENSOR_COUNT) as usize;
    let index = u64_at(&b, hdr::INDEX_OFFSET) as usize;
    let names = index + count * (ENTRY_SIZE + 4);
    let hash = tenzor::hash_name(target.as_bytes());
    let slot = (0..count)
        .find(|&i| u64_at(&b, index + i * ENTRY_SIZE + ent::NAME_HASH) == hash)
        .unwrap();
    let e = index + slot * ENTRY_SIZE;
    [0, e, names + u32_at(&b, e + ent::NAME_OFFSET) as usize]
}

/// The OS floor of a lookup: open + fstat + mmap + touch the pages a lookup
/// of one tensor reads (`lookup_pages`) + munmap. At 100 tensors they share
/// one fault-around window; at 100,000 they are three faults in three
/// page-table pages, which no mapped reader can avoid.
fn os_floor_pages(p: &Path, pages: &[usize; 3]) {
    let f = std::fs::File::open(p).unwrap();
    black_box(f.metadata().unwrap().len());
    let map = unsafe { memmap2::Mmap::map(&f).unwrap() };
    for &o in pages {
        black_box(map[o]);
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let quick = std::env::var_os("TENZOR_BENCH_QUICK").is_some();
    let runs = if quick { 5 } else { 31 };
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let sizes: Vec<usize> = match std::env::var("TENZOR_BENCH_SIZES") {
        Ok(v) => v.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        Err(_) if quick => vec![100, 1000],
        Err(_) => vec![100, 1_000, 10_000, 100_000],
    };
    for (var, validation) in [
        ("TENZOR_PROFILE_FULL_OPEN", Validation::Full),
        ("TENZOR_PROFILE_LAZY_OPEN", Validation::Lazy),
    ] {
        let Ok(n) = std::env::var(var) else { continue };
        // For `perf record` / `perf stat`: nothing but opens + 1 lookup of
        // an N-tensor file.
        let n: usize = n.parse().expect("a tensor count");
        let (_, tz) = make_pair(dir.path(), n);
        let target = name(n / 2);
        let opts = OpenOptions {
            validation,
            ..Default::default()
        };
        let runs = std::env::var("TENZOR_PROFILE_RUNS").map_or(2000, |r| r.parse().unwrap());
        for _ in 0..runs {
            let f = TensorFile::open_with(&tz, &opts).unwrap();
            black_box(f.get(&target).unwrap().data().as_ptr());
        }
        return;
    }
    println!("open + 1 lookup, median of {runs} runs (microseconds)");
    println!("| tensors | OS floor | lazy | lazy/floor | full | full/floor | safetensors | safetensors/full | floor, same pages | lazy/that floor |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for &n in &sizes {
        let (st, tz) = make_pair(dir.path(), n);
        let target = name(n / 2);
        let lazy = OpenOptions {
            validation: Validation::Lazy,
            ..Default::default()
        };
        let floor = median(runs, || os_floor(&tz));
        let pages = lookup_pages(&tz, &target);
        let floor_pages = median(runs, || os_floor_pages(&tz, &pages));
        let t_lazy = median(runs, || {
            let f = TensorFile::open_with(&tz, &lazy).unwrap();
            black_box(f.get(&target).unwrap().data().as_ptr());
        });
        let t_full = median(runs, || {
            let f = TensorFile::open(&tz).unwrap();
            black_box(f.get(&target).unwrap().data().as_ptr());
        });
        let t_st = median(runs.min(11), || {
            let file = std::fs::File::open(&st).unwrap();
            let map = unsafe { memmap2::Mmap::map(&file).unwrap() };
            let s = safetensors::SafeTensors::deserialize(&map).unwrap();
            black_box(s.tensor(&target).unwrap().data().as_ptr());
        });
        println!(
            "| {n} | {:.1} | {:.1} | {:.2}x | {:.1} | {:.2}x | {:.1} | {:.1}x | {:.1} | {:.2}x |",
            us(floor),
            us(t_lazy),
            t_lazy.as_secs_f64() / floor.as_secs_f64(),
            us(t_full),
            t_full.as_secs_f64() / floor.as_secs_f64(),
            us(t_st),
            t_st.as_secs_f64() / t_full.as_secs_f64(),
            us(floor_pages),
            t_lazy.as_secs_f64() / floor_pages.as_secs_f64(),
        );
    }
}
