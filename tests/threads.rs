//! One handle per format (.tenzor, safetensors, GGUF, a shard set) shared
//! by 16 threads that look tensors up by name, hash and position and read
//! every byte, while other processes (`tenzor convert`) keep replacing the
//! file(s) by rename with different contents. Every view must stay exactly
//! what the handle saw at open: same pointers, same bytes.
//!
//! `scripts/tsan.sh` runs this test under ThreadSanitizer (nightly).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::*;
use tenzor::{format, TensorFile};

const THREADS: usize = 16;
/// Replacements of the file to see while the readers run (odd: the last
/// one writes the inverted source).
const REPLACEMENTS: usize = 11;

/// Two sources with the same tensors but different bytes: the fixture and
/// a copy whose data bytes are all inverted.
fn sources(dir: &Path) -> [PathBuf; 2] {
    let a = fixture("safetensors/model.safetensors");
    let mut bytes = std::fs::read(&a).unwrap();
    let header = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    for b in &mut bytes[header..] {
        *b = !*b;
    }
    let b = dir.join("inverted.safetensors");
    std::fs::write(&b, bytes).unwrap();
    [a, b]
}

fn convert(src: &Path, dest: &Path, sharded: bool) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tenzor"));
    c.arg("convert").arg("--quiet").arg(src).arg("-o").arg(dest);
    if sharded {
        c.args(["--max-shard-size", "16384"]);
    }
    run_ok(&mut c, "tenzor convert");
}

/// What one thread checks, over and over, against the views at open.
fn reader(
    f: &TensorFile<'_>,
    expect: &[(String, usize, usize, u64)],
    id: usize,
    stop: &AtomicBool,
) -> usize {
    let mut rounds = 0;
    while !stop.load(Ordering::Acquire) || rounds < 3 {
        for k in 0..expect.len() {
            let (name, ptr, len, sum) = &expect[(k + id) % expect.len()];
            let by_name = f.get(name).expect("by name");
            let by_hash = f
                .get_by_hash(tenzor::hash_name(name.as_bytes()))
                .expect("by hash");
            let by_pos = f.get_at(by_name.position()).expect("by position");
            for t in [&by_name, &by_hash, &by_pos] {
                assert_eq!(
                    (t.data().as_ptr() as usize, t.data().len()),
                    (*ptr, *len),
                    "{name}"
                );
            }
            assert_eq!(
                format::checksum(by_name.data()),
                *sum,
                "{name}: bytes changed under the handle"
            );
        }
        assert!(f.metadata().is_ok());
        rounds += 1;
    }
    rounds
}

fn shared_handle_survives_replacement(out: &str, sharded: bool) {
    let dir = tempfile::tempdir().unwrap();
    let srcs = sources(dir.path());
    let dest = dir.path().join(out);
    convert(&srcs[0], &dest, sharded);
    let open_path = if sharded {
        dir.path().join(format!("{out}.index.json"))
    } else {
        dest.clone()
    };
    let f = TensorFile::open(&open_path).unwrap();
    assert_eq!(!f.shards().is_empty(), sharded);
    let reference = TensorFile::open(&srcs[0]).unwrap();
    let expect: Vec<(String, usize, usize, u64)> = f
        .iter()
        .map(|t| {
            let name = t.name().unwrap().to_string();
            let sum = format::checksum(t.data());
            assert_eq!(sum, format::checksum(reference.get(&name).unwrap().data()));
            (name, t.data().as_ptr() as usize, t.data().len(), sum)
        })
        .collect();
    let stop = AtomicBool::new(false);
    let replaced = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let readers: Vec<_> = (0..THREADS)
            .map(|id| {
                s.spawn({
                    let (f, expect, stop) = (&f, &expect, &stop);
                    move || reader(f, expect, id, stop)
                })
            })
            .collect();
        for i in 0..REPLACEMENTS {
            convert(&srcs[(i + 1) % 2], &dest, sharded);
            replaced.fetch_add(1, Ordering::Relaxed);
        }
        stop.store(true, Ordering::Release);
        for r in readers {
            assert!(r.join().expect("reader thread") >= 3);
        }
    });
    // The files really were replaced: a fresh open sees the other content.
    let fresh = TensorFile::open(&open_path).unwrap();
    let (name, _, _, sum) = &expect[0];
    let now = format::checksum(fresh.get(name).unwrap().data());
    assert_eq!(replaced.load(Ordering::Relaxed), REPLACEMENTS);
    assert_ne!(now, *sum, "the last replacement holds the inverted bytes");
}

#[test]
fn sixteen_threads_on_a_tenzor_file_being_replaced() {
    shared_handle_survives_replacement("model.tenzor", false);
}

#[test]
fn sixteen_threads_on_a_safetensors_file_being_replaced() {
    shared_handle_survives_replacement("model.safetensors", false);
}

#[test]
fn sixteen_threads_on_a_gguf_file_being_replaced() {
    shared_handle_survives_replacement("model.gguf", false);
}

#[test]
fn sixteen_threads_on_a_shard_set_being_replaced() {
    shared_handle_survives_replacement("model.tenzor", true);
}
