//! Conversion of any readable file (.tenzor, .safetensors, .gguf, shard
//! sets) to .tenzor, .safetensors or .gguf. The input is streamed tensor by
//! tensor, in steps of a few MiB, into the output: mapped input pages are
//! dropped from the process once copied, and the output keeps its dirty
//! pages bounded ([`crate::io::WriteBehind`]), so the resident size stays
//! a few MiB plus the index whatever the size of the model.

use std::io::Write;
use std::path::Path;

use crate::atomic::AtomicFile;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::reader::{Format, TensorFile};
use crate::writer::{Writer, WriterOptions};

/// File formats `convert` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// .tenzor version 2.
    Tenzor,
    /// .safetensors.
    Safetensors,
    /// .gguf (versions 2 and 3 as input, version 3 as output).
    Gguf,
}

impl FileKind {
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
    /// Split a .tenzor output into shards of at most this many data bytes
    /// (a tensor larger than that gets a shard of its own). The output path
    /// `dir/model.tenzor` then names the set: shards
    /// `dir/model-00001-of-0000N.tenzor` and the index
    /// `dir/model.tenzor.index.json`.
    pub max_shard_size: Option<u64>,
}

/// What a conversion did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvertStats {
    /// Format read.
    pub from: Format,
    /// Format written.
    pub to: FileKind,
    /// Tensors written.
    pub tensors: usize,
    /// Tensor data bytes written.
    pub data_bytes: u64,
}

/// One tensor of an input: its description, and where its bytes are.
pub(crate) struct SourceTensor<'a> {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<u64>,
    /// Bytes of data.
    pub len: u64,
    /// The single file holding the data (a shard, for a set) and where.
    file: &'a TensorFile<'a>,
    offset: u64,
}

impl SourceTensor<'_> {
    /// Hands the tensor's bytes to `put` in order, a few MiB at a time,
    /// through bounded memory (see [`crate::io`]'s `Store::stream`).
    pub fn stream(
        &self,
        buf: &mut Vec<u8>,
        put: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let mut put_failed = false;
        let r = self
            .file
            .store
            .stream(self.offset, self.len, buf, &mut |c| {
                put(c).inspect_err(|_| put_failed = true)
            });
        // A read error gets the tensor's name; the output's errors have theirs.
        r.map_err(|e| {
            if put_failed {
                e
            } else {
                e.for_tensor(&self.name)
            }
        })
    }
}

/// An input as an ordered list of tensors plus JSON metadata.
pub(crate) struct Source<'a> {
    pub metadata: String,
    pub tensors: Vec<SourceTensor<'a>>,
}

