//! The shard index parser and its path handling: arbitrary bytes as
//! `model.tenzor.index.json` in a directory holding three valid shards
//! (`a.tenzor`: x, `b.tenzor`: y, `sub/c.tenzor`: z), with valid "trap"
//! shards in the two directories above it. No file outside the index's
//! directory is ever opened (inotify watches both), whatever the paths say;
//! a set that opens holds only shards inside it and reads consistently.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use tenzor::{DType, TensorFile, Writer, WriterOptions};

use super::read::exercise;

struct Stage {
    _root: tempfile::TempDir,
    /// The index's directory.
    dir: PathBuf,
    /// inotify descriptor watching the two directories above `dir`.
    watch: OwnedFd,
}

thread_local! {
    static STAGE: Stage = Stage::new();
}

fn shard(path: &Path, tensor: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let mut w = Writer::create(path, WriterOptions::default()).expect("create shard");
    w.add_tensor(tensor, DType::U8, &[2], &[1, 2]).expect("add");
    w.finish().expect("finish shard");
}

impl Stage {
    fn new() -> Stage {
        let root = super::common::scratch();
        let up = root.path().join("up");
        let dir = up.join("m");
        shard(&root.path().join("trap.tenzor"), "trap");
        shard(&up.join("trap.tenzor"), "trap");
        shard(&dir.join("a.tenzor"), "x");
        shard(&dir.join("b.tenzor"), "y");
        shard(&dir.join("sub/c.tenzor"), "z");
        // SAFETY: plain syscalls; the descriptor is owned below.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        assert!(fd >= 0, "inotify_init1");
        // SAFETY: a fresh descriptor we own.
        let watch = unsafe { OwnedFd::from_raw_fd(fd) };
        for d in [root.path(), up.as_path()] {
            let c = std::ffi::CString::new(d.as_os_str().as_encoded_bytes()).expect("path");
            // SAFETY: valid descriptor and C string.
            let wd = unsafe { libc::inotify_add_watch(fd, c.as_ptr(), libc::IN_OPEN) };
            assert!(wd >= 0, "inotify_add_watch");
        }
        let stage = Stage {
            _root: root,
            dir,
            watch,
        };
        stage.opened_outside();
        stage
    }

    /// Files opened in the watched directories since the last call.
    fn opened_outside(&self) -> Vec<String> {
        let mut names = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: `buf` is writable for its length.
            let n =
                unsafe { libc::read(self.watch.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                return names;
            }
            let mut at = 0usize;
            while at + 16 <= n as usize {
                let u32_at =
                    |o: usize| u32::from_ne_bytes(buf[at + o..at + o + 4].try_into().unwrap());
                let (mask, len) = (u32_at(4), u32_at(12) as usize);
                let name = &buf[at + 16..(at + 16 + len).min(n as usize)];
                if mask & libc::IN_ISDIR == 0 {
                    let end = name.iter().position(|&c| c == 0).unwrap_or(name.len());
                    names.push(String::from_utf8_lossy(&name[..end]).into_owned());
                }
                at += 16 + len;
            }
        }
    }
}

/// True when `p` is `dir` followed by plain names only.
fn inside(dir: &Path, p: &Path) -> bool {
    p.strip_prefix(dir).is_ok_and(|rest| {
        rest.components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    })
}

/// The `shard_index` target.
pub fn shard_index(data: &[u8]) {
    STAGE.with(|s| {
        let index = s.dir.join("model.tenzor.index.json");
        std::fs::write(&index, data).expect("write index");
        let opened = TensorFile::open(&index);
        let outside = s.opened_outside();
        assert!(
            outside.is_empty(),
            "opened outside the index's directory: {outside:?}"
        );
        if let Ok(f) = opened {
            for shard in f.shards() {
                let p = shard.path().expect("shards are opened by path");
                assert!(inside(&s.dir, p), "shard {} outside", p.display());
                assert!(shard.get("trap").is_none());
            }
            exercise(&f);
        }
    });
}
