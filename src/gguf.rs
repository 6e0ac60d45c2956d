//! A small GGUF (v2 and v3) parser over the bytes of a mapped file.
//!
//! Written by hand on purpose: the Rust GGUF crates either copy tensor data
//! into owned buffers or trust the counts and lengths in the file. This one
//! borrows nothing but validates everything, in the order the bytes come:
//!
//! - every length and count is checked against the bytes that remain
//!   *before* anything is allocated for it (a string of 2^63 bytes or an
//!   array of 2^60 elements in a 100-byte file is an error, not an
//!   allocation): a count is accepted only if `count * smallest encoding of
//!   one element` fits in what remains, so memory stays proportional to the
//!   file's header;
//! - size arithmetic is checked (`dims` product, `/ block elements * block
//!   bytes`, `data start + offset + size`);
//! - ranks above 4, unknown value or GGML type codes, arrays nested deeper
//!   than [`MAX_ARRAY_DEPTH`], duplicate keys or tensor names, names that are
//!   empty or contain NUL, strings that are not UTF-8, a `general.alignment`
//!   that is not a `u32` power of two in `1..=`[`MAX_ALIGNMENT`], tensor
//!   offsets that are not aligned, data outside the file and overlapping
//!   tensor data are all errors naming the key or tensor.
//!
//! Choices where the GGUF spec is silent:
//! - Dimensions of 0 are allowed (an empty tensor of 0 bytes, like
//!   safetensors and .tenzor); rank 0 is a scalar. Dimensions above
//!   `i64::MAX` are refused because GGML stores them as `int64_t`, and so is
//!   an element count above `i64::MAX`.
//! - For block types the innermost dimension (`ne[0]`) must be a whole
//!   number of blocks, as GGML requires (rows are quantized independently).
//! - Gaps between tensors and trailing bytes are tolerated (llama.cpp's
//!   writer pads; other writers leave slack), overlaps are not.
//! - `bool` values must be 0 or 1, so that a round trip is exact.
//! - String values, like names, must be UTF-8 (the spec says they are):
//!   replacing bad bytes would make GGUF -> .tenzor -> GGUF lossy.
//! - Tensor names longer than GGML's 63 bytes are read (the bytes are
//!   there); the writer refuses them (see `gguf_write`).
//!
//! The key/value section is indexed at open ([`Kv`]: where each key and
//! value lies, everything in it checked) and becomes JSON only on demand
//! ([`kv_json`]); tensors become [`GgufTensor`]s with absolute offsets into
//! the same bytes.

use std::collections::HashSet;
use std::io::Write as _;

use crate::dtype::DType;
use crate::error::{Error, ErrorKind, Result};

/// The 4 magic bytes at offset 0.
pub(crate) const MAGIC: [u8; 4] = *b"GGUF";
/// Largest tensor rank GGML has (`GGML_MAX_DIMS`).
pub(crate) const MAX_DIMS: usize = 4;
/// Alignment when `general.alignment` is absent (`GGUF_DEFAULT_ALIGNMENT`).
pub(crate) const DEFAULT_ALIGNMENT: u64 = 32;
/// Largest `general.alignment` accepted (1 MiB covers every page size and
/// direct-I/O block; larger values only serve to make padding overflow).
pub(crate) const MAX_ALIGNMENT: u64 = 1 << 20;
/// Deepest nesting of arrays inside arrays (a top-level array is depth 1).
pub(crate) const MAX_ARRAY_DEPTH: usize = 8;
/// The key that sets the alignment.
pub(crate) const ALIGNMENT_KEY: &str = "general.alignment";
/// The reserved .tenzor metadata key holding the GGUF type of every KV
/// (see [`kv_json`]).
pub(crate) const TYPES_KEY: &str = "__gguf_types__";

/// Smallest possible KV pair: key length (8), a 1-byte key, value type
/// (4), a 1-byte value.
const MIN_KV_BYTES: u64 = 8 + 1 + 4 + 1;
/// Smallest possible tensor info: name length (8), a 1-byte name, n_dims
/// (4), no dims, ggml type (4), offset (8).
const MIN_TENSOR_INFO_BYTES: u64 = 8 + 1 + 4 + 4 + 8;

