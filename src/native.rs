//! Validation of and access to native .tenzor files (version 2 and the
//! legacy version 1). Validation reads the header, metadata, index and
//! names, never tensor data, and allocates nothing per tensor.

use crate::dtype::DType;
use crate::error::{Error, ErrorKind, Result};
use crate::format::{self, ent, hdr, legacy, u16_at, u32_at, u64_at, Layout};
use crate::io::Validation;
use crate::search;
use crate::tensor::Tensor;

/// Where the regions of a validated file are (all offsets are in bounds).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Native {
    pub version: u32,
    pub flags: u32,
    pub count: usize,
    pub index_offset: usize,
    pub order_offset: usize,
    pub names_offset: usize,
    pub names_size: usize,
    pub data_offset: usize,
    pub metadata_size: usize,
    /// Where the metadata starts: 64, or inside the current root's region
    /// for an appendable file.
    pub metadata_offset: usize,
    pub alignment: u64,
    pub header_checksum: u64,
    /// Entries were not checked at open: check each when it is returned.
    pub lazy: bool,
    /// The edit mark is set and the stored header checksum disagrees with
    /// the header region (an edit was interrupted mid-flush). Always false
    /// under lazy validation, which does not compute the checksum.
    pub header_stale: bool,
    /// The generation open (version 2; see `append::Root`).
    pub append: Option<crate::append::Root>,
}

impl Native {
    pub fn is_legacy(&self) -> bool {
        self.version == format::VERSION_LEGACY
    }

    /// True when the edit mark is set (FORMAT.md, "Edit mark").
    pub fn edit_mark(&self) -> bool {
        self.flags & format::FLAG_EDITING != 0
    }

    /// Where the stored checksum of entry `i` lies in the file.
    #[cfg(feature = "write")]
    pub fn checksum_offset(&self, i: usize) -> usize {
        self.index_offset + i * format::ENTRY_SIZE + ent::CHECKSUM
    }

