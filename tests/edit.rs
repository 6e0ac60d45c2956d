//! In-place editing (mode r+): mutable views, flush, the edit mark and its
//! repair, locking, foreign files, and refusals.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use half::f16;
use tenzor::format::{checksum, hdr, FLAG_APPENDABLE, FLAG_EDITING};
use tenzor::{rehash, DType, Editor, ErrorKind, Format, TensorFile, Writer, WriterOptions};

/// Tests that start processes run alone. A child between fork and exec
/// briefly shares every descriptor of this process, a write lock's too
/// (flock semantics), so a lock released by a close in another test could
/// seem held for that moment.
static SPAWNS: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn no_spawns() -> std::sync::RwLockReadGuard<'static, ()> {
    SPAWNS.read().unwrap_or_else(|e| e.into_inner())
}

fn spawning() -> std::sync::RwLockWriteGuard<'static, ()> {
    SPAWNS.write().unwrap_or_else(|e| e.into_inner())
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A .tenzor file with an F32, an F16 and a U8 tensor.
fn make(dir: &Path) -> PathBuf {
    let path = dir.join("m.tenzor");
    let mut w = Writer::create(&path, WriterOptions::default()).unwrap();
    w.set_metadata(r#"{"k": 1}"#).unwrap();
    w.add_tensor("w", DType::F32, &[2, 2], &f32_bytes(&[1.0, 2.0, 3.0, 4.0]))
        .unwrap();
    let h: Vec<u8> = [0.5f32, 1.5, 2.5]
        .iter()
        .flat_map(|v| f16::from_f32(*v).to_le_bytes())
        .collect();
    w.add_tensor("h", DType::F16, &[3], &h).unwrap();
    w.add_tensor("bytes", DType::U8, &[5], &[1, 2, 3, 4, 5])
        .unwrap();
    w.finish().unwrap();
    path
}

fn flags(path: &Path) -> u32 {
    let b = std::fs::read(path).unwrap();
    u32::from_le_bytes(b[hdr::FLAGS..hdr::FLAGS + 4].try_into().unwrap())
}

fn set_flag(path: &Path, bit: u32) {
    let mut b = std::fs::read(path).unwrap();
    b[hdr::FLAGS] |= bit as u8;
    std::fs::write(path, b).unwrap();
}

/// Overwrites a tensor's bytes behind tenzor's back (checksum left stale).
fn scribble(path: &Path, name: &str) {
    let off = TensorFile::open(path)
        .unwrap()
        .get(name)
        .unwrap()
        .file_offset() as usize;
    let mut b = std::fs::read(path).unwrap();
    b[off] ^= 0xff;
    std::fs::write(path, b).unwrap();
}

#[test]
fn bytes_and_typed_edits_survive_close_and_reopen_and_verify() {
    let _guard = no_spawns();
    let dir = tempfile::tempdir().unwrap();
    let path = make(dir.path());
    let before = std::fs::read(&path).unwrap();
    let mut ed = Editor::open(&path).unwrap();
    assert_eq!((ed.format(), ed.len()), (Format::Tenzor, 3));
    ed.slice_mut::<f32>("w")
        .unwrap()
        .copy_from_slice(&[9.0, 8.0, 7.0, 6.0]);
    ed.slice_mut::<f16>("h")
        .unwrap()
        .copy_from_slice(&[f16::from_f32(-1.0); 3]);
    let b = ed.data_mut("bytes").unwrap();
    assert_eq!(b.len(), 5, "the view is exactly the tensor");
    b.copy_from_slice(&[50, 40, 30, 20, 10]);
    // Reads through the editor show the edits at once.
    assert_eq!(ed.get("bytes").unwrap().data(), &[50, 40, 30, 20, 10]);
    ed.close().unwrap();

    let f = TensorFile::open(&path).unwrap();
    f.verify().unwrap();
    assert!(!f.edit_interrupted());
    assert_eq!(
        f.get("w").unwrap().as_slice::<f32>().unwrap(),
        &[9.0, 8.0, 7.0, 6.0]
    );
    assert_eq!(
        f.get("h").unwrap().as_slice::<f16>().unwrap(),
        &[f16::from_f32(-1.0); 3]
    );
    assert_eq!(f.get("bytes").unwrap().data(), &[50, 40, 30, 20, 10]);
    for t in f.iter() {
        assert_eq!(
            t.checksum(),
            Some(checksum(t.data())),
            "{}",
            t.display_name()
        );
    }
    // Same size, same structure: only data, entry checksums and the header
    // checksum differ.
    let after = std::fs::read(&path).unwrap();
    assert_eq!(after.len(), before.len());
    assert_eq!(flags(&path), 0);
    assert_eq!(after[..hdr::CHECKSUM], before[..hdr::CHECKSUM]);
}

#[test]
fn the_mark_is_set_while_writable_views_exist_and_mapped_readers_see_new_bytes() {
    let _guard = no_spawns();
    let dir = tempfile::tempdir().unwrap();
    let path = make(dir.path());
    let reader = TensorFile::open(&path).unwrap();
    let old = reader.get("bytes").unwrap().data();
    assert_eq!(old, &[1, 2, 3, 4, 5]);

    let mut ed = Editor::open(&path).unwrap();
    assert_eq!(flags(&path), 0, "opening alone does not mark the file");
    ed.data_mut("bytes").unwrap()[0] = 99;
    assert_eq!(flags(&path), FLAG_EDITING, "the first view marks the file");
    // The reader's view shares the mapping's pages.
    assert_eq!(old[0], 99);
    let during = TensorFile::open(&path).unwrap();
    assert!(during.edit_interrupted() && during.header().edit_interrupted);
    let err = during.verify().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Checksum);
    assert!(err.message().contains("'bytes'"), "{err}");

    ed.flush().unwrap();
    assert_eq!(flags(&path), 0, "flush clears the mark");
    TensorFile::open(&path).unwrap().verify().unwrap();
    // A new view after a flush marks again; dropping the editor flushes.
    ed.data_mut_at(0).unwrap()[0] = 7;
    assert_eq!(flags(&path), FLAG_EDITING);
    drop(ed);
    assert_eq!(flags(&path), 0);
    let f = TensorFile::open(&path).unwrap();
    f.verify().unwrap();
    assert_eq!(f.get_at(0).unwrap().data()[0], 7);
}

