//! Paths that are not regular files: FIFOs, character devices, sockets and
//! symlinks to them are refused at once with "not a regular file (...)",
//! never by blocking in open(2) or by a misleading "empty" message; shards
//! that are symlinks (the Hugging Face cache layout) keep working.

#![cfg(unix)]

mod common;

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use tenzor::{ConvertOptions, ErrorKind, TensorFile};

/// Longest a refusal may take: it must never wait for a peer.
const PATIENCE: Duration = Duration::from_secs(20);

fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// Opens `path` on another thread, failing the test (instead of hanging)
/// when it does not return in time.
fn open_without_blocking(path: &Path) -> tenzor::Result<usize> {
    let (tx, rx) = mpsc::channel();
    let p = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(TensorFile::open(&p).map(|f| f.len()));
    });
    rx.recv_timeout(PATIENCE)
        .unwrap_or_else(|_| panic!("opening {} blocked", path.display()))
}

fn assert_refused(path: &Path, kind: &str) {
    let e = open_without_blocking(path).expect_err("not a tensor file");
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("not a regular file ({kind})")),
        "{}: {msg}",
        path.display()
    );
    assert!(msg.contains(&path.display().to_string()), "{msg}");
}

/// One of each kind of special file, and a symlink to each: (path, kind).
fn special_files(
    dir: &Path,
) -> (
    Vec<(PathBuf, &'static str)>,
    std::os::unix::net::UnixListener,
) {
    let fifo = dir.join("pipe.tenzor");
    mkfifo(&fifo);
    let sock = dir.join("socket.tenzor");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let mut all = vec![
        (fifo, "fifo"),
        (sock, "socket"),
        (PathBuf::from("/dev/zero"), "character device"),
        (PathBuf::from("/dev/null"), "character device"),
    ];
    for (i, (target, kind)) in all.clone().into_iter().enumerate() {
        let link = dir.join(format!("link{i}.tenzor"));
        symlink(&target, &link).unwrap();
        all.push((link, kind));
    }
    (all, listener)
}

#[test]
fn fifos_devices_sockets_and_links_to_them_are_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let (files, _listener) = special_files(dir.path());
    for (path, kind) in &files {
        assert_refused(path, kind);
    }
    // A directory keeps its own message.
    let e = open_without_blocking(dir.path()).unwrap_err();
    assert!(e.to_string().contains("is a directory"), "{e}");
}

#[test]
fn the_cli_and_convert_refuse_a_fifo_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (files, _listener) = special_files(dir.path());
    let out = dir.path().join("out.safetensors");
    for (path, kind) in &files {
        for args in [
            vec!["info".as_ref(), path.as_os_str()],
            vec![
                "convert".as_ref(),
                path.as_os_str(),
                "-o".as_ref(),
                out.as_os_str(),
            ],
        ] {
            let mut child = Command::new(env!("CARGO_BIN_EXE_tenzor"))
                .args(&args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let start = Instant::now();
            while child.try_wait().unwrap().is_none() {
                if start.elapsed() > PATIENCE {
                    child.kill().unwrap();
                    panic!("tenzor {args:?} blocked");
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let o = child.wait_with_output().unwrap();
            assert!(!o.status.success(), "tenzor {args:?} succeeded");
            let err = stderr(&o);
            assert!(
                err.contains(&format!("not a regular file ({kind})")),
                "{args:?}: {err}"
            );
        }
        assert!(!out.exists(), "no output from a special file");
    }
}

/// A shard index whose shard is a FIFO fails naming the shard.
#[test]
fn a_shard_that_is_a_fifo_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture("sharded");
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    let shard = dir.path().join("model-00002-of-00003.safetensors");
    std::fs::remove_file(&shard).unwrap();
    mkfifo(&shard);
    let index = dir.path().join("model.safetensors.index.json");
    let e = open_without_blocking(&index).unwrap_err();
    assert!(e.to_string().contains("not a regular file (fifo)"), "{e}");
    assert!(e.to_string().contains("model-00002-of-00003"), "{e}");
}

/// The Hugging Face cache: `snapshots/<rev>/` holds relative symlinks into
/// `blobs/`, whose files are named by hash. Index, shards and GGUF split
/// files open through them as if they were there.
#[test]
fn symlinked_shards_in_a_hugging_face_cache_layout_open() {
    let cache = tempfile::tempdir().unwrap();
    let blobs = cache.path().join("blobs");
    let snap = cache.path().join("snapshots").join("0123abcd");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::create_dir_all(&snap).unwrap();
    let mut sources = Vec::new();
    for e in std::fs::read_dir(fixture("sharded")).unwrap() {
        sources.push(e.unwrap().path());
    }
    for f in ["split-00001-of-00002.gguf", "split-00002-of-00002.gguf"] {
        sources.push(fixture(&format!("gguf/{f}")));
    }
    for (i, src) in sources.iter().enumerate() {
        let blob = format!("{:040x}", i + 1);
        std::fs::copy(src, blobs.join(&blob)).unwrap();
        let link = snap.join(src.file_name().unwrap());
        symlink(format!("../../blobs/{blob}"), &link).unwrap();
    }
    for (linked, original) in [
        (
            "model.safetensors.index.json",
            fixture("sharded/model.safetensors.index.json"),
        ),
        (
            "split-00001-of-00002.gguf",
            fixture("gguf/split-00001-of-00002.gguf"),
        ),
    ] {
        let via_links = TensorFile::open(snap.join(linked)).unwrap();
        let direct = TensorFile::open(&original).unwrap();
        assert!(via_links.shards().len() > 1, "{linked}: a shard set");
        assert_eq!(via_links.len(), direct.len());
        for (a, b) in via_links.iter().zip(direct.iter()) {
            assert_eq!(
                (a.name(), a.shape(), a.data()),
                (b.name(), b.shape(), b.data())
            );
        }
        via_links.verify().unwrap();
        let out = cache.path().join(format!("{linked}.tenzor"));
        tenzor::convert(
            &snap.join(linked),
            &out,
            &ConvertOptions::default(),
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(TensorFile::open(&out).unwrap().len(), direct.len());
    }
}
