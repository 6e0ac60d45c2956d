//! Typed metadata of GGUF files (feature `foreign`): the KV pairs indexed
//! at open, decoded on request into [`MetaValue`]s borrowed from the file.

use std::sync::OnceLock;

use crate::gguf::{Kv, ValueType};
use crate::meta::{string_at, MetaArray, MetaType, MetaValue};

/// A GGUF file's KV index plus the lazy string-offset tables.
pub(crate) struct GgufMeta {
    pub kv: Vec<Kv>,
    offsets: Vec<OnceLock<Box<[usize]>>>,
}

impl GgufMeta {
    pub fn new(kv: Vec<Kv>) -> GgufMeta {
        let offsets = kv.iter().map(|_| OnceLock::new()).collect();
        GgufMeta { kv, offsets }
    }

    /// Number of KV pairs.
    pub fn len(&self) -> usize {
        self.kv.len()
    }

    /// The key of pair `index`; `b` is the file's bytes.
    pub fn key<'a>(&self, b: &'a [u8], index: usize) -> Option<&'a str> {
        self.kv.get(index).map(|e| e.key(b))
    }

    /// The value of pair `index`; `b` is the file's bytes.
    pub fn value<'a>(&'a self, b: &'a [u8], index: usize) -> Option<MetaValue<'a>> {
        let e = self.kv.get(index)?;
        Some(gguf_value(b, e, &self.offsets[index]))
    }
}

/// The metadata type of a GGUF value type (the numbers are the same).
fn meta_type(t: ValueType) -> MetaType {
    match t {
        ValueType::U8 => MetaType::U8,
        ValueType::I8 => MetaType::I8,
        ValueType::U16 => MetaType::U16,
        ValueType::I16 => MetaType::I16,
        ValueType::U32 => MetaType::U32,
        ValueType::I32 => MetaType::I32,
        ValueType::F32 => MetaType::F32,
        ValueType::Bool => MetaType::Bool,
        ValueType::String => MetaType::String,
        ValueType::Array => MetaType::Array,
        ValueType::U64 => MetaType::U64,
        ValueType::I64 => MetaType::I64,
        ValueType::F64 => MetaType::F64,
    }
}

/// Decodes the GGUF value of `e` (validated at open).
fn gguf_value<'a>(b: &'a [u8], e: &Kv, offsets: &'a OnceLock<Box<[usize]>>) -> MetaValue<'a> {
    let v = &b[e.value..e.end];
    let int = |value: i128| MetaValue::Int {
        ty: meta_type(e.ty),
        value,
    };
    macro_rules! le {
        ($t:ty) => {
            <$t>::from_le_bytes(v[..std::mem::size_of::<$t>()].try_into().expect("sized"))
        };
    }
    match e.ty {
        ValueType::U8 => int(v[0] as i128),
        ValueType::I8 => int(v[0] as i8 as i128),
        ValueType::U16 => int(le!(u16) as i128),
        ValueType::I16 => int(le!(i16) as i128),
        ValueType::U32 => int(le!(u32) as i128),
        ValueType::I32 => int(le!(i32) as i128),
        ValueType::U64 => int(le!(u64) as i128),
        ValueType::I64 => int(le!(i64) as i128),
        ValueType::F32 => MetaValue::Float {
            ty: MetaType::F32,
            value: le!(f32) as f64,
        },
        ValueType::F64 => MetaValue::Float {
            ty: MetaType::F64,
            value: le!(f64),
        },
        ValueType::Bool => MetaValue::Bool(v[0] == 1),
        ValueType::String => MetaValue::Str(std::str::from_utf8(string_at(v, 0).0).unwrap_or("")),
        ValueType::Array => {
            let (item, len) = e.array_header(b).expect("validated array");
            MetaValue::Array(MetaArray::new(
                meta_type(item),
                len as usize,
                &v[12..],
                offsets,
            ))
        }
    }
}
