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
    // The appendable layout is refused by the lite reader, whatever the
    // library makes of the file.
    if bytes.len() >= format::HEADER_SIZE
        && format::u32_at(bytes, hdr::VERSION) == format::VERSION
        && format::u32_at(bytes, hdr::FLAGS) & format::FLAG_APPENDABLE != 0
    {
        return Some("full Unsupported\nlazy rejected\n".into());
    }
    let f = match TensorFile::from_bytes(bytes) {
        Ok(f) => f,
        Err(e) if e.message().contains("metadata is not valid JSON") => return None,
        Err(e) => return Some(format!("full {:?}\n", e.kind())),
    };
    // The Rust library leaves name hashes to `verify` (the header checksum
    // covers them at open; FORMAT.md, "Validation levels"); the lite reader
    // recomputes them at open. A lying hash is refused by both, at different
    // times: compare with the lite reader's open there.
    if f.iter()
        .any(|t| Some(t.name_hash()) != t.name().map(|n| hash_name(n.as_bytes())))
    {
        return Some("full BadFormat\n".into());
    }
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
    s += &match f.verify() {
        Ok(()) => "verify Ok\n".to_string(),
        Err(e) => format!("verify {:?}\n", e.kind()),
    };
    if f.edit_interrupted() {
        s += "edit-interrupted\n";
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
        let got = lite
            .get(&key)
            .unwrap_or_else(|| panic!("no output for {key}"));
        if got.contains("\nerror ") || got.starts_with("error ") {
            failures.push(format!("{key}: inconsistency\n{got}"));
            continue;
        }
        let bytes = std::fs::read(path).unwrap();
        let first = got.lines().next().unwrap_or("").to_string();
        *classes.entry(first).or_default() += 1;
        // A refused file: the class must match; what lazy mode says is free
        // (it checks less), but it stayed inside the buffer. An accepted
        // file: the whole text must match. `None`: no class to compare.
        let differs = match expected(&bytes) {
            Some(want) if !want.starts_with("full Ok") && want.lines().count() == 1 => {
                (!got.starts_with(&want)).then(|| format!("{key}:\n rust: {want} lite: {got}"))
            }
            Some(want) => {
                (*got != want).then(|| format!("{key}:\n--- rust\n{want}--- lite\n{got}"))
            }
            None => None,
        };
        failures.extend(differs);
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
    "w",
    "bias",
    "model.layers.0",
    ".weight",
    "ключ",
    "層",
    "a b",
    "x\u{7f}",
    "q_proj",
    "0",
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
            if rng.below(2) == 0 {
                i.to_string()
            } else {
                String::new()
            }
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
    match rng.below(12) {
        // The leftovers of a first append that never committed: zeros up to
        // the root area, then its two pages (random bytes), sometimes with a
        // stray byte before the root area or one page too few.
        11 => {
            let root = b.len().next_multiple_of(4096);
            let pages = if rng.below(4) == 0 { 1 } else { 2 };
            b.resize(root, 0);
            b.extend((0..pages * 4096 + rng.below(100) as usize).map(|_| rng.next() as u8));
            if rng.below(4) == 0 && root > src.len() {
                let at = src.len() + rng.below((root - src.len()) as u64) as usize;
                b[at] = 1;
            }
            return b;
        }
        // The edit mark (outside the header checksum) and a changed byte
        // anywhere: a stale header checksum is then tolerated.
        10 => {
            b[hdr::FLAGS] |= format::FLAG_EDITING as u8;
            let at = rng.below(b.len() as u64) as usize;
            b[at] = rng.next() as u8;
            return b;
        }
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
                b.swap(
                    index + i * format::ENTRY_SIZE + k,
                    index + j * format::ENTRY_SIZE + k,
                );
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
            let end = if rng.below(4) == 0 {
                b.len()
            } else {
                data.min(b.len())
            };
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
    let marked = lite
        .values()
        .filter(|t| t.starts_with("full Ok") && t.contains("\nedit-interrupted\n"))
        .count();
    assert!(
        marked > 10,
        "only {marked} accepted files carried the edit mark"
    );
}

/// The lite reader builds warning-free in every language mode and
/// configuration it documents (C99, C11, C++17; freestanding without libc;
/// without xxh3), with gcc and clang.
#[test]
fn lite_header_compiles_cleanly_in_every_mode() {
    let dir = tempfile::tempdir().unwrap();
    let src = root().join("c_tests/lite/lite_impl.c");
    let modes: &[(&str, &[&str])] = &[
        ("c99", &["-std=c99"]),
        ("c11", &["-std=c11"]),
        ("c++17", &["-std=c++17", "-x", "c++"]),
        (
            "freestanding",
            &["-std=c99", "-ffreestanding", "-nostdlib", "-DTZL_NO_LIBC"],
        ),
        ("no-xxh3", &["-std=c99", "-DTZL_NO_XXH3"]),
    ];
    let strict = [
        "-Wall",
        "-Wextra",
        "-Wpedantic",
        "-Werror",
        "-Wconversion",
        "-Wshadow",
    ];
    for compiler in ["gcc", "clang"] {
        require(compiler);
        for (name, flags) in modes {
            let mut cc = Command::new(if flags.contains(&"c++") {
                if compiler == "gcc" {
                    "g++"
                } else {
                    "clang++"
                }
            } else {
                compiler
            });
            cc.args(strict)
                .args(*flags)
                .arg("-I")
                .arg(root().join("include"))
                .arg("-c")
                .arg(&src)
                .arg("-o")
                .arg(dir.path().join(format!("{compiler}-{name}.o")));
            run_ok(&mut cc, &format!("{compiler} {name}"));
        }
    }
}

/// The fixtures, the corpus and some mutations, read by the lite reader
/// built for 32-bit ARM and big-endian PowerPC and run under qemu-user, give
/// exactly the host's (x86_64) output.
#[test]
fn lite_reader_gives_the_same_answers_on_arm32_and_big_endian_powerpc() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    let mut files = fixtures_and_corpus(&inputs);
    files.extend(generated_and_mutated(&inputs, 0xb16_e4d1a4, 10, 20));
    let host = run_dump(&[], &build_host_dump(dir.path()), &files);
    for (gcc, qemu) in [
        ("arm-linux-gnueabihf-gcc", "qemu-arm"),
        ("powerpc-linux-gnu-gcc", "qemu-ppc"),
    ] {
        require(gcc);
        require(qemu);
        let exe = dir.path().join(format!("lite_dump-{gcc}"));
        let mut cc = Command::new(gcc);
        cc.args(C_FLAGS)
            .args(["-Wconversion", "-O2", "-static"])
            .arg("-I")
            .arg(root().join("include"))
            .args(lite_sources())
            .arg("-o")
            .arg(&exe);
        run_ok(&mut cc, &format!("cross-compiling the dumper with {gcc}"));
        let target = run_dump(&[qemu], &exe, &files);
        for f in &files {
            let key = f.display().to_string();
            assert_eq!(
                target.get(&key),
                host.get(&key),
                "{qemu}: {key} reads differently than on the host"
            );
        }
        println!("{qemu}: {} files, identical to the host", files.len());
    }
}

