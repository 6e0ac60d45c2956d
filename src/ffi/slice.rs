//! Slices on the `tenzor_file` handle: a zero-copy view of rows of the
//! outermost dimension, a copying read of any hyper-rectangle, and the
//! description of a tensor (to size their destinations) without reading it.

use std::ffi::{c_char, c_void};

use super::error::{tenzor_status, Failure, FfiResult};
use super::file::FileHandle;
use super::panic::ffi_status;
use super::types::{tenzor_file, tenzor_tensor, TENZOR_MAX_DIMS};
use super::{non_null, str_arg};

/// Describes the tensor called `name` without reading its data, whatever
/// the backend: what to allocate before `tenzor_read_tensor` or
/// `tenzor_read_slice` (with READ/DIRECT, `tenzor_get_tensor` would read the
/// whole tensor into the handle's memory first).
///
/// On success `*out` holds what `tenzor_get_tensor` gives (name, dtype,
/// shape, size, checksum, file offset, position) but `data`, which is NULL,
/// and `alignment`, which is 0: there are no bytes to point to. The name
/// pointer is borrowed from the file, valid until `tenzor_close`. On
/// failure `*out` is unmodified (`TENZOR_ERR_NOT_FOUND` for an unknown
/// name; under LAZY validation a bad entry fails here too).
///
/// # Safety
/// `file` NULL or an open handle; `name` NULL or a C string; `out` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_get_tensor_info(
    file: *const tenzor_file,
    name: *const c_char,
    out: *mut tenzor_tensor,
) -> tenzor_status {
    ffi_status("tenzor_get_tensor_info", || {
        non_null!(file, name, out);
        // SAFETY: non-NULL handle and C string, per the contract.
        let (h, name) = unsafe { (FileHandle::from_ptr(file)?, str_arg(name, "name")?) };
        let (_, t) = h.file.owner_of(name).map_err(|e| h.fail(e))?;
        // SAFETY: `out` is non-NULL and writable, per the contract.
        unsafe { out.write(info_view(&t)) };
        Ok(())
    })
}

/// Describes the tensor at `index` (position order, as
/// `tenzor_get_tensor_at`) without reading its data, whatever the backend:
/// how to list a file opened with READ or DIRECT, where
/// `tenzor_get_tensor_at` would read every tensor into the handle's memory.
///
/// On success `*out` holds what `tenzor_get_tensor_info` gives (`data`
/// NULL, `alignment` 0; the name pointer valid until `tenzor_close`). On
/// failure `*out` is unmodified: `TENZOR_ERR_NOT_FOUND` when `index` is not
/// below `tenzor_tensor_count`; under LAZY validation a bad entry fails here.
///
/// # Safety
/// `file` NULL or an open handle; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_get_tensor_info_at(
    file: *const tenzor_file,
    index: usize,
    out: *mut tenzor_tensor,
) -> tenzor_status {
    ffi_status("tenzor_get_tensor_info_at", || {
        non_null!(file, out);
        // SAFETY: non-NULL handle, per the contract.
        let h = unsafe { FileHandle::from_ptr(file)? };
        let t = h.file.describe_checked_at(index).map_err(|e| h.fail(e))?;
        // SAFETY: `out` is non-NULL and writable, per the contract.
        unsafe { out.write(info_view(&t)) };
        Ok(())
    })
}

/// A description of `t` without its bytes: `data` NULL, `alignment` 0.
fn info_view(t: &crate::tensor::Tensor<'_>) -> tenzor_tensor {
    let mut view = tenzor_tensor::from_tensor(t);
    view.data = std::ptr::null();
    view.alignment = 0;
    view
}

/// A view of rows `[start, stop)` of the outermost dimension of the tensor
/// called `name`, for tensor-parallel ranks that need only their part.
///
/// On success `*out` receives a view borrowed from the file, valid until
/// `tenzor_close`: `shape[0]` is `stop - start` (the other dimensions are
/// the tensor's), `data`/`size`/`file_offset` cover exactly those rows'
/// bytes, `has_checksum` is false (the stored checksum covers the whole
/// tensor). Nothing is copied: with MMAP `data` points into the mapping;
/// with READ/DIRECT only the 4096-byte pages holding those rows are read
/// into the handle's memory (kept until `tenzor_close`), not the rest of
/// the tensor. On failure `*out` is unmodified.
///
/// `TENZOR_ERR_OUT_OF_RANGE`: a scalar (no rows), `start > stop`, `stop`
/// past the rows. `start == stop` is a valid, empty view.
/// `TENZOR_ERR_UNSUPPORTED`: a block type (GGML quants, F4, F6) whose
/// blocks a cut at `start` or `stop` would split; the message gives the
/// block size and the row multiple that works.
///
/// # Safety
/// `file` NULL or an open handle; `name` NULL or a C string; `out` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_get_tensor_rows(
    file: *const tenzor_file,
    name: *const c_char,
    start: u64,
    stop: u64,
    out: *mut tenzor_tensor,
) -> tenzor_status {
    ffi_status("tenzor_get_tensor_rows", || {
        non_null!(file, name, out);
        // SAFETY: non-NULL handle and C string, per the contract.
        let (h, name) = unsafe { (FileHandle::from_ptr(file)?, str_arg(name, "name")?) };
        h.give(h.file.get_rows(name, start, stop), out)
    })
}