/// Converts `input` to `output`: the input format comes from its content
/// (anything [`TensorFile::open`] reads), the output format from its
/// extension (.tenzor or .safetensors).
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
    let file = TensorFile::open(input)?;
    let from = file.format();
    let src = source(&file)?;
    let data_bytes = src.tensors.iter().map(|t| t.len).sum();
    if to == FileKind::Safetensors && opts.max_shard_size.is_some() {
        return Err(
            Error::invalid("--max-shard-size applies to .tenzor output only").in_file(output),
        );
    }
    match to {
        FileKind::Tenzor if opts.max_shard_size.is_some() => {
            write_tenzor_shards(&src, output, opts, data_bytes, progress)?
        }
        FileKind::Tenzor => {
            let mut done = 0;
            write_tenzor(
                &src.tensors,
                &src.metadata,
                output,
                opts,
                (&mut done, data_bytes),
                progress,
            )?
        }
        FileKind::Safetensors => {
            crate::foreign_write::safetensors(&src, output, data_bytes, progress)?
        }
        FileKind::Gguf => crate::foreign_write::gguf(&src, output, data_bytes, progress)?,
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

/// Any open file as a source, in position order (a set: shard by shard).
/// No tensor data is read.
pub(crate) fn source<'a>(f: &'a TensorFile<'a>) -> Result<Source<'a>> {
    let files: Vec<&'a TensorFile<'a>> = match f.shards() {
        [] => vec![f],
        shards => shards.iter().collect(),
    };
    let mut tensors = Vec::with_capacity(f.len());
    for file in files {
        for p in 0..file.len() {
            let t = file.describe_at(p).map_err(|e| file.tag(e))?;
            tensors.push(SourceTensor {
                name: t.display_name(),
                dtype: t.dtype(),
                shape: t.shape().to_vec(),
                len: t.data().len() as u64,
                file,
                offset: t.file_offset(),
            });
        }
    }
    Ok(Source {
        metadata: f.metadata_json().to_string(),
        tensors,
    })
}

pub(crate) fn write_tenzor(
    tensors: &[SourceTensor<'_>],
    metadata: &str,
    output: &Path,
    opts: &ConvertOptions,
    (done, total): (&mut u64, u64),
    progress: &mut dyn FnMut(u64, u64),
) -> Result<()> {
    // Reserve exactly: the header region then never has to move.
    let wopts = WriterOptions {
        alignment: opts.alignment.unwrap_or(crate::format::DEFAULT_ALIGNMENT),
        reserve_tensors: tensors.len() as u64,
        reserve_name_bytes: tensors.iter().map(|t| t.name.len() as u64).sum(),
        reserve_metadata_bytes: metadata.len() as u64,
    };
    let mut w = Writer::create(output, wopts)?;
    w.set_metadata(metadata)?;
    let mut buf = Vec::new();
    for t in tensors {
        w.add_tensor_streamed(&t.name, t.dtype, &t.shape, t.len, &mut |put| {
            t.stream(&mut buf, put)
        })?;
        *done += t.len;
        progress(*done, total);
    }
    w.finish()
}

/// Writes a .tenzor shard set: greedy shards of at most `max_shard_size`
/// data bytes, each a complete .tenzor file carrying the source metadata,
/// and a Hugging Face style index naming them. On failure every file
/// written so far is removed.
fn write_tenzor_shards(
    src: &Source<'_>,
    output: &Path,
    opts: &ConvertOptions,
    total: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<()> {
    let max = opts.max_shard_size.unwrap_or(u64::MAX);
    if max == 0 {
        return Err(Error::invalid("--max-shard-size must be more than 0").in_file(output));
    }
    let mut groups: Vec<&[SourceTensor<'_>]> = Vec::new();
    let (mut start, mut size) = (0, 0u64);
    for (i, t) in src.tensors.iter().enumerate() {
        let len = t.len;
        if i > start && size + len > max {
            groups.push(&src.tensors[start..i]);
            (start, size) = (i, 0);
        }
        size += len;
    }
    if start < src.tensors.len() {
        groups.push(&src.tensors[start..]);
    }
    let stem = output
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| Error::invalid("output file name is not UTF-8").in_file(output))?;
    let dir = output.parent().unwrap_or(Path::new(""));
    let n = groups.len();
    let names: Vec<String> = (1..=n)
        .map(|i| format!("{stem}-{i:05}-of-{n:05}.tenzor"))
        .collect();
    let mut written: Vec<std::path::PathBuf> = Vec::new();
    let result = (|| {
        let mut done = 0;
        let mut weight_map = serde_json::Map::new();
        for (group, name) in groups.iter().zip(&names) {
            let path = dir.join(name);
            write_tenzor(
                group,
                &src.metadata,
                &path,
                opts,
                (&mut done, total),
                progress,
            )?;
            written.push(path);
            for t in group.iter() {
                weight_map.insert(t.name.clone(), name.clone().into());
            }
        }
        let index = serde_json::json!({
            "metadata": index_metadata(src, groups.is_empty(), total),
            "weight_map": weight_map,
        });
        let index_path = dir.join(format!("{stem}.tenzor.index.json"));
        let mut out = AtomicFile::create(&index_path)?;
        let text = serde_json::to_string_pretty(&index).expect("JSON values serialize") + "\n";
        out.file()
            .write_all(text.as_bytes())
            .map_err(|e| Error::io(&index_path, "cannot write", e))?;
        out.commit()
    })();
    if result.is_err() {
        for p in &written {
            let _ = std::fs::remove_file(p);
        }
    }
    result
}

/// The index's "metadata": `total_size`, and, for a model without tensors
/// (so without shards, which carry the metadata otherwise: a shard holding
/// no tensor would be named by no entry of the weight map), the model's keys.
fn index_metadata(src: &Source<'_>, no_shards: bool, total: u64) -> serde_json::Value {
    let mut meta = serde_json::Map::new();
    meta.insert("total_size".into(), total.into());
    if no_shards {
        if let Ok(serde_json::Value::Object(m)) = serde_json::from_str(&src.metadata) {
            for (k, v) in m {
                meta.entry(k).or_insert(v);
            }
        }
    }
    serde_json::Value::Object(meta)
}
