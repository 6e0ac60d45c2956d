//! Status codes and the per-thread last-error message.
//!
//! A failed call returns a `tenzor_status` and leaves a message (file,
//! tensor and problem named) in a thread-local slot that
//! `tenzor_last_error` copies out. Successful calls leave the slot alone,
//! so the message always describes the thread's most recent failure.

use std::cell::RefCell;
use std::ffi::c_char;

use crate::error::{Error, ErrorKind};

/// The result of every fallible tenzor call. The numbers are part of the ABI
/// and are never reused; new failures get new numbers at the end.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum tenzor_status {
    /// Success: out-parameters were written.
    TENZOR_OK = 0,
    /// A required pointer argument was NULL.
    TENZOR_ERR_NULL_ARGUMENT = 1,
    /// An argument is unusable: bad shape, length, alignment, dtype, name or UTF-8.
    TENZOR_ERR_INVALID_ARGUMENT = 2,
    /// The operating system refused an operation (open, read, write, rename, mmap).
    TENZOR_ERR_IO = 3,
    /// The file or buffer is not a valid tensor file.
    TENZOR_ERR_BAD_FORMAT = 4,
    /// A stored checksum does not match the bytes (corruption).
    TENZOR_ERR_CHECKSUM = 5,
    /// No tensor has the requested name, hash or index.
    TENZOR_ERR_NOT_FOUND = 6,
    /// A tensor name is used twice.
    TENZOR_ERR_DUPLICATE_NAME = 7,
    /// Valid input that this version of tenzor cannot handle.
    TENZOR_ERR_UNSUPPORTED = 8,
    /// tenzor hit an internal bug (a Rust panic); it was contained at the boundary.
    TENZOR_ERR_PANIC = 9,
    /// Another handle or process holds the file's write lock (one writer at a time).
    TENZOR_ERR_BUSY = 10,
    /// A value exists but has another type than the one asked for.
    TENZOR_ERR_WRONG_TYPE = 11,
    /// An index or range lies outside what exists.
    TENZOR_ERR_OUT_OF_RANGE = 12,
}

use tenzor_status::*;

impl tenzor_status {
    /// Every status, in number order (for `tenzor_status_str` and tests).
    pub(crate) const ALL: [tenzor_status; 13] = [
        TENZOR_OK,
        TENZOR_ERR_NULL_ARGUMENT,
        TENZOR_ERR_INVALID_ARGUMENT,
        TENZOR_ERR_IO,
        TENZOR_ERR_BAD_FORMAT,
        TENZOR_ERR_CHECKSUM,
        TENZOR_ERR_NOT_FOUND,
        TENZOR_ERR_DUPLICATE_NAME,
        TENZOR_ERR_UNSUPPORTED,
        TENZOR_ERR_PANIC,
        TENZOR_ERR_BUSY,
        TENZOR_ERR_WRONG_TYPE,
        TENZOR_ERR_OUT_OF_RANGE,
    ];

    /// A short static description, NUL-terminated for C.
    pub(crate) fn description(self) -> &'static std::ffi::CStr {
        match self {
            TENZOR_OK => c"success",
            TENZOR_ERR_NULL_ARGUMENT => c"a required argument is NULL",
            TENZOR_ERR_INVALID_ARGUMENT => c"invalid argument",
            TENZOR_ERR_IO => c"I/O error",
            TENZOR_ERR_BAD_FORMAT => c"not a valid tensor file",
            TENZOR_ERR_CHECKSUM => c"checksum mismatch (data corrupted)",
            TENZOR_ERR_NOT_FOUND => c"tensor not found",
            TENZOR_ERR_DUPLICATE_NAME => c"duplicate tensor name",
            TENZOR_ERR_UNSUPPORTED => c"unsupported by this version of tenzor",
            TENZOR_ERR_PANIC => c"internal error (panic caught at the C boundary)",
            TENZOR_ERR_BUSY => c"file is locked by another writer",
            TENZOR_ERR_WRONG_TYPE => c"value has another type",
            TENZOR_ERR_OUT_OF_RANGE => c"index or range out of range",
        }
    }
}

/// The status for each kind of core error.
pub(crate) fn status_of(kind: ErrorKind) -> tenzor_status {
    match kind {
        ErrorKind::InvalidArgument => TENZOR_ERR_INVALID_ARGUMENT,
        ErrorKind::Io => TENZOR_ERR_IO,
        ErrorKind::BadFormat => TENZOR_ERR_BAD_FORMAT,
        ErrorKind::Checksum => TENZOR_ERR_CHECKSUM,
        ErrorKind::NotFound => TENZOR_ERR_NOT_FOUND,
        ErrorKind::DuplicateName => TENZOR_ERR_DUPLICATE_NAME,
        ErrorKind::Unsupported => TENZOR_ERR_UNSUPPORTED,
        ErrorKind::Busy => TENZOR_ERR_BUSY,
        ErrorKind::WrongType => TENZOR_ERR_WRONG_TYPE,
        ErrorKind::OutOfRange => TENZOR_ERR_OUT_OF_RANGE,
    }
}