    /// The raw metadata bytes.
    pub fn metadata<'a>(&self, b: &'a [u8]) -> &'a [u8] {
        &b[self.metadata_offset..self.metadata_offset + self.metadata_size]
    }

    fn entry<'a>(&self, b: &'a [u8], i: usize) -> &'a [u8] {
        let size = if self.is_legacy() {
            format::LEGACY_ENTRY_SIZE
        } else {
            format::ENTRY_SIZE
        };
        &b[self.index_offset + i * size..][..size]
    }

    fn entry_hash(&self, b: &[u8], i: usize) -> u64 {
        u64_at(self.entry(b, i), ent::NAME_HASH)
    }

    /// The name bytes of entry `i`; empty when they lie outside the name
    /// table (possible only under lazy validation, caught by `tensor`).
    fn entry_name_bytes<'a>(&self, b: &'a [u8], i: usize) -> &'a [u8] {
        let e = self.entry(b, i);
        let names = &b[self.names_offset..self.names_offset + self.names_size];
        let off = u32_at(e, ent::NAME_OFFSET) as usize;
        let len = u32_at(e, ent::NAME_LEN) as usize;
        off.checked_add(len)
            .and_then(|end| names.get(off..end))
            .unwrap_or(&[])
    }

    /// Search by hash, then name (see `search`); a scan for legacy files
    /// (unsorted, no names).
    pub fn find(&self, b: &[u8], name: &str) -> Option<usize> {
        let hash = format::fnv1a(name.as_bytes());
        if self.is_legacy() {
            return self.find_hash(b, hash);
        }
        // Entries sharing the hash follow the first one in name order.
        let first = search::lower_bound(self.count, |i| self.entry_hash(b, i), hash);
        (first..self.count)
            .take_while(|&i| self.entry_hash(b, i) == hash)
            .find(|&i| self.entry_name_bytes(b, i) == name.as_bytes())
    }

    /// The first entry (in index order) whose name hashes to `hash`.
    pub fn find_hash(&self, b: &[u8], hash: u64) -> Option<usize> {
        if self.is_legacy() {
            return (0..self.count).find(|&i| self.entry_hash(b, i) == hash);
        }
        let i = search::lower_bound(self.count, |i| self.entry_hash(b, i), hash);
        (i < self.count && self.entry_hash(b, i) == hash).then_some(i)
    }

    /// The entry holding the tensor at insertion `position` (< count).
    pub fn entry_of_position(&self, b: &[u8], p: usize) -> Result<usize> {
        if self.is_legacy() {
            return Ok(p);
        }
        let i = u32_at(b, self.order_offset + 4 * p) as usize;
        if i >= self.count {
            return Err(Error::format(format!(
                "order table entry {p} points to index entry {i}, past the {} entries",
                self.count
            )));
        }
        // Checked at open under full validation; under lazy, a slot naming
        // another position's entry would make `get_at(p)` answer with a
        // tensor at some other position.
        let stored = u32_at(self.entry(b, i), ent::POSITION) as usize;
        if stored != p {
            return Err(Error::format(format!(
                "order table entry {p} points to index entry {i}, whose position is {stored}"
            )));
        }
        Ok(i)
    }

    /// The view of entry `i` (< count); under lazy validation the entry is
    /// checked first, so a bad one is an error and never a bad view.
    pub fn tensor<'a>(&self, b: &'a [u8], i: usize) -> Result<Tensor<'a>> {
        if self.lazy {
            self.check_lazily(b, i)?;
        }
        Ok(self.view(b, i))
    }

    /// The rules lazy validation applies to one entry when it is returned:
    /// everything that makes its view safe to hand out.
    fn check_lazily(&self, b: &[u8], i: usize) -> Result<()> {
        let e = self.entry(b, i);
        let (offset, size, tag) = if self.is_legacy() {
            let hash = u64_at(e, legacy::NAME_HASH);
            let tag = format!("{hash:#018x}");
            let (_, size) = legacy_entry_rules(e).map_err(|err| err.for_tensor(&tag))?;
            (u64_at(e, legacy::DATA_OFFSET), size, tag)
        } else {
            let names = &b[self.names_offset..self.names_offset + self.names_size];
            let name = checked_name(e, names)
                .map_err(|err| Error::format(format!("index entry {i}: {}", err.message())))?;
            let (_, size) = entry_rules(e).map_err(|err| err.for_tensor(name))?;
            let pos = u32_at(e, ent::POSITION) as usize;
            if pos >= self.count {
                return Err(Error::format(format!(
                    "position {pos} is past the {} tensors",
                    self.count
                ))
                .for_tensor(name));
            }
            (u64_at(e, ent::DATA_OFFSET), size, name.to_string())
        };
        let end = (self.data_offset as u64)
            .checked_add(offset)
            .and_then(|o| o.checked_add(size));
        if end.is_none_or(|end| end > b.len() as u64) {
            return Err(Error::format(format!(
                "data [{offset}, +{size}) lies beyond the end of the file (file truncated?)"
            ))
            .for_tensor(&tag));
        }
        Ok(())
    }

    /// The view of entry `i`, whose rules were checked.
    fn view<'a>(&self, b: &'a [u8], i: usize) -> Tensor<'a> {
        let e = self.entry(b, i);
        let mut shape = [0u64; format::MAX_DIMS];
        if self.is_legacy() {
            let ndim = e[legacy::NDIM] as usize;
            for (d, s) in shape.iter_mut().enumerate().take(ndim) {
                *s = u32_at(e, legacy::SHAPE + 4 * d) as u64;
            }
            let off = self.data_offset + u64_at(e, legacy::DATA_OFFSET) as usize;
            let size = u64_at(e, legacy::DATA_SIZE) as usize;
            return Tensor {
                name: None,
                name_hash: u64_at(e, legacy::NAME_HASH),
                dtype: DType::from_code(e[legacy::DTYPE] as u16).unwrap_or(DType::U8),
                ndim: ndim as u8,
                shape,
                data: &b[off..off + size],
                offset: off as u64,
                checksum: None,
                position: i,
            };
        }
        let ndim = e[ent::NDIM] as usize;
        for (d, s) in shape.iter_mut().enumerate().take(ndim) {
            *s = u64_at(e, ent::SHAPE + 8 * d);
        }
        let off = self.data_offset + u64_at(e, ent::DATA_OFFSET) as usize;
        let size = u64_at(e, ent::DATA_SIZE) as usize;
        // Validated (at open, or by `check_lazily`): UTF-8, followed by a NUL.
        let name = std::str::from_utf8(self.entry_name_bytes(b, i)).unwrap_or("");
        Tensor {
            name: Some(name),
            name_hash: u64_at(e, ent::NAME_HASH),
            dtype: DType::from_code(u16_at(e, ent::DTYPE)).unwrap_or(DType::U8),
            ndim: ndim as u8,
            shape,
            data: &b[off..off + size],
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

/// Validates a .tenzor file held in `b`: its whole structure (`Full`), or
/// the header and the bounds of its regions (`Lazy`, FORMAT.md).
pub(crate) fn parse(b: &[u8], validation: Validation) -> Result<Native> {
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
        format::VERSION => parse_v2(b, validation),
        format::VERSION_LEGACY => parse_v1(b, validation),
        v => Err(Error::new(
            ErrorKind::Unsupported,
            format!("unsupported format version {v} (this library reads versions 1 and 2)"),
        )),
    }
}