/// GGUF's value types (`enum gguf_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueType {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
}

impl ValueType {
    const ALL: [ValueType; 13] = [
        ValueType::U8,
        ValueType::I8,
        ValueType::U16,
        ValueType::I16,
        ValueType::U32,
        ValueType::I32,
        ValueType::F32,
        ValueType::Bool,
        ValueType::String,
        ValueType::Array,
        ValueType::U64,
        ValueType::I64,
        ValueType::F64,
    ];

    /// The type of a code, `None` for unknown (including "negative") codes.
    pub(crate) fn from_code(code: u32) -> Option<ValueType> {
        ValueType::ALL.get(code as usize).copied()
    }

    /// The name used in type descriptors (`"u32"`, `"string"`, `"array"`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            ValueType::U8 => "u8",
            ValueType::I8 => "i8",
            ValueType::U16 => "u16",
            ValueType::I16 => "i16",
            ValueType::U32 => "u32",
            ValueType::I32 => "i32",
            ValueType::F32 => "f32",
            ValueType::Bool => "bool",
            ValueType::String => "string",
            ValueType::Array => "array",
            ValueType::U64 => "u64",
            ValueType::I64 => "i64",
            ValueType::F64 => "f64",
        }
    }

    /// The type of a descriptor name (for `gguf_write`).
    #[cfg(feature = "write")]
    pub(crate) fn from_name(name: &str) -> Option<ValueType> {
        ValueType::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Bytes of one value of a fixed-size type (`None` for strings and arrays).
    pub(crate) fn fixed_size(self) -> Option<u64> {
        match self {
            ValueType::String | ValueType::Array => None,
            t => Some(t.min_size()),
        }
    }

    /// Bytes of the smallest encoding of one value: what bounds a count.
    fn min_size(self) -> u64 {
        match self {
            ValueType::U8 | ValueType::I8 | ValueType::Bool => 1,
            ValueType::U16 | ValueType::I16 => 2,
            ValueType::U32 | ValueType::I32 | ValueType::F32 => 4,
            ValueType::U64 | ValueType::I64 | ValueType::F64 => 8,
            ValueType::String => 8,
            ValueType::Array => 4 + 8,
        }
    }
}

/// A parsed GGUF file. Names and JSON are copied out; tensor data is not.
#[derive(Debug, Clone)]
pub(crate) struct GgufFile {
    /// 2 or 3.
    pub version: u32,
    /// `general.alignment`, or 32.
    pub alignment: u64,
    /// Start of the data section: end of the tensor infos rounded up to
    /// `alignment`.
    pub data_offset: usize,
    /// The KV pairs in file order, located and validated but not decoded
    /// (see [`kv_json`] for their JSON form).
    pub kv: Vec<Kv>,
    /// The tensors in file order.
    pub tensors: Vec<GgufTensor>,
}

/// One tensor info, validated against the file.
#[allow(dead_code)] // `ggml_type`: see `GgufFile`.
#[derive(Debug, Clone)]
pub(crate) struct GgufTensor {
    /// The name (non-empty UTF-8 without NUL, unique in the file).
    pub name: String,
    /// GGML type id.
    pub ggml_type: u32,
    /// The tenzor dtype of `ggml_type`.
    pub dtype: DType,
    /// Rank, 0..=4.
    pub ndim: u8,
    /// Row-major shape, outermost first (GGUF's `ne` reversed); entries from
    /// `ndim` on are 0.
    pub shape: [u64; 8],
    /// Absolute offset of the data in the file (a multiple of `alignment`).
    pub offset: usize,
    /// Exact byte size of the data.
    pub size: usize,
}

impl GgufTensor {
    /// The row-major shape as a slice.
    pub fn dims(&self) -> &[u64] {
        &self.shape[..self.ndim as usize]
    }
}

/// One KV pair, located in the file. Everything in its range was checked
/// at open (lengths, counts, item types, UTF-8, bools); decoding is lazy.
#[derive(Debug, Clone)]
pub(crate) struct Kv {
    /// The key's bytes in the file (UTF-8, non-empty, no NUL).
    pub key: std::ops::Range<usize>,
    /// The value's type.
    pub ty: ValueType,
    /// Offset of the value: the scalar's bytes, a string's u64 length, or
    /// an array's u32 item type (then its u64 count, then the items).
    pub value: usize,
    /// Offset just past the value.
    pub end: usize,
}

