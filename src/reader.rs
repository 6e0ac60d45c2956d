//! The zero-copy reader: one handle type for every supported file. It maps
//! a file (or borrows a buffer), recognises the format from the content,
//! validates the whole structure once, then hands out views into the bytes.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::{Error, ErrorKind, Result};
use crate::foreign::{self, Foreign};
use crate::format;
use crate::io::{BackendChoice, IoStats, OpenOptions, Store, Validation};
use crate::meta::{JsonMeta, Meta};
use crate::native::{self, Native};
use crate::shards::{self, Sharded};
use crate::tensor::{Tensor, TensorInfo};

/// Which on-disk format a [`TensorFile`] holds (for a sharded checkpoint:
/// the format of its shards).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// .tenzor version 2.
    Tenzor,
    /// .tenzor version 1, written by the original Zig implementation.
    TenzorLegacy,
    /// .safetensors.
    Safetensors,
    /// GGUF version 2 or 3.
    Gguf,
}

impl Format {
    /// A short human name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Tenzor => "tenzor v2",
            Format::TenzorLegacy => "tenzor v1 (legacy)",
            Format::Safetensors => "safetensors",
            Format::Gguf => "gguf",
        }
    }
}

/// The validated index of a file, by format (shared with the editor).
pub(crate) enum Kind {
    Native(Native),
    Foreign(Box<Foreign>),
    Sharded(Box<Sharded>),
}

/// An open tensor file: a validated, read-only view of its bytes.
///
/// `TensorFile<'static>` owns its memory map; `TensorFile<'a>` from
/// [`TensorFile::from_bytes`] borrows the caller's buffer. It is `Send` and
/// `Sync`: many threads may look up tensors at once.
///
/// Changing or truncating a mapped file while it is open is undefined
/// behaviour (on Linux the process gets SIGBUS on access); replace files by
/// writing a new one and renaming it, as [`crate::Writer`] does. The one
/// sanctioned change is an in-place edit through [`crate::Editor`]: the
/// mapping is shared, so tensor bytes (and, after its flush, stored
/// checksums) seen through an open `TensorFile` change as the editor writes;
/// copy data out first if it must stay fixed. The `read`
/// and `direct` backends ([`crate::Backend`]) map nothing of the file: a
/// file truncated under them makes reads fail with an error instead (and
/// their copies do not follow an editor's writes).
pub struct TensorFile<'a> {
    pub(crate) store: Store<'a>,
    path: Option<PathBuf>,
    kind: Kind,
    validation: Validation,
    choice: Option<BackendChoice>,
    /// The index of JSON metadata for [`TensorFile::meta`], made on first use.
    json_meta: OnceLock<std::result::Result<JsonMeta, String>>,
}

impl std::fmt::Debug for TensorFile<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TensorFile")
            .field("path", &self.path)
            .field("format", &self.format())
            .field("tensors", &self.len())
            .finish_non_exhaustive()
    }
}

/// The iterator of [`TensorFile::iter`].
pub struct Iter<'f, 'a> {
    file: &'f TensorFile<'a>,
    next: usize,
}

impl<'f> Iterator for Iter<'f, '_> {
    type Item = Tensor<'f>;

    fn next(&mut self) -> Option<Tensor<'f>> {
        let t = self.file.try_get_at(self.next).ok();
        self.next = if t.is_some() {
            self.next + 1
        } else {
            usize::MAX
        };
        t
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.file.len().saturating_sub(self.next);
        (n, Some(n))
    }
}

impl ExactSizeIterator for Iter<'_, '_> {}

/// Summary of a file's header, for listings.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HeaderInfo {
    /// Format name.
    pub format: &'static str,
    /// Format version (0 for safetensors, which has none).
    pub version: u32,
    /// Header flags (.tenzor only).
    pub flags: u32,
    /// Number of tensors.
    pub tensor_count: usize,
    /// Number of files (1 unless sharded).
    pub shards: usize,
    /// Offset of the index (.tenzor only).
    pub index_offset: u64,
    /// Offset of the data section.
    pub data_offset: u64,
    /// Bytes of metadata.
    pub metadata_size: u64,
    /// Alignment the format promises for tensor offsets (1: none).
    pub alignment: u64,
    /// Checksum of the header region (0 when the format has none).
    pub header_checksum: u64,
    /// Total file size (of all shards).
    pub file_size: u64,
    /// The edit mark is set: an in-place edit is under way in another
    /// process, or one was interrupted ([`TensorFile::edit_interrupted`]).
    pub edit_interrupted: bool,
}

/// How a .tenzor v2 file is laid out (FORMAT.md, "Appendable layout").
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct AppendLayout {
    /// False: the canonical layout (as the writer made it); true: appended to.
    pub appendable: bool,
    /// The generation open: 0 for the header's, n after n appends.
    pub generation: u64,
    /// Appendable files: bytes no tensor or index of this generation uses
    /// (superseded tensors, older indexes, padding, the root area), which
    /// `tenzor compact` drops; 0 for a canonical file.
    pub dead_bytes: u64,
    /// Bytes up to the end of the newest committed generation.
    pub committed_bytes: u64,
    /// Bytes after it: leftovers of an append that did not commit (a crash),
    /// ignored, cut off by the next append.
    pub uncommitted_bytes: u64,
}

