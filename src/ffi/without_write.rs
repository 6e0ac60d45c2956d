//! Stand-ins for the C functions of feature `write` (writer, editor,
//! appender, rehash, convert) when the library is built without it: the
//! header stays the same for every build, and each function exists but
//! fails with `TENZOR_ERR_UNSUPPORTED`, its last error saying "tenzor was
//! built without feature `write`". No writer, editor or appender can ever be
//! made, so a handle argument can only be NULL: the release functions
//! (`tenzor_writer_abort`, `tenzor_editor_close`, `tenzor_appender_abort`)
//! are then no-ops, as they are for NULL in every build, and
//! `tenzor_editor_tensor_count` returns 0.
//!
//! The functions are defined inside macros, which cbindgen does not expand:
//! the header comes from the real functions only. The signatures are the
//! header's; the lean-build C test checks that this build exports exactly
//! the functions of the default one.

use std::ffi::{c_char, c_void};

use super::error::{set_last_error, tenzor_status, Failure};
use super::panic::{ffi_status, ffi_value};
use super::types::{
    tenzor_appender, tenzor_dtype, tenzor_editor, tenzor_tensor, tenzor_tensor_mut, tenzor_writer,
    tenzor_writer_options,
};

/// The failure every stand-in returns.
fn unsupported() -> Failure {
    crate::without::unsupported("write", "to write, edit, append to or convert files").into()
}

/// Defines stand-ins that fail with `TENZOR_ERR_UNSUPPORTED`.
macro_rules! unsupported_status {
    ($($name:ident($($arg:ident: $ty:ty),* $(,)?);)+) => {$(
        /// Built without feature `write`: fails with `TENZOR_ERR_UNSUPPORTED`.
        ///
        /// # Safety
        /// None needed: no argument is read.
        #[no_mangle]
        pub unsafe extern "C" fn $name($(_: $ty),*) -> tenzor_status {
            ffi_status(stringify!($name), || Err(unsupported()))
        }
    )+};
}

unsupported_status! {
    tenzor_writer_create(path: *const c_char, opts: *const tenzor_writer_options, out: *mut *mut tenzor_writer);
    tenzor_writer_add(writer: *mut tenzor_writer, name: *const c_char, dtype: tenzor_dtype, ndim: usize, shape: *const u64, data: *const c_void, len: usize);
    tenzor_writer_set_metadata(writer: *mut tenzor_writer, json: *const c_char, len: usize);
    tenzor_writer_reserve(writer: *mut tenzor_writer, name: *const c_char, dtype: tenzor_dtype, ndim: usize, shape: *const u64, data: *mut *mut c_void);
    tenzor_writer_get_tensor(writer: *mut tenzor_writer, name: *const c_char, out: *mut tenzor_tensor);
    tenzor_writer_finish(writer: *mut tenzor_writer);
    tenzor_editor_open(path: *const c_char, out: *mut *mut tenzor_editor);
    tenzor_editor_get_tensor(editor: *mut tenzor_editor, name: *const c_char, out: *mut tenzor_tensor_mut);
    tenzor_editor_get_tensor_at(editor: *mut tenzor_editor, position: usize, out: *mut tenzor_tensor_mut);
    tenzor_editor_flush(editor: *mut tenzor_editor);
    tenzor_rehash(path: *const c_char);
    tenzor_appender_open(path: *const c_char, create_opts: *const tenzor_writer_options, out: *mut *mut tenzor_appender);
    tenzor_appender_add(appender: *mut tenzor_appender, name: *const c_char, dtype: tenzor_dtype, ndim: usize, shape: *const u64, data: *const c_void, len: usize);
    tenzor_appender_reserve(appender: *mut tenzor_appender, name: *const c_char, dtype: tenzor_dtype, ndim: usize, shape: *const u64, data: *mut *mut c_void);
    tenzor_appender_set_metadata(appender: *mut tenzor_appender, json: *const c_char, len: usize);
    tenzor_appender_get_tensor(appender: *mut tenzor_appender, name: *const c_char, out: *mut tenzor_tensor);
    tenzor_appender_commit(appender: *mut tenzor_appender);
    tenzor_convert(input: *const c_char, output: *const c_char);
}

/// Emits its items unchanged: cbindgen does not expand macros, so the
/// header keeps only the real functions.
macro_rules! not_in_header {
    ($($item:item)+) => { $($item)+ };
}

not_in_header! {
    /// Built without feature `write`: no writer exists, so a no-op.
    #[no_mangle]
    pub extern "C" fn tenzor_writer_abort(_: *mut tenzor_writer) {}

    /// Built without feature `write`: no appender exists, so a no-op.
    #[no_mangle]
    pub extern "C" fn tenzor_appender_abort(_: *mut tenzor_appender) {}

    /// Built without feature `write`: no editor exists, so a no-op (`TENZOR_OK`).
    #[no_mangle]
    pub extern "C" fn tenzor_editor_close(_: *mut tenzor_editor) -> tenzor_status {
        tenzor_status::TENZOR_OK
    }

    /// Built without feature `write`: 0, and the last error says why.
    #[no_mangle]
    pub extern "C" fn tenzor_editor_tensor_count(_: *mut tenzor_editor) -> usize {
        ffi_value("tenzor_editor_tensor_count", 0, || {
            set_last_error("tenzor_editor_tensor_count", &unsupported().message);
            0
        })
    }
}