impl Kv {
    /// The key (validated UTF-8 at open).
    pub fn key<'a>(&self, b: &'a [u8]) -> &'a str {
        std::str::from_utf8(&b[self.key.clone()]).unwrap_or("")
    }

    /// For an array: its item type and count.
    pub fn array_header(&self, b: &[u8]) -> Option<(ValueType, u64)> {
        if self.ty != ValueType::Array {
            return None;
        }
        let code = u32::from_le_bytes(b[self.value..self.value + 4].try_into().ok()?);
        let count = u64::from_le_bytes(b[self.value + 4..self.value + 12].try_into().ok()?);
        Some((ValueType::from_code(code)?, count))
    }
}

/// Reads little-endian values from the front of the bytes that remain,
/// checking every length first.
struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
    /// Told which bytes the parse is done with (see [`parse_releasing`]).
    release: Option<&'a dyn Fn(std::ops::Range<usize>)>,
    /// Everything before this was handed to `release`.
    released: usize,
}

impl<'a> Cursor<'a> {
    fn new(b: &'a [u8], pos: usize) -> Cursor<'a> {
        Cursor {
            b,
            pos,
            release: None,
            released: 0,
        }
    }

    /// Hands the bytes behind the cursor to `release` once a window of
    /// them has been checked.
    fn release_behind(&mut self) {
        const WINDOW: usize = 2 << 20;
        if let Some(f) = self.release {
            let upto = self.pos & !(WINDOW - 1);
            if upto > self.released {
                f(self.released..upto);
                self.released = upto;
            }
        }
    }

    fn remaining(&self) -> u64 {
        (self.b.len() - self.pos) as u64
    }

    fn take(&mut self, n: u64, what: &str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(Error::format(format!(
                "file truncated: {what} needs {n} bytes at offset {}, only {} remain",
                self.pos,
                self.remaining()
            )));
        }
        let s = &self.b[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        Ok(self.take(N as u64, what)?.try_into().expect("took N bytes"))
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        self.array(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        self.array(what).map(u64::from_le_bytes)
    }

    /// A GGUF string: u64 length, then that many bytes, which must be UTF-8.
    fn str(&mut self, what: &str) -> Result<&'a str> {
        let at = self.pos;
        let len = self.u64(what)?;
        if len > self.remaining() {
            return Err(Error::format(format!(
                "{what}: length {len} at offset {at} exceeds the {} bytes that remain",
                self.remaining()
            )));
        }
        let bytes = self.take(len, what)?;
        std::str::from_utf8(bytes)
            .map_err(|e| Error::format(format!("{what} at offset {at} is not UTF-8: {e}")))
    }
}

/// Where a value's type is recorded (see [`kv_json`]).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Desc {
    Str(String),
    List(Vec<Desc>),
}

impl Desc {
    fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Desc::Str(s) => push_json_str(out, s),
            Desc::List(items) => {
                out.push(b'[');
                for (i, d) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    d.write_json(out);
                }
                out.push(b']');
            }
        }
    }
}

fn push_json_str(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *out, s).expect("writing JSON to a Vec cannot fail");
}

/// Writes a float as JSON: finite values as numbers, the others as strings.
fn push_json_float(out: &mut Vec<u8>, f: f64) {
    if f.is_finite() {
        serde_json::to_writer(&mut *out, &f).expect("writing JSON to a Vec cannot fail");
    } else if f.is_nan() {
        push_json_str(out, "NaN");
    } else if f > 0.0 {
        push_json_str(out, "inf");
    } else {
        push_json_str(out, "-inf");
    }
}

