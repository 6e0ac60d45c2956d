//! Legacy version-1 files, laid out as the original Zig implementation
//! wrote them: 48-byte entries, no names, unaligned tensors.

mod common;

use tenzor::{hash_name, ConvertOptions, DType, ErrorKind, Format, TensorFile};

use common::{build_v1, legacy_sample as sample, V1Tensor};

#[test]
fn legacy_files_open_read_only_with_lookup_by_hashed_name() {
    let b = sample();
    let f = TensorFile::from_bytes(&b).unwrap();
    assert_eq!(f.format(), Format::TenzorLegacy);
    assert_eq!(f.len(), 3);
    assert_eq!(f.alignment(), 1);
    assert_eq!(f.metadata().unwrap()["producer"], "zig tenzor");
    let w = f.get("weight").unwrap();
    assert_eq!(w.name(), None, "legacy files store no names");
    assert_eq!(w.display_name(), format!("{:#018x}", hash_name(b"weight")));
    assert_eq!(w.dtype(), DType::F32);
    assert_eq!(w.shape(), &[2, 3]);
    assert_eq!(w.checksum(), None);
    assert!(
        w.data().as_ptr() as usize % 4 != 0,
        "fixture must be unaligned"
    );
    assert!(
        w.as_slice::<f32>().is_none(),
        "no typed pointer to unaligned data"
    );
    let mut v = [0f32; 6];
    w.to_f32(&mut v).unwrap();
    assert_eq!(v, [1.0, -2.0, 3.5, 4.25, 5.0, 6.0]);
    assert_eq!(
        f.get_by_hash(hash_name(b"steps")).unwrap().data(),
        &42i64.to_le_bytes()
    );
    assert_eq!(
        f.get_at(0).unwrap().data(),
        &[7, 8, 9],
        "position is file order"
    );
    assert!(f.get("missing").is_none());
    f.verify().unwrap();
}

#[test]
fn legacy_files_convert_to_v2_and_safetensors_with_hash_names() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = dir.path().join("old.tenzor");
    std::fs::write(&v1, sample()).unwrap();
    let v2 = dir.path().join("new.tenzor");
    tenzor::convert(&v1, &v2, &ConvertOptions::default(), &mut |_, _| {}).unwrap();
    let f = TensorFile::open(&v2).unwrap();
    assert_eq!(f.format(), Format::Tenzor);
    let name = format!("{:#018x}", hash_name(b"weight"));
    let t = f.get(&name).unwrap();
    assert_eq!(
        t.as_slice::<f32>().unwrap(),
        &[1.0, -2.0, 3.5, 4.25, 5.0, 6.0]
    );
    let st = dir.path().join("new.safetensors");
    tenzor::convert(&v1, &st, &ConvertOptions::default(), &mut |_, _| {}).unwrap();
    let summary = common::python_json("st_summary.py", &st);
    assert_eq!(summary["tensors"].as_array().unwrap().len(), 3);
}

#[test]
fn malformed_legacy_files_are_refused() {
    let bad = |shape: &[u32], dtype: u8, data: &[u8]| {
        let b = build_v1(
            "{}",
            &[V1Tensor {
                name: "t",
                dtype,
                shape,
                data,
            }],
        );
        TensorFile::from_bytes(&b).expect_err("must fail")
    };
    let e = bad(&[1, 1, 1, 1, 1, 1], 8, &[1]);
    assert!(
        e.to_string().contains("rank 6 exceeds the legacy maximum"),
        "{e}"
    );
    let e = bad(&[2], 0, &[0; 4]);
    assert!(e.to_string().contains("does not match shape"), "{e}");
    let e = bad(&[1], 12, &[1]);
    assert_eq!(
        e.kind(),
        ErrorKind::Unsupported,
        "v1 knew dtypes 0..=11 only: {e}"
    );
    let mut b = sample();
    b.truncate(b.len() - 1);
    let e = TensorFile::from_bytes(&b).unwrap_err();
    assert!(e.to_string().contains("beyond the end of the file"), "{e}");
    // Two tensors on the same bytes.
    let mut b = sample();
    let index = u64::from_le_bytes(b[24..32].try_into().unwrap()) as usize;
    b[index + 48 + 32..index + 48 + 40].copy_from_slice(&0u64.to_le_bytes());
    b[index + 48 + 8] = 8;
    b[index + 48 + 12..index + 48 + 16].copy_from_slice(&24u32.to_le_bytes());
    b[index + 48 + 16..index + 48 + 20].copy_from_slice(&0u32.to_le_bytes());
    b[index + 48 + 9] = 1;
    let e = TensorFile::from_bytes(&b).unwrap_err();
    assert!(e.to_string().contains("overlaps"), "{e}");
}
