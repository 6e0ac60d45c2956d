//! Formats other than .tenzor (safetensors, GGUF): their headers are parsed
//! once at open into a compact index with the same lookups as a native file
//! (binary search by (hash, name), position order, NUL-terminated names).
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
        let key = (format::fnv1a(name.as_bytes()), name.as_bytes());
        self.sorted
            .binary_search_by(|&i| self.key(i as usize).cmp(&key))
            .ok()
            .map(|s| self.sorted[s] as usize)
    }

    /// Position of the first tensor (in name order) whose name hashes to `hash`.
    pub fn find_hash(&self, hash: u64) -> Option<usize> {
        let s = self
            .sorted
            .partition_point(|&i| self.entries[i as usize].hash < hash);
        let i = *self.sorted.get(s)? as usize;
        (self.entries[i].hash == hash).then_some(i)
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

/// Parses a safetensors file with the official crate (which validates the
/// header, every offset, dtype x shape sizes and contiguity).
pub(crate) fn safetensors(bytes: &[u8]) -> Result<Foreign> {
    let (n, meta) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| Error::format(format!("not a valid safetensors file: {e}")))?;
    // The crate keeps `__metadata__` in a HashMap; re-read it with an
    // order-preserving map so conversions keep its key order.
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + n])
            .map_err(|e| Error::format(format!("safetensors header is not a JSON object: {e}")))?;
    let metadata = match header.get("__metadata__") {
        Some(m @ serde_json::Value::Object(_)) => m.to_string(),
        _ => "{}".to_string(),
    };
    let data_start = 8 + n;
    let names = meta.offset_keys();
    let mut tensors = Vec::with_capacity(names.len());
    let mut shapes = Vec::with_capacity(names.len());
    for name in &names {
        let info = meta.info(name).expect("offset_keys lists known names");
        let dtype = DType::from_safetensors(info.dtype).ok_or_else(|| {
            Error::new(
                ErrorKind::Unsupported,
                format!("dtype {:?} is not supported", info.dtype),
            )
            .for_tensor(name)
        })?;
        shapes.push((
            dtype,
            info.shape.iter().map(|&d| d as u64).collect::<Vec<u64>>(),
            info.data_offsets,
        ));
    }
    for (name, (dtype, shape, (begin, end))) in names.iter().zip(&shapes) {
        tensors.push(ForeignTensor {
            name,
            dtype: *dtype,
            shape,
            offset: data_start + begin,
            size: end - begin,
        });
    }
    Foreign::build(
        Format::Safetensors,
        0,
        metadata,
        1,
        data_start,
        bytes.len(),
        tensors,
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