/// Reads one value of type `ty`, appends it to `out` as JSON and returns
/// its type descriptor. `depth` is the number of enclosing arrays.
fn read_value(c: &mut Cursor<'_>, ty: ValueType, depth: usize, out: &mut Vec<u8>) -> Result<Desc> {
    macro_rules! num {
        ($t:ty, $n:literal) => {{
            let v = <$t>::from_le_bytes(c.array::<$n>(ty.name())?);
            write!(out, "{v}").expect("writing to a Vec cannot fail");
        }};
    }
    match ty {
        ValueType::U8 => num!(u8, 1),
        ValueType::I8 => num!(i8, 1),
        ValueType::U16 => num!(u16, 2),
        ValueType::I16 => num!(i16, 2),
        ValueType::U32 => num!(u32, 4),
        ValueType::I32 => num!(i32, 4),
        ValueType::U64 => num!(u64, 8),
        ValueType::I64 => num!(i64, 8),
        ValueType::F32 => push_json_float(out, f32::from_le_bytes(c.array::<4>("f32")?) as f64),
        ValueType::F64 => push_json_float(out, f64::from_le_bytes(c.array::<8>("f64")?)),
        ValueType::Bool => match c.array::<1>("bool")?[0] {
            0 => out.extend_from_slice(b"false"),
            1 => out.extend_from_slice(b"true"),
            v => {
                return Err(Error::format(format!(
                    "bool value {v} at offset {} is neither 0 nor 1",
                    c.pos - 1
                )))
            }
        },
        ValueType::String => push_json_str(out, c.str("string value")?),
        ValueType::Array => return read_array(c, depth + 1, out),
    }
    Ok(Desc::Str(ty.name().to_string()))
}

/// Reads an array (item type, count, items); `depth` counts this array.
fn read_array(c: &mut Cursor<'_>, depth: usize, out: &mut Vec<u8>) -> Result<Desc> {
    let (item, count) = array_header(c, depth)?;
    out.push(b'[');
    let desc = if item == ValueType::Array {
        let mut kids = Vec::with_capacity(count as usize);
        for i in 0..count {
            if i > 0 {
                out.push(b',');
            }
            kids.push(read_array(c, depth + 1, out)?);
        }
        match kids.first() {
            None => Desc::Str("array<array>".into()),
            Some(Desc::Str(first)) if kids.iter().all(|k| k == &kids[0]) => {
                Desc::Str(format!("array<{first}>"))
            }
            Some(_) => Desc::List(kids),
        }
    } else {
        for i in 0..count {
            if i > 0 {
                out.push(b',');
            }
            read_value(c, item, depth, out)?;
        }
        Desc::Str(format!("array<{}>", item.name()))
    };
    out.push(b']');
    Ok(desc)
}

/// Whether a checked product overflowed (`None`) or exceeds `bound`.
fn exceeds(n: Option<u64>, bound: u64) -> bool {
    n.is_none_or(|v| v > bound)
}

/// Prefixes an error's message with the KV key it concerns.
fn for_key(e: Error, key: &str) -> Error {
    Error::new(
        e.kind(),
        format!("key '{}': {}", key.escape_debug(), e.message()),
    )
}

/// Locates and validates every KV pair (the same checks as decoding them,
/// without decoding): keys, types, every length, count, UTF-8 string and
/// bool, array nesting; `general.alignment`.
fn index_kv(c: &mut Cursor<'_>, n_kv: u64) -> Result<(Vec<Kv>, u64)> {
    let mut kv = Vec::with_capacity(n_kv as usize);
    let mut keys = HashSet::with_capacity(n_kv as usize);
    let mut alignment = DEFAULT_ALIGNMENT;
    for i in 0..n_kv {
        let key = c
            .str("key")
            .map_err(|e| Error::new(e.kind(), format!("KV #{i}: {}", e.message())))?;
        let key_at = c.pos - key.len();
        check_key(i, key, &mut keys)?;
        let key_err = |m: String| for_key(Error::format(m), key);
        let code = c.u32("value type").map_err(|e| for_key(e, key))?;
        let ty = ValueType::from_code(code)
            .ok_or_else(|| key_err(format!("unknown value type {code}")))?;
        let at = c.pos;
        skip_value(c, ty, 0).map_err(|e| for_key(e, key))?;
        if key == ALIGNMENT_KEY {
            alignment = check_alignment(ty, &c.b[at..c.pos]).map_err(key_err)?;
        }
        kv.push(Kv {
            key: key_at..key_at + key.len(),
            ty,
            value: at,
            end: c.pos,
        });
        c.release_behind();
    }
    Ok((kv, alignment))
}

