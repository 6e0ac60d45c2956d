//! The zero-copy reader: maps a file (or borrows a buffer), validates every
//! byte of its structure once, then hands out views that point into it.
//!
//! Validation reads the header, metadata, index and names, never tensor
//! data, and allocates nothing per tensor: lookups are binary searches over
//! the mapped index.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::dtype::DType;
use crate::error::{Error, ErrorKind, Result};
use crate::format::{self, ent, hdr, legacy, u16_at, u32_at, u64_at, Layout};
use crate::tensor::Tensor;

/// Which on-disk format a [`TensorFile`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// .tenzor version 2.
    Tenzor,
    /// .tenzor version 1, written by the original Zig implementation.
    TenzorLegacy,
}

impl Format {
    /// A short human name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Tenzor => "tenzor v2",
            Format::TenzorLegacy => "tenzor v1 (legacy)",
        }
    }
}

enum Backing<'a> {
    Mmap(memmap2::Mmap),
    Borrowed(&'a [u8]),
}

/// Where the regions of a validated file are (all offsets are in bounds).
#[derive(Debug, Clone, Copy)]
struct Native {
    version: u32,
    flags: u32,
    count: usize,
    index_offset: usize,
    order_offset: usize,
    names_offset: usize,
    names_size: usize,
    data_offset: usize,
    metadata_size: usize,
    alignment: u64,
    header_checksum: u64,
}

/// An open tensor file: a validated, read-only view of its bytes.
///
/// `TensorFile<'static>` owns its memory map; `TensorFile<'a>` from
/// [`TensorFile::from_bytes`] borrows the caller's buffer. It is `Send` and
/// `Sync`: many threads may look up tensors at once.
///
/// Changing or truncating a mapped file while it is open is undefined
/// behaviour (on Linux the process gets SIGBUS on access); replace files by
/// writing a new one and renaming it, as [`crate::Writer`] does.
pub struct TensorFile<'a> {
    backing: Backing<'a>,
    path: Option<PathBuf>,
    native: Native,
}

/// Summary of a file's header, for listings.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HeaderInfo {
    /// Format name.
    pub format: &'static str,
    /// Format version.
    pub version: u32,
    /// Header flags.
    pub flags: u32,
    /// Number of tensors.
    pub tensor_count: usize,
    /// Offset of the index.
    pub index_offset: u64,
    /// Offset of the data section.
    pub data_offset: u64,
    /// Bytes of JSON metadata.
    pub metadata_size: u64,
    /// Per-tensor alignment (1 when tensors are not aligned).
    pub alignment: u64,
    /// Checksum of the header region (0 when the format has none).
    pub header_checksum: u64,
    /// Total file size.
    pub file_size: u64,
}

impl TensorFile<'static> {
    /// Maps `path` read-only and validates it.
    pub fn open(path: impl AsRef<Path>) -> Result<TensorFile<'static>> {
        let path = path.as_ref();
        let map = map_file(path)?;
        let native = parse(&map).map_err(|e| e.in_file(path))?;
        Ok(TensorFile {
            backing: Backing::Mmap(map),
            path: Some(path.to_path_buf()),
            native,
        })
    }
}

/// Maps a whole file read-only, refusing directories and empty files.
pub(crate) fn map_file(path: &Path) -> Result<memmap2::Mmap> {
    let file = File::open(path).map_err(|e| Error::io(path, "cannot open", e))?;
    let meta = file
        .metadata()
        .map_err(|e| Error::io(path, "cannot stat", e))?;
    if meta.is_dir() {
        return Err(Error::invalid("is a directory, not a tensor file").in_file(path));
    }
    if meta.len() == 0 {
        return Err(Error::format("file is empty (0 bytes)").in_file(path));
    }
    // SAFETY: the map is read-only; the documented contract (and the
    // writer's rename-over) is that nobody modifies a file while mapped.
    unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, "cannot memory-map", e))
}

