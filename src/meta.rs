//! Typed metadata, key by key, for every format, without a JSON parser on
//! the caller's side and without copying what the file already holds.
//!
//! - GGUF: the KV pairs, with their GGUF types; strings and numeric arrays
//!   are slices of the mapping (indexed at open, see `gguf::Kv`).
//! - .tenzor: the top-level keys of the JSON metadata object;
//!   safetensors: the keys of `__metadata__`. Indexed on first request, once:
//!   keys and strings are slices of the file where they hold no escapes
//!   (decoded ones share one arena); numbers are parsed; nested objects and
//!   arrays are [`MetaValue::Json`], their raw JSON text.
//! - Shard sets: a GGUF split gives the first shard's KV pairs as stored
//!   (its `split.*` keys included); a `*.index.json` set gives the merged
//!   metadata that [`TensorFile::metadata_json`] returns.
//!
//! A JSON object may repeat a key; [`Meta::find`] returns the last one, the
//! one JSON parsers (and [`TensorFile::metadata`]) keep.

use std::fmt;
use std::sync::OnceLock;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::gguf_meta::GgufMeta;
use crate::json_text::{KeySeed, Text};

/// The type of a metadata value. The numbers are GGUF's value types; JSON
/// metadata adds `Null` and `Json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaType {
    /// Unsigned 8-bit integer.
    U8 = 0,
    /// Signed 8-bit integer.
    I8 = 1,
    /// Unsigned 16-bit integer.
    U16 = 2,
    /// Signed 16-bit integer.
    I16 = 3,
    /// Unsigned 32-bit integer.
    U32 = 4,
    /// Signed 32-bit integer.
    I32 = 5,
    /// 32-bit float.
    F32 = 6,
    /// Boolean.
    Bool = 7,
    /// UTF-8 string.
    String = 8,
    /// GGUF array (see [`MetaArray`]).
    Array = 9,
    /// Unsigned 64-bit integer (JSON: a non-negative integer above `i64::MAX`).
    U64 = 10,
    /// Signed 64-bit integer (JSON: every integer that fits).
    I64 = 11,
    /// 64-bit float (JSON: every number with a fraction or exponent).
    F64 = 12,
    /// JSON `null`.
    Null = 13,
    /// A JSON object or array nested in JSON metadata, as raw text.
    Json = 14,
}

impl MetaType {
    /// Bytes of one element of a numeric array (`None` for strings, arrays).
    pub fn element_size(self) -> Option<usize> {
        match self {
            MetaType::U8 | MetaType::I8 | MetaType::Bool => Some(1),
            MetaType::U16 | MetaType::I16 => Some(2),
            MetaType::U32 | MetaType::I32 | MetaType::F32 => Some(4),
            MetaType::U64 | MetaType::I64 | MetaType::F64 => Some(8),
            _ => None,
        }
    }
}

/// One metadata value, borrowed from the file (or the handle).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MetaValue<'a> {
    /// Any integer, widened.
    Int {
        /// What the file stores (`I64`/`U64` for JSON).
        ty: MetaType,
        /// The value.
        value: i128,
    },
    /// A float (f32 values widened exactly).
    Float {
        /// `F32` or `F64`.
        ty: MetaType,
        /// The value.
        value: f64,
    },
    /// A boolean.
    Bool(bool),
    /// A string.
    Str(&'a str),
    /// A GGUF array.
    Array(MetaArray<'a>),
    /// JSON `null`.
    Null,
    /// A nested JSON object or array, as its raw text.
    Json(&'a str),
}

impl MetaValue<'_> {
    /// The value's type.
    pub fn ty(&self) -> MetaType {
        match self {
            MetaValue::Int { ty, .. } | MetaValue::Float { ty, .. } => *ty,
            MetaValue::Bool(_) => MetaType::Bool,
            MetaValue::Str(_) => MetaType::String,
            MetaValue::Array(_) => MetaType::Array,
            MetaValue::Null => MetaType::Null,
            MetaValue::Json(_) => MetaType::Json,
        }
    }
}

/// A GGUF array: its items stay in the file.
#[derive(Debug, Clone, Copy)]
pub struct MetaArray<'a> {
    item: MetaType,
    len: usize,
    /// From the first item to the end of the array.
    items: &'a [u8],
    /// Lazily built start offsets of string items (in `items`).
    offsets: Option<&'a OnceLock<Box<[usize]>>>,
}

