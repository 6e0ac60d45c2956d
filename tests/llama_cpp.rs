//! GGUF written by tenzor, read back by llama.cpp's own GGUF reader
//! (`gguf_init_from_file` in ggml's gguf.cpp), not only by gguf-py.
//!
//! `scripts/llama-gguf-reader.sh` downloads a pinned llama.cpp (vendored in
//! the llama-cpp-python sdist on PyPI), builds its ggml-base library into
//! target/llama-cpp/ (cached) and links `tests/llama/gguf_dump.c` against
//! it. That program opens a file as llama.cpp's model loader does, then
//! loads the whole data section, and prints what llama.cpp saw. If the
//! script fails (no network, no cmake...), these tests fail with its output:
//! they never skip.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{Map, Value};
use tenzor::{convert, ConvertOptions, Format, TensorFile, Writer, WriterOptions};

use common::{fixture, root};

/// Path of gguf_dump, built once per test binary.
fn gguf_dump() -> &'static Path {
    static DUMP: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = DUMP.get_or_init(|| {
        let script = root().join("scripts/llama-gguf-reader.sh");
        let out = Command::new("bash")
            .arg(&script)
            .output()
            .map_err(|e| format!("cannot run bash {}: {e}", script.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stdout.lines().rev().find(|l| !l.trim().is_empty());
        match last {
            Some(p) if out.status.success() && Path::new(p.trim()).is_file() => {
                Ok(PathBuf::from(p.trim()))
            }
            _ => Err(format!(
                "{} failed ({}); llama.cpp's GGUF reader is needed (it comes from PyPI: \
                 network access to pypi.org, python3 with pip, cmake, gcc and g++)\n\
                 --- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
                script.display(),
                out.status
            )),
        }
    });
    match built {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

/// One KV pair as llama.cpp read it. `value` is the scalar (strings
/// escaped), or for arrays `<count>\t<fnv1a-64 of the elements>`.
#[derive(Debug, Clone, PartialEq)]
struct Kv {
    key: String,
    ty: String,
    value: String,
}

/// One tensor info as llama.cpp read it.
#[derive(Debug, Clone, PartialEq)]
struct LlamaTensor {
    name: String,
    ggml_type: u32,
    type_name: String,
    n_dims: usize,
    ne: [u64; 4],
    /// Relative to `data_offset`.
    offset: u64,
    size: u64,
    /// fnv1a-64 of the bytes llama.cpp loaded.
    data_fnv: String,
}

/// What tests/llama/gguf_dump.c printed.
#[derive(Debug, Clone, PartialEq)]
struct Dump {
    version: u32,
    alignment: u64,
    data_offset: u64,
    kv: Vec<Kv>,
    tensors: Vec<LlamaTensor>,
}

fn parse_dump(text: &str) -> Dump {
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("gguf_dump 1"),
        "unexpected output:\n{text}"
    );
    let mut d = Dump {
        version: 0,
        alignment: 0,
        data_offset: 0,
        kv: Vec::new(),
        tensors: Vec::new(),
    };
    let (mut n_kv, mut n_tensors, mut data_read) = (None, None, false);
    let mut hashes = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split('\t').collect();
        let num = |s: &str| -> u64 { s.parse().unwrap_or_else(|_| panic!("bad line {line:?}")) };
        match f[..] {
            ["version", v] => d.version = num(v) as u32,
            ["alignment", v] => d.alignment = num(v),
            ["data_offset", v] => d.data_offset = num(v),
            ["n_kv", v] => n_kv = Some(num(v) as usize),
            ["n_tensors", v] => n_tensors = Some(num(v) as usize),
            ["kv", key, ty, value] => d.kv.push(Kv {
                key: key.into(),
                ty: ty.into(),
                value: value.into(),
            }),
            ["kv", key, ty, n, fnv] if ty.starts_with("arr[") => d.kv.push(Kv {
                key: key.into(),
                ty: ty.into(),
                value: format!("{n}\t{fnv}"),
            }),
            ["tensor", name, ty, type_name, n_dims, ne, offset, size] => {
                let ne: Vec<u64> = ne.split(',').map(num).collect();
                d.tensors.push(LlamaTensor {
                    name: name.into(),
                    ggml_type: num(ty) as u32,
                    type_name: type_name.into(),
                    n_dims: num(n_dims) as usize,
                    ne: ne
                        .try_into()
                        .unwrap_or_else(|_| panic!("bad line {line:?}")),
                    offset: num(offset),
                    size: num(size),
                    data_fnv: String::new(),
                })
            }
            ["tensor_data", name, fnv] => hashes.push((name.to_string(), fnv.to_string())),
            ["data", "read"] => data_read = true,
            _ => panic!("unexpected line {line:?} in:\n{text}"),
        }
    }
    assert_eq!(n_kv, Some(d.kv.len()), "{text}");
    assert_eq!(n_tensors, Some(d.tensors.len()), "{text}");
    assert!(data_read, "the full load did not finish:\n{text}");
    assert_eq!(hashes.len(), d.tensors.len(), "{text}");
    for (t, (name, fnv)) in d.tensors.iter_mut().zip(hashes) {
        assert_eq!(t.name, name, "{text}");
        t.data_fnv = fnv;
    }
    d
}

/// Runs gguf_dump: Ok(dump) when llama.cpp accepts `path`, Err(stderr)
/// when it rejects it.
fn llama_read(path: &Path) -> Result<Dump, String> {
    let out = Command::new(gguf_dump())
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", gguf_dump().display()));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    match out.status.code() {
        Some(0) => Ok(parse_dump(&String::from_utf8_lossy(&out.stdout))),
        Some(1) => Err(stderr),
        _ => panic!(
            "gguf_dump crashed on {} ({}):\n{stderr}",
            path.display(),
            out.status
        ),
    }
}

