//! Replays the committed fuzz corpus (`fuzz/corpus/<target>`) and every
//! regression file (`fuzz/regressions/<target>`: inputs that once crashed
//! or broke an oracle) through the very bodies the cargo-fuzz targets run
//! (`fuzz/bodies/`), on the stable toolchain. FUZZING.md describes the
//! targets and how to fuzz them.

#[path = "../fuzz/bodies/mod.rs"]
mod bodies;

use std::path::{Path, PathBuf};

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

/// Runs every corpus and regression input of `target`; reports all the
/// inputs that fail, not just the first.
fn replay(target: &str) {
    let (_, body) = bodies::TARGETS
        .iter()
        .find(|(n, _)| *n == target)
        .expect("known target");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let corpus = files(&root.join("corpus").join(target));
    let regressions = files(&root.join("regressions").join(target));
    assert!(
        !corpus.is_empty(),
        "fuzz/corpus/{target} is empty: the committed corpus is missing"
    );
    let mut failed = Vec::new();
    for input in corpus.iter().chain(&regressions) {
        let data = std::fs::read(input).unwrap();
        if std::panic::catch_unwind(|| body(&data)).is_err() {
            failed.push(input.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: {} of {} inputs fail:\n{}",
        failed.len(),
        corpus.len() + regressions.len(),
        failed.join("\n")
    );
}

#[test]
fn every_target_has_a_replay_test() {
    let names: Vec<&str> = bodies::TARGETS.iter().map(|(n, _)| *n).collect();
    let me = include_str!("fuzz_replay.rs");
    for n in names {
        assert!(
            me.contains(&format!("replay(\"{n}\")")),
            "no replay test for {n}"
        );
        let entry = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fuzz/fuzz_targets/{n}.rs"));
        assert!(entry.is_file(), "no cargo-fuzz entry for {n}");
    }
}

#[test]
fn read() {
    replay("read");
}

#[test]
fn c_abi() {
    replay("c_abi");
}

#[test]
fn roundtrip() {
    replay("roundtrip");
}

#[test]
fn convert() {
    replay("convert");
}

#[test]
fn safetensors_diff() {
    replay("safetensors_diff");
}

#[test]
fn shard_index() {
    replay("shard_index");
}

#[test]
fn lazy() {
    replay("lazy");
}

#[test]
fn lite_diff() {
    replay("lite_diff");
}

#[test]
fn mutable() {
    replay("mutable");
}

#[test]
fn slice() {
    replay("slice");
}

/// The re-signing that gets mutated .tenzor files past the header checksum
/// does what it says: a file whose stored checksum is wrong opens again
/// once re-signed.
#[test]
fn resigning_gets_past_the_header_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.tenzor");
    let mut w = tenzor::Writer::create(&path, Default::default()).unwrap();
    w.add_tensor("x", tenzor::DType::U8, &[2], &[1, 2]).unwrap();
    w.finish().unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[tenzor::format::hdr::CHECKSUM] ^= 1;
    let e = tenzor::TensorFile::from_bytes(&bytes).unwrap_err();
    assert_eq!(e.kind(), tenzor::ErrorKind::Checksum, "{e}");
    let fixed = bodies::common::resigned(&bytes).expect("a v2 file with a wrong checksum");
    tenzor::TensorFile::from_bytes(&fixed).expect("re-signed");
    assert!(bodies::common::resigned(&fixed).is_none(), "already right");
}
