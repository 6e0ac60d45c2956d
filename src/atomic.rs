//! Write-then-rename: a destination file is either left untouched or
//! replaced whole. Readers that still map the old file keep their (now
//! unlinked) copy, which is why nothing is ever overwritten in place.

use std::fs::{File, OpenOptions};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

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
        let tmp = dir.join(unique);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| Error::io(dest, "cannot create a temporary file beside it", e))?;
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
    pub(crate) fn buffered(&mut self) -> Result<BufWriter<File>> {
        let clone = self
            .file()
            .try_clone()
            .map_err(|e| Error::io(&self.dest, "cannot duplicate file handle", e))?;
        Ok(BufWriter::with_capacity(1 << 20, clone))
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
        drop(file);
        std::fs::rename(&self.tmp, &self.dest)
            .map_err(|e| Error::io(&self.dest, "cannot rename the temporary file over it", e))?;
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
