//! One handle for every format: safetensors files and sharded checkpoints
//! open zero-copy through `TensorFile::open`, with the same lookups.

mod common;

use common::*;
use tenzor::{ConvertOptions, ErrorKind, Format, TensorFile};

#[test]
fn safetensors_files_open_zero_copy_with_what_the_python_package_reads() {
    let reference = read_json(&fixture("safetensors/reference.json"));
    for (rel, expected) in reference.as_object().unwrap() {
        let f = TensorFile::open(fixture(rel)).unwrap();
        assert_eq!(f.format(), Format::Safetensors);
        assert_eq!(f.alignment(), 1, "safetensors promises no alignment");
        f.verify().unwrap();
        assert!(!f.has_checksums());
        let base = f.as_bytes().as_ptr() as usize;
        let header_len = expected["header_len"].as_u64().unwrap() as usize;
        let tensors = expected["tensors"].as_array().unwrap();
        assert_eq!(f.len(), tensors.len());
        for (pos, (t, want)) in f.iter().zip(tensors).enumerate() {
            assert_eq!(
                t.name().unwrap(),
                want["name"].as_str().unwrap(),
                "{rel}: file order"
            );
            assert_eq!(t.dtype().name(), want["dtype"].as_str().unwrap());
            assert_eq!(sha256(t.data()), want["sha256"].as_str().unwrap());
            let begin = want["data_offsets"][0].as_u64().unwrap() as usize;
            assert_eq!(
                t.data().as_ptr() as usize - base,
                8 + header_len + begin,
                "a view into the mapping"
            );
            assert_eq!(t.file_offset() as usize, 8 + header_len + begin);
            assert_eq!(
                t.alignment(),
                1 << (t.data().as_ptr() as usize).trailing_zeros().min(16)
            );
            let by_name = f.get(t.name().unwrap()).unwrap();
            assert_eq!(by_name.data().as_ptr(), t.data().as_ptr());
            assert_eq!(by_name.position(), pos);
            assert_eq!(t.name_cstr().unwrap().to_str().unwrap(), t.name().unwrap());
            let h = tenzor::hash_name(t.name().unwrap().as_bytes());
            assert_eq!(f.get_by_hash(h).unwrap().name(), t.name());
        }
        match &expected["__metadata__"] {
            serde_json::Value::Null => assert_eq!(f.metadata().unwrap(), serde_json::json!({})),
            m => assert_eq!(&f.metadata().unwrap(), m),
        }
        // The same bytes borrowed from memory.
        let bytes = std::fs::read(fixture(rel)).unwrap();
        assert_eq!(TensorFile::from_bytes(&bytes).unwrap().len(), tensors.len());
    }
}

#[test]
fn misaligned_tensors_get_no_typed_slice_but_convert_to_f32() {
    let bytes = std::fs::read(root().join("examples/sample.safetensors")).unwrap();
    // The same file one byte off an 8-byte boundary: every F32 is misaligned.
    let mut buf = vec![0u8; bytes.len() + 16];
    let shift = (8 - buf.as_ptr() as usize % 8) % 8 + 1;
    buf[shift..shift + bytes.len()].copy_from_slice(&bytes);
    let shifted = TensorFile::from_bytes(&buf[shift..shift + bytes.len()]).unwrap();
    let aligned = TensorFile::open(root().join("examples/sample.safetensors")).unwrap();
    let mut checked = 0;
    for (a, m) in aligned.iter().zip(shifted.iter()) {
        if a.dtype() != tenzor::DType::F32 {
            continue;
        }
        assert!(
            a.as_slice::<f32>().is_some(),
            "{:?} is aligned in the mapping",
            a.name()
        );
        assert!(
            m.as_slice::<f32>().is_none(),
            "no typed slice over misaligned data"
        );
        assert_eq!(m.alignment(), 1);
        let mut out = vec![0f32; m.numel() as usize];
        m.to_f32(&mut out).unwrap();
        assert_eq!(&out[..], a.as_slice::<f32>().unwrap());
        checked += 1;
    }
    assert!(checked >= 5);
}

