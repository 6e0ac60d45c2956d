//! Reading: the `tenzor_file` handle and lookups that return borrowed views.

use std::ffi::{c_char, c_void, CString};
use std::sync::OnceLock;

use super::error::{tenzor_status, Failure, FfiResult};
use super::panic::{ffi_status, ffi_value};
use super::types::{
    tenzor_file, tenzor_format, tenzor_tensor, TENZOR_FORMAT_GGUF, TENZOR_FORMAT_SAFETENSORS,
    TENZOR_FORMAT_TENZOR, TENZOR_FORMAT_TENZOR_LEGACY,
};
use super::{non_null, path_arg, str_arg};
use crate::error::Error;
use crate::reader::TensorFile;
use crate::tensor::Tensor;

/// What a `*const tenzor_file` points to: a validated file and a lazily
/// made NUL-terminated copy of its metadata. Immutable after creation but
/// for the `OnceLock`, so sharing it between threads is sound.
pub(crate) struct FileHandle {
    pub(super) file: TensorFile<'static>,
    metadata: OnceLock<CString>,
    /// Why the backend was chosen, NUL-terminated for `tenzor_file_backend`.
    pub(super) backend_reason: OnceLock<CString>,
}

// Handles are shared between C threads: a reader change that made the file
// type non-Sync must fail to compile here, not race at run time.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<FileHandle>();
};

impl FileHandle {
    pub(super) fn into_raw(file: TensorFile<'static>) -> *const tenzor_file {
        let h = Box::new(FileHandle {
            file,
            metadata: OnceLock::new(),
            backend_reason: OnceLock::new(),
        });
        Box::into_raw(h).cast_const().cast()
    }

    /// Borrows the handle behind a C pointer.
    ///
    /// # Safety
    /// `p` must be NULL or come from `FileHandle::into_raw` and not be closed.
    pub(super) unsafe fn from_ptr<'a>(p: *const tenzor_file) -> FfiResult<&'a FileHandle> {
        // SAFETY: per the contract, a non-NULL `p` is a live FileHandle.
        unsafe { p.cast::<FileHandle>().as_ref() }.ok_or_else(|| Failure::null("file"))
    }

    /// How messages name this file: its path, or "memory buffer".
    pub(super) fn label(&self) -> String {
        match self.file.path() {
            Some(p) => p.display().to_string(),
            None => "memory buffer".to_string(),
        }
    }

    /// An error from the reader, named after this handle when the reader
    /// could not name it (memory buffers have no path).
    pub(super) fn fail(&self, e: Error) -> Failure {
        if self.file.path().is_some() {
            Failure::from(e)
        } else {
            Failure::new(
                super::error::status_of(e.kind()),
                format!("{}: {}", self.label(), e.message()),
            )
        }
    }

    /// Writes the view of `t` to `out` (success is the only way out-params change).
    pub(super) fn give(
        &self,
        t: crate::Result<Tensor<'_>>,
        out: *mut tenzor_tensor,
    ) -> FfiResult<()> {
        let t = t.map_err(|e| self.fail(e))?;
        // SAFETY: `out` was checked non-NULL and points to caller memory.
        unsafe { out.write(tenzor_tensor::from_tensor(&t)) };
        Ok(())
    }
}

/// Opens and validates the tensor file at `path` (a NUL-terminated path),
/// memory-mapping it read-only. The format is recognised from the content:
/// .tenzor (v2, or legacy v1), .safetensors, .gguf, or a `*.index.json`
/// shard index (every shard is opened; the first file of a GGUF split opens
/// the whole split). `tenzor_file_format` tells which.
///
/// On success `*out` receives a new handle that the caller owns and must
/// release with `tenzor_close`; on failure `*out` is unmodified. Only the
/// structure is validated at open (header, index, names, bounds, header
/// checksum); call `tenzor_verify` to check the tensor data checksums
/// (formats without checksums were fully checked at open).
///
/// `path` (symlinks followed) must be a regular file, or a shard index or
/// first GGUF split file whose shards are: a FIFO, device or socket is
/// refused at once with `TENZOR_ERR_INVALID_ARGUMENT` ("not a regular file
/// (fifo)"), never by blocking.
///
/// WARNING (from memmap2): the file is mapped, not read. Modifying or
/// truncating it while any handle on it is open is undefined behaviour; on
/// Linux, touching a truncated page kills the process with SIGBUS. Replace
/// files by writing a new one and renaming it over the old (as
/// `tenzor_writer_finish` does); open handles keep seeing the old file.
/// For files other processes may shrink, or on network filesystems, open
/// with `tenzor_open_ex` and `TENZOR_BACKEND_READ`: nothing is mapped and a
/// truncated file is an error, not a signal.
///
/// # Safety
/// `path` must be NULL or a NUL-terminated string; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_open(
    path: *const c_char,
    out: *mut *const tenzor_file,
) -> tenzor_status {
    ffi_status("tenzor_open", || {
        non_null!(path, out);
        // SAFETY: checked non-NULL; the caller promises a C string.
        let path = unsafe { path_arg(path, "path") }?;
        let file = TensorFile::open(path)?;
        // SAFETY: `out` is non-NULL and writable.
        unsafe { out.write(FileHandle::into_raw(file)) };
        Ok(())
    })
}