#[test]
fn an_editor_that_writes_nothing_leaves_the_file_byte_identical() {
    let _guard = no_spawns();
    let dir = tempfile::tempdir().unwrap();
    let path = make(dir.path());
    let before = std::fs::read(&path).unwrap();
    let mut ed = Editor::open(&path).unwrap();
    assert_eq!(ed.get("w").unwrap().dtype(), DType::F32);
    ed.flush().unwrap();
    ed.close().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_mark_left_set_is_shown_named_and_repaired_by_rehash() {
    let _guard = no_spawns();
    let dir = tempfile::tempdir().unwrap();
    let path = make(dir.path());
    set_flag(&path, FLAG_EDITING);
    scribble(&path, "h");

    let f = TensorFile::open(&path).unwrap();
    assert!(f.edit_interrupted());
    let stale: Vec<String> = f.stale_tensors().iter().map(|t| t.display_name()).collect();
    assert_eq!(stale, ["h"]);
    let err = f.verify().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Checksum);
    let msg = err.message();
    assert!(
        msg.contains("tensor is stale after an interrupted edit: 'h'")
            && msg.contains("rehash")
            && msg.starts_with(&path.display().to_string()),
        "{msg}"
    );
    assert!(!msg.contains("'w'") && !msg.contains("corrupted"), "{msg}");
    drop(f);

    let err = Editor::open(&path).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Checksum);
    assert!(err.message().contains("rehash"), "{err}");

    assert_eq!(rehash(&path).unwrap(), ["h"]);
    assert_eq!(flags(&path), 0);
    let f = TensorFile::open(&path).unwrap();
    f.verify().unwrap();
    assert!(!f.edit_interrupted());
    // Nothing left to do: a second rehash changes nothing.
    let before = std::fs::read(&path).unwrap();
    assert!(rehash(&path).unwrap().is_empty());
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn with_the_mark_a_stale_header_checksum_is_tolerated_but_structure_is_checked() {
    let _guard = no_spawns();
    let dir = tempfile::tempdir().unwrap();
    let path = make(dir.path());
    let f = TensorFile::open(&path).unwrap();
    let t = f.get("w").unwrap();
    let stored = t.checksum().unwrap();
    // Where the entry's checksum lies: find the stored value in the index.
    let b = std::fs::read(&path).unwrap();
    let at = b
        .windows(8)
        .position(|w| w == stored.to_le_bytes())
        .unwrap();
    drop(f);
    let mut bad = b.clone();
    bad[at] ^= 1; // a checksum write that reached the index, header not yet
    std::fs::write(&path, &bad).unwrap();
    let err = TensorFile::open(&path).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Checksum, "no mark: corruption");

    bad[hdr::FLAGS] |= FLAG_EDITING as u8;
    std::fs::write(&path, &bad).unwrap();
    let f = TensorFile::open(&path).unwrap();
    let msg = f.verify().unwrap_err().message().to_string();
    assert!(
        msg.contains("'w'") && msg.contains("header checksum is stale"),
        "{msg}"
    );
    drop(f);
    assert_eq!(rehash(&path).unwrap(), ["w"]);
    TensorFile::open(&path).unwrap().verify().unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b,
        "rehash restores the original"
    );

    // The mark excuses checksums, never structure.
    let mut broken = b.clone();
    broken[hdr::FLAGS] |= FLAG_EDITING as u8;
    let size_at = at - 8; // data_size precedes the checksum
    broken[size_at] ^= 4;
    std::fs::write(&path, &broken).unwrap();
    let err = TensorFile::open(&path).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadFormat, "{err}");
    assert!(err.message().contains("'w'"), "{err}");
}

