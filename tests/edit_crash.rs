//! Crash test of in-place editing: a child process edits a .tenzor file in
//! rounds (views, writes, flushes, closes) and is killed with SIGKILL at a
//! random moment, 200 times. After each kill the file must open (read-only,
//! with the edit mark shown when set), `verify` must name exactly the
//! tensors whose checksums are stale, `tenzor rehash` must restore a file
//! that verifies, and each tensor must hold its old or a new content (at
//! most one, the one being written when the kill came, partly each).
//!
//! Budget: about 200 x (one process start + up to 25 ms) = 5 to 15 s.
//! TENZOR_CRASH_ITERATIONS and TENZOR_CRASH_SEED override the defaults.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use tenzor::{DType, Editor, TensorFile, Writer, WriterOptions};

const CHILD_ENV: &str = "TENZOR_EDIT_CRASH_CHILD";
const READY: &str = "<editing>";
/// Elements per tensor: small ones, and one of 256 KiB whose writes take
/// long enough to be interrupted now and then.
const SIZES: [usize; 4] = [16, 1024, 64 * 1024, 3];

fn name(t: usize) -> String {
    format!("t{t}")
}

/// Every element of tensor `t` in generation `g`.
fn value(g: u32, t: usize) -> u32 {
    (g << 4) | t as u32
}

fn make(path: &Path) {
    let mut w = Writer::create(path, WriterOptions::default()).unwrap();
    for (t, &n) in SIZES.iter().enumerate() {
        let bytes: Vec<u8> = std::iter::repeat_n(value(0, t).to_le_bytes(), n)
            .flatten()
            .collect();
        w.add_tensor(&name(t), DType::U32, &[n as u64], &bytes)
            .unwrap();
    }
    w.finish().unwrap();
}

