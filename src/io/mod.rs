//! How a file's bytes reach memory: the open options (backend, validation
//! level, hints), the backend choice for `auto`, and the stores behind a
//! [`crate::TensorFile`] (a memory map, or positioned reads into memory the
//! handle owns, optionally with O_DIRECT).

mod batch;
pub mod bench;
mod fs;
mod gather;
mod hints;
mod pread;
mod prefetch;
mod store;
mod stream;
#[cfg(feature = "write")]
mod write_behind;

pub(crate) use batch::{read_segments, Segment};
pub use batch::{BatchOptions, ReadRequest};
pub(crate) use gather::{gather, Run};
pub use pread::IoStats;
pub(crate) use store::Store;
#[cfg(feature = "write")]
pub(crate) use write_behind::WriteBehind;

/// How tensor bytes are brought into memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// `read` on network and FUSE filesystems (recognised by their statfs
    /// magic), `mmap` elsewhere. [`crate::TensorFile::backend`] says which
    /// was picked and why.
    #[default]
    Auto,
    /// Map the file read-only; views point into the page cache.
    Mmap,
    /// No mapping of the file: the index is read with `pread`, tensors are
    /// read on demand into memory the handle owns (or into caller memory).
    Read,
    /// Like `Read`, with O_DIRECT for every read whose offset, length and
    /// buffer are 4096-aligned, falling back to buffered reads for the rest
    /// (and altogether where the filesystem refuses O_DIRECT).
    Direct,
}

impl Backend {
    /// Lower-case name, as the CLI spells it.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::Mmap => "mmap",
            Backend::Read => "read",
            Backend::Direct => "direct",
        }
    }

    /// Parses a name from [`Backend::name`].
    pub fn from_name(s: &str) -> Option<Backend> {
        [Backend::Auto, Backend::Mmap, Backend::Read, Backend::Direct]
            .into_iter()
            .find(|b| b.name() == s)
    }
}

/// How much of a file is checked at open (FORMAT.md, "Validation levels").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Validation {
    /// Every structural rule and the header checksum, at open.
    #[default]
    Full,
    /// .tenzor files: the header and region bounds at open, each index entry
    /// when it is returned; the rest is left to [`crate::TensorFile::verify`].
    /// Other formats are parsed as with `Full` (their headers must be read
    /// whole to find anything).
    Lazy,
}

/// Expected access pattern, passed to the kernel as readahead advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Access {
    /// No advice.
    #[default]
    Normal,
    /// Tensors are read front to back: aggressive readahead.
    Sequential,
    /// Scattered lookups: no readahead.
    Random,
}

/// Options of [`crate::TensorFile::open_with`].
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Where bytes come from.
    pub backend: Backend,
    /// How much is checked at open.
    pub validation: Validation,
    /// Start reading every tensor now, in the background (see
    /// [`crate::TensorFile::prefetch`]).
    pub prefetch: bool,
    /// Readahead advice.
    pub access: Access,
    /// Lock the tensor data in memory (mlock) at open.
    pub lock: bool,
}

/// The backend an open file uses and why it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendChoice {
    /// Never `Auto`.
    pub backend: Backend,
    /// One sentence: requested explicitly, or what `auto` saw.
    pub reason: String,
}

/// Resolves `Auto` for the file at `path` (others are returned as asked).
pub(crate) fn choose(asked: Backend, file: &std::fs::File) -> BackendChoice {
    if asked != Backend::Auto {
        return BackendChoice {
            backend: asked,
            reason: format!("{} was requested", asked.name()),
        };
    }
    match fs::remote_kind(file) {
        Some(kind) => BackendChoice {
            backend: Backend::Read,
            reason: format!(
                "auto: the file is on {kind}, where mapped reads are slow and truncation kills the process"
            ),
        },
        None => BackendChoice {
            backend: Backend::Mmap,
            reason: "auto: the file is on a local filesystem".to_string(),
        },
    }
}