// ------------------------------------------------------------- Cortex-M4

const CORTEX_M: &[&str] = &[
    "-mcpu=cortex-m4",
    "-mthumb",
    "-mfloat-abi=soft",
    "-ffreestanding",
    "-nostdlib",
    "-fstack-usage",
];

/// Writes the model the firmware embeds and a C header holding it as a
/// const array (in flash), with what the Rust library reads from it.
fn write_model_header(dir: &Path) -> usize {
    let path = dir.join("model.tenzor");
    let mut w = Writer::create(&path, WriterOptions::default()).unwrap();
    w.set_metadata(r#"{"arch": "tiny-cnn", "classes": 10}"#)
        .unwrap();
    let f32s = |n: usize| -> Vec<u8> {
        (0..n)
            .flat_map(|k| (0.25f32 * k as f32).to_le_bytes())
            .collect()
    };
    let bytes = |n: usize, seed: u8| -> Vec<u8> {
        (0..n)
            .map(|k| (k as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    };
    w.add_tensor("conv1.weight", DType::F32, &[8, 3, 3, 3], &f32s(216))
        .unwrap();
    w.add_tensor("conv1.bias", DType::F32, &[8], &f32s(8))
        .unwrap();
    w.add_tensor("fc.weight", DType::Q8_0, &[10, 64], &bytes(20 * 34, 7))
        .unwrap();
    w.add_tensor("fc.bias", DType::F16, &[10], &bytes(20, 3))
        .unwrap();
    w.add_tensor("ключ", DType::I8, &[2, 2], &bytes(4, 1))
        .unwrap();
    w.add_tensor("scale", DType::F64, &[], &1.5f64.to_le_bytes())
        .unwrap();
    w.finish().unwrap();
    let model = std::fs::read(&path).unwrap();
    let f = TensorFile::from_bytes(&model).unwrap();

    let c_string = |s: &str| -> String {
        s.bytes()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == b'.' || c == b'_' {
                    (c as char).to_string()
                } else {
                    format!("\\{c:03o}")
                }
            })
            .collect()
    };
    let mut h = String::from(
        "/* Generated by tests/lite.rs: a .tenzor model as a const array and\n \
         * what the Rust library reads from it. */\n#include <stdint.h>\n",
    );
    h += &format!("#define MODEL_ALIGNMENT {}\n", f.alignment());
    h += &format!(
        "#define METADATA_LEN {}\n#define EXPECT_COUNT {}u\n",
        f.metadata_json().len(),
        f.len()
    );
    h += "struct expect { const char *name; uint16_t dtype; uint8_t ndim; uint64_t shape[8];\n    \
          uint64_t size; uint64_t fnv; uint64_t hash; };\n";
    h += "static const struct expect expected[] = {\n";
    for t in f.iter() {
        let mut shape = [0u64; 8];
        shape[..t.shape().len()].copy_from_slice(t.shape());
        let dims: Vec<String> = shape.iter().map(|d| format!("{d}u")).collect();
        h += &format!(
            "    {{\"{}\", {}, {}, {{{}}}, {}u, UINT64_C({:#x}), UINT64_C({:#x})}},\n",
            c_string(t.name().unwrap()),
            t.dtype() as u16,
            t.shape().len(),
            dims.join(", "),
            t.data().len(),
            fnv(t.data()),
            t.name_hash()
        );
    }
    h += "};\n";
    h += &format!(
        "static const uint8_t tzl_model[{}] __attribute__((aligned({}))) = {{\n",
        model.len(),
        f.alignment()
    );
    for chunk in model.chunks(24) {
        let line: Vec<String> = chunk.iter().map(|b| format!("{b}")).collect();
        h += &format!("    {},\n", line.join(","));
    }
    h += "};\n";
    std::fs::write(dir.join("model_data.h"), h).unwrap();
    f.len()
}

fn cortex_m_gcc() -> Command {
    require("arm-none-eabi-gcc");
    let mut cc = Command::new("arm-none-eabi-gcc");
    cc.args(C_FLAGS).arg("-Wconversion").args(CORTEX_M);
    cc.arg("-I").arg(root().join("include"));
    cc
}

/// Code size (text + data of `arm-none-eabi-size`) of the lite reader alone,
/// compiled for the Cortex-M4 at -Os with `defines`.
fn cortex_m_code_size(dir: &Path, tag: &str, defines: &[&str]) -> u64 {
    let obj = dir.join(format!("lite-{tag}.o"));
    let mut cc = cortex_m_gcc();
    cc.current_dir(dir)
        .args(["-Os", "-DTZL_NO_LIBC", "-c"])
        .args(defines)
        .arg(root().join("c_tests/lite/lite_impl.c"))
        .arg("-o")
        .arg(&obj);
    run_ok(&mut cc, "compiling the lite reader for the Cortex-M4");
    let out = stdout(&run_ok(
        Command::new("arm-none-eabi-size").arg(&obj),
        "arm-none-eabi-size",
    ));
    println!("{tag}: {out}");
    let fields: Vec<u64> = out
        .lines()
        .nth(1)
        .expect("size output")
        .split_whitespace()
        .take(2)
        .map(|v| v.parse().unwrap())
        .collect();
    fields[0] + fields[1]
}

/// The deepest stack frame of any tzl_ function, from -fstack-usage.
fn max_frame(dir: &Path) -> (String, u64) {
    let mut worst = (String::new(), 0);
    for name in dir_names(dir) {
        if !name.ends_with(".su") {
            continue;
        }
        for line in std::fs::read_to_string(dir.join(&name)).unwrap().lines() {
            let cols: Vec<&str> = line.split('\t').collect();
            let func = cols[0].rsplit(':').next().unwrap_or("").to_string();
            let bytes: u64 = cols.get(1).and_then(|b| b.parse().ok()).unwrap_or(0);
            if func.starts_with("tzl") && bytes > worst.1 {
                worst = (func, bytes);
            }
        }
    }
    worst
}

#[test]
fn lite_reader_runs_on_an_emulated_cortex_m4_with_the_model_in_flash() {
    require("qemu-system-arm");
    let dir = tempfile::tempdir().unwrap();
    let count = write_model_header(dir.path());
    let fw = dir.path().join("fw.elf");
    let cm = root().join("c_tests/lite/cortex_m");
    let mut cc = cortex_m_gcc();
    cc.current_dir(dir.path())
        .arg("-O2")
        .arg("-I")
        .arg(dir.path())
        .arg("-I")
        .arg(&cm)
        .arg("-T")
        .arg(cm.join("mps2.ld"))
        .arg(cm.join("startup.c"))
        .arg(cm.join("main.c"))
        .arg("-lgcc")
        .arg("-o")
        .arg(&fw);
    run_ok(&mut cc, "building the Cortex-M4 firmware");
    let mut qemu = Command::new("timeout");
    qemu.args(["60", "qemu-system-arm", "-M", "mps2-an386", "-nographic"])
        .args(["-monitor", "none", "-serial", "null"])
        .args(["-semihosting-config", "enable=on,target=native", "-kernel"])
        .arg(&fw);
    let out = qemu.output().unwrap();
    // Semihosting output reaches QEMU's stdout or stderr depending on the
    // QEMU version: read both.
    let text = format!("{}{}", stdout(&out), stderr(&out));
    println!("{text}");
    assert!(
        out.status.success() && text.contains(&format!("PASS: {count} tensors found and checked")),
        "the firmware failed ({}):\n{text}",
        out.status
    );
    let stack: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("stack used: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("the firmware reports its stack use");
    let (func, frame) = max_frame(dir.path());
    let full = cortex_m_code_size(dir.path(), "full", &[]);
    let no_xxh3 = cortex_m_code_size(dir.path(), "no-xxh3", &["-DTZL_NO_XXH3"]);
    println!(
        "Cortex-M4: code {full} bytes ({no_xxh3} without xxh3), \
         stack high-water mark {stack} bytes below main (lite calls, checks, semihosting), largest frame {func} {frame} bytes"
    );
    // Budgets for a microcontroller reader; generous against noise between
    // compiler versions, tight enough to catch a table or buffer on the stack.
    assert!(full < 8 * 1024, "code size {full} bytes");
    assert!(stack < 1536, "stack use {stack} bytes");
}

// ---------------------------------------------------------------- fuzzing

/// Builds the libFuzzer target (c_tests/lite/fuzz_lite.c) with ASan and UBSan.
fn build_fuzzer(dir: &Path) -> PathBuf {
    require("clang");
    let exe = dir.join("fuzz_lite");
    let mut cc = Command::new("clang");
    cc.args(C_FLAGS)
        .args(["-Wconversion", "-g", "-O1"])
        .args([
            "-fsanitize=fuzzer,address,undefined",
            "-fno-sanitize-recover=all",
        ])
        .arg("-I")
        .arg(root().join("include"))
        .arg(root().join("c_tests/lite/fuzz_lite.c"))
        .arg(root().join("c_tests/lite/describe.c"))
        .arg("-o")
        .arg(&exe);
    run_ok(
        &mut cc,
        "building the libFuzzer target (needs clang and libclang-rt-14-dev)",
    );
    exe
}

/// Replays the committed corpus (tests/lite_corpus: inputs a longer
/// campaign kept for their coverage), then fuzzes for a few seconds from the
/// fixtures, the malformed corpus and generated files. Any crash, ASan or
/// UBSan report fails the test.
#[test]
fn lite_reader_survives_libfuzzer_with_asan_and_ubsan() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build_fuzzer(dir.path());
    let replay = run_ok(
        Command::new(&exe)
            .arg("-runs=0")
            .arg(root().join("tests/lite_corpus")),
        "replaying tests/lite_corpus",
    );
    let log = stderr(&replay);
    assert!(
        log.contains("INITED"),
        "the corpus was not replayed:\n{log}"
    );

    let seeds = dir.path().join("seeds");
    std::fs::create_dir(&seeds).unwrap();
    let _ = fixtures_and_corpus(&seeds);
    let _ = generated_and_mutated(&seeds, 0xf022, 10, 0);
    let work = dir.path().join("corpus");
    std::fs::create_dir(&work).unwrap();
    let out = run_ok(
        Command::new("nice")
            .args(["-n", "10"])
            .arg(&exe)
            .args([
                "-max_total_time=8",
                "-max_len=20000",
                "-print_final_stats=1",
            ])
            .arg(format!("-artifact_prefix={}/", dir.path().display()))
            .arg(&work)
            .arg(&seeds)
            .arg(root().join("tests/corpus")),
        "libFuzzer on tenzor_lite.h",
    );
    let log = stderr(&out);
    let runs = log
        .lines()
        .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
        .map(|v| v.trim().to_string())
        .unwrap_or_default();
    println!("libFuzzer: {runs} executions, no finding");
    assert!(
        runs.parse::<u64>().unwrap_or(0) > 100,
        "the fuzzer barely ran:\n{log}"
    );
}