#[test]
fn a_sharded_checkpoint_opens_as_one_file() {
    let index = fixture("sharded/model.safetensors.index.json");
    let f = TensorFile::open(&index).unwrap();
    let reference = read_json(&fixture("safetensors/reference.json"));
    let map = read_json(&index);
    let weight_map = map["weight_map"].as_object().unwrap();
    assert_eq!(f.shards().len(), 3);
    assert_eq!(f.format(), Format::Safetensors);
    assert_eq!(f.len(), weight_map.len());
    assert_eq!(f.header().shards, 3);
    // Positions run shard by shard, in each shard's file order.
    let mut pos = 0;
    for shard in 1..=3 {
        let rel = format!("sharded/model-0000{shard}-of-00003.safetensors");
        for want in reference[&rel]["tensors"].as_array().unwrap() {
            let name = want["name"].as_str().unwrap();
            let t = f.get_at(pos).unwrap();
            assert_eq!(t.name(), Some(name));
            assert_eq!(t.position(), pos);
            assert_eq!(sha256(t.data()), want["sha256"].as_str().unwrap());
            assert_eq!(
                weight_map[name].as_str().unwrap(),
                rel.trim_start_matches("sharded/")
            );
            let by_name = f.get(name).unwrap();
            assert_eq!(by_name.data().as_ptr(), t.data().as_ptr());
            assert_eq!(by_name.position(), pos);
            assert_eq!(
                f.get_by_hash(tenzor::hash_name(name.as_bytes()))
                    .unwrap()
                    .name(),
                Some(name)
            );
            pos += 1;
        }
    }
    assert!(f.get_at(pos).is_none());
    assert!(f.get("nope").is_none());
    let meta = f.metadata().unwrap();
    assert_eq!(meta["total_size"], map["metadata"]["total_size"]);
    assert_eq!(meta["format"], "pt");
    f.verify().unwrap();
}

#[test]
fn a_sharded_checkpoint_converts_to_one_tenzor_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model.tenzor");
    let index = fixture("sharded/model.safetensors.index.json");
    let stats = tenzor::convert(&index, &out, &ConvertOptions::default(), &mut |_, _| {}).unwrap();
    assert_eq!(stats.from, Format::Safetensors);
    let set = TensorFile::open(&index).unwrap();
    let one = TensorFile::open(&out).unwrap();
    one.verify().unwrap();
    assert_eq!(one.len(), set.len());
    for (a, b) in set.iter().zip(one.iter()) {
        assert_eq!(
            (a.name(), a.dtype(), a.shape(), a.data()),
            (b.name(), b.dtype(), b.shape(), b.data())
        );
    }
}

/// Writes an index beside copies of the fixture shards and opens it.
fn open_index(weight_map: serde_json::Value) -> tenzor::Error {
    let dir = tempfile::tempdir().unwrap();
    for i in 1..=3 {
        let name = format!("model-0000{i}-of-00003.safetensors");
        std::fs::copy(fixture(&format!("sharded/{name}")), dir.path().join(&name)).unwrap();
    }
    let index = dir.path().join("model.safetensors.index.json");
    std::fs::write(
        &index,
        serde_json::json!({"metadata": {}, "weight_map": weight_map}).to_string(),
    )
    .unwrap();
    TensorFile::open(&index).unwrap_err()
}

#[test]
fn hostile_or_inconsistent_shard_indexes_are_refused() {
    let good = read_json(&fixture("sharded/model.safetensors.index.json"))["weight_map"].clone();
    let with = |name: &str, file: &str| {
        let mut m = good.clone();
        m[name] = serde_json::Value::String(file.into());
        m
    };
    let e = open_index(with("lm_head.weight", "../../etc/passwd"));
    assert!(
        e.to_string().contains("escapes the index's directory"),
        "{e}"
    );
    let e = open_index(with("lm_head.weight", "/etc/passwd"));
    assert!(
        e.to_string().contains("escapes the index's directory"),
        "{e}"
    );
    let e = open_index(with("lm_head.weight", "missing.safetensors"));
    assert_eq!(e.kind(), ErrorKind::Io);
    assert!(e.to_string().contains("missing.safetensors"), "{e}");
    let e = open_index(with("lm_head.weight", "model-00001-of-00003.safetensors"));
    assert!(e.to_string().contains("tensor 'lm_head.weight'"), "{e}");
    let mut m = good.clone();
    m.as_object_mut().unwrap().remove("lm_head.weight");
    let e = open_index(m);
    assert!(e.to_string().contains("does not list"), "{e}");
    let mut m = good.clone();
    m["ghost.weight"] = "model-00001-of-00003.safetensors".into();
    let e = open_index(m);
    assert!(
        e.to_string().contains("tensor 'ghost.weight'") && e.to_string().contains("does not hold"),
        "{e}"
    );
    let e = open_index(serde_json::json!([1, 2]));
    assert!(e.to_string().contains("weight_map"), "{e}");
}

