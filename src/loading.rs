//! Reading tensors into caller memory (one, or many at once) and per-tensor
//! hints (prefetch, release, lock), whatever the backend.

use crate::error::{Error, ErrorKind, Result};
use crate::io::{read_segments, BatchOptions, ReadRequest, Segment, Store};
use crate::reader::TensorFile;

/// What a hint applies to.
#[derive(Clone, Copy)]
enum Hint {
    Prefetch,
    Release,
    Lock,
    Unlock,
}

impl<'a> TensorFile<'a> {
    /// Copies the bytes of the tensor called `name` into the front of `dst`
    /// and returns how many that is (its byte size). `dst` smaller than the
    /// tensor: `InvalidArgument`, nothing written. With the `read`/`direct`
    /// backends the bytes go straight from the file to `dst` (O_DIRECT when
    /// `dst` and the tensor's offset are 4096-aligned), without passing
    /// through the handle's memory.
    pub fn read_tensor(&self, name: &str, dst: &mut [u8]) -> Result<usize> {
        let (file, t) = self.owner_of(name)?;
        let size = t.data().len();
        let dst = sized(dst, size, &t.display_name())?;
        file.store
            .read_into(t.file_offset(), dst)
            .map_err(|e| file.tag(e.for_tensor(&t.display_name())))?;
        Ok(size)
    }

    /// Reads many tensors at once: each `(name, dst)` gets the tensor's
    /// bytes at the front of `dst` (which must hold them). Large tensors
    /// are split into `opts.chunk_size` reads spread over `opts.threads`
    /// threads; tensors adjacent in the file are read with one vectored
    /// read. On error some destinations may hold partial data.
    pub fn read_tensors(&self, reqs: &mut [(&str, &mut [u8])], opts: &BatchOptions) -> Result<()> {
        // Grouped by the file (shard) holding each tensor.
        let mut groups: Vec<(&TensorFile<'a>, Vec<Segment>)> = Vec::new();
        for (name, dst) in reqs.iter_mut() {
            let (file, t) = self.owner_of(name)?;
            let dst = sized(dst, t.data().len(), &t.display_name())?;
            let seg = Segment::of(&mut ReadRequest {
                offset: t.file_offset(),
                dst,
            });
            match groups.iter_mut().find(|(f, _)| std::ptr::eq(*f, file)) {
                Some((_, segs)) => segs.push(seg),
                None => groups.push((file, vec![seg])),
            }
        }
        for (file, segs) in groups {
            read_segments(&file.store, segs, opts).map_err(|e| file.tag(e))?;
        }
        Ok(())
    }

    /// Reads byte ranges of the file (absolute offsets) into caller
    /// buffers, as [`TensorFile::read_tensors`] does. Every range must lie
    /// inside the file; a shard set has no single byte range (`Unsupported`).
    pub fn read_ranges(&self, reqs: &mut [ReadRequest<'_>], opts: &BatchOptions) -> Result<()> {
        if !self.shards().is_empty() {
            return Err(self.tag(Error::new(
                ErrorKind::Unsupported,
                "a shard set has one byte range per shard: read tensors by name",
            )));
        }
        let len = self.store.bytes().len() as u64;
        let mut segs = Vec::with_capacity(reqs.len());
        for r in reqs.iter_mut() {
            let end = r.offset.checked_add(r.dst.len() as u64);
            if end.is_none_or(|end| end > len) {
                return Err(self.tag(Error::new(
                    ErrorKind::OutOfRange,
                    format!(
                        "range [{}, +{}) lies outside the file ({len} bytes)",
                        r.offset,
                        r.dst.len()
                    ),
                )));
            }
            segs.push(Segment::of(r));
        }
        read_segments(&self.store, segs, opts).map_err(|e| self.tag(e))
    }

    /// Asks the kernel to start reading a tensor (`Some(name)`) or all
    /// tensors (`None`) in the background; returns at once. With `mmap`, a
    /// background thread populates the pages of ranges of 1 MiB or more
    /// (`MADV_POPULATE_READ`; `MADV_WILLNEED` on kernels before 5.14); the
    /// handle cancels and joins it at close (waiting for at most one 8 MiB
    /// step), so no thread outlives the mapping.
    pub fn prefetch(&self, name: Option<&str>) -> Result<()> {
        self.hint(name, Hint::Prefetch)
    }

    /// Drops a tensor's (or all tensors') pages from this process's memory
    /// and the page cache, e.g. once uploaded to a GPU. With `mmap`, views
    /// stay valid: their pages are read back from the file when touched.
    /// The `read`/`direct` backends keep the copies views point to until
    /// close (only the page cache is dropped).
    pub fn release(&self, name: Option<&str>) -> Result<()> {
        self.hint(name, Hint::Release)
    }

    /// Locks a tensor's (or all tensors') pages in memory (mlock); the
    /// error names RLIMIT_MEMLOCK when the limit refuses.
    pub fn lock(&self, name: Option<&str>) -> Result<()> {
        self.hint(name, Hint::Lock)
    }

    /// Undoes [`TensorFile::lock`].
    pub fn unlock(&self, name: Option<&str>) -> Result<()> {
        self.hint(name, Hint::Unlock)
    }

    fn hint(&self, name: Option<&str>, hint: Hint) -> Result<()> {
        match name {
            Some(name) => {
                let (file, t) = self.owner_of(name)?;
                let len = t.data().len() as u64;
                apply(&file.store, hint, t.file_offset(), len)
                    .map_err(|e| file.tag(e.for_tensor(&t.display_name())))
            }
            None if !self.shards().is_empty() => {
                self.shards().iter().try_for_each(|f| f.hint(None, hint))
            }
            None => {
                let (start, end) = self.data_range();
                apply(&self.store, hint, start, end - start).map_err(|e| self.tag(e))
            }
        }
    }
}

fn apply(store: &Store<'_>, hint: Hint, offset: u64, len: u64) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    match hint {
        Hint::Prefetch => store.prefetch(offset, len),
        Hint::Release => store.release(offset, len),
        Hint::Lock => store.lock(offset, len),
        Hint::Unlock => store.unlock(offset, len),
    }
}

/// The first `size` bytes of `dst`, or an error when it is smaller.
fn sized<'d>(dst: &'d mut [u8], size: usize, tensor: &str) -> Result<&'d mut [u8]> {
    let cap = dst.len();
    dst.get_mut(..size).ok_or_else(|| {
        Error::invalid(format!(
            "destination holds {cap} bytes but the tensor has {size}"
        ))
        .for_tensor(tensor)
    })
}