/// A key must be non-empty, free of NUL and unique.
fn check_key<'a>(i: u64, key: &'a str, keys: &mut HashSet<&'a str>) -> Result<()> {
    if key.is_empty() {
        return Err(Error::format(format!("KV #{i}: key is empty")));
    }
    if key.contains('\0') {
        return Err(for_key(Error::format("key contains a NUL byte"), key));
    }
    if !keys.insert(key) {
        return Err(for_key(
            Error::new(ErrorKind::DuplicateName, "key appears twice"),
            key,
        ));
    }
    Ok(())
}

/// `general.alignment`: llama.cpp reads it with gguf_get_val_u32; so do we.
fn check_alignment(ty: ValueType, value: &[u8]) -> std::result::Result<u64, String> {
    if ty != ValueType::U32 {
        return Err(format!("must be u32, not {}", ty.name()));
    }
    let a = u32::from_le_bytes(value.try_into().expect("4 bytes read"));
    if a == 0 || !a.is_power_of_two() || a as u64 > MAX_ALIGNMENT {
        return Err(format!(
            "alignment {a} is not a power of two between 1 and {MAX_ALIGNMENT}"
        ));
    }
    Ok(a as u64)
}

/// Checks one value of type `ty` and moves past it; `depth` is the number
/// of enclosing arrays. Nothing is decoded or allocated.
fn skip_value(c: &mut Cursor<'_>, ty: ValueType, depth: usize) -> Result<()> {
    match ty {
        ValueType::String => c.str("string value").map(drop),
        ValueType::Array => skip_array(c, depth + 1),
        ValueType::Bool => check_bools(c, 1),
        t => c
            .take(t.fixed_size().expect("a fixed-size type"), t.name())
            .map(drop),
    }
}

/// `n` bools, each 0 or 1.
fn check_bools(c: &mut Cursor<'_>, n: u64) -> Result<()> {
    let at = c.pos;
    let b = c.take(n, "bool")?;
    match b.iter().position(|&v| v > 1) {
        None => Ok(()),
        Some(i) => Err(Error::format(format!(
            "bool value {} at offset {} is neither 0 nor 1",
            b[i],
            at + i
        ))),
    }
}

/// Checks an array (item type, count, items); `depth` counts this array.
/// Fixed-size items are one bounds check; strings are skipped by their
/// length prefixes, each checked.
fn skip_array(c: &mut Cursor<'_>, depth: usize) -> Result<()> {
    let (item, count) = array_header(c, depth)?;
    match item {
        ValueType::String => skip_strings(c, count),
        ValueType::Array => (0..count).try_for_each(|_| skip_array(c, depth + 1)),
        ValueType::Bool => check_bools(c, count),
        t => c.take(count * t.min_size(), "array items").map(drop),
    }
}

/// Skips `count` strings by their length prefixes, each checked against
/// what remains, in chunks. UTF-8 is checked once per chunk over the whole
/// run of prefixes and strings when every prefix byte is ASCII: then every
/// string starts and ends next to an ASCII byte, on a character boundary,
/// so the run is valid exactly when each string is. Any doubt (a bound, a
/// non-ASCII prefix byte, invalid UTF-8) re-reads the chunk string by string
/// for the precise error.
fn skip_strings(c: &mut Cursor<'_>, count: u64) -> Result<()> {
    const CHUNK: u64 = 1 << 14;
    let mut left = count;
    while left > 0 {
        let n = left.min(CHUNK);
        let start = c.pos;
        if !skip_ascii_prefixed(c.b, &mut c.pos, n) {
            c.pos = start;
            (0..n).try_for_each(|_| c.str("string value").map(drop))?;
        }
        c.release_behind();
        left -= n;
    }
    Ok(())
}

