//! The C ABI of tenzor (`include/tenzor.h` is generated from this module by
//! cbindgen; never edit the header by hand).
//!
//! Conventions, for every exported function:
//! - fallible calls return a `tenzor_status`; out-parameters come last and
//!   are written only on success; a failure leaves a message for
//!   `tenzor_last_error` on the calling thread;
//! - every pointer argument is NULL-checked (`TENZOR_ERR_NULL_ARGUMENT`);
//!   releasing NULL (`tenzor_close`, `tenzor_writer_abort`) is a no-op;
//! - no panic crosses the boundary: it becomes `TENZOR_ERR_PANIC` (or the
//!   default value each non-status function documents);
//! - each doc comment says who owns what a call returns and until when.
//!
//! Layout: `error` (statuses, last error), `panic` (the boundary), `types`
//! (handles, views, dtype numbers), `file` (reading), `meta` (typed
//! metadata by key), `writer` (writing), `editor` (editing in place),
//! `appender` (appending), `load` (open options, reads into caller
//! memory, hints), `slice` (row views and hyper-rectangle reads);
//! the few stateless functions live here. Built without feature `write`,
//! `without_write` replaces `writer`, `editor` and `appender` (and
//! `tenzor_convert`) with functions that fail with `TENZOR_ERR_UNSUPPORTED`.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, CStr, CString};
use std::path::Path;
use std::sync::OnceLock;

#[cfg(feature = "write")]
pub mod appender;
#[cfg(feature = "write")]
pub mod editor;
pub mod error;
pub mod file;
pub mod load;
pub mod meta;
mod panic;
pub mod slice;
pub mod types;
#[cfg(not(feature = "write"))]
mod without_write;
#[cfg(feature = "write")]
pub mod writer;

use error::{Failure, FfiResult};
use panic::ffi_value;
use types::{dtype_from_c, tenzor_dtype};

/// Returns `TENZOR_ERR_NULL_ARGUMENT` naming the first NULL pointer argument.
macro_rules! non_null {
    ($($arg:ident),+) => {
        $(
            if $arg.is_null() {
                return Err($crate::ffi::error::Failure::null(stringify!($arg)));
            }
        )+
    };
}
pub(crate) use non_null;

/// Major version of the library this header belongs to.
pub const TENZOR_VERSION_MAJOR: u32 = 0;
/// Minor version of the library this header belongs to.
pub const TENZOR_VERSION_MINOR: u32 = 2;
/// Patch version of the library this header belongs to.
pub const TENZOR_VERSION_PATCH: u32 = 0;

/// A C string argument, borrowed for the call.
///
/// # Safety
/// `p` must be non-NULL and NUL-terminated.
pub(crate) unsafe fn cstr_arg<'a>(p: *const c_char) -> &'a CStr {
    // SAFETY: guaranteed by the caller.
    unsafe { CStr::from_ptr(p) }
}

/// A C string argument that must be UTF-8.
///
/// # Safety
/// As [`cstr_arg`].
pub(crate) unsafe fn str_arg<'a>(p: *const c_char, arg: &str) -> FfiResult<&'a str> {
    // SAFETY: guaranteed by the caller.
    unsafe { cstr_arg(p) }
        .to_str()
        .map_err(|e| Failure::invalid(format!("argument '{arg}' is not valid UTF-8: {e}")))
}

/// A path argument: any bytes on Unix, UTF-8 elsewhere.
///
/// # Safety
/// As [`cstr_arg`].
pub(crate) unsafe fn path_arg<'a>(p: *const c_char, arg: &str) -> FfiResult<&'a Path> {
    // SAFETY: guaranteed by the caller.
    let c = unsafe { cstr_arg(p) };
    if c.is_empty() {
        return Err(Failure::invalid(format!(
            "argument '{arg}' is an empty path"
        )));
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(Path::new(std::ffi::OsStr::from_bytes(c.to_bytes())))
    }
    #[cfg(not(unix))]
    {
        // SAFETY: guaranteed by the caller.
        unsafe { str_arg(p, arg) }.map(Path::new)
    }
}

/// The library version as a static NUL-terminated string, e.g. "0.2.0"
/// (never NULL; do not free). Compare with the `TENZOR_VERSION_*` macros
/// of the header you compiled against.
#[no_mangle]
pub extern "C" fn tenzor_version() -> *const c_char {
    const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    ffi_value("tenzor_version", VERSION.as_ptr().cast(), || {
        VERSION.as_ptr().cast()
    })
}

