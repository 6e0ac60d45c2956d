//! The typed metadata API (`TensorFile::meta`) for every format: GGUF KV
//! pairs checked against what the `gguf` Python package read
//! (tests/fixtures/gguf/reference.json), .tenzor JSON metadata, safetensors
//! `__metadata__`, shard sets; and that GGUF JSON is built only on request.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tenzor::{MetaType, MetaValue, TensorFile, Writer, WriterOptions};

fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(p)
}

/// The value as JSON, the way gguf_summary.py writes it.
fn as_json(v: MetaValue<'_>) -> Value {
    match v {
        MetaValue::Int { value, .. } => {
            serde_json::from_str(&value.to_string()).expect("an integer")
        }
        MetaValue::Float { value, .. } => Value::from(value),
        MetaValue::Bool(b) => Value::Bool(b),
        MetaValue::Str(s) => Value::from(s),
        MetaValue::Null => Value::Null,
        MetaValue::Json(t) => serde_json::from_str(t).unwrap(),
        MetaValue::Array(a) => {
            let items: Vec<Value> = match a.item_type() {
                MetaType::String => a.strs().map(Value::from).collect(),
                // Arrays of arrays are readable as JSON only.
                MetaType::Array => return Value::Null,
                t => {
                    let size = t.element_size().expect("numeric items");
                    a.raw()
                        .unwrap()
                        .chunks(size)
                        .map(|c| decode(t, c))
                        .collect()
                }
            };
            Value::Array(items)
        }
    }
}

fn decode(t: MetaType, c: &[u8]) -> Value {
    let mut b = [0u8; 8];
    b[..c.len()].copy_from_slice(c);
    let u = u64::from_le_bytes(b);
    match t {
        MetaType::I8 => (c[0] as i8).into(),
        MetaType::I16 => (u as u16 as i16).into(),
        MetaType::I32 => (u as u32 as i32).into(),
        MetaType::I64 => (u as i64).into(),
        MetaType::F32 => (f32::from_bits(u as u32) as f64).into(),
        MetaType::F64 => f64::from_bits(u).into(),
        MetaType::Bool => (u != 0).into(),
        _ => u.into(),
    }
}

fn type_name(v: MetaValue<'_>) -> String {
    let scalar = |t: MetaType| {
        match t {
            MetaType::U8 => "UINT8",
            MetaType::I8 => "INT8",
            MetaType::U16 => "UINT16",
            MetaType::I16 => "INT16",
            MetaType::U32 => "UINT32",
            MetaType::I32 => "INT32",
            MetaType::U64 => "UINT64",
            MetaType::I64 => "INT64",
            MetaType::F32 => "FLOAT32",
            MetaType::F64 => "FLOAT64",
            MetaType::Bool => "BOOL",
            MetaType::String => "STRING",
            MetaType::Array => "ARRAY",
            other => panic!("{other:?} is not a GGUF type"),
        }
        .to_string()
    };
    match v {
        MetaValue::Array(a) => format!("ARRAY[{}]", scalar(a.item_type())),
        v => scalar(v.ty()),
    }
}

#[test]
fn gguf_kv_pairs_match_the_gguf_package() {
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("gguf/reference.json")).unwrap())
            .unwrap();
    for (file, want) in reference.as_object().unwrap() {
        // A split's first file opens as the set; its typed metadata is the
        // first shard's, so every file is compared as itself.
        let f = TensorFile::from_bytes(Box::leak(
            std::fs::read(fixture(&format!("gguf/{file}")))
                .unwrap()
                .into_boxed_slice(),
        ))
        .unwrap();
        let m = f.meta().unwrap();
        let want_kv = want["kv"].as_object().unwrap();
        assert_eq!(m.len(), want_kv.len(), "{file}");
        for (i, (k, v)) in want_kv.iter().enumerate() {
            assert_eq!(m.key(i), Some(k.as_str()), "{file}: key order");
            assert_eq!(m.find(k), Some(i), "{file}: {k}");
            let got = m.get(i).unwrap();
            match got {
                MetaValue::Array(a) if a.item_type() == MetaType::Array => {
                    assert_eq!(&f.metadata().unwrap()[k], v, "{file}: {k}");
                }
                _ => assert_eq!(&as_json(got), v, "{file}: {k}"),
            }
            let ty = want["kv_types"][k].as_str().unwrap();
            assert!(ty.starts_with(&type_name(got).replace("ARRAY[ARRAY]", "ARRAY[ARRAY")));
            assert_eq!(
                type_name(got) == ty,
                !ty.starts_with("ARRAY[ARRAY"),
                "{file}: {k}"
            );
        }
        assert_eq!(m.find("no.such.key"), None);
        assert_eq!(m.get(m.len()), None);
    }
}