impl<'a> TensorFile<'a> {
    /// Validates a file held in memory, borrowing it (nothing is copied).
    pub fn from_bytes(bytes: &'a [u8]) -> Result<TensorFile<'a>> {
        if bytes.is_empty() {
            return Err(Error::format("buffer is empty (0 bytes)"));
        }
        let native = parse(bytes)?;
        Ok(TensorFile {
            backing: Backing::Borrowed(bytes),
            path: None,
            native,
        })
    }

    /// All bytes of the file.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.backing {
            Backing::Mmap(m) => m,
            Backing::Borrowed(b) => b,
        }
    }

    /// The path it was opened from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Which format the file holds.
    pub fn format(&self) -> Format {
        if self.native.version == format::VERSION_LEGACY {
            Format::TenzorLegacy
        } else {
            Format::Tenzor
        }
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.native.count
    }

    /// True when the file holds no tensor.
    pub fn is_empty(&self) -> bool {
        self.native.count == 0
    }

    /// Per-tensor alignment guaranteed by the file (1 for legacy files).
    pub fn alignment(&self) -> u64 {
        self.native.alignment
    }

    /// The header, summarised.
    pub fn header(&self) -> HeaderInfo {
        let n = &self.native;
        HeaderInfo {
            format: self.format().name(),
            version: n.version,
            flags: n.flags,
            tensor_count: n.count,
            index_offset: n.index_offset as u64,
            data_offset: n.data_offset as u64,
            metadata_size: n.metadata_size as u64,
            alignment: n.alignment,
            header_checksum: n.header_checksum,
            file_size: self.as_bytes().len() as u64,
        }
    }

    /// The metadata as raw JSON text (`{}` when the file has none).
    pub fn metadata_json(&self) -> &str {
        let raw =
            &self.as_bytes()[format::HEADER_SIZE..format::HEADER_SIZE + self.native.metadata_size];
        // Validated as UTF-8 JSON at open.
        let text = std::str::from_utf8(raw).unwrap_or("{}");
        if text.trim().is_empty() {
            "{}"
        } else {
            text
        }
    }

    /// The metadata, parsed.
    pub fn metadata(&self) -> Result<serde_json::Value> {
        serde_json::from_str(self.metadata_json())
            .map_err(|e| Error::format(format!("metadata is not valid JSON: {e}")))
    }

    /// The tensor called `name`, found by binary search (no allocation).
    pub fn get(&self, name: &str) -> Option<Tensor<'_>> {
        let hash = format::fnv1a(name.as_bytes());
        if self.is_legacy() {
            // Legacy files store no names and an unsorted index.
            return (0..self.len())
                .find(|&i| self.entry_hash(i) == hash)
                .map(|i| self.tensor_at_entry(i));
        }
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let key = (self.entry_hash(mid), self.entry_name_bytes(mid));
            match key.cmp(&(hash, name.as_bytes())) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(self.tensor_at_entry(mid)),
            }
        }
        None
    }

    /// The tensor whose name hashes to `hash` (FNV-1a 64). When two names
    /// share a hash, the one whose name sorts first is returned.
    pub fn get_by_hash(&self, hash: u64) -> Option<Tensor<'_>> {
        if self.is_legacy() {
            return (0..self.len())
                .find(|&i| self.entry_hash(i) == hash)
                .map(|i| self.tensor_at_entry(i));
        }
        let i = self.lower_bound_hash(hash);
        (i < self.len() && self.entry_hash(i) == hash).then(|| self.tensor_at_entry(i))
    }

    /// The tensor at `position` in the order tensors were added.
    pub fn get_at(&self, position: usize) -> Option<Tensor<'_>> {
        (position < self.len()).then(|| self.tensor_at_entry(self.entry_of_position(position)))
    }

    /// Every tensor, in the order they were added.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Tensor<'_>> + '_ {
        (0..self.len()).map(move |p| self.tensor_at_entry(self.entry_of_position(p)))
    }

    /// Recomputes every tensor checksum (reads all data). Legacy files carry
    /// no checksums: for them this only re-checks the structure, which open
    /// already did.
    pub fn verify(&self) -> Result<()> {
        for t in self.iter() {
            self.verify_tensor(&t)?;
        }
        Ok(())
    }

    /// Recomputes one tensor's checksum.
    pub fn verify_tensor(&self, t: &Tensor<'_>) -> Result<()> {
        if let Some(stored) = t.checksum() {
            let actual = format::checksum(t.data());
            if actual != stored {
                let e = Error::new(
                    ErrorKind::Checksum,
                    format!("data checksum mismatch (stored {stored:#018x}, computed {actual:#018x}): the data is corrupted"),
                )
                .for_tensor(&t.display_name());
                return Err(match &self.path {
                    Some(p) => e.in_file(p),
                    None => e,
                });
            }
        }
        Ok(())
    }

    fn is_legacy(&self) -> bool {
        self.native.version == format::VERSION_LEGACY
    }

    fn entry(&self, i: usize) -> &[u8] {
        let size = if self.is_legacy() {
            format::LEGACY_ENTRY_SIZE
        } else {
            format::ENTRY_SIZE
        };
        let start = self.native.index_offset + i * size;
        &self.as_bytes()[start..start + size]
    }

    fn entry_hash(&self, i: usize) -> u64 {
        u64_at(self.entry(i), ent::NAME_HASH)
    }

    fn entry_name_bytes(&self, i: usize) -> &[u8] {
        let e = self.entry(i);
        let off = self.native.names_offset + u32_at(e, ent::NAME_OFFSET) as usize;
        &self.as_bytes()[off..off + u32_at(e, ent::NAME_LEN) as usize]
    }

    fn lower_bound_hash(&self, hash: u64) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.entry_hash(mid) < hash {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    fn entry_of_position(&self, p: usize) -> usize {
        if self.is_legacy() {
            p
        } else {
            u32_at(self.as_bytes(), self.native.order_offset + 4 * p) as usize
        }
    }

    fn tensor_at_entry(&self, i: usize) -> Tensor<'_> {
        let bytes = self.as_bytes();
        let e = self.entry(i);
        let mut shape = [0u64; format::MAX_DIMS];
        if self.is_legacy() {
            let ndim = e[legacy::NDIM] as usize;
            for (d, s) in shape.iter_mut().enumerate().take(ndim) {
                *s = u32_at(e, legacy::SHAPE + 4 * d) as u64;
            }
            let off = self.native.data_offset + u64_at(e, legacy::DATA_OFFSET) as usize;
            let size = u64_at(e, legacy::DATA_SIZE) as usize;
            return Tensor {
                name: None,
                name_hash: u64_at(e, legacy::NAME_HASH),
                dtype: DType::from_code(e[legacy::DTYPE] as u16).unwrap_or(DType::U8),
                ndim: ndim as u8,
                shape,
                data: &bytes[off..off + size],
                offset: off as u64,
                checksum: None,
                position: i,
            };
        }
        let ndim = e[ent::NDIM] as usize;
        for (d, s) in shape.iter_mut().enumerate().take(ndim) {
            *s = u64_at(e, ent::SHAPE + 8 * d);
        }
        let off = self.native.data_offset + u64_at(e, ent::DATA_OFFSET) as usize;
        let size = u64_at(e, ent::DATA_SIZE) as usize;
        // Validated at open: in bounds, UTF-8, followed by a NUL.
        let name = std::str::from_utf8(self.entry_name_bytes(i)).unwrap_or("");
        Tensor {
            name: Some(name),
            name_hash: u64_at(e, ent::NAME_HASH),
            dtype: DType::from_code(u16_at(e, ent::DTYPE)).unwrap_or(DType::U8),
            ndim: ndim as u8,
            shape,
            data: &bytes[off..off + size],
            offset: off as u64,
            checksum: Some(u64_at(e, ent::CHECKSUM)),
            position: u32_at(e, ent::POSITION) as usize,
        }
    }
}

