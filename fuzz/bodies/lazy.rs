//! Oracle: lazy validation against full validation, and every backend
//! against the buffer (FORMAT.md, "Validation levels").
//!
//! - Full opens -> lazy opens and gives the same tensors (the very same
//!   views), the same lookups, metadata and `verify` verdict.
//! - Full refuses -> lazy refuses at open, or every view it hands out lies
//!   inside the buffer and is well-formed, and its `verify` fails.
//! - The input written to a file and opened by path with each backend
//!   (mmap, read, direct) and each level answers as the buffer did: same
//!   accept/refuse, same tensors and bytes, position by position.

use std::path::Path;

use tenzor::{Backend, OpenOptions, Tensor, TensorFile, Validation};

use super::common::{is_split_head, scratch, with_resigned};

/// The `lazy` target.
pub fn lazy(data: &[u8]) {
    with_resigned(data, |b| {
        let full = TensorFile::from_bytes_with(b, Validation::Full);
        let lazy = TensorFile::from_bytes_with(b, Validation::Lazy);
        match (&full, &lazy) {
            (Ok(_), Err(e)) => panic!("full validation opens, lazy refuses: {e}"),
            (Ok(f), Ok(l)) => same_file(f, l),
            (Err(_), Ok(l)) => stays_inside(b, l),
            (Err(_), Err(_)) => {}
        }
        backends(b, [full.ok(), lazy.ok()]);
    });
}

/// What full validation accepted, lazy gives identically.
fn same_file(f: &TensorFile<'_>, l: &TensorFile<'_>) {
    assert_eq!((f.len(), f.format()), (l.len(), l.format()));
    assert_eq!(f.alignment(), l.alignment());
    assert_eq!(f.metadata_json(), l.metadata_json());
    let meta = l.metadata().expect("lazy metadata of a file full accepts");
    assert_eq!(f.metadata().expect("full metadata"), meta);
    for p in 0..f.len() {
        let a = f.get_at(p).expect("full validation checked every entry");
        let b = l
            .try_get_at(p)
            .unwrap_or_else(|e| panic!("lazy get_at({p}): {e}"));
        same_view(&a, &b);
        if let Some(name) = a.name() {
            same_lookup(f.try_get(name), l.try_get(name), name);
        }
        let hash = a.name_hash();
        same_lookup(f.try_get_by_hash(hash), l.try_get_by_hash(hash), "by hash");
        assert_eq!(f.verify_tensor(&a).is_ok(), l.verify_tensor(&b).is_ok());
    }
    assert_eq!(f.iter().count(), l.iter().count());
    let (vf, vl) = (f.verify(), l.verify());
    assert_eq!(vf.is_ok(), vl.is_ok(), "verify: full {vf:?}, lazy {vl:?}");
}

/// The same view of the same buffer: same entry, same bytes at the same
/// address.
fn same_view(a: &Tensor<'_>, b: &Tensor<'_>) {
    assert_eq!(
        (a.position(), a.name(), a.name_hash()),
        (b.position(), b.name(), b.name_hash())
    );
    assert_eq!(
        (a.dtype(), a.shape()),
        (b.dtype(), b.shape()),
        "{:?}",
        a.name()
    );
    assert_eq!(a.file_offset(), b.file_offset(), "{:?}", a.name());
    assert_eq!(a.data().as_ptr(), b.data().as_ptr(), "{:?}", a.name());
    assert_eq!(a.data().len(), b.data().len(), "{:?}", a.name());
    assert_eq!(a.checksum(), b.checksum(), "{:?}", a.name());
}

fn same_lookup(a: tenzor::Result<Tensor<'_>>, b: tenzor::Result<Tensor<'_>>, what: &str) {
    match (a, b) {
        (Ok(a), Ok(b)) => same_view(&a, &b),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("lookup {what:?}: full {:?}, lazy {:?}", a.err(), b.err()),
    }
}

