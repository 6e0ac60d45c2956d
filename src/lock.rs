//! The write lock: one editor or appender per file at a time.
//!
//! An advisory `flock(LOCK_EX | LOCK_NB)` on the open file description,
//! released explicitly (`LOCK_UN`) when the handle's [`WriteLock`] drops and
//! by the kernel when the process dies. Two handles in one process conflict
//! as two processes do; a held lock is retried for 200 ms before the open
//! fails as busy. Readers never take it: they are not blocked and do not
//! block.

use std::fs::File;
use std::path::Path;

use crate::error::{Error, ErrorKind, Result};

/// The held write lock. Dropping it unlocks the open file description
/// explicitly: closing the descriptor alone would leave the lock held while
/// a child process forked by another thread still shares the description
/// (until it execs), and a writer opening right after would see it as busy.
#[derive(Debug)]
pub(crate) struct WriteLock {
    #[cfg(unix)]
    file: File,
}

#[cfg(unix)]
impl Drop for WriteLock {
    fn drop(&mut self) {
        use std::os::unix::io::AsRawFd;
        // SAFETY: flock only reads the descriptor, which `self.file` keeps open.
        unsafe { libc::flock(self.file.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// Takes the exclusive write lock on `file` (opened from `path`), failing
/// with [`ErrorKind::Busy`] when another handle holds it. The lock lasts as
/// long as the returned guard (which holds a duplicate of the descriptor).
#[cfg(unix)]
pub(crate) fn lock_for_writing(file: &File, path: &Path) -> Result<WriteLock> {
    use std::os::unix::io::AsRawFd;
    // A child forked by another thread of this process holds a copy of a
    // just-released lock until it execs (a few ms): retry briefly so such a
    // window is not reported as a real second writer.
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(BUSY_GRACE_MS);
    loop {
        // SAFETY: flock only reads the descriptor, which `file` keeps open.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            let file = file
                .try_clone()
                .map_err(|e| Error::io(path, "cannot duplicate the locked descriptor", e))?;
            return Ok(WriteLock { file });
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(Error::io(path, "cannot lock for writing", err));
        }
        if std::time::Instant::now() >= deadline {
            return Err(Error::new(
                ErrorKind::Busy,
                "another editor or appender holds the write lock (one writer at a time)",
            )
            .in_file(path));
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// How long a held lock is retried before the open fails as busy.
#[cfg(unix)]
const BUSY_GRACE_MS: u64 = 200;

/// Elsewhere there is no advisory lock to take: documented as unchecked.
#[cfg(not(unix))]
pub(crate) fn lock_for_writing(_file: &File, _path: &Path) -> Result<WriteLock> {
    Ok(WriteLock {})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_file_is_busy_until_the_first_closes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"x").unwrap();
        let first = File::open(&path).unwrap();
        let held = lock_for_writing(&first, &path).unwrap();
        let second = File::open(&path).unwrap();
        let err = lock_for_writing(&second, &path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Busy);
        assert!(err.message().contains("write lock"), "{err}");
        assert!(err.message().starts_with(&path.display().to_string()));
        drop(first);
        // The guard keeps the lock after the handle's own descriptor closed.
        assert_eq!(
            lock_for_writing(&second, &path).unwrap_err().kind(),
            ErrorKind::Busy
        );
        drop(held);
        let _again = lock_for_writing(&second, &path).unwrap();
    }

    #[test]
    fn dropping_the_guard_unlocks_even_while_a_copy_of_the_descriptor_lives() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"x").unwrap();
        let first = File::open(&path).unwrap();
        // Stands for the copy a forked child holds until it execs.
        let inherited = first.try_clone().unwrap();
        drop(lock_for_writing(&first, &path).unwrap());
        drop(first);
        let second = File::open(&path).unwrap();
        let _held = lock_for_writing(&second, &path).unwrap();
        drop(inherited);
    }
}