/// The fast path of [`skip_strings`]: true (and `pos` moved) when `n`
/// strings fit and the run is valid UTF-8 with ASCII length prefixes.
fn skip_ascii_prefixed(b: &[u8], pos: &mut usize, n: u64) -> bool {
    let mut at = *pos;
    let mut prefix_bits = 0u64;
    for _ in 0..n {
        let Some(p) = b.get(at..at + 8) else {
            return false;
        };
        let len = u64::from_le_bytes(p.try_into().expect("8 bytes"));
        prefix_bits |= len;
        at += 8;
        if len > (b.len() - at) as u64 {
            return false;
        }
        at += len as usize;
    }
    // simdutf8: the run is a tokenizer's worth of mostly non-ASCII text,
    // where std's validator is several times slower.
    if prefix_bits & 0x8080_8080_8080_8080 != 0 || simdutf8::basic::from_utf8(&b[*pos..at]).is_err()
    {
        return false;
    }
    *pos = at;
    true
}

/// An array's item type and count, the count bounded by what remains.
fn array_header(c: &mut Cursor<'_>, depth: usize) -> Result<(ValueType, u64)> {
    if depth > MAX_ARRAY_DEPTH {
        return Err(Error::format(format!(
            "arrays are nested deeper than {MAX_ARRAY_DEPTH} levels"
        )));
    }
    let code = c.u32("array item type")?;
    let item = ValueType::from_code(code).ok_or_else(|| {
        Error::format(format!(
            "unknown array item type {code} at offset {}",
            c.pos - 4
        ))
    })?;
    let count = c.u64("array length")?;
    // The bound that keeps a tiny file from asking for a huge allocation.
    if exceeds(count.checked_mul(item.min_size()), c.remaining()) {
        return Err(Error::format(format!(
            "array of {count} {} values cannot fit in the {} bytes that remain",
            item.name(),
            c.remaining()
        )));
    }
    Ok((item, count))
}

/// The KV pairs of a parsed file as JSON, built on demand: the object of
/// values (keys in file order) and the object of their type descriptors.
///
/// Values: integers are JSON integers (u64 and i64 exact), f32 values are
/// widened exactly to f64, bools and strings are themselves, arrays (also
/// nested) are JSON arrays. JSON has no NaN or infinity, so non-finite
/// floats become the strings `"NaN"`, `"inf"` and `"-inf"` (the NaN payload
/// is lost; the type descriptor says the value is a float, so a writer
/// restores it).
///
/// A type descriptor is a string:
/// - a scalar: `"u8" "i8" "u16" "i16" "u32" "i32" "u64" "i64" "f32"
///   "f64" "bool" "string"`;
/// - an array: `"array<T>"` with `T` the descriptor of every element,
///   e.g. `"array<i32>"`, `"array<array<string>>"`; an empty array keeps
///   its item type (`"array<u64>"`), and an empty array whose item type
///   is "array" is `"array<array>"` (the file says nothing more).
///
/// Only when the elements of an array of arrays differ in type (GGUF
/// allows `[[1, 2] as i32, ["x"] as string]`) is the descriptor a JSON
/// list with one descriptor per element. This is everything the file
/// encodes about types, so GGUF -> .tenzor -> GGUF reproduces every KV
/// byte for byte.
pub(crate) fn kv_json(bytes: &[u8], kv: &[Kv]) -> (String, String) {
    let mut out = Vec::with_capacity(64);
    let mut types = Vec::with_capacity(64);
    out.push(b'{');
    types.push(b'{');
    for (i, e) in kv.iter().enumerate() {
        if i > 0 {
            out.push(b',');
            types.push(b',');
        }
        let key = e.key(bytes);
        push_json_str(&mut out, key);
        out.push(b':');
        let mut c = Cursor::new(&bytes[..e.end], e.value);
        // Validated at open: decoding the same bytes cannot fail.
        let desc = read_value(&mut c, e.ty, 0, &mut out).expect("validated at open");
        push_json_str(&mut types, key);
        types.push(b':');
        desc.write_json(&mut types);
    }
    out.push(b'}');
    types.push(b'}');
    (
        String::from_utf8(out).expect("JSON built from UTF-8 pieces"),
        String::from_utf8(types).expect("JSON built from UTF-8 pieces"),
    )
}