/// Converts a file offset to `usize`, failing on 32-bit targets for huge files.
fn to_usize(v: u64, what: &str) -> Result<usize> {
    usize::try_from(v).map_err(|_| Error::format(format!("{what} {v} does not fit in memory")))
}

/// Validates the whole structure of a .tenzor file held in `b`.
fn parse(b: &[u8]) -> Result<Native> {
    let len = b.len() as u64;
    if len < 8 || b[..8] != format::MAGIC {
        return Err(Error::format("not a tenzor file (bad magic bytes)"));
    }
    if b.len() < format::HEADER_SIZE {
        return Err(Error::format(format!(
            "file is truncated: {len} bytes, the header alone needs {}",
            format::HEADER_SIZE
        )));
    }
    match u32_at(b, hdr::VERSION) {
        format::VERSION => parse_v2(b),
        format::VERSION_LEGACY => parse_v1(b),
        v => Err(Error::new(
            ErrorKind::Unsupported,
            format!("unsupported format version {v} (this library reads versions 1 and 2)"),
        )),
    }
}

fn check_flags(flags: u32) -> Result<()> {
    let unknown_required = flags & format::REQUIRED_FLAGS_MASK;
    if unknown_required != 0 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("header flags {unknown_required:#x} are required but unknown to this version"),
        ));
    }
    Ok(())
}