/// Validates a tensor file held in memory, borrowing it: nothing is copied.
///
/// The buffer stays owned by the caller, who must keep it alive and
/// unchanged until `tenzor_close` on the returned handle; every pointer the
/// handle gives out points into it. Tensor data is aligned to the file's
/// alignment only when `data` is (mmap and `posix_memalign(4096)` are).
/// On success `*out` receives a new handle (release with `tenzor_close`);
/// on failure `*out` is unmodified. An empty buffer is `TENZOR_ERR_BAD_FORMAT`.
///
/// # Safety
/// `data` must be NULL or point to `len` readable bytes that outlive the
/// handle and are not modified while it is open; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_open_memory(
    data: *const c_void,
    len: usize,
    out: *mut *const tenzor_file,
) -> tenzor_status {
    ffi_status("tenzor_open_memory", || {
        non_null!(data, out);
        if len > isize::MAX as usize {
            return Err(Failure::invalid(format!(
                "buffer length {len} is larger than any object can be"
            )));
        }
        // SAFETY: the caller lends `len` readable bytes until tenzor_close;
        // the 'static lifetime is that promise, enforced by the docs.
        let bytes: &'static [u8] = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) };
        let file = TensorFile::from_bytes(bytes).map_err(|e| {
            let msg = format!("memory buffer ({len} bytes at {data:p}): {}", e.message());
            Failure::from(Error::new(e.kind(), msg))
        })?;
        // SAFETY: `out` is non-NULL and writable.
        unsafe { out.write(FileHandle::into_raw(file)) };
        Ok(())
    })
}

/// Closes a handle from `tenzor_open`/`tenzor_open_memory`, unmapping the
/// file. Every `tenzor_tensor` and metadata pointer obtained from it becomes
/// invalid. NULL is a no-op. Closing a handle twice, or using it after
/// close, is undefined behaviour (as with `free`). Other handles, including
/// other opens of the same file, are not affected.
///
/// # Safety
/// `file` must be NULL or a handle that is not used after this call, and no
/// other thread may be using it during the call.
#[no_mangle]
pub unsafe extern "C" fn tenzor_close(file: *const tenzor_file) {
    ffi_value("tenzor_close", (), || {
        if !file.is_null() {
            // SAFETY: the handle came from Box::into_raw in FileHandle::into_raw
            // and, per the contract, is released exactly once.
            drop(unsafe { Box::from_raw(file.cast::<FileHandle>().cast_mut()) });
        }
    })
}

/// Number of tensors in the file (0 when `file` is NULL).
///
/// # Safety
/// `file` must be NULL or an open handle.
#[no_mangle]
pub unsafe extern "C" fn tenzor_tensor_count(file: *const tenzor_file) -> usize {
    ffi_value("tenzor_tensor_count", 0, || {
        // SAFETY: the caller passes NULL or an open handle.
        unsafe { FileHandle::from_ptr(file) }.map_or(0, |h| h.file.len())
    })
}

