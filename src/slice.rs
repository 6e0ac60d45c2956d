//! Slices of one tensor: a zero-copy view of rows `[start, stop)` of the
//! outermost dimension ([`TensorFile::get_rows`], for tensor-parallel ranks
//! that map only their part), and a copying read of any hyper-rectangle
//! into caller memory ([`TensorFile::read_slice`], for column-parallel
//! splits).
//!
//! Block types (GGML quants, and the sub-byte F4/F6 types, which pack 2 or
//! 4 elements into whole bytes) can only be cut between blocks: a slice
//! whose bytes would begin or end inside a block is refused with
//! [`ErrorKind::Unsupported`], naming the block size.

use crate::dtype::DType;
use crate::error::{Error, ErrorKind, Result};
use crate::format::MAX_DIMS;
use crate::io::{gather, Run};
use crate::reader::TensorFile;
use crate::tensor::Tensor;

impl<'a> TensorFile<'a> {
    /// A view of rows `[start, stop)` of the outermost dimension of the
    /// tensor called `name`: its shape is the tensor's with the first
    /// dimension `stop - start`, its data the sub-slice of the tensor's
    /// bytes holding those rows, its checksum `None` (the stored checksum
    /// covers the whole tensor). Nothing is copied: with `mmap` the view
    /// points into the mapping; with the `read`/`direct` backends only the
    /// pages holding those rows are read into the handle's memory (whole
    /// 4096-byte pages, so up to one page of neighbouring bytes either
    /// side), not the rest of the tensor.
    ///
    /// Errors ([`ErrorKind::OutOfRange`]): a scalar has no rows,
    /// `start > stop`, `stop` past the rows. An empty range is a valid,
    /// empty view. Block types: [`ErrorKind::Unsupported`] when a cut falls
    /// inside a block.
    pub fn get_rows(&self, name: &str, start: u64, stop: u64) -> Result<Tensor<'_>> {
        let (file, t) = self.owner_of(name)?;
        let tag = |e: Error| file.tag(e.for_tensor(&t.display_name()));
        let bytes = row_bytes(&t, start, stop).map_err(tag)?;
        let mut view = t;
        view.shape[0] = stop - start;
        view.data = &t.data[bytes.clone()];
        view.offset = t.offset + bytes.start as u64;
        view.checksum = None;
        file.store
            .ensure(view.offset, view.data.len() as u64)
            .map_err(tag)?;
        Ok(view)
    }

    /// The number of bytes [`TensorFile::read_slice`] writes for this
    /// slice, after checking it as `read_slice` does (nothing is read).
    pub fn slice_size(&self, name: &str, starts: &[u64], stops: &[u64]) -> Result<usize> {
        let (file, t) = self.owner_of(name)?;
        let plan =
            Plan::new(&t, starts, stops).map_err(|e| file.tag(e.for_tensor(&t.display_name())))?;
        Ok(plan.total)
    }

    /// Copies the hyper-rectangle `starts[d] .. stops[d]` of every dimension
    /// `d` of the tensor called `name` into the front of `dst`, row-major
    /// (what numpy's `a[s0:e0, s1:e1, ...]` holds, made contiguous), and
    /// returns the bytes written. `starts` and `stops` have one entry per
    /// dimension (none for a scalar, which is copied whole).
    ///
    /// Trailing dimensions taken whole join the run before them, so each
    /// contiguous run of the file is one copy (`mmap`: `memcpy` from the
    /// mapping) or one positioned read (`read`/`direct`: nothing is kept in
    /// the handle's memory, and only the runs are read, short runs close
    /// together sharing one read of the span between them).
    ///
    /// Errors: [`ErrorKind::OutOfRange`] for a rank mismatch, a start past
    /// its stop, a stop past its dimension; [`ErrorKind::InvalidArgument`]
    /// when `dst` is smaller than the slice (nothing written);
    /// [`ErrorKind::Unsupported`] when a run would cut a block of a block
    /// type. Empty ranges are valid and write nothing.
    pub fn read_slice(
        &self,
        name: &str,
        starts: &[u64],
        stops: &[u64],
        dst: &mut [u8],
    ) -> Result<usize> {
        let (file, t) = self.owner_of(name)?;
        let tag = |e: Error| file.tag(e.for_tensor(&t.display_name()));
        let plan = Plan::new(&t, starts, stops).map_err(tag)?;
        let cap = dst.len();
        let dst = dst.get_mut(..plan.total).ok_or_else(|| {
            tag(Error::invalid(format!(
                "destination holds {cap} bytes but the slice has {}",
                plan.total
            )))
        })?;
        if plan.total > 0 {
            let span = (t.offset, t.offset + t.data.len() as u64);
            gather(&file.store, span, plan.runs(t.offset), dst).map_err(tag)?;
        }
        Ok(plan.total)
    }
}

