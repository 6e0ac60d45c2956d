//! Writes a GGUF v3 file from a conversion [`Source`].
//!
//! Layout, as llama.cpp and gguf-py write it: header, KV pairs, tensor
//! infos, zero padding to the alignment, then each tensor's data at an
//! aligned offset followed by zero padding (also after the last one). The
//! file is written beside the destination and renamed over it, so a failed
//! conversion leaves no output and never a half-written one.
//!
//! KV pairs come from the metadata JSON object, in its order. Their types:
//! - If the metadata has [`TYPES_KEY`] (written when a GGUF was converted
//!   to .tenzor, see `GgufFile::kv_types_json`), a key listed there gets
//!   exactly that type; a value that does not fit it (e.g. 300 as `u8`) is
//!   an error naming the key. After a trip through safetensors, whose
//!   metadata holds only strings, the types object and non-string values
//!   arrive as JSON text and are parsed back.
//! - Otherwise the type is inferred the way llama.cpp reads common keys:
//!   strings and bools as themselves; integers as `u32` when in
//!   `0..=u32::MAX` (hyper-parameters and token ids are `u32` in llama.cpp),
//!   else `i32` when negative and in range, else `i64` / `u64`; floats as
//!   `f32` (what llama.cpp reads, and gguf-py infers; f64 precision needs a
//!   type entry). Arrays take one item type for all elements: `i32` for
//!   integers (gguf-py's choice, e.g. `tokenizer.ggml.token_type`) widening
//!   to `i64` / `u64` when needed, `f32` if any element is a float,
//!   `string`, `bool`; arrays of arrays recursively; an empty array is an
//!   empty `i32` array. `null`, mixed arrays and nested objects are refused:
//!   GGUF has no null, and flattening objects into dotted keys could
//!   collide with existing keys, so the caller should flatten explicitly.
//! - `general.alignment` must be a power of two up to 1 MiB and is always
//!   written as `u32` (llama.cpp refuses any other type); it sets the
//!   alignment of the data (default 32).
//! - `split.no` 0 with `split.count` > 1 (and `split.tensors.count`) are
//!   dropped: the output is one file holding every tensor, and those keys
//!   would make readers look for the other files of a split.
//!
//! Tensors that GGUF cannot hold are refused with `ErrorKind::Unsupported`
//! naming the tensor: rank above 4, dtypes without a GGML type (unsigned
//! integers, BOOL, C64, F8/F6/F4), block types whose innermost dimension is
//! not whole blocks, and names of 64 bytes or more (the GGUF spec limits
//! names to 64 bytes and GGML stores them in `char[GGML_MAX_NAME = 64]`
//! with a NUL, so llama.cpp refuses longer ones).

use std::io::Write;
use std::path::Path;

use serde_json::{Map, Value};

use crate::atomic::AtomicFile;
use crate::convert::Source;
use crate::error::{Error, ErrorKind, Result};
use crate::gguf::{
    ValueType, ALIGNMENT_KEY, DEFAULT_ALIGNMENT, MAGIC, MAX_ALIGNMENT, MAX_ARRAY_DEPTH, MAX_DIMS,
    TYPES_KEY,
};

/// Longest tensor name GGML can hold (`GGML_MAX_NAME` - 1 for the NUL).
pub(crate) const MAX_NAME_BYTES: usize = 63;
/// Longest key the GGUF spec allows.
const MAX_KEY_BYTES: usize = 65535;

/// The GGUF type of a value to write.
#[derive(Debug, Clone, PartialEq)]
enum Spec {
    Scalar(ValueType),
    /// An array whose elements all have this spec.
    Array(Box<Spec>),
    /// An array of unknown item type ("array"): inferred from its elements.
    AnyArray,
    /// An array of arrays, one spec per element.
    Mixed(Vec<Spec>),
}

impl Spec {
    /// The GGUF type code this spec writes.
    fn value_type(&self) -> ValueType {
        match self {
            Spec::Scalar(t) => *t,
            _ => ValueType::Array,
        }
    }

