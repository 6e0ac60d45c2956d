//! The appendable layout's on-disk pieces (FORMAT.md, "Appendable layout"):
//! the two root slots and the index region each generation appends.

use crate::format::{self, u32_at, u64_at, PAGE};

/// The root area: two slots, each on its own page, so a torn write of one
/// never reaches the other.
pub const ROOT_AREA: u64 = 2 * PAGE;
/// Bytes of one root slot.
pub const SLOT_SIZE: usize = 64;
/// Magic bytes of a root slot.
pub const SLOT_MAGIC: [u8; 8] = *b"TZROOT\0\0";
/// Magic bytes of an index region.
pub const REGION_MAGIC: [u8; 8] = *b"TZINDEX\0";
/// Bytes of a region's fixed header.
pub const REGION_HEADER: usize = 64;
/// Regions start on multiples of this, so their entries are naturally aligned.
pub const REGION_ALIGN: u64 = 8;

/// Slot field offsets.
mod slot {
    pub const GENERATION: usize = 8;
    pub const REGION_OFFSET: usize = 16;
    pub const REGION_SIZE: usize = 24;
    pub const REGION_CHECKSUM: usize = 32;
    pub const CHECKSUM: usize = 56;
}

/// Region header field offsets.
pub(crate) mod reg {
    pub const GENERATION: usize = 8;
    pub const TENSOR_COUNT: usize = 16;
    pub const METADATA_SIZE: usize = 20;
    pub const NAMES_SIZE: usize = 24;
    pub const RESERVED: usize = 28;
}

/// The root area's offset: generation 0's end rounded up to a page.
pub fn root_offset(gen0_end: u64) -> Option<u64> {
    format::align_up(gen0_end, PAGE)
}

/// Offset of the slot that holds generation `g` (slot `g % 2`).
pub fn slot_offset(root: u64, generation: u64) -> u64 {
    root + (generation % 2) * PAGE
}

/// What a root slot says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub generation: u64,
    pub region_offset: u64,
    pub region_size: u64,
    pub region_checksum: u64,
}

impl Slot {
    /// The slot's 64 bytes, with its own checksum.
    #[cfg(feature = "write")]
    pub fn encode(&self) -> [u8; SLOT_SIZE] {
        let mut s = [0u8; SLOT_SIZE];
        s[..8].copy_from_slice(&SLOT_MAGIC);
        s[slot::GENERATION..][..8].copy_from_slice(&self.generation.to_le_bytes());
        s[slot::REGION_OFFSET..][..8].copy_from_slice(&self.region_offset.to_le_bytes());
        s[slot::REGION_SIZE..][..8].copy_from_slice(&self.region_size.to_le_bytes());
        s[slot::REGION_CHECKSUM..][..8].copy_from_slice(&self.region_checksum.to_le_bytes());
        let sum = format::checksum(&s[..slot::CHECKSUM]);
        s[slot::CHECKSUM..].copy_from_slice(&sum.to_le_bytes());
        s
    }

    /// Decodes the slot at `b[at..]`: `None` unless the magic, the slot
    /// checksum and the reserved bytes are right and the generation belongs
    /// in this slot (`slot_index`); the region is checked by the caller.
    pub fn decode(b: &[u8], at: u64, slot_index: u64) -> Option<Slot> {
        let s = b.get(usize::try_from(at).ok()?..)?.get(..SLOT_SIZE)?;
        if s[..8] != SLOT_MAGIC
            || format::checksum(&s[..slot::CHECKSUM]) != u64_at(s, slot::CHECKSUM)
            || s[40..slot::CHECKSUM].iter().any(|&x| x != 0)
        {
            return None;
        }
        let generation = u64_at(s, slot::GENERATION);
        if generation == 0 || generation % 2 != slot_index {
            return None;
        }
        Some(Slot {
            generation,
            region_offset: u64_at(s, slot::REGION_OFFSET),
            region_size: u64_at(s, slot::REGION_SIZE),
            region_checksum: u64_at(s, slot::REGION_CHECKSUM),
        })
    }
}