/// Copies the hyper-rectangle `start[d] .. stop[d]` (one pair per
/// dimension, `ndim` of them: the tensor's rank) of the tensor called
/// `name` into `dst`, row-major and contiguous (numpy's
/// `a[s0:e0, s1:e1, ...]`), and writes the bytes copied to `*written`
/// (when `written` is not NULL). `dst` NULL with `cap` 0 only computes
/// that size, reading nothing. `cap` smaller than the slice:
/// `TENZOR_ERR_INVALID_ARGUMENT`, nothing written. `dst` stays the
/// caller's; nothing is kept by the handle.
///
/// Each contiguous run of the file is one copy (MMAP: memcpy from the
/// mapping) or one pread (READ/DIRECT: only the runs are read, short runs
/// close together sharing one read of the span between them; never the
/// whole tensor unless the slice covers it).
///
/// `TENZOR_ERR_OUT_OF_RANGE`: `ndim` is not the tensor's rank, a start
/// past its stop, a stop past its dimension. Empty ranges are valid and
/// copy 0 bytes. A scalar takes `ndim` 0 (`start`, `stop` may be NULL).
/// `TENZOR_ERR_UNSUPPORTED`: a block type whose blocks the slice would cut
/// (the message names the block size).
///
/// # Safety
/// `file` NULL or an open handle; `name` NULL or a C string; `start` and
/// `stop` NULL or `ndim` readable values each; `dst` NULL or `cap`
/// writable bytes; `written` NULL or writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn tenzor_read_slice(
    file: *const tenzor_file,
    name: *const c_char,
    start: *const u64,
    stop: *const u64,
    ndim: usize,
    dst: *mut c_void,
    cap: usize,
    written: *mut usize,
) -> tenzor_status {
    ffi_status("tenzor_read_slice", || {
        non_null!(file, name);
        // SAFETY: non-NULL handle and C string, per the contract.
        let (h, name) = unsafe { (FileHandle::from_ptr(file)?, str_arg(name, "name")?) };
        if ndim > TENZOR_MAX_DIMS {
            return Err(Failure::new(
                tenzor_status::TENZOR_ERR_OUT_OF_RANGE,
                format!(
                    "{}: tensor '{}': ndim is {ndim}, more than any tensor has ({TENZOR_MAX_DIMS})",
                    h.label(),
                    name.escape_debug()
                ),
            ));
        }
        // SAFETY: NULL or `ndim` readable values, per the contract.
        let (starts, stops) =
            unsafe { (bounds(start, ndim, "start")?, bounds(stop, ndim, "stop")?) };
        let n = if dst.is_null() {
            if cap != 0 {
                return Err(Failure::null("dst"));
            }
            h.file.slice_size(name, starts, stops)
        } else {
            // SAFETY: `cap` writable bytes at `dst`, per the contract.
            let dst = unsafe { std::slice::from_raw_parts_mut(dst.cast::<u8>(), cap) };
            h.file.read_slice(name, starts, stops, dst)
        }
        .map_err(|e| h.fail(e))?;
        if !written.is_null() {
            // SAFETY: non-NULL and writable, per the contract.
            unsafe { written.write(n) };
        }
        Ok(())
    })
}

/// `ndim` values at `p` (`ndim` at most `TENZOR_MAX_DIMS`, checked first).
///
/// # Safety
/// `p` NULL or `ndim` readable values.
unsafe fn bounds<'a>(p: *const u64, ndim: usize, arg: &str) -> FfiResult<&'a [u64]> {
    if ndim == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Failure::null(arg));
    }
    // SAFETY: `ndim` readable values, per the contract.
    Ok(unsafe { std::slice::from_raw_parts(p, ndim) })
}
