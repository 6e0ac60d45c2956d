//! Writing: the `tenzor_writer` handle around the streaming [`Writer`].

use std::ffi::{c_char, c_void};
use std::path::{Path, PathBuf};

use super::error::{tenzor_status, Failure, FfiResult};
use super::panic::{ffi_status, ffi_value};
use super::types::{
    dtype_from_c, tenzor_dtype, tenzor_tensor, tenzor_writer, tenzor_writer_options,
    TENZOR_MAX_DIMS,
};
use super::{non_null, path_arg, str_arg};
use crate::dtype::DType;
use crate::writer::Writer;

/// What a `*mut tenzor_writer` points to.
struct WriterHandle {
    writer: Writer,
    path: PathBuf,
    /// Set when the writer can no longer produce a correct file: an I/O
    /// error mid-write (the data stream may hold a partial tensor) or a
    /// panic. Every later call but abort returns this failure again.
    broken: Option<(tenzor_status, String)>,
}

// A writer may be handed from one C thread to another between calls.
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<WriterHandle>();
};

impl WriterHandle {
    /// # Safety
    /// `p` must be NULL or a live handle from `tenzor_writer_create`.
    unsafe fn from_ptr<'a>(p: *mut tenzor_writer) -> FfiResult<&'a mut WriterHandle> {
        // SAFETY: per the contract, a non-NULL `p` is a live WriterHandle
        // used by one thread at a time.
        let h =
            unsafe { p.cast::<WriterHandle>().as_mut() }.ok_or_else(|| Failure::null("writer"))?;
        h.check_usable()?;
        Ok(h)
    }

    fn check_usable(&self) -> FfiResult<()> {
        match &self.broken {
            None => Ok(()),
            Some((status, msg)) => Err(Failure::new(
                *status,
                format!("{msg} (an earlier call failed; the writer can only be aborted)"),
            )),
        }
    }

    /// Runs `f`, marking the writer broken if it panics or fails with an
    /// I/O error, since either may leave partial bytes in the data stream.
    fn guarded<T>(&mut self, f: impl FnOnce(&mut Writer) -> crate::Result<T>) -> FfiResult<T> {
        self.broken = Some((
            tenzor_status::TENZOR_ERR_PANIC,
            format!("{}: internal error in an earlier call", self.path.display()),
        ));
        let r = f(&mut self.writer);
        self.broken = None;
        r.map_err(|e| {
            let f = Failure::from(e);
            if f.status == tenzor_status::TENZOR_ERR_IO {
                self.broken = Some((f.status, f.message.clone()));
            }
            f
        })
    }
}

/// Starts writing a new .tenzor file at `path` (a NUL-terminated path).
///
/// Data goes to a temporary file beside `path`; nothing appears at `path`
/// (and an existing file there is untouched) until `tenzor_writer_finish`
/// succeeds, which renames the complete file into place. `opts` may be NULL
/// for the defaults; it is only read during this call. A bad alignment is
/// `TENZOR_ERR_INVALID_ARGUMENT`.
///
/// On success `*out` receives a handle owned by the caller, to be released
/// by exactly one of `tenzor_writer_finish` or `tenzor_writer_abort`; on
/// failure `*out` is unmodified. Use a writer from one thread at a time.
///
/// # Safety
/// `path` must be NULL or a C string, `opts` NULL or readable, `out` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_writer_create(
    path: *const c_char,
    opts: *const tenzor_writer_options,
    out: *mut *mut tenzor_writer,
) -> tenzor_status {
    ffi_status("tenzor_writer_create", || {
        non_null!(path, out);
        // SAFETY: checked non-NULL; the caller promises a C string.
        let path = unsafe { path_arg(path, "path") }?;
        // SAFETY: NULL or readable, per the contract.
        let opts = unsafe { opts.as_ref() }.copied().unwrap_or_default();
        let writer = Writer::create(path, opts.to_core())?;
        let h = Box::new(WriterHandle {
            writer,
            path: path.to_path_buf(),
            broken: None,
        });
        // SAFETY: `out` is non-NULL and writable.
        unsafe { out.write(Box::into_raw(h).cast()) };
        Ok(())
    })
}

