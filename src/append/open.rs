//! Opening the appendable layout: after generation 0 (the canonical file the
//! header describes) has been validated, find the newest committed
//! generation and validate its index region (FORMAT.md, "Opening").

use super::layout::{root_offset, slot_offset, RegionHeader, RegionLayout, Slot, ROOT_AREA};
use crate::error::{Error, Result};
use crate::format::{self, PAGE};
use crate::native::{self, Native, Placed};

/// Which generation of a version-2 file is open, and where things are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Root {
    /// The header's APPENDABLE flag is set.
    pub appendable: bool,
    /// The generation open (0: the one the header describes).
    pub generation: u64,
    /// End of generation 0's data (absolute).
    pub gen0_end: u64,
    /// Start of the root area (generation 0's end rounded up to a page).
    pub root_offset: u64,
    /// Offset and size of the open generation's index region (0, 0 for 0).
    pub region_offset: u64,
    /// Bytes of the region.
    pub region_size: u64,
    /// The last byte any committed root can reach: appends start after it,
    /// and bytes after it are an interrupted append's leftovers.
    pub committed_end: u64,
    /// Appendable files: bytes from `data_offset` to `committed_end` used
    /// neither by a tensor of this generation nor by its index (superseded
    /// tensors, older indexes, padding, the root area); 0 when canonical.
    pub dead_bytes: u64,
    /// A root slot whose own checksum holds but whose region does not match
    /// (or lies outside the file) and whose generation is newer than the one
    /// open: not a torn commit (regions are durable before their slot is
    /// written) but damage, which `verify` reports.
    pub damaged_newer: Option<u64>,
}

/// Validates what follows generation 0 and returns the file's current view:
/// `gen0` itself for a canonical file (after checking its tail rule), or
/// the newest committed generation of an appendable one.
pub(crate) fn resolve(b: &[u8], gen0: Native, gen0_end: u64, gen0_live: u64) -> Result<Native> {
    let len = b.len() as u64;
    let r = root_offset(gen0_end).ok_or_else(|| Error::format("file size overflows"))?;
    let mut root = Root {
        appendable: gen0.flags & format::FLAG_APPENDABLE != 0,
        generation: 0,
        gen0_end,
        root_offset: r,
        region_offset: 0,
        region_size: 0,
        committed_end: gen0_end,
        dead_bytes: 0,
        damaged_newer: None,
    };
    if !root.appendable {
        check_canonical_tail(b, gen0_end, r)?;
        // Padding between packed tensors is layout, not dead space.
        return Ok(Native {
            append: Some(root),
            ..gen0
        });
    }
    root.committed_end = r + ROOT_AREA;
    if len < root.committed_end {
        return Err(Error::format(format!(
            "appendable file is truncated: {len} bytes, its root area ends at {}",
            root.committed_end
        )));
    }
    let newest = newest_slot(b, &root);
    let open_gen = newest.map_or(0, |s| s.generation);
    root.damaged_newer = (0..2)
        .filter_map(|k| Slot::decode(b, slot_offset(root.root_offset, k), k))
        .map(|s| s.generation)
        .filter(|&g| g > open_gen)
        .max();
    let Some(slot) = newest else {
        // Both slots unusable: generation 0 is the newest committed state.
        root.dead_bytes = root.committed_end - gen0.data_offset as u64 - gen0_live;
        return Ok(Native {
            append: Some(root),
            ..gen0
        });
    };
    open_region(b, gen0, root, slot).map_err(|e| {
        Error::new(
            e.kind(),
            format!(
                "generation {} (index region at {}): {}",
                slot.generation,
                slot.region_offset,
                e.message()
            ),
        )
    })
}

/// A canonical file ends with its last tensor, except for the leftovers of
/// an append that never committed: zeros up to the root area, then at least
/// the root area. Anything else after the last tensor is refused.
fn check_canonical_tail(b: &[u8], gen0_end: u64, r: u64) -> Result<()> {
    let len = b.len() as u64;
    if len == gen0_end {
        return Ok(());
    }
    let is_append_tail =
        len >= r + ROOT_AREA && b[gen0_end as usize..r as usize].iter().all(|&x| x == 0);
    if !is_append_tail {
        return Err(Error::format(format!(
            "{} trailing bytes after the last tensor",
            len - gen0_end
        )));
    }
    Ok(())
}

