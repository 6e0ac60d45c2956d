//! Arbitrary bytes through `TensorFile::from_bytes`; on success every
//! accessor is exercised and its answers checked against each other.

use tenzor::{Element, Tensor, TensorFile};

use super::common::with_resigned;

/// The `read` target.
pub fn read(data: &[u8]) {
    with_resigned(data, |b| {
        if let Ok(f) = TensorFile::from_bytes(b) {
            exercise(&f);
        }
    });
}

/// Every accessor of an open file, with the invariants that tie them.
pub fn exercise(f: &TensorFile<'_>) {
    let n = f.len();
    assert_eq!(f.iter().len(), n);
    assert_eq!(f.is_empty(), n == 0);
    let h = f.header();
    assert_eq!(h.tensor_count, n);
    assert_eq!(h.format, f.format().name());
    assert!(f.alignment().is_power_of_two());
    let _ = f.has_checksums();
    let meta = f.metadata().expect("metadata validated at open parses");
    assert!(meta.is_object(), "metadata is an object: {meta}");
    // Full validation leaves the name hashes (and so the uniqueness they
    // order) to `verify` (FORMAT.md, "Validation levels"): the name
    // invariants are owed only by files that verify.
    let verified = f.verify().is_ok();
    for (p, t) in f.iter().enumerate() {
        tensor(f, &t, p, verified);
    }
    assert!(f.get_at(n).is_none());
    assert!(f.get_at(usize::MAX).is_none());
    let _ = f.get("");
    let _ = f.get("\u{0}");
    let _ = f.verify();
}

fn tensor(f: &TensorFile<'_>, t: &Tensor<'_>, p: usize, verified: bool) {
    assert_eq!(t.position(), p);
    let at = f.get_at(p).expect("position in range");
    assert_eq!((at.name(), at.name_hash()), (t.name(), t.name_hash()));
    if let Some(name) = t.name() {
        let c = t.name_cstr().expect("every name has a NUL after it");
        assert_eq!(c.to_bytes(), name.as_bytes());
        if verified {
            assert_eq!(tenzor::hash_name(name.as_bytes()), t.name_hash());
            let found = f.get(name).expect("a tensor is found by its own name");
            assert_eq!(found.position(), p, "names are unique: {name:?}");
        }
    }
    let by_hash = f.get_by_hash(t.name_hash()).expect("found by its hash");
    assert_eq!(by_hash.name_hash(), t.name_hash());
    assert!(t.shape().len() <= tenzor::format::MAX_DIMS);
    let d = t.data();
    assert_eq!(
        t.dtype().byte_size(t.numel()),
        Some(d.len() as u64),
        "bytes agree with dtype x shape"
    );
    if f.shards().is_empty() {
        let base = f.as_bytes();
        let start = d.as_ptr() as usize - base.as_ptr() as usize;
        assert_eq!(start as u64, t.file_offset());
        assert!(start + d.len() <= base.len(), "view inside the buffer");
    }
    // Read every byte.
    std::hint::black_box(tenzor::format::checksum(d));
    assert!(t.alignment().is_power_of_two());
    typed(t);
    let _ = f.verify_tensor(t);
}

fn typed(t: &Tensor<'_>) {
    fn view<T: Element>(t: &Tensor<'_>) {
        if let Some(s) = t.as_slice::<T>() {
            assert_eq!(std::mem::size_of_val(s), t.data().len());
            assert_eq!(s.len() as u64, t.numel());
        }
    }
    view::<f32>(t);
    view::<f64>(t);
    view::<half::f16>(t);
    view::<half::bf16>(t);
    view::<i8>(t);
    view::<i16>(t);
    view::<i32>(t);
    view::<i64>(t);
    view::<u8>(t);
    view::<u16>(t);
    view::<u32>(t);
    view::<u64>(t);
    if t.numel() <= 1 << 20 {
        let mut out = vec![0f32; t.numel() as usize];
        let _ = t.to_f32(&mut out);
    }
}
