//! Appending and replacing (modes a / a+): content after each commit,
//! byte-identity of files never appended, the lock, refusals, leftovers of
//! interrupted appends, and readers holding views across commits.

use std::path::Path;

use tenzor::{AppendOptions, Appender, DType, ErrorKind, TensorFile, Writer, WriterOptions};

fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A canonical file with tensors a (2 x f32), b (3 x u8) and metadata.
fn canonical(path: &Path) -> Vec<u8> {
    let mut w = Writer::create(path, WriterOptions::default()).unwrap();
    w.set_metadata(r#"{"k": 1}"#).unwrap();
    w.add_tensor("a", DType::F32, &[2], &f32s(&[1.0, 2.0]))
        .unwrap();
    w.add_tensor("b", DType::U8, &[3], &[7, 8, 9]).unwrap();
    w.finish().unwrap();
    std::fs::read(path).unwrap()
}

fn names(f: &TensorFile<'_>) -> Vec<String> {
    f.iter().map(|t| t.name().unwrap().to_string()).collect()
}

#[test]
fn append_adds_replaces_and_reads_back_before_commit() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.tenzor");
    canonical(&p);
    let mut a = Appender::open(&p, AppendOptions::default()).unwrap();
    assert_eq!(a.next_generation(), 1);
    a.add_tensor("c", DType::I32, &[1], &5i32.to_le_bytes())
        .unwrap();
    a.add_tensor("a", DType::F32, &[3], &f32s(&[4.0, 5.0, 6.0]))
        .unwrap();
    // a+: old and new tensors through the same handle, before commit.
    assert_eq!(a.get("b").unwrap().unwrap().data(), &[7, 8, 9]);
    let c = a.get("c").unwrap().unwrap();
    assert_eq!(c.data(), &5i32.to_le_bytes());
    assert_eq!(c.position(), 2);
    let new_a = a.get("a").unwrap().unwrap();
    assert_eq!(new_a.shape(), &[3]);
    assert_eq!(new_a.position(), 0);
    assert_eq!(new_a.name_cstr().unwrap().to_bytes(), b"a");
    assert!(a.get("zzz").unwrap().is_none());
    let dup = a.add_tensor("c", DType::U8, &[0], &[]).unwrap_err();
    assert_eq!(dup.kind(), ErrorKind::DuplicateName);
    // Before commit the file still reads as before.
    let before = TensorFile::open(&p).unwrap();
    assert_eq!(names(&before), ["a", "b"]);
    a.commit().unwrap();

    let f = TensorFile::open(&p).unwrap();
    assert_eq!(names(&f), ["a", "b", "c"], "a keeps its position");
    assert_eq!(
        f.get("a").unwrap().as_slice::<f32>().unwrap(),
        &[4.0, 5.0, 6.0]
    );
    assert_eq!(f.get("b").unwrap().data(), &[7, 8, 9]);
    assert_eq!(f.metadata().unwrap()["k"], 1);
    f.verify().unwrap();
    let l = f.append_layout().unwrap();
    assert!(l.appendable);
    assert_eq!(l.generation, 1);
    assert!(l.dead_bytes >= 8, "the old 'a' is dead: {l:?}");
    assert_eq!(l.uncommitted_bytes, 0);
    assert_eq!(f.header().flags & tenzor::format::FLAG_APPENDABLE, 1);
    for t in f.iter() {
        assert_eq!(t.file_offset() % f.alignment(), 0);
    }
    // The reader that opened before the commit still sees the old content.
    assert_eq!(before.get("a").unwrap().shape(), &[2]);

    // Further generations alternate slots; metadata is replaced.
    for g in 2..6u64 {
        let mut a = Appender::open(&p, AppendOptions::default()).unwrap();
        assert_eq!(a.next_generation(), g);
        a.add_tensor(&format!("t{g}"), DType::U64, &[1], &g.to_le_bytes())
            .unwrap();
        a.set_metadata(&format!(r#"{{"gen": {g}}}"#)).unwrap();
        a.commit().unwrap();
        let f = TensorFile::open(&p).unwrap();
        assert_eq!(f.append_layout().unwrap().generation, g);
        assert_eq!(f.metadata().unwrap()["gen"], g);
        assert_eq!(f.len(), 3 + (g - 1) as usize);
        f.verify().unwrap();
    }
}

#[test]
fn a_file_never_committed_to_stays_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.tenzor");
    let orig = canonical(&p);
    let mut a = Appender::open(&p, AppendOptions::default()).unwrap();
    a.add_tensor("c", DType::U8, &[1000], &[1; 1000]).unwrap();
    a.reserve("d", DType::F32, &[10]).unwrap()[0] = 1;
    drop(a);
    assert_eq!(std::fs::read(&p).unwrap(), orig);
}

#[test]
fn missing_files_are_created_canonical() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("new.tenzor");
    let mut a = Appender::open(&p, AppendOptions::default()).unwrap();
    assert!(a.is_new_file());
    a.add_tensor("x", DType::U8, &[2], &[1, 2]).unwrap();
    assert_eq!(a.get("x").unwrap().unwrap().data(), &[1, 2]);
    a.commit().unwrap();
    let f = TensorFile::open(&p).unwrap();
    assert!(!f.append_layout().unwrap().appendable);
    assert_eq!(f.get("x").unwrap().data(), &[1, 2]);
}

