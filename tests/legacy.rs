//! Legacy version-1 files, laid out as the original Zig implementation
//! wrote them: 48-byte entries, no names, unaligned tensors.

mod common;

use tenzor::{hash_name, ConvertOptions, DType, ErrorKind, Format, TensorFile};

struct V1Tensor<'a> {
    name: &'a str,
    dtype: u8,
    shape: &'a [u32],
    data: &'a [u8],
}

/// Builds a v1 file: header, metadata, index at 64 + metadata rounded to 8,
/// data at a 4096 boundary, tensors packed back to back (unaligned).
fn build_v1(meta: &str, tensors: &[V1Tensor]) -> Vec<u8> {
    let index = (64 + meta.len()).next_multiple_of(8);
    let data = (index + 48 * tensors.len()).next_multiple_of(4096);
    let mut b = vec![0u8; data];
    b[..8].copy_from_slice(b"TENZOR\0\0");
    b[8..12].copy_from_slice(&1u32.to_le_bytes());
    b[16..20].copy_from_slice(&(tensors.len() as u32).to_le_bytes());
    b[24..32].copy_from_slice(&(index as u64).to_le_bytes());
    b[32..40].copy_from_slice(&(data as u64).to_le_bytes());
    b[40..44].copy_from_slice(&(meta.len() as u32).to_le_bytes());
    b[64..64 + meta.len()].copy_from_slice(meta.as_bytes());
    let mut off = 0u64;
    for (i, t) in tensors.iter().enumerate() {
        let e = index + 48 * i;
        b[e..e + 8].copy_from_slice(&hash_name(t.name.as_bytes()).to_le_bytes());
        b[e + 8] = t.dtype;
        b[e + 9] = t.shape.len() as u8;
        for (d, s) in t.shape.iter().enumerate() {
            b[e + 12 + 4 * d..e + 16 + 4 * d].copy_from_slice(&s.to_le_bytes());
        }
        b[e + 32..e + 40].copy_from_slice(&off.to_le_bytes());
        b[e + 40..e + 48].copy_from_slice(&(t.data.len() as u64).to_le_bytes());
        off += t.data.len() as u64;
    }
    for t in tensors {
        b.extend_from_slice(t.data);
    }
    b
}

fn sample() -> Vec<u8> {
    let f32s: Vec<u8> = [1.0f32, -2.0, 3.5, 4.25, 5.0, 6.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    build_v1(
        r#"{"producer": "zig tenzor"}"#,
        &[
            V1Tensor {
                name: "bias",
                dtype: 8,
                shape: &[3],
                data: &[7, 8, 9],
            },
            // Starts at data offset 3: not aligned for f32.
            V1Tensor {
                name: "weight",
                dtype: 0,
                shape: &[2, 3],
                data: &f32s,
            },
            V1Tensor {
                name: "steps",
                dtype: 7,
                shape: &[],
                data: &42i64.to_le_bytes(),
            },
        ],
    )
}

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
