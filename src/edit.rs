//! In-place editing (mode `r+`): an existing file mapped read-write and
//! shared, mutable views of tensor bytes, and the edit mark that keeps the
//! checksums of a .tenzor file honest across crashes (FORMAT.md, "Edit mark").
//!
//! Structure never changes here: no tensor is added, renamed, reshaped or
//! retyped; only tensor bytes are, and for .tenzor the checksums that
//! describe them.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::MmapMut;

use crate::error::{Error, ErrorKind, Result};
use crate::format::{self, hdr};
use crate::lock;
use crate::reader::{self, Format, Kind};
use crate::tensor::{Element, Tensor};

/// An existing file opened for editing tensor bytes in place.
///
/// Opening takes the file's write lock (a second editor or appender gets
/// [`ErrorKind::Busy`]). The first mutable view of a .tenzor v2 file sets
/// the edit mark on disk (durably) before it is handed out; [`Editor::flush`]
/// makes the written bytes durable, stores the recomputed checksums of every
/// tensor handed out for writing, rewrites the header checksum and clears the
/// mark. In the appendable layout, whose committed indexes are never
/// overwritten, the flush commits the new checksums as a new generation
/// instead (the append commit protocol). [`Editor::close`] (and, ignoring
/// errors, dropping) flushes.
///
/// The mapping is shared: readers that have the file mapped (any
/// [`crate::TensorFile`], in this process or another) see the new bytes as
/// they are written, before any flush. Safetensors, GGUF and legacy v1
/// files are edited the same way, but they have no checksums to update and
/// get no edit mark: a crash may leave a tensor half-written, unnoticed.
///
/// A file found with the edit mark set (a crash mid-edit) is refused until
/// [`rehash`] repairs it; [`crate::TensorFile`] still opens it read-only.
pub struct Editor {
    path: PathBuf,
    file: File,
    map: MmapMut,
    kind: Kind,
    /// Positions of the tensors handed out for writing since the last flush.
    dirty: BTreeSet<usize>,
    /// This editor set the edit mark and has not cleared it yet.
    marked: bool,
    /// Released after everything above (a flush on drop runs while held).
    _lock: lock::WriteLock,
}

impl std::fmt::Debug for Editor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Editor")
            .field("path", &self.path)
            .field("format", &self.format())
            .field("tensors", &self.len())
            .field("dirty", &self.dirty.len())
            .finish_non_exhaustive()
    }
}

/// What to do with an edit mark found at open.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Marked {
    Refuse,
    Repair,
}

impl Editor {
    /// Opens `path` (.tenzor v2 or v1, .safetensors or .gguf; not a shard
    /// index: edit its shards) for editing, validating it as
    /// [`crate::TensorFile::open`] does.
    ///
    /// Errors: the file cannot be opened read-write (permissions, read-only
    /// filesystem: [`ErrorKind::Io`]); another editor or appender holds it
    /// ([`ErrorKind::Busy`]); it carries the edit mark of an interrupted
    /// edit ([`ErrorKind::Checksum`]; run [`rehash`] first); or it is
    /// invalid. Canonical and appendable .tenzor files are both editable.
    pub fn open(path: impl AsRef<Path>) -> Result<Editor> {
        Editor::open_marked(path.as_ref(), Marked::Refuse)
    }

    fn open_marked(path: &Path, marked: Marked) -> Result<Editor> {
        let (file, _) = reader::open_regular_for(path, true)?;
        let lock = lock::lock_for_writing(&file, path)?;
        // SAFETY: a shared read-write map. Other processes changing the
        // file's length while it is mapped is undefined behaviour, as for
        // every mapping (documented on TensorFile); the write lock keeps
        // other tenzor writers out.
        let map = unsafe { MmapMut::map_mut(&file) }
            .map_err(|e| Error::io(path, "cannot memory-map for editing", e))?;
        let kind = reader::parse(&map, None).map_err(|e| e.in_file(path))?;
        let mark = matches!(&kind, Kind::Native(n) if n.edit_mark());
        if mark && marked == Marked::Refuse {
            return Err(Error::new(
                ErrorKind::Checksum,
                "carries the edit mark of an interrupted edit (checksums may be stale); \
                 run `tenzor rehash` on it before editing",
            )
            .in_file(path));
        }
        Ok(Editor {
            path: path.to_path_buf(),
            file,
            map,
            kind,
            dirty: BTreeSet::new(),
            marked: mark,
            _lock: lock,
        })
    }

    /// The path it was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Which format the file holds.
    pub fn format(&self) -> Format {
        self.kind.format()
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.kind.len()
    }

