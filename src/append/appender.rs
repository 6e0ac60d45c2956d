//! The [`Appender`]: adds and replaces tensors of an existing .tenzor file
//! (or creates it), reads old and new tensors before commit, and commits
//! with the protocol of FORMAT.md ("Commit protocol").

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use super::layout::{slot_offset, RegionHeader, RegionLayout, Slot, REGION_ALIGN, REGION_HEADER};
use super::storage::{FileStorage, Storage};
use super::{map_rw, Root};
use crate::dtype::DType;
use crate::entries::{names_size, write_index, EntryOut};
use crate::error::{Error, ErrorKind, Result};
use crate::format::{self, hdr};
use crate::reader::{Format, TensorFile};
use crate::tensor::Tensor;
use crate::writer::{check_metadata_json, check_tensor, dims_of, Writer, WriterOptions};

/// Options of [`Appender::open`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppendOptions {
    /// Used only when the file does not exist and is created (its alignment
    /// and reservations); an existing file keeps its alignment.
    pub create: WriterOptions,
}

/// Adds tensors to a .tenzor file and commits them crash-safely: after a
/// crash at any point the file holds exactly the old or the new content.
///
/// Holds the file's write lock (a second appender or editor gets
/// [`ErrorKind::Busy`]) until it is committed or dropped. Adding a name the
/// file already has replaces that tensor (it keeps its position; the old
/// bytes become dead space, see `tenzor compact`). Readers that have the
/// file open are never disturbed and see the old content; readers that open
/// it after [`Appender::commit`] see the new one.
///
/// A missing file is created: the appender then writes it like a
/// [`Writer`] (canonical layout, renamed into place at commit). Dropping an
/// appender without committing truncates the file back to its committed
/// length (the content is unchanged either way).
pub struct Appender {
    inner: Inner,
    /// Released after `inner` (whose drop cuts uncommitted bytes while held).
    _lock: Option<crate::lock::WriteLock>,
}

impl std::fmt::Debug for Appender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Appender");
        if let Inner::Existing(s) = &self.inner {
            d.field("path", &s.path).field("added", &s.added.len());
        }
        d.field("next_generation", &self.next_generation())
            .finish_non_exhaustive()
    }
}

enum Inner {
    Create(Box<Writer>),
    Existing(Box<Session>),
}

/// A tensor added in this session (offset absolute).
struct Added {
    /// The name and a NUL (the invariant of [`Tensor::name_cstr`]).
    name_nul: String,
    dtype: DType,
    shape: [u64; format::MAX_DIMS],
    ndim: u8,
    offset: u64,
    size: u64,
    checksum: Option<u64>,
}

impl Added {
    fn name(&self) -> &str {
        &self.name_nul[..self.name_nul.len() - 1]
    }
}

struct Session {
    path: PathBuf,
    io: Box<dyn Storage>,
    /// The committed content, mapped at open.
    base: TensorFile<'static>,
    root: Root,
    /// Where the next tensor may start.
    next: u64,
    added: Vec<Added>,
    by_name: HashMap<String, usize>,
    /// Mappings of reserved tensors and of tensors read back.
    maps: HashMap<usize, memmap2::MmapMut>,
    metadata: Option<String>,
    /// Stored checksums to replace, by position (the editor's commits).
    checksums: HashMap<usize, u64>,
    committed: bool,
}

/// Commits a generation of the appendable file at `path` that equals the
/// newest one but for the stored checksums in `checksums` (by position):
/// how [`crate::Editor`] makes in-place edits of an appendable file
/// verifiable without overwriting a committed index. The caller holds the
/// write lock through `file` (a duplicate of it shares the lock); the edit
/// mark may be set.
pub(crate) fn commit_checksums(
    path: &Path,
    file: &std::fs::File,
    checksums: HashMap<usize, u64>,
) -> Result<()> {
    let io = file
        .try_clone()
        .map_err(|e| Error::io(path, "cannot duplicate the file descriptor", e))?;
    let mut s = Session::open_as(path, Box::new(FileStorage(io)), Opener::Editor)?;
    s.checksums = checksums;
    s.commit()
}

