//! The streaming writer. Tensor bytes go to disk as they are added, so
//! memory stays O(index) whatever the size of the model.
//!
//! The format puts the index before the data, but the index is only known at
//! the end. The writer therefore leaves a reserved prefix in front of the
//! data. When the final header, metadata, index and names fit in it (always,
//! when the caller reserves from known counts, as `convert` does), they are
//! written into it and nothing moves. Otherwise the data is copied once
//! behind a larger prefix into a second temporary file, with the kernel's
//! file-to-file copy (`std::io::copy` uses `copy_file_range` on Linux), never
//! through the writer's memory.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::atomic::AtomicFile;
use crate::dtype::DType;
use crate::entries::{write_index, EntryOut};
use crate::error::{Error, ErrorKind, Result};
use crate::format::{self, hdr, Layout};
use crate::tensor::Tensor;

/// Options of a [`Writer`]. The reservations are hints: too small costs one
/// extra copy of the data at `finish`, too large leaves zero padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterOptions {
    /// Per-tensor alignment: a power of two from 64 to 65536 (4096 gives
    /// page-aligned tensors for O_DIRECT and DMA).
    pub alignment: u64,
    /// Expected number of tensors.
    pub reserve_tensors: u64,
    /// Expected total bytes of tensor names.
    pub reserve_name_bytes: u64,
    /// Expected bytes of JSON metadata.
    pub reserve_metadata_bytes: u64,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            alignment: format::DEFAULT_ALIGNMENT,
            reserve_tensors: 16,
            reserve_name_bytes: 1024,
            reserve_metadata_bytes: 1024,
        }
    }
}

struct Pending {
    hash: u64,
    name_offset: u32,
    name_len: u32,
    dtype: DType,
    ndim: u8,
    shape: [u64; format::MAX_DIMS],
    offset: u64,
    size: u64,
    /// `None` for a reserved tensor until `finish` reads its bytes.
    checksum: Option<u64>,
}

/// A shape as the fixed array of an index entry.
pub(crate) fn dims_of(shape: &[u64]) -> [u64; format::MAX_DIMS] {
    let mut dims = [0u64; format::MAX_DIMS];
    dims[..shape.len()].copy_from_slice(shape);
    dims
}

/// Checks metadata given to a writer: a JSON object of at most 4 GiB.
pub(crate) fn check_metadata_json(json: &str) -> Result<()> {
    let v: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| Error::invalid(format!("metadata is not valid JSON: {e}")))?;
    if !v.is_object() {
        return Err(Error::invalid("metadata must be a JSON object"));
    }
    if json.len() > u32::MAX as usize {
        return Err(Error::invalid("metadata is larger than 4 GiB"));
    }
    Ok(())
}

/// Checks a tensor's name and shape; returns its byte size.
pub(crate) fn check_tensor(name: &str, dtype: DType, shape: &[u64]) -> Result<u64> {
    format::check_name(name).map_err(Error::invalid)?;
    if shape.len() > format::MAX_DIMS {
        return Err(Error::invalid(format!(
            "rank {} exceeds the maximum of 8",
            shape.len()
        )));
    }
    format::numel(shape)
        .and_then(|n| dtype.byte_size(n))
        .ok_or_else(|| {
            Error::invalid(format!(
                "shape {shape:?} overflows or is not a whole number of {dtype} blocks"
            ))
        })
}

/// The view of a tensor not yet in a committed index.
fn pending_tensor<'a>(
    p: &Pending,
    names: &'a [u8],
    data: &'a [u8],
    at: u64,
    pos: usize,
) -> Tensor<'a> {
    let name = &names[p.name_offset as usize..(p.name_offset + p.name_len) as usize];
    Tensor {
        // Added names were checked as &str and are followed by a NUL.
        name: std::str::from_utf8(name).ok(),
        name_hash: p.hash,
        dtype: p.dtype,
        ndim: p.ndim,
        shape: p.shape,
        data,
        offset: at,
        checksum: p.checksum,
        position: pos,
    }
}