    /// Parses a descriptor (a string, or a list for mixed arrays).
    fn parse(v: &Value, depth: usize) -> std::result::Result<Spec, String> {
        if depth > MAX_ARRAY_DEPTH {
            return Err(format!(
                "type nests arrays deeper than {MAX_ARRAY_DEPTH} levels"
            ));
        }
        match v {
            Value::String(s) => Spec::parse_str(s, depth),
            Value::Array(items) => items
                .iter()
                .map(|i| match Spec::parse(i, depth + 1)? {
                    Spec::Scalar(t) => Err(format!(
                        "mixed array element type {} is not an array",
                        t.name()
                    )),
                    s => Ok(s),
                })
                .collect::<std::result::Result<_, _>>()
                .map(Spec::Mixed),
            other => Err(format!("type {other} is neither a string nor a list")),
        }
    }

    fn parse_str(s: &str, depth: usize) -> std::result::Result<Spec, String> {
        if depth > MAX_ARRAY_DEPTH {
            return Err(format!(
                "type nests arrays deeper than {MAX_ARRAY_DEPTH} levels"
            ));
        }
        if s == "array" {
            return Ok(Spec::AnyArray);
        }
        if let Some(inner) = s.strip_prefix("array<").and_then(|r| r.strip_suffix('>')) {
            return Ok(Spec::Array(Box::new(Spec::parse_str(inner, depth + 1)?)));
        }
        match ValueType::from_name(s) {
            Some(t) if t != ValueType::Array => Ok(Spec::Scalar(t)),
            _ => Err(format!("unknown GGUF type '{}'", s.escape_debug())),
        }
    }

    /// Infers the spec of a value without a type entry (see the module doc).
    fn infer(v: &Value, depth: usize) -> std::result::Result<Spec, String> {
        Ok(match v {
            Value::Bool(_) => Spec::Scalar(ValueType::Bool),
            Value::String(_) => Spec::Scalar(ValueType::String),
            Value::Number(n) => Spec::Scalar(if let Some(u) = n.as_u64() {
                if u <= u32::MAX as u64 {
                    ValueType::U32
                } else {
                    ValueType::U64
                }
            } else if let Some(i) = n.as_i64() {
                if i >= i32::MIN as i64 {
                    ValueType::I32
                } else {
                    ValueType::I64
                }
            } else {
                ValueType::F32
            }),
            Value::Array(items) => Spec::infer_array(items, depth + 1)?,
            Value::Null => return Err("null has no GGUF type".into()),
            Value::Object(_) => {
                return Err(
                    "nested objects cannot be stored in GGUF; flatten them into dotted keys".into(),
                )
            }
        })
    }

    fn infer_array(items: &[Value], depth: usize) -> std::result::Result<Spec, String> {
        if depth > MAX_ARRAY_DEPTH {
            return Err(format!("arrays nest deeper than {MAX_ARRAY_DEPTH} levels"));
        }
        let Some(first) = items.first() else {
            return Ok(Spec::Array(Box::new(Spec::Scalar(ValueType::I32))));
        };
        let mixed = || Err("array mixes values of different kinds".to_string());
        let item = match first {
            Value::Array(_) => {
                let specs = items
                    .iter()
                    .map(|i| match i {
                        Value::Array(a) => Spec::infer_array(a, depth + 1),
                        _ => mixed(),
                    })
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                if specs.iter().all(|s| s == &specs[0]) {
                    specs[0].clone()
                } else {
                    return Ok(Spec::Mixed(specs));
                }
            }
            Value::String(_) if items.iter().all(Value::is_string) => {
                Spec::Scalar(ValueType::String)
            }
            Value::Bool(_) if items.iter().all(Value::is_boolean) => Spec::Scalar(ValueType::Bool),
            Value::Number(_) if items.iter().all(Value::is_number) => {
                let all = |f: fn(&Value) -> bool| items.iter().all(f);
                Spec::Scalar(if !all(|v| v.is_i64() || v.is_u64()) {
                    ValueType::F32
                } else if all(|v| v.as_i64().is_some_and(|i| i32::try_from(i).is_ok())) {
                    ValueType::I32
                } else if all(Value::is_i64) {
                    ValueType::I64
                } else if all(Value::is_u64) {
                    ValueType::U64
                } else {
                    return Err("array mixes integers above i64 with negative integers".into());
                })
            }
            Value::Null => return Err("null has no GGUF type".into()),
            Value::Object(_) => {
                return Err("nested objects cannot be stored in GGUF".into());
            }
            _ => return mixed(),
        };
        Ok(Spec::Array(Box::new(item)))
    }
}