/// The byte range of rows `[start, stop)` within a tensor's data.
fn row_bytes(t: &Tensor<'_>, start: u64, stop: u64) -> Result<std::ops::Range<usize>> {
    let Some(&rows) = t.shape().first() else {
        return Err(Error::new(
            ErrorKind::OutOfRange,
            "a scalar (rank 0) has no rows to slice",
        ));
    };
    if start > stop || stop > rows {
        return Err(Error::new(
            ErrorKind::OutOfRange,
            format!("rows [{start}, {stop}) are not a range within its {rows} rows"),
        ));
    }
    if rows == 0 {
        return Ok(0..0);
    }
    let row = t.numel() / rows;
    let (b, bytes) = (t.dtype.block_elems(), t.dtype.block_bytes());
    if start < stop {
        for cut in [start, stop] {
            if cut * row % b != 0 {
                let every = b / gcd(row, b);
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!(
                        "row {cut} begins inside a block: {} {}; with {row} elements a row, \
                         cut at multiples of {every} rows",
                        t.dtype,
                        block_text(t.dtype)
                    ),
                ));
            }
        }
    }
    // Empty ranges point at the block holding `start`; `start * row` is at
    // most numel, checked at open.
    let at = |r: u64| (r * row / b * bytes) as usize;
    Ok(at(start)..at(stop).max(at(start)))
}