/// What the first bytes say a file is.
enum Detected {
    Native,
    Safetensors,
    Gguf,
    ShardIndex,
}

fn detect(b: &[u8]) -> Option<Detected> {
    if b.starts_with(&format::MAGIC) {
        return Some(Detected::Native);
    }
    if b.starts_with(b"GGUF") {
        return Some(Detected::Gguf);
    }
    // A safetensors header length, then '{'. The length is checked later,
    // so a truncated file gets a message that says so.
    if b.len() > 8 && b[8] == b'{' && u64::from_le_bytes(b[..8].try_into().ok()?) >= 2 {
        return Some(Detected::Safetensors);
    }
    if b.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'{') {
        return Some(Detected::ShardIndex);
    }
    None
}

const UNKNOWN: &str = "unrecognised format (not .tenzor, .safetensors, .gguf or a shard index)";

impl TensorFile<'static> {
    /// Maps `path` read-only, recognises its format from the content
    /// (.tenzor v2 or v1, .safetensors, .gguf, or a `*.index.json` shard
    /// index, whose shards are opened too) and validates it. The first file
    /// of a GGUF split (`split.no` 0) opens the whole split. Anything that
    /// is not a regular file (a FIFO, device or socket, also through a
    /// symlink) is refused at once with [`ErrorKind::InvalidArgument`].
    ///
    /// Same as [`TensorFile::open_with`] with the default options: `auto`
    /// backend (mmap on local filesystems), full validation, no hints.
    pub fn open(path: impl AsRef<Path>) -> Result<TensorFile<'static>> {
        TensorFile::open_with(path, &OpenOptions::default())
    }

    /// Opens `path` as [`TensorFile::open`] does, with a chosen backend,
    /// validation level and hints (applied to every shard of a set).
    pub fn open_with(path: impl AsRef<Path>, opts: &OpenOptions) -> Result<TensorFile<'static>> {
        let path = path.as_ref();
        let (store, choice) = Store::open(path, opts)?;
        store.ensure(0, store.bytes().len().min(4096) as u64)?;
        if let Some(Detected::ShardIndex) = detect(store.bytes()) {
            store.ensure(0, store.bytes().len() as u64)?;
            let set = shards::open_index(path, store.bytes(), opts).map_err(|e| e.in_file(path))?;
            return Ok(TensorFile::set(path, set, opts, choice));
        }
        let file = TensorFile::from_store(path, store, choice.clone(), opts)?;
        if let Some((0, count)) = shards::gguf_split_info(&file) {
            let set =
                shards::open_gguf_split(path, file, count, opts).map_err(|e| e.in_file(path))?;
            return Ok(TensorFile::set(path, set, opts, choice));
        }
        Ok(file)
    }

    fn set(
        path: &Path,
        set: Sharded,
        opts: &OpenOptions,
        choice: BackendChoice,
    ) -> TensorFile<'static> {
        TensorFile {
            store: Store::Borrowed(&[]),
            path: Some(path.to_path_buf()),
            kind: Kind::Sharded(Box::new(set)),
            validation: opts.validation,
            choice: Some(choice),
            json_meta: OnceLock::new(),
        }
    }

    /// Like `open_with`, but refuses shard indexes (a shard may not be a set).
    #[cfg(feature = "foreign")]
    pub(crate) fn open_single(path: &Path, opts: &OpenOptions) -> Result<TensorFile<'static>> {
        let (store, choice) = Store::open(path, opts)?;
        TensorFile::from_store(path, store, choice, opts)
    }

    fn from_store(
        path: &Path,
        store: Store<'static>,
        choice: BackendChoice,
        opts: &OpenOptions,
    ) -> Result<TensorFile<'static>> {
        let kind = parse_store(&store, opts.validation).map_err(|e| e.in_file(path))?;
        let file = TensorFile {
            store,
            path: Some(path.to_path_buf()),
            kind,
            validation: opts.validation,
            choice: Some(choice),
            json_meta: OnceLock::new(),
        };
        file.apply_hints(opts)?;
        Ok(file)
    }

    /// Maps and validates a file already open (and locked) by a writer.
    #[cfg(feature = "write")]
    pub(crate) fn from_file(path: &Path, file: &File) -> Result<TensorFile<'static>> {
        let meta = file
            .metadata()
            .map_err(|e| Error::io(path, "cannot stat", e))?;
        check_file_type(path, meta.file_type())?;
        if meta.len() == 0 {
            return Err(Error::format("file is empty (0 bytes)").in_file(path));
        }
        let file = file
            .try_clone()
            .map_err(|e| Error::io(path, "cannot duplicate the descriptor", e))?;
        // The caller holds the write lock, and appends never change bytes a
        // committed root reaches.
        let store = Store::map(path, file, meta.len())?;
        let kind = parse(store.bytes(), None).map_err(|e| e.in_file(path))?;
        Ok(TensorFile {
            store,
            path: Some(path.to_path_buf()),
            kind,
            validation: Validation::Full,
            choice: Some(BackendChoice {
                backend: crate::io::Backend::Mmap,
                reason: "a writer maps the file it holds open".to_string(),
            }),
            json_meta: OnceLock::new(),
        })
    }

    fn apply_hints(&self, opts: &OpenOptions) -> Result<()> {
        let (start, end) = self.data_range();
        self.store.advise(opts.access)?;
        if opts.prefetch {
            self.store.prefetch(start, end - start)?;
        }
        if opts.lock {
            self.store.lock(start, end - start)?;
        }
        Ok(())
    }
}

