//! Conversion of real safetensors files (written by the Python package) to
//! .tenzor and back: every tensor identical, order and metadata kept, and
//! the output byte-identical to the input.

mod common;

use common::*;
use tenzor::{convert, ConvertOptions, DType, TensorFile};

fn convert_quiet(input: &std::path::Path, output: &std::path::Path, align: Option<u64>) {
    convert(
        input,
        output,
        &ConvertOptions {
            alignment: align,
            ..Default::default()
        },
        &mut |_, _| {},
    )
    .unwrap_or_else(|e| panic!("convert {} failed: {e}", input.display()));
}

#[test]
fn every_fixture_converts_with_identical_tensors_order_and_metadata() {
    let reference = read_json(&fixture("safetensors/reference.json"));
    let dir = tempfile::tempdir().unwrap();
    for (rel, expected) in reference.as_object().unwrap() {
        let out = dir.path().join("x.tenzor");
        convert_quiet(&fixture(rel), &out, None);
        let f = TensorFile::open(&out).unwrap();
        f.verify().unwrap();
        let tensors = expected["tensors"].as_array().unwrap();
        assert_eq!(f.len(), tensors.len(), "{rel}");
        for (pos, (t, want)) in f.iter().zip(tensors).enumerate() {
            assert_eq!(
                t.name().unwrap(),
                want["name"].as_str().unwrap(),
                "{rel}: order kept"
            );
            assert_eq!(t.position(), pos);
            assert_eq!(t.dtype().name(), want["dtype"].as_str().unwrap());
            let shape: Vec<u64> = want["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap())
                .collect();
            assert_eq!(t.shape(), &shape[..]);
            assert_eq!(
                sha256(t.data()),
                want["sha256"].as_str().unwrap(),
                "{rel}: {}",
                want["name"]
            );
            assert_eq!(t.file_offset() % 64, 0, "default alignment 64");
            // Every lookup path finds the same view.
            let by_name = f.get(t.name().unwrap()).unwrap();
            assert_eq!(by_name.data().as_ptr(), t.data().as_ptr());
            let by_hash = f
                .get_by_hash(tenzor::hash_name(t.name().unwrap().as_bytes()))
                .unwrap();
            assert_eq!(by_hash.name(), t.name());
            assert_eq!(f.get_at(pos).unwrap().name(), t.name());
            assert_eq!(t.name_cstr().unwrap().to_str().unwrap(), t.name().unwrap());
        }
        let meta = f.metadata().unwrap();
        match &expected["__metadata__"] {
            serde_json::Value::Null => assert_eq!(meta, serde_json::json!({})),
            m => assert_eq!(&meta, m, "{rel}: metadata"),
        }
        assert!(f.get("no such tensor").is_none());
        assert!(f.get_at(f.len()).is_none());
    }
}

#[test]
fn round_trip_back_to_safetensors_is_byte_identical_and_loads_in_python() {
    let reference = read_json(&fixture("safetensors/reference.json"));
    let dir = tempfile::tempdir().unwrap();
    for rel in reference.as_object().unwrap().keys() {
        let mid = dir.path().join("m.tenzor");
        let back = dir.path().join("back.safetensors");
        convert_quiet(&fixture(rel), &mid, Some(4096));
        convert_quiet(&mid, &back, None);
        let a = std::fs::read(fixture(rel)).unwrap();
        let b = std::fs::read(&back).unwrap();
        assert!(a == b, "{rel}: round trip is not byte-identical");
        let ours = python_json("st_summary.py", &back);
        let theirs = python_json("st_summary.py", &fixture(rel));
        assert_eq!(
            ours, theirs,
            "{rel}: the Python package reads the same tensors"
        );
    }
}

#[test]
fn page_alignment_option_gives_page_aligned_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.tenzor");
    convert_quiet(
        &fixture("safetensors/all_dtypes.safetensors"),
        &out,
        Some(4096),
    );
    let f = TensorFile::open(&out).unwrap();
    assert_eq!(f.alignment(), 4096);
    for t in f.iter() {
        assert_eq!(t.file_offset() % 4096, 0, "{:?}", t.name());
        assert_eq!(
            t.data().as_ptr() as usize % 4096,
            0,
            "mapping is page-aligned, so is the pointer"
        );
        assert!(t.alignment() >= 4096);
    }
    // The same file borrowed from memory validates the same way.
    let bytes = std::fs::read(&out).unwrap();
    let m = TensorFile::from_bytes(&bytes).unwrap();
    assert_eq!(m.len(), f.len());
    let t = m.get("dtype.f32").unwrap();
    let base = bytes.as_ptr() as usize;
    assert_eq!(
        t.data().as_ptr() as usize - base,
        t.file_offset() as usize,
        "zero-copy view into the buffer"
    );
}