#[test]
fn one_writer_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.tenzor");
    canonical(&p);
    let a = Appender::open(&p, AppendOptions::default()).unwrap();
    let e = Appender::open(&p, AppendOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Busy);
    assert!(e.to_string().contains("m.tenzor"), "{e}");
    assert!(e.to_string().contains("lock"), "{e}");
    drop(a);
    Appender::open(&p, AppendOptions::default()).unwrap();
}

#[test]
fn foreign_and_legacy_files_are_refused_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // An empty legacy v1 file: header only, index and data at 64.
    let mut v1 = b"TENZOR\0\0".to_vec();
    v1.extend_from_slice(&1u32.to_le_bytes());
    v1.resize(64, 0);
    v1[24..32].copy_from_slice(&64u64.to_le_bytes());
    v1[32..40].copy_from_slice(&64u64.to_le_bytes());
    let cases = [
        (
            "sample.safetensors",
            std::fs::read(root.join("examples/sample.safetensors")).unwrap(),
        ),
        (
            "small.gguf",
            std::fs::read(root.join("tests/fixtures/gguf/small.gguf")).unwrap(),
        ),
        ("legacy.tenzor", v1),
    ];
    for (name, orig) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, &orig).unwrap();
        TensorFile::open(&p).unwrap();
        let e = Appender::open(&p, AppendOptions::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
        assert!(e.to_string().contains("tenzor convert"), "{e}");
        assert_eq!(std::fs::read(&p).unwrap(), orig);
    }
}

#[test]
fn leftovers_of_an_interrupted_first_append_are_accepted_and_cut() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.tenzor");
    let orig = canonical(&p);
    let root = orig.len().next_multiple_of(4096);
    // Zeros up to the root area, the root area, some bytes: a crash's tail.
    let mut tailed = orig.clone();
    tailed.resize(root + 8192 + 100, 0);
    tailed[root + 8192..].fill(0xAB);
    std::fs::write(&p, &tailed).unwrap();
    let f = TensorFile::open(&p).unwrap();
    assert_eq!(names(&f), ["a", "b"]);
    let l = f.append_layout().unwrap();
    assert!(!l.appendable);
    assert_eq!(l.uncommitted_bytes, (tailed.len() - orig.len()) as u64);
    drop(f);
    drop(Appender::open(&p, AppendOptions::default()).unwrap());
    assert_eq!(std::fs::read(&p).unwrap(), orig, "the tail is cut");

    // Anything else after the last tensor is still refused.
    let mut short = orig.clone();
    short.resize(root + 100, 0);
    std::fs::write(&p, &short).unwrap();
    let e = TensorFile::open(&p).unwrap_err();
    assert!(e.to_string().contains("trailing bytes"), "{e}");
    let mut nonzero = orig.clone();
    nonzero.resize(root + 8192 + 1, 0);
    nonzero[orig.len()] = 1;
    std::fs::write(&p, &nonzero).unwrap();
    assert!(TensorFile::open(&p).is_err());
}

#[test]
fn readers_holding_views_see_unchanged_bytes_across_commits() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.tenzor");
    canonical(&p);
    let mut readers = Vec::new();
    for g in 0..6u8 {
        let f = TensorFile::open(&p).unwrap();
        let snapshot: Vec<Vec<u8>> = f.iter().map(|t| t.data().to_vec()).collect();
        readers.push((f, snapshot));
        let mut a = Appender::open(&p, AppendOptions::default()).unwrap();
        a.add_tensor("a", DType::F32, &[2], &f32s(&[g as f32, 0.0]))
            .unwrap();
        a.add_tensor(&format!("n{g}"), DType::U8, &[4096], &[g; 4096])
            .unwrap();
        a.commit().unwrap();
        for (f, snap) in &readers {
            let now: Vec<&[u8]> = f.iter().map(|t| t.data()).collect();
            assert_eq!(now, snap.iter().map(|v| &v[..]).collect::<Vec<_>>());
        }
    }
}

