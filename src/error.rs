//! One error type for the whole crate. Its message always names the file
//! (when there is one), the tensor (when there is one) and the problem.

use std::fmt;
use std::io;
use std::path::Path;

/// What kind of failure an [`Error`] is; the C layer maps each to a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A caller-supplied argument is unusable (bad shape, length, alignment...).
    InvalidArgument,
    /// The operating system refused an operation (open, read, write, rename).
    Io,
    /// The file is not a valid file of its format.
    BadFormat,
    /// A stored checksum does not match the bytes.
    Checksum,
    /// No tensor has the requested name, hash or position.
    NotFound,
    /// A tensor name is used twice.
    DuplicateName,
    /// The input is valid but asks for something this version cannot do.
    Unsupported,
    /// Another handle or process holds the file's write lock.
    Busy,
    /// A value exists but has another type than the one asked for.
    WrongType,
    /// An index or range lies outside what exists.
    OutOfRange,
}

/// The error of every fallible operation in tenzor.
#[derive(Debug, thiserror::Error)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<io::Error>,
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A new error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// A bad-format error.
    pub fn format(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::BadFormat, message)
    }

    /// An invalid-argument error.
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidArgument, message)
    }

    /// An I/O error about `path`, keeping the OS error as the source.
    pub fn io(path: &Path, what: &str, err: io::Error) -> Error {
        Error {
            kind: ErrorKind::Io,
            message: format!("{}: {what}: {err}", path.display()),
            source: Some(err),
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Prefixes the message with a tensor name: `tensor 'x': ...`.
    pub fn for_tensor(mut self, name: &str) -> Error {
        self.message = format!("tensor '{}': {}", name.escape_debug(), self.message);
        self
    }

    /// Prefixes the message with a file name, unless it already starts with it.
    pub fn in_file(mut self, path: &Path) -> Error {
        let p = path.display().to_string();
        if !self.message.starts_with(&p) {
            self.message = format!("{p}: {}", self.message);
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
