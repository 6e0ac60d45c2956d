//! Oracle: slices against a naive extraction. The input chooses a dtype
//! (plain, sub-byte and GGML block types), a shape (sometimes one long
//! dimension, so runs and gaps cross the read backends' window sizes), the
//! tensor's bytes, and boxes to take. Each box is read with `read_slice`,
//! and its outer range with `get_rows`, from the buffer and through every
//! backend by path; each must give exactly the bytes found by decoding
//! every output element's coordinates one at a time, or, exactly when that
//! decoding finds a bound out of range or a block cut, the matching error.

use tenzor::{Backend, DType, ErrorKind, OpenOptions, TensorFile, Writer, WriterOptions};

use super::common::scratch;

const DTYPES: [DType; 10] = [
    DType::U8,
    DType::F16,
    DType::F32,
    DType::F64,
    DType::C64,
    DType::F4,
    DType::F6_E2M3,
    DType::Q4_0,
    DType::Q8_0,
    DType::Q4_K,
];

/// The bytes of the input, one at a time (zeros once used up).
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }

    fn below(&mut self, n: u64) -> u64 {
        let v = u16::from_le_bytes([self.byte(), self.byte()]) as u64;
        v % n.max(1)
    }
}

/// The `slice` target.
pub fn slice(data: &[u8]) {
    let mut input = Input(data);
    let dtype = DTYPES[input.byte() as usize % DTYPES.len()];
    let shape = shape(&mut input, dtype);
    let numel: u64 = shape.iter().product();
    let Some(size) = dtype.byte_size(numel) else {
        return;
    };
    let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ data.len() as u64;
    let bytes: Vec<u8> = (0..size)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect();
    let dir = scratch();
    let path = dir.path().join("t.tenzor");
    let alignment = if input.byte() % 2 == 0 { 64 } else { 4096 };
    let mut w = Writer::create(
        &path,
        WriterOptions {
            alignment,
            ..Default::default()
        },
    )
    .expect("writer");
    w.add_tensor("t", dtype, &shape, &bytes)
        .expect("a valid tensor");
    w.finish().expect("finish");
    let file = std::fs::read(&path).expect("read back");
    let mut handles = vec![TensorFile::from_bytes(&file).expect("own output opens")];
    for backend in [Backend::Mmap, Backend::Read, Backend::Direct] {
        let o = OpenOptions {
            backend,
            ..Default::default()
        };
        handles.push(TensorFile::open_with(&path, &o).expect("own output opens"));
    }
    for _ in 0..1 + input.byte() % 6 {
        let (starts, stops) = bounds(&mut input, &shape);
        let want = naive(dtype, &shape, &bytes, &starts, &stops);
        let rows = rows_wanted(dtype, &shape, &bytes, &starts, &stops);
        for f in &handles {
            check_slice(f, &starts, &stops, &want);
            if let Some((a, b, want)) = &rows {
                check_rows(f, &shape, *a, *b, want);
            }
        }
    }
}

/// Up to rank 4, dimensions 0 to 8; sometimes one dimension long (up to
/// 70,000) so runs and gaps reach hundreds of KiB; block types get whole
/// blocks; at most 2^18 elements.
fn shape(input: &mut Input<'_>, dtype: DType) -> Vec<u64> {
    let rank = input.byte() as usize % 5;
    let mut shape: Vec<u64> = (0..rank).map(|_| input.below(9)).collect();
    if rank > 0 && input.byte() % 4 == 0 {
        let d = input.byte() as usize % rank;
        shape[d] = 1 + input.below(70_000);
    }
    whole_blocks(&mut shape, dtype);
    if shape.iter().product::<u64>() > 1 << 18 {
        shape.iter_mut().for_each(|d| *d = (*d).min(8));
        whole_blocks(&mut shape, dtype);
    }
    shape
}

fn whole_blocks(shape: &mut [u64], dtype: DType) {
    if dtype.byte_size(shape.iter().product()).is_none() {
        if let Some(last) = shape.last_mut() {
            *last *= dtype.block_elems();
        }
    }
}

/// A start and a stop per dimension, sometimes reversed or past the end,
/// and sometimes one pair too few or too many.
fn bounds(input: &mut Input<'_>, shape: &[u64]) -> (Vec<u64>, Vec<u64>) {
    let rank = match input.byte() % 16 {
        0 => shape.len() + 1,
        1 => shape.len().saturating_sub(1),
        _ => shape.len(),
    };
    let dim = |d: usize| shape.get(d).copied().unwrap_or(3);
    let mut starts = Vec::new();
    let mut stops = Vec::new();
    for d in 0..rank {
        let n = dim(d);
        let a = input.below(n + 2);
        let b = if input.byte() % 3 == 0 {
            n
        } else {
            input.below(n + 2)
        };
        starts.push(if input.byte() % 8 == 0 { a } else { a.min(b) });
        stops.push(b.max(if input.byte() % 8 == 0 { 0 } else { a }));
    }
    (starts, stops)
}