/// The canonical name of `dtype` ("F32", "BF16", "F8_E4M3", ...) as a
/// static NUL-terminated string (do not free), or NULL for an unknown number.
#[no_mangle]
pub extern "C" fn tenzor_dtype_name(dtype: tenzor_dtype) -> *const c_char {
    ffi_value("tenzor_dtype_name", std::ptr::null(), || {
        static NAMES: OnceLock<Vec<(crate::DType, CString)>> = OnceLock::new();
        let names = NAMES.get_or_init(|| {
            crate::DType::ALL
                .iter()
                .map(|d| (*d, CString::new(d.name()).expect("dtype names have no NUL")))
                .collect()
        });
        dtype_from_c(dtype)
            .and_then(|d| names.iter().find(|(n, _)| *n == d))
            .map_or(std::ptr::null(), |(_, c)| c.as_ptr())
    })
}

/// Bits per element of `dtype` (32 for F32, 4 for F4, 6 for F6_*), or 0 for
/// an unknown number.
#[no_mangle]
pub extern "C" fn tenzor_dtype_bits(dtype: tenzor_dtype) -> u32 {
    ffi_value("tenzor_dtype_bits", 0, || {
        dtype_from_c(dtype).map_or(0, |d| d.bits())
    })
}

/// The FNV-1a 64 hash of the `len` bytes at `name` (no NUL needed), as
/// stored in `tenzor_tensor.name_hash` and taken by
/// `tenzor_get_tensor_by_hash`. `name` may be NULL when `len` is 0 (the
/// hash of the empty name); NULL with `len > 0` returns 0 and sets the last
/// error.
///
/// # Safety
/// `name` must be NULL or point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn tenzor_hash_name(name: *const c_char, len: usize) -> u64 {
    ffi_value("tenzor_hash_name", 0, || {
        if len == 0 {
            return crate::hash_name(b"");
        }
        if name.is_null() {
            error::set_last_error("tenzor_hash_name", "argument 'name' is NULL");
            return 0;
        }
        // SAFETY: `len` readable bytes, per the contract.
        crate::hash_name(unsafe { std::slice::from_raw_parts(name.cast::<u8>(), len) })
    })
}

/// Converts the file at `input` to `output` (both NUL-terminated paths):
/// the input is anything `tenzor_open` reads (recognised from its bytes),
/// the output .tenzor, .safetensors or .gguf (from its extension); content
/// the output format cannot hold is refused, naming the tensor. The output appears
/// atomically (write to a temporary file, then rename) and only on success.
///
/// # Safety
/// `input` and `output` must be NULL or C strings.
#[cfg(feature = "write")]
#[no_mangle]
pub unsafe extern "C" fn tenzor_convert(
    input: *const c_char,
    output: *const c_char,
) -> error::tenzor_status {
    panic::ffi_status("tenzor_convert", || {
        non_null!(input, output);
        // SAFETY: non-NULL C strings, per the contract.
        let (i, o) = unsafe { (path_arg(input, "input")?, path_arg(output, "output")?) };
        crate::convert(i, o, &Default::default(), &mut |_, _| {})?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_constants_match_the_crate_version() {
        let v = format!("{TENZOR_VERSION_MAJOR}.{TENZOR_VERSION_MINOR}.{TENZOR_VERSION_PATCH}");
        assert_eq!(
            v,
            env!("CARGO_PKG_VERSION"),
            "update TENZOR_VERSION_* in src/ffi/mod.rs"
        );
        // SAFETY: static C string.
        assert_eq!(
            unsafe { CStr::from_ptr(tenzor_version()) }
                .to_str()
                .unwrap(),
            v
        );
    }

    #[test]
    fn dtype_names_and_bits() {
        // SAFETY: static C string.
        let name = unsafe { CStr::from_ptr(tenzor_dtype_name(types::TENZOR_DTYPE_BF16)) };
        assert_eq!(name.to_str().unwrap(), "BF16");
        assert_eq!(tenzor_dtype_bits(types::TENZOR_DTYPE_F4), 4);
        assert!(tenzor_dtype_name(22).is_null());
        assert_eq!(tenzor_dtype_bits(1 << 20), 0);
    }

    #[test]
    fn hash_name_matches_the_core_and_handles_null() {
        // SAFETY: 3 readable bytes; NULL with 0.
        unsafe {
            assert_eq!(
                tenzor_hash_name(c"abc".as_ptr(), 3),
                crate::hash_name(b"abc")
            );
            assert_eq!(tenzor_hash_name(std::ptr::null(), 0), crate::hash_name(b""));
            assert_eq!(tenzor_hash_name(std::ptr::null(), 5), 0);
        }
    }

    #[test]
    fn statuses_cover_every_error_kind() {
        use crate::ErrorKind::*;
        for k in [
            InvalidArgument,
            Io,
            BadFormat,
            Checksum,
            NotFound,
            DuplicateName,
            Unsupported,
        ] {
            assert_ne!(error::status_of(k), error::tenzor_status::TENZOR_OK);
        }
    }
}