/// The dump of a file llama.cpp must accept.
fn llama_accepts(path: &Path) -> Dump {
    llama_read(path).unwrap_or_else(|e| panic!("llama.cpp rejected {}:\n{e}", path.display()))
}

/// gguf.cpp's own messages in gguf_dump's stderr (not gguf_dump's, which
/// name the file).
fn gguf_cpp_messages(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| !l.starts_with("gguf_dump:"))
        .collect()
}

/// gguf_dump's escaping of names, keys and strings.
fn escape(s: &str) -> String {
    let mut o = Vec::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'\\' => o.extend_from_slice(b"\\\\"),
            b'\t' => o.extend_from_slice(b"\\t"),
            b'\n' => o.extend_from_slice(b"\\n"),
            b'\r' => o.extend_from_slice(b"\\r"),
            0..=0x1f | 0x7f => o.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
            _ => o.push(b),
        }
    }
    String::from_utf8(o).unwrap()
}

fn fnv1a(h: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(h, |h, &b| (h ^ b as u64).wrapping_mul(0x100000001b3))
}

const FNV_OFFSET: u64 = 0xcbf29ce484222325;

fn fnv_hex(bytes: &[u8]) -> String {
    format!("{:016x}", fnv1a(FNV_OFFSET, bytes))
}

/// GGML's ne (innermost first, padded with 1) of a row-major shape.
fn ne_of(shape: &[u64]) -> [u64; 4] {
    let mut ne = [1u64; 4];
    assert!(shape.len() <= 4, "shape {shape:?}");
    for (i, &d) in shape.iter().rev().enumerate() {
        ne[i] = d;
    }
    ne
}

/// ggml_n_dims: trailing dimensions of 1 do not count; at least 1.
fn ggml_n_dims(ne: &[u64; 4]) -> usize {
    ne.iter().rposition(|&d| d != 1).map_or(1, |i| i + 1)
}

fn conv(input: &Path, output: &Path) {
    convert(input, output, &ConvertOptions::default(), &mut |_, _| {}).unwrap_or_else(|e| {
        panic!(
            "tenzor cannot convert {} to {}: {e}",
            input.display(),
            output.display()
        )
    });
}

/// Checks llama.cpp's view of the GGUF at `path` against tenzor's: the same
/// tensors in the same order, with the same GGML type, ne, size, absolute
/// data offset and bytes.
fn assert_same_as_tenzor(path: &Path, d: &Dump) {
    let f = TensorFile::open(path).unwrap();
    assert_eq!(f.format(), Format::Gguf, "{}", path.display());
    assert_eq!(d.version, 3, "{}", path.display());
    assert_eq!(d.alignment, f.alignment(), "{}", path.display());
    assert_eq!(d.data_offset, f.header().data_offset, "{}", path.display());
    assert_eq!(d.data_offset % d.alignment, 0, "{}", path.display());
    assert_eq!(f.len(), d.tensors.len(), "{}", path.display());
    for (t, l) in f.iter().zip(&d.tensors) {
        let name = t.name().expect("GGUF tensors have names");
        let what = format!("{}: tensor {name}", path.display());
        assert_eq!(l.name, escape(name), "{what}");
        assert_eq!(Some(l.ggml_type), t.dtype().to_ggml(), "{what}");
        assert_eq!(l.type_name, t.dtype().name().to_lowercase(), "{what}");
        let ne = ne_of(t.shape());
        assert_eq!(l.ne, ne, "{what}: ne (tenzor shape {:?})", t.shape());
        assert_eq!(l.n_dims, ggml_n_dims(&ne), "{what}");
        assert_eq!(l.size, t.data().len() as u64, "{what}");
        assert_eq!(d.data_offset + l.offset, t.file_offset(), "{what}");
        assert_eq!(l.offset % d.alignment, 0, "{what}");
        assert_eq!(l.data_fnv, fnv_hex(t.data()), "{what}: data");
    }
}

