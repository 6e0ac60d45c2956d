//! Appending: the `tenzor_appender` handle around [`Appender`] (modes `a`
//! and `a+`: add and replace tensors of an existing file, read old and new
//! ones back, commit crash-safely).

use std::ffi::{c_char, c_void};
use std::path::PathBuf;

use super::error::{tenzor_status, Failure, FfiResult};
use super::panic::{ffi_status, ffi_value};
use super::types::{tenzor_appender, tenzor_dtype, tenzor_tensor, tenzor_writer_options};
use super::writer::{data_arg, metadata_arg, not_found, tensor_args};
use super::{non_null, path_arg, str_arg};
use crate::append::{AppendOptions, Appender};

/// What a `*mut tenzor_appender` points to.
struct AppenderHandle {
    appender: Appender,
    path: PathBuf,
}

// An appender may be handed from one C thread to another between calls.
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<AppenderHandle>();
};

/// Borrows the appender behind a C pointer.
///
/// # Safety
/// `p` must be NULL or a live handle from `tenzor_appender_open`, used by
/// one thread at a time.
unsafe fn handle<'a>(p: *mut tenzor_appender) -> FfiResult<&'a mut AppenderHandle> {
    // SAFETY: per the contract.
    unsafe { p.cast::<AppenderHandle>().as_mut() }.ok_or_else(|| Failure::null("appender"))
}

/// Opens the .tenzor file at `path` (a NUL-terminated path) for appending,
/// or creates it when it does not exist (then `create_opts`, which may be
/// NULL for the defaults and is only read during this call, sets its
/// alignment and reservations; an existing file keeps its alignment).
///
/// Takes the file's write lock: while this appender lives, another
/// appender or editor fails with `TENZOR_ERR_BUSY`. Readers are never
/// blocked or disturbed: `tenzor_file` handles opened before the commit keep
/// seeing the old content with unchanged bytes. A .safetensors, .gguf or
/// legacy v1 file, or a shard index, is `TENZOR_ERR_UNSUPPORTED` (convert it
/// first); a file carrying the edit mark is `TENZOR_ERR_CHECKSUM` (run
/// `tenzor_rehash`). Opening changes nothing but cutting the leftovers of
/// an earlier interrupted append.
///
/// On success `*out` receives a handle owned by the caller, to be released
/// by exactly one of `tenzor_appender_commit` or `tenzor_appender_abort`;
/// on failure `*out` is unmodified. Use an appender from one thread at a
/// time.
///
/// # Safety
/// `path` must be NULL or a C string, `create_opts` NULL or readable, `out`
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_appender_open(
    path: *const c_char,
    create_opts: *const tenzor_writer_options,
    out: *mut *mut tenzor_appender,
) -> tenzor_status {
    ffi_status("tenzor_appender_open", || {
        non_null!(path, out);
        // SAFETY: checked non-NULL; the caller promises a C string.
        let path = unsafe { path_arg(path, "path") }?;
        // SAFETY: NULL or readable, per the contract.
        let opts = unsafe { create_opts.as_ref() }.copied().unwrap_or_default();
        let appender = Appender::open(
            path,
            AppendOptions {
                create: opts.to_core(),
            },
        )?;
        let h = Box::new(AppenderHandle {
            appender,
            path: path.to_path_buf(),
        });
        // SAFETY: `out` is non-NULL and writable.
        unsafe { out.write(Box::into_raw(h).cast()) };
        Ok(())
    })
}

/// Adds one tensor, or replaces the committed tensor of that name (which
/// keeps its position; its old bytes become dead space). The bytes are
/// written to the file now (copied; the caller keeps ownership of every
/// argument) and become part of the content at `tenzor_appender_commit`.
/// Arguments as for `tenzor_writer_add`; a name added twice in one session
/// is `TENZOR_ERR_DUPLICATE_NAME`; a full disk is `TENZOR_ERR_IO` naming the
/// file (the committed content is intact; abort the appender).
///
/// # Safety
/// `appender` must be NULL or a live appender; `name` NULL or a C string;
/// `shape` NULL or `ndim` readable values; `data` NULL or `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn tenzor_appender_add(
    appender: *mut tenzor_appender,
    name: *const c_char,
    dtype: tenzor_dtype,
    ndim: usize,
    shape: *const u64,
    data: *const c_void,
    len: usize,
) -> tenzor_status {
    ffi_status("tenzor_appender_add", || {
        non_null!(appender, name);
        // SAFETY: non-NULL live appender and C string, per the contract.
        let (h, name) = unsafe { (handle(appender)?, str_arg(name, "name")?) };
        // SAFETY: `shape` holds `ndim` values, `data` `len` bytes, per the contract.
        let (dtype, shape) = unsafe { tensor_args(&h.path, name, dtype, ndim, shape) }?;
        // SAFETY: as above.
        let data = unsafe { data_arg(&h.path, name, data, len) }?;
        Ok(h.appender.add_tensor(name, dtype, shape, data)?)
    })
}