/// Adds one tensor and writes its bytes now (they are copied to the file
/// before the call returns; the caller keeps ownership of every argument).
///
/// `name`: NUL-terminated UTF-8, non-empty, not used before in this writer
/// (else `TENZOR_ERR_DUPLICATE_NAME`). `dtype`: a `TENZOR_DTYPE_*` number.
/// `shape`: `ndim` dimensions (`ndim` <= `TENZOR_MAX_DIMS`; `shape` may be
/// NULL when `ndim` is 0, a scalar). `data`/`len`: exactly the tensor's bytes
/// (`data` may be NULL when `len` is 0). An unknown dtype, a rank above 8, a
/// length that disagrees with the shape, or an invalid name give
/// `TENZOR_ERR_INVALID_ARGUMENT` and leave the writer usable. After an I/O
/// error the writer is broken: later calls fail and only abort/finish
/// (which then fails) release it.
///
/// # Safety
/// `writer` must be NULL or a live writer; `name` NULL or a C string;
/// `shape` NULL or `ndim` readable values; `data` NULL or `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn tenzor_writer_add(
    writer: *mut tenzor_writer,
    name: *const c_char,
    dtype: tenzor_dtype,
    ndim: usize,
    shape: *const u64,
    data: *const c_void,
    len: usize,
) -> tenzor_status {
    ffi_status("tenzor_writer_add", || {
        non_null!(writer, name);
        // SAFETY: non-NULL live writer and C string, per the contract.
        let (h, name) = unsafe { (WriterHandle::from_ptr(writer)?, str_arg(name, "name")?) };
        // SAFETY: `shape` holds `ndim` values, per the contract.
        let (dtype, shape) = unsafe { tensor_args(&h.path, name, dtype, ndim, shape) }?;
        // SAFETY: `data` holds `len` bytes, per the contract.
        let data = unsafe { data_arg(&h.path, name, data, len) }?;
        h.guarded(|w| w.add_tensor(name, dtype, shape, data))
    })
}

/// Sets the file's metadata to the `len` bytes of JSON at `json` (a JSON
/// object; need not be NUL-terminated; stored exactly as given, replacing
/// any earlier metadata). Not UTF-8, not JSON or not an object:
/// `TENZOR_ERR_INVALID_ARGUMENT`, and the writer stays usable. The bytes
/// are copied; the caller keeps ownership.
///
/// # Safety
/// `writer` must be NULL or a live writer; `json` NULL or `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn tenzor_writer_set_metadata(
    writer: *mut tenzor_writer,
    json: *const c_char,
    len: usize,
) -> tenzor_status {
    ffi_status("tenzor_writer_set_metadata", || {
        non_null!(writer, json);
        // SAFETY: non-NULL live writer, per the contract.
        let h = unsafe { WriterHandle::from_ptr(writer) }?;
        // SAFETY: `len` readable bytes at `json`, per the contract.
        let text = unsafe { metadata_arg(&h.path, json, len) }?;
        h.guarded(|w| w.set_metadata(text))
    })
}

/// Checks and borrows the description of a tensor passed from C: the dtype
/// number, and `ndim` dimensions at `shape` (NULL allowed for a scalar).
///
/// # Safety
/// `shape` must be NULL or point to `ndim` readable values.
pub(super) unsafe fn tensor_args<'a>(
    path: &Path,
    name: &str,
    dtype: tenzor_dtype,
    ndim: usize,
    shape: *const u64,
) -> FfiResult<(DType, &'a [u64])> {
    let bad = |msg: String| {
        Failure::invalid(format!(
            "{}: tensor '{}': {msg}",
            path.display(),
            name.escape_debug()
        ))
    };
    let Some(dtype) = dtype_from_c(dtype) else {
        return Err(bad(format!("unknown dtype number {dtype}")));
    };
    if ndim > TENZOR_MAX_DIMS {
        return Err(bad(format!(
            "rank {ndim} exceeds the maximum of {TENZOR_MAX_DIMS}"
        )));
    }
    if ndim == 0 {
        return Ok((dtype, &[]));
    }
    if shape.is_null() {
        return Err(Failure::null("shape"));
    }
    // SAFETY: non-NULL with `ndim` <= 8 readable values, per the contract.
    Ok((dtype, unsafe { std::slice::from_raw_parts(shape, ndim) }))
}