fn parse_v2(b: &[u8]) -> Result<Native> {
    let len = b.len() as u64;
    let flags = u32_at(b, hdr::FLAGS);
    check_flags(flags)?;
    if u32_at(b, hdr::ZERO) != 0 || u32_at(b, hdr::RESERVED) != 0 {
        return Err(Error::format("reserved header bytes are not zero"));
    }
    let count = u32_at(b, hdr::TENSOR_COUNT) as u64;
    let index_offset = u64_at(b, hdr::INDEX_OFFSET);
    let data_offset = u64_at(b, hdr::DATA_OFFSET);
    let metadata_size = u32_at(b, hdr::METADATA_SIZE) as u64;
    let alignment = u32_at(b, hdr::ALIGNMENT) as u64;
    let stored_checksum = u64_at(b, hdr::CHECKSUM);
    let names_size = u32_at(b, hdr::NAMES_SIZE) as u64;

    if !format::valid_alignment(alignment) {
        return Err(Error::format(format!(
            "alignment {alignment} is not a power of two between {} and {}",
            format::MIN_ALIGNMENT,
            format::MAX_ALIGNMENT
        )));
    }
    let layout = Layout::new(metadata_size, count, names_size, alignment)
        .ok_or_else(|| Error::format("region sizes overflow"))?;
    if index_offset != layout.index_offset {
        return Err(Error::format(format!(
            "index offset {index_offset} should be {} (metadata end rounded up to 4096)",
            layout.index_offset
        )));
    }
    if data_offset < layout.min_data_offset
        || data_offset % format::data_section_alignment(alignment) != 0
    {
        return Err(Error::format(format!(
            "data offset {data_offset} is before the end of the names ({}) or not aligned to {}",
            layout.names_end,
            format::data_section_alignment(alignment)
        )));
    }
    if data_offset > len {
        return Err(Error::format(format!(
            "file is truncated: {len} bytes, but the data section starts at {data_offset}"
        )));
    }
    let data_offset_us = to_usize(data_offset, "data offset")?;
    let region = &b[..data_offset_us];
    let actual = format::header_region_checksum(region);
    if actual != stored_checksum {
        return Err(Error::new(
            ErrorKind::Checksum,
            format!(
                "header checksum mismatch (stored {stored_checksum:#018x}, computed {actual:#018x}): header, metadata or index is corrupted"
            ),
        ));
    }

    let meta_end = format::HEADER_SIZE + metadata_size as usize;
    check_metadata(&b[format::HEADER_SIZE..meta_end])?;
    if b[meta_end..layout.index_offset as usize]
        .iter()
        .any(|&x| x != 0)
    {
        return Err(Error::format("padding after the metadata is not zero"));
    }
    if b[layout.names_end as usize..data_offset_us]
        .iter()
        .any(|&x| x != 0)
    {
        return Err(Error::format("padding before the data section is not zero"));
    }

    let native = Native {
        version: format::VERSION,
        flags,
        count: count as usize,
        index_offset: layout.index_offset as usize,
        order_offset: layout.order_offset as usize,
        names_offset: layout.names_offset as usize,
        names_size: names_size as usize,
        data_offset: data_offset_us,
        metadata_size: metadata_size as usize,
        alignment,
        header_checksum: stored_checksum,
    };
    check_entries(b, &native)?;
    Ok(native)
}

fn check_metadata(raw: &[u8]) -> Result<()> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let text = std::str::from_utf8(raw)
        .map_err(|e| Error::format(format!("metadata is not UTF-8: {e}")))?;
    if !text.trim_start().starts_with('{') {
        return Err(Error::format("metadata is not a JSON object"));
    }
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map_err(|e| Error::format(format!("metadata is not valid JSON: {e}")))?;
    Ok(())
}