/// Where the header ends, from the first bytes (when the format says).
fn header_end_hint(b: &[u8]) -> Option<u64> {
    match detect(b)? {
        Detected::Native if b.len() >= format::HEADER_SIZE => {
            Some(format::u64_at(b, format::hdr::DATA_OFFSET))
        }
        Detected::Safetensors => format::u64_at(b, 0).checked_add(8),
        _ => None,
    }
}

/// Parses a store. The read backends hold only what was read: the header
/// is read first (its end known from the first bytes, or found by reading
/// more until the parse no longer needs bytes past what was read).
fn parse_store(store: &Store<'_>, validation: Validation) -> Result<Kind> {
    if let Store::Mapped { map, .. } = store {
        let release = |r: std::ops::Range<usize>| release_pages(map, r);
        return parse_with(map, validation, Some(&release));
    }
    if !matches!(store, Store::Loaded(_)) {
        return parse_with(store.bytes(), validation, None);
    }
    let len = store.bytes().len() as u64;
    // At least the first page (already read by `open_with`), so that a
    // header claiming a data offset of 0 still makes the loop grow.
    let first = 4096;
    let mut want = header_end_hint(store.bytes())
        .unwrap_or(1 << 20)
        .max(first)
        .min(len);
    loop {
        store.ensure(0, want)?;
        let parsed = parse_with(store.bytes(), validation, None);
        match &parsed {
            Ok(kind) if header_end(kind, len) <= want => return parsed,
            _ if want >= len => return parsed,
            // Grows every round (want < len here): the loop ends.
            _ => want = want.saturating_mul(4).max(first).min(len),
        }
    }
}

/// The end of the bytes a parse reads (every format keeps its header,
/// metadata and index before its data; but for .tenzor files with bytes
/// after generation 0, whose roots and tail the append module reads).
fn header_end(kind: &Kind, len: u64) -> u64 {
    match kind {
        Kind::Native(n) if n.append.is_some_and(|r| r.appendable || r.gen0_end < len) => len,
        Kind::Native(n) => n.data_offset as u64,
        Kind::Foreign(f) => f.data_offset() as u64,
        Kind::Sharded(_) => 0,
    }
}

/// Opens `path` for reading, without ever blocking, and returns it with its
/// size. Refuses directories, empty files and anything that is not a
/// regular file (symlinks are followed): a FIFO would block `open(2)` until
/// a writer appears and then yield a stream, and a device or socket has no
/// fixed size to map. Every path the library opens for reading goes
/// through here.
pub(crate) fn open_regular(path: &Path) -> Result<(File, u64)> {
    open_regular_for(path, false)
}

/// [`open_regular`], read-write when `write` (for the editor).
pub(crate) fn open_regular_for(path: &Path, write: bool) -> Result<(File, u64)> {
    let what = if write {
        "cannot open for editing"
    } else {
        "cannot open"
    };
    let file = match open_nonblocking(path, write) {
        Ok(f) => f,
        Err(e) => {
            // open(2) of a socket fails (ENXIO): say what the path is instead.
            if let Ok(meta) = std::fs::metadata(path) {
                check_file_type(path, meta.file_type())?;
            }
            return Err(Error::io(path, what, e));
        }
    };
    let meta = file
        .metadata()
        .map_err(|e| Error::io(path, "cannot stat", e))?;
    check_file_type(path, meta.file_type())?;
    if meta.len() == 0 {
        return Err(Error::format("file is empty (0 bytes)").in_file(path));
    }
    Ok((file, meta.len()))
}

/// O_NONBLOCK makes opening a FIFO return at once (it is refused after
/// `fstat`); on a regular file it has no effect, so the descriptor serves
/// mmap and positioned reads as is.
fn open_nonblocking(path: &Path, write: bool) -> std::io::Result<File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true).write(write);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut opts, libc::O_NONBLOCK);
    opts.open(path)
}

fn check_file_type(path: &Path, t: std::fs::FileType) -> Result<()> {
    if t.is_file() {
        return Ok(());
    }
    if t.is_dir() {
        return Err(Error::invalid("is a directory, not a tensor file").in_file(path));
    }
    Err(Error::invalid(format!("not a regular file ({})", file_type_name(t))).in_file(path))
}

fn file_type_name(t: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "fifo";
        }
        if t.is_char_device() {
            return "character device";
        }
        if t.is_block_device() {
            return "block device";
        }
        if t.is_socket() {
            return "socket";
        }
    }
    if t.is_symlink() {
        return "symlink";
    }
    "not a file, directory or device"
}

