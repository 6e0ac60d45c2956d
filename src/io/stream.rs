//! Visiting a byte range of an open file through bounded memory, for the
//! passes that read everything once (`verify`, `convert`, `compact`): their
//! resident size must not grow with the file (issue 8: <= 64 MiB for 2 GiB).

use super::store::Store;
use crate::error::Result;

/// Bytes of a mapping handed to the visitor at a time (and the most of it
/// resident per stream at once).
pub(crate) const STEP: usize = 4 << 20;

/// Bytes read with `pread` at a time: small enough for the copy and the
/// visitor's pass over it to stay in the L2 cache.
pub(crate) const READ_STEP: usize = 512 << 10;

impl Store<'_> {
    /// Calls `visit` with consecutive pieces of `[offset, offset + len)`,
    /// at most [`STEP`] bytes each, in order. A mapped file hands out views
    /// of the mapping and drops each piece's pages from this process once
    /// visited (the page cache keeps them); the read backends hand out their
    /// own memory where the range was loaded, else read with `pread` into
    /// `buf` (grown to at most [`READ_STEP`]), never into the handle's memory. The
    /// range must lie inside the file.
    pub fn stream(
        &self,
        offset: u64,
        len: u64,
        buf: &mut Vec<u8>,
        visit: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let mut at = offset;
        let end = offset + len;
        while at < end {
            let step = if matches!(self, Store::Loaded(_)) {
                READ_STEP
            } else {
                STEP
            };
            let n = (end - at).min(step as u64);
            match self {
                Store::Borrowed(b) => visit(&b[at as usize..][..n as usize])?,
                Store::Mapped { map, .. } => {
                    self.populate(at, n);
                    visit(&map[at as usize..][..n as usize])?;
                    self.drop_resident(at, n);
                }
                Store::Loaded(l) if l.is_loaded(at, n) => {
                    visit(&self.bytes()[at as usize..][..n as usize])?
                }
                Store::Loaded(l) => {
                    buf.resize(n as usize, 0);
                    l.reader.read_exact_at(at, buf)?;
                    visit(buf)?;
                }
            }
            at += n;
        }
        Ok(())
    }
}