/// Refuses required flag bits other than those in `known`.
fn check_flags(flags: u32, known: u32) -> Result<()> {
    let unknown_required = flags & format::REQUIRED_FLAGS_MASK & !known;
    if unknown_required != 0 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("header flags {unknown_required:#x} are required but unknown to this version"),
        ));
    }
    Ok(())
}

fn parse_v2(b: &[u8], validation: Validation) -> Result<Native> {
    let len = b.len() as u64;
    let flags = u32_at(b, hdr::FLAGS);
    check_flags(flags, format::FLAG_EDITING | format::FLAG_APPENDABLE)?;
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
        metadata_offset: format::HEADER_SIZE,
        lazy: validation == Validation::Lazy,
        header_stale: false,
        append: None,
    };
    let mut native = native;
    let meta = &b[format::HEADER_SIZE..format::HEADER_SIZE + metadata_size as usize];
    // An appendable file's current index may be a later generation, found
    // only by reading its roots: it is validated in full at any level.
    native.lazy &= flags & format::FLAG_APPENDABLE == 0;
    if native.lazy {
        // The metadata is parsed when asked for; only its text is checked.
        std::str::from_utf8(meta)
            .map_err(|e| Error::format(format!("metadata is not UTF-8: {e}")))?;
        return Ok(native);
    }
    let actual = format::header_region_checksum(&b[..data_offset_us]);
    // With the edit mark set, a crash mid-flush may have left the header
    // checksum stale; every structural rule below still runs.
    native.header_stale = actual != stored_checksum;
    if native.header_stale && flags & format::FLAG_EDITING == 0 {
        return Err(Error::new(
            ErrorKind::Checksum,
            format!(
                "header checksum mismatch (stored {stored_checksum:#018x}, computed {actual:#018x}): header, metadata or index is corrupted"
            ),
        ));
    }
    check_metadata(meta)?;
    if b[format::HEADER_SIZE + meta.len()..native.index_offset]
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
    let placed = check_index(b, &native)?;
    let data_end = check_packed(b, &native, &placed)?;
    // What follows generation 0 (nothing, an interrupted append's tail, or
    // the appendable layout's roots) is the append module's business.
    let live = placed.iter().map(|p| p.size).sum();
    crate::append::resolve(b, native, native.data_offset as u64 + data_end, live)
}

pub(crate) fn check_metadata(raw: &[u8]) -> Result<()> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let text = std::str::from_utf8(raw)
        .map_err(|e| Error::format(format!("metadata is not UTF-8: {e}")))?;
    if !text.trim_start().starts_with('{') {
        return Err(Error::format("metadata is not a JSON object"));
    }
    // Parsed for real (not skimmed) so that whatever `metadata()` will
    // later refuse (nesting deeper than 128, numbers out of f64 range, lone
    // surrogates) is refused at open instead.
    serde_json::from_str::<serde_json::Value>(text)
        .map_err(|e| Error::format(format!("metadata is not valid JSON: {e}")))?;
    Ok(())
}

/// The name of a version-2 entry, every rule checked: inside the name
/// table, followed by a NUL, UTF-8, non-empty, no NUL inside.
fn checked_name<'a>(e: &[u8], names: &'a [u8]) -> Result<&'a str> {
    let end = name_end(e, names)?;
    let off = u32_at(e, ent::NAME_OFFSET) as usize;
    let s = std::str::from_utf8(&names[off..end])
        .map_err(|e| Error::format(format!("name is not valid UTF-8: {e}")))?;
    format::check_name(s).map_err(Error::format)?;
    Ok(s)
}

