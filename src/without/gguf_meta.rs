//! Stand-in for `gguf_meta` (feature `foreign` left out): no GGUF file
//! opens, so there is never a GGUF KV index.

use crate::meta::MetaValue;

/// A GGUF file's KV index: never built in this build.
pub(crate) enum GgufMeta {}

impl GgufMeta {
    pub fn len(&self) -> usize {
        match *self {}
    }

    pub fn key<'a>(&self, _b: &'a [u8], _index: usize) -> Option<&'a str> {
        match *self {}
    }

    pub fn value<'a>(&'a self, _b: &'a [u8], _index: usize) -> Option<MetaValue<'a>> {
        match *self {}
    }
}
