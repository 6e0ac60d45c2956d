//! Slices: `get_rows` views and `read_slice` copies against a reference
//! extracted element by element from the whole tensor, for every backend
//! and format; block types refused exactly when a cut falls inside a
//! block; the read backends read only what a slice needs.

mod common;

use std::path::{Path, PathBuf};

use tenzor::{Backend, DType, ErrorKind, OpenOptions, Tensor, TensorFile, Writer, WriterOptions};

const BACKENDS: [Backend; 3] = [Backend::Mmap, Backend::Read, Backend::Direct];

fn open(p: &Path, backend: Backend) -> TensorFile<'static> {
    let o = OpenOptions {
        backend,
        ..Default::default()
    };
    TensorFile::open_with(p, &o).unwrap()
}

/// Deterministic pseudo-random numbers (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

/// Tensors of every kind of dtype (plain, sub-byte, GGML blocks), shape
/// (scalar, empty dims, rank 1 to 5) and size (one larger than a page).
fn native(dir: &Path) -> PathBuf {
    let p = dir.join("slices.tenzor");
    let o = WriterOptions {
        alignment: 4096,
        ..Default::default()
    };
    let mut w = Writer::create(&p, o).unwrap();
    let specs: &[(&str, DType, &[u64])] = &[
        ("f32_3d", DType::F32, &[5, 7, 3]),
        ("f16_2d", DType::F16, &[4, 6]),
        ("u8_4d", DType::U8, &[3, 4, 5, 2]),
        ("i64_1d", DType::I64, &[9]),
        ("bf16_5d", DType::BF16, &[2, 3, 1, 4, 2]),
        ("scalar", DType::F32, &[]),
        ("empty_rows", DType::F32, &[0, 3]),
        ("empty_cols", DType::U16, &[3, 0]),
        ("big", DType::U16, &[300, 37]),
        ("q4_0", DType::Q4_0, &[6, 96]),
        ("q6_k", DType::Q6_K, &[3, 2, 512]),
        ("f4_odd_rows", DType::F4, &[4, 3]),
        ("f4", DType::F4, &[3, 6]),
        ("f6", DType::F6_E2M3, &[4, 2]),
    ];
    for (i, &(name, dtype, shape)) in specs.iter().enumerate() {
        let numel: u64 = shape.iter().product();
        let n = dtype.byte_size(numel).unwrap() as usize;
        let data: Vec<u8> = (0..n).map(|j| (j * 151 + i * 29 + 1) as u8).collect();
        w.add_tensor(name, dtype, shape, &data).unwrap();
    }
    w.finish().unwrap();
    p
}

/// Every format the reader opens, sharded sets included.
fn all_files(dir: &Path) -> Vec<PathBuf> {
    let fx = common::root().join("tests").join("fixtures");
    vec![
        native(dir),
        fx.join("safetensors/model.safetensors"),
        fx.join("safetensors/all_dtypes.safetensors"),
        fx.join("gguf/small.gguf"),
        fx.join("gguf/split-00001-of-00002.gguf"),
        fx.join("sharded/model.safetensors.index.json"),
    ]
}

/// The slice taken element by element: each element of the box, in
/// row-major order, located in the whole tensor by its own flat index.
/// For block types the elements must come in whole, aligned blocks of the
/// source (else `None`: the slice cannot be given as bytes).
fn reference(t: &Tensor<'_>, starts: &[u64], stops: &[u64]) -> Option<Vec<u8>> {
    let shape = t.shape();
    let (b, bb) = (t.dtype().block_elems(), t.dtype().block_bytes() as usize);
    let mut flat = Vec::new();
    let mut idx: Vec<u64> = starts.to_vec();
    if starts.iter().zip(stops).all(|(a, e)| a < e) {
        loop {
            let f = idx
                .iter()
                .zip(shape)
                .fold(0u64, |acc, (&i, &n)| acc * n + i);
            flat.push(f);
            let mut d = shape.len();
            loop {
                if d == 0 {
                    break;
                }
                d -= 1;
                idx[d] += 1;
                if idx[d] < stops[d] {
                    break;
                }
                idx[d] = starts[d];
                if d == 0 {
                    d = usize::MAX;
                    break;
                }
            }
            if d == usize::MAX || shape.is_empty() {
                break;
            }
        }
    }
    if flat.len() as u64 % b != 0 {
        return None;
    }
    let mut out = Vec::new();
    for block in flat.chunks(b as usize) {
        let first = block[0];
        let whole = first % b == 0 && block.iter().zip(first..).all(|(&f, want)| f == want);
        if !whole {
            return None;
        }
        let at = (first / b) as usize * bb;
        out.extend_from_slice(&t.data()[at..at + bb]);
    }
    Some(out)
}