#[test]
fn writer_reserve_fills_in_place_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("w.tenzor");
    let opts = WriterOptions {
        reserve_tensors: 1, // too small: finish must move the data
        ..Default::default()
    };
    let mut w = Writer::create(&p, opts).unwrap();
    w.add_tensor("first", DType::U8, &[3], &[1, 2, 3]).unwrap();
    let buf = w.reserve("r", DType::F32, &[4]).unwrap();
    assert_eq!(buf.len(), 16);
    assert!(buf.iter().all(|&b| b == 0));
    buf.copy_from_slice(&f32s(&[1.5, 2.5, 3.5, 4.5]));
    w.add_tensor("last", DType::U8, &[2], &[9, 9]).unwrap();
    let r = w.get("r").unwrap().unwrap();
    assert_eq!(r.as_slice::<f32>().unwrap(), &[1.5, 2.5, 3.5, 4.5]);
    assert_eq!(r.checksum(), None, "computed at finish");
    assert_eq!(w.get("first").unwrap().unwrap().data(), &[1, 2, 3]);
    assert!(w.get("none").unwrap().is_none());
    let e = w.reserve("r", DType::U8, &[1]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DuplicateName);
    w.reserve("empty", DType::F32, &[0]).unwrap();
    w.finish().unwrap();
    let f = TensorFile::open(&p).unwrap();
    f.verify().unwrap();
    assert_eq!(names(&f), ["first", "r", "last", "empty"]);
    assert_eq!(
        f.get("r").unwrap().as_slice::<f32>().unwrap(),
        &[1.5, 2.5, 3.5, 4.5]
    );
    assert_eq!(f.get("last").unwrap().data(), &[9, 9]);
}

#[test]
fn reserve_fills_a_multi_gigabyte_tensor_in_a_sparse_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.tenzor");
    let n: u64 = (9 << 30) / 4; // 2.25 GiB of U8: past 2^31, more than a test buffer would hold
    let mut w = Writer::create(&p, WriterOptions::default()).unwrap();
    let buf = w.reserve("big", DType::U8, &[n]).unwrap();
    // Touch a few pages only: the rest stays a hole.
    for at in [0, (n / 2) as usize, n as usize - 1] {
        buf[at] = 0x5A;
    }
    w.finish().unwrap();
    let f = TensorFile::open(&p).unwrap();
    let t = f.get("big").unwrap();
    assert_eq!(t.data().len() as u64, n);
    assert_eq!(t.data()[(n / 2) as usize], 0x5A);
    assert_eq!(t.data()[n as usize - 1], 0x5A);
    assert_eq!(t.data()[1], 0);

    // The same through an appender.
    let mut a = Appender::open(&p, AppendOptions::default()).unwrap();
    let m = n / 2;
    let buf = a.reserve("big2", DType::U8, &[m]).unwrap();
    buf[m as usize - 1] = 0xA5;
    a.commit().unwrap();
    let f = TensorFile::open(&p).unwrap();
    assert_eq!(f.get("big2").unwrap().data()[m as usize - 1], 0xA5);
    assert_eq!(f.get("big").unwrap().data()[0], 0x5A);
}

#[test]
fn appender_refuses_a_marked_file_and_waits_for_an_editor() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.tenzor");
    let orig = canonical(&p);
    // The edit mark (bit 1, outside the header checksum) of a crashed edit.
    let mut marked = orig.clone();
    marked[12] |= 2;
    std::fs::write(&p, &marked).unwrap();
    let e = Appender::open(&p, AppendOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Checksum, "{e}");
    assert!(e.to_string().contains("rehash"), "{e}");
    assert_eq!(std::fs::read(&p).unwrap(), marked);
    // An appendable file: the editor opens it (its flush commits a new
    // generation, tests/edit.rs); opening and closing changes nothing.
    std::fs::write(&p, &orig).unwrap();
    let mut a = Appender::open(&p, AppendOptions::default()).unwrap();
    a.add_tensor("c", DType::U8, &[1], &[1]).unwrap();
    a.commit().unwrap();
    let before = std::fs::read(&p).unwrap();
    tenzor::Editor::open(&p).unwrap().close().unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), before);
    // While an appender holds the file, an editor is Busy.
    let a = Appender::open(&p, AppendOptions::default()).unwrap();
    assert_eq!(
        tenzor::Editor::open(&p).unwrap_err().kind(),
        ErrorKind::Busy
    );
    drop(a);
}