/// Parses and validates a whole GGUF file held in `bytes`.
#[cfg(test)]
pub(crate) fn parse(bytes: &[u8]) -> Result<GgufFile> {
    parse_releasing(bytes, None)
}

/// [`parse`], telling `release` (when given) about each window of the
/// KV section once it is checked, so that a mapped file's pages can be
/// handed back to the page cache during the scan (the open then never holds
/// a tokenizer-sized KV section resident; reading it later faults it back).
pub(crate) fn parse_releasing(
    bytes: &[u8],
    release: Option<&dyn Fn(std::ops::Range<usize>)>,
) -> Result<GgufFile> {
    let mut c = Cursor::new(bytes, 0);
    c.release = release;
    if !bytes.starts_with(&MAGIC) {
        return Err(Error::format("not a GGUF file (magic is not \"GGUF\")"));
    }
    c.pos = 4;
    let version = c.u32("version")?;
    match version {
        2 | 3 => {}
        1 => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "GGUF version 1 is not supported (only versions 2 and 3; convert it with a current llama.cpp)",
            ))
        }
        v if (1..=3).contains(&v.swap_bytes()) => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("big-endian GGUF (version field reads {v:#010x}, byte-swapped {}): only little-endian GGUF is supported", v.swap_bytes()),
            ))
        }
        v => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("GGUF version {v} is not supported (only 2 and 3)"),
            ))
        }
    }
    let n_tensors = c.u64("tensor count")?;
    let n_kv = c.u64("KV count")?;
    let rem = c.remaining();
    if exceeds(n_kv.checked_mul(MIN_KV_BYTES), rem) {
        return Err(Error::format(format!(
            "KV count {n_kv} cannot fit in the {rem} bytes that remain"
        )));
    }
    if exceeds(n_tensors.checked_mul(MIN_TENSOR_INFO_BYTES), rem)
        || (n_kv * MIN_KV_BYTES + n_tensors * MIN_TENSOR_INFO_BYTES) > rem
    {
        return Err(Error::format(format!(
            "tensor count {n_tensors} (with {n_kv} KV pairs) cannot fit in the {rem} bytes that remain"
        )));
    }

    let (kv, alignment) = index_kv(&mut c, n_kv)?;

    // Tensor infos. Offsets are relative until the data section is known.
    let mut tensors = Vec::with_capacity(n_tensors as usize);
    let mut names = HashSet::with_capacity(n_tensors as usize);
    let mut rel_offsets = Vec::with_capacity(n_tensors as usize);
    for i in 0..n_tensors {
        let at = |e: Error| Error::new(e.kind(), format!("tensor info #{i}: {}", e.message()));
        let name = c.str("tensor name").map_err(at)?;
        crate::format::check_name(name).map_err(|m| at(Error::format(m)))?;
        if !names.insert(name) {
            return Err(Error::new(ErrorKind::DuplicateName, "name appears twice").for_tensor(name));
        }
        let tagged = |e: Error| e.for_tensor(name);
        let ndim = c.u32("rank").map_err(tagged)?;
        if ndim as usize > MAX_DIMS {
            return Err(tagged(Error::format(format!(
                "rank {ndim} exceeds GGUF's maximum of {MAX_DIMS}"
            ))));
        }
        let ndim = ndim as usize;
        let mut ne = [0u64; MAX_DIMS];
        for d in ne.iter_mut().take(ndim) {
            *d = c.u64("dimension").map_err(tagged)?;
            if *d > i64::MAX as u64 {
                return Err(tagged(Error::format(format!(
                    "dimension {d} exceeds GGML's int64 range"
                ))));
            }
        }
        let ggml_type = c.u32("ggml type").map_err(tagged)?;
        let dtype = DType::from_ggml(ggml_type).ok_or_else(|| {
            tagged(Error::new(
                ErrorKind::Unsupported,
                format!("unknown or unsupported ggml type {ggml_type}"),
            ))
        })?;
        let offset = c.u64("data offset").map_err(tagged)?;

        let numel = crate::format::numel_any_order(&ne[..ndim])
            .filter(|&n| n <= i64::MAX as u64)
            .ok_or_else(|| {
                tagged(Error::format(format!(
                    "element count of ne {:?} overflows",
                    &ne[..ndim]
                )))
            })?;
        // GGML quantizes rows: ne[0] (1 for a scalar) must be whole blocks.
        let ne0 = if ndim == 0 { 1 } else { ne[0] };
        if ne0 % dtype.block_elems() != 0 {
            return Err(tagged(Error::format(format!(
                "innermost dimension {ne0} is not a multiple of the {dtype} block size {}",
                dtype.block_elems()
            ))));
        }
        let size = dtype
            .byte_size(numel)
            .filter(|&s| s <= bytes.len() as u64)
            .ok_or_else(|| {
                tagged(Error::format(format!(
                    "ne {:?} of {dtype} needs more bytes than the file has",
                    &ne[..ndim]
                )))
            })?;
        if offset % alignment != 0 {
            return Err(tagged(Error::format(format!(
                "data offset {offset} is not a multiple of the alignment {alignment}"
            ))));
        }
        let mut shape = [0u64; 8];
        for d in 0..ndim {
            shape[d] = ne[ndim - 1 - d];
        }
        tensors.push(GgufTensor {
            name: name.to_string(),
            ggml_type,
            dtype,
            ndim: ndim as u8,
            shape,
            offset: 0,
            size: size as usize,
        });
        rel_offsets.push(offset);
    }

    let header_end = c.pos as u64;
    let data_offset = crate::format::align_up(header_end, alignment)
        .expect("header end and alignment are both small");
    for (t, &rel) in tensors.iter_mut().zip(&rel_offsets) {
        let start = data_offset.checked_add(rel);
        let end = start.and_then(|s| s.checked_add(t.size as u64));
        match (start, end) {
            (Some(s), Some(e)) if e <= bytes.len() as u64 => t.offset = s as usize,
            _ => {
                return Err(Error::format(format!(
                    "data at offset {rel} (+{} bytes) of the data section starting at {data_offset} lies outside the {}-byte file (truncated?)",
                    t.size,
                    bytes.len()
                ))
                .for_tensor(&t.name))
            }
        }
    }
    check_overlaps(&tensors)?;

    Ok(GgufFile {
        version,
        alignment,
        data_offset: data_offset as usize,
        kv,
        tensors,
    })
}