/// The end of an entry's name, checked to lie inside the table and to be
/// followed by a NUL.
fn name_end(e: &[u8], names: &[u8]) -> Result<usize> {
    let off = u32_at(e, ent::NAME_OFFSET) as usize;
    let nlen = u32_at(e, ent::NAME_LEN) as usize;
    let end = off
        .checked_add(nlen)
        .filter(|&end| end < names.len())
        .ok_or_else(|| Error::format(format!("name at {off}+{nlen} is outside the name table")))?;
    if names[end] != 0 {
        return Err(Error::format("name is not followed by a NUL byte"));
    }
    Ok(end)
}

/// The per-entry rules of a version-2 entry other than its name: a known
/// dtype, rank <= 8, zero flags and unused dimensions, and a byte size equal
/// to dtype x shape. Returns the dtype and the byte size.
fn entry_rules(e: &[u8]) -> Result<(DType, u64)> {
    let code = u16_at(e, ent::DTYPE);
    let dtype = DType::from_code(code)
        .ok_or_else(|| Error::new(ErrorKind::Unsupported, format!("unknown dtype code {code}")))?;
    let ndim = e[ent::NDIM] as usize;
    if ndim > format::MAX_DIMS {
        return Err(Error::format(format!(
            "rank {ndim} exceeds the maximum of 8"
        )));
    }
    if e[ent::FLAGS] != 0 {
        return Err(Error::format("entry flags are not zero"));
    }
    let shape: [u64; format::MAX_DIMS] = std::array::from_fn(|d| u64_at(e, ent::SHAPE + 8 * d));
    if shape[ndim..].iter().any(|&d| d != 0) {
        return Err(Error::format("unused shape dimensions are not zero"));
    }
    let size = u64_at(e, ent::DATA_SIZE);
    let expect = format::numel(&shape[..ndim])
        .and_then(|n| dtype.byte_size(n))
        .ok_or_else(|| {
            Error::format(format!(
                "shape {:?} overflows or is not whole {dtype} blocks",
                &shape[..ndim]
            ))
        })?;
    if expect != size {
        return Err(Error::format(format!(
            "byte size {size} does not match shape {:?} of {dtype} ({expect} bytes)",
            &shape[..ndim]
        )));
    }
    Ok((dtype, size))
}

/// The byte size of a version-2 entry that passes every rule of
/// [`entry_rules`], or `None` when one fails ([`entry_rules`] then says
/// which). The same rules without building errors or the dtype: this runs
/// once per entry in a full open, most of whose time it was.
#[inline]
fn entry_size_fast(e: &[u8; format::ENTRY_SIZE]) -> Option<u64> {
    let (elems, block_bytes) = DType::block_of_code(u16_at(e, ent::DTYPE));
    let ndim = e[ent::NDIM] as usize;
    if block_bytes == 0 || ndim > format::MAX_DIMS || e[ent::FLAGS] != 0 {
        return None;
    }
    let (mut numel, mut unused) = (1u64, 0u64);
    for d in 0..format::MAX_DIMS {
        let dim = u64_at(e, ent::SHAPE + 8 * d);
        if d < ndim {
            numel = numel.checked_mul(dim)?;
        } else {
            unused |= dim;
        }
    }
    if unused != 0 {
        return None;
    }
    let blocks = match elems {
        1 => numel,
        _ if numel % elems == 0 => numel / elems,
        _ => return None,
    };
    let size = blocks.checked_mul(block_bytes)?;
    (size == u64_at(e, ent::DATA_SIZE)).then_some(size)
}

/// Number of zero bytes. Counted in blocks of 255 into a `u8`, a loop the
/// compiler turns into 16 or 32 bytes per instruction (a plain
/// `filter().count()` widens each byte to 64 bits first and runs 4x slower).
fn count_nuls(bytes: &[u8]) -> usize {
    bytes
        .chunks(255)
        .map(|c| c.iter().fold(0u8, |n, &b| n + (b == 0) as u8) as usize)
        .sum()
}