/// Who opens a session: an appender refuses a file with the edit mark; the
/// editor that set it commits through a session.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Opener {
    Appender,
    Editor,
}

impl Appender {
    /// Opens `path` for appending, creating it if it does not exist. Fails
    /// with [`ErrorKind::Busy`] when another appender or editor holds it,
    /// and [`ErrorKind::Unsupported`] for a file that is not .tenzor v2
    /// (safetensors, GGUF, legacy v1, a shard index: convert it first).
    pub fn open(path: impl AsRef<Path>, opts: AppendOptions) -> Result<Appender> {
        let path = path.as_ref();
        let file = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Appender {
                    inner: Inner::Create(Box::new(Writer::create(path, opts.create)?)),
                    _lock: None,
                })
            }
            Err(e) => return Err(Error::io(path, "cannot open for appending", e)),
        };
        let lock = crate::lock::lock_for_writing(&file, path)?;
        if !still_at(&file, path) {
            // Replaced (compacted) between our open and our lock: appending
            // to the old, unlinked file would lose the append.
            return Err(Error::new(
                ErrorKind::Busy,
                "the file was replaced while it was being opened; try again",
            )
            .in_file(path));
        }
        let session = Session::open_as(path, Box::new(FileStorage(file)), Opener::Appender)?;
        Ok(Appender {
            inner: Inner::Existing(Box::new(session)),
            _lock: Some(lock),
        })
    }

    /// Opens an existing file through `io` (the power-loss test records it).
    #[cfg(test)]
    pub(crate) fn open_with(path: &Path, io: Box<dyn Storage>) -> Result<Appender> {
        let lock = crate::lock::lock_for_writing(io.file(), path)?;
        Ok(Appender {
            inner: Inner::Existing(Box::new(Session::open_as(path, io, Opener::Appender)?)),
            _lock: Some(lock),
        })
    }

    /// Adds a tensor (or replaces the committed one of that name); its bytes
    /// are written to the file now. A name added twice in one session is
    /// [`ErrorKind::DuplicateName`].
    pub fn add_tensor(
        &mut self,
        name: &str,
        dtype: DType,
        shape: &[u64],
        data: &[u8],
    ) -> Result<()> {
        match &mut self.inner {
            Inner::Create(w) => w.add_tensor(name, dtype, shape, data),
            Inner::Existing(s) => s.add(name, dtype, shape, Some(data)).map(drop),
        }
    }

    /// Adds a tensor whose bytes the caller fills through the returned
    /// slice: a shared writable mapping of its range in the file (zeros at
    /// first). The mapping stays valid until commit or drop (C callers may
    /// keep the pointer until then); its checksum is computed at commit.
    pub fn reserve(&mut self, name: &str, dtype: DType, shape: &[u64]) -> Result<&mut [u8]> {
        match &mut self.inner {
            Inner::Create(w) => w.reserve(name, dtype, shape),
            Inner::Existing(s) => {
                let i = s.add(name, dtype, shape, None)?;
                Ok(s.maps.get_mut(&i).map_or(&mut [], |m| &mut m[..]))
            }
        }
    }

    /// Replaces the file's metadata (a JSON object) at commit.
    pub fn set_metadata(&mut self, json: &str) -> Result<()> {
        match &mut self.inner {
            Inner::Create(w) => w.set_metadata(json),
            Inner::Existing(s) => {
                check_metadata_json(json).map_err(|e| e.in_file(&s.path))?;
                s.metadata = Some(json.to_string());
                Ok(())
            }
        }
    }

    /// The tensor `name` as the file will hold it after commit: one added
    /// in this session, else the committed one (`None`: neither). Views of
    /// committed tensors borrow the appender; so do views of added ones,
    /// whose mappings C callers may keep until commit or abort.
    pub fn get(&mut self, name: &str) -> Result<Option<Tensor<'_>>> {
        match &mut self.inner {
            Inner::Create(w) => w.get(name),
            Inner::Existing(s) => s.get(name),
        }
    }

    /// True when the file did not exist and is being created.
    pub fn is_new_file(&self) -> bool {
        matches!(self.inner, Inner::Create(_))
    }

    /// The generation the commit will create (1 for the first append to an
    /// existing file; 0 for a new file, written in the canonical layout).
    pub fn next_generation(&self) -> u64 {
        match &self.inner {
            Inner::Create(_) => 0,
            Inner::Existing(s) => s.root.generation + 1,
        }
    }

    /// Makes the added tensors and metadata the file's content, durably
    /// (FORMAT.md, "Commit protocol"), and releases the write lock. On
    /// failure the file keeps its committed content.
    pub fn commit(self) -> Result<()> {
        match self.inner {
            Inner::Create(w) => w.finish(),
            Inner::Existing(mut s) => s.commit(),
        }
    }
}

