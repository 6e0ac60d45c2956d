//! Write-then-rename: a destination file is either left untouched or
//! replaced whole. Readers that still map the old file keep their (now
//! unlinked) copy, which is why nothing is ever overwritten in place.
//!
//! A writer holds an exclusive `flock` on its temporary file from creation
//! to rename, so a temporary file nobody holds locked belongs to a writer
//! that died (SIGKILL, power loss): the next writer of the same destination
//! removes it. A lock, not the pid in the name, decides: pids are reused,
//! and mean nothing to another host sharing the directory.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::io::WriteBehind;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary file beside its destination. Dropping it without
/// [`AtomicFile::commit`] deletes it.
pub(crate) struct AtomicFile {
    dest: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
}

impl AtomicFile {
    /// Creates a new, empty temporary file in `dest`'s directory.
    pub(crate) fn create(dest: &Path) -> Result<AtomicFile> {
        let name = dest
            .file_name()
            .ok_or_else(|| Error::invalid("destination has no file name").in_file(dest))?;
        if dest.is_dir() {
            return Err(Error::invalid("destination is a directory").in_file(dest));
        }
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let unique = format!(
            ".{}.tmp-{}-{}",
            name.to_string_lossy(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        remove_stale(&dir, &format!(".{}.tmp-", name.to_string_lossy()));
        let tmp = dir.join(unique);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| Error::io(dest, "cannot create a temporary file beside it", e))?;
        lock(&file, false);
        Ok(AtomicFile {
            dest: dest.to_path_buf(),
            tmp,
            file: Some(file),
        })
    }

    /// The open temporary file.
    pub(crate) fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("file present until commit")
    }

    /// A buffered writer on a second handle to the temporary file (sharing
    /// its file position), so the file itself stays available for `commit`.
    /// It keeps the file's dirty pages bounded as it goes
    /// ([`crate::io::WriteBehind`]); durability still comes from `commit`.
    pub(crate) fn buffered(&mut self) -> Result<WriteBehind> {
        let clone = self
            .file()
            .try_clone()
            .and_then(WriteBehind::new)
            .map_err(|e| Error::io(&self.dest, "cannot duplicate file handle", e))?;
        Ok(clone)
    }

    /// The destination path.
    pub(crate) fn dest(&self) -> &Path {
        &self.dest
    }

    /// Flushes to disk, renames over the destination, and syncs the directory.
    pub(crate) fn commit(mut self) -> Result<()> {
        let file = self.file.take().expect("file present until commit");
        file.sync_all()
            .map_err(|e| Error::io(&self.dest, "cannot flush to disk", e))?;
        // Still open, so still locked, until renamed: never taken for stale.
        std::fs::rename(&self.tmp, &self.dest)
            .map_err(|e| Error::io(&self.dest, "cannot rename the temporary file over it", e))?;
        drop(file);
        // The rename is durable only once the directory is synced. Some
        // file systems refuse to open directories; the data is safe anyway.
        if let Some(dir) = self.dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        self.tmp.clear();
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            self.file.take();
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Removes the regular files in `dir` named `prefix`... that no live writer
/// holds locked. Best effort: anything unexpected is left alone.
fn remove_stale(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let regular = e.file_type().is_ok_and(|t| t.is_file());
        if !regular || !e.file_name().to_string_lossy().starts_with(prefix) {
            continue;
        }
        let path = e.path();
        if let Ok(f) = File::open(&path) {
            if lock(&f, true) {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

/// Takes an exclusive `flock` on `f` (waiting unless `try_only`); true when
/// taken. Elsewhere than on Unix: never taken, so nothing is ever removed.
fn lock(f: &File, try_only: bool) -> bool {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let op = libc::LOCK_EX | if try_only { libc::LOCK_NB } else { 0 };
        // SAFETY: a valid open descriptor; flock has no memory effects.
        unsafe { libc::flock(f.as_raw_fd(), op) == 0 }
    }
    #[cfg(not(unix))]
    {
        let _ = (f, try_only);
        false
    }
}