#[test]
fn rehash_refuses_corruption_without_the_mark_and_formats_without_checksums() {
    let _guard = no_spawns();
    let dir = tempfile::tempdir().unwrap();
    let path = make(dir.path());
    scribble(&path, "bytes");
    let before = std::fs::read(&path).unwrap();
    let err = rehash(&path).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Checksum);
    assert!(
        err.message().contains("'bytes'") && err.message().contains("corrupted"),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before, "nothing hidden");

    let st = sample_as(dir.path(), "m.safetensors");
    assert_eq!(rehash(&st).unwrap_err().kind(), ErrorKind::Unsupported);
}

#[test]
fn one_editor_at_a_time_and_rehash_waits_for_none() {
    let _guard = no_spawns();
    let dir = tempfile::tempdir().unwrap();
    let path = make(dir.path());
    let mut first = Editor::open(&path).unwrap();
    first.data_mut("w").unwrap()[0] = 1;
    let err = Editor::open(&path).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy);
    assert!(
        err.message().starts_with(&path.display().to_string())
            && err.message().contains("write lock"),
        "{err}"
    );
    // A live edit holds the mark legitimately: rehash must not clear it.
    assert_eq!(rehash(&path).unwrap_err().kind(), ErrorKind::Busy);
    assert_eq!(flags(&path), FLAG_EDITING);
    // Readers are never blocked.
    TensorFile::open(&path).unwrap();
    first.close().unwrap();
    Editor::open(&path).unwrap().close().unwrap();
}