/// Checks every index entry, the sort order, the order table, the names and
/// the data layout, in two passes and without allocating.
fn check_entries(b: &[u8], n: &Native) -> Result<()> {
    let names = &b[n.names_offset..n.names_offset + n.names_size];
    let entry = |i: usize| &b[n.index_offset + i * format::ENTRY_SIZE..][..format::ENTRY_SIZE];
    let name_of = |e: &[u8]| -> Result<&str> {
        let off = u32_at(e, ent::NAME_OFFSET) as usize;
        let nlen = u32_at(e, ent::NAME_LEN) as usize;
        let end = off
            .checked_add(nlen)
            .filter(|&end| end < names.len())
            .ok_or_else(|| {
                Error::format(format!("name at {off}+{nlen} is outside the name table"))
            })?;
        if names[end] != 0 {
            return Err(Error::format("name is not followed by a NUL byte"));
        }
        let s = std::str::from_utf8(&names[off..end])
            .map_err(|e| Error::format(format!("name is not valid UTF-8: {e}")))?;
        format::check_name(s).map_err(Error::format)?;
        Ok(s)
    };

    let mut prev: Option<(u64, &str)> = None;
    for i in 0..n.count {
        let e = entry(i);
        let at = |err: Error| err.for_tensor(&format!("#{i}"));
        let name = name_of(e)
            .map_err(|err| Error::format(format!("index entry {i}: {}", err.message())))?;
        let tagged = |err: Error| err.for_tensor(name);
        let hash = u64_at(e, ent::NAME_HASH);
        if hash != format::fnv1a(name.as_bytes()) {
            return Err(tagged(Error::format("name hash does not match the name")));
        }
        if let Some(p) = prev {
            match p.cmp(&(hash, name)) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => {
                    return Err(Error::new(
                        ErrorKind::DuplicateName,
                        "name appears twice in the index",
                    )
                    .for_tensor(name))
                }
                std::cmp::Ordering::Greater => {
                    return Err(tagged(Error::format("index is not sorted by (hash, name)")))
                }
            }
        }
        prev = Some((hash, name));
        let code = u16_at(e, ent::DTYPE);
        let dtype = DType::from_code(code).ok_or_else(|| {
            tagged(Error::new(
                ErrorKind::Unsupported,
                format!("unknown dtype code {code}"),
            ))
        })?;
        let ndim = e[ent::NDIM] as usize;
        if ndim > format::MAX_DIMS {
            return Err(tagged(Error::format(format!(
                "rank {ndim} exceeds the maximum of 8"
            ))));
        }
        if e[ent::FLAGS] != 0 {
            return Err(tagged(Error::format("entry flags are not zero")));
        }
        let shape: [u64; format::MAX_DIMS] = std::array::from_fn(|d| u64_at(e, ent::SHAPE + 8 * d));
        if shape[ndim..].iter().any(|&d| d != 0) {
            return Err(tagged(Error::format(
                "unused shape dimensions are not zero",
            )));
        }
        let size = u64_at(e, ent::DATA_SIZE);
        let expect = format::numel(&shape[..ndim])
            .and_then(|n| dtype.byte_size(n))
            .ok_or_else(|| {
                tagged(Error::format(format!(
                    "shape {:?} overflows or is not whole {dtype} blocks",
                    &shape[..ndim]
                )))
            })?;
        if expect != size {
            return Err(tagged(Error::format(format!(
                "byte size {size} does not match shape {:?} of {dtype} ({expect} bytes)",
                &shape[..ndim]
            ))));
        }
        let pos = u32_at(e, ent::POSITION) as usize;
        if pos >= n.count || u32_at(b, n.order_offset + 4 * pos) as usize != i {
            // order[pos] == i for every entry makes the order table a permutation.
            return Err(at(Error::format(format!(
                "position {pos} disagrees with the order table"
            ))));
        }
    }

    // In position order: names and data are laid out back to back.
    let mut name_cursor = 0u64;
    let mut data_end = 0u64;
    for p in 0..n.count {
        let e = entry(u32_at(b, n.order_offset + 4 * p) as usize);
        let name = name_of(e)?;
        let tagged = |err: Error| err.for_tensor(name);
        if u32_at(e, ent::NAME_OFFSET) as u64 != name_cursor {
            return Err(tagged(Error::format(
                "name is not where the name table order puts it",
            )));
        }
        name_cursor += name.len() as u64 + 1;
        let off = u64_at(e, ent::DATA_OFFSET);
        let size = u64_at(e, ent::DATA_SIZE);
        let expected = format::align_up(data_end, n.alignment)
            .ok_or_else(|| tagged(Error::format("data offset overflows")))?;
        if off != expected {
            return Err(tagged(Error::format(format!(
                "data offset {off} should be {expected} (tensors are stored in order, each aligned to {})",
                n.alignment
            ))));
        }
        data_end = off
            .checked_add(size)
            .ok_or_else(|| tagged(Error::format("data range overflows")))?;
        let abs_end = (n.data_offset as u64).checked_add(data_end);
        if abs_end.map_or(true, |end| end > b.len() as u64) {
            return Err(tagged(Error::format(format!(
                "data [{off}, {data_end}) lies beyond the end of the file (file truncated?)"
            ))));
        }
    }
    if name_cursor != n.names_size as u64 {
        return Err(Error::format("name table holds bytes no tensor uses"));
    }
    let file_end = n.data_offset as u64 + data_end;
    if file_end != b.len() as u64 {
        return Err(Error::format(format!(
            "{} trailing bytes after the last tensor",
            b.len() as u64 - file_end
        )));
    }
    Ok(())
}