/// Hands checked pages of a mapping back to the page cache: a scan of a
/// large metadata section (a GGUF tokenizer) then never holds it all
/// resident, and what the caller reads later faults back in.
fn release_pages(map: &memmap2::Mmap, r: std::ops::Range<usize>) {
    #[cfg(unix)]
    // SAFETY: the mapping is read-only and backed by the file; MADV_DONTNEED
    // only drops its page table entries, and the next access reads the same
    // file bytes back (the file may not change while mapped: the documented
    // contract of every open). Failure only means the pages stay resident.
    let _ =
        unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, r.start, r.len()) };
    #[cfg(not(unix))]
    let _ = (map, r);
}

/// Recognises and fully validates a single file (never a shard set);
/// `release` (for mapped files) may drop pages the scan is done with (see
/// [`release_pages`]).
pub(crate) fn parse(b: &[u8], release: Option<&dyn Fn(std::ops::Range<usize>)>) -> Result<Kind> {
    parse_with(b, Validation::Full, release)
}

/// A page-release callback (see [`parse`]).
type Release<'r> = Option<&'r dyn Fn(std::ops::Range<usize>)>;

/// Recognises and validates a single file at `validation`.
fn parse_with(b: &[u8], validation: Validation, release: Release<'_>) -> Result<Kind> {
    match detect(b) {
        Some(Detected::Native) => native::parse(b, validation).map(Kind::Native),
        Some(Detected::Safetensors) => foreign::safetensors(b).map(|f| Kind::Foreign(Box::new(f))),
        Some(Detected::Gguf) => foreign::gguf(b, release).map(|f| Kind::Foreign(Box::new(f))),
        Some(Detected::ShardIndex) => Err(Error::new(
            ErrorKind::Unsupported,
            "a shard index can only be opened from a path (its shards are files beside it)",
        )),
        None => Err(Error::format(UNKNOWN)),
    }
}

impl Kind {
    pub(crate) fn len(&self) -> usize {
        match self {
            Kind::Native(n) => n.count,
            Kind::Foreign(f) => f.len(),
            Kind::Sharded(s) => s.len(),
        }
    }

    /// The tensor called `name`, its data borrowed from `b` (the file's bytes).
    #[cfg(feature = "write")]
    pub(crate) fn get<'s>(&'s self, b: &'s [u8], name: &str) -> Option<Tensor<'s>> {
        match self {
            Kind::Native(n) => n.find(b, name).and_then(|i| n.tensor(b, i).ok()),
            Kind::Foreign(f) => f.find(name).map(|p| f.tensor(b, p)),
            Kind::Sharded(s) => s.get(name).and_then(Result::ok),
        }
    }

    /// The tensor at `position`, its data borrowed from `b`.
    #[cfg(feature = "write")]
    pub(crate) fn get_at<'s>(&'s self, b: &'s [u8], position: usize) -> Option<Tensor<'s>> {
        if position >= self.len() {
            return None;
        }
        match self {
            Kind::Native(n) => n
                .entry_of_position(b, position)
                .and_then(|i| n.tensor(b, i))
                .ok(),
            Kind::Foreign(f) => Some(f.tensor(b, position)),
            Kind::Sharded(s) => s.get_at(position).and_then(Result::ok),
        }
    }

    /// The format of a single file.
    pub(crate) fn format(&self) -> Format {
        match self {
            Kind::Native(n) if n.is_legacy() => Format::TenzorLegacy,
            Kind::Native(_) => Format::Tenzor,
            Kind::Foreign(f) => f.format(),
            Kind::Sharded(s) => s.shards().first().map_or(Format::Tenzor, |f| f.format()),
        }
    }
}