/// What a slice must give: its bytes, or the error kind.
type Want = Result<Vec<u8>, ErrorKind>;

/// Decodes each output element's coordinates by division, finds it in the
/// whole tensor, and copies whole aligned blocks (a block type's elements
/// must come in whole blocks of the source, in order).
fn naive(dtype: DType, shape: &[u64], bytes: &[u8], starts: &[u64], stops: &[u64]) -> Want {
    let in_range = starts.len() == shape.len()
        && stops.len() == shape.len()
        && (0..shape.len()).all(|d| starts[d] <= stops[d] && stops[d] <= shape[d]);
    if !in_range {
        return Err(ErrorKind::OutOfRange);
    }
    let extents: Vec<u64> = (0..shape.len()).map(|d| stops[d] - starts[d]).collect();
    let count: u64 = extents.iter().product();
    let source = |o: u64| {
        let (mut rest, mut flat, mut scale) = (o, 0, 1);
        for d in (0..shape.len()).rev() {
            flat += (starts[d] + rest % extents[d]) * scale;
            rest /= extents[d];
            scale *= shape[d];
        }
        flat
    };
    let (b, bb) = (dtype.block_elems(), dtype.block_bytes() as usize);
    if count % b != 0 {
        return Err(ErrorKind::Unsupported);
    }
    let mut out = Vec::new();
    for first in (0..count).step_by(b as usize) {
        let f = source(first);
        if f % b != 0 || (1..b).any(|j| source(first + j) != f + j) {
            return Err(ErrorKind::Unsupported);
        }
        let at = (f / b) as usize * bb;
        out.extend_from_slice(&bytes[at..at + bb]);
    }
    Ok(out)
}

fn check_slice(f: &TensorFile<'_>, starts: &[u64], stops: &[u64], want: &Want) {
    let cap = want.as_ref().map_or(64, Vec::len);
    let mut dst = vec![0xA5u8; cap + 3];
    let got = f.read_slice("t", starts, stops, &mut dst);
    match (want, got) {
        (Ok(w), Ok(n)) => {
            assert_eq!(n, w.len(), "{starts:?}..{stops:?}");
            assert!(dst[..n] == w[..], "{starts:?}..{stops:?}: wrong bytes");
            assert!(dst[n..].iter().all(|&x| x == 0xA5), "wrote past the slice");
            assert_eq!(f.slice_size("t", starts, stops).ok(), Some(n));
        }
        (Err(k), Err(e)) => {
            assert_eq!(*k, e.kind(), "{starts:?}..{stops:?}: {e}");
            assert!(dst.iter().all(|&x| x == 0xA5), "wrote on error: {e}");
        }
        (w, g) => panic!(
            "{starts:?}..{stops:?}: want {:?}, got {g:?}",
            w.as_ref().map(Vec::len)
        ),
    }
}

/// The box's outer range `[a, b)` with the rest whole, and what
/// `get_rows(a, b)` must give (`None`: no outer range to take).
fn rows_wanted(
    dtype: DType,
    shape: &[u64],
    bytes: &[u8],
    starts: &[u64],
    stops: &[u64],
) -> Option<(u64, u64, Want)> {
    if shape.is_empty() {
        return Some((0, 0, Err(ErrorKind::OutOfRange))); // a scalar has no rows
    }
    let (&a, &b) = (starts.first()?, stops.first()?);
    let mut lo = vec![0; shape.len()];
    let mut hi = shape.to_vec();
    (lo[0], hi[0]) = (a, b);
    let want = if a == b && b <= shape[0] {
        Ok(Vec::new()) // empty rows are always a valid, empty view
    } else {
        naive(dtype, shape, bytes, &lo, &hi)
    };
    Some((a, b, want))
}

fn check_rows(f: &TensorFile<'_>, shape: &[u64], a: u64, b: u64, want: &Want) {
    match (want, f.get_rows("t", a, b)) {
        (Ok(w), Ok(v)) => {
            assert!(v.data() == &w[..], "rows {a}..{b}: wrong bytes");
            assert_eq!(v.shape()[0], b - a);
            assert_eq!(&v.shape()[1..], &shape[1..]);
        }
        (Err(k), Err(e)) => assert_eq!(*k, e.kind(), "rows {a}..{b}: {e}"),
        (w, g) => panic!(
            "rows {a}..{b}: want {:?}, got {:?}",
            w.as_ref().map(Vec::len),
            g.err()
        ),
    }
}