/// "stores blocks of 32 elements in 18 bytes", for messages.
fn block_text(d: DType) -> String {
    format!(
        "stores blocks of {} elements in {} bytes",
        d.block_elems(),
        d.block_bytes()
    )
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// How a hyper-rectangle maps to runs of the file: one run of `run` bytes
/// at every index of the outer dimensions that step (`dims`: extent and
/// byte stride, outermost first), starting `base` bytes into the data.
#[derive(Debug, Clone, Copy)]
struct Plan {
    base: u64,
    run: usize,
    dims: [(u64, u64); MAX_DIMS],
    ndims: usize,
    total: usize,
}

impl Plan {
    fn new(t: &Tensor<'_>, starts: &[u64], stops: &[u64]) -> Result<Plan> {
        let shape = t.shape();
        check_rank(shape, starts, stops)?;
        check_bounds(shape, starts, stops)?;
        let mut plan = Plan {
            base: 0,
            run: 0,
            dims: [(0, 0); MAX_DIMS],
            ndims: 0,
            total: 0,
        };
        if starts.iter().zip(stops).any(|(a, b)| a == b) {
            return Ok(plan);
        }
        // Every dimension is now non-empty, so every product below is at
        // most numel (checked at open): no overflow.
        let strides = strides(shape);
        // `k`: the innermost dimension not taken whole; those inside it
        // join its run.
        let k = (0..shape.len())
            .rev()
            .find(|&d| stops[d] - starts[d] != shape[d])
            .unwrap_or(0);
        let run = if shape.is_empty() {
            1
        } else {
            (stops[k] - starts[k]) * strides[k]
        };
        let base: u64 = (0..shape.len()).map(|d| starts[d] * strides[d]).sum();
        let stepping: Vec<usize> = (0..k).filter(|&d| stops[d] - starts[d] > 1).collect();
        check_blocks(
            t.dtype,
            base,
            run,
            stepping.iter().map(|&d| (d, strides[d])),
        )?;
        let (b, bytes) = (t.dtype.block_elems(), t.dtype.block_bytes());
        let to_bytes = |elems: u64| elems / b * bytes;
        for &d in &stepping {
            plan.dims[plan.ndims] = (stops[d] - starts[d], to_bytes(strides[d]));
            plan.ndims += 1;
        }
        plan.base = to_bytes(base);
        plan.run = to_bytes(run) as usize;
        let count: u64 = plan.dims[..plan.ndims].iter().map(|d| d.0).product();
        plan.total = (count * to_bytes(run)) as usize;
        Ok(plan)
    }

    /// The runs, in file order, for a tensor whose data starts at `offset`.
    fn runs(&self, offset: u64) -> Runs {
        Runs {
            plan: *self,
            index: [0; MAX_DIMS],
            src: offset + self.base,
            at: 0,
            done: self.total == 0,
        }
    }
}

/// Element strides of each dimension (row-major).
fn strides(shape: &[u64]) -> Vec<u64> {
    let mut s = vec![1u64; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

/// One start and one stop per dimension.
fn check_rank(shape: &[u64], starts: &[u64], stops: &[u64]) -> Result<()> {
    if starts.len() != shape.len() || stops.len() != shape.len() {
        return Err(Error::new(
            ErrorKind::OutOfRange,
            format!(
                "the slice has {} starts and {} stops but the tensor has {} dimensions {shape:?}",
                starts.len(),
                stops.len(),
                shape.len()
            ),
        ));
    }
    Ok(())
}

/// `start <= stop <= size` in every dimension.
fn check_bounds(shape: &[u64], starts: &[u64], stops: &[u64]) -> Result<()> {
    for (d, ((&a, &b), &n)) in starts.iter().zip(stops).zip(shape).enumerate() {
        if a > b || b > n {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("dimension {d}: [{a}, {b}) is not a range within its size {n}"),
            ));
        }
    }
    Ok(())
}

/// Every run must begin and end on a block boundary: the first run's start
/// and length, and the stride of every dimension that steps (runs differ by
/// sums of those), must be whole blocks.
fn check_blocks(
    dtype: DType,
    base: u64,
    run: u64,
    stepping: impl Iterator<Item = (usize, u64)>,
) -> Result<()> {
    let b = dtype.block_elems();
    if b == 1 {
        return Ok(());
    }
    let cut = |what: String| {
        Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "the slice would cut a block: {dtype} {} and {what}; \
                 slice the innermost dimension at multiples of {b}",
                block_text(dtype)
            ),
        ))
    };
    if base % b != 0 {
        return cut(format!("the slice starts at element {base}"));
    }
    if run % b != 0 {
        return cut(format!("each contiguous run holds {run} elements"));
    }
    for (d, stride) in stepping {
        if stride % b != 0 {
            return cut(format!("a step in dimension {d} is {stride} elements"));
        }
    }
    Ok(())
}

/// The runs of a [`Plan`]: an odometer over its stepping dimensions.
#[derive(Clone, Copy)]
struct Runs {
    plan: Plan,
    index: [u64; MAX_DIMS],
    src: u64,
    at: usize,
    done: bool,
}

impl Iterator for Runs {
    type Item = Run;

    fn next(&mut self) -> Option<Run> {
        if self.done {
            return None;
        }
        let run = Run {
            src: self.src,
            at: self.at,
            len: self.plan.run,
        };
        self.at += self.plan.run;
        self.done = true;
        for d in (0..self.plan.ndims).rev() {
            let (extent, stride) = self.plan.dims[d];
            self.index[d] += 1;
            self.src += stride;
            if self.index[d] < extent {
                self.done = false;
                break;
            }
            self.index[d] = 0;
            self.src -= stride * extent;
        }
        Some(run)
    }
}
