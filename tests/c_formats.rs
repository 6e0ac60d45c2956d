//! Every format through the C ABI: c_tests/dump_any.c opens safetensors,
//! GGUF, a sharded checkpoint and a GGUF split with `tenzor_open` and lists
//! each tensor; its output must match what the Python packages read
//! (tests/fixtures/*/reference.json), and run clean under valgrind.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn build(dir: &Path) -> PathBuf {
    build_c_program(dir, "dump_any")
}

fn fnv1a(b: &[u8]) -> String {
    format!("{:016x}", tenzor::hash_name(b))
}

/// One tensor as the C program printed it.
#[derive(Debug, PartialEq)]
struct Row {
    name: String,
    dtype: String,
    shape: Vec<u64>,
    size: usize,
    offset: usize,
    fnv: String,
}

/// Runs the C program on one file: (format, shards, rows).
fn dump(exe: &Path, file: &Path) -> (u32, usize, Vec<Row>) {
    let out = run_ok(Command::new(exe).arg(file), "dump_any");
    parse_dump(&out)
}

fn parse_dump(out: &std::process::Output) -> (u32, usize, Vec<Row>) {
    let text = stdout(out);
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split('\t').collect();
    assert_eq!(head[0], "F");
    let rows: Vec<Row> = lines
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            assert_eq!(c[0], "T", "{l}");
            Row {
                name: c[2].to_string(),
                dtype: c[3].to_string(),
                shape: c[5]
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| s.parse().unwrap())
                    .collect(),
                size: c[6].parse().unwrap(),
                offset: c[7].parse().unwrap(),
                fnv: c[8].to_string(),
            }
        })
        .collect();
    assert_eq!(rows.len(), head[4].parse::<usize>().unwrap());
    (head[2].parse().unwrap(), head[3].parse().unwrap(), rows)
}

#[test]
fn safetensors_files_and_a_sharded_checkpoint_read_through_the_c_abi() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path());
    let reference = read_json(&fixture("safetensors/reference.json"));
    let mut by_name: HashMap<String, (String, Vec<u8>)> = HashMap::new();
    for (rel, want) in reference.as_object().unwrap() {
        let bytes = std::fs::read(fixture(rel)).unwrap();
        let (format, shards, rows) = dump(&exe, &fixture(rel));
        assert_eq!(
            (format, shards),
            (3, 1),
            "{rel}: TENZOR_FORMAT_SAFETENSORS, one file"
        );
        let tensors = want["tensors"].as_array().unwrap();
        assert_eq!(rows.len(), tensors.len());
        let start = 8 + want["header_len"].as_u64().unwrap() as usize;
        for (r, w) in rows.iter().zip(tensors) {
            assert_eq!(r.name, w["name"].as_str().unwrap(), "{rel}: file order");
            assert_eq!(r.dtype, w["dtype"].as_str().unwrap());
            let shape: Vec<u64> = serde_json::from_value(w["shape"].clone()).unwrap();
            assert_eq!(r.shape, shape);
            let (b, e) = (
                w["data_offsets"][0].as_u64().unwrap() as usize,
                w["data_offsets"][1].as_u64().unwrap() as usize,
            );
            assert_eq!(
                (r.offset, r.size),
                (start + b, e - b),
                "{}: where the package found it",
                r.name
            );
            let data = &bytes[start + b..start + e];
            assert_eq!(sha256(data), w["sha256"].as_str().unwrap());
            assert_eq!(
                r.fnv,
                fnv1a(data),
                "{}: the C pointer sees the package's bytes",
                r.name
            );
            by_name.insert(
                r.name.clone(),
                (w["sha256"].as_str().unwrap().to_string(), data.to_vec()),
            );
        }
    }
    // The index opens as one file of three shards with every tensor.
    let (format, shards, rows) = dump(&exe, &fixture("sharded/model.safetensors.index.json"));
    assert_eq!((format, shards), (3, 3));
    let weight_map =
        read_json(&fixture("sharded/model.safetensors.index.json"))["weight_map"].clone();
    assert_eq!(rows.len(), weight_map.as_object().unwrap().len());
    for r in &rows {
        let (_, data) = &by_name[&r.name];
        assert_eq!(r.fnv, fnv1a(data), "{}", r.name);
    }
}

#[test]
fn gguf_files_and_a_split_read_through_the_c_abi() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path());
    let reference = read_json(&fixture("gguf/reference.json"));
    let mut split_rows = Vec::new();
    for (file, want) in reference.as_object().unwrap() {
        let bytes = std::fs::read(fixture(&format!("gguf/{file}"))).unwrap();
        let tensors = want["tensors"].as_array().unwrap();
        for w in tensors {
            let off = w["data_offset"].as_u64().unwrap() as usize;
            let data = &bytes[off..off + w["n_bytes"].as_u64().unwrap() as usize];
            assert_eq!(sha256(data), w["sha256"].as_str().unwrap());
            if file.starts_with("split-") {
                split_rows.push((w["name"].as_str().unwrap().to_string(), fnv1a(data)));
            }
        }
        if file.starts_with("split-") {
            continue;
        }
        let (format, shards, rows) = dump(&exe, &fixture(&format!("gguf/{file}")));
        assert_eq!((format, shards), (4, 1), "{file}: TENZOR_FORMAT_GGUF");
        assert_eq!(rows.len(), tensors.len());
        for (r, w) in rows.iter().zip(tensors) {
            assert_eq!(r.name, w["name"].as_str().unwrap());
            assert_eq!(r.dtype, w["ggml_type_name"].as_str().unwrap());
            let mut ne: Vec<u64> = serde_json::from_value(w["shape_ne"].clone()).unwrap();
            ne.reverse();
            assert_eq!(r.shape, ne, "{}: row-major", r.name);
            let off = w["data_offset"].as_u64().unwrap() as usize;
            assert_eq!(
                (r.offset, r.size as u64),
                (off, w["n_bytes"].as_u64().unwrap())
            );
            assert_eq!(r.fnv, fnv1a(&bytes[off..off + r.size]));
        }
    }
    let (format, shards, rows) = dump(&exe, &fixture("gguf/split-00001-of-00002.gguf"));
    assert_eq!((format, shards), (4, 2));
    let got: Vec<(String, String)> = rows.into_iter().map(|r| (r.name, r.fnv)).collect();
    assert_eq!(
        got, split_rows,
        "the split reads as one model, in file order"
    );
}

