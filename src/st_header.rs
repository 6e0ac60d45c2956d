//! The safetensors header scan: one pass over the JSON header straight into
//! the compact index, with no `serde_json::Value` tree, no map and nothing
//! allocated per tensor (one `Vec` of fixed-size records, one arena for the
//! rare names that hold escapes).
//!
//! Not a hand-written tokenizer: serde_json's borrowed deserialisation does
//! the JSON (strings arrive as `&'de str` slices of the header when they
//! hold no escapes; `__metadata__` is kept as a `&RawValue` span). The
//! visitors below only accept the shape of a header. Nesting is bounded by
//! serde_json's recursion limit (128), which the visitors keep: every value
//! they skip goes through `deserialize_any`, never the iterative (unbounded)
//! `IgnoredAny` path, so a deep value fails exactly where the official crate
//! (which buffers every value as serde `Content`) fails.
//!
//! Rules, each kept from the official `safetensors` crate (which stays the
//! test oracle, see tests/st_differential.rs) or from tenzor's own:
//! - header length within the file and at most 100,000,000 bytes; UTF-8;
//!   one JSON object;
//! - every tensor an object with exactly one `dtype` (a known name),
//!   `shape` (non-negative integers) and `data_offsets` (two of them);
//!   other fields are ignored;
//! - `__metadata__` an object of string values;
//! - (tenzor) no key twice, names non-empty without NUL, rank at most 8,
//!   offsets inside the data before any arithmetic, bytes = dtype x shape;
//! - tensors, sorted by offsets, cover the data exactly: no gap, no overlap,
//!   no trailing bytes.
//!
//! Semantic problems are recorded, not raised, while the JSON is read, so
//! that errors come in the order they always did: JSON syntax first, then
//! duplicate keys, then the first bad tensor in header order, then coverage.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::dtype::DType;
use crate::error::{Error, ErrorKind, Result};
use crate::format::{self, MAX_DIMS};
use crate::json_text::{KeySeed, Text};

/// The official crate's cap on the header length.
pub(crate) const MAX_HEADER_SIZE: u64 = 100_000_000;

/// One tensor as the header declares it (offsets relative to the data).
#[derive(Debug, Clone)]
pub(crate) struct Declared {
    pub name: Text,
    /// FNV-1a of the name.
    pub hash: u64,
    pub dtype: DType,
    pub ndim: u8,
    pub shape: [u64; MAX_DIMS],
    pub begin: u64,
    pub end: u64,
}

/// The scanned header: tensors in header order, names, metadata span.
pub(crate) struct Scanned<'h> {
    pub header: &'h str,
    pub arena: String,
    pub tensors: Vec<Declared>,
    /// Positions into `tensors` in file (data) order.
    pub order: Vec<u32>,
    /// The `__metadata__` object's text, when present.
    pub metadata: Option<&'h str>,
}

impl Scanned<'_> {
    /// The text of a name.
    pub fn text(&self, t: Text) -> &str {
        t.resolve(self.header, &self.arena)
    }
}

/// What a tensor entry turned out to be, before checks against the file.
#[derive(Default)]
struct Raw {
    dtype: Option<Result<DType>>,
    ndim: usize,
    shape: [u64; MAX_DIMS],
    shape_ok: Option<bool>,
    offsets: Option<Option<(u64, u64)>>,
    /// First problem seen inside the entry (not an object, field twice).
    problem: Option<String>,
}

/// Scans the header `bytes[8..8 + n]` of a safetensors file of `bytes.len()`.
pub(crate) fn scan(bytes: &[u8]) -> Result<Scanned<'_>> {
    let len = bytes.len() as u64;
    if len < 8 {
        return Err(Error::format(
            "file is truncated: shorter than the 8-byte safetensors header length",
        ));
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    if n > len - 8 {
        return Err(Error::format(format!(
            "file is truncated: the safetensors header claims {n} bytes but only {} follow",
            len - 8
        )));
    }
    if n > MAX_HEADER_SIZE {
        return Err(Error::format(format!(
            "the safetensors header is {n} bytes, more than the {MAX_HEADER_SIZE} bytes safetensors allows"
        )));
    }
    let header = std::str::from_utf8(&bytes[8..8 + n as usize])
        .map_err(|e| Error::format(format!("safetensors header is not UTF-8: {e}")))?;
    let data_len = len - 8 - n;
    let mut st = Scanned {
        header,
        arena: String::new(),
        // A tensor entry takes some 80 bytes of JSON: one allocation each.
        tensors: Vec::with_capacity(header.len() / 80),
        order: Vec::new(),
        metadata: None,
    };
    let mut raws = Vec::with_capacity(header.len() / 80);
    let mut de = serde_json::Deserializer::from_str(header);
    let top = HeaderVisitor {
        st: &mut st,
        raws: &mut raws,
    };
    de.deserialize_map(top)
        .and_then(|()| de.end())
        .map_err(|e| {
            Error::format(format!(
                "safetensors header is not a valid JSON object: {e}"
            ))
        })?;
    check_duplicates(&mut st)?;
    if let Some(m) = st.metadata {
        check_metadata(m)?;
    }
    check_entries(&mut st, raws, data_len)?;
    st.order = check_coverage(&st, data_len)?;
    Ok(st)
}

