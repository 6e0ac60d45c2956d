//! GGUF <-> .tenzor conversion, checked against the real `gguf` package
//! (gguf-py) through `tests/py/gguf_summary.py`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tenzor::{
    convert, ConvertOptions, ConvertStats, DType, ErrorKind, FileKind, TensorFile, Writer,
    WriterOptions,
};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const GGUF_FIXTURES: [&str; 4] = [
    "small.gguf",
    "aligned64.gguf",
    "split-00001-of-00002.gguf",
    "split-00002-of-00002.gguf",
];

fn gguf_fixture(name: &str) -> PathBuf {
    Path::new(ROOT).join("tests/fixtures/gguf").join(name)
}

fn reference() -> Value {
    let p = gguf_fixture("reference.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// What gguf-py reads from `path` (see tests/py/gguf_summary.py).
fn summary(path: &Path) -> Value {
    const HINT: &str = "this test reads GGUF output back with the real gguf package: \
                        install Python 3 and run `pip install gguf numpy` (CI installs them)";
    let out = Command::new("python3")
        .arg(Path::new(ROOT).join("tests/py/gguf_summary.py"))
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}); {HINT}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named"),
        "python3 lacks a package: {stderr}\n{HINT}"
    );
    assert!(
        out.status.success(),
        "gguf-py rejected {}: {stderr}\n({HINT})",
        path.display()
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn conv(input: &Path, output: &Path) -> tenzor::Result<ConvertStats> {
    convert(input, output, &ConvertOptions::default(), &mut |_, _| {})
}

fn sha(b: &[u8]) -> String {
    format!("{:x}", Sha256::digest(b))
}

#[test]
fn gguf_to_tenzor_to_gguf_is_lossless() {
    let reference = reference();
    let dir = tempfile::tempdir().unwrap();
    // The first file of a split opens the whole split (merged: see
    // tests/formats.rs); every other fixture is one file.
    for name in GGUF_FIXTURES
        .iter()
        .filter(|n| !n.starts_with("split-00001"))
    {
        let orig = gguf_fixture(name);
        let mid = dir.path().join(format!("{name}.tenzor"));
        let back = dir.path().join(format!("{name}.back.gguf"));

        let stats = conv(&orig, &mid).unwrap();
        assert_eq!(
            (stats.from, stats.to),
            (tenzor::Format::Gguf, FileKind::Tenzor)
        );

        // The .tenzor holds every tensor with its GGML dtype, row-major shape
        // and bytes, and the KV pairs with their types.
        let want = &reference[name];
        let f = TensorFile::open(&mid).unwrap();
        let tensors = want["tensors"].as_array().unwrap();
        assert_eq!(f.len(), tensors.len(), "{name}");
        for (t, w) in f.iter().zip(tensors) {
            assert_eq!(t.display_name(), w["name"].as_str().unwrap());
            assert_eq!(t.dtype().name(), w["ggml_type_name"].as_str().unwrap());
            assert_eq!(
                t.dtype().to_ggml(),
                Some(w["ggml_type"].as_u64().unwrap() as u32)
            );
            let mut ne: Vec<u64> = serde_json::from_value(w["shape_ne"].clone()).unwrap();
            ne.reverse();
            assert_eq!(t.shape(), &ne[..], "{}", t.display_name());
            assert_eq!(sha(t.data()), w["sha256"].as_str().unwrap());
        }
        let meta = f.metadata().unwrap();
        for (k, v) in want["kv"].as_object().unwrap() {
            assert_eq!(&meta[k], v, "{name}: {k}");
        }
        assert!(meta["__gguf_types__"].is_object());
        drop(f);

        let stats = conv(&mid, &back).unwrap();
        assert_eq!(
            (stats.from, stats.to),
            (tenzor::Format::Tenzor, FileKind::Gguf)
        );
        assert_eq!(stats.tensors, tensors.len());

        // gguf-py reads the same tensors, KV values and KV types...
        assert_eq!(summary(&back), summary(&orig), "{name}");
        // ...and since tenzor lays the file out as gguf-py does, the bytes
        // are the original's.
        let (a, b) = (std::fs::read(&orig).unwrap(), std::fs::read(&back).unwrap());
        assert!(a == b, "{name}: round trip is not byte-identical");
    }
}

#[test]
fn gguf_converts_directly_to_gguf_and_refuses_safetensors_for_quantized() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("copy.gguf");
    conv(&gguf_fixture("aligned64.gguf"), &out).unwrap();
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(gguf_fixture("aligned64.gguf")).unwrap()
    );
    // Q8_0 has no safetensors dtype.
    let st = dir.path().join("x.safetensors");
    let e = conv(&gguf_fixture("small.gguf"), &st).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.message().contains("Q8_0"), "{e}");
    assert!(!st.exists());
}