#[test]
fn cli_append_compact_and_info() {
    let dir = tempfile::tempdir().unwrap();
    let (dest, src) = (dir.path().join("d.tenzor"), dir.path().join("s.tenzor"));
    let orig = canonical(&dest);
    let mut w = Writer::create(&src, WriterOptions::default()).unwrap();
    w.add_tensor("b", DType::U8, &[3], &[4, 5, 6]).unwrap();
    w.add_tensor("new", DType::U8, &[1], &[1]).unwrap();
    w.finish().unwrap();
    let run = |args: &[&std::ffi::OsStr]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tenzor"))
            .args(args)
            .output()
            .unwrap()
    };
    let (d, s) = (dest.as_os_str(), src.as_os_str());
    let clash = run(&["append".as_ref(), d, s]);
    assert!(!clash.status.success());
    let err = String::from_utf8_lossy(&clash.stderr);
    assert!(err.contains("'b'") && err.contains("--replace"), "{err}");
    assert_eq!(std::fs::read(&dest).unwrap(), orig, "nothing committed");
    let ok = run(&["append".as_ref(), d, s, "--replace".as_ref()]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let f = TensorFile::open(&dest).unwrap();
    assert_eq!(names(&f), ["a", "b", "new"]);
    assert_eq!(f.get("b").unwrap().data(), &[4, 5, 6]);
    drop(f);
    let info = String::from_utf8_lossy(&run(&["info".as_ref(), d]).stdout).to_string();
    assert!(info.contains("layout appendable  generation 1"), "{info}");
    let compact = run(&["compact".as_ref(), d]);
    assert!(compact.status.success());
    let info = String::from_utf8_lossy(&run(&["info".as_ref(), d]).stdout).to_string();
    assert!(
        info.contains("layout canonical  generation 0  dead space 0"),
        "{info}"
    );
    let f = TensorFile::open(&dest).unwrap();
    f.verify().unwrap();
    assert_eq!(names(&f), ["a", "b", "new"]);
    assert_eq!(f.metadata().unwrap()["k"], 1);
}

/// An appended file (generations 1 and 2) and where its root area starts.
fn two_generations(p: &Path) -> (Vec<u8>, usize) {
    let orig = canonical(p);
    for g in 1..=2u8 {
        let mut a = Appender::open(p, AppendOptions::default()).unwrap();
        a.add_tensor(&format!("g{g}"), DType::U8, &[100], &[g; 100])
            .unwrap();
        a.commit().unwrap();
    }
    (std::fs::read(p).unwrap(), orig.len().next_multiple_of(4096))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Offset and size of the index region that root slot 0 (which holds
/// generation 2 of `two_generations`) points to.
fn newest_region(bytes: &[u8], roots: usize) -> (usize, usize) {
    (
        u64_at(bytes, roots + 16) as usize,
        u64_at(bytes, roots + 24) as usize,
    )
}

#[test]
fn a_damaged_newest_region_falls_back_and_verify_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.tenzor");
    let (mut bytes, r) = two_generations(&p);
    // Generation 2 lives in slot 0; flip one byte of its region's names.
    let (off, size) = newest_region(&bytes, r);
    bytes[off + size - 2] ^= 1;
    std::fs::write(&p, &bytes).unwrap();
    let f = TensorFile::open(&p).unwrap();
    assert_eq!(f.append_layout().unwrap().generation, 1);
    assert!(f.get("g2").is_none() && f.get("g1").is_some());
    let e = f.verify().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Checksum);
    assert!(e.to_string().contains("generation 2"), "{e}");
}

#[test]
fn a_forged_region_with_valid_checksums_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.tenzor");
    let (mut bytes, r) = two_generations(&p);
    let (off, size) = newest_region(&bytes, r);
    // Point the first entry's data into the root area, then re-sign the
    // region and the slot: every checksum holds, a structural rule does not.
    let meta = u32::from_le_bytes(bytes[off + 20..off + 24].try_into().unwrap()) as usize;
    let entry = off + (64 + meta).next_multiple_of(8);
    let data_offset = u64_at(&bytes, 32) as usize;
    let bad = (r - data_offset) as u64;
    bytes[entry + 88..entry + 96].copy_from_slice(&bad.to_le_bytes());
    let sum = tenzor::format::checksum(&bytes[off..off + size]);
    bytes[r + 32..r + 40].copy_from_slice(&sum.to_le_bytes());
    let slot_sum = tenzor::format::checksum(&bytes[r..r + 56]);
    bytes[r + 56..r + 64].copy_from_slice(&slot_sum.to_le_bytes());
    std::fs::write(&p, &bytes).unwrap();
    let e = TensorFile::open(&p).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadFormat, "{e}");
    assert!(e.to_string().contains("generation 2"), "{e}");
    assert!(e.to_string().contains("root area"), "{e}");
}
