//! Oracle: whatever `from_bytes` accepts, written again with the writer and
//! reopened by path, has identical names, dtypes, shapes, bytes and
//! metadata, and verifies.

use tenzor::{TensorFile, Writer, WriterOptions};

use super::common::{scratch, with_resigned};

/// The `roundtrip` target.
pub fn roundtrip(data: &[u8]) {
    with_resigned(data, |b| {
        // Only what verifies: full validation leaves name hashes (and the
        // uniqueness they order) to `verify`, and the writer refuses a
        // repeated name.
        if let Some(f) = TensorFile::from_bytes(b)
            .ok()
            .filter(|f| f.verify().is_ok())
        {
            check(&f);
        }
    });
}

fn check(f: &TensorFile<'_>) {
    let dir = scratch();
    let path = dir.path().join("roundtrip.tenzor");
    let mut w = Writer::create(&path, WriterOptions::default()).expect("create");
    w.set_metadata(f.metadata_json())
        .unwrap_or_else(|e| panic!("metadata the reader accepted: {e}"));
    for t in f.iter() {
        // Legacy v1 files store only hashes; their display name is the hash.
        w.add_tensor(&t.display_name(), t.dtype(), t.shape(), t.data())
            .unwrap_or_else(|e| panic!("a tensor the reader accepted: {e}"));
    }
    w.finish().expect("finish");
    let g = TensorFile::open(&path).unwrap_or_else(|e| panic!("reopen by path: {e}"));
    g.verify().expect("verify");
    assert_eq!(g.len(), f.len());
    for (a, b) in f.iter().zip(g.iter()) {
        assert_eq!(b.name(), Some(a.display_name().as_str()));
        if a.name().is_some() {
            assert_eq!(a.name_hash(), b.name_hash());
        }
        assert_eq!(a.dtype(), b.dtype(), "{}", a.display_name());
        assert_eq!(a.shape(), b.shape(), "{}", a.display_name());
        assert_eq!(a.data(), b.data(), "{}", a.display_name());
        assert_eq!(b.data().as_ptr() as usize % 64, 0, "aligned");
    }
    assert_eq!(g.metadata().expect("json"), f.metadata().expect("json"));
    assert_eq!(
        super::common::entries(dir.path()),
        ["roundtrip.tenzor"],
        "no temporary file left"
    );
}