impl Session {
    /// Opens the committed content of a file whose write lock the caller holds.
    fn open_as(path: &Path, mut io: Box<dyn Storage>, opener: Opener) -> Result<Session> {
        let mut base = TensorFile::from_file(path, io.file())?;
        let root = committed_root(&base, path, opener)?;
        let len = base.as_bytes().len() as u64;
        if len > root.committed_end {
            // An interrupted append's leftovers: not content, cut them off.
            drop(base);
            io.set_len(root.committed_end)
                .map_err(|e| Error::io(path, "cannot cut an interrupted append's tail", e))?;
            base = TensorFile::from_file(path, io.file())?;
        }
        let next = match root.appendable {
            true => root.committed_end,
            false => root.root_offset + super::layout::ROOT_AREA,
        };
        Ok(Session {
            path: path.to_path_buf(),
            io,
            base,
            root,
            next,
            added: Vec::new(),
            by_name: HashMap::new(),
            maps: HashMap::new(),
            metadata: None,
            checksums: HashMap::new(),
            committed: false,
        })
    }

    /// Checks and places a tensor, writes `data` (or maps the range for the
    /// caller to fill when `None`); returns its index in `added`.
    fn add(
        &mut self,
        name: &str,
        dtype: DType,
        shape: &[u64],
        data: Option<&[u8]>,
    ) -> Result<usize> {
        let err = |e: Error| e.for_tensor(name).in_file(&self.path);
        let size = check_tensor(name, dtype, shape).map_err(err)?;
        if self.by_name.contains_key(name) {
            return Err(err(Error::new(
                ErrorKind::DuplicateName,
                "a tensor of this name was already added in this append",
            )));
        }
        if let Some(d) = data.filter(|d| d.len() as u64 != size) {
            return Err(err(Error::invalid(format!(
                "{} data bytes given, shape {shape:?} of {dtype} needs {size}",
                d.len()
            ))));
        }
        let offset = format::align_up(self.next, self.base.alignment())
            .filter(|o| o.checked_add(size).is_some_and(|e| e <= i64::MAX as u64))
            .ok_or_else(|| err(Error::invalid("file size overflows")))?;
        let io_err = |what: &'static str| {
            let path = self.path.clone();
            move |e| Error::io(&path, what, e).for_tensor(name)
        };
        let checksum = match data {
            Some(d) => {
                self.io
                    .write_at(d, offset)
                    .map_err(io_err("cannot write tensor data"))?;
                Some(format::checksum(d))
            }
            None => {
                self.io
                    .set_len(offset + size)
                    .map_err(io_err("cannot grow the file"))?;
                None
            }
        };
        let i = self.added.len();
        if data.is_none() {
            let map = map_rw(self.io.file(), offset, size).map_err(io_err("cannot map"))?;
            self.maps.insert(i, map);
        }
        self.next = offset + size;
        self.by_name.insert(name.to_string(), i);
        self.added.push(Added {
            name_nul: format!("{name}\0"),
            dtype,
            shape: dims_of(shape),
            ndim: shape.len() as u8,
            offset,
            size,
            checksum,
        });
        Ok(i)
    }

    fn get(&mut self, name: &str) -> Result<Option<Tensor<'_>>> {
        let Some(&i) = self.by_name.get(name) else {
            return Ok(self.base.get(name));
        };
        let a = &self.added[i];
        if !self.maps.contains_key(&i) {
            let map = map_rw(self.io.file(), a.offset, a.size)
                .map_err(|e| Error::io(&self.path, "cannot map", e).for_tensor(name))?;
            self.maps.insert(i, map);
        }
        let a = &self.added[i];
        let position = match self.base.get(name) {
            Some(t) => t.position(),
            None => self.base.len() + self.new_names_before(i),
        };
        Ok(Some(Tensor {
            name: Some(a.name()),
            name_hash: format::fnv1a(a.name().as_bytes()),
            dtype: a.dtype,
            ndim: a.ndim,
            shape: a.shape,
            data: self.maps.get(&i).map_or(&[][..], |m| &m[..]),
            offset: a.offset,
            checksum: a.checksum,
            position,
        }))
    }

    /// How many tensors added before `i` are new names (not replacements).
    fn new_names_before(&self, i: usize) -> usize {
        let base = &self.base;
        self.added[..i]
            .iter()
            .filter(|a| base.get(a.name()).is_none())
            .count()
    }

    fn commit(&mut self) -> Result<()> {
        self.checksum_reserved()?;
        let generation = self.root.generation + 1;
        let region_offset = format::align_up(self.next, REGION_ALIGN)
            .ok_or_else(|| Error::invalid("file size overflows").in_file(&self.path))?;
        let region = self.build_region(generation)?;
        let slot = Slot {
            generation,
            region_offset,
            region_size: region.len() as u64,
            region_checksum: format::checksum(&region),
        };
        let path = self.path.clone();
        let io = |what: &'static str| {
            let path = path.clone();
            move |e| Error::io(&path, what, e)
        };
        // 1-2: the new data (written by add/reserve) and the region, then a
        // barrier: all of it is durable before any root can reach it.
        self.io
            .write_at(&region, region_offset)
            .map_err(io("cannot write the new index"))?;
        self.io.sync().map_err(io("cannot flush to disk"))?;
        // 3-4: the commit point, one 64-byte slot on its own page.
        let slot_at = slot_offset(self.root.root_offset, generation);
        self.io
            .write_at(&slot.encode(), slot_at)
            .map_err(io("cannot write the root slot"))?;
        // From here a reader may see the new generation: never cut it off.
        self.committed = true;
        self.io.sync().map_err(io("cannot flush to disk"))?;
        if !self.root.appendable {
            // 5-6: first append only: one byte turns the layout on.
            let flags = self.base.header().flags | format::FLAG_APPENDABLE;
            self.io
                .write_at(&[flags as u8], hdr::FLAGS as u64)
                .and_then(|_| self.io.sync())
                .map_err(io("cannot set the appendable flag"))?;
        }
        Ok(())
    }

    /// Makes reserved tensors' bytes durable and computes their checksums.
    fn checksum_reserved(&mut self) -> Result<()> {
        for (&i, map) in &self.maps {
            let a = &mut self.added[i];
            if a.checksum.is_none() {
                map.flush().map_err(|e| {
                    Error::io(&self.path, "cannot flush a reserved tensor", e).for_tensor(a.name())
                })?;
                a.checksum = Some(format::checksum(map));
                self.io.wrote_through_map(map, a.offset);
            }
        }
        self.maps.clear();
        Ok(())
    }

    /// The index region of `generation`: every committed tensor not
    /// replaced (keeping its position), then the added ones.
    fn build_region(&self, generation: u64) -> Result<Vec<u8>> {
        let data_offset = self.base.header().data_offset;
        let mut entries: Vec<EntryOut<'_>> = Vec::with_capacity(self.base.len() + self.added.len());
        let mut replaced = HashMap::new();
        for t in self.base.iter() {
            let name = t.name().unwrap_or_default();
            let mut e = entry_of(&t, data_offset);
            if let Some(&sum) = self.checksums.get(&t.position()) {
                e.checksum = sum;
            }
            match self.by_name.get(name) {
                Some(&i) => drop(replaced.insert(i, e.position)),
                None => entries.push(e),
            }
        }
        let mut next_pos = self.base.len() as u32;
        for (i, a) in self.added.iter().enumerate() {
            let position = replaced.get(&i).copied().unwrap_or_else(|| {
                next_pos += 1;
                next_pos - 1
            });
            entries.push(EntryOut {
                name: a.name().as_bytes(),
                hash: format::fnv1a(a.name().as_bytes()),
                dtype: a.dtype,
                ndim: a.ndim,
                shape: a.shape,
                offset: a.offset - data_offset,
                size: a.size,
                checksum: a.checksum.unwrap_or(0),
                position,
            });
        }
        let meta = match &self.metadata {
            Some(m) => m.as_bytes(),
            None => self.base.raw_metadata(),
        };
        let too_big =
            || Error::invalid("the index exceeds the format's limits").in_file(&self.path);
        let names = names_size(&entries);
        if entries.len() > u32::MAX as usize || names > u32::MAX as u64 {
            return Err(too_big());
        }
        let l = RegionLayout::new(meta.len() as u64, entries.len() as u64, names)
            .ok_or_else(too_big)?;
        let mut r = vec![0u8; usize::try_from(l.end).map_err(|_| too_big())?];
        RegionHeader {
            generation,
            count: entries.len() as u64,
            metadata_size: meta.len() as u64,
            names_size: names,
        }
        .encode(&mut r);
        r[REGION_HEADER..REGION_HEADER + meta.len()].copy_from_slice(meta);
        let (index, order, names) = (l.index as usize, l.order as usize, l.names as usize);
        write_index(&mut r, index, order, names, &mut entries);
        Ok(r)
    }
}

