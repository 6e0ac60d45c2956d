//! The byte layout of .tenzor files (FORMAT.md in code): constants, the
//! header, index entries, and small helpers shared by the reader and writer.

/// The 8 magic bytes at offset 0.
pub const MAGIC: [u8; 8] = *b"TENZOR\0\0";
/// The version this crate writes.
pub const VERSION: u32 = 2;
/// The legacy version written by the original Zig implementation.
pub const VERSION_LEGACY: u32 = 1;
/// Size of the fixed header.
pub const HEADER_SIZE: usize = 64;
/// The index and the data section start on multiples of this.
pub const PAGE: u64 = 4096;
/// Size of one version-2 index entry.
pub const ENTRY_SIZE: usize = 112;
/// Size of one legacy version-1 index entry.
pub const LEGACY_ENTRY_SIZE: usize = 48;
/// Largest rank a tensor may have.
pub const MAX_DIMS: usize = 8;
/// Largest rank of a legacy version-1 tensor.
pub const LEGACY_MAX_DIMS: usize = 5;
/// Default per-tensor alignment.
pub const DEFAULT_ALIGNMENT: u64 = 64;
/// Smallest allowed per-tensor alignment.
pub const MIN_ALIGNMENT: u64 = 64;
/// Largest allowed per-tensor alignment.
pub const MAX_ALIGNMENT: u64 = 65536;
/// Flag bits 0..=15 must be understood by a reader: a reader that finds a
/// required bit it does not know refuses the file as unsupported.
pub const REQUIRED_FLAGS_MASK: u32 = 0x0000_ffff;
/// Required flag: the file is in the appendable layout (root slots after the
/// first generation; FORMAT.md, "Appendable layout").
pub const FLAG_APPENDABLE: u32 = 0x1;
/// Required flag: an in-place edit is (or was, when a process died) under
/// way; tensor checksums may be stale (FORMAT.md, "Edit mark").
pub const FLAG_EDITING: u32 = 0x2;
/// Flag bits the header checksum reads as zero, so that each can be set and
/// cleared by a one-byte write (byte 12) without rewriting the checksum.
pub const FLAGS_OUTSIDE_CHECKSUM: u32 = FLAG_APPENDABLE | FLAG_EDITING;

/// Header field offsets (version 2; version 1 shares the first 44 bytes).
#[allow(missing_docs)]
pub mod hdr {
    pub const MAGIC: usize = 0;
    pub const VERSION: usize = 8;
    pub const FLAGS: usize = 12;
    pub const TENSOR_COUNT: usize = 16;
    pub const ZERO: usize = 20;
    pub const INDEX_OFFSET: usize = 24;
    pub const DATA_OFFSET: usize = 32;
    pub const METADATA_SIZE: usize = 40;
    pub const ALIGNMENT: usize = 44;
    pub const CHECKSUM: usize = 48;
    pub const NAMES_SIZE: usize = 56;
    pub const RESERVED: usize = 60;
}

/// Version-2 index entry field offsets.
#[allow(missing_docs)]
pub mod ent {
    pub const NAME_HASH: usize = 0;
    pub const NAME_OFFSET: usize = 8;
    pub const NAME_LEN: usize = 12;
    pub const DTYPE: usize = 16;
    pub const NDIM: usize = 18;
    pub const FLAGS: usize = 19;
    pub const POSITION: usize = 20;
    pub const SHAPE: usize = 24;
    pub const DATA_OFFSET: usize = 88;
    pub const DATA_SIZE: usize = 96;
    pub const CHECKSUM: usize = 104;
}

/// Legacy version-1 index entry field offsets.
#[allow(missing_docs)]
pub mod legacy {
    pub const NAME_HASH: usize = 0;
    pub const DTYPE: usize = 8;
    pub const NDIM: usize = 9;
    pub const SHAPE: usize = 12;
    pub const DATA_OFFSET: usize = 32;
    pub const DATA_SIZE: usize = 40;
}

/// 64-bit FNV-1a of the UTF-8 bytes of a name, as the original implementation.
pub const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    h
}

/// The xxh3-64 checksum tenzor uses for tensors and the header region.
pub fn checksum(bytes: &[u8]) -> u64 {
    twox_hash::XxHash3_64::oneshot(bytes)
}

/// [`checksum`] computed piece by piece: feeding the pieces of a byte
/// string in order gives the checksum of the whole string.
///
/// twox-hash picks AVX2 or NEON at run time: a portable build of the
/// library (no `-C target-cpu`) hashes about 1.8x faster on machines that
/// have them than with a compile-time choice, which matters to `verify`,
/// the writer and the header checksum of every full-validation open.
pub struct Checksum(twox_hash::XxHash3_64);

impl Default for Checksum {
    fn default() -> Checksum {
        Checksum::new()
    }
}

impl Checksum {
    /// An empty checksum (of zero bytes so far).
    pub fn new() -> Checksum {
        Checksum(twox_hash::XxHash3_64::with_seed(0))
    }

    /// Appends `bytes` to what is hashed.
    pub fn update(&mut self, bytes: &[u8]) {
        std::hash::Hasher::write(&mut self.0, bytes);
    }

    /// The checksum of everything appended so far.
    pub fn digest(&self) -> u64 {
        std::hash::Hasher::finish(&self.0)
    }
}

