//! Arbitrary bytes through the C ABI: `tenzor_open_memory`, every accessor,
//! `tenzor_close`; the answers must match the Rust reader's.

use std::ffi::{c_char, c_void, CStr};
use std::ptr;

use tenzor::ffi::error::{tenzor_last_error, tenzor_status, tenzor_status_str};
use tenzor::ffi::file::*;
use tenzor::ffi::types::{tenzor_file, tenzor_tensor};
use tenzor::ffi::{tenzor_dtype_bits, tenzor_dtype_name, tenzor_hash_name};
use tenzor::TensorFile;

use super::common::with_resigned;

const OK: tenzor_status = tenzor_status::TENZOR_OK;
const SENTINEL: *const tenzor_file = 0x5a5a as *const tenzor_file;

/// The `c_abi` target.
pub fn c_abi(data: &[u8]) {
    with_resigned(data, one);
}

fn one(data: &[u8]) {
    let mut f = SENTINEL;
    // A non-NULL pointer even for an empty slice (Rust's is dangling).
    // SAFETY: `data` outlives the handle, closed below.
    let s = unsafe { tenzor_open_memory(data.as_ptr().cast(), data.len(), &mut f) };
    let rust = TensorFile::from_bytes(data);
    assert_eq!(s == OK, rust.is_ok(), "C and Rust agree on accepting");
    if s != OK {
        assert_eq!(f, SENTINEL, "out-param untouched on failure");
        let msg = last_error();
        assert!(msg.contains("memory buffer"), "{msg}");
        // SAFETY: a static string.
        assert!(!unsafe { CStr::from_ptr(tenzor_status_str(s as u32)) }
            .to_bytes()
            .is_empty());
        return;
    }
    let rust = rust.expect("accepted");
    // SAFETY: `f` is an open handle until the close below.
    unsafe {
        accessors(f, &rust);
        tenzor_close(f);
    }
}

fn last_error() -> String {
    let mut buf = [0u8; 512];
    // SAFETY: `buf` is writable for its length.
    let n = unsafe { tenzor_last_error(buf.as_mut_ptr().cast(), buf.len()) };
    assert!(n > 0, "a failure leaves a message");
    let s = CStr::from_bytes_until_nul(&buf).expect("NUL written");
    s.to_string_lossy().into_owned()
}

/// # Safety
/// `f` must be an open handle.
unsafe fn accessors(f: *const tenzor_file, rust: &TensorFile<'_>) {
    let n = unsafe { tenzor_tensor_count(f) };
    assert_eq!(n, rust.len());
    // Name hashes (and the uniqueness they order) are checked by verify,
    // not at open (FORMAT.md, "Validation levels"): the name invariants are
    // owed only by files that verify.
    let verified = rust.verify().is_ok();
    for i in 0..n {
        let mut t = std::mem::MaybeUninit::<tenzor_tensor>::uninit();
        assert_eq!(unsafe { tenzor_get_tensor_at(f, i, t.as_mut_ptr()) }, OK);
        // SAFETY: written on success.
        let t = unsafe { t.assume_init() };
        unsafe { tensor(f, &t, i, verified) };
        let r = rust.get_at(i).expect("in range");
        assert_eq!(t.size, r.data().len());
        assert_eq!(t.data.cast::<u8>(), r.data().as_ptr());
        assert_eq!(&t.shape[..t.ndim], r.shape());
    }
    let mut t = std::mem::MaybeUninit::<tenzor_tensor>::uninit();
    assert_ne!(unsafe { tenzor_get_tensor_at(f, n, t.as_mut_ptr()) }, OK);
    let empty = unsafe { tenzor_get_tensor(f, c"".as_ptr(), t.as_mut_ptr()) };
    assert_eq!(empty == OK, rust.get("").is_some());

    let (mut json, mut len): (*const c_char, usize) = (ptr::null(), 0);
    assert_eq!(unsafe { tenzor_metadata(f, &mut json, &mut len) }, OK);
    // SAFETY: NUL-terminated, valid until close.
    let text = unsafe { CStr::from_ptr(json) };
    assert_eq!(text.to_bytes().len(), len);
    assert_eq!(text.to_bytes(), rust.metadata_json().as_bytes());

    let v = unsafe { tenzor_verify(f) };
    assert_eq!(v == OK, rust.verify().is_ok());
    assert_eq!(unsafe { tenzor_file_alignment(f) }, rust.alignment());
    let (mut bytes, mut blen): (*const c_void, usize) = (ptr::null(), 0);
    if unsafe { tenzor_file_bytes(f, &mut bytes, &mut blen) } == OK {
        assert_eq!(
            (bytes.cast::<u8>(), blen),
            (rust.as_bytes().as_ptr(), rust.as_bytes().len())
        );
    }
    assert_ne!(unsafe { tenzor_file_format(f) }, 0);
    assert_eq!(unsafe { tenzor_file_shard_count(f) }, 1);
}

/// # Safety
/// `f` must be an open handle and `t` a view it gave.
unsafe fn tensor(f: *const tenzor_file, t: &tenzor_tensor, i: usize, verified: bool) {
    assert_eq!(t.position, i);
    assert!(t.ndim <= t.shape.len());
    // Read every byte of the view.
    // SAFETY: the view points to `size` bytes valid until close.
    let data = unsafe { std::slice::from_raw_parts(t.data.cast::<u8>(), t.size) };
    std::hint::black_box(tenzor::format::checksum(data));
    // SAFETY: static strings.
    let dname = unsafe { CStr::from_ptr(tenzor_dtype_name(t.dtype)) };
    assert!(!dname.to_bytes().is_empty());
    assert_ne!(tenzor_dtype_bits(t.dtype), 0);
    let mut by = std::mem::MaybeUninit::<tenzor_tensor>::uninit();
    assert_eq!(
        unsafe { tenzor_get_tensor_by_hash(f, t.name_hash, by.as_mut_ptr()) },
        OK
    );
    if t.name.is_null() {
        return; // legacy v1: no names
    }
    // SAFETY: names are NUL-terminated, valid until close.
    let name = unsafe { CStr::from_ptr(t.name) };
    assert_eq!(name.to_bytes().len(), t.name_len, "no NUL inside a name");
    if !verified {
        return;
    }
    assert_eq!(unsafe { tenzor_hash_name(t.name, t.name_len) }, t.name_hash);
    let mut by = std::mem::MaybeUninit::<tenzor_tensor>::uninit();
    assert_eq!(unsafe { tenzor_get_tensor(f, t.name, by.as_mut_ptr()) }, OK);
    // SAFETY: written on success.
    assert_eq!(unsafe { by.assume_init() }.position, i);
}