/// A failed C call: the status to return and the message to remember.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: tenzor_status,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(status: tenzor_status, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }

    /// The failure for a NULL pointer argument called `arg`.
    pub(crate) fn null(arg: &str) -> Failure {
        Failure::new(
            TENZOR_ERR_NULL_ARGUMENT,
            format!("argument '{arg}' is NULL"),
        )
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Failure {
        Failure::new(TENZOR_ERR_INVALID_ARGUMENT, message)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::new(status_of(e.kind()), e.message())
    }
}

/// What C calls return internally before the status is reported.
pub(crate) type FfiResult<T> = Result<T, Failure>;

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Records `message` as this thread's last error, prefixed by the function.
pub(crate) fn set_last_error(function: &str, message: &str) {
    // `try_with`: during thread teardown the slot may be gone; losing the
    // message then is better than panicking across the boundary.
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut s) = slot.try_borrow_mut() {
            s.clear();
            s.push_str(function);
            s.push_str(": ");
            s.push_str(message);
        }
    });
}

/// Turns an internal result into the returned status, recording failures.
pub(crate) fn report(function: &str, result: FfiResult<()>) -> tenzor_status {
    match result {
        Ok(()) => TENZOR_OK,
        Err(f) => {
            set_last_error(function, &f.message);
            f.status
        }
    }
}

/// Copies this thread's last error message into `buf` and returns its full
/// length in bytes (without the NUL).
///
/// The message belongs to the calling thread and describes its most recent
/// failed tenzor call (successful calls do not clear it); it names the
/// function, the file, the tensor and the problem. At most `len - 1` bytes
/// are copied, cut at a UTF-8 character boundary, and a NUL is always
/// written when `len > 0`. When the return value is `>= len`, the message was
/// truncated: call again with a buffer of at least the return value + 1.
/// `buf` may be NULL when `len` is 0 (to ask for the length). Returns 0 and
/// writes an empty string when no call on this thread has failed yet.
///
/// # Safety
/// `buf` must be NULL or point to `len` writable bytes owned by the caller.
#[no_mangle]
pub unsafe extern "C" fn tenzor_last_error(buf: *mut c_char, len: usize) -> usize {
    crate::ffi::panic::ffi_value("tenzor_last_error", 0, || {
        LAST_ERROR
            .try_with(|slot| {
                let msg = slot.borrow();
                if !buf.is_null() && len > 0 {
                    let mut n = msg.len().min(len - 1);
                    while !msg.is_char_boundary(n) {
                        n -= 1;
                    }
                    // SAFETY: the caller gave `len` writable bytes at `buf`;
                    // `n + 1 <= len`, and `msg` cannot overlap a C buffer.
                    unsafe {
                        std::ptr::copy_nonoverlapping(msg.as_ptr(), buf.cast::<u8>(), n);
                        *buf.add(n) = 0;
                    }
                }
                msg.len()
            })
            .unwrap_or(0)
    })
}

/// A static, NUL-terminated description of `status` (never NULL; unknown
/// numbers give "unknown status"). The string lives as long as the program;
/// do not free it.
///
/// `status` is a plain `uint32_t` rather than the enum so that any number a
/// C program passes is well-defined.
#[no_mangle]
pub extern "C" fn tenzor_status_str(status: u32) -> *const c_char {
    crate::ffi::panic::ffi_value("tenzor_status_str", c"unknown status".as_ptr(), || {
        tenzor_status::ALL
            .iter()
            .find(|s| **s as u32 == status)
            .map_or(c"unknown status", |s| s.description())
            .as_ptr()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_numbered_in_order_and_described() {
        for (i, s) in tenzor_status::ALL.iter().enumerate() {
            assert_eq!(*s as u32, i as u32);
            assert!(!s.description().to_bytes().is_empty());
        }
        // SAFETY: the function returns static C strings.
        let unknown = unsafe { std::ffi::CStr::from_ptr(tenzor_status_str(999)) };
        assert_eq!(unknown.to_str().unwrap(), "unknown status");
    }

    #[test]
    fn last_error_truncates_at_char_boundaries_and_terminates() {
        set_last_error("f", "ключ");
        // "f: " is 3 bytes, each Cyrillic letter 2: 11 bytes in all.
        let mut buf = [0x55 as c_char; 7];
        // SAFETY: buf has 7 writable bytes.
        let full = unsafe { tenzor_last_error(buf.as_mut_ptr(), buf.len()) };
        assert_eq!(full, 11);
        // 6 bytes would fit, but byte 6 splits a letter: 5 are copied, then NUL.
        // SAFETY: tenzor_last_error NUL-terminated the buffer.
        let got = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
        assert_eq!(got.to_str().unwrap(), "f: к");
        // SAFETY: a NULL buffer of length 0 is allowed.
        assert_eq!(unsafe { tenzor_last_error(std::ptr::null_mut(), 0) }, 11);
    }
}