/// Tensor infos without the layout (offsets differ when KV pairs do).
fn without_offsets(ts: &[LlamaTensor]) -> Vec<LlamaTensor> {
    ts.iter()
        .map(|t| LlamaTensor {
            offset: 0,
            ..t.clone()
        })
        .collect()
}

/// Writes `fixture` as GGUF twice: directly, and through .tenzor. Returns
/// both outputs.
fn both_routes(fixture: &Path, dir: &Path) -> [PathBuf; 2] {
    let stem = fixture.file_stem().unwrap().to_str().unwrap();
    let direct = dir.join(format!("{stem}.direct.gguf"));
    conv(fixture, &direct);
    let mid = dir.join(format!("{stem}.tenzor"));
    let back = dir.join(format!("{stem}.back.gguf"));
    conv(fixture, &mid);
    conv(&mid, &back);
    [direct, back]
}

#[test]
fn aligned64_is_read_by_llama_cpp() {
    let orig = fixture("gguf/aligned64.gguf");
    let want = llama_accepts(&orig);
    assert_eq!(want.alignment, 64);
    let dir = tempfile::tempdir().unwrap();
    for out in both_routes(&orig, dir.path()) {
        let got = llama_accepts(&out);
        assert_same_as_tenzor(&out, &got);
        assert_eq!(got.kv, want.kv, "{}", out.display());
        assert_eq!(got.tensors, want.tensors, "{}", out.display());
        assert_eq!(got.alignment, want.alignment);
    }
}

#[test]
fn merged_split_is_read_by_llama_cpp() {
    let first = fixture("gguf/split-00001-of-00002.gguf");
    let parts = [
        llama_accepts(&first),
        llama_accepts(&fixture("gguf/split-00002-of-00002.gguf")),
    ];
    // The merged file holds the first part's KV pairs but split.*, and
    // every tensor of both parts, in order.
    let want_kv: Vec<Kv> = parts[0]
        .kv
        .iter()
        .filter(|kv| !kv.key.starts_with("split."))
        .cloned()
        .collect();
    assert!(
        want_kv.len() < parts[0].kv.len(),
        "the fixture has split.* keys"
    );
    let want_tensors: Vec<LlamaTensor> = parts
        .iter()
        .flat_map(|p| without_offsets(&p.tensors))
        .collect();
    assert_eq!(want_tensors.len(), 6);

    let dir = tempfile::tempdir().unwrap();
    for out in both_routes(&first, dir.path()) {
        let got = llama_accepts(&out);
        assert_same_as_tenzor(&out, &got);
        assert_eq!(got.kv, want_kv, "{}", out.display());
        assert_eq!(
            without_offsets(&got.tensors),
            want_tensors,
            "{}",
            out.display()
        );
        assert_eq!(got.alignment, parts[0].alignment);
    }
}

#[test]
fn safetensors_sample_is_read_by_llama_cpp() {
    let input = root().join("examples/sample.safetensors");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sample.gguf");
    conv(&input, &out);
    let got = llama_accepts(&out);
    assert_same_as_tenzor(&out, &got);

    // The safetensors tensors, in their order, with their bytes.
    let src = TensorFile::open(&input).unwrap();
    assert_eq!(src.len(), got.tensors.len());
    let mut types = std::collections::BTreeSet::new();
    for (t, l) in src.iter().zip(&got.tensors) {
        let name = t.name().unwrap();
        assert_eq!(l.name, escape(name));
        assert_eq!(Some(l.ggml_type), t.dtype().to_ggml(), "{name}");
        assert_eq!(l.ne, ne_of(t.shape()), "{name}");
        assert_eq!(l.size, t.data().len() as u64, "{name}");
        assert_eq!(l.data_fnv, fnv_hex(t.data()), "{name}");
        types.insert(l.type_name.clone());
    }
    assert_eq!(
        types.into_iter().collect::<Vec<_>>(),
        ["bf16", "f32"],
        "sample.safetensors holds F32 and BF16 tensors"
    );
    // Its __metadata__ {"format": "pt"} as a string KV pair.
    assert_eq!(
        got.kv,
        [Kv {
            key: "format".into(),
            ty: "str".into(),
            value: "pt".into(),
        }]
    );
}

