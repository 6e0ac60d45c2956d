//! include/tenzor_lite.h, the freestanding C reader, against the Rust
//! library: the same accept/reject class and the same tensors (name, dtype,
//! shape, bytes) on every fixture, every corpus file and thousands of
//! generated and mutated files; clean builds as C99, C11, C++17 and
//! freestanding; and the same answers on 32-bit ARM and big-endian PowerPC
//! (qemu-user), and on an emulated Cortex-M4 (qemu-system-arm).
//!
//! The C side is c_tests/lite/: describe.c prints a canonical description of
//! what the lite reader sees in a buffer (reusable by fuzz targets), dump.c
//! runs it over files named on stdin. This file builds the same text from
//! `TensorFile::from_bytes`.

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use tenzor::format::{self, hdr};
use tenzor::{hash_name, ConvertOptions, DType, TensorFile, Writer, WriterOptions};

// ---------------------------------------------------------------- building

const LITE_SOURCES: &[&str] = &["describe.c", "dump.c", "lite_impl.c"];

fn lite_sources() -> Vec<PathBuf> {
    LITE_SOURCES
        .iter()
        .map(|s| root().join("c_tests/lite").join(s))
        .collect()
}

/// The dumper for this host, with ASan and UBSan: any out-of-bounds or
/// misaligned read of the lite reader aborts the run.
fn build_host_dump(dir: &Path) -> PathBuf {
    let exe = dir.join("lite_dump");
    let mut cc = compiler(false);
    cc.args(["-Wconversion", "-O1", "-fno-omit-frame-pointer"])
        .args(["-fsanitize=address,undefined", "-fno-sanitize-recover=all"])
        .args(lite_sources())
        .arg("-o")
        .arg(&exe);
    run_ok(&mut cc, "compiling the lite dumper with ASan/UBSan");
    exe
}

/// Runs a dumper (optionally under an emulator) over `files`.
fn run_dump(runner: &[&str], exe: &Path, files: &[PathBuf]) -> BTreeMap<String, String> {
    let mut cmd = match runner {
        [prog, args @ ..] => {
            let mut c = Command::new(prog);
            c.args(args).arg(exe);
            c
        }
        [] => Command::new(exe),
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let list: String = files.iter().map(|p| format!("{}\n", p.display())).collect();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(list.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}",
        out.status,
        stderr(&out)
    );
    parse_dump(&stdout(&out))
}

fn parse_dump(text: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for block in text.split("== ").filter(|b| !b.is_empty()) {
        let (path, body) = block.split_once('\n').expect("== path");
        map.insert(path.to_string(), body.to_string());
    }
    map
}

// ------------------------------------------------- the Rust side's text

fn fnv(b: &[u8]) -> u64 {
    hash_name(b)
}

fn escape(name: &[u8]) -> String {
    name.iter()
        .map(|&c| {
            if c > 0x20 && c < 0x7f && c != b'\\' {
                (c as char).to_string()
            } else {
                format!("\\x{c:02x}")
            }
        })
        .collect()
}