#[test]
fn malformed_safetensors_never_crash() {
    let good = std::fs::read(fixture("safetensors/special.safetensors")).unwrap();
    for len in 0..good.len() {
        let _ = TensorFile::from_bytes(&good[..len]);
    }
    for at in 0..good.len().min(2048) {
        for x in [0x01u8, 0x80, 0xff] {
            let mut m = good.clone();
            m[at] ^= x;
            if let Ok(f) = TensorFile::from_bytes(&m) {
                for t in f.iter() {
                    assert!(t.data().len() as u64 <= m.len() as u64);
                }
            }
        }
    }
    let e = TensorFile::from_bytes(&good[..good.len() - 1]).unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
}

#[test]
fn max_shard_size_writes_a_tenzor_shard_set_that_opens_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model.tenzor");
    let src = root().join("examples/sample.safetensors");
    let opts = ConvertOptions {
        max_shard_size: Some(16 << 10),
        ..Default::default()
    };
    tenzor::convert(&src, &out, &opts, &mut |_, _| {}).unwrap();
    let names = dir_names(dir.path());
    let shards: Vec<_> = names.iter().filter(|n| n.ends_with(".tenzor")).collect();
    assert!(shards.len() >= 3, "{names:?}");
    assert!(names.contains(&"model.tenzor.index.json".to_string()));
    assert!(!out.exists(), "the set is named by its index");
    let n = shards.len();
    for (i, s) in shards.iter().enumerate() {
        assert_eq!(**s, format!("model-{:05}-of-{n:05}.tenzor", i + 1));
        let f = TensorFile::open(dir.path().join(s)).unwrap();
        let data: u64 = f.iter().map(|t| t.data().len() as u64).sum();
        assert!(
            data <= 16 << 10 || f.len() == 1,
            "shard {s} holds {data} bytes"
        );
        assert_eq!(
            f.metadata().unwrap()["format"],
            "pt",
            "each shard keeps the metadata"
        );
    }
    let set = TensorFile::open(dir.path().join("model.tenzor.index.json")).unwrap();
    let orig = TensorFile::open(&src).unwrap();
    assert_eq!(set.shards().len(), n);
    assert_eq!(set.len(), orig.len());
    for (a, b) in orig.iter().zip(set.iter()) {
        assert_eq!(
            (a.name(), a.dtype(), a.shape(), a.data()),
            (b.name(), b.dtype(), b.shape(), b.data())
        );
        assert_eq!(a.position(), b.position());
    }
    set.verify().unwrap();
    let total: u64 = orig.iter().map(|t| t.data().len() as u64).sum();
    assert_eq!(set.metadata().unwrap()["total_size"], total);
}

#[test]
fn a_failed_shard_set_leaves_no_shards_behind() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model.tenzor");
    // Shard 3's path is taken by a directory, so writing it fails.
    let opts = ConvertOptions {
        max_shard_size: Some(16 << 10),
        ..Default::default()
    };
    let probe = tempfile::tempdir().unwrap();
    let src = root().join("examples/sample.safetensors");
    tenzor::convert(
        &src,
        &probe.path().join("model.tenzor"),
        &opts,
        &mut |_, _| {},
    )
    .unwrap();
    let n = dir_names(probe.path()).len() - 1;
    std::fs::create_dir(dir.path().join(format!("model-00003-of-{n:05}.tenzor"))).unwrap();
    let e = tenzor::convert(&src, &out, &opts, &mut |_, _| {}).unwrap_err();
    assert!(e.to_string().contains("directory"), "{e}");
    assert_eq!(
        dir_names(dir.path()),
        vec![format!("model-00003-of-{n:05}.tenzor")]
    );
}

