//! Editing in place: the `tenzor_editor` handle around [`Editor`], and
//! `tenzor_rehash`, which repairs a file an interrupted edit left marked.

use std::ffi::c_char;

use super::error::{tenzor_status, Failure, FfiResult};
use super::panic::{ffi_status, ffi_value};
use super::types::{tenzor_editor, tenzor_tensor_mut};
use super::{non_null, path_arg, str_arg};
use crate::edit::{rehash, Editor};

// An editor may be handed from one C thread to another between calls.
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<Editor>();
};

/// Borrows the editor behind a C pointer.
///
/// # Safety
/// `p` must be NULL or a live handle from `tenzor_editor_open`, used by one
/// thread at a time.
unsafe fn editor<'a>(p: *mut tenzor_editor) -> FfiResult<&'a mut Editor> {
    // SAFETY: per the contract.
    unsafe { p.cast::<Editor>().as_mut() }.ok_or_else(|| Failure::null("editor"))
}

/// Hands out the tensor at `position` for writing and writes its view to `out`.
///
/// # Safety
/// `out` must be non-NULL and writable.
unsafe fn give(ed: &mut Editor, position: usize, out: *mut tenzor_tensor_mut) -> FfiResult<()> {
    let (offset, _) = ed.open_for_writing(position)?;
    // SAFETY: `offset` lies inside the mapping (validated at open), which
    // lives until the editor is closed.
    let data = unsafe { ed.base_ptr().add(offset) };
    let t = ed.get_at(position).expect("position was just checked");
    let view = tenzor_tensor_mut::from_tensor(&t, data);
    // SAFETY: per the contract.
    unsafe { out.write(view) };
    Ok(())
}

/// Opens the existing tensor file at `path` (a NUL-terminated path) for
/// editing tensor bytes in place: .tenzor (v2, or legacy v1), .safetensors
/// or .gguf, validated as `tenzor_open` does; the structure (names, shapes,
/// dtypes) never changes. The file is mapped read-write and shared, so open
/// `tenzor_file` handles on it, in this process or others, see the new
/// bytes as they are written.
///
/// Takes the file's write lock: while this editor is open, another editor
/// (or appender) fails with `TENZOR_ERR_BUSY`. A file that cannot be opened
/// for writing (permissions, read-only filesystem) is `TENZOR_ERR_IO`; one
/// left marked by an interrupted edit is `TENZOR_ERR_CHECKSUM` (repair it
/// with `tenzor_rehash`); a shard index or an appendable file is
/// `TENZOR_ERR_UNSUPPORTED`. Opening changes nothing in the file.
///
/// On success `*out` receives a handle owned by the caller, to be released
/// by `tenzor_editor_close`; on failure `*out` is unmodified. Use an editor
/// from one thread at a time.
///
/// # Safety
/// `path` must be NULL or a C string; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_editor_open(
    path: *const c_char,
    out: *mut *mut tenzor_editor,
) -> tenzor_status {
    ffi_status("tenzor_editor_open", || {
        non_null!(path, out);
        // SAFETY: checked non-NULL; the caller promises a C string.
        let path = unsafe { path_arg(path, "path") }?;
        let ed = Box::new(Editor::open(path)?);
        // SAFETY: `out` is non-NULL and writable.
        unsafe { out.write(Box::into_raw(ed).cast()) };
        Ok(())
    })
}

/// Number of tensors in the file (0 when `editor` is NULL).
///
/// # Safety
/// `editor` must be NULL or a live editor.
#[no_mangle]
pub unsafe extern "C" fn tenzor_editor_tensor_count(editor: *mut tenzor_editor) -> usize {
    ffi_value("tenzor_editor_tensor_count", 0, || {
        // SAFETY: per the contract.
        unsafe { self::editor(editor) }.map_or(0, |e| e.len())
    })
}

/// Looks up the tensor called `name` (NUL-terminated UTF-8; for legacy v1
/// files its hash is matched) and hands it out for writing.
///
/// On success `*out` receives a view whose `data` points to the tensor's
/// `size` bytes inside the file, writable until the next
/// `tenzor_editor_flush` and valid (for reading) until
/// `tenzor_editor_close`; on failure `*out` is unmodified and nothing is
/// handed out. For a .tenzor v2 file the first view marks the file as being
/// edited, durably, before it is returned (an I/O error then is
/// `TENZOR_ERR_IO`). Unknown name: `TENZOR_ERR_NOT_FOUND`.
///
/// # Safety
/// `editor` must be NULL or a live editor, `name` NULL or a C string, `out`
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_editor_get_tensor(
    editor: *mut tenzor_editor,
    name: *const c_char,
    out: *mut tenzor_tensor_mut,
) -> tenzor_status {
    ffi_status("tenzor_editor_get_tensor", || {
        non_null!(editor, name, out);
        // SAFETY: non-NULL live editor and C string, per the contract.
        let (ed, name) = unsafe { (self::editor(editor)?, str_arg(name, "name")?) };
        let position = ed.position_of(name)?;
        // SAFETY: `out` is non-NULL and writable.
        unsafe { give(ed, position, out) }
    })
}

