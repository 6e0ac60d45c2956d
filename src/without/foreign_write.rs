//! Stand-in for `foreign_write` (feature `foreign` left out): `convert`
//! writes .tenzor only.

use std::path::Path;

use super::unsupported;
use crate::convert::Source;
use crate::error::Result;

/// Refuses a .safetensors output.
pub(crate) fn safetensors(
    _src: &Source<'_>,
    output: &Path,
    _total: u64,
    _progress: &mut dyn FnMut(u64, u64),
) -> Result<()> {
    Err(unsupported("foreign", "to write .safetensors files").in_file(output))
}

/// Refuses a .gguf output.
pub(crate) fn gguf(
    _src: &Source<'_>,
    output: &Path,
    _total: u64,
    _progress: &mut dyn FnMut(u64, u64),
) -> Result<()> {
    Err(unsupported("foreign", "to write GGUF files").in_file(output))
}