#[test]
fn safetensors_model_becomes_a_gguf_that_gguf_py_reads() {
    let dir = tempfile::tempdir().unwrap();
    let st = Path::new(ROOT).join("tests/fixtures/safetensors/model.safetensors");
    let mid = dir.path().join("model.tenzor");
    let out = dir.path().join("model.gguf");
    conv(&st, &mid).unwrap();
    conv(&mid, &out).unwrap();
    let s = summary(&out);
    assert_eq!(s["version"], 3);
    assert_eq!(s["kv"], json!({"format": "pt"}));
    assert_eq!(s["kv_types"], json!({"format": "STRING"}));
    let f = TensorFile::open(&mid).unwrap();
    let tensors = s["tensors"].as_array().unwrap();
    assert_eq!(tensors.len(), f.len());
    for (t, g) in f.iter().zip(tensors) {
        assert_eq!(g["name"], t.display_name());
        assert_eq!(g["ggml_type"], t.dtype().to_ggml().unwrap());
        let mut shape = t.shape().to_vec();
        shape.reverse();
        assert_eq!(g["shape_ne"], json!(shape));
        assert_eq!(g["sha256"], sha(t.data()));
    }
}

/// Writes a .tenzor with the given metadata and tensors.
fn tenzor_file(path: &Path, metadata: &Value, tensors: &[(&str, DType, &[u64], Vec<u8>)]) {
    let mut w = Writer::create(path, WriterOptions::default()).unwrap();
    w.set_metadata(&metadata.to_string()).unwrap();
    for (name, dtype, shape, data) in tensors {
        w.add_tensor(name, *dtype, shape, data).unwrap();
    }
    w.finish().unwrap();
}

fn f32_tensor(name: &str) -> (&str, DType, &'static [u64], Vec<u8>) {
    (name, DType::F32, &[2, 3], (0..24).collect())
}