/// Header-wide rule: no key twice (serde_json and the official crate keep
/// the last silently; two readers must not disagree on which one wins).
fn check_duplicates(st: &mut Scanned<'_>) -> Result<()> {
    // (hash, position) sorts as integers; only equal hashes compare names.
    // The hashes stay with the tensors for the index.
    let mut keys: Vec<(u64, u32)> = Vec::with_capacity(st.tensors.len() + 1);
    for i in 0..st.tensors.len() {
        let h = format::fnv1a(st.text(st.tensors[i].name).as_bytes());
        st.tensors[i].hash = h;
        keys.push((h, i as u32));
    }
    if st.metadata.is_some() {
        keys.push((format::fnv1a(b"__metadata__"), st.tensors.len() as u32));
    }
    keys.sort_unstable();
    let name = |i: u32| {
        st.tensors
            .get(i as usize)
            .map_or("__metadata__", |t| st.text(t.name))
    };
    for w in keys.windows(2) {
        if w[0].0 == w[1].0 && name(w[0].1) == name(w[1].1) {
            return Err(Error::new(
                ErrorKind::DuplicateName,
                "name appears twice in the safetensors header",
            )
            .for_tensor(name(w[0].1)));
        }
    }
    Ok(())
}

/// `__metadata__` must be an object of strings (the official crate reads it
/// as `HashMap<String, String>`). Checked without building it.
fn check_metadata(text: &str) -> Result<()> {
    struct Strings;
    impl<'de> Visitor<'de> for Strings {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object of strings")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> std::result::Result<(), A::Error> {
            while m.next_key_seed(AnyStr)?.is_some() {
                m.next_value_seed(AnyStr)?;
            }
            Ok(())
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    de.deserialize_map(Strings)
        .map_err(|e| Error::format(format!("__metadata__ is not an object of strings: {e}")))
}

/// Per-tensor rules, in header order.
fn check_entries(st: &mut Scanned<'_>, raws: Vec<Raw>, data_len: u64) -> Result<()> {
    for (i, raw) in raws.into_iter().enumerate() {
        let name = st.text(st.tensors[i].name);
        let tagged = |m: String| Error::format(m).for_tensor(name);
        format::check_name(name).map_err(|m| tagged(m.into()))?;
        if let Some(p) = raw.problem {
            return Err(tagged(p));
        }
        let dtype = raw
            .dtype
            .ok_or_else(|| tagged("no \"dtype\" string".into()))?
            .map_err(|e| e.for_tensor(name))?;
        if raw.shape_ok != Some(true) {
            return Err(tagged(
                "\"shape\" is not a list of non-negative integers".into(),
            ));
        }
        if raw.ndim > MAX_DIMS {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("rank {} exceeds the maximum of 8", raw.ndim),
            )
            .for_tensor(name));
        }
        let (begin, end) = raw
            .offsets
            .flatten()
            .ok_or_else(|| tagged("\"data_offsets\" is not two non-negative integers".into()))?;
        if begin > end || end > data_len {
            return Err(tagged(format!(
                "data offsets [{begin}, {end}] lie outside the {data_len} data bytes of the file (file truncated?)"
            )));
        }
        let shape = &raw.shape[..raw.ndim];
        let expect = format::numel(shape)
            .and_then(|n| dtype.byte_size(n))
            .ok_or_else(|| {
                tagged(format!(
                    "shape {shape:?} overflows or is not whole {dtype} blocks"
                ))
            })?;
        if expect != end - begin {
            return Err(tagged(format!(
                "{} data bytes do not match shape {shape:?} of {dtype} ({expect} bytes)",
                end - begin
            )));
        }
        let t = &mut st.tensors[i];
        t.dtype = dtype;
        t.ndim = raw.ndim as u8;
        t.shape = raw.shape;
        t.begin = begin;
        t.end = end;
    }
    Ok(())
}