/// Names of a whole table at once: when the table is UTF-8 and holds one
/// NUL per tensor, each name (which the layout rules place back to back,
/// each followed by its NUL) is UTF-8 and NUL-free without a check of its
/// own. Otherwise each name is checked alone, to say which one is bad.
struct NameTable<'a> {
    bytes: &'a [u8],
    fast: Option<&'a str>,
}

impl<'a> NameTable<'a> {
    fn new(bytes: &'a [u8], count: usize) -> NameTable<'a> {
        let nuls = count_nuls(bytes);
        let fast = if nuls == count {
            std::str::from_utf8(bytes).ok()
        } else {
            None
        };
        NameTable { bytes, fast }
    }

    fn name_of(&self, e: &[u8]) -> Result<&'a str> {
        let Some(table) = self.fast else {
            return checked_name(e, self.bytes);
        };
        let end = name_end(e, self.bytes)?;
        let off = u32_at(e, ent::NAME_OFFSET) as usize;
        // A cut inside a character is not UTF-8 on its own.
        let s = table.get(off..end).ok_or_else(|| {
            Error::format("name is not valid UTF-8 (it starts inside a character)")
        })?;
        if s.is_empty() {
            return Err(Error::format("name is empty"));
        }
        Ok(s)
    }
}

/// Where one tensor's data is, by position (see `check_index`).
#[derive(Clone, Copy, Default)]
pub(crate) struct Placed {
    pub slot: u32,
    pub offset: u64,
    pub size: u64,
}

impl Placed {
    /// A position no entry has claimed (yet).
    const UNCLAIMED: Placed = Placed {
        slot: u32::MAX,
        offset: 0,
        size: 0,
    };
}

/// The name of entry `slot`, or `err` untagged when the name is unreadable.
pub(crate) fn tag_with_name(b: &[u8], n: &Native, slot: u32, err: Error) -> Error {
    let e = n.entry(b, slot as usize);
    let off = n.names_offset + u32_at(e, ent::NAME_OFFSET) as usize;
    let len = u32_at(e, ent::NAME_LEN) as usize;
    match b.get(off..off.saturating_add(len)).map(std::str::from_utf8) {
        Some(Ok(name)) => err.for_tensor(name),
        _ => err,
    }
}

/// Checks every index entry, the sort order, the order table and the names
/// in one sequential pass; returns each tensor's data range by position
/// (relative to `data_offset`, not yet checked against the file). Name
/// hashes are not recomputed here: the header checksum covers them and the
/// names, and `verify` recomputes them (FORMAT.md, "Validation levels").
pub(crate) fn check_index(b: &[u8], n: &Native) -> Result<Vec<Placed>> {
    let table = NameTable::new(&b[n.names_offset..n.names_offset + n.names_size], n.count);
    let index = &b[n.index_offset..][..n.count * format::ENTRY_SIZE];
    // Fixed-size entries: the field reads below need no bounds checks.
    let entry = |i: usize| -> &[u8; format::ENTRY_SIZE] {
        index[i * format::ENTRY_SIZE..][..format::ENTRY_SIZE]
            .try_into()
            .expect("ENTRY_SIZE bytes")
    };
    let name_of = |e: &[u8]| table.name_of(e);

    // The layout rules run in position order, which is a random walk over
    // the hash-ordered index (a cache miss per entry on large files). One
    // scratch table, filled during the sequential pass, keeps it linear.
    let mut by_pos = vec![Placed::UNCLAIMED; n.count];
    let mut name_cursor = 0u64;
    let mut prev: Option<(u64, &str)> = None;
    for i in 0..n.count {
        let e = entry(i);
        let name = name_of(e)
            .map_err(|err| Error::format(format!("index entry {i}: {}", err.message())))?;
        let tagged = |err: Error| err.for_tensor(name);
        let hash = u64_at(e, ent::NAME_HASH);
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
        // Names are stored back to back in index order.
        if u32_at(e, ent::NAME_OFFSET) as u64 != name_cursor {
            return Err(tagged(Error::format(
                "name is not where the index order puts it in the name table",
            )));
        }
        name_cursor += name.len() as u64 + 1;
        let size = match entry_size_fast(e) {
            Some(size) => size,
            None => entry_rules(e).map_err(tagged)?.1,
        };
        let pos = u32_at(e, ent::POSITION) as usize;
        if pos >= n.count {
            return Err(tagged(Error::format(format!(
                "position {pos} disagrees with the order table"
            ))));
        }
        by_pos[pos] = Placed {
            slot: i as u32,
            offset: u64_at(e, ent::DATA_OFFSET),
            size,
        };
    }

    if name_cursor != n.names_size as u64 {
        return Err(Error::format("name table holds bytes no tensor uses"));
    }
    check_order(b, n, &by_pos)?;
    Ok(by_pos)
}