/// The child: edits in rounds of generation base+1, base+2, ... until
/// killed, flushing mid-round every other round and closing each round.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return; // a normal test run: nothing to do
    };
    let base: u32 = std::env::var("TENZOR_EDIT_CRASH_BASE")
        .unwrap()
        .parse()
        .unwrap();
    for round in 1..4000u32 {
        let mut ed = Editor::open(&path).unwrap();
        if round == 1 {
            // After libtest's "test crash_child ... " on the same line.
            println!("{READY}");
        }
        for t in 0..SIZES.len() {
            ed.slice_mut::<u32>(&name(t))
                .unwrap()
                .fill(value(base + round, t));
            if round % 2 == 0 && t == 1 {
                ed.flush().unwrap();
            }
        }
        ed.close().unwrap();
        // Between edits, as real programs are: the file is clean then.
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The distinct element values of a tensor, at most 3 of them.
fn distinct(data: &[u8]) -> Vec<u32> {
    let mut seen = Vec::new();
    for c in data.chunks_exact(4) {
        let v = u32::from_le_bytes(c.try_into().unwrap());
        if !seen.contains(&v) {
            seen.push(v);
            if seen.len() > 2 {
                break;
            }
        }
    }
    seen
}

#[derive(Default, Debug)]
struct Seen {
    clean: usize,
    marked: usize,
    stale: usize,
    header_stale: usize,
    torn: usize,
}

/// Checks the file after a kill; returns it repaired. `old` holds each
/// tensor's generation before the child ran; new ones are above `base`.
fn check_after_kill(path: &Path, old: &[u32], base: u32, seen: &mut Seen) -> Vec<u32> {
    let f = TensorFile::open(path).expect("the file opens after a kill");
    let mut stale = Vec::new();
    let mut torn = 0;
    let mut gens = Vec::new();
    for (t, &was) in old.iter().enumerate() {
        let tensor = f.get(&name(t)).unwrap();
        let vals = distinct(tensor.data());
        let legit = |v: &u32| {
            v & 0xf == t as u32 && (v >> 4 == was || (v >> 4 > base && v >> 4 < base + 4000))
        };
        assert!(
            vals.iter().all(legit) && (1..=2).contains(&vals.len()),
            "{}: tensor t{t} holds {vals:x?}, neither old (gen {was}) nor new",
            path.display()
        );
        if vals.len() == 2 {
            torn += 1;
        }
        if tensor.checksum() != Some(tenzor::format::checksum(tensor.data())) {
            stale.push(name(t));
        }
        gens.push(vals[0] >> 4);
    }
    assert!(
        torn <= 1,
        "{torn} tensors partly written: only one is written at a time"
    );
    seen.torn += torn;
    let names: Vec<String> = f.stale_tensors().iter().map(|t| t.display_name()).collect();
    assert_eq!(names, stale);
    if !f.edit_interrupted() {
        assert!(
            stale.is_empty() && torn == 0,
            "no mark, yet {stale:?} stale"
        );
        f.verify().expect("an unmarked file verifies");
        seen.clean += 1;
        return gens;
    }
    seen.marked += 1;
    let verify = f.verify();
    if !stale.is_empty() {
        seen.stale += 1;
        let msg = verify.as_ref().unwrap_err().message().to_string();
        for t in 0..old.len() {
            let quoted = format!("'{}'", name(t));
            assert_eq!(
                msg.contains(&quoted),
                stale.contains(&name(t)),
                "verify must name exactly {stale:?}: {msg}"
            );
        }
        assert!(msg.contains("stale after an interrupted edit"), "{msg}");
    }
    if let Err(e) = &verify {
        if e.message().contains("header checksum is stale") {
            seen.header_stale += 1;
        }
    }
    let data_before: Vec<Vec<u8>> = f.iter().map(|t| t.data().to_vec()).collect();
    drop(f);

    let out = Command::new(env!("CARGO_BIN_EXE_tenzor"))
        .arg("rehash")
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "rehash: {}", common::stderr(&out));
    for s in &stale {
        assert!(common::stdout(&out).contains(&format!("'{s}'")));
    }
    let f = TensorFile::open(path).unwrap();
    assert!(!f.edit_interrupted());
    f.verify().expect("verifies after rehash");
    let data_after: Vec<Vec<u8>> = f.iter().map(|t| t.data().to_vec()).collect();
    assert!(data_before == data_after, "rehash changes no tensor byte");
    if torn == 1 {
        // Leave every tensor uniform again for the next round's checks.
        drop(f);
        let mut ed = Editor::open(path).unwrap();
        for (t, g) in gens.iter().enumerate() {
            ed.slice_mut::<u32>(&name(t)).unwrap().fill(value(*g, t));
        }
        ed.close().unwrap();
    }
    gens
}

