//! Formats other than .tenzor (safetensors, GGUF): their headers are parsed
//! once at open into a compact index with the same lookups as a native file
//! (search by (hash, name), position order, NUL-terminated names).
//! Tensor data stays in the mapping; nothing of it is read or copied.

use crate::dtype::DType;
use crate::error::{Error, ErrorKind, Result};
use crate::format::{self, MAX_DIMS};
use crate::reader::Format;
use crate::tensor::Tensor;

struct Entry {
    hash: u64,
    name_offset: usize,
    name_len: usize,
    dtype: DType,
    ndim: u8,
    shape: [u64; MAX_DIMS],
    offset: usize,
    size: usize,
}

/// One tensor as a foreign parser describes it (offsets absolute, checked).
pub(crate) struct ForeignTensor<'n> {
    pub name: &'n str,
    pub dtype: DType,
    pub shape: &'n [u64],
    pub offset: usize,
    pub size: usize,
}

/// The index of a foreign file.
pub(crate) struct Foreign {
    pub format: Format,
    pub version: u32,
    pub metadata: String,
    pub alignment: u64,
    pub data_offset: usize,
    names: Vec<u8>,
    entries: Vec<Entry>,
    sorted: Vec<u32>,
}

impl Foreign {
    /// Builds the index from tensors in file order. Checks names, ranks,
    /// sizes against dtype x shape, bounds against `file_len`, and duplicates.
    pub fn build<'n>(
        format: Format,
        version: u32,
        metadata: String,
        alignment: u64,
        data_offset: usize,
        file_len: usize,
        tensors: impl IntoIterator<Item = ForeignTensor<'n>>,
    ) -> Result<Foreign> {
        let mut names = Vec::new();
        let mut entries = Vec::new();
        for t in tensors {
            let tagged = |e: Error| e.for_tensor(t.name);
            format::check_name(t.name).map_err(|m| tagged(Error::format(m)))?;
            if t.shape.len() > MAX_DIMS {
                return Err(tagged(Error::new(
                    ErrorKind::Unsupported,
                    format!("rank {} exceeds the maximum of 8", t.shape.len()),
                )));
            }
            let expect = format::numel(t.shape).and_then(|n| t.dtype.byte_size(n));
            if expect != Some(t.size as u64) {
                return Err(tagged(Error::format(format!(
                    "{} data bytes do not match shape {:?} of {}",
                    t.size, t.shape, t.dtype
                ))));
            }
            if t.offset
                .checked_add(t.size)
                .is_none_or(|end| end > file_len)
            {
                return Err(tagged(Error::format(
                    "data lies beyond the end of the file (file truncated?)",
                )));
            }
            let mut shape = [0u64; MAX_DIMS];
            shape[..t.shape.len()].copy_from_slice(t.shape);
            entries.push(Entry {
                hash: format::fnv1a(t.name.as_bytes()),
                name_offset: names.len(),
                name_len: t.name.len(),
                dtype: t.dtype,
                ndim: t.shape.len() as u8,
                shape,
                offset: t.offset,
                size: t.size,
            });
            names.extend_from_slice(t.name.as_bytes());
            names.push(0);
        }
        if entries.len() > u32::MAX as usize {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "more than 2^32 - 1 tensors",
            ));
        }
        let mut f = Foreign {
            format,
            version,
            metadata,
            alignment,
            data_offset,
            names,
            entries,
            sorted: Vec::new(),
        };
        let mut sorted: Vec<u32> = (0..f.entries.len() as u32).collect();
        sorted.sort_unstable_by(|&a, &b| f.key(a as usize).cmp(&f.key(b as usize)));
        for w in sorted.windows(2) {
            if f.key(w[0] as usize) == f.key(w[1] as usize) {
                let name = String::from_utf8_lossy(f.key(w[0] as usize).1).into_owned();
                return Err(
                    Error::new(ErrorKind::DuplicateName, "name appears twice").for_tensor(&name)
                );
            }
        }
        f.sorted = sorted;
        Ok(f)
    }

    fn key(&self, i: usize) -> (u64, &[u8]) {
        let e = &self.entries[i];
        (
            e.hash,
            &self.names[e.name_offset..e.name_offset + e.name_len],
        )
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Position of the tensor called `name`.
    pub fn find(&self, name: &str) -> Option<usize> {
        let hash = format::fnv1a(name.as_bytes());
        let first = self.lower_bound(hash);
        self.sorted[first..]
            .iter()
            .map(|&i| i as usize)
            .take_while(|&i| self.entries[i].hash == hash)
            .find(|&i| self.key(i).1 == name.as_bytes())
    }

    /// Position of the first tensor (in name order) whose name hashes to `hash`.
    pub fn find_hash(&self, hash: u64) -> Option<usize> {
        let i = *self.sorted.get(self.lower_bound(hash))? as usize;
        (self.entries[i].hash == hash).then_some(i)
    }

    fn lower_bound(&self, hash: u64) -> usize {
        crate::search::lower_bound(
            self.sorted.len(),
            |s| self.entries[self.sorted[s] as usize].hash,
            hash,
        )
    }

    /// The view of the tensor at `position`, data borrowed from `bytes`.
    pub fn tensor<'a>(&'a self, bytes: &'a [u8], position: usize) -> Tensor<'a> {
        let e = &self.entries[position];
        let name = std::str::from_utf8(&self.names[e.name_offset..e.name_offset + e.name_len])
            .unwrap_or("");
        Tensor {
            name: Some(name),
            name_hash: e.hash,
            dtype: e.dtype,
            ndim: e.ndim,
            shape: e.shape,
            data: &bytes[e.offset..e.offset + e.size],
            offset: e.offset as u64,
            checksum: None,
            position,
        }
    }
}

