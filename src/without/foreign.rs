//! Stand-in for `foreign` (feature `foreign` left out): safetensors and GGUF
//! files are recognised, then refused as unsupported.

use super::unsupported;
use crate::error::Result;
use crate::gguf_meta::GgufMeta;
use crate::reader::Format;
use crate::tensor::Tensor;

/// The index of a foreign file: never built in this build.
pub(crate) enum Foreign {}

impl Foreign {
    pub fn len(&self) -> usize {
        match *self {}
    }

    pub fn format(&self) -> Format {
        match *self {}
    }

    pub fn version(&self) -> u32 {
        match *self {}
    }

    pub fn alignment(&self) -> u64 {
        match *self {}
    }

    pub fn data_offset(&self) -> usize {
        match *self {}
    }

    pub fn metadata_json(&self, _bytes: &[u8]) -> &str {
        match *self {}
    }

    pub fn gguf_meta(&self) -> Option<&GgufMeta> {
        match *self {}
    }

    pub fn metadata_text<'b>(&self, _bytes: &'b [u8]) -> &'b str {
        match *self {}
    }

    pub fn find(&self, _name: &str) -> Option<usize> {
        match *self {}
    }

    pub fn find_hash(&self, _hash: u64) -> Option<usize> {
        match *self {}
    }

    pub fn tensor<'a>(&'a self, _bytes: &'a [u8], _position: usize) -> Tensor<'a> {
        match *self {}
    }
}

/// Refuses a safetensors file.
pub(crate) fn safetensors(_bytes: &[u8]) -> Result<Foreign> {
    Err(unsupported("foreign", "to read .safetensors files"))
}

/// Refuses a GGUF file.
pub(crate) fn gguf(
    _bytes: &[u8],
    _release: Option<&dyn Fn(std::ops::Range<usize>)>,
) -> Result<Foreign> {
    Err(unsupported("foreign", "to read GGUF files"))
}