#[test]
fn missing_names_positions_types_and_files_are_errors_naming_them() {
    let _guard = no_spawns();
    let dir = tempfile::tempdir().unwrap();
    let path = make(dir.path());
    let mut ed = Editor::open(&path).unwrap();
    let err = ed.data_mut("nope").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("'nope'") && err.message().contains("m.tenzor"));
    assert_eq!(ed.data_mut_at(3).unwrap_err().kind(), ErrorKind::OutOfRange);
    let err = ed.slice_mut::<f16>("w").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WrongType);
    assert!(
        err.message().contains("tensor 'w': is F32, not F16"),
        "{err}"
    );
    assert_eq!(
        flags(&path),
        0,
        "failed calls hand nothing out, mark nothing"
    );
    drop(ed);

    let err = Editor::open(dir.path().join("absent.tenzor")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.message().contains("absent.tenzor"), "{err}");
    let err = Editor::open(dir.path()).unwrap_err();
    assert!(err.message().contains("directory") || err.kind() == ErrorKind::Io);
}

#[test]
fn appendable_files_commit_the_new_checksums_as_a_new_generation() {
    let _guard = no_spawns();
    let dir = tempfile::tempdir().unwrap();
    let path = make(dir.path());
    // A real appendable file (one append committed).
    let mut a = tenzor::Appender::open(&path, Default::default()).unwrap();
    a.add_tensor("appended", DType::U8, &[3], &[1, 2, 3])
        .unwrap();
    a.commit().unwrap();
    assert_eq!(flags(&path) & FLAG_APPENDABLE, FLAG_APPENDABLE);
    let generation = |p: &Path| {
        TensorFile::open(p)
            .unwrap()
            .append_layout()
            .unwrap()
            .generation
    };
    assert_eq!(generation(&path), 1);
    // A reader of generation 1 holds its index: it must never change.
    let reader = TensorFile::open(&path).unwrap();
    let old_sum = reader.get("bytes").unwrap().checksum();

    let mut ed = Editor::open(&path).unwrap();
    ed.data_mut("appended").unwrap().copy_from_slice(&[7, 8, 9]);
    ed.data_mut("bytes").unwrap()[0] = 42;
    assert_eq!(flags(&path), FLAG_APPENDABLE | FLAG_EDITING);
    ed.flush().unwrap();
    assert_eq!(flags(&path), FLAG_APPENDABLE);
    assert_eq!(
        generation(&path),
        2,
        "the checksums went into a new generation"
    );
    // Editing back to the bytes of generation 1 is committed too.
    ed.data_mut("appended").unwrap().copy_from_slice(&[1, 2, 3]);
    ed.close().unwrap();
    assert_eq!(generation(&path), 3);
    assert_eq!(reader.get("bytes").unwrap().checksum(), old_sum);

    let f = TensorFile::open(&path).unwrap();
    f.verify().unwrap();
    assert_eq!(f.get("appended").unwrap().data(), &[1, 2, 3]);
    assert_eq!(f.get("bytes").unwrap().data()[0], 42);
    drop(f);

    // A mark left set is named and repaired the same way.
    set_flag(&path, FLAG_EDITING);
    scribble(&path, "appended");
    let f = TensorFile::open(&path).unwrap();
    let msg = f.verify().unwrap_err().message().to_string();
    assert!(
        msg.contains("stale after an interrupted edit: 'appended'"),
        "{msg}"
    );
    drop(f);
    assert_eq!(rehash(&path).unwrap(), ["appended"]);
    assert_eq!(generation(&path), 4);
    let f = TensorFile::open(&path).unwrap();
    assert!(!f.edit_interrupted());
    f.verify().unwrap();
    // The appender takes it from there.
    drop(f);
    let mut a = tenzor::Appender::open(&path, Default::default()).unwrap();
    a.add_tensor("more", DType::U8, &[1], &[5]).unwrap();
    a.commit().unwrap();
    TensorFile::open(&path).unwrap().verify().unwrap();
}