/// Looks up the tensor called `name` (a NUL-terminated UTF-8 string) by
/// binary search, without allocating.
///
/// On success `*out` receives a view borrowed from the file, valid until
/// `tenzor_close`; on failure `*out` is unmodified. Unknown name:
/// `TENZOR_ERR_NOT_FOUND`; `name` not UTF-8: `TENZOR_ERR_INVALID_ARGUMENT`.
/// Legacy v1 files store no names: lookups hash `name` and match the hash.
///
/// # Safety
/// `file` must be NULL or an open handle, `name` NULL or a C string, `out`
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_get_tensor(
    file: *const tenzor_file,
    name: *const c_char,
    out: *mut tenzor_tensor,
) -> tenzor_status {
    ffi_status("tenzor_get_tensor", || {
        non_null!(file, name, out);
        // SAFETY: non-NULL handle and C string, per the contract.
        let (h, name) = unsafe { (FileHandle::from_ptr(file)?, str_arg(name, "name")?) };
        h.give(h.file.try_get(name), out)
    })
}

/// Looks up a tensor by the FNV-1a 64 hash of its name (see
/// `tenzor_hash_name`). When two names share a hash, the one whose name
/// sorts first is returned. `*out` as for `tenzor_get_tensor`.
///
/// # Safety
/// `file` must be NULL or an open handle, `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_get_tensor_by_hash(
    file: *const tenzor_file,
    hash: u64,
    out: *mut tenzor_tensor,
) -> tenzor_status {
    ffi_status("tenzor_get_tensor_by_hash", || {
        non_null!(file, out);
        // SAFETY: non-NULL handle, per the contract.
        let h = unsafe { FileHandle::from_ptr(file) }?;
        h.give(h.file.try_get_by_hash(hash), out)
    })
}

/// The tensor at `index` in the order tensors were written (0 ..
/// `tenzor_tensor_count` - 1); iterate with it. Out of range:
/// `TENZOR_ERR_NOT_FOUND`. `*out` as for `tenzor_get_tensor`.
///
/// # Safety
/// `file` must be NULL or an open handle, `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_get_tensor_at(
    file: *const tenzor_file,
    index: usize,
    out: *mut tenzor_tensor,
) -> tenzor_status {
    ffi_status("tenzor_get_tensor_at", || {
        non_null!(file, out);
        // SAFETY: non-NULL handle, per the contract.
        let h = unsafe { FileHandle::from_ptr(file) }?;
        h.give(h.file.try_get_at(index), out)
    })
}

/// The file's JSON metadata (an object; `{}` when it has none).
///
/// On success `*json` points to the text, NUL-terminated, and `*len` is its
/// length without the NUL. The text is owned by the handle and valid until
/// `tenzor_close`; do not free it. It is copied from the file once, on the
/// first call. On failure neither out-parameter is modified.
///
/// # Safety
/// `file` must be NULL or an open handle; `json` and `len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_metadata(
    file: *const tenzor_file,
    json: *mut *const c_char,
    len: *mut usize,
) -> tenzor_status {
    ffi_status("tenzor_metadata", || {
        non_null!(file, json, len);
        // SAFETY: non-NULL handle, per the contract.
        let h = unsafe { FileHandle::from_ptr(file) }?;
        let text = h.metadata.get_or_init(|| {
            // Valid JSON has no raw NUL (control characters must be escaped);
            // the fallback only guards against a reader bug.
            CString::new(h.file.metadata_json()).unwrap_or_else(|_| c"{}".to_owned())
        });
        // SAFETY: both out-params are non-NULL and writable.
        unsafe {
            json.write(text.as_ptr());
            len.write(text.as_bytes().len());
        }
        Ok(())
    })
}

/// Recomputes every tensor's checksum (reads all data). Returns
/// `TENZOR_ERR_CHECKSUM` with the tensor named in the message on a mismatch
/// (the first bad tensor in position order). Tensors are hashed on up to 4
/// threads, streamed through a few MiB per thread: the handle's memory is
/// not filled with the `read`/`direct` backends, and hashed mapped pages
/// leave the process's resident set. Legacy v1 files carry no checksums:
/// for them this always succeeds.
///
/// # Safety
/// `file` must be NULL or an open handle.
#[no_mangle]
pub unsafe extern "C" fn tenzor_verify(file: *const tenzor_file) -> tenzor_status {
    ffi_status("tenzor_verify", || {
        non_null!(file);
        // SAFETY: non-NULL handle, per the contract.
        let h = unsafe { FileHandle::from_ptr(file) }?;
        h.file.verify().map_err(|e| h.fail(e))
    })
}