impl PartialEq for MetaArray<'_> {
    fn eq(&self, o: &Self) -> bool {
        (self.item, self.len, self.items) == (o.item, o.len, o.items)
    }
}

impl<'a> MetaArray<'a> {
    /// A GGUF array of `len` items of type `item`, stored from the start of
    /// `items` (validated at open); `offsets` caches string item offsets.
    #[cfg(feature = "foreign")]
    pub(crate) fn new(
        item: MetaType,
        len: usize,
        items: &'a [u8],
        offsets: &'a OnceLock<Box<[usize]>>,
    ) -> MetaArray<'a> {
        MetaArray {
            item,
            len,
            items,
            offsets: Some(offsets),
        }
    }

    /// The type of every item.
    pub fn item_type(&self) -> MetaType {
        self.item
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the array has no item.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The items of a numeric (or bool) array as stored: little-endian,
    /// `len * element_size` bytes, not necessarily aligned. `None` for
    /// arrays of strings or arrays.
    pub fn raw(&self) -> Option<&'a [u8]> {
        let size = self.item.element_size()?;
        Some(&self.items[..self.len * size])
    }

    /// Item `i` of a string array, without copying. The first call on an
    /// array indexes its strings once (one allocation per array, none per
    /// string); [`MetaArray::strs`] needs no index.
    pub fn str(&self, i: usize) -> Option<&'a str> {
        // Validated UTF-8 at open; the fallback only guards against a bug.
        self.str_bytes(i)
            .map(|b| std::str::from_utf8(b).unwrap_or(""))
    }

    /// [`MetaArray::str`] as bytes (for C, which takes pointer + length).
    pub(crate) fn str_bytes(&self, i: usize) -> Option<&'a [u8]> {
        if self.item != MetaType::String || i >= self.len {
            return None;
        }
        let offsets = self.offsets?.get_or_init(|| {
            let mut at = 0;
            self.strs_bytes()
                .map(|s| {
                    let o = at;
                    at += 8 + s.len();
                    o
                })
                .collect()
        });
        Some(string_at(self.items, offsets[i]).0)
    }

    /// Every item of a string array, in order (empty for other arrays).
    pub fn strs(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.strs_bytes()
            .map(|b| std::str::from_utf8(b).unwrap_or(""))
    }

    /// Calls `f(j, bytes)` for items `first + j`, `j < count`, of a string
    /// array (in range: checked by the caller), in one tight pass.
    pub(crate) fn each_str_bytes(
        &self,
        first: usize,
        count: usize,
        mut f: impl FnMut(usize, &'a [u8]),
    ) {
        let mut rest = self.items;
        for j in 0..first + count {
            let (len, r) = rest.split_at(8);
            let len = u64::from_le_bytes(len.try_into().expect("8 bytes")) as usize;
            let (s, r) = r.split_at(len);
            rest = r;
            if j >= first {
                f(j - first, s);
            }
        }
    }

    /// [`MetaArray::strs`] as bytes: one pass over the length prefixes.
    pub(crate) fn strs_bytes(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let n = if self.item == MetaType::String {
            self.len
        } else {
            0
        };
        let items = self.items;
        let mut at = 0;
        (0..n).map(move |_| {
            let (s, next) = string_at(items, at);
            at = next;
            s
        })
    }
}

/// The bytes of the GGUF string at `at` (checked at open) and the offset
/// after it.
pub(crate) fn string_at(b: &[u8], at: usize) -> (&[u8], usize) {
    let len = u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes")) as usize;
    (&b[at + 8..at + 8 + len], at + 8 + len)
}

#[derive(Debug, Clone, Copy)]
enum JsonVal {
    Int(i128),
    Float(f64),
    Bool(bool),
    Null,
    Str(Text),
    Raw(usize, usize),
}

/// The top-level keys of a JSON object, located in its text.
#[derive(Debug, Default)]
pub(crate) struct JsonMeta {
    entries: Vec<(Text, JsonVal)>,
    arena: String,
}

impl JsonMeta {
    /// Indexes the object `text` (empty or blank: no keys).
    pub fn index(text: &str) -> Result<JsonMeta> {
        let mut m = JsonMeta::default();
        if text.trim().is_empty() {
            return Ok(m);
        }
        if text.len() > u32::MAX as usize {
            return Err(Error::new(
                crate::ErrorKind::Unsupported,
                "metadata larger than 4 GiB cannot be indexed by key",
            ));
        }
        let mut de = serde_json::Deserializer::from_str(text);
        de.deserialize_map(Top {
            m: &mut m,
            base: text.as_ptr() as usize,
        })
        .and_then(|()| de.end())
        .map_err(|e| Error::format(format!("metadata is not a JSON object: {e}")))?;
        Ok(m)
    }