    /// True when the file holds no tensor.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tensor called `name`, read-only, showing the bytes as they are
    /// now (edits included). Its stored checksum is the one of the last
    /// flush (for the appendable layout: the one stored when it was opened).
    pub fn get(&self, name: &str) -> Option<Tensor<'_>> {
        self.kind.get(&self.map, name)
    }

    /// The tensor at `position` (insertion order), read-only.
    pub fn get_at(&self, position: usize) -> Option<Tensor<'_>> {
        self.kind.get_at(&self.map, position)
    }

    /// The bytes of the tensor called `name`, writable in place. Exactly
    /// the tensor's bytes: a slice cannot be written past its end.
    pub fn data_mut(&mut self, name: &str) -> Result<&mut [u8]> {
        let position = self.position_of(name)?;
        self.data_mut_at(position)
    }

    /// The bytes of the tensor at `position`, writable in place.
    pub fn data_mut_at(&mut self, position: usize) -> Result<&mut [u8]> {
        let (offset, len) = self.open_for_writing(position)?;
        Ok(&mut self.map[offset..offset + len])
    }

    /// The tensor called `name` as a typed mutable slice. Fails with
    /// [`ErrorKind::WrongType`] when `T` is not its dtype, and with
    /// [`ErrorKind::Unsupported`] when its data is not aligned for `T`
    /// (possible in safetensors and legacy files; use [`Editor::data_mut`])
    /// or the machine is big-endian.
    pub fn slice_mut<T: Element>(&mut self, name: &str) -> Result<&mut [T]> {
        let position = self.position_of(name)?;
        let t = self.get_at(position).expect("position was just found");
        if t.dtype() != T::DTYPE {
            let e = Error::new(
                ErrorKind::WrongType,
                format!("is {}, not {}", t.dtype(), T::DTYPE),
            );
            return Err(self.tagged(e, name));
        }
        let aligned = (t.data().as_ptr() as usize) % std::mem::align_of::<T>() == 0;
        if !aligned || cfg!(target_endian = "big") {
            let e = Error::new(
                ErrorKind::Unsupported,
                format!(
                    "data at offset {} cannot be viewed as {} in place (misaligned or big-endian machine); use data_mut",
                    t.file_offset(),
                    T::DTYPE
                ),
            );
            return Err(self.tagged(e, name));
        }
        let bytes = self.data_mut_at(position)?;
        // SAFETY: `T` is a plain number type for which every bit pattern is
        // valid, and the start was checked aligned; the dtype's byte size is
        // whole elements (checked at open), so `align_to_mut` leaves no tail.
        let (head, mid, tail) = unsafe { bytes.align_to_mut::<T>() };
        debug_assert!(head.is_empty() && tail.is_empty());
        Ok(mid)
    }

    /// Makes the edits durable and the file fully verifiable again: the
    /// written ranges are synced (msync), the checksums of the tensors handed
    /// out for writing since the last flush are recomputed and stored, the
    /// header checksum is rewritten, and the edit mark is cleared, with a
    /// barrier (fsync) between each step (FORMAT.md, "Edit mark"). Views
    /// obtained before a flush end with it (they borrow the editor); a new
    /// view sets the mark again. A flush with nothing written does nothing.
    pub fn flush(&mut self) -> Result<()> {
        for &p in &self.dirty {
            let (offset, len) = self.range_of(p);
            self.map
                .flush_range(offset, len)
                .map_err(|e| Error::io(&self.path, "cannot sync the edited data", e))?;
        }
        if let Kind::Native(n) = &self.kind {
            if !n.is_legacy() && self.marked {
                if n.append.is_some_and(|r| r.appendable) {
                    self.commit_checksums()?;
                } else {
                    self.store_checksums()?;
                }
                self.write_mark(false)?;
            }
        }
        self.dirty.clear();
        Ok(())
    }

    /// Flushes, then closes (releasing the write lock). The error of a
    /// failed flush is returned; the edit mark then stays set on disk.
    pub fn close(mut self) -> Result<()> {
        let r = self.flush();
        // Not again in drop: one failure is reported once.
        self.dirty.clear();
        r
    }

    /// Looks up `name`, failing with [`ErrorKind::NotFound`].
    pub(crate) fn position_of(&self, name: &str) -> Result<usize> {
        self.get(name).map(|t| t.position()).ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("no tensor named '{}'", name.escape_debug()),
            )
            .in_file(&self.path)
        })
    }

    fn tagged(&self, e: Error, name: &str) -> Error {
        e.for_tensor(name).in_file(&self.path)
    }

    /// Where the tensor at `position` lies in the file (validated at open).
    fn range_of(&self, position: usize) -> (usize, usize) {
        let t = self.get_at(position).expect("position in range");
        (t.file_offset() as usize, t.data().len())
    }

    /// Records the tensor at `position` as handed out for writing, setting
    /// the edit mark first if needed; returns its byte range. The C layer
    /// builds its writable pointers from this range.
    pub(crate) fn open_for_writing(&mut self, position: usize) -> Result<(usize, usize)> {
        if position >= self.len() {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!(
                    "position {position} is out of range (the file has {} tensors)",
                    self.len()
                ),
            )
            .in_file(&self.path));
        }
        let checked = matches!(&self.kind, Kind::Native(n) if !n.is_legacy());
        if checked && !self.marked {
            self.write_mark(true)?;
        }
        self.dirty.insert(position);
        Ok(self.range_of(position))
    }

    /// The start of the mapping, for the C layer's pointers (valid until
    /// the editor is dropped).
    pub(crate) fn base_ptr(&mut self) -> *mut u8 {
        self.map.as_mut_ptr()
    }

    /// Sets or clears the edit mark: one byte (the low byte of the flags,
    /// outside the header checksum), then a barrier.
    fn write_mark(&mut self, on: bool) -> Result<()> {
        // The mark counts as set from the first attempt: if the barrier
        // fails, a later flush still tries to clear it.
        self.marked = self.marked || on;
        let bit = format::FLAG_EDITING as u8;
        let byte = &mut self.map[hdr::FLAGS];
        *byte = if on { *byte | bit } else { *byte & !bit };
        self.sync_header(format::HEADER_SIZE, "the edit mark")?;
        self.marked = on;
        Ok(())
    }

    /// Stores the recomputed checksums of the dirty tensors and the header
    /// checksum, then a barrier.
    fn store_checksums(&mut self) -> Result<()> {
        let Kind::Native(n) = &self.kind else {
            return Ok(());
        };
        let n = *n;
        for &p in &self.dirty {
            // Fully validated at open: neither lookup can fail.
            let entry = n.entry_of_position(&self.map, p)?;
            let t = n.tensor(&self.map, entry)?;
            let sum = format::checksum(t.data()).to_le_bytes();
            let at = n.checksum_offset(entry);
            self.map[at..at + 8].copy_from_slice(&sum);
        }
        let sum = format::header_region_checksum(&self.map[..n.data_offset]).to_le_bytes();
        self.map[hdr::CHECKSUM..hdr::CHECKSUM + 8].copy_from_slice(&sum);
        self.sync_header(n.data_offset, "the checksums")
    }

    /// The appendable layout never overwrites a committed index: the new
    /// checksums go into a new generation, committed by the append protocol
    /// (FORMAT.md, "Commit protocol"; its first step is a barrier).
    fn commit_checksums(&mut self) -> Result<()> {
        let sums: std::collections::HashMap<usize, u64> = self
            .dirty
            .iter()
            .filter_map(|&p| self.get_at(p))
            .map(|t| (t.position(), format::checksum(t.data())))
            .collect();
        if sums.is_empty() {
            return Ok(());
        }
        crate::append::commit_checksums(&self.path, &self.file, sums)
    }

    /// msync of the first `len` bytes, then fsync: a barrier.
    fn sync_header(&self, len: usize, what: &str) -> Result<()> {
        self.map
            .flush_range(0, len)
            .and_then(|()| self.file.sync_all())
            .map_err(|e| Error::io(&self.path, &format!("cannot sync {what}"), e))
    }
}

