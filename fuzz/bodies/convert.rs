//! Oracle: every conversion that succeeds (to .tenzor, a .tenzor shard set,
//! .safetensors, .gguf) reopens, verifies and holds the same tensors; one
//! that fails leaves nothing behind and says why in a refusal, not a
//! format or I/O error.

use std::path::Path;

use tenzor::{ConvertOptions, ErrorKind, TensorFile};

use super::common::{entries, is_split_head, scratch, with_resigned};

/// The `convert` target.
pub fn convert(data: &[u8]) {
    with_resigned(data, |b| {
        // Only what verifies: full validation leaves name hashes (and the
        // uniqueness they order) to `verify`, and the writer refuses a
        // repeated name.
        if let Some(f) = TensorFile::from_bytes(b)
            .ok()
            .filter(|f| f.verify().is_ok())
        {
            check(b, &f);
        }
    });
}

fn check(bytes: &[u8], src: &TensorFile<'_>) {
    let dir = scratch();
    let input = dir.path().join("input");
    std::fs::write(&input, bytes).expect("write input");
    if let Err(e) = TensorFile::open(&input) {
        assert!(is_split_head(src), "opens from memory, not by path: {e}");
        return;
    }
    let mut expected = vec!["input".to_string()];
    let outputs = [
        ("out.tenzor", None),
        ("out.safetensors", None),
        ("out.gguf", None),
        ("set.tenzor", Some(64)),
    ];
    for (name, max_shard_size) in outputs {
        let out = dir.path().join(name);
        let opts = ConvertOptions {
            max_shard_size,
            ..Default::default()
        };
        match tenzor::convert(&input, &out, &opts, &mut |_, _| {}) {
            Ok(_) if max_shard_size.is_some() => {
                let index = dir.path().join(format!("{name}.index.json"));
                same_tensors(src, &index, Some("total_size"));
                let all = entries(dir.path());
                expected.extend(all.into_iter().filter(|e| e.starts_with("set")));
            }
            Ok(_) => {
                same_tensors(src, &out, name.ends_with(".tenzor").then_some(""));
                expected.push(name.to_string());
            }
            Err(e) => assert!(
                matches!(
                    e.kind(),
                    ErrorKind::Unsupported | ErrorKind::InvalidArgument
                ),
                "{name}: a conversion fails only by refusing: {e}"
            ),
        }
        expected.sort();
        expected.dedup();
        assert_eq!(entries(dir.path()), expected, "{name}: no stray files");
    }
}

/// `metadata`: compare the metadata too, but for this key (a shard set's
/// index adds its `total_size`, which wins over a model key of that name).
fn same_tensors(src: &TensorFile<'_>, out: &Path, metadata: Option<&str>) {
    let g = TensorFile::open(out).unwrap_or_else(|e| panic!("reopen the output: {e}"));
    g.verify()
        .unwrap_or_else(|e| panic!("verify the output: {e}"));
    assert_eq!(g.len(), src.len(), "{}", out.display());
    for (a, b) in src.iter().zip(g.iter()) {
        let name = a.display_name();
        assert_eq!(b.name(), Some(name.as_str()), "{}", out.display());
        assert_eq!(a.dtype(), b.dtype(), "{name} in {}", out.display());
        assert_eq!(a.shape(), b.shape(), "{name} in {}", out.display());
        assert_eq!(a.data(), b.data(), "{name} in {}", out.display());
    }
    if let Some(skip) = metadata {
        let (mut a, mut b) = (g.metadata().expect("json"), src.metadata().expect("json"));
        for m in [&mut a, &mut b] {
            m.as_object_mut().expect("object").shift_remove(skip);
        }
        assert_eq!(a, b, "metadata of {}", out.display());
    }
}