#[test]
fn gguf_string_arrays_by_index_and_in_order() {
    let f = TensorFile::open(fixture("gguf/small.gguf")).unwrap();
    let m = f.meta().unwrap();
    let Some(MetaValue::Array(a)) = m.value("tokenizer.ggml.tokens") else {
        panic!("tokens are an array")
    };
    assert_eq!(a.item_type(), MetaType::String);
    assert_eq!(a.raw(), None, "strings have no fixed-size data");
    let all: Vec<&str> = a.strs().collect();
    assert_eq!(all.len(), a.len());
    for i in (0..a.len()).rev() {
        assert_eq!(a.str(i), Some(all[i]));
    }
    assert_eq!(a.str(a.len()), None);
    // Zero-copy: the strings lie inside the mapping.
    let b = f.as_bytes().as_ptr_range();
    assert!(b.contains(&all[0].as_ptr()));
    let Some(MetaValue::Array(scores)) = m.value("tokenizer.ggml.scores") else {
        panic!("scores are an array")
    };
    assert_eq!(scores.raw().unwrap().len(), 4 * scores.len());
    assert!(b.contains(&scores.raw().unwrap().as_ptr()));
    assert_eq!(scores.str(0), None);
}

#[test]
fn gguf_split_sets_give_the_first_shards_pairs() {
    let f = TensorFile::open(fixture("gguf/split-00001-of-00002.gguf")).unwrap();
    assert_eq!(f.shards().len(), 2);
    let m = f.meta().unwrap();
    assert_eq!(
        m.value("split.no"),
        Some(MetaValue::Int {
            ty: MetaType::U16,
            value: 0
        })
    );
    assert_eq!(
        m.value("general.architecture"),
        Some(MetaValue::Str("llama"))
    );
}

#[test]
fn tenzor_json_metadata_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.tenzor");
    let mut w = Writer::create(&path, WriterOptions::default()).unwrap();
    w.set_metadata(
        r#"{"arch": "llama", "layers": 32, "big": 18446744073709551615, "neg": -3,
            "eps": 1e-5, "on": true, "none": null, "esc": "a\"b\u00e9",
            "nested": {"a": [1, 2]}, "list": [1, "x"], "layers": 33}"#,
    )
    .unwrap();
    w.add_tensor("t", tenzor::DType::U8, &[1], &[7]).unwrap();
    w.finish().unwrap();
    let f = TensorFile::open(&path).unwrap();
    let m = f.meta().unwrap();
    assert_eq!(m.len(), 11);
    assert_eq!(m.value("arch"), Some(MetaValue::Str("llama")));
    // A repeated key: the last one, as JSON parsers keep.
    assert_eq!(m.find("layers"), Some(10));
    assert_eq!(
        m.value("layers"),
        Some(MetaValue::Int {
            ty: MetaType::I64,
            value: 33
        })
    );
    assert_eq!(
        m.value("big"),
        Some(MetaValue::Int {
            ty: MetaType::U64,
            value: u64::MAX as i128
        })
    );
    assert_eq!(
        m.value("neg"),
        Some(MetaValue::Int {
            ty: MetaType::I64,
            value: -3
        })
    );
    assert_eq!(
        m.value("eps"),
        Some(MetaValue::Float {
            ty: MetaType::F64,
            value: 1e-5
        })
    );
    assert_eq!(m.value("on"), Some(MetaValue::Bool(true)));
    assert_eq!(m.value("none"), Some(MetaValue::Null));
    assert_eq!(m.value("esc"), Some(MetaValue::Str("a\"bé")));
    assert_eq!(m.value("nested"), Some(MetaValue::Json(r#"{"a": [1, 2]}"#)));
    assert_eq!(m.value("list"), Some(MetaValue::Json(r#"[1, "x"]"#)));
    // Unescaped strings are slices of the mapping.
    let Some(MetaValue::Str(s)) = m.value("arch") else {
        unreachable!()
    };
    assert!(f.as_bytes().as_ptr_range().contains(&s.as_ptr()));
}

#[test]
fn safetensors_metadata_and_shard_index_by_key() {
    let f = TensorFile::open(fixture("safetensors/model.safetensors")).unwrap();
    let want = f.metadata().unwrap();
    let m = f.meta().unwrap();
    assert_eq!(m.len(), want.as_object().unwrap().len());
    for (k, v) in want.as_object().unwrap() {
        assert_eq!(m.value(k), Some(MetaValue::Str(v.as_str().unwrap())), "{k}");
        let MetaValue::Str(s) = m.value(k).unwrap() else {
            unreachable!()
        };
        if !v.as_str().unwrap().contains(['"', '\\']) {
            assert!(f.as_bytes().as_ptr_range().contains(&s.as_ptr()));
        }
    }
    let set = TensorFile::open(fixture("sharded/model.safetensors.index.json")).unwrap();
    let m = set.meta().unwrap();
    let want = set.metadata().unwrap();
    assert_eq!(m.len(), want.as_object().unwrap().len());
    for (k, v) in want.as_object().unwrap() {
        assert_eq!(&as_json(m.value(k).unwrap()), v, "{k}");
    }
}

#[test]
fn gguf_metadata_json_is_built_once_on_request() {
    let f = TensorFile::open(fixture("gguf/small.gguf")).unwrap();
    let a = f.metadata_json();
    let b = f.metadata_json();
    assert!(std::ptr::eq(a, b), "the JSON is cached");
    let v: Value = serde_json::from_str(a).unwrap();
    assert_eq!(v["general.architecture"], "llama");
    assert_eq!(
        v["__gguf_types__"]["tokenizer.ggml.tokens"],
        "array<string>"
    );
}