#[test]
fn sigkill_at_random_points_never_leaves_an_unreadable_or_dishonest_file() {
    let iterations: u32 = std::env::var("TENZOR_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mut rng = common::crash::Rng::from_env();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.tenzor");
    make(&path);
    let mut gens = vec![0u32; SIZES.len()];
    let mut seen = Seen::default();
    for i in 0..iterations {
        if i == iterations / 2 {
            // The second half edits the appendable layout, whose flush
            // commits a new generation instead of rewriting the index.
            let mut a = tenzor::Appender::open(&path, Default::default()).unwrap();
            a.add_tensor("extra", DType::U8, &[1], &[1]).unwrap();
            a.commit().unwrap();
            assert!(
                TensorFile::open(&path)
                    .unwrap()
                    .append_layout()
                    .unwrap()
                    .appendable
            );
        }
        let base = (i + 1) * 4096;
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .env("TENZOR_EDIT_CRASH_BASE", base.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        assert!(
            lines.any(|l| l.is_ok_and(|l| l.ends_with(READY))),
            "the child did not start editing"
        );
        // Mostly anywhere in the first rounds; one kill in eight right
        // after the open, before any view.
        let r = rng.next();
        let delay = if r % 8 == 0 { r % 300 } else { r % 20_000 };
        common::crash::kill_after(&mut child, Duration::from_micros(delay));
        gens = check_after_kill(&path, &gens, base, &mut seen);
    }
    println!("{iterations} kills: {seen:?}");
    assert!(
        seen.clean > 0 && seen.stale > 0,
        "the kills never landed both outside and inside an edit: {seen:?}"
    );
}

/// The power-loss model of FORMAT.md ("Edit mark"): between barrier B1 (the
/// mark is durable) and barrier B3 (data, entry checksums and header
/// checksum durable), any subset of the writes may reach the disk, each torn
/// at 512-byte sector boundaries. Every such state, materialised from the
/// bytes before and after a real edit, must open (marked), and `verify`
/// must name exactly the tensors whose bytes and stored checksum disagree;
/// `rehash` must restore a verifying file. After B3 the file verifies with
/// or without the mark.
#[test]
fn every_power_loss_state_of_an_edit_opens_marked_and_names_exactly_the_stale_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.tenzor");
    let mut w = Writer::create(&path, WriterOptions::default()).unwrap();
    for (t, len) in [1000usize, 600, 8].iter().enumerate() {
        w.add_tensor(&name(t), DType::U8, &[*len as u64], &vec![t as u8; *len])
            .unwrap();
    }
    w.finish().unwrap();

    let mut ed = Editor::open(&path).unwrap();
    let first = ed.data_mut(&name(0)).unwrap();
    // B1 is behind us: the mark is durable, nothing else changed yet.
    let marked = std::fs::read(&path).unwrap();
    first.fill(0xa0);
    ed.data_mut(&name(1)).unwrap().fill(0xa1);
    ed.data_mut(&name(2)).unwrap().fill(0xa2);
    ed.close().unwrap();
    let new = std::fs::read(&path).unwrap();
    assert_eq!(marked[12] & 2, 2);
    assert_eq!(new[12] & 2, 0);

    // The writes between B1 and B3: every changed byte but the mark, cut
    // into units at sector boundaries (a unit lands whole or not at all).
    let mut units: Vec<(usize, usize)> = Vec::new();
    for i in (0..new.len()).filter(|&i| i != 12 && marked[i] != new[i]) {
        match units.last_mut() {
            Some((_, end)) if *end == i && i % 512 != 0 => *end += 1,
            _ => units.push((i, i + 1)),
        }
    }
    assert!(
        (8..=16).contains(&units.len()),
        "{} write units: {units:?}",
        units.len()
    );
    let mut after_b3 = new.clone();
    after_b3[12] |= 2;
    let mut stale_states = 0;
    for subset in 0u32..(1 << units.len()) {
        let mut state = marked.clone();
        for (u, &(a, b)) in units.iter().enumerate() {
            if subset & (1 << u) != 0 {
                state[a..b].copy_from_slice(&new[a..b]);
            }
        }
        let f = TensorFile::from_bytes(&state).expect("every crash state opens");
        assert!(f.edit_interrupted());
        let stale: Vec<String> = f
            .iter()
            .filter(|t| t.checksum() != Some(tenzor::format::checksum(t.data())))
            .map(|t| t.display_name())
            .collect();
        match f.verify() {
            Ok(()) => assert!(stale.is_empty(), "verify passed with {stale:?} stale"),
            Err(e) => {
                for t in 0..3 {
                    let named = e.message().contains(&format!("'{}'", name(t)));
                    assert_eq!(named, stale.contains(&name(t)), "{}", e.message());
                }
                stale_states += !stale.is_empty() as usize;
            }
        }
        if subset % 97 == 0 || subset + 1 == 1 << units.len() {
            std::fs::write(&path, &state).unwrap();
            tenzor::rehash(&path).unwrap();
            let f = TensorFile::open(&path).unwrap();
            assert!(!f.edit_interrupted());
            f.verify().unwrap();
        }
    }
    assert!(stale_states > 0);
    // After B3, before or after the mark is cleared: verifies.
    for state in [&after_b3, &new] {
        TensorFile::from_bytes(state).unwrap().verify().unwrap();
    }
}