/// Sorted by offsets, the tensors must tile the data exactly (the official
/// crate's rule; its messages are kept in the text).
fn check_coverage(st: &Scanned<'_>, data_len: u64) -> Result<Vec<u32>> {
    let mut order: Vec<u32> = (0..st.tensors.len() as u32).collect();
    order.sort_unstable_by_key(|&i| {
        let t = &st.tensors[i as usize];
        (t.begin, t.end, i)
    });
    let mut at = 0u64;
    for &i in &order {
        let t = &st.tensors[i as usize];
        if t.begin != at {
            let name = st.text(t.name);
            let what = if t.begin > at { "a gap" } else { "an overlap" };
            return Err(Error::format(format!(
                "invalid offset for tensor `{name}`: its data starts at {} but the previous tensor ends at {at} ({what})",
                t.begin
            ))
            .for_tensor(name));
        }
        at = t.end;
    }
    if at != data_len {
        return Err(Error::format(format!(
            "incomplete metadata, file not fully covered: the tensors end at data byte {at} of {data_len} (trailing bytes)"
        )));
    }
    Ok(order)
}

/// The top-level object.
struct HeaderVisitor<'s, 'h> {
    st: &'s mut Scanned<'h>,
    raws: &'s mut Vec<Raw>,
}

impl<'de> Visitor<'de> for HeaderVisitor<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> std::result::Result<(), A::Error> {
        let base = self.st.header.as_ptr() as usize;
        while let Some(key) = m.next_key_seed(KeySeed {
            base,
            arena: &mut self.st.arena,
        })? {
            if self.st.text(key) == "__metadata__" && self.st.metadata.is_none() {
                let raw: &'de RawValue = m.next_value()?;
                self.st.metadata = Some(raw.get());
                continue;
            }
            let mut raw = Raw::default();
            m.next_value_seed(EntrySeed(&mut raw))?;
            self.raws.push(raw);
            self.st.tensors.push(Declared {
                name: key,
                hash: 0,
                dtype: DType::U8,
                ndim: 0,
                shape: [0; MAX_DIMS],
                begin: 0,
                end: 0,
            });
        }
        Ok(())
    }
}

/// Any string (borrowed or decoded), for values that must be strings.
struct AnyStr;

impl<'de> DeserializeSeed<'de> for AnyStr {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for AnyStr {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<(), E> {
        Ok(())
    }
}

/// One tensor entry: an object whose known fields are read and whose other
/// values are skipped (depth-bounded).
struct EntrySeed<'r>(&'r mut Raw);

impl<'de> DeserializeSeed<'de> for EntrySeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// Records the first problem of an entry.
fn note(raw: &mut Raw, p: impl FnOnce() -> String) {
    if raw.problem.is_none() {
        raw.problem = Some(p());
    }
}