/// Refuses tensors whose (non-empty) data ranges share a byte.
fn check_overlaps(tensors: &[GgufTensor]) -> Result<()> {
    let mut order: Vec<&GgufTensor> = tensors.iter().filter(|t| t.size > 0).collect();
    order.sort_by_key(|t| t.offset);
    for w in order.windows(2) {
        let (a, b) = (w[0], w[1]);
        if a.offset + a.size > b.offset {
            return Err(Error::format(format!(
                "data [{}, {}) overlaps tensor '{}' at [{}, {})",
                a.offset,
                a.offset + a.size,
                b.name.escape_debug(),
                b.offset,
                b.offset + b.size
            ))
            .for_tensor(&a.name));
        }
    }
    Ok(())
}

/// Refuses a file holding tenzor's reserved key [`TYPES_KEY`].
pub(crate) fn check_reserved(bytes: &[u8], kv: &[Kv]) -> Result<()> {
    if kv.iter().any(|e| e.key(bytes) == TYPES_KEY) {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("key '{TYPES_KEY}' is reserved by tenzor for the GGUF value types"),
        ));
    }
    Ok(())
}

/// The metadata JSON of a GGUF file: [`kv_json`]'s values with
/// `"__gguf_types__": <types>` appended (the key is refused at open, see
/// [`check_reserved`]).
pub(crate) fn metadata_json(bytes: &[u8], kv: &[Kv]) -> String {
    let (values, types) = kv_json(bytes, kv);
    let body = &values[1..values.len() - 1];
    let mut s = String::with_capacity(values.len() + types.len() + 24);
    s.push('{');
    if !body.is_empty() {
        s.push_str(body);
        s.push(',');
    }
    s.push_str(&serde_json::to_string(TYPES_KEY).expect("a string serializes"));
    s.push(':');
    s.push_str(&types);
    s.push('}');
    s
}

#[cfg(test)]
#[path = "gguf_tests.rs"]
mod tests;