/// Boxes worth trying for a shape: whole, empty, single elements, rows,
/// the last column, and random ones.
fn boxes(shape: &[u64], rng: &mut Rng) -> Vec<(Vec<u64>, Vec<u64>)> {
    let zeros = vec![0; shape.len()];
    let mut v = vec![(zeros.clone(), shape.to_vec()), (zeros.clone(), zeros)];
    if shape.is_empty() {
        return v;
    }
    let mut last_col: (Vec<u64>, Vec<u64>) = (vec![0; shape.len()], shape.to_vec());
    let n = shape.len() - 1;
    last_col.0[n] = shape[n].saturating_sub(1);
    v.push(last_col);
    let mut rows = (vec![0; shape.len()], shape.to_vec());
    rows.0[0] = shape[0] / 3;
    rows.1[0] = shape[0] - shape[0] / 4;
    v.push(rows);
    for _ in 0..12 {
        let (mut a, mut e) = (Vec::new(), Vec::new());
        for &n in shape {
            let x = rng.below(n + 1);
            let y = rng.below(n + 1);
            a.push(x.min(y));
            e.push(x.max(y));
        }
        v.push((a, e));
    }
    v
}

fn names(f: &TensorFile<'_>) -> Vec<String> {
    f.iter()
        .filter_map(|t| t.name().map(str::to_string))
        .collect()
}

#[test]
fn read_slice_matches_element_by_element_extraction_everywhere() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let mut checked = (0, 0);
    for path in all_files(dir.path()) {
        let whole = TensorFile::open(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let memory = TensorFile::from_bytes(&bytes).ok();
        let mut handles: Vec<(String, TensorFile<'_>)> = BACKENDS
            .iter()
            .map(|&b| (format!("{b:?}"), open(&path, b)))
            .collect();
        if let Some(m) = memory.filter(|_| whole.shards().is_empty()) {
            handles.push(("memory".into(), m));
        }
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for name in names(&whole) {
            let t = whole.get(&name).unwrap();
            for (starts, stops) in boxes(t.shape(), &mut rng) {
                let want = reference(&t, &starts, &stops);
                for (what, f) in &handles {
                    let ctx = format!("{} {what} {name} {starts:?}..{stops:?}", path.display());
                    let mut dst = vec![0xEE; want.as_ref().map_or(0, Vec::len) + 5];
                    match (&want, f.read_slice(&name, &starts, &stops, &mut dst)) {
                        (Some(w), Ok(n)) => {
                            assert_eq!(n, w.len(), "{ctx}");
                            assert_eq!(&dst[..n], &w[..], "{ctx}");
                            assert!(dst[n..].iter().all(|&x| x == 0xEE), "{ctx}: wrote past");
                            let size = f.slice_size(&name, &starts, &stops).unwrap();
                            assert_eq!(size, n, "{ctx}");
                            checked.0 += 1;
                        }
                        (None, Err(e)) => {
                            assert_eq!(e.kind(), ErrorKind::Unsupported, "{ctx}: {e}");
                            assert!(e.to_string().contains("block"), "{ctx}: {e}");
                            assert!(dst.iter().all(|&x| x == 0xEE), "{ctx}: wrote");
                            checked.1 += 1;
                        }
                        (w, r) => panic!("{ctx}: reference {:?}, got {r:?}", w.is_some()),
                    }
                }
            }
        }
    }
    assert!(checked.0 > 500 && checked.1 > 10, "{checked:?}");
}

#[test]
fn get_rows_views_match_the_rows_of_the_whole_tensor() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    for path in all_files(dir.path()) {
        let whole = TensorFile::open(&path).unwrap();
        for backend in BACKENDS {
            let f = open(&path, backend);
            for name in names(&whole) {
                let t = whole.get(&name).unwrap();
                let Some(&rows) = t.shape().first() else {
                    let e = f.get_rows(&name, 0, 0).unwrap_err();
                    assert_eq!(e.kind(), ErrorKind::OutOfRange);
                    assert!(e.to_string().contains("scalar"), "{e}");
                    continue;
                };
                for (a, b) in [
                    (0, rows),
                    (0, 0),
                    (rows, rows),
                    (rows / 2, rows),
                    (1.min(rows), rows.min(2)),
                ] {
                    let ctx = format!("{} {backend:?} {name} rows {a}..{b}", path.display());
                    let mut starts = vec![0; t.shape().len()];
                    let mut stops = t.shape().to_vec();
                    (starts[0], stops[0]) = (a, b);
                    match (reference(&t, &starts, &stops), f.get_rows(&name, a, b)) {
                        (Some(w), Ok(v)) => {
                            assert_eq!(v.data(), &w[..], "{ctx}");
                            assert_eq!(v.shape()[0], b - a, "{ctx}");
                            assert_eq!(&v.shape()[1..], &t.shape()[1..], "{ctx}");
                            assert_eq!((v.dtype(), v.checksum()), (t.dtype(), None), "{ctx}");
                            assert!(v.file_offset() >= t.file_offset(), "{ctx}");
                            assert!(
                                v.file_offset() + v.data().len() as u64
                                    <= t.file_offset() + t.data().len() as u64,
                                "{ctx}"
                            );
                        }
                        (None, Err(e)) => {
                            assert_eq!(e.kind(), ErrorKind::Unsupported, "{ctx}: {e}");
                            assert!(e.to_string().contains("block"), "{ctx}: {e}");
                        }
                        (w, r) => panic!("{ctx}: reference {:?}, got {:?}", w.is_some(), r.err()),
                    }
                }
            }
        }
    }
}