impl<'de> Visitor<'de> for EntrySeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a tensor entry")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> std::result::Result<(), A::Error> {
        let raw = self.0;
        while let Some(field) = m.next_key_seed(FieldSeed)? {
            match field {
                Some(f) if seen(raw, f) => {
                    note(raw, || format!("field \"{f}\" appears twice"));
                    m.next_value_seed(Skip)?;
                }
                Some("dtype") => raw.dtype = Some(m.next_value_seed(DTypeSeed)?),
                Some("shape") => {
                    raw.shape_ok = Some(m.next_value_seed(ShapeSeed(raw))?);
                }
                Some(_) => raw.offsets = Some(m.next_value_seed(OffsetsSeed)?),
                None => m.next_value_seed(Skip)?,
            }
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, s: A) -> std::result::Result<(), A::Error> {
        note(self.0, || "is not a JSON object".into());
        Skip.visit_seq(s)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<(), E> {
        self.not_object()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<(), E> {
        self.not_object()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<(), E> {
        self.not_object()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<(), E> {
        self.not_object()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<(), E> {
        self.not_object()
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<(), E> {
        self.not_object()
    }
}

impl EntrySeed<'_> {
    fn not_object<E>(self) -> std::result::Result<(), E> {
        note(self.0, || "is not a JSON object".into());
        Ok(())
    }
}

fn seen(raw: &Raw, field: &str) -> bool {
    match field {
        "dtype" => raw.dtype.is_some(),
        "shape" => raw.shape_ok.is_some(),
        _ => raw.offsets.is_some(),
    }
}

/// A field name: one of the three a tensor entry has, or `None` (names
/// with escapes are still the field they spell, as for serde's derive).
struct FieldSeed;

impl<'de> DeserializeSeed<'de> for FieldSeed {
    type Value = Option<&'static str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed {
    type Value = Option<&'static str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
        Ok(["dtype", "shape", "data_offsets"]
            .into_iter()
            .find(|f| *f == v))
    }
}

/// `dtype`: a string naming a dtype safetensors has.
struct DTypeSeed;

impl<'de> DeserializeSeed<'de> for DTypeSeed {
    type Value = Result<DType>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DTypeSeed {
    type Value = Result<DType>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a dtype name")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
        Ok(DType::from_name(v)
            .filter(|d| d.to_safetensors().is_some())
            .ok_or_else(|| Error::new(ErrorKind::Unsupported, format!("unknown dtype \"{v}\""))))
    }
    fn visit_map<A: MapAccess<'de>>(self, m: A) -> std::result::Result<Self::Value, A::Error> {
        Skip.visit_map(m).map(|()| not_a_dtype())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, s: A) -> std::result::Result<Self::Value, A::Error> {
        Skip.visit_seq(s).map(|()| not_a_dtype())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<Self::Value, E> {
        Ok(not_a_dtype())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<Self::Value, E> {
        Ok(not_a_dtype())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<Self::Value, E> {
        Ok(not_a_dtype())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<Self::Value, E> {
        Ok(not_a_dtype())
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(not_a_dtype())
    }
}

fn not_a_dtype() -> Result<DType> {
    Err(Error::format("no \"dtype\" string"))
}

/// One non-negative integer of a list (`None` for anything else, skipped).
struct Int;

impl<'de> DeserializeSeed<'de> for Int {
    type Value = Option<u64>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Int {
    type Value = Option<u64>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-negative integer")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Self::Value, E> {
        Ok(u64::try_from(v).ok())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, m: A) -> std::result::Result<Self::Value, A::Error> {
        Skip.visit_map(m).map(|()| None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, s: A) -> std::result::Result<Self::Value, A::Error> {
        Skip.visit_seq(s).map(|()| None)
    }
}

/// Reads a list of integers, calling `put(i, v)` for each; the result is
/// the count, or `None` when it is not such a list.
fn int_list<'de, D: Deserializer<'de>>(
    d: D,
    put: impl FnMut(usize, u64),
) -> std::result::Result<Option<usize>, D::Error> {
    struct List<F>(F);
    impl<'de, F: FnMut(usize, u64)> Visitor<'de> for List<F> {
        type Value = Option<usize>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of integers")
        }
        fn visit_seq<A: SeqAccess<'de>>(
            mut self,
            mut s: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let (mut n, mut ok) = (0usize, true);
            while let Some(v) = s.next_element_seed(Int)? {
                match v {
                    Some(v) => (self.0)(n, v),
                    None => ok = false,
                }
                n += 1;
            }
            Ok(ok.then_some(n))
        }
        fn visit_map<A: MapAccess<'de>>(self, m: A) -> std::result::Result<Self::Value, A::Error> {
            Skip.visit_map(m).map(|()| None)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(List(put))
}

/// `shape`: true when it is a list of non-negative integers (the first 8
/// land in the record; `ndim` counts them all).
struct ShapeSeed<'r>(&'r mut Raw);

impl<'de> DeserializeSeed<'de> for ShapeSeed<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<bool, D::Error> {
        let shape = &mut self.0.shape;
        let n = int_list(d, |i, v| {
            if let Some(s) = shape.get_mut(i) {
                *s = v;
            }
        })?;
        self.0.ndim = n.unwrap_or(0);
        Ok(n.is_some())
    }
}

/// `data_offsets`: exactly two non-negative integers.
struct OffsetsSeed;

impl<'de> DeserializeSeed<'de> for OffsetsSeed {
    type Value = Option<(u64, u64)>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        let mut v = [0u64; 2];
        let n = int_list(d, |i, x| {
            if let Some(s) = v.get_mut(i) {
                *s = x;
            }
        })?;
        Ok((n == Some(2)).then_some((v[0], v[1])))
    }
}

/// Skips any value through `deserialize_any`, so serde_json's recursion
/// limit bounds the nesting (and this recursion).
struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> std::result::Result<(), A::Error> {
        while s.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> std::result::Result<(), A::Error> {
        while m.next_key_seed(Skip)?.is_some() {
            m.next_value_seed(Skip)?;
        }
        Ok(())
    }
}
