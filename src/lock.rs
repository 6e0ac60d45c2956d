//! The one-writer-at-a-time rule: an advisory, exclusive `flock` on the
//! file, taken without waiting. Appenders and editors take it; readers never
//! do (they are never disturbed, see FORMAT.md), so it only orders writers.
//!
//! `flock` belongs to the open file description: it is released when the
//! handle that took it is closed (or the process dies, so a crash never
//! leaves a file locked), and two handles in one process exclude each other
//! like two processes do. A child process forked while the lock is held
//! shares that file description until it execs (the descriptor is
//! close-on-exec) or exits, and holds the lock that long too.

use std::fs::File;
use std::path::Path;

use crate::error::{Error, ErrorKind, Result};

/// Takes the exclusive write lock on `file` (opened from `path`), or fails
/// at once with [`ErrorKind::Busy`] when another handle holds it.
pub(crate) fn lock_exclusive(file: &File, path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        // SAFETY: flock on a descriptor we own; no memory is involved.
        let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(Error::new(
                    ErrorKind::Busy,
                    "another writer (an appender or editor, in this or another process) \
                     holds the file's write lock; try again when it has finished",
                )
                .in_file(path));
            }
            return Err(Error::io(path, "cannot take the write lock", err));
        }
    }
    #[cfg(not(unix))]
    let _ = (file, path);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_handle_is_busy_until_the_first_closes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"x").unwrap();
        let a = File::open(&path).unwrap();
        lock_exclusive(&a, &path).unwrap();
        let b = File::open(&path).unwrap();
        let err = lock_exclusive(&b, &path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Busy);
        assert!(err.message().contains(&path.display().to_string()));
        drop(a);
        lock_exclusive(&b, &path).unwrap();
    }
}