impl Drop for Editor {
    /// Flushes what was not flushed; errors are lost here (call
    /// [`Editor::close`] to see them), and the mark then stays set.
    fn drop(&mut self) {
        // Not while unwinding from a panic in a flush: a second panic
        // would abort the process (and the C boundary must contain it).
        if !self.dirty.is_empty() && !std::thread::panicking() {
            let _ = self.flush();
        }
    }
}

/// Repairs a .tenzor file left with the edit mark set by an interrupted
/// edit: recomputes every tensor checksum and the header checksum, then
/// clears the mark, with the same barriers as [`Editor::flush`]. Returns the
/// names of the tensors whose stored checksum was stale.
///
/// Takes the write lock ([`ErrorKind::Busy`] while an editor is live). A
/// file without the mark whose checksums all match is left untouched; one
/// without the mark whose checksums disagree is corrupted, not stale, and is
/// refused with [`ErrorKind::Checksum`] (rehashing would hide the damage).
pub fn rehash(path: impl AsRef<Path>) -> Result<Vec<String>> {
    let path = path.as_ref();
    let mut ed = Editor::open_marked(path, Marked::Repair)?;
    let Kind::Native(n) = &ed.kind else {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "{} files have no checksums to recompute",
                ed.format().name()
            ),
        )
        .in_file(path));
    };
    let native = *n;
    if native.is_legacy() {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "legacy v1 files have no checksums to recompute",
        )
        .in_file(path));
    }
    let stale: Vec<(usize, String)> = (0..ed.len())
        .filter_map(|p| ed.get_at(p))
        .filter(|t| t.checksum() != Some(format::checksum(t.data())))
        .map(|t| (t.position(), t.display_name()))
        .collect();
    if !ed.marked {
        return match stale.first() {
            None => Ok(Vec::new()),
            Some((_, name)) => Err(Error::new(
                ErrorKind::Checksum,
                "data checksum mismatch, but no edit was interrupted: the data is corrupted \
                 (rehash only repairs files carrying the edit mark)",
            )
            .for_tensor(name)
            .in_file(path)),
        };
    }
    ed.dirty.extend(stale.iter().map(|(p, _)| *p));
    ed.flush()?;
    Ok(stale.into_iter().map(|(_, name)| name).collect())
}