#[test]
fn typed_access_and_f32_conversion_agree() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.tenzor");
    convert_quiet(&root().join("examples/sample.safetensors"), &out, None);
    let f = TensorFile::open(&out).unwrap();
    let emb = f.get("model.embed_tokens.weight").unwrap();
    assert_eq!(emb.dtype(), DType::F32);
    let typed: &[f32] = emb.as_slice().unwrap();
    let mut conv = vec![0f32; emb.numel() as usize];
    emb.to_f32(&mut conv).unwrap();
    assert_eq!(typed, &conv[..]);
    assert!(emb.as_slice::<f64>().is_none(), "wrong type is refused");

    let head = f.get("lm_head.weight").unwrap();
    assert_eq!(head.dtype(), DType::BF16);
    let bf: &[half::bf16] = head.as_slice().unwrap();
    let mut conv = vec![0f32; head.numel() as usize];
    head.to_f32(&mut conv).unwrap();
    assert!(bf.iter().zip(&conv).all(|(a, b)| a.to_f32() == *b));
    let mut short = vec![0f32; 3];
    let err = head.to_f32(&mut short).unwrap_err();
    assert!(err.to_string().contains("lm_head.weight"), "{err}");
}

#[test]
fn convert_refuses_unknown_output_and_input_formats() {
    let dir = tempfile::tempdir().unwrap();
    let err = convert(
        &root().join("examples/sample.safetensors"),
        &dir.path().join("x.bin"),
        &ConvertOptions::default(),
        &mut |_, _| {},
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("x.bin") && err.to_string().contains("extension"),
        "{err}"
    );
    let junk = dir.path().join("junk");
    std::fs::write(&junk, b"hello world, not a model").unwrap();
    let err = convert(
        &junk,
        &dir.path().join("y.tenzor"),
        &ConvertOptions::default(),
        &mut |_, _| {},
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("junk") && err.to_string().contains("unrecognised"),
        "{err}"
    );
    assert_eq!(
        common::dir_names(dir.path()),
        vec!["junk".to_string()],
        "no output, no temp file"
    );
}

/// Tensors larger than the copy step (a few MiB) are streamed in pieces,
/// with a checksum computed as they pass: every format gets them byte for
/// byte, the .tenzor output verifies, and .tenzor -> .safetensors ->
/// .tenzor gives the same file as .tenzor -> .tenzor.
#[test]
fn tensors_larger_than_the_copy_step_convert_byte_identically() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let big: Vec<u8> = (0..(9 << 20) + 8).map(|i: u32| (i % 251) as u8).collect();
    let src = dir.path().join("big.tenzor");
    let mut w = tenzor::Writer::create(&src, Default::default()).unwrap();
    w.add_tensor("big", DType::F32, &[big.len() as u64 / 4], &big)
        .unwrap();
    w.add_tensor("small", DType::I8, &[3], &[1, 2, 3]).unwrap();
    w.finish().unwrap();
    let st = dir.path().join("out.safetensors");
    let (direct, back) = (
        dir.path().join("direct.tenzor"),
        dir.path().join("back.tenzor"),
    );
    convert_quiet(&src, &direct, None);
    convert_quiet(&src, &st, None);
    convert_quiet(&st, &back, None);
    assert_eq!(
        std::fs::read(&back).unwrap(),
        std::fs::read(&direct).unwrap()
    );
    TensorFile::open(&back).unwrap().verify().unwrap();
    let gguf = dir.path().join("out.gguf");
    convert_quiet(&st, &gguf, None);
    for out in [st, gguf] {
        let f = TensorFile::open(&out).unwrap();
        assert_eq!(f.get("big").unwrap().data(), &big[..], "{}", out.display());
        assert_eq!(f.get("small").unwrap().data(), &[1, 2, 3]);
    }
}