/// A file full validation refuses, opened lazily: whatever it hands out is
/// a well-formed view inside the buffer, and `verify` refuses it.
fn stays_inside(buf: &[u8], l: &TensorFile<'_>) {
    let mut names = Vec::new();
    for p in 0..l.len() {
        if let Ok(t) = l.try_get_at(p) {
            well_formed(buf, &t);
            assert_eq!(t.position(), p);
            if let Some(n) = t.name() {
                names.push((n.to_string(), t.name_hash()));
            }
        }
    }
    for (name, hash) in &names {
        if let Ok(t) = l.try_get(name) {
            well_formed(buf, &t);
            assert_eq!(t.name(), Some(name.as_str()), "found by name");
        }
        if let Ok(t) = l.try_get_by_hash(*hash) {
            well_formed(buf, &t);
            assert_eq!(t.name_hash(), *hash, "found by hash");
        }
    }
    for t in l.iter() {
        well_formed(buf, &t);
    }
    let _ = l.metadata();
    let _ = l.try_get("");
    assert!(
        l.verify().is_err(),
        "lazy verify accepts what full open refuses"
    );
}

/// Inside the buffer, at its offset, with dtype x shape bytes.
fn well_formed(buf: &[u8], t: &Tensor<'_>) {
    let d = t.data();
    let start = (d.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
    assert!(
        start <= buf.len() && d.len() <= buf.len() - start,
        "view outside the buffer"
    );
    assert_eq!(start as u64, t.file_offset());
    assert_eq!(t.dtype().byte_size(t.numel()), Some(d.len() as u64));
    assert!(t.shape().len() <= tenzor::format::MAX_DIMS);
    if let Some(n) = t.name() {
        assert!(
            !n.is_empty() && !n.contains('\0'),
            "bad name {n:?} handed out"
        );
    }
    std::hint::black_box(tenzor::format::checksum(d));
}

/// The input as a file, opened by path with every backend and level, gives
/// what the buffer gave at that level (`opened`: full, lazy).
fn backends(buf: &[u8], opened: [Option<TensorFile<'_>>; 2]) {
    let dir = scratch();
    let path = dir.path().join("input");
    std::fs::write(&path, buf).expect("write input");
    let levels = [Validation::Full, Validation::Lazy];
    for (validation, mem) in levels.into_iter().zip(&opened) {
        for backend in [Backend::Mmap, Backend::Read, Backend::Direct] {
            let opts = OpenOptions {
                backend,
                validation,
                ..Default::default()
            };
            by_path(buf, &path, &opts, mem.as_ref());
        }
    }
}

fn by_path(buf: &[u8], path: &Path, opts: &OpenOptions, mem: Option<&TensorFile<'_>>) {
    let what = format!("{:?} {:?}", opts.backend, opts.validation);
    let file = TensorFile::open_with(path, opts);
    let (mem, file) = match (mem, file) {
        (Some(m), Ok(f)) => (m, f),
        (Some(m), Err(e)) => {
            assert!(
                is_split_head(m),
                "{what}: opens from memory, not by path: {e}"
            );
            return;
        }
        (None, Ok(f)) => {
            // Only a shard index opens by path and not from memory (one
            // naming no shard: nothing else is in the directory).
            let index = buf.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'{');
            assert!(
                index && f.is_empty(),
                "{what}: opens by path, not from memory"
            );
            return;
        }
        (None, Err(_)) => return,
    };
    assert_eq!(
        (mem.len(), mem.format()),
        (file.len(), file.format()),
        "{what}"
    );
    assert_eq!(mem.metadata_json(), file.metadata_json(), "{what}");
    for p in 0..mem.len() {
        match (mem.try_get_at(p), file.try_get_at(p)) {
            (Ok(a), Ok(b)) => {
                assert_eq!(
                    (a.name(), a.dtype(), a.shape()),
                    (b.name(), b.dtype(), b.shape())
                );
                assert_eq!(a.file_offset(), b.file_offset(), "{what} {:?}", a.name());
                assert_eq!(a.data(), b.data(), "{what}: bytes of {:?}", a.name());
            }
            (Err(_), Err(_)) => {}
            (a, b) => panic!(
                "{what} get_at({p}): memory {:?}, file {:?}",
                a.err(),
                b.err()
            ),
        }
    }
    let (vm, vf) = (mem.verify(), file.verify());
    assert_eq!(
        vm.is_ok(),
        vf.is_ok(),
        "{what} verify: memory {vm:?}, file {vf:?}"
    );
}