/// The header's entries in file order. serde_json keeps the last of two
/// equal keys without a word; two parsers that disagree on which duplicate
/// wins read different files, so duplicates are refused here.
struct HeaderEntries(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for HeaderEntries {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = HeaderEntries;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> std::result::Result<HeaderEntries, A::Error> {
                let mut v = Vec::new();
                while let Some(entry) = m.next_entry::<String, serde_json::Value>()? {
                    v.push(entry);
                }
                Ok(HeaderEntries(v))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// One tensor entry of a safetensors header, checked against the file.
fn safetensors_entry(
    name: &str,
    v: &serde_json::Value,
    data_len: u64,
) -> Result<(DType, Vec<u64>, u64, u64)> {
    let tagged = |m: String| Error::format(m).for_tensor(name);
    let dtype_name = v
        .get("dtype")
        .and_then(|d| d.as_str())
        .ok_or_else(|| tagged("no \"dtype\" string".into()))?;
    let dtype = DType::from_name(dtype_name)
        .filter(|d| d.to_safetensors().is_some())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Unsupported,
                format!("unknown dtype \"{dtype_name}\""),
            )
            .for_tensor(name)
        })?;
    let shape: Vec<u64> = v
        .get("shape")
        .and_then(|s| s.as_array())
        .and_then(|a| a.iter().map(|d| d.as_u64()).collect())
        .ok_or_else(|| tagged("\"shape\" is not a list of non-negative integers".into()))?;
    if shape.len() > MAX_DIMS {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("rank {} exceeds the maximum of 8", shape.len()),
        )
        .for_tensor(name));
    }
    let offsets: Vec<u64> = v
        .get("data_offsets")
        .and_then(|s| s.as_array())
        .and_then(|a| a.iter().map(|d| d.as_u64()).collect())
        .filter(|o: &Vec<u64>| o.len() == 2)
        .ok_or_else(|| tagged("\"data_offsets\" is not two non-negative integers".into()))?;
    let (begin, end) = (offsets[0], offsets[1]);
    if begin > end || end > data_len {
        return Err(tagged(format!(
            "data offsets [{begin}, {end}] lie outside the {data_len} data bytes of the file (file truncated?)"
        )));
    }
    let expect = format::numel(&shape)
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
    Ok((dtype, shape, begin, end))
}

/// Parses a safetensors file. tenzor checks the header itself first (file
/// order, duplicate keys, offsets against the file before any arithmetic,
/// sizes per tensor so errors name it), then lets the official crate
/// validate it too (contiguity, coverage) as a second opinion.
pub(crate) fn safetensors(bytes: &[u8]) -> Result<Foreign> {
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
    let data_start = 8 + n as usize;
    let data_len = len - 8 - n;
    let header = std::str::from_utf8(&bytes[8..data_start])
        .map_err(|e| Error::format(format!("safetensors header is not UTF-8: {e}")))?;
    let HeaderEntries(entries) = serde_json::from_str(header).map_err(|e| {
        Error::format(format!(
            "safetensors header is not a valid JSON object: {e}"
        ))
    })?;
    let mut seen = std::collections::HashSet::with_capacity(entries.len());
    for (k, _) in &entries {
        if !seen.insert(k.as_str()) {
            return Err(Error::new(
                ErrorKind::DuplicateName,
                "name appears twice in the safetensors header",
            )
            .for_tensor(k));
        }
    }
    let mut metadata = "{}".to_string();
    let mut tensors = Vec::with_capacity(entries.len());
    for (name, v) in &entries {
        if name == "__metadata__" {
            if !v.is_object() {
                return Err(Error::format("__metadata__ is not a JSON object"));
            }
            metadata = v.to_string();
            continue;
        }
        let (dtype, shape, begin, end) = safetensors_entry(name, v, data_len)?;
        tensors.push((name.as_str(), dtype, shape, begin, end));
    }
    safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| Error::format(format!("not a valid safetensors file: {e}")))?;
    // File order is data order; the stable sort keeps header order for
    // empty tensors that share an offset.
    tensors.sort_by_key(|t| (t.3, t.4));
    let list = tensors
        .iter()
        .map(|(name, dtype, shape, begin, end)| ForeignTensor {
            name,
            dtype: *dtype,
            shape,
            offset: data_start + *begin as usize,
            size: (end - begin) as usize,
        });
    Foreign::build(
        Format::Safetensors,
        0,
        metadata,
        1,
        data_start,
        bytes.len(),
        list,
    )
}

/// Parses a GGUF file (see `gguf.rs`). Its metadata is the KV object plus
/// `__gguf_types__`, the GGUF type of every key, so a conversion back to
/// GGUF restores every value with its exact type.
pub(crate) fn gguf(bytes: &[u8]) -> Result<Foreign> {
    let g = crate::gguf::parse(bytes)?;
    let metadata = crate::gguf::with_types(&g)?;
    let tensors = g.tensors.iter().map(|t| ForeignTensor {
        name: &t.name,
        dtype: t.dtype,
        shape: t.dims(),
        offset: t.offset,
        size: t.size,
    });
    Foreign::build(
        Format::Gguf,
        g.version,
        metadata,
        g.alignment,
        g.data_offset,
        bytes.len(),
        tensors,
    )
}