/// Offsets inside a region, relative to its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionLayout {
    pub index: u64,
    pub order: u64,
    pub names: u64,
    pub end: u64,
}

impl RegionLayout {
    /// Computes the layout from the counts, or `None` on overflow.
    pub fn new(metadata_size: u64, count: u64, names_size: u64) -> Option<RegionLayout> {
        let index = format::align_up(
            (REGION_HEADER as u64).checked_add(metadata_size)?,
            REGION_ALIGN,
        )?;
        let order = index.checked_add(count.checked_mul(format::ENTRY_SIZE as u64)?)?;
        let names = order.checked_add(count.checked_mul(4)?)?;
        Some(RegionLayout {
            index,
            order,
            names,
            end: names.checked_add(names_size)?,
        })
    }
}

/// The counts a region header declares.
pub struct RegionHeader {
    pub generation: u64,
    pub count: u64,
    pub metadata_size: u64,
    pub names_size: u64,
}

impl RegionHeader {
    /// Reads a region header (the caller checked there are 64 bytes).
    pub fn decode(r: &[u8]) -> Option<RegionHeader> {
        let reserved_zero = u32_at(r, reg::RESERVED) == 0 && r[32..64].iter().all(|&x| x == 0);
        (r[..8] == REGION_MAGIC && reserved_zero).then(|| RegionHeader {
            generation: u64_at(r, reg::GENERATION),
            count: u32_at(r, reg::TENSOR_COUNT) as u64,
            metadata_size: u32_at(r, reg::METADATA_SIZE) as u64,
            names_size: u32_at(r, reg::NAMES_SIZE) as u64,
        })
    }

    /// Writes the header into the first 64 bytes of `r`.
    #[cfg(feature = "write")]
    pub fn encode(&self, r: &mut [u8]) {
        r[..8].copy_from_slice(&REGION_MAGIC);
        r[reg::GENERATION..][..8].copy_from_slice(&self.generation.to_le_bytes());
        r[reg::TENSOR_COUNT..][..4].copy_from_slice(&(self.count as u32).to_le_bytes());
        r[reg::METADATA_SIZE..][..4].copy_from_slice(&(self.metadata_size as u32).to_le_bytes());
        r[reg::NAMES_SIZE..][..4].copy_from_slice(&(self.names_size as u32).to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "write")]
    fn slots_round_trip_and_refuse_damage() {
        let s = Slot {
            generation: 3,
            region_offset: 81920,
            region_size: 300,
            region_checksum: 0xdead_beef,
        };
        let mut b = vec![0u8; 2 * PAGE as usize];
        b[PAGE as usize..][..SLOT_SIZE].copy_from_slice(&s.encode());
        assert_eq!(Slot::decode(&b, PAGE, 1), Some(s));
        // In the wrong slot, torn, or out of the buffer: not a slot.
        assert_eq!(Slot::decode(&b, 0, 0), None);
        b[PAGE as usize + 20] ^= 1;
        assert_eq!(Slot::decode(&b, PAGE, 1), None);
        assert_eq!(Slot::decode(&b, u64::MAX, 1), None);
        assert_eq!(slot_offset(8192, 3), 8192 + PAGE);
        assert_eq!(slot_offset(8192, 4), 8192);
    }

    #[test]
    fn region_layout_is_aligned_and_overflow_checked() {
        let l = RegionLayout::new(3, 2, 10).unwrap();
        assert_eq!(l.index, 72);
        assert_eq!(l.order, 72 + 224);
        assert_eq!(l.end, 72 + 224 + 8 + 10);
        assert!(RegionLayout::new(u64::MAX - 10, 1, 1).is_none());
        assert!(RegionLayout::new(0, u64::MAX / 4, 0).is_none());
    }
}