/// Borrows `len` bytes at `data` passed from C (NULL allowed when 0).
///
/// # Safety
/// `data` must be NULL or point to `len` readable bytes.
pub(super) unsafe fn data_arg<'a>(
    path: &Path,
    name: &str,
    data: *const c_void,
    len: usize,
) -> FfiResult<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if data.is_null() {
        return Err(Failure::null("data"));
    }
    if len > isize::MAX as usize {
        return Err(Failure::invalid(format!(
            "{}: tensor '{}': data length {len} is larger than any object can be",
            path.display(),
            name.escape_debug()
        )));
    }
    // SAFETY: non-NULL with `len` readable bytes, per the contract.
    Ok(unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) })
}

/// Borrows `len` bytes of metadata text at `json` passed from C (UTF-8).
///
/// # Safety
/// `json` must be non-NULL and point to `len` readable bytes.
pub(super) unsafe fn metadata_arg<'a>(
    path: &Path,
    json: *const c_char,
    len: usize,
) -> FfiResult<&'a str> {
    if len > isize::MAX as usize {
        return Err(Failure::invalid(format!(
            "metadata length {len} is larger than any object can be"
        )));
    }
    // SAFETY: `len` readable bytes at `json`, per the contract.
    let bytes = unsafe { std::slice::from_raw_parts(json.cast::<u8>(), len) };
    std::str::from_utf8(bytes)
        .map_err(|e| Failure::invalid(format!("{}: metadata is not UTF-8: {e}", path.display())))
}

/// Adds a tensor whose bytes the caller writes in place: `*data` receives a
/// pointer to its `size` bytes (dtype x shape) inside the output file, a
/// shared writable mapping, zero-filled, with no intermediate buffer. Write
/// the bytes there at any time before `tenzor_writer_finish`, which
/// computes the checksum. The pointer stays valid until
/// `tenzor_writer_finish` or `tenzor_writer_abort` (using it afterwards is
/// undefined behaviour); it is never NULL, even for 0 bytes. The caller
/// owns nothing: never free it.
///
/// Arguments and their errors as for `tenzor_writer_add` (without data);
/// on failure `*data` is unmodified. Tensors bigger than memory are fine:
/// pages are written back to the file as the kernel needs.
///
/// # Safety
/// `writer` must be NULL or a live writer; `name` NULL or a C string;
/// `shape` NULL or `ndim` readable values; `data` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_writer_reserve(
    writer: *mut tenzor_writer,
    name: *const c_char,
    dtype: tenzor_dtype,
    ndim: usize,
    shape: *const u64,
    data: *mut *mut c_void,
) -> tenzor_status {
    ffi_status("tenzor_writer_reserve", || {
        non_null!(writer, name, data);
        // SAFETY: non-NULL live writer and C string, per the contract.
        let (h, name) = unsafe { (WriterHandle::from_ptr(writer)?, str_arg(name, "name")?) };
        // SAFETY: `shape` holds `ndim` values, per the contract.
        let (dtype, shape) = unsafe { tensor_args(&h.path, name, dtype, ndim, shape) }?;
        let ptr = h.guarded(|w| w.reserve(name, dtype, shape).map(|b| b.as_mut_ptr()))?;
        // SAFETY: `data` is non-NULL and writable.
        unsafe { data.write(ptr.cast()) };
        Ok(())
    })
}

