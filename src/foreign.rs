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
    /// FNV-1a of the name, when the parser already has it.
    pub hash: Option<u64>,
    pub dtype: DType,
    pub shape: &'n [u64],
    pub offset: usize,
    pub size: usize,
}

/// Where a foreign file's metadata is, until someone asks for it.
pub(crate) enum Metadata {
    /// safetensors: the `__metadata__` object's text in the file (empty
    /// range: none).
    JsonSpan(std::ops::Range<usize>),
    /// GGUF: the indexed KV pairs.
    Gguf(crate::gguf_meta::GgufMeta),
}

/// The index of a foreign file.
pub(crate) struct Foreign {
    pub format: Format,
    pub version: u32,
    pub metadata: Metadata,
    /// The metadata as JSON, made on first request.
    json: std::sync::OnceLock<String>,
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
        metadata: Metadata,
        alignment: u64,
        data_offset: usize,
        file_len: usize,
        tensors: impl IntoIterator<Item = ForeignTensor<'n>>,
    ) -> Result<Foreign> {
        let tensors = tensors.into_iter();
        let n = tensors.size_hint().0;
        let mut names = Vec::with_capacity(n * 48);
        let mut entries = Vec::with_capacity(n);
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
                hash: t.hash.unwrap_or_else(|| format::fnv1a(t.name.as_bytes())),
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
            json: std::sync::OnceLock::new(),
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

    /// Which format the file holds.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The format's version (0 for safetensors, which has none).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The alignment the format promises for tensor offsets (1: none).
    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// Where the data section starts.
    pub fn data_offset(&self) -> usize {
        self.data_offset
    }

    /// The metadata as JSON object text, built once on first request
    /// (`bytes` are the file's). safetensors: `__metadata__` in compact
    /// form; GGUF: see [`crate::gguf::metadata_json`].
    pub fn metadata_json(&self, bytes: &[u8]) -> &str {
        self.json.get_or_init(|| match &self.metadata {
            Metadata::JsonSpan(r) if r.is_empty() => "{}".to_string(),
            // Validated at open as an object of strings.
            Metadata::JsonSpan(r) => std::str::from_utf8(&bytes[r.clone()])
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
                .map_or_else(|| "{}".to_string(), |v| v.to_string()),
            Metadata::Gguf(g) => crate::gguf::metadata_json(bytes, &g.kv),
        })
    }

    /// GGUF: the KV index.
    pub fn gguf_meta(&self) -> Option<&crate::gguf_meta::GgufMeta> {
        match &self.metadata {
            Metadata::Gguf(g) => Some(g),
            Metadata::JsonSpan(_) => None,
        }
    }

    /// safetensors: the `__metadata__` text as stored (empty when absent).
    pub fn metadata_text<'b>(&self, bytes: &'b [u8]) -> &'b str {
        match &self.metadata {
            Metadata::JsonSpan(r) => std::str::from_utf8(&bytes[r.clone()]).unwrap_or(""),
            Metadata::Gguf(_) => "",
        }
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

/// Parses a safetensors file: the header scan (`st_header`) checks every
/// rule of the format and of tenzor; this only builds the index from it.
pub(crate) fn safetensors(bytes: &[u8]) -> Result<Foreign> {
    let st = crate::st_header::scan(bytes)?;
    let data_start = 8 + st.header.len();
    let metadata = match st.metadata {
        Some(m) => {
            let at = m.as_ptr() as usize - bytes.as_ptr() as usize;
            Metadata::JsonSpan(at..at + m.len())
        }
        None => Metadata::JsonSpan(0..0),
    };
    let list = st.order.iter().map(|&i| {
        let t = &st.tensors[i as usize];
        ForeignTensor {
            name: st.text(t.name),
            hash: Some(t.hash),
            dtype: t.dtype,
            shape: &t.shape[..t.ndim as usize],
            offset: data_start + t.begin as usize,
            size: (t.end - t.begin) as usize,
        }
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

/// Parses a GGUF file (see `gguf.rs`). Its metadata is the KV index; as
/// JSON, the KV object plus `__gguf_types__`, the GGUF type of every key, so
/// a conversion back to GGUF restores every value with its exact type.
pub(crate) fn gguf(
    bytes: &[u8],
    release: Option<&dyn Fn(std::ops::Range<usize>)>,
) -> Result<Foreign> {
    let g = crate::gguf::parse_releasing(bytes, release)?;
    crate::gguf::check_reserved(bytes, &g.kv)?;
    let tensors = g.tensors.iter().map(|t| ForeignTensor {
        name: &t.name,
        hash: None,
        dtype: t.dtype,
        shape: t.dims(),
        offset: t.offset,
        size: t.size,
    });
    Foreign::build(
        Format::Gguf,
        g.version,
        Metadata::Gguf(crate::gguf_meta::GgufMeta::new(g.kv)),
        g.alignment,
        g.data_offset,
        bytes.len(),
        tensors,
    )
}
