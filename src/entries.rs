//! Encoding an index (entries sorted by (hash, name), the position-order
//! table and the names), shared by the writer (generation 0) and the
//! appender (the index regions of later generations).

use crate::dtype::DType;
use crate::format::{self, ent, MAX_DIMS};

/// One tensor as the index describes it.
#[derive(Debug, Clone)]
pub(crate) struct EntryOut<'a> {
    pub name: &'a [u8],
    pub hash: u64,
    pub dtype: DType,
    pub ndim: u8,
    pub shape: [u64; MAX_DIMS],
    /// Relative to the header's `data_offset`.
    pub offset: u64,
    pub size: u64,
    pub checksum: u64,
    /// Place in insertion order; the positions must be 0..len.
    pub position: u32,
}

/// Bytes the names of `entries` take in the name table.
pub(crate) fn names_size(entries: &[EntryOut<'_>]) -> u64 {
    entries.iter().map(|e| e.name.len() as u64 + 1).sum()
}

/// Writes the entries at `index`, the order table at `order` and the names
/// at `names` (offsets into `r`, which the caller sized and zeroed).
pub(crate) fn write_index(
    r: &mut [u8],
    index: usize,
    order: usize,
    names: usize,
    entries: &mut [EntryOut<'_>],
) {
    let put32 = |r: &mut [u8], at: usize, v: u32| r[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let put64 = |r: &mut [u8], at: usize, v: u64| r[at..at + 8].copy_from_slice(&v.to_le_bytes());
    entries.sort_unstable_by(|a, b| (a.hash, a.name).cmp(&(b.hash, b.name)));
    // Names go in index order too, so validating them at open reads the
    // name table front to back.
    let mut name_at = names;
    for (slot, p) in entries.iter().enumerate() {
        let at = index + slot * format::ENTRY_SIZE;
        put64(r, at + ent::NAME_HASH, p.hash);
        put32(r, at + ent::NAME_OFFSET, (name_at - names) as u32);
        r[name_at..name_at + p.name.len()].copy_from_slice(p.name);
        name_at += p.name.len() + 1;
        put32(r, at + ent::NAME_LEN, p.name.len() as u32);
        r[at + ent::DTYPE..at + ent::DTYPE + 2].copy_from_slice(&(p.dtype as u16).to_le_bytes());
        r[at + ent::NDIM] = p.ndim;
        put32(r, at + ent::POSITION, p.position);
        for (d, &s) in p.shape.iter().enumerate() {
            put64(r, at + ent::SHAPE + 8 * d, s);
        }
        put64(r, at + ent::DATA_OFFSET, p.offset);
        put64(r, at + ent::DATA_SIZE, p.size);
        put64(r, at + ent::CHECKSUM, p.checksum);
        put32(r, order + 4 * p.position as usize, slot as u32);
    }
}