/// A committed tensor as an index entry (offset relative to `data_offset`).
fn entry_of<'a>(t: &Tensor<'a>, data_offset: u64) -> EntryOut<'a> {
    EntryOut {
        name: t.name().unwrap_or_default().as_bytes(),
        hash: t.name_hash(),
        dtype: t.dtype(),
        ndim: t.shape().len() as u8,
        shape: dims_of(t.shape()),
        offset: t.file_offset() - data_offset,
        size: t.data().len() as u64,
        checksum: t.checksum().unwrap_or(0),
        position: t.position() as u32,
    }
}

/// True when `path` still names the file `file` has open.
fn still_at(file: &std::fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// The committed root of a file open for appending, refusing what cannot be
/// appended to.
fn committed_root(f: &TensorFile<'_>, path: &Path, opener: Opener) -> Result<Root> {
    let refuse = |what: &str| {
        Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "is a {what} file; only .tenzor v2 files can be appended to \
                 (convert it first: tenzor convert {} -o NEW.tenzor)",
                path.display()
            ),
        )
        .in_file(path))
    };
    if f.edit_interrupted() && opener == Opener::Appender {
        return Err(Error::new(
            ErrorKind::Checksum,
            "carries the edit mark of an interrupted edit (checksums may be stale); \
             run `tenzor rehash` on it before appending",
        )
        .in_file(path));
    }
    match f.format() {
        Format::Tenzor => {}
        Format::TenzorLegacy => return refuse("legacy .tenzor v1"),
        other => return refuse(other.name()),
    }
    f.root()
        .ok_or_else(|| Error::format("no root").in_file(path))
}

impl Drop for Session {
    fn drop(&mut self) {
        self.maps.clear();
        if !self.committed {
            // Uncommitted bytes are unreachable either way; cutting them
            // keeps the file as short as its content. Nothing committed
            // lies past `committed_end`, so readers are not disturbed.
            let _ = self.io.set_len(self.root.committed_end);
        }
    }
}