#[test]
fn shard_indexes_are_refused() {
    let _guard = no_spawns();
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("model.safetensors.index.json");
    std::fs::write(&index, r#"{"weight_map": {}}"#).unwrap();
    assert_eq!(
        Editor::open(&index).unwrap_err().kind(),
        ErrorKind::Unsupported
    );
}

/// Converts the sample to `name` (format from the extension).
fn sample_as(dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    tenzor::convert(
        &common::root().join("examples/sample.safetensors"),
        &out,
        &Default::default(),
        &mut |_, _| {},
    )
    .unwrap();
    out
}

#[test]
fn foreign_files_are_edited_in_place_without_a_mark() {
    let _guard = no_spawns();
    let dir = tempfile::tempdir().unwrap();
    for (name, format) in [
        ("s.safetensors", Format::Safetensors),
        ("s.gguf", Format::Gguf),
    ] {
        let path = sample_as(dir.path(), name);
        let before = std::fs::read(&path).unwrap();
        let mut ed = Editor::open(&path).unwrap();
        assert_eq!(ed.format(), format);
        let t = ed.get_at(0).unwrap();
        let (off, len, tname) = (t.file_offset() as usize, t.data().len(), t.display_name());
        ed.data_mut(&tname).unwrap().fill(0xab);
        assert_eq!(
            std::fs::read(&path).unwrap()[hdr::FLAGS],
            before[hdr::FLAGS]
        );
        ed.close().unwrap();
        let after = std::fs::read(&path).unwrap();
        assert_eq!(after.len(), before.len());
        assert!(after[off..off + len].iter().all(|&b| b == 0xab));
        assert_eq!(
            after[..off],
            before[..off],
            "{name}: only the tensor changed"
        );
        assert_eq!(after[off + len..], before[off + len..]);
        let f = TensorFile::open(&path).unwrap();
        assert!(f.get(&tname).unwrap().data().iter().all(|&b| b == 0xab));
        assert!(!f.edit_interrupted());
    }
}

/// A one-tensor legacy v1 file (U8 [4]).
fn legacy_file(dir: &Path) -> PathBuf {
    let mut b = vec![0u8; 4096];
    b[..8].copy_from_slice(b"TENZOR\0\0");
    b[8] = 1; // version
    b[16] = 1; // one tensor
    b[24] = 64; // index at 64
    b[32..40].copy_from_slice(&4096u64.to_le_bytes());
    b[64..72].copy_from_slice(&tenzor::hash_name(b"t").to_le_bytes());
    b[72] = 8; // U8
    b[73] = 1; // rank 1
    b[76] = 4; // shape [4]
    b[104] = 4; // data size
    b.extend_from_slice(&[1, 2, 3, 4]);
    let path = dir.join("v1.tenzor");
    std::fs::write(&path, b).unwrap();
    path
}

#[test]
fn legacy_files_are_edited_like_foreign_ones() {
    let _guard = no_spawns();
    let dir = tempfile::tempdir().unwrap();
    let path = legacy_file(dir.path());
    let mut ed = Editor::open(&path).unwrap();
    assert_eq!(ed.format(), Format::TenzorLegacy);
    ed.data_mut("t").unwrap().copy_from_slice(&[4, 3, 2, 1]);
    ed.close().unwrap();
    assert_eq!(flags(&path), 0);
    let f = TensorFile::open(&path).unwrap();
    assert_eq!(f.get("t").unwrap().data(), &[4, 3, 2, 1]);
    assert_eq!(rehash(&path).unwrap_err().kind(), ErrorKind::Unsupported);
}

fn tenzor_cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tenzor"))
}