    fn text<'a>(&'a self, text: &'a str, s: Text) -> &'a str {
        s.resolve(text, &self.arena)
    }
}

struct Top<'m> {
    m: &'m mut JsonMeta,
    base: usize,
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(KeySeed {
            base: self.base,
            arena: &mut self.m.arena,
        })? {
            let raw: &'de RawValue = map.next_value()?;
            let v = classify(raw.get(), self.base, &mut self.m.arena).map_err(de::Error::custom)?;
            self.m.entries.push((key, v));
        }
        Ok(())
    }
}

/// The typed form of one raw JSON value.
fn classify(raw: &str, base: usize, arena: &mut String) -> serde_json::Result<JsonVal> {
    let at = raw.as_ptr() as usize - base;
    Ok(match raw.as_bytes()[0] {
        b'{' | b'[' => JsonVal::Raw(at, raw.len()),
        b'n' => JsonVal::Null,
        b't' => JsonVal::Bool(true),
        b'f' => JsonVal::Bool(false),
        b'"' => {
            let mut de = serde_json::Deserializer::from_str(raw);
            let s = KeySeed { base, arena }.deserialize(&mut de)?;
            JsonVal::Str(s)
        }
        _ => {
            let n: serde_json::Number = serde_json::from_str(raw)?;
            match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => JsonVal::Int(i as i128),
                (_, Some(u)) => JsonVal::Int(u as i128),
                _ => JsonVal::Float(n.as_f64().unwrap_or(f64::NAN)),
            }
        }
    })
}

/// The typed metadata of one open file (see the module docs).
#[derive(Clone, Copy)]
pub struct Meta<'a> {
    src: Src<'a>,
}

#[derive(Clone, Copy)]
enum Src<'a> {
    Gguf(&'a [u8], &'a GgufMeta),
    Json(&'a str, &'a JsonMeta),
}

impl<'a> Meta<'a> {
    pub(crate) fn gguf(bytes: &'a [u8], g: &'a GgufMeta) -> Meta<'a> {
        Meta {
            src: Src::Gguf(bytes, g),
        }
    }

    pub(crate) fn json(text: &'a str, j: &'a JsonMeta) -> Meta<'a> {
        Meta {
            src: Src::Json(text, j),
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        match self.src {
            Src::Gguf(_, g) => g.len(),
            Src::Json(_, j) => j.entries.len(),
        }
    }

    /// True when there is no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The index of `key` (the last one when a JSON object repeats it); a
    /// linear scan over the keys, as in ggml's `gguf_find_key`.
    pub fn find(&self, key: &str) -> Option<usize> {
        (0..self.len()).rev().find(|&i| self.key(i) == Some(key))
    }

    /// The key at `index`.
    pub fn key(&self, index: usize) -> Option<&'a str> {
        match self.src {
            Src::Gguf(b, g) => g.key(b, index),
            Src::Json(t, j) => j.entries.get(index).map(|e| j.text(t, e.0)),
        }
    }

    /// The value at `index`.
    pub fn get(&self, index: usize) -> Option<MetaValue<'a>> {
        match self.src {
            Src::Gguf(b, g) => g.value(b, index),
            Src::Json(t, j) => Some(match j.entries.get(index)?.1 {
                JsonVal::Int(v) => MetaValue::Int {
                    ty: if v > i64::MAX as i128 {
                        MetaType::U64
                    } else {
                        MetaType::I64
                    },
                    value: v,
                },
                JsonVal::Float(v) => MetaValue::Float {
                    ty: MetaType::F64,
                    value: v,
                },
                JsonVal::Bool(v) => MetaValue::Bool(v),
                JsonVal::Null => MetaValue::Null,
                JsonVal::Str(s) => MetaValue::Str(j.text(t, s)),
                JsonVal::Raw(a, n) => MetaValue::Json(&t[a..a + n]),
            }),
        }
    }

    /// The value of `key`.
    pub fn value(&self, key: &str) -> Option<MetaValue<'a>> {
        self.get(self.find(key)?)
    }
}
