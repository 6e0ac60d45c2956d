//! Conversion between .tenzor, .safetensors and .gguf. The input is memory-mapped
//! and streamed tensor by tensor into the output; nothing is read into RAM
//! but the index.

use std::io::{BufWriter, Write};
use std::path::Path;

use crate::atomic::AtomicFile;
use crate::dtype::DType;
use crate::error::{Error, ErrorKind, Result};
use crate::reader::{map_file, TensorFile};
use crate::writer::{Writer, WriterOptions};

/// File formats `convert` reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// .tenzor (version 2; version 1 as input only).
    Tenzor,
    /// .safetensors.
    Safetensors,
    /// .gguf (versions 2 and 3 as input, version 3 as output).
    Gguf,
}

impl FileKind {
    /// Recognises a file from its first bytes.
    pub fn detect(bytes: &[u8]) -> Option<FileKind> {
        if bytes.starts_with(&crate::format::MAGIC) {
            return Some(FileKind::Tenzor);
        }
        if bytes.starts_with(&crate::gguf::MAGIC) {
            return Some(FileKind::Gguf);
        }
        if bytes.len() > 8 {
            let n = u64::from_le_bytes(bytes[..8].try_into().ok()?);
            if n >= 2 && n <= (bytes.len() - 8) as u64 && bytes[8] == b'{' {
                return Some(FileKind::Safetensors);
            }
        }
        None
    }

    /// The output format a file name asks for, from its extension.
    pub fn from_extension(path: &Path) -> Option<FileKind> {
        match path.extension()?.to_str()? {
            "tenzor" => Some(FileKind::Tenzor),
            "safetensors" => Some(FileKind::Safetensors),
            "gguf" => Some(FileKind::Gguf),
            _ => None,
        }
    }
}

/// Options of [`convert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConvertOptions {
    /// Per-tensor alignment of a .tenzor output (`None`: the default, 64).
    pub alignment: Option<u64>,
}

/// What a conversion did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvertStats {
    /// Format read.
    pub from: FileKind,
    /// Format written.
    pub to: FileKind,
    /// Tensors written.
    pub tensors: usize,
    /// Tensor data bytes written.
    pub data_bytes: u64,
}

/// One tensor of an input, borrowed from its mapping.
pub(crate) struct SourceTensor<'a> {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<u64>,
    pub data: &'a [u8],
}

/// An input as an ordered list of tensors plus JSON metadata.
pub(crate) struct Source<'a> {
    pub metadata: String,
    pub tensors: Vec<SourceTensor<'a>>,
}

/// Converts `input` to `output`: the input format comes from its content,
/// the output format from its extension (.tenzor, .safetensors or .gguf).
/// `progress` is called after each tensor with (bytes done, bytes total).
pub fn convert(
    input: &Path,
    output: &Path,
    opts: &ConvertOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ConvertStats> {
    let to = FileKind::from_extension(output).ok_or_else(|| {
        Error::invalid("cannot tell the output format from the file name; use a .tenzor, .safetensors or .gguf extension")
            .in_file(output)
    })?;
    if to != FileKind::Tenzor && opts.alignment.is_some() {
        return Err(Error::invalid("--align applies to .tenzor output only").in_file(output));
    }
    if same_file(input, output) {
        return Err(Error::invalid("input and output are the same file").in_file(output));
    }
    let map = map_file(input)?;
    let from = FileKind::detect(&map).ok_or_else(|| {
        Error::format("unrecognised format (not .tenzor, .safetensors or .gguf)").in_file(input)
    })?;
    let tenzor;
    let src = match from {
        FileKind::Tenzor => {
            tenzor = TensorFile::from_bytes(&map).map_err(|e| e.in_file(input))?;
            tenzor_source(&tenzor)
        }
        FileKind::Safetensors => safetensors_source(&map).map_err(|e| e.in_file(input))?,
        FileKind::Gguf => crate::gguf::gguf_source(&map).map_err(|e| e.in_file(input))?,
    };
    let data_bytes = src.tensors.iter().map(|t| t.data.len() as u64).sum();
    match to {
        FileKind::Tenzor => write_tenzor(&src, output, opts, data_bytes, progress)?,
        FileKind::Safetensors => write_safetensors(&src, output, data_bytes, progress)?,
        FileKind::Gguf => crate::gguf_write::write_gguf(&src, output, data_bytes, progress)?,
    }
    Ok(ConvertStats {
        from,
        to,
        tensors: src.tensors.len(),
        data_bytes,
    })
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn tenzor_source<'a>(f: &'a TensorFile<'_>) -> Source<'a> {
    Source {
        metadata: f.metadata_json().to_string(),
        tensors: f
            .iter()
            .map(|t| SourceTensor {
                name: t.display_name(),
                dtype: t.dtype(),
                shape: t.shape().to_vec(),
                data: t.data(),
            })
            .collect(),
    }
}

/// Reads a safetensors file with the official crate (which validates every
/// offset), in data order, keeping `__metadata__` keys in file order.
pub(crate) fn safetensors_source(bytes: &[u8]) -> Result<Source<'_>> {
    let (n, meta) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| Error::format(format!("not a valid safetensors file: {e}")))?;
    let data = &bytes[8 + n..];
    // The crate holds `__metadata__` in a HashMap; re-read the header with
    // an order-preserving map so a round trip keeps its bytes.
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + n])
            .map_err(|e| Error::format(format!("safetensors header is not JSON: {e}")))?;
    let metadata = match header.get("__metadata__") {
        Some(m @ serde_json::Value::Object(_)) => m.to_string(),
        _ => "{}".to_string(),
    };
    let mut tensors = Vec::new();
    for name in meta.offset_keys() {
        let info = meta.info(&name).expect("offset_keys lists known names");
        let dtype = DType::from_safetensors(info.dtype).ok_or_else(|| {
            Error::new(
                ErrorKind::Unsupported,
                format!("dtype {:?} is not supported", info.dtype),
            )
            .for_tensor(&name)
        })?;
        let (begin, end) = info.data_offsets;
        tensors.push(SourceTensor {
            dtype,
            shape: info.shape.iter().map(|&d| d as u64).collect(),
            data: &data[begin..end],
            name,
        });
    }
    Ok(Source { metadata, tensors })
}