impl<'a> TensorFile<'a> {
    /// Validates a file held in memory, borrowing it (nothing is copied).
    pub fn from_bytes(bytes: &'a [u8]) -> Result<TensorFile<'a>> {
        TensorFile::from_bytes_with(bytes, Validation::Full)
    }

    /// [`TensorFile::from_bytes`] with a validation level.
    pub fn from_bytes_with(bytes: &'a [u8], validation: Validation) -> Result<TensorFile<'a>> {
        if bytes.is_empty() {
            return Err(Error::format("buffer is empty (0 bytes)"));
        }
        Ok(TensorFile {
            kind: parse_with(bytes, validation, None)?,
            store: Store::Borrowed(bytes),
            path: None,
            validation,
            choice: None,
            json_meta: OnceLock::new(),
        })
    }

    /// All bytes of the file (empty for a sharded checkpoint). With the
    /// `read` and `direct` backends, only the header and the tensors
    /// returned so far hold file bytes (the rest reads as zero); call
    /// [`TensorFile::load_all`] first to read everything.
    pub fn as_bytes(&self) -> &[u8] {
        self.store.bytes()
    }

    /// Reads the whole file into the handle's memory (a no-op for mapped
    /// files and buffers) and returns [`TensorFile::as_bytes`].
    pub fn load_all(&self) -> Result<&[u8]> {
        let len = self.store.bytes().len() as u64;
        self.store.ensure(0, len).map_err(|e| self.tag(e))?;
        Ok(self.store.bytes())
    }

    /// The validation level the file was opened with.
    pub fn validation(&self) -> Validation {
        self.validation
    }

    /// The backend in use and why it was chosen (`None` for buffers).
    pub fn backend(&self) -> Option<&BackendChoice> {
        self.choice.as_ref()
    }

    /// How many bytes were read with and without O_DIRECT so far (summed
    /// over shards; zero for mapped pages, which the kernel reads).
    pub fn io_stats(&self) -> IoStats {
        let mut s = self.store.reader().map(|r| r.stats()).unwrap_or_default();
        for f in self.shards() {
            let t = f.io_stats();
            s.direct_bytes += t.direct_bytes;
            s.buffered_bytes += t.buffered_bytes;
            s.direct_fallbacks += t.direct_fallbacks;
            s.direct_available |= t.direct_available;
        }
        s
    }

    /// Prefixes an error with the file's path, when there is one.
    pub(crate) fn tag(&self, e: Error) -> Error {
        match &self.path {
            Some(p) => e.in_file(p),
            None => e,
        }
    }

    /// The byte range of the data section: [start, end).
    pub(crate) fn data_range(&self) -> (u64, u64) {
        let start = match &self.kind {
            Kind::Native(n) => n.data_offset as u64,
            Kind::Foreign(f) => f.data_offset() as u64,
            Kind::Sharded(_) => 0,
        };
        let end = self.store.bytes().len() as u64;
        (start.min(end), end)
    }

    /// The path it was opened from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Which format the file holds (for a sharded checkpoint, its shards').
    pub fn format(&self) -> Format {
        self.kind.format()
    }

    /// The files of a sharded checkpoint (empty for a single file).
    pub fn shards(&self) -> &[TensorFile<'static>] {
        match &self.kind {
            Kind::Sharded(s) => s.shards(),
            _ => &[],
        }
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.kind.len()
    }

    /// True when the file holds no tensor.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Alignment of tensor offsets the format guarantees (1 when it
    /// guarantees none: legacy files and safetensors; check
    /// [`Tensor::alignment`] for the actual alignment of each tensor).
    pub fn alignment(&self) -> u64 {
        match &self.kind {
            Kind::Native(n) => n.alignment,
            Kind::Foreign(f) => f.alignment(),
            Kind::Sharded(s) => s.shards().iter().map(|f| f.alignment()).min().unwrap_or(1),
        }
    }

    /// The header, summarised.
    pub fn header(&self) -> HeaderInfo {
        let (version, flags, index_offset, data_offset, alignment, checksum) = match &self.kind {
            Kind::Native(n) => (
                n.version,
                n.flags,
                n.index_offset as u64,
                n.data_offset as u64,
                n.alignment,
                n.header_checksum,
            ),
            Kind::Foreign(f) => (f.version(), 0, 0, f.data_offset() as u64, f.alignment(), 0),
            Kind::Sharded(_) => (0, 0, 0, 0, self.alignment(), 0),
        };
        let file_size = match &self.kind {
            Kind::Sharded(s) => s.shards().iter().map(|f| f.as_bytes().len() as u64).sum(),
            _ => self.as_bytes().len() as u64,
        };
        HeaderInfo {
            format: self.format().name(),
            version,
            flags,
            tensor_count: self.len(),
            shards: self.shards().len().max(1),
            index_offset,
            data_offset,
            metadata_size: self.metadata_json().len() as u64,
            alignment,
            header_checksum: checksum,
            file_size,
            edit_interrupted: self.edit_interrupted(),
        }
    }

    /// The layout of a .tenzor v2 file: canonical or appendable, the
    /// generation open, dead space and uncommitted bytes (`None` for other
    /// formats and legacy files).
    pub fn append_layout(&self) -> Option<AppendLayout> {
        let r = self.root()?;
        Some(AppendLayout {
            appendable: r.appendable,
            generation: r.generation,
            dead_bytes: r.dead_bytes,
            committed_bytes: r.committed_end,
            uncommitted_bytes: (self.as_bytes().len() as u64).saturating_sub(r.committed_end),
        })
    }

    /// The generation open, for .tenzor v2 files.
    pub(crate) fn root(&self) -> Option<crate::append::Root> {
        match &self.kind {
            Kind::Native(n) => n.append,
            _ => None,
        }
    }

    /// The metadata bytes exactly as stored (native files; else the JSON text).
    #[cfg(feature = "write")]
    pub(crate) fn raw_metadata(&self) -> &[u8] {
        match &self.kind {
            Kind::Native(n) => n.metadata(self.as_bytes()),
            _ => self.metadata_json().as_bytes(),
        }
    }

    /// The metadata as JSON object text (`{}` when the file has none). For
    /// safetensors: its `__metadata__`; for GGUF: its key-value pairs.
    pub fn metadata_json(&self) -> &str {
        let text = match &self.kind {
            Kind::Native(n) => std::str::from_utf8(n.metadata(self.as_bytes())).unwrap_or("{}"),
            Kind::Foreign(f) => f.metadata_json(self.as_bytes()),
            Kind::Sharded(s) => s.metadata(),
        };
        if text.trim().is_empty() {
            "{}"
        } else {
            text
        }
    }

    /// The metadata, typed, key by key (see [`crate::meta`]): GGUF KV pairs,
    /// the top-level keys of .tenzor JSON metadata, safetensors
    /// `__metadata__`. Nothing is copied that the file holds; JSON metadata
    /// is indexed on the first call (an error then if it is not an object).
    pub fn meta(&self) -> Result<Meta<'_>> {
        let text = match &self.kind {
            Kind::Foreign(f) => {
                if let Some(g) = f.gguf_meta() {
                    return Ok(Meta::gguf(self.as_bytes(), g));
                }
                f.metadata_text(self.as_bytes())
            }
            Kind::Sharded(s) if self.format() == Format::Gguf => return s.shards()[0].meta(),
            Kind::Sharded(s) => s.metadata(),
            Kind::Native(n) => std::str::from_utf8(n.metadata(self.as_bytes())).unwrap_or(""),
        };
        let index = self
            .json_meta
            .get_or_init(|| JsonMeta::index(text).map_err(|e| e.message().to_string()));
        match index {
            Ok(j) => Ok(Meta::json(text, j)),
            Err(m) => Err(Error::format(m.clone())),
        }
    }

    /// The metadata, parsed.
    pub fn metadata(&self) -> Result<serde_json::Value> {
        serde_json::from_str(self.metadata_json())
            .map_err(|e| Error::format(format!("metadata is not valid JSON: {e}")))
    }

    /// The tensor called `name`, found by searching the sorted index (no
    /// allocation). `None` also when the tensor cannot be returned (a bad
    /// entry under lazy validation, a failed read under the read backends):
    /// [`TensorFile::try_get`] says why.
    pub fn get(&self, name: &str) -> Option<Tensor<'_>> {
        self.try_get(name).ok()
    }