/// The order table is the inverse of the entries' positions: `order[p]` is
/// the entry whose position is `p`, for every `p`. Checked after the index
/// pass, in one sequential read of the table (reading `order[pos]` per
/// entry is a random access, a cache miss each on large files). Two
/// entries claiming one position leave another position unclaimed, which
/// no order table can match.
fn check_order(b: &[u8], n: &Native, by_pos: &[Placed]) -> Result<()> {
    let order = &b[n.order_offset..][..4 * n.count];
    for (p, (placed, o)) in by_pos.iter().zip(order.chunks_exact(4)).enumerate() {
        let slot = u32_at(o, 0);
        if placed.slot != slot {
            let err = Error::format(format!("position {p} disagrees with the order table"));
            // Blame the entry that claimed the position, else the one the
            // order table names (when there is such an entry).
            let blame = if placed.slot != Placed::UNCLAIMED.slot {
                placed.slot
            } else {
                slot
            };
            return Err(if (blame as usize) < n.count {
                tag_with_name(b, n, blame, err)
            } else {
                err
            });
        }
    }
    Ok(())
}

/// The canonical data layout: in position order, tensors back to back,
/// each aligned. Returns the end of the data (relative to `data_offset`).
fn check_packed(b: &[u8], n: &Native, by_pos: &[Placed]) -> Result<u64> {
    let mut data_end = 0u64;
    for placed in by_pos {
        // Only an error needs the name; fetch it then.
        let tagged = |err: Error| tag_with_name(b, n, placed.slot, err);
        let (off, size) = (placed.offset, placed.size);
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
        if abs_end.is_none_or(|end| end > b.len() as u64) {
            return Err(tagged(Error::format(format!(
                "data [{off}, {data_end}) lies beyond the end of the file (file truncated?)"
            ))));
        }
    }
    Ok(data_end)
}

fn parse_v1(b: &[u8], validation: Validation) -> Result<Native> {
    let len = b.len() as u64;
    let flags = u32_at(b, hdr::FLAGS);
    // Legacy files carry no checksums, so they are never marked.
    check_flags(flags, 0)?;
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
        metadata_offset: format::HEADER_SIZE,
        lazy: validation == Validation::Lazy,
        header_stale: false,
        append: None,
    };
    if native.lazy {
        return Ok(native);
    }
    // Legacy tensors may come in any order; sorting the ranges is the only
    // way to rule out overlaps. One allocation for the whole index.
    let mut ranges: Vec<(u64, u64, usize)> = Vec::with_capacity(native.count);
    let data_len = len - data_offset;
    for i in 0..native.count {
        let e =
            &b[native.index_offset + i * format::LEGACY_ENTRY_SIZE..][..format::LEGACY_ENTRY_SIZE];
        let hash = u64_at(e, legacy::NAME_HASH);
        let tagged = |err: Error| err.for_tensor(&format!("{hash:#018x}"));
        let (off, size) = legacy_entry_rules(e).map_err(tagged)?;
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

/// The rules of one legacy entry: a known dtype, rank <= 5, a byte size
/// equal to dtype x shape. Returns the (relative) data offset and size.
fn legacy_entry_rules(e: &[u8]) -> Result<(u64, u64)> {
    let code = e[legacy::DTYPE] as u16;
    let dtype = DType::from_code(code)
        .filter(|d| (*d as u16) < 12)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Unsupported,
                format!("unknown legacy dtype code {code}"),
            )
        })?;
    let ndim = e[legacy::NDIM] as usize;
    if ndim > format::LEGACY_MAX_DIMS {
        return Err(Error::format(format!(
            "rank {ndim} exceeds the legacy maximum of 5"
        )));
    }
    let mut dims = [0u64; format::LEGACY_MAX_DIMS];
    for (d, s) in dims.iter_mut().enumerate().take(ndim) {
        *s = u32_at(e, legacy::SHAPE + 4 * d) as u64;
    }
    let shape = &dims[..ndim];
    let size = u64_at(e, legacy::DATA_SIZE);
    let expect = format::numel(shape).and_then(|n| dtype.byte_size(n));
    if expect != Some(size) {
        return Err(Error::format(format!(
            "byte size {size} does not match shape {shape:?} of {dtype}"
        )));
    }
    Ok((u64_at(e, legacy::DATA_OFFSET), size))
}