fn write_tenzor(
    src: &Source<'_>,
    output: &Path,
    opts: &ConvertOptions,
    total: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<()> {
    // Reserve exactly: the header region then never has to move.
    let wopts = WriterOptions {
        alignment: opts.alignment.unwrap_or(crate::format::DEFAULT_ALIGNMENT),
        reserve_tensors: src.tensors.len() as u64,
        reserve_name_bytes: src.tensors.iter().map(|t| t.name.len() as u64).sum(),
        reserve_metadata_bytes: src.metadata.len() as u64,
    };
    let mut w = Writer::create(output, wopts)?;
    w.set_metadata(&src.metadata)?;
    let mut done = 0;
    for t in &src.tensors {
        w.add_tensor(&t.name, t.dtype, &t.shape, t.data)?;
        done += t.data.len() as u64;
        progress(done, total);
    }
    w.finish()
}

/// Writes safetensors by hand rather than with `safetensors::serialize_to_file`:
/// that function re-sorts tensors, emits `__metadata__` in HashMap order and
/// writes the destination in place, while a byte-exact round trip needs file
/// order kept and the destination replaced atomically.
fn write_safetensors(
    src: &Source<'_>,
    output: &Path,
    total: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<()> {
    use serde_json::{json, Map, Value};
    let mut header = Map::new();
    let meta: Map<String, Value> = serde_json::from_str(&src.metadata)
        .map_err(|e| Error::format(format!("metadata is not a JSON object: {e}")))?;
    if !meta.is_empty() {
        // safetensors metadata is string -> string: other values keep their JSON text.
        let strings = meta
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k, Value::String(s)),
                other => (k, Value::String(other.to_string())),
            })
            .collect();
        header.insert("__metadata__".into(), Value::Object(strings));
    }
    let mut offset = 0u64;
    for t in &src.tensors {
        let st = t.dtype.to_safetensors().ok_or_else(|| {
            Error::new(
                ErrorKind::Unsupported,
                format!("dtype {} cannot be stored in safetensors", t.dtype),
            )
            .for_tensor(&t.name)
            .in_file(output)
        })?;
        if header.contains_key(&t.name) {
            return Err(Error::new(ErrorKind::DuplicateName, "name appears twice")
                .for_tensor(&t.name)
                .in_file(output));
        }
        let end = offset + t.data.len() as u64;
        header.insert(
            t.name.clone(),
            json!({"dtype": format!("{st:?}"), "shape": t.shape, "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    let mut text = Value::Object(header).to_string().into_bytes();
    text.resize(text.len().next_multiple_of(8), b' ');

    let mut out = AtomicFile::create(output)?;
    let file = out
        .file()
        .try_clone()
        .map_err(|e| Error::io(output, "cannot duplicate file handle", e))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let io = |e| Error::io(output, "cannot write", e);
    w.write_all(&(text.len() as u64).to_le_bytes())
        .map_err(io)?;
    w.write_all(&text).map_err(io)?;
    let mut done = 0;
    for t in &src.tensors {
        w.write_all(t.data).map_err(io)?;
        done += t.data.len() as u64;
        progress(done, total);
    }
    w.flush().map_err(io)?;
    drop(w);
    out.commit()
}
