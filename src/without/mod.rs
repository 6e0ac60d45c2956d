//! Stand-ins for the modules of a left-out Cargo feature (README, "Edge and
//! embedded"). Each has the shape the rest of the crate uses, but its types
//! are empty enums that can never be built: its constructors fail with
//! [`ErrorKind::Unsupported`] ("tenzor was built without feature `X`"), and
//! every method on a value is unreachable (`match *self {}`). The reader and
//! the metadata index therefore keep one shape in every build, without
//! `cfg` in their code.

use crate::error::{Error, ErrorKind};

#[cfg(not(feature = "foreign"))]
pub(crate) mod foreign;
#[cfg(all(feature = "write", not(feature = "foreign")))]
pub(crate) mod foreign_write;
#[cfg(not(feature = "foreign"))]
pub(crate) mod gguf_meta;
#[cfg(not(feature = "foreign"))]
pub(crate) mod shards;

/// The error of anything `feature` provides: `Unsupported`, "tenzor was
/// built without feature `foreign` (needed to read .safetensors files)".
pub(crate) fn unsupported(feature: &str, needed_for: &str) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!("tenzor was built without feature `{feature}` (needed {needed_for})"),
    )
}