#[test]
fn row_views_with_mmap_point_into_the_mapping() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let f = open(&native(dir.path()), Backend::Mmap);
    let t = f.get("big").unwrap();
    let v = f.get_rows("big", 10, 20).unwrap();
    let row = 37 * 2;
    assert_eq!(v.data().as_ptr(), t.data()[10 * row..].as_ptr(), "no copy");
    assert_eq!(v.data().len(), 10 * row);
    assert_eq!(v.file_offset(), t.file_offset() + 10 * row as u64);
}

#[test]
fn errors_name_the_file_the_tensor_and_the_problem() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let p = native(dir.path());
    let f = open(&p, Backend::Read);
    let file = p.display().to_string();
    let mut dst = vec![0u8; 4096];
    let cases: Vec<(tenzor::Error, ErrorKind, &str)> = vec![
        (
            f.get_rows("f32_3d", 3, 2).unwrap_err(),
            ErrorKind::OutOfRange,
            "[3, 2)",
        ),
        (
            f.get_rows("f32_3d", 0, 6).unwrap_err(),
            ErrorKind::OutOfRange,
            "5 rows",
        ),
        (
            f.get_rows("scalar", 0, 1).unwrap_err(),
            ErrorKind::OutOfRange,
            "scalar",
        ),
        (
            f.get_rows("nope", 0, 1).unwrap_err(),
            ErrorKind::NotFound,
            "nope",
        ),
        (
            f.get_rows("f4_odd_rows", 1, 2).unwrap_err(),
            ErrorKind::Unsupported,
            "blocks of 2 elements",
        ),
        (
            f.get_rows("f6", 1, 4).unwrap_err(),
            ErrorKind::Unsupported,
            "multiples of 2 rows",
        ),
        (
            f.read_slice("f32_3d", &[0, 0], &[1, 1], &mut dst)
                .unwrap_err(),
            ErrorKind::OutOfRange,
            "3 dimensions",
        ),
        (
            f.read_slice("f32_3d", &[0, 4, 0], &[1, 3, 1], &mut dst)
                .unwrap_err(),
            ErrorKind::OutOfRange,
            "dimension 1: [4, 3)",
        ),
        (
            f.read_slice("f32_3d", &[0, 0, 0], &[1, 1, 4], &mut dst)
                .unwrap_err(),
            ErrorKind::OutOfRange,
            "dimension 2: [0, 4) is not a range within its size 3",
        ),
        (
            f.read_slice("q4_0", &[0, 16], &[6, 48], &mut dst)
                .unwrap_err(),
            ErrorKind::Unsupported,
            "Q4_0 stores blocks of 32 elements in 18 bytes",
        ),
        (
            f.read_slice("big", &[0, 0], &[300, 37], &mut dst)
                .unwrap_err(),
            ErrorKind::InvalidArgument,
            "destination holds 4096 bytes but the slice has 22200",
        ),
    ];
    for (e, kind, text) in cases {
        let m = e.to_string();
        assert_eq!(e.kind(), kind, "{m}");
        assert!(m.starts_with(&file), "{m}");
        assert!(m.contains(text), "{m} lacks {text}");
        if kind != ErrorKind::NotFound {
            assert!(m.contains("tensor '"), "{m}");
        }
    }
    // Cuts on block boundaries are fine.
    let n = f.read_slice("q4_0", &[1, 32], &[3, 96], &mut dst).unwrap();
    assert_eq!(n, 2 * 2 * 18);
    assert_eq!(f.get_rows("f6", 2, 4).unwrap().data().len(), 3);
}