/// Converts and expects an Unsupported error containing every needle,
/// with no output and no temporary file left behind.
fn assert_refused(input: &Path, output: &Path, needles: &[&str]) {
    let e = conv(input, output).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    for n in needles {
        assert!(e.message().contains(n), "'{e}' lacks '{n}'");
    }
    assert!(!output.exists(), "no output after a refusal");
    let leftovers: Vec<_> = std::fs::read_dir(output.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn tensors_gguf_cannot_hold_are_refused_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.tenzor");
    let out = dir.path().join("out.gguf");

    let five: &[u64] = &[1, 1, 1, 2, 3];
    tenzor_file(
        &input,
        &json!({}),
        &[f32_tensor("ok"), ("r5", DType::F32, five, vec![0; 24])],
    );
    assert_refused(
        &input,
        &out,
        &["tensor 'r5'", "rank 5 exceeds GGUF's maximum of 4"],
    );

    tenzor_file(
        &input,
        &json!({}),
        &[
            f32_tensor("ok"),
            ("mask", DType::BOOL, &[4], vec![1, 0, 1, 0]),
        ],
    );
    assert_refused(
        &input,
        &out,
        &["tensor 'mask'", "dtype BOOL has no GGML type"],
    );

    for dtype in [DType::U8, DType::U32, DType::C64, DType::F8_E4M3] {
        let bytes = dtype.byte_size(4).unwrap() as usize;
        tenzor_file(&input, &json!({}), &[("t", dtype, &[4], vec![0; bytes])]);
        assert_refused(&input, &out, &[&format!("dtype {dtype} has no GGML type")]);
    }

    let long = "x".repeat(64);
    tenzor_file(&input, &json!({}), &[(&long, DType::F32, &[1], vec![0; 4])]);
    assert_refused(&input, &out, &["1 to 63 bytes", "this one has 64 bytes"]);

    // GGML quantizes rows: a Q4_0 tensor of shape [4, 16] has 64 elements
    // (2 blocks) but rows of 16.
    tenzor_file(
        &input,
        &json!({}),
        &[("q", DType::Q4_0, &[4, 16], vec![0; 36])],
    );
    assert_refused(&input, &out, &["tensor 'q'", "innermost dimension 16"]);

    // A refused conversion leaves an existing destination as it was.
    std::fs::write(&out, b"old").unwrap();
    tenzor_file(&input, &json!({}), &[("mask", DType::BOOL, &[1], vec![1])]);
    assert!(conv(&input, &out).is_err());
    assert_eq!(std::fs::read(&out).unwrap(), b"old");
}

#[test]
fn metadata_types_are_inferred_as_llama_cpp_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.tenzor");
    let out = dir.path().join("out.gguf");
    let meta = json!({
        "general.architecture": "llama",
        "llama.block_count": 2,
        "neg": -3,
        "big": 5_000_000_000u64,
        "very_neg": -5_000_000_000i64,
        "eps": 1.5,
        "flag": true,
        "tokens": ["a", "b"],
        "types": [1, -2, 3],
        "wide": [1, 5_000_000_000u64],
        "scores": [0.25, 0.5],
        "nested": [["x"], ["y", "z"]],
        "empty": [],
        "general.alignment": 64,
    });
    tenzor_file(&input, &meta, &[f32_tensor("a"), f32_tensor("b")]);
    conv(&input, &out).unwrap();
    let s = summary(&out);
    assert_eq!(s["alignment"], 64);
    assert_eq!(
        s["kv_types"],
        json!({
            "general.architecture": "STRING",
            "llama.block_count": "UINT32",
            "neg": "INT32",
            "big": "UINT64",
            "very_neg": "INT64",
            "eps": "FLOAT32",
            "flag": "BOOL",
            "tokens": "ARRAY[STRING]",
            "types": "ARRAY[INT32]",
            "wide": "ARRAY[INT64]",
            "scores": "ARRAY[FLOAT32]",
            "nested": "ARRAY[ARRAY[STRING]]",
            "empty": "ARRAY[INT32]",
            "general.alignment": "UINT32",
        })
    );
    assert_eq!(s["kv"], meta, "values survive (1.5 is exact in f32)");
    // With alignment 64 the second tensor (24 bytes) starts 64 bytes on.
    let back = dir.path().join("back.tenzor");
    conv(&out, &back).unwrap();
    let data: Vec<Vec<u8>> = TensorFile::open(&back)
        .unwrap()
        .iter()
        .map(|t| t.data().to_vec())
        .collect();
    assert_eq!(data, vec![(0..24).collect::<Vec<u8>>(); 2]);
}

