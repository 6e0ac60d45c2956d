//! Stand-in for `shards` (feature `foreign` left out): shard indexes
//! (`*.index.json`) are refused, and no file is part of a GGUF split.

use std::path::Path;

use super::unsupported;
use crate::error::Result;
use crate::io::OpenOptions;
use crate::reader::TensorFile;
use crate::tensor::Tensor;

/// Several files seen as one: never built in this build.
pub(crate) enum Sharded {}

impl Sharded {
    pub fn shards(&self) -> &[TensorFile<'static>] {
        match *self {}
    }

    pub fn metadata(&self) -> &str {
        match *self {}
    }

    pub fn len(&self) -> usize {
        match *self {}
    }

    pub fn get(&self, _name: &str) -> Option<Result<Tensor<'_>>> {
        match *self {}
    }

    pub fn owner_of(&self, _name: &str) -> Option<Result<(&TensorFile<'static>, Tensor<'_>)>> {
        match *self {}
    }

    pub fn describe(&self, _name: &str) -> Option<Result<Tensor<'_>>> {
        match *self {}
    }

    pub fn get_by_hash(&self, _hash: u64) -> Option<Result<Tensor<'_>>> {
        match *self {}
    }

    pub fn get_at(&self, _position: usize) -> Option<Result<Tensor<'_>>> {
        match *self {}
    }

    pub fn describe_at(&self, _position: usize) -> Result<Tensor<'_>> {
        match *self {}
    }
}

/// Refuses a shard index.
pub(crate) fn open_index(_path: &Path, _bytes: &[u8], _opts: &OpenOptions) -> Result<Sharded> {
    Err(unsupported("foreign", "to open shard sets (*.index.json)"))
}

/// No file is part of a GGUF split: none opens.
pub(crate) fn gguf_split_info(_f: &TensorFile<'_>) -> Option<(u64, u64)> {
    None
}

/// Never called: [`gguf_split_info`] finds no split.
pub(crate) fn open_gguf_split(
    _path: &Path,
    _first: TensorFile<'static>,
    _count: u64,
    _opts: &OpenOptions,
) -> Result<Sharded> {
    Err(unsupported("foreign", "to open GGUF splits"))
}
