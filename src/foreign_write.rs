//! The writers of the other formats for `convert` (.safetensors here,
//! .gguf in `gguf_write`).

pub(crate) use crate::gguf_write::write_gguf as gguf;

use std::io::Write;
use std::path::Path;

use crate::atomic::AtomicFile;
use crate::convert::Source;
use crate::error::{Error, ErrorKind, Result};

/// Writes safetensors by hand rather than with `safetensors::serialize_to_file`:
/// that function re-sorts tensors, emits `__metadata__` in HashMap order and
/// writes the destination in place, while a byte-exact round trip needs file
/// order kept and the destination replaced atomically.
pub(crate) fn safetensors(
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
        let end = offset + t.len;
        header.insert(
            t.name.clone(),
            json!({"dtype": format!("{st:?}"), "shape": t.shape, "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    let mut text = Value::Object(header).to_string().into_bytes();
    text.resize(text.len().next_multiple_of(8), b' ');

    let mut out = AtomicFile::create(output)?;
    let mut w = out.buffered()?;
    let io = |e| Error::io(output, "cannot write", e);
    w.write_all(&(text.len() as u64).to_le_bytes())
        .map_err(io)?;
    w.write_all(&text).map_err(io)?;
    let (mut done, mut buf) = (0, Vec::new());
    for t in &src.tensors {
        t.stream(&mut buf, &mut |c| w.write_all(c).map_err(io))?;
        done += t.len;
        progress(done, total);
    }
    w.flush().map_err(io)?;
    drop(w);
    out.commit()
}