/// Adds (or replaces) a tensor whose bytes the caller writes in place:
/// `*data` receives a pointer to its bytes inside the file (a shared
/// writable mapping, zero-filled). It stays valid until
/// `tenzor_appender_commit` or `tenzor_appender_abort` (using it afterwards
/// is undefined behaviour) and is never NULL; the checksum is computed at
/// commit. Arguments as for `tenzor_writer_reserve`; on failure `*data` is
/// unmodified.
///
/// # Safety
/// `appender` must be NULL or a live appender; `name` NULL or a C string;
/// `shape` NULL or `ndim` readable values; `data` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_appender_reserve(
    appender: *mut tenzor_appender,
    name: *const c_char,
    dtype: tenzor_dtype,
    ndim: usize,
    shape: *const u64,
    data: *mut *mut c_void,
) -> tenzor_status {
    ffi_status("tenzor_appender_reserve", || {
        non_null!(appender, name, data);
        // SAFETY: non-NULL live appender and C string, per the contract.
        let (h, name) = unsafe { (handle(appender)?, str_arg(name, "name")?) };
        // SAFETY: `shape` holds `ndim` values, per the contract.
        let (dtype, shape) = unsafe { tensor_args(&h.path, name, dtype, ndim, shape) }?;
        let ptr = h.appender.reserve(name, dtype, shape)?.as_mut_ptr();
        // SAFETY: `data` is non-NULL and writable.
        unsafe { data.write(ptr.cast()) };
        Ok(())
    })
}

/// Replaces the file's metadata, at commit, with the `len` bytes of JSON at
/// `json` (a JSON object; need not be NUL-terminated; copied). Errors as
/// for `tenzor_writer_set_metadata`.
///
/// # Safety
/// `appender` must be NULL or a live appender; `json` NULL or `len`
/// readable bytes.
#[no_mangle]
pub unsafe extern "C" fn tenzor_appender_set_metadata(
    appender: *mut tenzor_appender,
    json: *const c_char,
    len: usize,
) -> tenzor_status {
    ffi_status("tenzor_appender_set_metadata", || {
        non_null!(appender, json);
        // SAFETY: non-NULL live appender, per the contract.
        let h = unsafe { handle(appender) }?;
        // SAFETY: `len` readable bytes at `json`, per the contract.
        let text = unsafe { metadata_arg(&h.path, json, len) }?;
        Ok(h.appender.set_metadata(text)?)
    })
}

/// Looks up `name` as the file will hold it after commit: a tensor added in
/// this session, else the committed one (mode `a+`). On success `*out`
/// receives a view whose pointers stay valid until
/// `tenzor_appender_commit` or `tenzor_appender_abort`; a reserved
/// tensor's `has_checksum` is false until commit. Unknown name:
/// `TENZOR_ERR_NOT_FOUND`, `*out` unmodified.
///
/// # Safety
/// `appender` must be NULL or a live appender, `name` NULL or a C string,
/// `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_appender_get_tensor(
    appender: *mut tenzor_appender,
    name: *const c_char,
    out: *mut tenzor_tensor,
) -> tenzor_status {
    ffi_status("tenzor_appender_get_tensor", || {
        non_null!(appender, name, out);
        // SAFETY: non-NULL live appender and C string, per the contract.
        let (h, name) = unsafe { (handle(appender)?, str_arg(name, "name")?) };
        let t = h.appender.get(name)?;
        let view = t
            .map(|t| tenzor_tensor::from_tensor(&t))
            .ok_or_else(|| not_found(&h.path, name))?;
        // SAFETY: `out` is non-NULL and writable.
        unsafe { out.write(view) };
        Ok(())
    })
}

/// Commits: makes the added tensors and metadata the file's content,
/// durably and crash-safely (FORMAT.md, "Commit protocol"), and releases
/// the write lock. The appender is consumed whatever the outcome: do not
/// use or abort it afterwards, and stop using every pointer it handed out.
/// On failure (`TENZOR_ERR_IO` naming the file) the file holds its old
/// content, or the new one if the failure came after the commit point.
/// NULL gives `TENZOR_ERR_NULL_ARGUMENT`.
///
/// # Safety
/// `appender` must be NULL or a live appender, not used after this call.
#[no_mangle]
pub unsafe extern "C" fn tenzor_appender_commit(appender: *mut tenzor_appender) -> tenzor_status {
    ffi_status("tenzor_appender_commit", || {
        non_null!(appender);
        // SAFETY: from Box::into_raw in tenzor_appender_open, released once.
        let h = unsafe { Box::from_raw(appender.cast::<AppenderHandle>()) };
        Ok(h.appender.commit()?)
    })
}

/// Abandons an appender: the file keeps its committed content (the bytes
/// written since open are cut off) and the write lock is released. Every
/// pointer it handed out becomes invalid. NULL is a no-op.
///
/// # Safety
/// `appender` must be NULL or a live appender, not used after this call.
#[no_mangle]
pub unsafe extern "C" fn tenzor_appender_abort(appender: *mut tenzor_appender) {
    ffi_value("tenzor_appender_abort", (), || {
        if !appender.is_null() {
            // SAFETY: from Box::into_raw in tenzor_appender_open, released once.
            drop(unsafe { Box::from_raw(appender.cast::<AppenderHandle>()) });
        }
    })
}
