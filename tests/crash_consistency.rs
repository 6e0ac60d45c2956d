//! Crash consistency of the write paths: `tenzor convert` (to each output
//! format), a C program using the writer and a program filling tensors it
//! reserved (`Writer::reserve`) are SIGKILLed at random points.
//! Afterwards the destination is always either its old content (or absent)
//! or complete and verifying, and a clean retry leaves no temporary file.
//!
//! The kill delays are uniform over the time an uninterrupted run takes, so
//! they land in process start, writing, fsync and rename alike. The seed is
//! printed (TENZOR_CRASH_SEED reruns one sequence).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use tenzor::TensorFile;

/// Kills per scenario (5 scenarios: 300 in all).
const KILLS: usize = 60;

/// Runs `cmd` to completion; returns how long it took.
fn timed(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    run_ok(cmd, "an uninterrupted run");
    start.elapsed()
}

/// Starts `cmd`, SIGKILLs it after `delay` (if still running), reaps it.
fn kill_after(cmd: &mut Command, delay: Duration) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    crash::kill_after(&mut child, delay);
}

fn temporaries(dir: &Path) -> Vec<String> {
    dir_names(dir)
        .into_iter()
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

/// One scenario: `make(dest)` builds the command writing `dest`; `complete`
/// checks a finished destination. Every other iteration starts from an
/// old destination, which must then be either untouched or complete.
fn scenario(dest_name: &str, make: &dyn Fn(&Path) -> Command, complete: &dyn Fn(&TensorFile<'_>)) {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join(dest_name);
    let full = timed(&mut make(&dest));
    complete(&TensorFile::open(&dest).unwrap());
    let old = dir
        .path()
        .join("old")
        .with_extension(dest.extension().unwrap());
    std::fs::rename(&dest, &old).unwrap();
    let old_bytes = std::fs::read(&old).unwrap();
    let span = (full.as_micros() as u64 * 5 / 4).max(1000);
    let mut rng = crash::Rng::from_env();
    let (mut untouched, mut replaced) = (0, 0);
    for i in 0..KILLS {
        let _ = std::fs::remove_file(&dest);
        if i % 2 == 0 {
            std::fs::copy(&old, &dest).unwrap();
        }
        kill_after(&mut make(&dest), Duration::from_micros(rng.next() % span));
        match std::fs::read(&dest) {
            Err(_) => assert!(i % 2 == 1, "kill {i}: the old destination vanished"),
            Ok(b) if i % 2 == 0 && b == old_bytes => untouched += 1,
            Ok(_) => {
                let f = TensorFile::open(&dest).unwrap_or_else(|e| {
                    panic!("kill {i}: destination neither old nor complete: {e}")
                });
                f.verify().unwrap();
                complete(&f);
                replaced += 1;
            }
        }
        // A clean retry completes and leaves no temporary file behind.
        timed(&mut make(&dest));
        complete(&TensorFile::open(&dest).unwrap());
        let left = temporaries(dir.path());
        assert!(
            left.is_empty(),
            "kill {i}: temporaries survive a clean retry: {left:?}"
        );
    }
    println!("{dest_name}: {KILLS} kills, old kept {untouched}, replaced whole {replaced}");
}

fn same_as(src: &Path) -> impl Fn(&TensorFile<'_>) {
    let src = src.to_path_buf();
    move |f| {
        let s = TensorFile::open(&src).unwrap();
        assert_eq!(f.len(), s.len());
        for (a, b) in s.iter().zip(f.iter()) {
            assert_eq!(
                (a.name(), a.shape(), a.data()),
                (b.name(), b.shape(), b.data())
            );
        }
    }
}

#[test]
fn killing_tenzor_convert_never_leaves_a_partial_file() {
    let src = fixture("sharded/model.safetensors.index.json");
    for out in ["out.tenzor", "out.safetensors", "out.gguf"] {
        let convert = |dest: &Path| {
            let mut c = Command::new(env!("CARGO_BIN_EXE_tenzor"));
            c.arg("convert")
                .arg("--quiet")
                .arg(&src)
                .arg("-o")
                .arg(dest);
            c
        };
        scenario(out, &convert, &same_as(&src));
    }
}

const WRITER_TENSORS: usize = 64;

#[test]
fn killing_a_program_using_the_writer_never_leaves_a_partial_file() {
    let build = tempfile::tempdir().unwrap();
    let exe = build_c_program(build.path(), "crash_writer");
    let write = |dest: &Path| {
        let mut c = Command::new(&exe);
        c.arg(dest).arg(WRITER_TENSORS.to_string());
        c
    };
    let complete = |f: &TensorFile<'_>| {
        assert_eq!(f.len(), WRITER_TENSORS);
        assert_eq!(f.metadata().unwrap()["writer"], "crash");
        for (i, t) in f.iter().enumerate() {
            assert_eq!(t.name(), Some(format!("t{i:03}").as_str()));
            let want: Vec<u8> = (0..4096).map(|j| ((i * 7 + j) & 0xff) as u8).collect();
            assert_eq!(t.data(), &want[..]);
        }
    };
    scenario("model.tenzor", &write, &complete);
}

const RESERVE_CHILD: &str = "TENZOR_RESERVE_CRASH_DEST";
const RESERVED: usize = 48;
const RESERVED_BYTES: usize = 64 * 1024;

fn reserved_byte(i: usize, j: usize) -> u8 {
    ((i * 13 + j * 7) & 0xff) as u8
}

/// The program of the reserve scenario (a no-op in a normal test run):
/// writes its destination through `Writer::reserve`, filling each tensor in
/// its writable mapping.
#[test]
fn reserve_child() {
    let Ok(dest) = std::env::var(RESERVE_CHILD) else {
        return;
    };
    let mut w = tenzor::Writer::create(&dest, Default::default()).unwrap();
    w.set_metadata(r#"{"writer": "reserve"}"#).unwrap();
    for i in 0..RESERVED {
        let name = format!("r{i:02}");
        let m = w
            .reserve(&name, tenzor::DType::U8, &[RESERVED_BYTES as u64])
            .unwrap();
        for (j, b) in m.iter_mut().enumerate() {
            *b = reserved_byte(i, j);
        }
    }
    w.finish().unwrap();
}

#[test]
fn killing_a_program_filling_reserved_tensors_never_leaves_a_partial_file() {
    let exe = std::env::current_exe().unwrap();
    let write = |dest: &Path| {
        let mut c = Command::new(&exe);
        c.args(["--exact", "reserve_child", "--test-threads=1"])
            .env(RESERVE_CHILD, dest);
        c
    };
    let complete = |f: &TensorFile<'_>| {
        assert_eq!(f.len(), RESERVED);
        assert_eq!(f.metadata().unwrap()["writer"], "reserve");
        for (i, t) in f.iter().enumerate() {
            assert_eq!(t.name(), Some(format!("r{i:02}").as_str()));
            let bad = t
                .data()
                .iter()
                .enumerate()
                .position(|(j, &b)| b != reserved_byte(i, j));
            assert_eq!(bad, None, "r{i:02}: first wrong byte");
        }
    };
    scenario("reserved.tenzor", &write, &complete);
}