/// gguf-py's type names (reference.json) as gguf.cpp's gguf_type_name.
fn llama_type_name(py: &str) -> String {
    if let Some(inner) = py.strip_prefix("ARRAY[").and_then(|s| s.strip_suffix(']')) {
        return format!("arr[{}]", llama_type_name(inner));
    }
    match py {
        "UINT8" => "u8",
        "INT8" => "i8",
        "UINT16" => "u16",
        "INT16" => "i16",
        "UINT32" => "u32",
        "INT32" => "i32",
        "UINT64" => "u64",
        "INT64" => "i64",
        "FLOAT32" => "f32",
        "FLOAT64" => "f64",
        "BOOL" => "bool",
        "STRING" => "str",
        other => panic!("unknown gguf-py type {other}"),
    }
    .to_string()
}

/// The little-endian bytes gguf.cpp holds for one array element of type
/// `ty` (a gguf_type_name); strings as u64 length + bytes, as gguf_dump
/// hashes them.
fn element_bytes(ty: &str, v: &Value) -> Vec<u8> {
    let int = || {
        v.as_i64()
            .map(i128::from)
            .or(v.as_u64().map(i128::from))
            .unwrap_or_else(|| panic!("{v} is not an integer"))
    };
    match ty {
        "u8" => (int() as u8).to_le_bytes().to_vec(),
        "i8" => (int() as i8).to_le_bytes().to_vec(),
        "u16" => (int() as u16).to_le_bytes().to_vec(),
        "i16" => (int() as i16).to_le_bytes().to_vec(),
        "u32" => (int() as u32).to_le_bytes().to_vec(),
        "i32" => (int() as i32).to_le_bytes().to_vec(),
        "u64" => (int() as u64).to_le_bytes().to_vec(),
        "i64" => (int() as i64).to_le_bytes().to_vec(),
        "f32" => (v.as_f64().unwrap() as f32).to_le_bytes().to_vec(),
        "f64" => v.as_f64().unwrap().to_le_bytes().to_vec(),
        "bool" => vec![v.as_bool().unwrap() as u8],
        "str" => {
            let s = v.as_str().unwrap();
            let mut b = (s.len() as u64).to_le_bytes().to_vec();
            b.extend_from_slice(s.as_bytes());
            b
        }
        other => panic!("no element encoding for {other}"),
    }
}

/// Checks a KV value printed by gguf_dump against gguf-py's reading of it.
fn assert_kv_value(kv: &Kv, want: &Value) {
    let what = format!("KV {} ({})", kv.key, kv.ty);
    if let Some(elem) = kv.ty.strip_prefix("arr[").and_then(|s| s.strip_suffix(']')) {
        let items = want.as_array().unwrap_or_else(|| panic!("{what}: {want}"));
        let mut h = FNV_OFFSET;
        for item in items {
            h = fnv1a(h, &element_bytes(elem, item));
        }
        assert_eq!(kv.value, format!("{}\t{h:016x}", items.len()), "{what}");
        return;
    }
    match kv.ty.as_str() {
        "str" => assert_eq!(kv.value, escape(want.as_str().unwrap()), "{what}"),
        "bool" => assert_eq!(kv.value, want.as_bool().unwrap().to_string(), "{what}"),
        "f32" => assert_eq!(
            kv.value.parse::<f32>().unwrap(),
            want.as_f64().unwrap() as f32,
            "{what}"
        ),
        "f64" => assert_eq!(
            kv.value.parse::<f64>().unwrap(),
            want.as_f64().unwrap(),
            "{what}"
        ),
        _ => assert_eq!(kv.value, want.to_string(), "{what}"),
    }
}