impl Native {
    /// Recomputes every name hash (`verify`; open trusts the header
    /// checksum for them). A lying hash only hides the tensor from lookups
    /// by name, but two equal names with different hashes would otherwise
    /// pass the uniqueness rule.
    pub fn check_hashes(&self, b: &[u8]) -> Result<()> {
        if self.is_legacy() {
            return Ok(());
        }
        for i in 0..self.count {
            let name = self.entry_name_bytes(b, i);
            if self.entry_hash(b, i) != format::fnv1a(name) {
                let name = String::from_utf8_lossy(name);
                return Err(Error::format("name hash does not match the name").for_tensor(&name));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::Rng;

    fn random_entry(r: &mut Rng) -> [u8; format::ENTRY_SIZE] {
        let mut e = [0u8; format::ENTRY_SIZE];
        let code = match r.next() % 8 {
            0 => r.next() as u16,
            1 => r.pick(&[22u16, 255, 256, 257, 511, 512, u16::MAX]),
            _ => r.pick(DType::ALL) as u16,
        };
        e[ent::DTYPE..ent::DTYPE + 2].copy_from_slice(&code.to_le_bytes());
        let ndim = r.pick(&[0u8, 1, 1, 2, 2, 3, 4, 8, 9, 200]);
        e[ent::NDIM] = ndim;
        e[ent::FLAGS] = r.pick(&[0u8, 0, 0, 0, 0, 0, 0, 1]);
        let small = [0u64, 1, 2, 3, 6, 31, 32, 64, 96, 256, 512, 1000];
        let dims = [0u64, 1, 32, 256, 1 << 32, 1 << 40, u64::MAX];
        let mut shape = [0u64; format::MAX_DIMS];
        for (d, slot) in shape.iter_mut().enumerate() {
            let used = d < ndim as usize;
            *slot = match (used, r.next() % 16) {
                (true, 0..=1) | (false, 0) => r.pick(&dims),
                (true, _) => r.pick(&small),
                (false, _) => 0,
            };
        }
        for (d, v) in shape.iter().enumerate() {
            e[ent::SHAPE + 8 * d..][..8].copy_from_slice(&v.to_le_bytes());
        }
        let right = DType::from_code(code).and_then(|t| {
            format::numel(&shape[..(ndim as usize).min(8)]).and_then(|n| t.byte_size(n))
        });
        let size = match (right, r.next() % 4) {
            (Some(s), 0..=1) => s,
            (Some(s), 2) => s.wrapping_add(1),
            _ => r.pick(&dims),
        };
        e[ent::DATA_SIZE..][..8].copy_from_slice(&size.to_le_bytes());
        e
    }

    #[test]
    fn the_fast_entry_check_agrees_with_the_rules() {
        let mut r = Rng(0x2545_f491_4f6c_dd1d);
        let (mut passed, mut failed) = (0, 0);
        for _ in 0..200_000 {
            let e = random_entry(&mut r);
            let rules = entry_rules(&e).ok().map(|(_, size)| size);
            assert_eq!(entry_size_fast(&e), rules, "entry {e:?}");
            if rules.is_some() {
                passed += 1
            } else {
                failed += 1
            }
        }
        // Both outcomes are well represented, or the test proves little.
        assert!(
            passed > 20_000 && failed > 20_000,
            "{passed} passed, {failed} failed"
        );
    }

    #[test]
    fn the_code_table_matches_every_dtype() {
        for code in 0..=u16::MAX {
            let want =
                DType::from_code(code).map_or((0, 0), |d| (d.block_elems(), d.block_bytes()));
            assert_eq!(DType::block_of_code(code), want, "code {code}");
        }
    }
}