/// Hands out the tensor at `position` (0 to count - 1, the order tensors
/// were written) for writing, as `tenzor_editor_get_tensor` does. A
/// position past the end is `TENZOR_ERR_OUT_OF_RANGE`.
///
/// # Safety
/// `editor` must be NULL or a live editor, `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_editor_get_tensor_at(
    editor: *mut tenzor_editor,
    position: usize,
    out: *mut tenzor_tensor_mut,
) -> tenzor_status {
    ffi_status("tenzor_editor_get_tensor_at", || {
        non_null!(editor, out);
        // SAFETY: non-NULL live editor; `out` non-NULL and writable.
        unsafe { give(self::editor(editor)?, position, out) }
    })
}

/// Makes every write so far durable and the file verifiable again: syncs
/// the written bytes, stores the recomputed checksums of the tensors handed
/// out since the last flush, rewrites the header checksum and clears the
/// edit mark, with a barrier between each step (FORMAT.md, "Edit mark").
/// Views stay valid for reading; to write again, fetch them again. A flush
/// with nothing handed out does nothing. On an I/O error (`TENZOR_ERR_IO`)
/// the mark stays set: the file opens read-only with
/// `tenzor_file_edit_interrupted` true until a flush or `tenzor_rehash`
/// succeeds.
///
/// # Safety
/// `editor` must be NULL or a live editor.
#[no_mangle]
pub unsafe extern "C" fn tenzor_editor_flush(editor: *mut tenzor_editor) -> tenzor_status {
    ffi_status("tenzor_editor_flush", || {
        non_null!(editor);
        // SAFETY: per the contract.
        Ok(unsafe { self::editor(editor)? }.flush()?)
    })
}

/// Flushes (as `tenzor_editor_flush`), then unmaps the file, releases the
/// write lock and frees the editor, whatever the outcome: the status reports
/// the flush. NULL is a no-op returning `TENZOR_OK`. Every view obtained
/// from the editor becomes invalid: using its pointers after close is
/// undefined behaviour (the mapping is gone), as is closing twice.
///
/// # Safety
/// `editor` must be NULL or a live editor, not used after this call.
#[no_mangle]
pub unsafe extern "C" fn tenzor_editor_close(editor: *mut tenzor_editor) -> tenzor_status {
    ffi_status("tenzor_editor_close", || {
        if editor.is_null() {
            return Ok(());
        }
        // SAFETY: from Box::into_raw in tenzor_editor_open, released once.
        let ed = unsafe { Box::from_raw(editor.cast::<Editor>()) };
        Ok(ed.close()?)
    })
}

/// Repairs the .tenzor file at `path` (a NUL-terminated path) after an
/// interrupted edit: recomputes every tensor checksum and the header
/// checksum, then clears the edit mark (what `tenzor rehash FILE` does).
/// A file without the mark whose checksums match is left untouched
/// (`TENZOR_OK`); one without the mark whose checksums disagree is corrupted
/// and refused (`TENZOR_ERR_CHECKSUM`, naming the tensor); formats without
/// checksums are `TENZOR_ERR_UNSUPPORTED`; a live editor on the file gives
/// `TENZOR_ERR_BUSY`. The names of the repaired tensors are not returned;
/// `tenzor_file_edit_interrupted` and `tenzor_verify` tell what was stale
/// beforehand.
///
/// # Safety
/// `path` must be NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn tenzor_rehash(path: *const c_char) -> tenzor_status {
    ffi_status("tenzor_rehash", || {
        non_null!(path);
        // SAFETY: checked non-NULL; the caller promises a C string.
        let path = unsafe { path_arg(path, "path") }?;
        rehash(path)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_arguments_are_refused_and_close_null_is_a_no_op() {
        let mut out = std::mem::MaybeUninit::<tenzor_tensor_mut>::uninit();
        // SAFETY: NULL handles and arguments are part of the contract.
        unsafe {
            assert_eq!(
                tenzor_editor_open(std::ptr::null(), std::ptr::null_mut()),
                tenzor_status::TENZOR_ERR_NULL_ARGUMENT
            );
            assert_eq!(
                tenzor_editor_get_tensor(std::ptr::null_mut(), c"x".as_ptr(), out.as_mut_ptr()),
                tenzor_status::TENZOR_ERR_NULL_ARGUMENT
            );
            assert_eq!(
                tenzor_editor_get_tensor_at(std::ptr::null_mut(), 0, out.as_mut_ptr()),
                tenzor_status::TENZOR_ERR_NULL_ARGUMENT
            );
            assert_eq!(
                tenzor_editor_flush(std::ptr::null_mut()),
                tenzor_status::TENZOR_ERR_NULL_ARGUMENT
            );
            assert_eq!(tenzor_editor_tensor_count(std::ptr::null_mut()), 0);
            assert_eq!(
                tenzor_rehash(std::ptr::null()),
                tenzor_status::TENZOR_ERR_NULL_ARGUMENT
            );
            assert_eq!(
                tenzor_editor_close(std::ptr::null_mut()),
                tenzor_status::TENZOR_OK
            );
        }
    }
}