#[test]
fn gguf_files_open_zero_copy_with_what_the_gguf_package_reads() {
    let reference = read_json(&fixture("gguf/reference.json"));
    for (file, expected) in reference.as_object().unwrap() {
        let f = TensorFile::open(fixture(&format!("gguf/{file}"))).unwrap();
        assert_eq!(f.format(), Format::Gguf);
        let base = f.as_bytes().as_ptr() as usize;
        let single = f.shards().is_empty();
        if !single {
            continue; // the split is checked below
        }
        assert_eq!(f.alignment(), expected["alignment"].as_u64().unwrap());
        let tensors = expected["tensors"].as_array().unwrap();
        assert_eq!(f.len(), tensors.len(), "{file}");
        for (t, want) in f.iter().zip(tensors) {
            assert_eq!(t.name().unwrap(), want["name"].as_str().unwrap());
            let mut ne: Vec<u64> = want["shape_ne"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap())
                .collect();
            ne.reverse();
            assert_eq!(t.shape(), &ne[..], "row-major: GGUF's ne reversed");
            assert_eq!(
                t.data().as_ptr() as usize - base,
                want["data_offset"].as_u64().unwrap() as usize
            );
            assert_eq!(t.data().len() as u64, want["n_bytes"].as_u64().unwrap());
            assert_eq!(sha256(t.data()), want["sha256"].as_str().unwrap());
            assert_eq!(
                t.dtype().to_ggml(),
                Some(want["ggml_type"].as_u64().unwrap() as u32)
            );
            assert_eq!(t.alignment() % f.alignment(), 0);
            assert_eq!(
                f.get(t.name().unwrap()).unwrap().data().as_ptr(),
                t.data().as_ptr()
            );
        }
        let meta = f.metadata().unwrap();
        for (k, v) in expected["kv"].as_object().unwrap() {
            if v.is_f64() {
                let got = meta[k].as_f64().unwrap();
                assert!(
                    (got - v.as_f64().unwrap()).abs() <= 1e-6 * v.as_f64().unwrap().abs(),
                    "{k}"
                );
            } else if !v.is_array() || !v.to_string().contains('.') {
                assert_eq!(&meta[k], v, "{file}: {k}");
            }
        }
        // Every key's GGUF type, as the package names it.
        let types = meta["__gguf_types__"].as_object().unwrap();
        let theirs = expected["kv_types"].as_object().unwrap();
        assert_eq!(types.len(), theirs.len());
        for (k, t) in theirs {
            let t = t.as_str().unwrap().to_lowercase();
            let norm = t
                .replace("uint", "u")
                .replace("int", "i")
                .replace("float", "f")
                .replace('[', "<")
                .replace(']', ">");
            assert_eq!(types[k], norm, "{file}: type of {k}");
        }
    }
}

#[test]
fn a_gguf_split_opens_as_one_model() {
    let reference = read_json(&fixture("gguf/reference.json"));
    let f = TensorFile::open(fixture("gguf/split-00001-of-00002.gguf")).unwrap();
    assert_eq!(f.shards().len(), 2);
    let mut want: Vec<&serde_json::Value> = Vec::new();
    for file in ["split-00001-of-00002.gguf", "split-00002-of-00002.gguf"] {
        want.extend(reference[file]["tensors"].as_array().unwrap());
    }
    assert_eq!(f.len(), want.len());
    for (pos, (t, w)) in f.iter().zip(&want).enumerate() {
        assert_eq!(t.name().unwrap(), w["name"].as_str().unwrap());
        assert_eq!(sha256(t.data()), w["sha256"].as_str().unwrap());
        assert_eq!(f.get(t.name().unwrap()).unwrap().position(), pos);
    }
    let meta = f.metadata().unwrap();
    assert!(
        meta.get("split.count").is_none(),
        "split bookkeeping is not model metadata"
    );
    // The second file alone opens as itself.
    let second = TensorFile::open(fixture("gguf/split-00002-of-00002.gguf")).unwrap();
    assert!(second.shards().is_empty());

    // Merged into one GGUF that the gguf package reads.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("merged.gguf");
    tenzor::convert(
        &fixture("gguf/split-00001-of-00002.gguf"),
        &out,
        &ConvertOptions::default(),
        &mut |_, _| {},
    )
    .unwrap();
    let summary = python_json("gguf_summary.py", &out);
    let names: Vec<&str> = summary["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let expect: Vec<&str> = want.iter().map(|w| w["name"].as_str().unwrap()).collect();
    assert_eq!(names, expect);
    assert!(summary["kv"].get("split.count").is_none());

    // A missing second file fails open, naming it.
    let lonely = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("gguf/split-00001-of-00002.gguf"),
        lonely.path().join("split-00001-of-00002.gguf"),
    )
    .unwrap();
    let e = TensorFile::open(lonely.path().join("split-00001-of-00002.gguf")).unwrap_err();
    assert!(e.to_string().contains("split-00002-of-00002.gguf"), "{e}");
}