/// Produces a tensor's bytes in pieces for [`Writer::add_tensor_streamed`].
pub(crate) type Fill<'f> = &'f mut dyn FnMut(&mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()>;

/// Writes a .tenzor file tensor by tensor; see the module docs.
///
/// Nothing appears at the destination until [`Writer::finish`] succeeds; a
/// writer dropped before that removes its temporary file and leaves an
/// existing destination untouched.
pub struct Writer {
    out: AtomicFile,
    data: crate::io::WriteBehind,
    opts: WriterOptions,
    prefix: u64,
    data_len: u64,
    entries: Vec<Pending>,
    names: Vec<u8>,
    by_hash: HashMap<u64, Vec<u32>>,
    metadata: String,
    /// Mappings of reserved tensors and of tensors read back, by entry.
    maps: HashMap<u32, memmap2::MmapMut>,
}

impl Writer {
    /// Starts writing `path` (through a temporary file beside it).
    pub fn create(path: impl AsRef<Path>, opts: WriterOptions) -> Result<Writer> {
        let path = path.as_ref();
        if !format::valid_alignment(opts.alignment) {
            return Err(Error::invalid(format!(
                "alignment {} is not a power of two between 64 and 65536",
                opts.alignment
            ))
            .in_file(path));
        }
        let prefix = Layout::new(
            opts.reserve_metadata_bytes,
            opts.reserve_tensors,
            opts.reserve_name_bytes.saturating_add(opts.reserve_tensors),
            opts.alignment,
        )
        .ok_or_else(|| Error::invalid("reservations overflow").in_file(path))?
        .min_data_offset;
        let mut out = AtomicFile::create(path)?;
        let mut data = out.buffered()?;
        data.seek(SeekFrom::Start(prefix))
            .map_err(|e| Error::io(path, "cannot seek", e))?;
        Ok(Writer {
            out,
            data,
            opts,
            prefix,
            data_len: 0,
            entries: Vec::with_capacity(opts.reserve_tensors.min(1 << 20) as usize),
            names: Vec::new(),
            by_hash: HashMap::new(),
            metadata: String::new(),
            maps: HashMap::new(),
        })
    }

    /// Number of tensors added so far.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True before the first tensor is added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sets the JSON metadata; it must be a JSON object. Its text is stored
    /// exactly as given.
    pub fn set_metadata(&mut self, json: &str) -> Result<()> {
        check_metadata_json(json).map_err(|e| e.in_file(self.out.dest()))?;
        self.metadata = json.to_string();
        Ok(())
    }

    /// Validates one tensor and writes its bytes now.
    pub fn add_tensor(
        &mut self,
        name: &str,
        dtype: DType,
        shape: &[u64],
        data: &[u8],
    ) -> Result<()> {
        self.add_tensor_streamed(name, dtype, shape, data.len() as u64, &mut |put| put(data))
    }

    /// [`Writer::add_tensor`] for `len` bytes that `fill` produces in
    /// pieces: it is called once, with a function to hand each piece to, in
    /// order (the checksum is computed as they pass, so no piece needs to
    /// stay in memory). After an error the writer must be dropped.
    pub(crate) fn add_tensor_streamed(
        &mut self,
        name: &str,
        dtype: DType,
        shape: &[u64],
        len: u64,
        fill: Fill<'_>,
    ) -> Result<()> {
        let (offset, size) = self.place(name, dtype, shape)?;
        let dest = self.out.dest().to_path_buf();
        if size != len {
            return Err(Error::invalid(format!(
                "{len} data bytes given, shape {shape:?} of {dtype} needs {size}"
            ))
            .for_tensor(name)
            .in_file(&dest));
        }
        let io = |e| Error::io(&dest, "cannot write tensor data", e).for_tensor(name);
        let pad = (offset - self.data_len) as usize;
        self.data
            .write_all(&[0u8; format::MAX_ALIGNMENT as usize][..pad])
            .map_err(io)?;
        let (data, mut hash, mut written) = (&mut self.data, format::Checksum::new(), 0u64);
        fill(&mut |piece| {
            data.write_all(piece).map_err(io)?;
            hash.update(piece);
            written += piece.len() as u64;
            Ok(())
        })?;
        if written != size {
            return Err(Error::new(
                ErrorKind::Io,
                format!("{written} data bytes produced, {size} expected (the source changed?)"),
            )
            .for_tensor(name)
            .in_file(&dest));
        }
        self.push(name, dtype, shape, offset, size, Some(hash.digest()));
        Ok(())
    }

    /// Adds a tensor whose bytes the caller fills in place: the returned
    /// slice is a shared writable mapping of the tensor's range inside the
    /// output file (zero-filled, no intermediate buffer). Its checksum is
    /// computed at [`Writer::finish`]. The borrow ends at the next call on
    /// the writer; the mapping itself stays valid until `finish` or drop,
    /// so [`Writer::get`] reads the bytes back (and C callers may keep the
    /// pointer until `tenzor_writer_finish` or `tenzor_writer_abort`).
    pub fn reserve(&mut self, name: &str, dtype: DType, shape: &[u64]) -> Result<&mut [u8]> {
        let (offset, size) = self.place(name, dtype, shape)?;
        let dest = self.out.dest().to_path_buf();
        let start = self.prefix + offset;
        let io = |what: &'static str| {
            let dest = dest.clone();
            move |e| Error::io(&dest, what, e).for_tensor(name)
        };
        // Seeking flushes the buffered stream; growing the file first makes
        // the range mappable (a sparse hole until the caller writes to it).
        self.data
            .seek(SeekFrom::Start(start + size))
            .map_err(io("cannot seek"))?;
        self.out
            .file()
            .set_len(start + size)
            .map_err(io("cannot grow the file"))?;
        let map = crate::append::map_rw(self.out.file(), start, size).map_err(io("cannot map"))?;
        self.push(name, dtype, shape, offset, size, None);
        self.maps.insert(self.entries.len() as u32 - 1, map);
        let map = self.maps.get_mut(&(self.entries.len() as u32 - 1));
        Ok(map.map_or(&mut [], |m| m.as_mut()))
    }

    /// A tensor added to this unfinished writer, read back by name from the
    /// output file (`None` if no tensor of that name was added). The view
    /// borrows the writer; C callers may keep its pointer until `finish` or
    /// `abort`. A reserved tensor's checksum is `None` until `finish`.
    pub fn get(&mut self, name: &str) -> Result<Option<Tensor<'_>>> {
        let Some(i) = self.name_index(format::fnv1a(name.as_bytes()), name) else {
            return Ok(None);
        };
        let p = &self.entries[i as usize];
        let (start, size) = (self.prefix + p.offset, p.size);
        if !self.maps.contains_key(&i) {
            let dest = self.out.dest().to_path_buf();
            self.data
                .flush()
                .map_err(|e| Error::io(&dest, "cannot write tensor data", e))?;
            let map = crate::append::map_rw(self.out.file(), start, size)
                .map_err(|e| Error::io(&dest, "cannot map", e).for_tensor(name))?;
            self.maps.insert(i, map);
        }
        let p = &self.entries[i as usize];
        let data = self.maps.get(&i).map_or(&[][..], |m| &m[..]);
        Ok(Some(pending_tensor(
            p,
            &self.names,
            data,
            start,
            i as usize,
        )))
    }

    /// Checks a new tensor's name, shape and size, and where it will go:
    /// returns its offset (relative to the data section) and byte size.
    fn place(&self, name: &str, dtype: DType, shape: &[u64]) -> Result<(u64, u64)> {
        let err = |e: Error| e.for_tensor(name).in_file(self.out.dest());
        let size = check_tensor(name, dtype, shape).map_err(err)?;
        if self
            .name_index(format::fnv1a(name.as_bytes()), name)
            .is_some()
        {
            return Err(err(Error::new(
                ErrorKind::DuplicateName,
                "a tensor of this name was already added",
            )));
        }
        if self.entries.len() >= u32::MAX as usize {
            return Err(err(Error::invalid(
                "too many tensors (the format holds 2^32 - 1)",
            )));
        }
        if self.names.len() + name.len() + 1 > u32::MAX as usize {
            return Err(err(Error::invalid("tensor names exceed 4 GiB in total")));
        }
        let offset = format::align_up(self.data_len, self.opts.alignment)
            .filter(|o| o.checked_add(size).is_some_and(|e| e <= i64::MAX as u64))
            .ok_or_else(|| err(Error::invalid("file size overflows")))?;
        Ok((offset, size))
    }

    /// Records a tensor whose bytes are (or will be) at `offset`.
    fn push(
        &mut self,
        name: &str,
        dtype: DType,
        shape: &[u64],
        offset: u64,
        size: u64,
        checksum: Option<u64>,
    ) {
        self.data_len = offset + size;
        let name_offset = self.names.len() as u32;
        self.names.extend_from_slice(name.as_bytes());
        self.names.push(0);
        let hash = format::fnv1a(name.as_bytes());
        self.by_hash
            .entry(hash)
            .or_default()
            .push(self.entries.len() as u32);
        self.entries.push(Pending {
            hash,
            name_offset,
            name_len: name.len() as u32,
            dtype,
            ndim: shape.len() as u8,
            shape: dims_of(shape),
            offset,
            size,
            checksum,
        });
    }

    fn name_of(&self, p: &Pending) -> &[u8] {
        &self.names[p.name_offset as usize..(p.name_offset + p.name_len) as usize]
    }

    fn name_index(&self, hash: u64, name: &str) -> Option<u32> {
        self.by_hash
            .get(&hash)?
            .iter()
            .copied()
            .find(|&i| self.name_of(&self.entries[i as usize]) == name.as_bytes())
    }

    /// Writes the index, names, checksums and header, syncs, and renames the
    /// file over the destination. The writer is consumed either way.
    pub fn finish(mut self) -> Result<()> {
        let dest = self.out.dest().to_path_buf();
        self.data
            .flush()
            .map_err(|e| Error::io(&dest, "cannot write tensor data", e))?;
        self.checksum_reserved()?;
        let layout = Layout::new(
            self.metadata.len() as u64,
            self.entries.len() as u64,
            self.names.len() as u64,
            self.opts.alignment,
        )
        .ok_or_else(|| Error::invalid("file size overflows").in_file(&dest))?;
        let data_offset = layout.min_data_offset.max(self.prefix);
        let region = self.build_region(&layout, data_offset);
        let io = |what: &'static str| {
            let dest = dest.clone();
            move |e| Error::io(&dest, what, e)
        };

        if data_offset == self.prefix {
            let f = self.out.file();
            f.seek(SeekFrom::Start(0)).map_err(io("cannot seek"))?;
            f.write_all(&region).map_err(io("cannot write the index"))?;
            return self.out.commit();
        }
        // The reservation was too small: move the data behind a larger prefix.
        let mut moved = AtomicFile::create(&dest)?;
        moved
            .file()
            .write_all(&region)
            .map_err(io("cannot write the index"))?;
        let src = self.out.file();
        src.seek(SeekFrom::Start(self.prefix))
            .map_err(io("cannot seek"))?;
        let copied = std::io::copy(&mut src.take(self.data_len), moved.file())
            .map_err(io("cannot copy tensor data"))?;
        if copied != self.data_len {
            return Err(Error::new(
                ErrorKind::Io,
                format!("{}: short copy of tensor data", dest.display()),
            ));
        }
        moved.commit()
    }

    /// Makes reserved tensors' bytes durable and computes their checksums.
    fn checksum_reserved(&mut self) -> Result<()> {
        for (&i, map) in &self.maps {
            let p = &mut self.entries[i as usize];
            if p.checksum.is_none() {
                map.flush()
                    .map_err(|e| Error::io(self.out.dest(), "cannot flush a reserved tensor", e))?;
                p.checksum = Some(format::checksum(map));
            }
        }
        self.maps.clear();
        Ok(())
    }

    /// Header + metadata + index + order table + names, zero-padded to
    /// `data_offset`, with the header checksum filled in.
    fn build_region(&self, layout: &Layout, data_offset: u64) -> Vec<u8> {
        let mut r = vec![0u8; data_offset as usize];
        let put32 =
            |r: &mut Vec<u8>, at: usize, v: u32| r[at..at + 4].copy_from_slice(&v.to_le_bytes());
        let put64 =
            |r: &mut Vec<u8>, at: usize, v: u64| r[at..at + 8].copy_from_slice(&v.to_le_bytes());

        r[..8].copy_from_slice(&format::MAGIC);
        put32(&mut r, hdr::VERSION, format::VERSION);
        put32(&mut r, hdr::FLAGS, 0);
        put32(&mut r, hdr::TENSOR_COUNT, self.entries.len() as u32);
        put64(&mut r, hdr::INDEX_OFFSET, layout.index_offset);
        put64(&mut r, hdr::DATA_OFFSET, data_offset);
        put32(&mut r, hdr::METADATA_SIZE, self.metadata.len() as u32);
        put32(&mut r, hdr::ALIGNMENT, self.opts.alignment as u32);
        put32(&mut r, hdr::NAMES_SIZE, self.names.len() as u32);
        r[format::HEADER_SIZE..format::HEADER_SIZE + self.metadata.len()]
            .copy_from_slice(self.metadata.as_bytes());
        let mut entries: Vec<EntryOut<'_>> = (self.entries.iter().enumerate())
            .map(|(pos, p)| EntryOut {
                name: self.name_of(p),
                hash: p.hash,
                dtype: p.dtype,
                ndim: p.ndim,
                shape: p.shape,
                offset: p.offset,
                size: p.size,
                checksum: p.checksum.unwrap_or(0),
                position: pos as u32,
            })
            .collect();
        write_index(
            &mut r,
            layout.index_offset as usize,
            layout.order_offset as usize,
            layout.names_offset as usize,
            &mut entries,
        );
        let sum = format::header_region_checksum(&r);
        put64(&mut r, hdr::CHECKSUM, sum);
        r
    }
}
