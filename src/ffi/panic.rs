//! The panic boundary: no Rust panic may unwind into C (since Rust 1.81 it
//! would abort the host process). Every exported function runs its body
//! through one of these helpers, which turn a panic into `TENZOR_ERR_PANIC`
//! (or a documented default value) plus a last-error message.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::error::{report, set_last_error, tenzor_status, FfiResult};

/// The message carried by a panic payload.
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "unknown panic payload"
    }
}

fn record_panic(function: &str, payload: Box<dyn Any + Send>) {
    let msg = format!(
        "internal error, please report it: {}",
        panic_message(&*payload)
    );
    set_last_error(function, &msg);
    // Dropping a payload can itself panic (a Drop impl that panics); that
    // second panic must not escape either.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
}

/// Runs a status-returning body: `Ok` gives `TENZOR_OK`, an error its status
/// and message, a panic `TENZOR_ERR_PANIC`.
pub(crate) fn ffi_status(function: &str, body: impl FnOnce() -> FfiResult<()>) -> tenzor_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => report(function, result),
        Err(payload) => {
            record_panic(function, payload);
            tenzor_status::TENZOR_ERR_PANIC
        }
    }
}

/// Runs a value-returning body; a panic gives `default` (documented per
/// function) and a last-error message.
pub(crate) fn ffi_value<T>(function: &str, default: T, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(v) => v,
        Err(payload) => {
            record_panic(function, payload);
            default
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::error::Failure;

    fn last_error() -> String {
        let mut buf = [0 as std::ffi::c_char; 256];
        // SAFETY: buf has 256 writable bytes.
        unsafe { crate::ffi::error::tenzor_last_error(buf.as_mut_ptr(), buf.len()) };
        // SAFETY: NUL-terminated by tenzor_last_error.
        unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let s = ffi_status("tenzor_probe", || panic!("boom {}", 42));
        assert_eq!(s, tenzor_status::TENZOR_ERR_PANIC);
        let msg = last_error();
        assert!(msg.starts_with("tenzor_probe: internal error"), "{msg}");
        assert!(msg.contains("boom 42"), "{msg}");

        let v = ffi_value("tenzor_probe_value", 7usize, || panic!("static str"));
        assert_eq!(v, 7);
        assert!(last_error().contains("static str"));
    }

    #[test]
    fn errors_keep_their_status_and_success_keeps_the_old_message() {
        let s = ffi_status("tenzor_probe", || Err(Failure::null("path")));
        assert_eq!(s, tenzor_status::TENZOR_ERR_NULL_ARGUMENT);
        assert_eq!(last_error(), "tenzor_probe: argument 'path' is NULL");
        assert_eq!(ffi_status("tenzor_ok", || Ok(())), tenzor_status::TENZOR_OK);
        assert_eq!(last_error(), "tenzor_probe: argument 'path' is NULL");
    }
}