/// Regression (found by fuzzing the writer round trip): split detection
/// looked at `split.*` metadata keys in any format, so a .tenzor holding
/// those keys opened from memory but not by path, and when named like the
/// first file of a split it made `open` look for sibling files.
#[test]
fn split_keys_in_a_non_gguf_file_are_plain_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let meta = r#"{"split.no": 0, "split.count": 2, "split.tensors.count": 1}"#;
    for name in [
        "plain.tenzor",
        "data-00001-of-00002.tenzor",
        "data-00001-of-00002.gguf",
    ] {
        let path = dir.path().join(name);
        let mut w = tenzor::Writer::create(&path, Default::default()).unwrap();
        w.set_metadata(meta).unwrap();
        w.add_tensor("x", tenzor::DType::I8, &[3], &[1, 2, 3])
            .unwrap();
        w.finish().unwrap();

        let f = TensorFile::open(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(f.format(), Format::Tenzor);
        assert!(f.shards().is_empty(), "{name}: not a split");
        assert_eq!(
            f.metadata().unwrap()["split.count"],
            2,
            "{name}: kept as is"
        );
        assert_eq!(f.get("x").unwrap().data(), &[1, 2, 3]);
        let bytes = std::fs::read(&path).unwrap();
        let m = TensorFile::from_bytes(&bytes).unwrap();
        assert_eq!(m.metadata().unwrap(), f.metadata().unwrap());

        for ext in ["tenzor", "safetensors", "gguf"] {
            let out = dir.path().join(format!("out-{name}.{ext}"));
            tenzor::convert(&path, &out, &ConvertOptions::default(), &mut |_, _| {})
                .unwrap_or_else(|e| panic!("{name} -> {ext}: {e}"));
            let g = TensorFile::open(&out).unwrap_or_else(|e| panic!("{name} -> {ext}: {e}"));
            g.verify().unwrap();
            assert_eq!(g.get("x").unwrap().data(), &[1, 2, 3]);
            // In GGUF the keys mean a split: one file holding everything
            // must not claim to be the first of two (found by the convert
            // fuzz oracle: the output did not reopen).
            let keeps = g.metadata().unwrap().get("split.count").is_some();
            assert_eq!(keeps, ext != "gguf", "{name} -> {ext}");
        }
    }
}

/// Regression (convert fuzz oracle): a model without tensors converted to a
/// shard set gives no shard, so its metadata must live in the index.
#[test]
fn an_empty_model_keeps_its_metadata_as_a_shard_set() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("empty.tenzor");
    let mut w = tenzor::Writer::create(&src, Default::default()).unwrap();
    w.set_metadata(r#"{"arch": "none", "n": 3}"#).unwrap();
    w.finish().unwrap();
    let out = dir.path().join("set.tenzor");
    let opts = ConvertOptions {
        max_shard_size: Some(64),
        ..Default::default()
    };
    tenzor::convert(&src, &out, &opts, &mut |_, _| {}).unwrap();
    assert_eq!(
        dir_names(dir.path()),
        ["empty.tenzor", "set.tenzor.index.json"]
    );
    let set = TensorFile::open(dir.path().join("set.tenzor.index.json")).unwrap();
    assert!(set.is_empty());
    let meta = set.metadata().unwrap();
    assert_eq!(
        (&meta["arch"], &meta["n"], &meta["total_size"]),
        (&"none".into(), &3.into(), &0.into())
    );
}

/// Regression (convert fuzz oracle): a tensor with a zero dimension beside
/// huge ones has no elements, whatever the order of its dimensions. GGUF
/// lists them innermost first, and its reader multiplied them in that
/// order: the .gguf written from such a .tenzor tensor did not reopen
/// ("element count of ne [...] overflows").
#[test]
fn a_zero_dimension_beside_huge_ones_converts_to_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("z.tenzor");
    let shape = [0, 1 << 40, 1 << 40];
    let mut w = tenzor::Writer::create(&src, Default::default()).unwrap();
    w.add_tensor("z", tenzor::DType::F32, &shape, &[]).unwrap();
    w.finish().unwrap();
    for ext in ["gguf", "safetensors", "tenzor"] {
        let out = dir.path().join(format!("out.{ext}"));
        tenzor::convert(&src, &out, &ConvertOptions::default(), &mut |_, _| {}).unwrap();
        let f = TensorFile::open(&out).unwrap_or_else(|e| panic!("{ext}: {e}"));
        f.verify().unwrap();
        let t = f.get("z").unwrap();
        assert_eq!(
            (t.shape(), t.numel(), t.data().len()),
            (&shape[..], 0, 0),
            "{ext}"
        );
    }
}