/// Reads back a tensor already added to this unfinished writer (by
/// `tenzor_writer_add` or `tenzor_writer_reserve`), by name, from the
/// output file. On success `*out` receives a view whose pointers stay
/// valid until `tenzor_writer_finish` or `tenzor_writer_abort`; for a
/// reserved tensor `data` shows what was written so far and `has_checksum`
/// is false (computed at finish). Unknown name: `TENZOR_ERR_NOT_FOUND`;
/// `*out` is then unmodified.
///
/// # Safety
/// `writer` must be NULL or a live writer, `name` NULL or a C string, `out`
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_writer_get_tensor(
    writer: *mut tenzor_writer,
    name: *const c_char,
    out: *mut tenzor_tensor,
) -> tenzor_status {
    ffi_status("tenzor_writer_get_tensor", || {
        non_null!(writer, name, out);
        // SAFETY: non-NULL live writer and C string, per the contract.
        let (h, name) = unsafe { (WriterHandle::from_ptr(writer)?, str_arg(name, "name")?) };
        let path = h.path.clone();
        let view = h.guarded(|w| Ok(w.get(name)?.map(|t| tenzor_tensor::from_tensor(&t))))?;
        let view = view.ok_or_else(|| not_found(&path, name))?;
        // SAFETY: `out` is non-NULL and writable.
        unsafe { out.write(view) };
        Ok(())
    })
}

/// `TENZOR_ERR_NOT_FOUND` for a name no tensor of the handle has.
pub(super) fn not_found(path: &Path, name: &str) -> Failure {
    Failure::new(
        tenzor_status::TENZOR_ERR_NOT_FOUND,
        format!(
            "{}: no tensor named '{}'",
            path.display(),
            name.escape_debug()
        ),
    )
}

/// Completes the file: writes the index, syncs, and renames it over the
/// destination. The writer is consumed whatever the outcome: do not use or
/// abort it afterwards. On failure the temporary file is removed and the
/// destination left as it was. NULL gives `TENZOR_ERR_NULL_ARGUMENT`.
///
/// # Safety
/// `writer` must be NULL or a live writer, not used after this call.
#[no_mangle]
pub unsafe extern "C" fn tenzor_writer_finish(writer: *mut tenzor_writer) -> tenzor_status {
    ffi_status("tenzor_writer_finish", || {
        non_null!(writer);
        // SAFETY: from Box::into_raw in tenzor_writer_create, released once.
        let h = unsafe { Box::from_raw(writer.cast::<WriterHandle>()) };
        // A broken writer is dropped here, which removes its temporary file.
        h.check_usable()?;
        Ok(h.writer.finish()?)
    })
}

/// Abandons a writer: removes its temporary file and frees it; the
/// destination is left as it was. NULL is a no-op. The writer must not be
/// used afterwards.
///
/// # Safety
/// `writer` must be NULL or a live writer, not used after this call.
#[no_mangle]
pub unsafe extern "C" fn tenzor_writer_abort(writer: *mut tenzor_writer) {
    ffi_value("tenzor_writer_abort", (), || {
        if !writer.is_null() {
            // SAFETY: from Box::into_raw in tenzor_writer_create, released once.
            drop(unsafe { Box::from_raw(writer.cast::<WriterHandle>()) });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_io_failure_breaks_the_writer_but_a_bad_argument_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.tenzor");
        let mut h = WriterHandle {
            writer: Writer::create(&path, Default::default()).unwrap(),
            path: path.clone(),
            broken: None,
        };
        let bad = h.guarded(|w| w.add_tensor("x", crate::DType::F32, &[2], &[0u8; 3]));
        assert_eq!(
            bad.unwrap_err().status,
            tenzor_status::TENZOR_ERR_INVALID_ARGUMENT
        );
        assert!(h.check_usable().is_ok());
        let io = h.guarded(|_| {
            Err::<(), _>(crate::Error::io(
                &path,
                "cannot write",
                std::io::Error::other("disk full"),
            ))
        });
        assert_eq!(io.unwrap_err().status, tenzor_status::TENZOR_ERR_IO);
        let again = h.check_usable().unwrap_err();
        assert_eq!(again.status, tenzor_status::TENZOR_ERR_IO);
        assert!(again.message.contains("disk full"), "{}", again.message);
    }
}