/// True when the file carries the edit mark (FORMAT.md, "Edit mark"): an
/// in-place edit is under way in another editor, or a process died while
/// editing. Such a file opens read-only as always, its structure fully
/// checked, but its tensor checksums (and the header checksum, not enforced
/// then) may be stale: `tenzor_verify` names the stale tensors and
/// `tenzor_rehash` repairs the file. False for formats without checksums
/// and when `file` is NULL. For a shard set: true when any shard is marked.
///
/// # Safety
/// `file` must be NULL or an open handle.
#[no_mangle]
pub unsafe extern "C" fn tenzor_file_edit_interrupted(file: *const tenzor_file) -> bool {
    ffi_value("tenzor_file_edit_interrupted", false, || {
        // SAFETY: the caller passes NULL or an open handle.
        unsafe { FileHandle::from_ptr(file) }.is_ok_and(|h| h.file.edit_interrupted())
    })
}

/// The per-tensor alignment the file guarantees, relative to the file
/// start (64 to 65536; 1 for legacy v1 files; 0 when `file` is NULL).
///
/// # Safety
/// `file` must be NULL or an open handle.
#[no_mangle]
pub unsafe extern "C" fn tenzor_file_alignment(file: *const tenzor_file) -> u64 {
    ffi_value("tenzor_file_alignment", 0, || {
        // SAFETY: the caller passes NULL or an open handle.
        unsafe { FileHandle::from_ptr(file) }.map_or(0, |h| h.file.alignment())
    })
}

/// The whole file as bytes: `*data` receives the start of the mapping (or
/// of the caller's buffer for `tenzor_open_memory`) and `*len` its size.
/// A shard set (several files) has no single byte range:
/// `TENZOR_ERR_UNSUPPORTED`.
/// Every tensor's `data` equals `*data + file_offset`. Borrowed from the
/// handle, valid until `tenzor_close`; read-only. With the read backends
/// this first reads the whole file into the handle's memory. On failure neither
/// out-parameter is modified.
///
/// # Safety
/// `file` must be NULL or an open handle; `data` and `len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_file_bytes(
    file: *const tenzor_file,
    data: *mut *const c_void,
    len: *mut usize,
) -> tenzor_status {
    ffi_status("tenzor_file_bytes", || {
        non_null!(file, data, len);
        // SAFETY: non-NULL handle, per the contract.
        let h = unsafe { FileHandle::from_ptr(file) }?;
        if !h.file.shards().is_empty() {
            return Err(Failure::new(
                tenzor_status::TENZOR_ERR_UNSUPPORTED,
                format!(
                    "{}: a shard set has one mapping per shard, not one byte range",
                    h.label()
                ),
            ));
        }
        // The read backends hold only what was read: read the rest first.
        let bytes = h.file.load_all().map_err(|e| h.fail(e))?;
        // SAFETY: both out-params are non-NULL and writable.
        unsafe {
            data.write(bytes.as_ptr().cast());
            len.write(bytes.len());
        }
        Ok(())
    })
}

/// The format of an open file (of its shards, for a shard set), one of the
/// `TENZOR_FORMAT_*` numbers; 0 when `file` is NULL.
///
/// # Safety
/// `file` must be NULL or an open handle.
#[no_mangle]
pub unsafe extern "C" fn tenzor_file_format(file: *const tenzor_file) -> tenzor_format {
    ffi_value("tenzor_file_format", 0, || {
        // SAFETY: the caller passes NULL or an open handle.
        unsafe { FileHandle::from_ptr(file) }.map_or(0, |h| match h.file.format() {
            crate::Format::Tenzor => TENZOR_FORMAT_TENZOR,
            crate::Format::TenzorLegacy => TENZOR_FORMAT_TENZOR_LEGACY,
            crate::Format::Safetensors => TENZOR_FORMAT_SAFETENSORS,
            crate::Format::Gguf => TENZOR_FORMAT_GGUF,
        })
    })
}

/// How many files the handle reads: 1 for a single file, N for a shard set
/// (a `*.index.json` checkpoint or a GGUF split); 0 when `file` is NULL.
/// A tensor's `file_offset` is relative to the file (shard) that holds it.
///
/// # Safety
/// `file` must be NULL or an open handle.
#[no_mangle]
pub unsafe extern "C" fn tenzor_file_shard_count(file: *const tenzor_file) -> usize {
    ffi_value("tenzor_file_shard_count", 0, || {
        // SAFETY: the caller passes NULL or an open handle.
        unsafe { FileHandle::from_ptr(file) }.map_or(0, |h| h.file.shards().len().max(1))
    })
}