    /// The tensor called `name`, or an error naming the file, the tensor and
    /// the problem (`NotFound` when no tensor has that name).
    pub fn try_get(&self, name: &str) -> Result<Tensor<'_>> {
        let found = match &self.kind {
            Kind::Sharded(s) => s.get(name),
            _ => self.describe(name),
        };
        self.load(found, || {
            format!("no tensor named '{}'", name.escape_debug())
        })
    }

    /// The single file holding the tensor called `name` (a shard, for a
    /// set), with its view there, data not read.
    pub(crate) fn owner_of(&self, name: &str) -> Result<(&TensorFile<'a>, Tensor<'_>)> {
        let found = match &self.kind {
            Kind::Sharded(s) => s
                .owner_of(name)
                .map(|r| r.map(|(f, t)| (f as &TensorFile<'a>, t))),
            _ => self.describe(name).map(|r| r.map(|t| (self, t))),
        };
        found
            .unwrap_or_else(|| {
                Err(Error::new(
                    ErrorKind::NotFound,
                    format!("no tensor named '{}'", name.escape_debug()),
                ))
            })
            .map_err(|e| self.tag(e))
    }

    /// The tensor called `name`, checked but its data not read.
    pub(crate) fn describe(&self, name: &str) -> Option<Result<Tensor<'_>>> {
        let b = self.as_bytes();
        match &self.kind {
            Kind::Native(n) => n.find(b, name).map(|i| n.tensor(b, i)),
            Kind::Foreign(f) => f.find(name).map(|p| Ok(f.tensor(b, p))),
            Kind::Sharded(s) => s.describe(name),
        }
    }

    /// The tensor whose name hashes to `hash` (FNV-1a 64). When two names
    /// share a hash, the one whose name sorts first is returned.
    pub fn get_by_hash(&self, hash: u64) -> Option<Tensor<'_>> {
        self.try_get_by_hash(hash).ok()
    }

    /// [`TensorFile::get_by_hash`], with the reason on failure.
    pub fn try_get_by_hash(&self, hash: u64) -> Result<Tensor<'_>> {
        let b = self.as_bytes();
        let found = match &self.kind {
            Kind::Native(n) => n.find_hash(b, hash).map(|i| n.tensor(b, i)),
            Kind::Foreign(f) => f.find_hash(hash).map(|p| Ok(f.tensor(b, p))),
            Kind::Sharded(s) => s.get_by_hash(hash),
        };
        self.load(found, || format!("no tensor has name hash {hash:#018x}"))
    }

    /// The tensor at `position` in the order tensors were added (the order
    /// of the source file; across shards, shard by shard).
    pub fn get_at(&self, position: usize) -> Option<Tensor<'_>> {
        self.try_get_at(position).ok()
    }

    /// [`TensorFile::get_at`], with the reason on failure.
    pub fn try_get_at(&self, position: usize) -> Result<Tensor<'_>> {
        let found = (position < self.len()).then(|| self.describe_at(position));
        let found = match (&self.kind, found) {
            (Kind::Sharded(s), Some(_)) => s.get_at(position),
            (_, found) => found,
        };
        self.load(found, || self.out_of_range(position))
    }

    fn out_of_range(&self, position: usize) -> String {
        format!(
            "tensor index {position} is out of range (the file has {} tensors)",
            self.len()
        )
    }

    /// The tensor at `position` as [`TensorFile::try_get_at`] finds it, but
    /// its data not read (the read backends): what the `info` calls give.
    pub(crate) fn describe_checked_at(&self, position: usize) -> Result<Tensor<'_>> {
        if position >= self.len() {
            let e = Error::new(ErrorKind::NotFound, self.out_of_range(position));
            return Err(self.tag(e));
        }
        self.describe_at(position).map_err(|e| self.tag(e))
    }

    /// The tensor at `position`, checked (under lazy validation) but its
    /// data not read (the read backends); `position` must be in range.
    pub(crate) fn describe_at(&self, position: usize) -> Result<Tensor<'_>> {
        let b = self.as_bytes();
        match &self.kind {
            Kind::Native(n) => n
                .entry_of_position(b, position)
                .and_then(|i| n.tensor(b, i)),
            Kind::Foreign(f) => Ok(f.tensor(b, position)),
            Kind::Sharded(s) => s.describe_at(position),
        }
    }

    /// Finishes a lookup: the miss or check error tagged with the file, the
    /// data read (the read backends; shard sets read in their shard).
    fn load<'t>(
        &self,
        found: Option<Result<Tensor<'t>>>,
        miss: impl FnOnce() -> String,
    ) -> Result<Tensor<'t>> {
        let t = found
            .unwrap_or_else(|| Err(Error::new(ErrorKind::NotFound, miss())))
            .map_err(|e| self.tag(e))?;
        self.store
            .ensure(t.offset, t.data.len() as u64)
            .map_err(|e| self.tag(e.for_tensor(&t.display_name())))?;
        Ok(t)
    }

    /// Every tensor, in position order. Ends early at a tensor that cannot
    /// be returned (lazy validation found it bad, or a read failed):
    /// [`TensorFile::try_iter`] yields the error instead.
    pub fn iter(&self) -> Iter<'_, 'a> {
        Iter {
            file: self,
            next: 0,
        }
    }

    /// Every tensor in position order, or why it cannot be returned.
    pub fn try_iter(&self) -> impl ExactSizeIterator<Item = Result<Tensor<'_>>> + '_ {
        (0..self.len()).map(move |p| self.try_get_at(p))
    }

    /// What the index says about every tensor, in position order, without
    /// reading any tensor data (whatever the backend): for listings. Under
    /// lazy validation each entry is checked as a lookup would check it.
    pub fn try_infos(&self) -> impl ExactSizeIterator<Item = Result<TensorInfo<'_>>> + '_ {
        (0..self.len()).map(move |p| self.try_info_at(p))
    }

    /// What the index says about the tensor at `position` (position order,
    /// as [`TensorFile::try_get_at`]), without reading its data (whatever
    /// the backend).
    pub fn try_info_at(&self, position: usize) -> Result<TensorInfo<'_>> {
        self.describe_checked_at(position)
            .map(|t| TensorInfo::of(&t))
    }

    /// What the index says about the tensor called `name`, without reading
    /// its data (whatever the backend): what to allocate before
    /// [`TensorFile::read_tensor`] or [`TensorFile::read_slice`].
    pub fn try_info(&self, name: &str) -> Result<TensorInfo<'_>> {
        self.owner_of(name).map(|(_, t)| TensorInfo::of(&t))
    }

    /// Recomputes every tensor checksum (reads all data) and, for .tenzor,
    /// checks that the padding between tensors is zero. Tensors are hashed
    /// on up to 4 threads, each streaming its tensor through a few MiB
    /// (mapped pages are dropped from the process once hashed; the read
    /// backends read into a small buffer, not the handle's memory), so the
    /// resident size stays bounded whatever the file's size. The error
    /// names the first bad tensor in position order. Formats without
    /// checksums (legacy .tenzor, safetensors, GGUF) were fully checked for
    /// structure at open; for them this succeeds without reading data.
    ///
    /// A file with the edit mark set ([`TensorFile::edit_interrupted`]) is
    /// checked whole: the error names every tensor whose checksum disagrees
    /// as stale after an interrupted edit (and a stale header checksum),
    /// which `tenzor rehash` ([`crate::rehash`]) repairs.
    pub fn verify(&self) -> Result<()> {
        if let Kind::Sharded(s) = &self.kind {
            return s.shards().iter().try_for_each(|f| f.verify());
        }
        self.check_padding()?;
        if let Some(g) = self.root().and_then(|r| r.damaged_newer) {
            let e = Error::new(
                ErrorKind::Checksum,
                format!(
                    "the root slot of generation {g} is intact but its index region is damaged \
                     or missing: the file opens as its previous generation"
                ),
            );
            return Err(match &self.path {
                Some(p) => e.in_file(p),
                None => e,
            });
        }
        if self.edit_interrupted() {
            return self.verify_interrupted_edit();
        }
        self.verify_checksums()
    }

    /// True when the edit mark is set (FORMAT.md, "Edit mark"): an
    /// in-place edit is under way in another process, or a process died
    /// while editing. The file opened read-only as always, its structure
    /// fully checked, but tensor checksums (and the header checksum, which
    /// is then not enforced) may be stale: [`TensorFile::stale_tensors`]
    /// names them and [`crate::rehash`] recomputes them and clears the mark.
    /// For a sharded checkpoint: true when any shard is marked.
    pub fn edit_interrupted(&self) -> bool {
        match &self.kind {
            Kind::Native(n) => n.edit_mark(),
            Kind::Foreign(_) => false,
            Kind::Sharded(s) => s.shards().iter().any(|f| f.edit_interrupted()),
        }
    }

    /// The tensors whose stored checksum disagrees with their data (reads
    /// all data). After an interrupted edit these are the tensors that were
    /// being written; without the edit mark a non-empty list means corruption.
    pub fn stale_tensors(&self) -> Vec<Tensor<'_>> {
        self.iter()
            .filter(|t| {
                t.checksum()
                    .is_some_and(|c| c != format::checksum(t.data()))
            })
            .collect()
    }

    fn verify_interrupted_edit(&self) -> Result<()> {
        let stale: Vec<String> = self
            .stale_tensors()
            .iter()
            .map(|t| format!("'{}'", t.display_name().escape_debug()))
            .collect();
        let header_stale = matches!(&self.kind, Kind::Native(n) if n.header_stale);
        if stale.is_empty() && !header_stale {
            return Ok(());
        }
        let mut what = Vec::new();
        if !stale.is_empty() {
            what.push(format!(
                "{} stale after an interrupted edit: {}",
                if stale.len() == 1 {
                    "tensor is"
                } else {
                    "tensors are"
                },
                stale.join(", ")
            ));
        }
        if header_stale {
            what.push("the header checksum is stale after an interrupted edit".to_string());
        }
        let e = Error::new(
            ErrorKind::Checksum,
            format!(
                "{} (run `tenzor rehash` to recompute the checksums and clear the edit mark)",
                what.join("; ")
            ),
        );
        Err(match &self.path {
            Some(p) => e.in_file(p),
            None => e,
        })
    }

    /// Checks the names' hashes (and, after a lazy open, the whole
    /// structure) and that the padding between native tensors is zero.
    /// Reads only the header region (which every store holds since open)
    /// and the padding, streamed through a small buffer.
    fn check_padding(&self) -> Result<()> {
        // Native files also keep the padding between tensors zero: a gap
        // holding other content (a polyglot file) is refused here.
        if let Kind::Native(n) = &self.kind {
            let b = self.as_bytes();
            if self.validation == Validation::Lazy {
                parse(b, None).map_err(|e| self.tag(e))?;
            }
            n.check_hashes(b).map_err(|e| self.tag(e))?;
        }
        // (Appended files keep dead space between tensors by design.)
        let mut end = match &self.kind {
            Kind::Native(n) if !n.is_legacy() && !n.append.is_some_and(|r| r.appendable) => {
                Some(n.data_offset as u64)
            }
            _ => None,
        };
        let mut buf = Vec::new();
        for p in 0..self.len() {
            let Some(prev) = end else { break };
            let t = self.describe_at(p).map_err(|e| self.tag(e))?;
            let start = t.file_offset();
            let mut zero = true;
            self.store
                .stream(prev, start.saturating_sub(prev), &mut buf, &mut |c| {
                    zero &= c.iter().all(|&x| x == 0);
                    Ok(())
                })
                .map_err(|e| self.tag(e))?;
            if !zero {
                let e = Error::format(
                    "the padding before its data is not zero (hidden bytes between tensors)",
                )
                .for_tensor(&t.display_name());
                return Err(self.tag(e));
            }
            end = Some(start + t.data().len() as u64);
        }
        Ok(())
    }

    /// xxh3 of a tensor's data. Mapped files are hashed in 8 MiB steps,
    /// each step's pages dropped from this process once hashed, so checking
    /// a file larger than memory keeps its resident size bounded (the page
    /// cache keeps them; touching them again faults them back in).
    fn hash_data(&self, t: &Tensor<'_>) -> u64 {
        const STEP: usize = 8 << 20;
        let d = t.data();
        if d.len() <= STEP || !matches!(self.store, Store::Mapped { .. }) {
            return format::checksum(d);
        }
        let mut h = format::Checksum::new();
        for (i, c) in d.chunks(STEP).enumerate() {
            h.update(c);
            self.store
                .drop_resident(t.offset + (i * STEP) as u64, c.len() as u64);
        }
        h.digest()
    }

    /// Bytes of tensor data, summed over every tensor (read from the index:
    /// no tensor data is read, whatever the backend). Tensors a lazy open
    /// cannot describe count as 0 bytes.
    pub fn data_bytes(&self) -> u64 {
        (0..self.len())
            .filter_map(|p| self.describe_at(p).ok())
            .map(|t| t.data.len() as u64)
            .sum()
    }

    /// True when the format stores per-tensor checksums.
    pub fn has_checksums(&self) -> bool {
        match &self.kind {
            Kind::Native(n) => !n.is_legacy(),
            Kind::Foreign(_) => false,
            Kind::Sharded(s) => s.shards().iter().all(|f| f.has_checksums()),
        }
    }

    /// Recomputes one tensor's checksum.
    pub fn verify_tensor(&self, t: &Tensor<'_>) -> Result<()> {
        match t.checksum() {
            Some(stored) => self.compare_checksum(t, stored, self.hash_data(t)),
            None => Ok(()),
        }
    }
}