/// A large tensor opened with the read backend: a row view reads only the
/// pages of its rows, a slice reads only near its runs and keeps nothing.
#[test]
fn read_backends_read_only_what_a_slice_needs() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let p = dir.path().join("wide.tenzor");
    let (rows, cols) = (1024u64, 4096u64);
    let data: Vec<u8> = (0..rows * cols).map(|i| (i % 251) as u8 + 1).collect();
    let mut w = Writer::create(&p, WriterOptions::default()).unwrap();
    w.add_tensor("w", DType::U8, &[rows, cols], &data).unwrap();
    w.finish().unwrap();
    for backend in [Backend::Read, Backend::Direct] {
        let f = open(&p, backend);
        let before = f.io_stats();
        let info = f.try_info("w").unwrap();
        assert_eq!(
            (info.shape.as_slice(), info.size),
            (&[rows, cols][..], rows * cols)
        );
        assert_eq!(
            f.io_stats(),
            before,
            "{backend:?}: a description reads nothing"
        );
        let read = |f: &TensorFile<'_>| {
            let s = f.io_stats();
            s.buffered_bytes + s.direct_bytes - before.buffered_bytes - before.direct_bytes
        };
        let mut dst = vec![0u8; 10 * 16];
        f.read_slice("w", &[100, 8], &[110, 24], &mut dst).unwrap();
        for r in 0..10 {
            let at = ((100 + r) * cols + 8) as usize;
            assert_eq!(&dst[r as usize * 16..][..16], &data[at..at + 16]);
        }
        assert!(read(&f) <= 12 * 4096, "{backend:?}: read {}", read(&f));
        // An empty view reads nothing and gives the tensor's offset.
        let start = f.get_rows("w", 0, 0).unwrap().file_offset() as usize;
        let held = &f.as_bytes()[start..][..(rows * cols) as usize];
        assert!(
            held.iter().all(|&b| b == 0),
            "{backend:?}: a slice is not kept"
        );
        let v = f.get_rows("w", 500, 502).unwrap();
        assert_eq!(v.data(), &data[500 * 4096..502 * 4096]);
        assert!(read(&f) <= 15 * 4096, "{backend:?}: read {}", read(&f));
        let loaded = held.iter().filter(|&&b| b != 0).count();
        assert_eq!(
            loaded,
            2 * 4096,
            "{backend:?}: only the rows' pages are held"
        );
    }
}

/// Runs far apart are read one by one, long runs straight into the
/// destination, runs close together share a read: every layout gives the
/// bytes of three nested loops over the box, on every backend.
#[test]
fn scattered_and_dense_runs_give_the_same_bytes_on_every_backend() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let p = dir.path().join("runs.tenzor");
    let shape = [3u64, 4, 100_000];
    let n: u64 = shape.iter().product();
    let data: Vec<u8> = (0..n).map(|i| (i * 7 % 253) as u8).collect();
    let mut w = Writer::create(&p, WriterOptions::default()).unwrap();
    w.add_tensor("t", DType::U8, &shape, &data).unwrap();
    w.finish().unwrap();
    let boxes: [([u64; 3], [u64; 3]); 6] = [
        ([0, 0, 0], [3, 4, 1]),            // one-byte runs, 100000 apart
        ([0, 1, 0], [3, 4, 100_000]),      // 3 runs of 300000, each its own read
        ([1, 0, 50], [3, 4, 40_000]),      // runs of 39950, gaps of 60050: shared reads
        ([0, 0, 0], [3, 4, 100_000]),      // the whole tensor, one run
        ([2, 2, 4000], [3, 3, 4001]),      // one byte
        ([0, 0, 99_990], [3, 4, 100_000]), // short runs, gaps just over 64 KiB
    ];
    for backend in BACKENDS {
        let f = open(&p, backend);
        for (a, e) in &boxes {
            let mut want = Vec::new();
            for i in a[0]..e[0] {
                for j in a[1]..e[1] {
                    let at = ((i * shape[1] + j) * shape[2] + a[2]) as usize;
                    want.extend_from_slice(&data[at..at + (e[2] - a[2]) as usize]);
                }
            }
            let mut dst = vec![0u8; want.len()];
            assert_eq!(f.read_slice("t", a, e, &mut dst).unwrap(), want.len());
            assert!(dst == want, "{backend:?} {a:?}..{e:?}");
        }
    }
}