fn parse_v1(b: &[u8]) -> Result<Native> {
    let len = b.len() as u64;
    let flags = u32_at(b, hdr::FLAGS);
    check_flags(flags)?;
    let count = u32_at(b, hdr::TENSOR_COUNT) as u64;
    let index_offset = u64_at(b, hdr::INDEX_OFFSET);
    let data_offset = u64_at(b, hdr::DATA_OFFSET);
    let metadata_size = u32_at(b, hdr::METADATA_SIZE) as u64;
    let meta_end = format::HEADER_SIZE as u64 + metadata_size;
    let index_end = count
        .checked_mul(format::LEGACY_ENTRY_SIZE as u64)
        .and_then(|s| s.checked_add(index_offset))
        .ok_or_else(|| Error::format("index size overflows"))?;
    if meta_end > len {
        return Err(Error::format(format!(
            "file is truncated: metadata ends at {meta_end}, file has {len} bytes"
        )));
    }
    if index_offset < meta_end || index_offset % 8 != 0 {
        return Err(Error::format(format!(
            "index offset {index_offset} overlaps the metadata or is not 8-aligned"
        )));
    }
    if index_end > len || data_offset > len {
        return Err(Error::format(format!(
            "file is truncated: index ends at {index_end}, data starts at {data_offset}, file has {len} bytes"
        )));
    }
    if data_offset < index_end {
        return Err(Error::format("data section overlaps the index"));
    }
    check_metadata(&b[format::HEADER_SIZE..meta_end as usize])?;
    let native = Native {
        version: format::VERSION_LEGACY,
        flags,
        count: count as usize,
        index_offset: index_offset as usize,
        order_offset: 0,
        names_offset: 0,
        names_size: 0,
        data_offset: to_usize(data_offset, "data offset")?,
        metadata_size: metadata_size as usize,
        alignment: 1,
        header_checksum: 0,
    };
    // Legacy tensors may come in any order; sorting the ranges is the only
    // way to rule out overlaps. One allocation for the whole index.
    let mut ranges: Vec<(u64, u64, usize)> = Vec::with_capacity(native.count);
    let data_len = len - data_offset;
    for i in 0..native.count {
        let e =
            &b[native.index_offset + i * format::LEGACY_ENTRY_SIZE..][..format::LEGACY_ENTRY_SIZE];
        let hash = u64_at(e, legacy::NAME_HASH);
        let tagged = |err: Error| err.for_tensor(&format!("{hash:#018x}"));
        let code = e[legacy::DTYPE] as u16;
        let dtype = DType::from_code(code)
            .filter(|d| (*d as u16) < 12)
            .ok_or_else(|| {
                tagged(Error::new(
                    ErrorKind::Unsupported,
                    format!("unknown legacy dtype code {code}"),
                ))
            })?;
        let ndim = e[legacy::NDIM] as usize;
        if ndim > format::LEGACY_MAX_DIMS {
            return Err(tagged(Error::format(format!(
                "rank {ndim} exceeds the legacy maximum of 5"
            ))));
        }
        let mut dims = [0u64; format::LEGACY_MAX_DIMS];
        for (d, s) in dims.iter_mut().enumerate().take(ndim) {
            *s = u32_at(e, legacy::SHAPE + 4 * d) as u64;
        }
        let shape = &dims[..ndim];
        let off = u64_at(e, legacy::DATA_OFFSET);
        let size = u64_at(e, legacy::DATA_SIZE);
        let expect = format::numel(shape).and_then(|n| dtype.byte_size(n));
        if expect != Some(size) {
            return Err(tagged(Error::format(format!(
                "byte size {size} does not match shape {shape:?} of {dtype}"
            ))));
        }
        let end = off
            .checked_add(size)
            .filter(|&end| end <= data_len)
            .ok_or_else(|| {
                tagged(Error::format(
                    "data lies beyond the end of the file (file truncated?)",
                ))
            })?;
        ranges.push((off, end, i));
    }
    ranges.sort_unstable();
    for w in ranges.windows(2) {
        if w[1].0 < w[0].1 {
            let h = u64_at(b, native.index_offset + w[1].2 * format::LEGACY_ENTRY_SIZE);
            return Err(
                Error::format("data overlaps another tensor").for_tensor(&format!("{h:#018x}"))
            );
        }
    }
    Ok(native)
}