/// Checksum of the region before the data, with the header's checksum field
/// read as zero and the flag bits in [`FLAGS_OUTSIDE_CHECKSUM`] read as
/// clear (files that never set them hash exactly as before those flags
/// existed). A region too short to hold the fields is hashed as it is.
pub fn header_region_checksum(region: &[u8]) -> u64 {
    if region.len() < hdr::CHECKSUM + 8 {
        return checksum(region);
    }
    let flags = u32_at(region, hdr::FLAGS) & !FLAGS_OUTSIDE_CHECKSUM;
    let mut h = Checksum::new();
    h.update(&region[..hdr::FLAGS]);
    h.update(&flags.to_le_bytes());
    h.update(&region[hdr::FLAGS + 4..hdr::CHECKSUM]);
    h.update(&[0u8; 8]);
    h.update(&region[hdr::CHECKSUM + 8..]);
    h.digest()
}

/// Rounds `v` up to a multiple of `align` (a power of two), or `None` on overflow.
pub fn align_up(v: u64, align: u64) -> Option<u64> {
    debug_assert!(align.is_power_of_two());
    v.checked_add(align - 1).map(|x| x & !(align - 1))
}

/// Reads a little-endian u16 at `off` (the caller checked the bounds).
pub fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

/// Reads a little-endian u32 at `off` (the caller checked the bounds).
pub fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
}

/// Reads a little-endian u64 at `off` (the caller checked the bounds).
pub fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

/// The offsets of every region of a version-2 file, derived from the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Start of the index (a multiple of [`PAGE`]).
    pub index_offset: u64,
    /// Start of the position-order table (right after the entries).
    pub order_offset: u64,
    /// Start of the name table (right after the order table).
    pub names_offset: u64,
    /// End of the name table.
    pub names_end: u64,
    /// Smallest legal start of the data section.
    pub min_data_offset: u64,
}

impl Layout {
    /// Computes the layout, or `None` when a size overflows.
    pub fn new(
        metadata_size: u64,
        tensor_count: u64,
        names_size: u64,
        alignment: u64,
    ) -> Option<Layout> {
        let index_offset = align_up((HEADER_SIZE as u64).checked_add(metadata_size)?, PAGE)?;
        let order_offset =
            index_offset.checked_add(tensor_count.checked_mul(ENTRY_SIZE as u64)?)?;
        let names_offset = order_offset.checked_add(tensor_count.checked_mul(4)?)?;
        let names_end = names_offset.checked_add(names_size)?;
        let min_data_offset = align_up(names_end, data_section_alignment(alignment))?;
        Some(Layout {
            index_offset,
            order_offset,
            names_offset,
            names_end,
            min_data_offset,
        })
    }
}

/// The data section starts on a multiple of this: a page, or the tensor
/// alignment when that is larger, so every tensor's absolute offset is aligned.
pub fn data_section_alignment(alignment: u64) -> u64 {
    alignment.max(PAGE)
}

/// True when `a` is a legal per-tensor alignment.
pub fn valid_alignment(a: u64) -> bool {
    a.is_power_of_two() && (MIN_ALIGNMENT..=MAX_ALIGNMENT).contains(&a)
}

/// Checks a tensor name: non-empty, no NUL. (UTF-8 is guaranteed by `&str`.)
pub fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("name is empty");
    }
    if name.as_bytes().contains(&0) {
        return Err("name contains a NUL byte");
    }
    if name.len() > u32::MAX as usize - 1 {
        return Err("name is longer than 4 GiB");
    }
    Ok(())
}

/// Number of elements of a shape, or `None` when the running product
/// overflows, outermost dimension first (the rule of .tenzor files and of
/// the safetensors crate, which refuses `[2^63 - 1, 4, 0]`).
pub fn numel(shape: &[u64]) -> Option<u64> {
    shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d))
}

/// Like [`numel`], but 0 for any shape holding a zero dimension, whatever
/// the others: GGUF lists dimensions innermost first, so a tensor .tenzor
/// accepts (`[0, 2^40, 2^40]`) must not overflow read in the other order.
pub fn numel_any_order(shape: &[u64]) -> Option<u64> {
    if shape.contains(&0) {
        return Some(0);
    }
    numel(shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_reference_vectors() {
        // Reference values of 64-bit FNV-1a.
        assert_eq!(fnv1a(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn layout_is_page_aligned_and_overflow_checked() {
        let l = Layout::new(10, 3, 20, 64).unwrap();
        assert_eq!(l.index_offset, 4096);
        assert_eq!(l.order_offset, 4096 + 3 * 112);
        assert_eq!(l.names_offset, l.order_offset + 12);
        assert_eq!(l.min_data_offset, 8192);
        assert_eq!(Layout::new(10, 0, 0, 65536).unwrap().min_data_offset, 65536);
        assert!(Layout::new(u64::MAX - 10, 1, 1, 64).is_none());
        assert!(Layout::new(0, u64::MAX / 2, 1, 64).is_none());
    }

    #[test]
    fn names_and_alignment_rules() {
        assert!(check_name("").is_err());
        assert!(check_name("a\0b").is_err());
        assert!(check_name("ключ").is_ok());
        assert!(valid_alignment(64) && valid_alignment(4096) && valid_alignment(65536));
        assert!(
            !valid_alignment(0)
                && !valid_alignment(32)
                && !valid_alignment(96)
                && !valid_alignment(131072)
        );
        assert_eq!(numel(&[]), Some(1));
        assert_eq!(numel(&[3, 0]), Some(0));
        assert_eq!(numel(&[1 << 32, 1 << 32]), None);
        // A zero dimension: in order, the running product decides; in any
        // order, no elements.
        assert_eq!(numel(&[1 << 40, 1 << 40, 0]), None);
        assert_eq!(numel(&[0, 1 << 40, 1 << 40]), Some(0));
        assert_eq!(numel_any_order(&[1 << 40, 1 << 40, 0]), Some(0));
        assert_eq!(numel_any_order(&[1 << 40, 1 << 40]), None);
    }
}