/// Appends the encoding of `v` as `spec` (without the type code).
fn encode(out: &mut Vec<u8>, v: &Value, spec: &Spec) -> std::result::Result<(), String> {
    let int_err = |t: ValueType| format!("value {v} does not fit {}", t.name());
    match spec {
        Spec::Scalar(t) => match t {
            ValueType::U8 | ValueType::U16 | ValueType::U32 | ValueType::U64 => {
                let u = v.as_u64().ok_or_else(|| int_err(*t))?;
                let width = match t {
                    ValueType::U8 => 1,
                    ValueType::U16 => 2,
                    ValueType::U32 => 4,
                    _ => 8,
                };
                if width < 8 && u >> (8 * width) != 0 {
                    return Err(int_err(*t));
                }
                out.extend_from_slice(&u.to_le_bytes()[..width]);
            }
            ValueType::I8 | ValueType::I16 | ValueType::I32 | ValueType::I64 => {
                let i = v.as_i64().ok_or_else(|| int_err(*t))?;
                let width = match t {
                    ValueType::I8 => 1,
                    ValueType::I16 => 2,
                    ValueType::I32 => 4,
                    _ => 8,
                };
                let bits = 8 * width as u32;
                if bits < 64 && (i < -(1i64 << (bits - 1)) || i >= 1i64 << (bits - 1)) {
                    return Err(int_err(*t));
                }
                out.extend_from_slice(&i.to_le_bytes()[..width]);
            }
            ValueType::F32 | ValueType::F64 => {
                let f = match v {
                    Value::Number(n) => n.as_f64().expect("serde_json numbers convert to f64"),
                    // Non-finite floats, as the parser writes them.
                    Value::String(s) if s == "NaN" => f64::NAN,
                    Value::String(s) if s == "inf" => f64::INFINITY,
                    Value::String(s) if s == "-inf" => f64::NEG_INFINITY,
                    _ => return Err(format!("value {v} is not a {}", t.name())),
                };
                if *t == ValueType::F32 {
                    if f.is_finite() && f.abs() > f32::MAX as f64 {
                        return Err(format!("value {v} does not fit f32"));
                    }
                    out.extend_from_slice(&(f as f32).to_le_bytes());
                } else {
                    out.extend_from_slice(&f.to_le_bytes());
                }
            }
            ValueType::Bool => {
                let b = v
                    .as_bool()
                    .ok_or_else(|| format!("value {v} is not a bool"))?;
                out.push(b as u8);
            }
            ValueType::String => {
                let s = v
                    .as_str()
                    .ok_or_else(|| format!("value {v} is not a string"))?;
                out.extend_from_slice(&(s.len() as u64).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            ValueType::Array => unreachable!("Spec::Scalar never holds Array"),
        },
        Spec::Array(item) => {
            let items = v
                .as_array()
                .ok_or_else(|| format!("value {v} is not an array"))?;
            out.extend_from_slice(&(item.value_type() as u32).to_le_bytes());
            out.extend_from_slice(&(items.len() as u64).to_le_bytes());
            for i in items {
                encode(out, i, item)?;
            }
        }
        Spec::AnyArray => {
            let items = v
                .as_array()
                .ok_or_else(|| format!("value {v} is not an array"))?;
            encode(out, v, &Spec::infer_array(items, 1)?)?;
        }
        Spec::Mixed(specs) => {
            let items = v
                .as_array()
                .ok_or_else(|| format!("value {v} is not an array"))?;
            if items.len() != specs.len() {
                return Err(format!(
                    "array has {} elements but its type lists {}",
                    items.len(),
                    specs.len()
                ));
            }
            out.extend_from_slice(&(ValueType::Array as u32).to_le_bytes());
            out.extend_from_slice(&(items.len() as u64).to_le_bytes());
            for (i, s) in items.iter().zip(specs) {
                encode(out, i, s)?;
            }
        }
    }
    Ok(())
}

/// Encodes the KV section; returns (bytes, number of pairs, alignment).
fn encode_kv(metadata: &str) -> Result<(Vec<u8>, u64, u64)> {
    let meta: Map<String, Value> = serde_json::from_str(&metadata_text(metadata))
        .map_err(|e| Error::invalid(format!("metadata is not a JSON object: {e}")))?;
    let unsupported = |key: &str, m: String| {
        Error::new(
            ErrorKind::Unsupported,
            format!("metadata key '{}': {m}", key.escape_debug()),
        )
    };
    let types: Map<String, Value> = match meta.get(TYPES_KEY) {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        // After safetensors, whose metadata values are strings.
        Some(Value::String(s)) => serde_json::from_str(s)
            .map_err(|e| unsupported(TYPES_KEY, format!("is not a JSON object: {e}")))?,
        Some(_) => return Err(unsupported(TYPES_KEY, "is not a JSON object".into())),
    };
    let mut pairs: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut split = (None, None);
    let mut alignment = DEFAULT_ALIGNMENT;
    for (key, value) in &meta {
        if key == TYPES_KEY {
            continue;
        }
        if key.is_empty() || key.contains('\0') || key.len() > MAX_KEY_BYTES {
            return Err(unsupported(
                key,
                format!("GGUF keys must be 1 to {MAX_KEY_BYTES} bytes without NUL"),
            ));
        }
        let mut spec = match types.get(key) {
            Some(t) => Spec::parse(t, 0).map_err(|m| unsupported(key, m))?,
            None => Spec::infer(value, 0).map_err(|m| unsupported(key, m))?,
        };
        // A typed non-string value stored as text (the safetensors route).
        let parsed;
        let mut value = value;
        if let (Value::String(s), true) = (value, types.contains_key(key)) {
            let wants_text = spec == Spec::Scalar(ValueType::String)
                || (matches!(spec, Spec::Scalar(ValueType::F32 | ValueType::F64))
                    && matches!(s.as_str(), "NaN" | "inf" | "-inf"));
            if !wants_text {
                parsed = serde_json::from_str::<Value>(s).map_err(|_| {
                    unsupported(
                        key,
                        format!("value {value} is not a {}", spec.value_type().name()),
                    )
                })?;
                value = &parsed;
            }
        }
        if key == ALIGNMENT_KEY {
            // llama.cpp reads it with gguf_get_val_u32 and nothing else.
            let a = value
                .as_u64()
                .filter(|&a| a.is_power_of_two() && a <= MAX_ALIGNMENT);
            match (a, &spec) {
                (Some(a), Spec::Scalar(ValueType::U32)) => alignment = a,
                (Some(a), _) if !types.contains_key(key) => {
                    alignment = a;
                    spec = Spec::Scalar(ValueType::U32);
                }
                _ => {
                    return Err(unsupported(
                        key,
                        format!("must be a u32 power of two between 1 and {MAX_ALIGNMENT}"),
                    ))
                }
            }
        }
        match key.as_str() {
            "split.no" => split.0 = value.as_u64(),
            "split.count" => split.1 = value.as_u64(),
            _ => {}
        }
        let mut out = Vec::new();
        out.extend_from_slice(&(key.len() as u64).to_le_bytes());
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(&(spec.value_type() as u32).to_le_bytes());
        encode(&mut out, value, &spec).map_err(|m| unsupported(key, m))?;
        pairs.push((key, out));
    }
    // A conversion writes one file holding every tensor. Keys saying it is
    // the first of several split files (possible in a .tenzor, where they
    // are plain metadata) would send llama.cpp and tenzor looking for
    // siblings that do not exist, so they are dropped; a later split file
    // (split.no > 0) is a real split member and keeps its keys.
    if split.0 == Some(0) && split.1.is_some_and(|c| c > 1) {
        pairs.retain(|(k, _)| !SPLIT_KEYS.contains(k));
    }
    let count = pairs.len() as u64;
    Ok((
        pairs.into_iter().flat_map(|(_, b)| b).collect(),
        count,
        alignment,
    ))
}

/// GGUF split bookkeeping (llama.cpp's gguf-split).
const SPLIT_KEYS: [&str; 3] = ["split.no", "split.count", "split.tensors.count"];

/// Metadata text, `{}` when blank (a .tenzor file may have none).
fn metadata_text(m: &str) -> std::borrow::Cow<'_, str> {
    if m.trim().is_empty() {
        "{}".into()
    } else {
        m.into()
    }
}

/// Writes `src` as GGUF v3 to `output` (atomically); `progress` gets
/// (bytes done, `total`) after each tensor.
pub(crate) fn write_gguf(
    src: &Source<'_>,
    output: &Path,
    total: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<()> {
    let (kv, n_kv, alignment) = encode_kv(&src.metadata).map_err(|e| e.in_file(output))?;

    // Validate every tensor and lay out the data before creating anything.
    let mut infos = Vec::new();
    let mut offset = 0u64;
    for t in &src.tensors {
        let refuse = |m: String| {
            Error::new(ErrorKind::Unsupported, m)
                .for_tensor(&t.name)
                .in_file(output)
        };
        let ggml = t.dtype.to_ggml().ok_or_else(|| {
            refuse(format!(
                "dtype {} has no GGML type, so GGUF cannot store it",
                t.dtype
            ))
        })?;
        if t.shape.len() > MAX_DIMS {
            return Err(refuse(format!(
                "rank {} exceeds GGUF's maximum of {MAX_DIMS}",
                t.shape.len()
            )));
        }
        if t.name.is_empty() || t.name.len() > MAX_NAME_BYTES || t.name.contains('\0') {
            return Err(refuse(format!(
                "GGUF tensor names must be 1 to {MAX_NAME_BYTES} bytes without NUL (GGML_MAX_NAME); this one has {} bytes",
                t.name.len()
            )));
        }
        let ne0 = t.shape.last().copied().unwrap_or(1);
        if ne0 % t.dtype.block_elems() != 0 {
            return Err(refuse(format!(
                "innermost dimension {ne0} is not a multiple of the {} block size {}",
                t.dtype,
                t.dtype.block_elems()
            )));
        }
        let expect = crate::format::numel(&t.shape).and_then(|n| t.dtype.byte_size(n));
        if expect != Some(t.len) {
            return Err(Error::invalid(format!(
                "{} data bytes do not match shape {:?} of {}",
                t.len, t.shape, t.dtype
            ))
            .for_tensor(&t.name)
            .in_file(output));
        }
        infos.extend_from_slice(&(t.name.len() as u64).to_le_bytes());
        infos.extend_from_slice(t.name.as_bytes());
        infos.extend_from_slice(&(t.shape.len() as u32).to_le_bytes());
        for d in t.shape.iter().rev() {
            infos.extend_from_slice(&d.to_le_bytes());
        }
        infos.extend_from_slice(&ggml.to_le_bytes());
        infos.extend_from_slice(&offset.to_le_bytes());
        offset = offset
            .checked_add(t.len)
            .and_then(|end| crate::format::align_up(end, alignment))
            .ok_or_else(|| Error::invalid("data section overflows").in_file(output))?;
    }

    let mut header = Vec::with_capacity(24 + kv.len() + infos.len() + alignment as usize);
    header.extend_from_slice(&MAGIC);
    header.extend_from_slice(&3u32.to_le_bytes());
    header.extend_from_slice(&(src.tensors.len() as u64).to_le_bytes());
    header.extend_from_slice(&n_kv.to_le_bytes());
    header.extend_from_slice(&kv);
    header.extend_from_slice(&infos);
    header.resize(header.len().next_multiple_of(alignment as usize), 0);

    let mut out = AtomicFile::create(output)?;
    let mut w = out.buffered()?;
    let io = |e| Error::io(output, "cannot write", e);
    w.write_all(&header).map_err(io)?;
    let zeros = vec![0u8; alignment as usize];
    let (mut done, mut buf) = (0, Vec::new());
    for t in &src.tensors {
        t.stream(&mut buf, &mut |c| w.write_all(c).map_err(io))?;
        let pad = t.len.next_multiple_of(alignment) - t.len;
        w.write_all(&zeros[..pad as usize]).map_err(io)?;
        done += t.len;
        progress(done, total);
    }
    w.flush().map_err(io)?;
    drop(w);
    out.commit()
}