#[test]
fn metadata_that_gguf_cannot_hold_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.tenzor");
    let out = dir.path().join("out.gguf");
    let cases = [
        (json!({"o": {"x": 1}}), "metadata key 'o': nested objects"),
        (
            json!({"n": null}),
            "metadata key 'n': null has no GGUF type",
        ),
        (json!({"m": [1, "x"]}), "metadata key 'm': array mixes"),
        (
            json!({"a": 300, "__gguf_types__": {"a": "u8"}}),
            "metadata key 'a': value 300 does not fit u8",
        ),
        (
            json!({"a": -1, "__gguf_types__": {"a": "u32"}}),
            "value -1 does not fit u32",
        ),
        (
            json!({"a": 128, "__gguf_types__": {"a": "i8"}}),
            "value 128 does not fit i8",
        ),
        (
            json!({"a": 1e39, "__gguf_types__": {"a": "f32"}}),
            "does not fit f32",
        ),
        (
            json!({"a": 1, "__gguf_types__": {"a": "float"}}),
            "unknown GGUF type 'float'",
        ),
        (
            json!({"general.alignment": 48}),
            "'general.alignment': must be a u32 power of two",
        ),
        (
            json!({"general.alignment": 64, "__gguf_types__": {"general.alignment": "u64"}}),
            "'general.alignment': must be a u32",
        ),
        (
            json!({"__gguf_types__": 5}),
            "'__gguf_types__': is not a JSON object",
        ),
    ];
    for (meta, needle) in cases {
        tenzor_file(&input, &meta, &[f32_tensor("a")]);
        assert_refused(&input, &out, &[needle]);
    }
}

#[test]
fn exact_types_survive_tenzor_and_safetensors_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.tenzor");
    let meta = json!({
        "u8": 7, "i16": -7, "u64": u64::MAX, "f64": 0.1, "f32": 0.5, "nan": "NaN", "ninf": "-inf",
        "text": "NaN", "b": false,
        "mixed": [[1, 2], ["x"]], "deep": [[[]]], "none": [],
        "__gguf_types__": {
            "u8": "u8", "i16": "i16", "u64": "u64", "f64": "f64", "f32": "f32", "nan": "f32",
            "ninf": "f64", "text": "string", "b": "bool",
            "mixed": ["array<i16>", "array<string>"], "deep": "array<array<array<u8>>>",
            "none": "array<array>"
        }
    });
    tenzor_file(&input, &meta, &[f32_tensor("w")]);
    let g1 = dir.path().join("1.gguf");
    conv(&input, &g1).unwrap();

    // gguf -> tenzor -> gguf and gguf -> safetensors -> gguf both give the
    // same bytes (safetensors keeps metadata as strings; the writer parses
    // them back using the types).
    for via in ["mid.tenzor", "mid.safetensors"] {
        let mid = dir.path().join(via);
        let g2 = dir.path().join(format!("{via}.gguf"));
        conv(&g1, &mid).unwrap();
        conv(&mid, &g2).unwrap();
        assert!(
            std::fs::read(&g1).unwrap() == std::fs::read(&g2).unwrap(),
            "via {via}"
        );
    }
    // The types as the GGUF says them, and the values as tenzor reads them.
    let back = dir.path().join("mid.tenzor");
    let m = TensorFile::open(&back).unwrap().metadata().unwrap();
    assert_eq!(m["__gguf_types__"], meta["__gguf_types__"]);
    for k in [
        "u8", "i16", "u64", "f64", "f32", "nan", "ninf", "text", "b", "mixed", "deep",
    ] {
        assert_eq!(m[k], meta[k], "{k}");
    }
    // gguf-py reads it (NaN is not JSON, so only check the types there).
    let g = summary_types(&g1);
    assert_eq!(g["nan"], "FLOAT32");
    assert_eq!(g["f64"], "FLOAT64");
    assert_eq!(
        g["mixed"], "ARRAY[ARRAY[INT16]]",
        "gguf-py names the first element's type"
    );
}

/// `kv_types` of gguf-py's reading; tolerant of NaN in the values.
fn summary_types(path: &Path) -> Value {
    let out = Command::new("python3")
        .arg(Path::new(ROOT).join("tests/py/gguf_summary.py"))
        .arg(path)
        .output()
        .expect("python3 with `pip install gguf numpy` is needed");
    assert!(
        out.status.success(),
        "gguf-py rejected {}: {} (needs `pip install gguf numpy`)",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let text = text.replace("-Infinity", "null").replace("NaN", "null");
    let v: Value = serde_json::from_str(&text).unwrap();
    v["kv_types"].clone()
}