#[test]
fn small_is_read_by_llama_cpp_but_for_nested_arrays() {
    let orig = fixture("gguf/small.gguf");
    let reference = common::read_json(&fixture("gguf/reference.json"));
    let want = &reference["small.gguf"];
    let kv_types = want["kv_types"].as_object().unwrap();
    let nested: Vec<&str> = kv_types
        .iter()
        .filter(|(_, t)| t.as_str().unwrap().starts_with("ARRAY[ARRAY["))
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(
        nested,
        [
            "test.array.nested_int",
            "test.array.nested_string",
            "test.array.nested_nested"
        ]
    );

    // GGUF allows arrays of arrays and gguf-py writes them, but gguf.cpp
    // has never read them: llama.cpp rejects the fixture itself, and
    // tenzor's output, which holds the same KV pairs, with the same words.
    let refusal = llama_read(&orig).expect_err("llama.cpp reads nested arrays now");
    assert!(
        refusal.contains("key 'test.array.nested_int' has invalid GGUF type 9"),
        "{refusal}"
    );
    let dir = tempfile::tempdir().unwrap();
    for out in both_routes(&orig, dir.path()) {
        let got = llama_read(&out).expect_err("llama.cpp reads nested arrays now");
        assert_eq!(
            gguf_cpp_messages(&got),
            gguf_cpp_messages(&refusal),
            "{}",
            out.display()
        );
    }

    // Everything else must pass: the fixture's tensors (F32, F16, BF16,
    // Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, I8, I32; ranks 1 to 4) and its other
    // KV pairs (every scalar type, arrays of each), written by tenzor from
    // a .tenzor whose metadata lacks the three nested arrays.
    let mid = dir.path().join("small.tenzor");
    conv(&orig, &mid);
    let f = TensorFile::open(&mid).unwrap();
    let mut meta: Map<String, Value> = serde_json::from_str(f.metadata_json()).unwrap();
    let types = meta
        .get_mut("__gguf_types__")
        .and_then(Value::as_object_mut)
        .expect("a .tenzor converted from GGUF keeps the KV types");
    for k in &nested {
        assert!(types.remove(*k).is_some(), "{k}");
    }
    for k in &nested {
        assert!(meta.remove(*k).is_some(), "{k}");
    }
    let flat = dir.path().join("small-flat.tenzor");
    let mut w = Writer::create(&flat, WriterOptions::default()).unwrap();
    w.set_metadata(&Value::Object(meta).to_string()).unwrap();
    for t in f.iter() {
        w.add_tensor(t.name().unwrap(), t.dtype(), t.shape(), t.data())
            .unwrap();
    }
    w.finish().unwrap();
    drop(f);
    let out = dir.path().join("small-flat.gguf");
    conv(&flat, &out);

    let got = llama_accepts(&out);
    assert_same_as_tenzor(&out, &got);
    assert_eq!(got.alignment, want["alignment"].as_u64().unwrap());

    // KV pairs: gguf-py's keys, order, types and values, but the nested.
    let want_kv: Vec<(&String, &Value)> = want["kv"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| !nested.contains(&k.as_str()))
        .collect();
    assert_eq!(
        got.kv.iter().map(|kv| kv.key.as_str()).collect::<Vec<_>>(),
        want_kv.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>()
    );
    for (kv, (k, v)) in got.kv.iter().zip(&want_kv) {
        assert_eq!(
            kv.ty,
            llama_type_name(kv_types[k.as_str()].as_str().unwrap()),
            "{k}"
        );
        assert_kv_value(kv, v);
    }

    // Tensors: gguf-py's names, types, ne and sizes, in file order.
    let want_tensors = want["tensors"].as_array().unwrap();
    assert_eq!(got.tensors.len(), want_tensors.len());
    for (l, w) in got.tensors.iter().zip(want_tensors) {
        let name = w["name"].as_str().unwrap();
        assert_eq!(l.name, escape(name));
        assert_eq!(
            l.ggml_type as u64,
            w["ggml_type"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            l.type_name,
            w["ggml_type_name"].as_str().unwrap().to_lowercase(),
            "{name}"
        );
        let shape_ne: Vec<u64> = serde_json::from_value(w["shape_ne"].clone()).unwrap();
        let mut ne = [1u64; 4];
        ne[..shape_ne.len()].copy_from_slice(&shape_ne);
        assert_eq!(l.ne, ne, "{name}");
        assert_eq!(l.size, w["n_bytes"].as_u64().unwrap(), "{name}");
    }
    // ...and gguf-py's bytes (llama.cpp's are tenzor's: see above).
    let f = TensorFile::open(&out).unwrap();
    for (t, w) in f.iter().zip(want_tensors) {
        assert_eq!(
            common::sha256(t.data()),
            w["sha256"].as_str().unwrap(),
            "{}",
            t.display_name()
        );
    }
    let ggml_types: std::collections::BTreeSet<&str> =
        got.tensors.iter().map(|t| t.type_name.as_str()).collect();
    assert_eq!(ggml_types.len(), 10, "{ggml_types:?}");
}