/// The valid slot with the highest generation: checksum right, region in
/// bounds (after the root area, inside the file) and its checksum right.
fn newest_slot(b: &[u8], root: &Root) -> Option<Slot> {
    (0..2)
        .filter_map(|k| Slot::decode(b, slot_offset(root.root_offset, k), k))
        .filter(|s| {
            let end = s.region_offset.checked_add(s.region_size);
            s.region_offset >= root.committed_end
                && s.region_offset % super::layout::REGION_ALIGN == 0
                && s.region_size >= super::layout::REGION_HEADER as u64
                && end.is_some_and(|e| e <= b.len() as u64)
                && format::checksum(&b[s.region_offset as usize..][..s.region_size as usize])
                    == s.region_checksum
        })
        .max_by_key(|s| s.generation)
}

/// Validates the region `slot` names, as strictly as generation 0 (only the
/// data placement rule differs), and returns the view it describes.
fn open_region(b: &[u8], gen0: Native, mut root: Root, slot: Slot) -> Result<Native> {
    let start = slot.region_offset as usize;
    let region = &b[start..][..slot.region_size as usize];
    let h = RegionHeader::decode(region)
        .ok_or_else(|| Error::format("bad magic or reserved bytes in the region header"))?;
    if h.generation != slot.generation {
        return Err(Error::format(format!(
            "region says generation {}, its root slot {}",
            h.generation, slot.generation
        )));
    }
    let l = RegionLayout::new(h.metadata_size, h.count, h.names_size)
        .filter(|l| l.end == slot.region_size)
        .ok_or_else(|| Error::format("region sizes disagree with the region's length"))?;
    let meta_end = super::layout::REGION_HEADER + h.metadata_size as usize;
    native::check_metadata(&region[super::layout::REGION_HEADER..meta_end])?;
    if region[meta_end..l.index as usize].iter().any(|&x| x != 0) {
        return Err(Error::format("padding after the metadata is not zero"));
    }
    let n = Native {
        count: h.count as usize,
        index_offset: start + l.index as usize,
        order_offset: start + l.order as usize,
        names_offset: start + l.names as usize,
        names_size: h.names_size as usize,
        metadata_size: h.metadata_size as usize,
        metadata_offset: start + super::layout::REGION_HEADER,
        ..gen0
    };
    let placed = native::check_index(b, &n)?;
    root.generation = slot.generation;
    root.region_offset = slot.region_offset;
    root.region_size = slot.region_size;
    root.committed_end = slot.region_offset + slot.region_size;
    let live = check_scattered(b, &n, &root, placed)?;
    root.dead_bytes = root.committed_end - n.data_offset as u64 - live - root.region_size;
    Ok(Native {
        append: Some(root),
        ..n
    })
}

/// The appendable data rule: every tensor aligned, between `data_offset`
/// and its region, outside the root area, and no two overlapping. Returns
/// the bytes of tensor data.
fn check_scattered(b: &[u8], n: &Native, root: &Root, mut placed: Vec<Placed>) -> Result<u64> {
    let base = n.data_offset as u64;
    let mut live = 0u64;
    for p in &placed {
        let tagged = |err: Error| native::tag_with_name(b, n, p.slot, err);
        let start = base.checked_add(p.offset);
        let end = start.and_then(|s| s.checked_add(p.size));
        let (Some(start), Some(end)) = (start, end) else {
            return Err(tagged(Error::format("data range overflows")));
        };
        if start % n.alignment != 0 {
            return Err(tagged(Error::format(format!(
                "data offset {start} is not a multiple of the alignment {}",
                n.alignment
            ))));
        }
        if end > root.region_offset {
            return Err(tagged(Error::format(format!(
                "data [{start}, {end}) does not lie before its index region"
            ))));
        }
        if p.size > 0 && start < root.root_offset + ROOT_AREA && end > root.root_offset {
            return Err(tagged(Error::format("data overlaps the root area")));
        }
        live += p.size;
    }
    placed.retain(|p| p.size > 0);
    placed.sort_unstable_by_key(|p| p.offset);
    for w in placed.windows(2) {
        if w[1].offset < w[0].offset + w[0].size {
            let e = Error::format("data overlaps another tensor");
            return Err(native::tag_with_name(b, n, w[1].slot, e));
        }
    }
    debug_assert!(root.root_offset % PAGE == 0);
    Ok(live)
}