#[test]
fn cli_info_verify_and_rehash_show_and_clear_the_mark() {
    let _guard = spawning();
    let dir = tempfile::tempdir().unwrap();
    let path = make(dir.path());
    let p = path.to_str().unwrap();
    let info = tenzor_cli().args(["info", p]).output().unwrap();
    assert!(common::stdout(&info).contains("edit mark clear"));
    set_flag(&path, FLAG_EDITING);
    scribble(&path, "w");

    let info = tenzor_cli().args(["info", p]).output().unwrap();
    assert!(info.status.success());
    assert!(common::stdout(&info).contains("edit mark SET"));
    let json = tenzor_cli().args(["info", "--json", p]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["header"]["edit_interrupted"], true);

    let verify = tenzor_cli().args(["verify", p]).output().unwrap();
    assert!(!verify.status.success());
    let err = common::stderr(&verify);
    assert!(
        err.contains("stale after an interrupted edit: 'w'"),
        "{err}"
    );

    let re = tenzor_cli().args(["rehash", p]).output().unwrap();
    assert!(re.status.success(), "{}", common::stderr(&re));
    assert!(common::stdout(&re).contains("rehashed 1 stale tensor(s): 'w'"));
    let verify = tenzor_cli().args(["verify", p]).output().unwrap();
    assert!(verify.status.success(), "{}", common::stderr(&verify));
}

/// Runs `tenzor rehash` on a marked file the process cannot write, through
/// `wrap` (a command prefix), and checks it fails as an I/O error naming the
/// file, leaving it unchanged.
fn rehash_fails_with(wrap: &[&str], path: &Path, reason: &str) {
    let before = std::fs::read(path).unwrap();
    let mut cmd = Command::new(wrap[0]);
    cmd.args(&wrap[1..]).arg(env!("CARGO_BIN_EXE_tenzor"));
    let out = cmd.arg("rehash").arg(path).output().unwrap();
    let err = common::stderr(&out);
    assert!(!out.status.success(), "{wrap:?}: {err}");
    assert!(
        err.contains(&path.display().to_string())
            && err.contains("cannot open for editing")
            && err.contains(reason),
        "{wrap:?}: {err}"
    );
    assert_eq!(std::fs::read(path).unwrap(), before);
}

#[test]
fn read_only_files_and_filesystems_are_refused_naming_the_file() {
    let _guard = spawning();
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = make(dir.path());
    set_flag(&path, FLAG_EDITING);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        // root ignores file modes: drop to nobody for the attempt.
        rehash_fails_with(
            &[
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
            ],
            &path,
            "Permission denied",
        );
    } else {
        let err = Editor::open(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io);
        assert!(err.message().contains("Permission denied"), "{err}");
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();

    // A read-only bind mount in a private user + mount namespace.
    let probe = Command::new("unshare").args(["-Urm", "true"]).status();
    if !probe.is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED: no user namespaces here (unshare -Urm), read-only mount not tested");
        return;
    }
    let d = dir.path().to_str().unwrap();
    let script =
        format!("mount --bind {d} {d} && mount -o remount,bind,ro {d} && exec \"$0\" \"$@\"");
    rehash_fails_with(
        &["unshare", "-Urm", "sh", "-c", &script],
        &path,
        "Read-only file system",
    );
}

#[test]
fn empty_and_scalar_tensors_can_be_handed_out_and_flushed() {
    let _guard = no_spawns();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.tenzor");
    let mut w = Writer::create(&path, WriterOptions::default()).unwrap();
    w.add_tensor("scalar", DType::I64, &[], &7i64.to_le_bytes())
        .unwrap();
    w.add_tensor("empty", DType::F32, &[0, 3], &[]).unwrap();
    w.finish().unwrap();
    let mut ed = Editor::open(&path).unwrap();
    assert!(ed.data_mut("empty").unwrap().is_empty());
    assert!(ed.slice_mut::<f32>("empty").unwrap().is_empty());
    ed.slice_mut::<i64>("scalar").unwrap()[0] = -9;
    ed.close().unwrap();
    let f = TensorFile::open(&path).unwrap();
    f.verify().unwrap();
    assert_eq!(f.get("scalar").unwrap().as_slice::<i64>().unwrap(), &[-9]);
}