#[test]
fn reading_every_format_is_clean_under_valgrind() {
    require("valgrind");
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path());
    let out = Command::new("valgrind")
        .args([
            "--error-exitcode=1",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect,possible",
            "-q",
        ])
        .arg(&exe)
        .arg(fixture("safetensors/all_dtypes.safetensors"))
        .arg(fixture("sharded/model.safetensors.index.json"))
        .arg(fixture("gguf/small.gguf"))
        .arg(fixture("gguf/split-00001-of-00002.gguf"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "valgrind reported errors:\n{}",
        stderr(&out)
    );
    assert!(
        stdout(&out)
            .lines()
            .filter(|l| l.starts_with("F\t"))
            .count()
            == 4
    );
}

/// Files of every format: native v2 (aligned 64 and 4096) and v1, the
/// safetensors, GGUF, sharded and split fixtures.
fn every_format(dir: &Path) -> Vec<PathBuf> {
    let legacy = dir.join("legacy.tenzor");
    std::fs::write(&legacy, legacy_sample()).unwrap();
    let mut files = vec![legacy];
    for align in [64u64, 4096] {
        let out = dir.join(format!("all_dtypes_{align}.tenzor"));
        let opts = tenzor::ConvertOptions {
            alignment: Some(align),
            ..Default::default()
        };
        let src = fixture("safetensors/all_dtypes.safetensors");
        tenzor::convert(&src, &out, &opts, &mut |_, _| {}).unwrap();
        files.push(out);
    }
    files.extend(
        [
            "safetensors/all_dtypes.safetensors",
            "sharded/model.safetensors.index.json",
            "gguf/small.gguf",
            "gguf/split-00001-of-00002.gguf",
        ]
        .map(fixture),
    );
    files
}

const BACKEND_ARGS: [&[&str]; 4] = [
    &["--backend=mmap"],
    &["--backend=read"],
    &["--backend=direct", "--lazy"],
    &["--backend=read", "--lazy"],
];

/// Every backend and validation level, through `tenzor_open_ex`, lists the
/// same tensors with the same bytes as `tenzor_open`, and reads them into
/// caller memory (one by one, aligned and not, and as one batch) unchanged.
#[test]
fn every_backend_reads_every_format_identically_through_the_c_abi() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path());
    for file in every_format(dir.path()) {
        let (format, shards, rows) = dump(&exe, &file);
        for args in BACKEND_ARGS {
            let out = run_ok(Command::new(&exe).args(args).arg(&file), "dump_any");
            let (f2, s2, rows2) = parse_dump(&out);
            assert_eq!((f2, s2), (format, shards), "{} {args:?}", file.display());
            assert_eq!(rows2, rows, "{} {args:?}", file.display());
        }
    }
}

/// The same, under valgrind and under ASan + UBSan.
#[test]
fn every_backend_is_clean_under_valgrind_and_asan() {
    require("valgrind");
    let dir = tempfile::tempdir().unwrap();
    let files = every_format(dir.path());
    let exe = build(dir.path());
    let asan = dir.path().join("dump_any_asan");
    let mut cc = compiler(false);
    cc.args([
        "-fsanitize=address,undefined",
        "-fno-sanitize-recover=all",
        "-fno-omit-frame-pointer",
    ])
    .arg(root().join("c_tests/dump_any.c"))
    .arg("-o")
    .arg(&asan)
    .arg(lib_dir().join("libtenzor.a"))
    .args(native_static_libs());
    run_ok(&mut cc, "compiling c_tests/dump_any.c with ASan");
    for args in &BACKEND_ARGS[1..3] {
        // Batch reads run on scoped threads: `scope` returns when their work
        // is done, a moment before the OS threads free their handles, so a
        // process that exits right away shows those as "possibly lost".
        // Definite and indirect leaks still fail.
        let out = Command::new("valgrind")
            .args([
                "--error-exitcode=1",
                "--leak-check=full",
                "--errors-for-leak-kinds=definite,indirect",
                "-q",
            ])
            .arg(&exe)
            .args(*args)
            .args(&files)
            .output()
            .unwrap();
        assert!(out.status.success(), "valgrind {args:?}:\n{}", stderr(&out));
        let out = Command::new(&asan)
            .env("ASAN_OPTIONS", "detect_leaks=1")
            .args(*args)
            .args(&files)
            .output()
            .unwrap();
        assert!(out.status.success(), "ASan {args:?}:\n{}", stderr(&out));
        let opened = stdout(&out)
            .lines()
            .filter(|l| l.starts_with("F\t"))
            .count();
        assert_eq!(opened, files.len());
    }
}
