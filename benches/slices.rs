//! Slices side by side with what a caller does without them, per backend,
//! from the page cache (warm): medians of RUNS.
//!
//! - half the columns of a matrix (a column-parallel split): `read_slice`
//!   vs copying the columns out of the mapped view (mmap), or out of the
//!   whole tensor read into a 4096-aligned staging buffer with
//!   `read_tensor` (read, direct: O_DIRECT applies to it);
//! - 64 columns (runs far apart): the same two;
//! - a quarter of the rows (a tensor-parallel split): `get_rows` + touching
//!   every byte vs `get` of the whole tensor + touching those rows.
//!
//! Also the bytes each way reads from the file under the read backend.
//!
//! `cargo bench --bench slices [-- DIR]` (DIR: where the 64 MiB file goes;
//! default a temporary directory).

use std::time::{Duration, Instant};

use tenzor::{Backend, DType, OpenOptions, TensorFile, Writer};

const ROWS: u64 = 4096;
const COLS: u64 = 8192;
const RUNS: usize = 9;

fn median(mut f: impl FnMut()) -> Duration {
    f(); // warm the page cache and the handle
    let mut t: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed()
        })
        .collect();
    t.sort();
    t[RUNS / 2]
}

/// Touches every byte (a sum the optimiser cannot drop).
fn touch(b: &[u8]) -> u64 {
    b.iter().map(|&x| x as u64).sum()
}

/// `cols` columns copied out of a whole row-major F16 matrix.
fn copy_columns(whole: &[u8], cols: u64, dst: &mut [u8]) {
    let (row, want) = ((COLS * 2) as usize, (cols * 2) as usize);
    for (r, out) in dst.chunks_exact_mut(want).enumerate() {
        out.copy_from_slice(&whole[r * row..][..want]);
    }
}

fn main() {
    let arg = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let tmp = tempfile::tempdir().unwrap();
    let dir = arg.map_or(tmp.path().to_path_buf(), std::path::PathBuf::from);
    let path = dir.join("slices-bench.tenzor");
    let data: Vec<u8> = (0..ROWS * COLS * 2).map(|i| (i % 251) as u8).collect();
    let mut w = Writer::create(&path, Default::default()).unwrap();
    w.add_tensor("w", DType::F16, &[ROWS, COLS], &data).unwrap();
    w.finish().unwrap();
    drop(data);
    println!(
        "{:<8} {:<28} {:>10} {:>12} {:>7} {:>14} {:>14}",
        "backend", "slice", "slice", "without", "ratio", "read (slice)", "read (without)"
    );
    for backend in [Backend::Mmap, Backend::Read, Backend::Direct] {
        columns(&path, backend, COLS / 2);
        columns(&path, backend, 64);
        rows(&path, backend);
    }
    std::fs::remove_file(&path).unwrap();
}

fn open(path: &std::path::Path, backend: Backend) -> TensorFile<'static> {
    let o = OpenOptions {
        backend,
        ..Default::default()
    };
    TensorFile::open_with(path, &o).unwrap()
}

/// Bytes read from the file by `f` while running `body` once.
fn bytes_read(f: &TensorFile<'_>, body: impl FnOnce()) -> u64 {
    let s = f.io_stats();
    body();
    let e = f.io_stats();
    e.buffered_bytes + e.direct_bytes - s.buffered_bytes - s.direct_bytes
}

fn columns(path: &std::path::Path, backend: Backend, cols: u64) {
    let f = open(path, backend);
    let mut dst = vec![0u8; (ROWS * cols * 2) as usize];
    // 4096-aligned, as a pinned staging buffer is: O_DIRECT applies.
    let mut staging_mem = vec![0u8; (ROWS * COLS * 2) as usize + 4096];
    let skip = staging_mem.as_ptr().align_offset(4096);
    let staging = &mut staging_mem[skip..][..(ROWS * COLS * 2) as usize];
    let mut slice = || {
        f.read_slice("w", &[0, 0], &[ROWS, cols], &mut dst).unwrap();
    };
    let with = median(&mut slice);
    let read_with = bytes_read(&f, slice);
    // Without slices: copy the columns out of the mapped view (mmap), or
    // out of the whole tensor read into a staging buffer (read/direct).
    let mut without = || {
        if backend == Backend::Mmap {
            copy_columns(f.get("w").unwrap().data(), cols, &mut dst);
            return;
        }
        f.read_tensor("w", staging).unwrap();
        copy_columns(staging, cols, &mut dst);
    };
    let plain = median(&mut without);
    let read_without = bytes_read(&f, without);
    report(
        backend,
        &format!("[:, 0:{cols}] read_slice"),
        with,
        plain,
        read_with,
        read_without,
    );
}

fn rows(path: &std::path::Path, backend: Backend) {
    // A fresh handle per run: the read backends keep what a view read.
    let quarter = ROWS / 4;
    let row_view = || {
        let f = open(path, backend);
        bytes_read(&f, || {
            std::hint::black_box(touch(f.get_rows("w", 0, quarter).unwrap().data()));
        })
    };
    let whole_view = || {
        let f = open(path, backend);
        bytes_read(&f, || {
            let t = f.get("w").unwrap();
            let n = (quarter * COLS * 2) as usize;
            std::hint::black_box(touch(&t.data()[..n]));
        })
    };
    let with = median(|| {
        row_view();
    });
    let plain = median(|| {
        whole_view();
    });
    let name = format!("[0:{quarter}] get_rows + touch");
    report(backend, &name, with, plain, row_view(), whole_view());
}

fn report(backend: Backend, what: &str, with: Duration, plain: Duration, r1: u64, r2: u64) {
    let mib = |b: u64| match backend {
        Backend::Mmap => "(page faults)".to_string(),
        _ => format!("{:.1} MiB", b as f64 / (1 << 20) as f64),
    };
    println!(
        "{:<8} {:<28} {:>10.2?} {:>12.2?} {:>6.2}x {:>14} {:>14}",
        backend.name(),
        what,
        with,
        plain,
        plain.as_secs_f64() / with.as_secs_f64(),
        mib(r1),
        mib(r2)
    );
}
