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
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::atomic::AtomicFile;
use crate::dtype::DType;
use crate::error::{Error, ErrorKind, Result};
use crate::format::{self, ent, hdr, Layout};

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
    checksum: u64,
}

/// Writes a .tenzor file tensor by tensor; see the module docs.
///
/// Nothing appears at the destination until [`Writer::finish`] succeeds; a
/// writer dropped before that removes its temporary file and leaves an
/// existing destination untouched.
pub struct Writer {
    out: AtomicFile,
    data: BufWriter<std::fs::File>,
    opts: WriterOptions,
    prefix: u64,
    data_len: u64,
    entries: Vec<Pending>,
    names: Vec<u8>,
    by_hash: HashMap<u64, Vec<u32>>,
    metadata: String,
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
        let v: serde_json::Value = serde_json::from_str(json).map_err(|e| {
            Error::invalid(format!("metadata is not valid JSON: {e}")).in_file(self.out.dest())
        })?;
        if !v.is_object() {
            return Err(Error::invalid("metadata must be a JSON object").in_file(self.out.dest()));
        }
        if json.len() > u32::MAX as usize {
            return Err(Error::invalid("metadata is larger than 4 GiB").in_file(self.out.dest()));
        }
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
        let err = |e: Error| e.for_tensor(name).in_file(self.out.dest());
        format::check_name(name).map_err(|m| err(Error::invalid(m)))?;
        let hash = format::fnv1a(name.as_bytes());
        if self.name_index(hash, name).is_some() {
            return Err(err(Error::new(
                ErrorKind::DuplicateName,
                "a tensor of this name was already added",
            )));
        }
        if shape.len() > format::MAX_DIMS {
            return Err(err(Error::invalid(format!(
                "rank {} exceeds the maximum of 8",
                shape.len()
            ))));
        }
        let expect = format::numel(shape)
            .and_then(|n| dtype.byte_size(n))
            .ok_or_else(|| {
                err(Error::invalid(format!(
                    "shape {shape:?} overflows or is not a whole number of {dtype} blocks"
                )))
            })?;
        if expect != data.len() as u64 {
            return Err(err(Error::invalid(format!(
                "{} data bytes given, shape {shape:?} of {dtype} needs {expect}",
                data.len()
            ))));
        }
        if self.entries.len() >= u32::MAX as usize {
            return Err(err(Error::invalid(
                "too many tensors (the format holds 2^32 - 1)",
            )));
        }
        let name_offset = self.names.len();
        if name_offset + name.len() + 1 > u32::MAX as usize {
            return Err(err(Error::invalid("tensor names exceed 4 GiB in total")));
        }
        let offset = format::align_up(self.data_len, self.opts.alignment)
            .filter(|o| o.checked_add(expect).is_some())
            .ok_or_else(|| err(Error::invalid("file size overflows")))?;
        let pad = (offset - self.data_len) as usize;
        let dest = self.out.dest().to_path_buf();
        self.data
            .write_all(&[0u8; format::MAX_ALIGNMENT as usize][..pad])
            .and_then(|_| self.data.write_all(data))
            .map_err(|e| Error::io(&dest, "cannot write tensor data", e).for_tensor(name))?;
        self.data_len = offset + expect;

        self.names.extend_from_slice(name.as_bytes());
        self.names.push(0);
        let mut dims = [0u64; format::MAX_DIMS];
        dims[..shape.len()].copy_from_slice(shape);
        self.by_hash
            .entry(hash)
            .or_default()
            .push(self.entries.len() as u32);
        self.entries.push(Pending {
            hash,
            name_offset: name_offset as u32,
            name_len: name.len() as u32,
            dtype,
            ndim: shape.len() as u8,
            shape: dims,
            offset,
            size: expect,
            checksum: format::checksum(data),
        });
        Ok(())
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

        // Index order: sorted by (hash, name); positions are insertion order.
        let mut sorted: Vec<u32> = (0..self.entries.len() as u32).collect();
        sorted.sort_unstable_by(|&a, &b| {
            let (a, b) = (&self.entries[a as usize], &self.entries[b as usize]);
            (a.hash, self.name_of(a)).cmp(&(b.hash, self.name_of(b)))
        });
        // Names go in index order too, so validating them at open reads
        // the name table front to back.
        let mut name_at = layout.names_offset as usize;
        for (slot, &pos) in sorted.iter().enumerate() {
            let p = &self.entries[pos as usize];
            let at = layout.index_offset as usize + slot * format::ENTRY_SIZE;
            put64(&mut r, at + ent::NAME_HASH, p.hash);
            put32(
                &mut r,
                at + ent::NAME_OFFSET,
                (name_at - layout.names_offset as usize) as u32,
            );
            let name = self.name_of(p);
            r[name_at..name_at + name.len()].copy_from_slice(name);
            name_at += name.len() + 1;
            put32(&mut r, at + ent::NAME_LEN, p.name_len);
            r[at + ent::DTYPE..at + ent::DTYPE + 2]
                .copy_from_slice(&(p.dtype as u16).to_le_bytes());
            r[at + ent::NDIM] = p.ndim;
            put32(&mut r, at + ent::POSITION, pos);
            for (d, &s) in p.shape.iter().enumerate() {
                put64(&mut r, at + ent::SHAPE + 8 * d, s);
            }
            put64(&mut r, at + ent::DATA_OFFSET, p.offset);
            put64(&mut r, at + ent::DATA_SIZE, p.size);
            put64(&mut r, at + ent::CHECKSUM, p.checksum);
            put32(
                &mut r,
                layout.order_offset as usize + 4 * pos as usize,
                slot as u32,
            );
        }
        let sum = format::header_region_checksum(&r);
        put64(&mut r, hdr::CHECKSUM, sum);
        r
    }
}