/// What the lite reader must print for `bytes`, or `None` when the Rust
/// library refuses the file for a reason the lite reader does not check
/// (JSON syntax of the metadata): then only the absence of errors counts.
fn expected(bytes: &[u8]) -> Option<String> {
    if !bytes.starts_with(&format::MAGIC) {
        return Some("full BadFormat\nlazy rejected\n".into());
    }
    if bytes.len() >= format::HEADER_SIZE
        && format::u32_at(bytes, hdr::VERSION) == format::VERSION_LEGACY
    {
        return Some("full Unsupported\nlazy rejected\n".into());
    }
    let f = match TensorFile::from_bytes(bytes) {
        Ok(f) => f,
        Err(e) if e.message().contains("metadata is not valid JSON") => return None,
        Err(e) => return Some(format!("full {:?}\n", e.kind())),
    };
    let mut s = String::from("full Ok\n");
    for t in f.iter() {
        let shape = if t.shape().is_empty() {
            "-".to_string()
        } else {
            t.shape()
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        let verified = Some(format::checksum(t.data())) == t.checksum();
        s += &format!(
            "t {} {} {} {} {} {:016x} {}\n",
            t.position(),
            escape(t.name().unwrap().as_bytes()),
            t.dtype() as u16,
            shape,
            t.data().len(),
            fnv(t.data()),
            if verified { "verified" } else { "corrupt" }
        );
    }
    let meta_len = format::u32_at(bytes, hdr::METADATA_SIZE) as usize;
    let meta = &bytes[format::HEADER_SIZE..format::HEADER_SIZE + meta_len];
    s += &format!("meta {} {:016x}\nlazy agrees\n", meta_len, fnv(meta));
    Some(s)
}

/// Compares the lite reader's text with the Rust library's for every file;
/// returns the count of each first line (accept/reject class).
fn compare(files: &[PathBuf], lite: &BTreeMap<String, String>) -> BTreeMap<String, usize> {
    let mut classes = BTreeMap::new();
    let mut failures = Vec::new();
    for path in files {
        let key = path.display().to_string();
        let got = lite.get(&key).unwrap_or_else(|| panic!("no output for {key}"));
        if got.contains("\nerror ") || got.starts_with("error ") {
            failures.push(format!("{key}: inconsistency\n{got}"));
            continue;
        }
        let bytes = std::fs::read(path).unwrap();
        let first = got.lines().next().unwrap_or("").to_string();
        *classes.entry(first).or_default() += 1;
        match expected(&bytes) {
            // A refused file: the class must match; what lazy mode says is
            // free (it checks less), but it stayed inside the buffer.
            Some(want) if !want.starts_with("full Ok") && want.lines().count() == 1 => {
                if !got.starts_with(&want) {
                    failures.push(format!("{key}:\n rust: {want} lite: {got}"));
                }
            }
            Some(want) => {
                if *got != want {
                    failures.push(format!("{key}:\n--- rust\n{want}--- lite\n{got}"));
                }
            }
            None => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} files differ between tenzor_lite.h and the Rust library:\n{}",
        failures.len(),
        files.len(),
        failures[..failures.len().min(10)].join("\n")
    );
    classes
}

// ---------------------------------------------------------------- inputs

/// Every fixture converted to .tenzor (at two alignments), plus the corpus.
fn fixtures_and_corpus(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let fixtures = root().join("tests/fixtures");
    for sub in ["safetensors", "gguf", "sharded"] {
        for name in dir_names(&fixtures.join(sub)) {
            if !(name.ends_with(".safetensors")
                || name.ends_with(".gguf")
                || name.ends_with(".index.json"))
            {
                continue;
            }
            for align in [64u64, 4096] {
                let out = dir.join(format!("{sub}-{name}-{align}.tenzor"));
                let opts = ConvertOptions {
                    alignment: Some(align),
                    ..Default::default()
                };
                if tenzor::convert(&fixtures.join(sub).join(&name), &out, &opts, &mut |_, _| {})
                    .is_ok()
                {
                    files.push(out);
                }
            }
        }
    }
    assert!(files.len() >= 10, "too few fixtures converted: {files:?}");
    let corpus = root().join("tests/corpus");
    for name in dir_names(&corpus) {
        if !name.ends_with(".md") && !name.ends_with(".py") && !name.ends_with(".json") {
            files.push(corpus.join(name));
        }
    }
    files
}

/// xorshift64: deterministic, so a failure names a reproducible file.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

const NAME_PARTS: &[&str] = &[
    "w", "bias", "model.layers.0", ".weight", "ключ", "層", "a b", "x\u{7f}", "q_proj", "0",
];

/// A random valid .tenzor file written by the Rust writer.
fn generate(rng: &mut Rng, path: &Path) {
    let alignment = *rng.pick(&[64u64, 64, 128, 4096, 65536]);
    let mut w = Writer::create(
        path,
        WriterOptions {
            alignment,
            reserve_tensors: rng.below(40),
            ..Default::default()
        },
    )
    .unwrap();
    let meta = match rng.below(4) {
        0 => String::new(),
        1 => format!("{{\"n\": {}, \"s\": \"ключ\"}}", rng.next()),
        2 => " {} ".into(),
        _ => format!("{{\"arch\": \"llama\", \"layers\": [{}]}}", rng.below(100)),
    };
    if !meta.is_empty() {
        w.set_metadata(&meta).unwrap();
    }
    let count = rng.below(12);
    let mut used = std::collections::HashSet::new();
    for i in 0..count {
        let name = format!(
            "{}{}{}",
            rng.pick(NAME_PARTS),
            rng.pick(NAME_PARTS),
            if rng.below(2) == 0 { i.to_string() } else { String::new() }
        );
        if !used.insert(name.clone()) {
            continue;
        }
        let dtype = *rng.pick(DType::ALL);
        let ndim = rng.below(5) as usize;
        let mut shape: Vec<u64> = (0..ndim).map(|_| rng.below(5)).collect();
        if let Some(last) = shape.last_mut() {
            *last *= dtype.block_elems();
        }
        let numel = if ndim == 0 { 1 } else { shape.iter().product() };
        let numel = if ndim == 0 && dtype.block_elems() > 1 {
            shape = vec![dtype.block_elems()];
            dtype.block_elems()
        } else {
            numel
        };
        let size = dtype.byte_size(numel).unwrap() as usize;
        let data: Vec<u8> = (0..size).map(|_| rng.next() as u8).collect();
        w.add_tensor(&name, dtype, &shape, &data).unwrap();
    }
    w.finish().unwrap();
}

/// Re-signs the header checksum so a mutation reaches the deeper checks.
fn resign(b: &mut [u8]) {
    if b.len() < format::HEADER_SIZE {
        return;
    }
    let data_offset = format::u64_at(b, hdr::DATA_OFFSET);
    if data_offset <= b.len() as u64 && data_offset >= format::HEADER_SIZE as u64 {
        let sum = format::header_region_checksum(&b[..data_offset as usize]);
        b[hdr::CHECKSUM..hdr::CHECKSUM + 8].copy_from_slice(&sum.to_le_bytes());
    }
}

/// One structured mutation of a valid file.
fn mutate(rng: &mut Rng, src: &[u8]) -> Vec<u8> {
    let mut b = src.to_vec();
    let count = format::u32_at(&b, hdr::TENSOR_COUNT) as usize;
    let index = format::u64_at(&b, hdr::INDEX_OFFSET) as usize;
    let data = format::u64_at(&b, hdr::DATA_OFFSET) as usize;
    let interesting = |rng: &mut Rng, old: u64| -> u64 {
        let (bit, random) = (rng.below(64), rng.next());
        *rng.pick(&[
            0,
            1,
            2,
            7,
            8,
            9,
            63,
            64,
            4096,
            old.wrapping_add(1),
            old.wrapping_sub(1),
            old.wrapping_add(64),
            old ^ (1 << bit),
            u32::MAX as u64,
            1 << 32,
            1 << 63,
            u64::MAX,
            count as u64,
            random,
        ])
    };
    let put = |b: &mut Vec<u8>, at: usize, width: usize, v: u64| {
        if at + width <= b.len() {
            b[at..at + width].copy_from_slice(&v.to_le_bytes()[..width]);
        }
    };
    match rng.below(10) {
        // An index entry field.
        0..=3 if count > 0 => {
            let e = index + format::ENTRY_SIZE * rng.below(count as u64) as usize;
            let (off, width) = *rng.pick(&[
                (0usize, 8usize),
                (8, 4),
                (12, 4),
                (16, 2),
                (18, 1),
                (19, 1),
                (20, 4),
                (24, 8),
                (32, 8),
                (80, 8),
                (88, 8),
                (96, 8),
            ]);
            let old = format::u64_at(&b, e);
            let v = interesting(rng, old);
            put(&mut b, e + off, width, v);
        }
        // A header field.
        4 => {
            let (off, width) = *rng.pick(&[
                (8usize, 4usize),
                (12, 4),
                (16, 4),
                (20, 4),
                (24, 8),
                (32, 8),
                (40, 4),
                (44, 4),
                (56, 4),
                (60, 4),
            ]);
            let old = format::u64_at(&b, off);
            let v = interesting(rng, old);
            put(&mut b, off, width, v);
        }
        // Swap two entries (breaks order, keeps everything else).
        5 if count > 1 => {
            let i = rng.below(count as u64) as usize;
            let j = rng.below(count as u64) as usize;
            for k in 0..format::ENTRY_SIZE {
                b.swap(index + i * format::ENTRY_SIZE + k, index + j * format::ENTRY_SIZE + k);
            }
        }
        // Truncate or extend.
        6 => {
            let n = rng.below(b.len() as u64 + 1) as usize;
            if rng.below(2) == 0 {
                b.truncate(n);
            } else {
                b.extend(std::iter::repeat_n(0, 1 + n % 100));
            }
        }
        // A random byte of the region before the data, or of the data.
        _ => {
            let end = if rng.below(4) == 0 { b.len() } else { data.min(b.len()) };
            if end > 0 {
                let at = rng.below(end as u64) as usize;
                b[at] = rng.next() as u8;
            }
        }
    }
    if rng.below(8) != 0 {
        resign(&mut b);
    }
    b
}

/// `n_files` generated files and `per_file` mutations of each.
fn generated_and_mutated(dir: &Path, seed: u64, n_files: usize, per_file: usize) -> Vec<PathBuf> {
    let mut rng = Rng(seed);
    let mut files = Vec::new();
    for i in 0..n_files {
        let path = dir.join(format!("gen{i}.tenzor"));
        generate(&mut rng, &path);
        let bytes = std::fs::read(&path).unwrap();
        files.push(path);
        for m in 0..per_file {
            let path = dir.join(format!("gen{i}-mut{m}.tenzor"));
            std::fs::write(&path, mutate(&mut rng, &bytes)).unwrap();
            files.push(path);
        }
    }
    files
}

// ------------------------------------------------------------------ tests

#[test]
fn lite_reader_agrees_with_rust_on_fixtures_corpus_and_mutations() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build_host_dump(dir.path());
    let inputs = dir.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    let mut files = fixtures_and_corpus(&inputs);
    files.extend(generated_and_mutated(&inputs, 0x5eed_1173, 60, 50));
    let lite = run_dump(&[], &exe, &files);
    let classes = compare(&files, &lite);
    println!("{} files; lite classes: {classes:?}", files.len());
    // The mutations must reach past the header checksum into every kind of
    // rule, or this test proves little.
    for class in [
        "full Ok",
        "full BadFormat",
        "full Checksum",
        "full Unsupported",
        "full DuplicateName",
    ] {
        assert!(
            classes.get(class).copied().unwrap_or(0) > 0,
            "no file was classified `{class}`: {classes:?}"
        );
    }
    assert!(classes["full BadFormat"] > 1000, "{classes:?}");
}
