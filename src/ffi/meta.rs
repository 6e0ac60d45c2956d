//! Typed metadata by key, for C: GGUF KV pairs, the top-level keys of
//! .tenzor JSON metadata, safetensors `__metadata__` (see `crate::meta`).
//!
//! Keys are addressed by index (`0 .. tenzor_meta_count - 1`, file order);
//! `tenzor_meta_find` maps a key to its index. Every pointer these functions
//! give out is borrowed from the `tenzor_file` and valid until
//! `tenzor_close` on it; never free it. Strings are pointer + length, NOT
//! NUL-terminated (they point into the file where the file holds the bytes:
//! GGUF keys, strings and arrays; JSON keys and strings without escapes);
//! strings with JSON escapes are decoded once into memory the handle owns.
//!
//! JSON metadata: integers are `TENZOR_META_I64` (or `U64` above INT64_MAX),
//! other numbers `F64`, `null` is `TENZOR_META_NULL`, and a nested object or
//! array is `TENZOR_META_JSON`: `tenzor_meta_get_json` gives its raw text.
//! A repeated key: `tenzor_meta_find` returns the last, as JSON parsers keep.
//! Shard sets: a GGUF split reads the first shard's KV pairs (its `split.*`
//! keys included); a `*.index.json` set the merged metadata `tenzor_metadata`
//! returns.
//!
//! Statuses: an index beyond the keys (or an array item beyond the array) is
//! `TENZOR_ERR_OUT_OF_RANGE`, as is an integer that does not fit the getter's
//! type; asking a value for another type is `TENZOR_ERR_WRONG_TYPE`; a
//! missing key is `TENZOR_ERR_NOT_FOUND`; JSON metadata that is not an object
//! is `TENZOR_ERR_BAD_FORMAT` (on every call). Out-parameters are written
//! only on success.

use std::ffi::{c_char, c_void};

use super::error::{tenzor_status, Failure, FfiResult};
use super::file::FileHandle;
use super::panic::ffi_status;
use super::types::tenzor_file;
use super::{non_null, str_arg};
use crate::meta::{Meta, MetaArray, MetaType, MetaValue};

/// The type of a metadata value: one of the `TENZOR_META_*` numbers (GGUF's
/// value type codes, plus `NULL` and `JSON` for JSON metadata).
#[allow(non_camel_case_types)]
pub type tenzor_value_type = u32;

/// Unsigned 8-bit integer.
pub const TENZOR_META_U8: tenzor_value_type = 0;
/// Signed 8-bit integer.
pub const TENZOR_META_I8: tenzor_value_type = 1;
/// Unsigned 16-bit integer.
pub const TENZOR_META_U16: tenzor_value_type = 2;
/// Signed 16-bit integer.
pub const TENZOR_META_I16: tenzor_value_type = 3;
/// Unsigned 32-bit integer.
pub const TENZOR_META_U32: tenzor_value_type = 4;
/// Signed 32-bit integer.
pub const TENZOR_META_I32: tenzor_value_type = 5;
/// 32-bit float.
pub const TENZOR_META_F32: tenzor_value_type = 6;
/// Boolean.
pub const TENZOR_META_BOOL: tenzor_value_type = 7;
/// UTF-8 string.
pub const TENZOR_META_STRING: tenzor_value_type = 8;
/// GGUF array (`tenzor_meta_array_info`).
pub const TENZOR_META_ARRAY: tenzor_value_type = 9;
/// Unsigned 64-bit integer.
pub const TENZOR_META_U64: tenzor_value_type = 10;
/// Signed 64-bit integer.
pub const TENZOR_META_I64: tenzor_value_type = 11;
/// 64-bit float.
pub const TENZOR_META_F64: tenzor_value_type = 12;
/// JSON null.
pub const TENZOR_META_NULL: tenzor_value_type = 13;
/// A nested JSON object or array (`tenzor_meta_get_json`).
pub const TENZOR_META_JSON: tenzor_value_type = 14;

/// A borrowed string: `len` bytes of UTF-8 at `ptr`, not NUL-terminated.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tenzor_str {
    /// The first byte (never NULL, even when `len` is 0).
    pub ptr: *const c_char,
    /// Length in bytes.
    pub len: usize,
}

impl tenzor_str {
    fn of(s: &[u8]) -> tenzor_str {
        tenzor_str {
            ptr: s.as_ptr().cast(),
            len: s.len(),
        }
    }
}

/// The handle behind `file` and its typed metadata.
///
/// # Safety
/// `file` must be NULL or an open handle.
unsafe fn meta_of<'a>(file: *const tenzor_file) -> FfiResult<(&'a FileHandle, Meta<'a>)> {
    // SAFETY: per the contract.
    let h = unsafe { FileHandle::from_ptr(file) }?;
    let m = h.file.meta().map_err(|e| {
        Failure::new(
            tenzor_status::TENZOR_ERR_BAD_FORMAT,
            format!("{}: {}", h.label(), e.message()),
        )
    })?;
    Ok((h, m))
}

/// A key, looked up only when needed (messages, `tenzor_meta_key`): the
/// getters stay cheap enough for per-item loops.
#[derive(Clone, Copy)]
struct Key<'a>(Meta<'a>, usize);

impl<'a> Key<'a> {
    fn get(self) -> &'a str {
        self.0.key(self.1).unwrap_or("")
    }
}

/// The value at `index`, or OUT_OF_RANGE.
fn value_at<'a>(h: &FileHandle, m: Meta<'a>, index: usize) -> FfiResult<(Key<'a>, MetaValue<'a>)> {
    match m.get(index) {
        Some(v) => Ok((Key(m, index), v)),
        None => Err(Failure::new(
            tenzor_status::TENZOR_ERR_OUT_OF_RANGE,
            format!(
                "{}: metadata index {index} is out of range (there are {} keys)",
                h.label(),
                m.len()
            ),
        )),
    }
}

fn wrong_type(h: &FileHandle, key: Key<'_>, v: &MetaValue<'_>, want: &str) -> Failure {
    Failure::new(
        tenzor_status::TENZOR_ERR_WRONG_TYPE,
        format!(
            "{}: metadata key '{}' holds {:?}, not {want}",
            h.label(),
            key.get().escape_debug(),
            v.ty()
        ),
    )
}

fn out_of_range(h: &FileHandle, key: Key<'_>, what: String) -> Failure {
    Failure::new(
        tenzor_status::TENZOR_ERR_OUT_OF_RANGE,
        format!(
            "{}: metadata key '{}': {what}",
            h.label(),
            key.get().escape_debug()
        ),
    )
}

/// Runs `body` on the value at `index` of an open file's metadata.
///
/// # Safety
/// `file` must be NULL or an open handle.
unsafe fn with_value<'a>(
    file: *const tenzor_file,
    index: usize,
    body: impl FnOnce(&'a FileHandle, Key<'a>, MetaValue<'a>) -> FfiResult<()>,
) -> FfiResult<()> {
    // SAFETY: per the contract.
    let (h, m) = unsafe { meta_of(file) }?;
    let (k, v) = value_at(h, m, index)?;
    body(h, k, v)
}

/// The array at `index`, or WRONG_TYPE.
fn array<'a>(h: &FileHandle, k: Key<'_>, v: MetaValue<'a>) -> FfiResult<MetaArray<'a>> {
    match v {
        MetaValue::Array(a) => Ok(a),
        v => Err(wrong_type(h, k, &v, "an array")),
    }
}

/// Number of metadata keys (GGUF KV pairs, top-level JSON keys) into `*count`.
///
/// # Safety
/// `file` must be NULL or an open handle; `count` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_meta_count(
    file: *const tenzor_file,
    count: *mut usize,
) -> tenzor_status {
    ffi_status("tenzor_meta_count", || {
        non_null!(file, count);
        // SAFETY: non-NULL handle, per the contract.
        let (_, m) = unsafe { meta_of(file) }?;
        // SAFETY: non-NULL and writable.
        unsafe { count.write(m.len()) };
        Ok(())
    })
}

/// The index of the metadata key `key` (a NUL-terminated UTF-8 string) into
/// `*index`; `TENZOR_ERR_NOT_FOUND` when no key is equal. A linear scan of
/// the keys (as ggml's `gguf_find_key`); cache the index for hot paths.
///
/// # Safety
/// `file` must be NULL or an open handle; `key` NULL or a C string; `index`
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_meta_find(
    file: *const tenzor_file,
    key: *const c_char,
    index: *mut usize,
) -> tenzor_status {
    ffi_status("tenzor_meta_find", || {
        non_null!(file, key, index);
        // SAFETY: non-NULL handle and C string, per the contract.
        let (h, m) = unsafe { meta_of(file) }?;
        // SAFETY: as above.
        let k = unsafe { str_arg(key, "key") }?;
        let i = m.find(k).ok_or_else(|| {
            Failure::new(
                tenzor_status::TENZOR_ERR_NOT_FOUND,
                format!("{}: no metadata key '{}'", h.label(), k.escape_debug()),
            )
        })?;
        // SAFETY: non-NULL and writable.
        unsafe { index.write(i) };
        Ok(())
    })
}

/// The key at `index`: `*key` points to its bytes (not NUL-terminated),
/// `*len` is their count. Borrowed from the handle, valid until
/// `tenzor_close`.
///
/// # Safety
/// `file` must be NULL or an open handle; `key`, `len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_meta_key(
    file: *const tenzor_file,
    index: usize,
    key: *mut *const c_char,
    len: *mut usize,
) -> tenzor_status {
    ffi_status("tenzor_meta_key", || {
        non_null!(file, key, len);
        // SAFETY: non-NULL handle, per the contract.
        unsafe {
            with_value(file, index, |_, k, _| {
                let k = k.get();
                key.write(k.as_ptr().cast());
                len.write(k.len());
                Ok(())
            })
        }
    })
}

/// The type of the value at `index`, one of `TENZOR_META_*`, into `*value_type`.
///
/// # Safety
/// `file` must be NULL or an open handle; `value_type` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_meta_type(
    file: *const tenzor_file,
    index: usize,
    value_type: *mut tenzor_value_type,
) -> tenzor_status {
    ffi_status("tenzor_meta_type", || {
        non_null!(file, value_type);
        // SAFETY: non-NULL handle, per the contract; `value_type` writable.
        unsafe {
            with_value(file, index, |_, _, v| {
                value_type.write(v.ty() as tenzor_value_type);
                Ok(())
            })
        }
    })
}

/// An integer value (any of the integer types) as `int64_t` into `*out`;
/// `TENZOR_ERR_OUT_OF_RANGE` for a `u64` above INT64_MAX,
/// `TENZOR_ERR_WRONG_TYPE` for a non-integer.
///
/// # Safety
/// `file` must be NULL or an open handle; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_meta_get_i64(
    file: *const tenzor_file,
    index: usize,
    out: *mut i64,
) -> tenzor_status {
    ffi_status("tenzor_meta_get_i64", || {
        non_null!(file, out);
        // SAFETY: non-NULL handle, per the contract; `out` writable.
        unsafe {
            with_value(file, index, |h, k, v| match v {
                MetaValue::Int { value, .. } => {
                    let x = i64::try_from(value)
                        .map_err(|_| out_of_range(h, k, format!("{value} does not fit int64_t")))?;
                    out.write(x);
                    Ok(())
                }
                v => Err(wrong_type(h, k, &v, "an integer")),
            })
        }
    })
}

/// An integer value as `uint64_t` into `*out`; `TENZOR_ERR_OUT_OF_RANGE`
/// for a negative one, `TENZOR_ERR_WRONG_TYPE` for a non-integer.
///
/// # Safety
/// `file` must be NULL or an open handle; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_meta_get_u64(
    file: *const tenzor_file,
    index: usize,
    out: *mut u64,
) -> tenzor_status {
    ffi_status("tenzor_meta_get_u64", || {
        non_null!(file, out);
        // SAFETY: non-NULL handle, per the contract; `out` writable.
        unsafe {
            with_value(file, index, |h, k, v| match v {
                MetaValue::Int { value, .. } => {
                    let x = u64::try_from(value).map_err(|_| {
                        out_of_range(h, k, format!("{value} does not fit uint64_t"))
                    })?;
                    out.write(x);
                    Ok(())
                }
                v => Err(wrong_type(h, k, &v, "an integer")),
            })
        }
    })
}

/// A float value (`F32`, widened exactly, or `F64`) into `*out`;
/// `TENZOR_ERR_WRONG_TYPE` for anything else (integers included: read them
/// with `tenzor_meta_get_i64`).
///
/// # Safety
/// `file` must be NULL or an open handle; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_meta_get_f64(
    file: *const tenzor_file,
    index: usize,
    out: *mut f64,
) -> tenzor_status {
    ffi_status("tenzor_meta_get_f64", || {
        non_null!(file, out);
        // SAFETY: non-NULL handle, per the contract; `out` writable.
        unsafe {
            with_value(file, index, |h, k, v| match v {
                MetaValue::Float { value, .. } => {
                    out.write(value);
                    Ok(())
                }
                v => Err(wrong_type(h, k, &v, "a float")),
            })
        }
    })
}

/// A boolean value into `*out`; `TENZOR_ERR_WRONG_TYPE` for anything else.
///
/// # Safety
/// `file` must be NULL or an open handle; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_meta_get_bool(
    file: *const tenzor_file,
    index: usize,
    out: *mut bool,
) -> tenzor_status {
    ffi_status("tenzor_meta_get_bool", || {
        non_null!(file, out);
        // SAFETY: non-NULL handle, per the contract; `out` writable.
        unsafe {
            with_value(file, index, |h, k, v| match v {
                MetaValue::Bool(b) => {
                    out.write(b);
                    Ok(())
                }
                v => Err(wrong_type(h, k, &v, "a bool")),
            })
        }
    })
}

/// A string value: `*str` points to its UTF-8 bytes (not NUL-terminated),
/// `*len` is their count. Borrowed from the handle (in the file when the
/// file holds the bytes), valid until `tenzor_close`.
/// `TENZOR_ERR_WRONG_TYPE` for anything else.
///
/// # Safety
/// `file` must be NULL or an open handle; `str`, `len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_meta_get_str(
    file: *const tenzor_file,
    index: usize,
    str: *mut *const c_char,
    len: *mut usize,
) -> tenzor_status {
    ffi_status("tenzor_meta_get_str", || {
        non_null!(file, str, len);
        // SAFETY: non-NULL handle, per the contract; outs writable.
        unsafe {
            with_value(file, index, |h, k, v| match v {
                MetaValue::Str(s) => {
                    str.write(s.as_ptr().cast());
                    len.write(s.len());
                    Ok(())
                }
                v => Err(wrong_type(h, k, &v, "a string")),
            })
        }
    })
}

/// The raw JSON text of a nested object or array of JSON metadata
/// (`TENZOR_META_JSON`): `*json` points into the file (for a shard index:
/// into the handle's merged metadata), `*len` bytes, not
/// NUL-terminated; valid until `tenzor_close`. `TENZOR_ERR_WRONG_TYPE` for
/// anything else (GGUF values included: `tenzor_metadata` has them as JSON).
///
/// # Safety
/// `file` must be NULL or an open handle; `json`, `len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_meta_get_json(
    file: *const tenzor_file,
    index: usize,
    json: *mut *const c_char,
    len: *mut usize,
) -> tenzor_status {
    ffi_status("tenzor_meta_get_json", || {
        non_null!(file, json, len);
        // SAFETY: non-NULL handle, per the contract; outs writable.
        unsafe {
            with_value(file, index, |h, k, v| match v {
                MetaValue::Json(s) => {
                    json.write(s.as_ptr().cast());
                    len.write(s.len());
                    Ok(())
                }
                v => Err(wrong_type(h, k, &v, "a JSON object or array")),
            })
        }
    })
}

/// A GGUF array's item type (`TENZOR_META_*`; `TENZOR_META_ARRAY` for an
/// array of arrays, readable only through `tenzor_metadata`) into
/// `*item_type` and its item count into `*len`. `TENZOR_ERR_WRONG_TYPE`
/// when the value is not an array.
///
/// # Safety
/// `file` must be NULL or an open handle; `item_type`, `len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_meta_array_info(
    file: *const tenzor_file,
    index: usize,
    item_type: *mut tenzor_value_type,
    len: *mut usize,
) -> tenzor_status {
    ffi_status("tenzor_meta_array_info", || {
        non_null!(file, item_type, len);
        // SAFETY: non-NULL handle, per the contract; outs writable.
        unsafe {
            with_value(file, index, |h, k, v| {
                let a = array(h, k, v)?;
                item_type.write(a.item_type() as tenzor_value_type);
                len.write(a.len());
                Ok(())
            })
        }
    })
}

/// The items of a numeric or bool GGUF array as stored in the file:
/// `*data` points to `*bytes` bytes (item count x item size), little-endian
/// and NOT necessarily aligned for the item type (copy with `memcpy`, or
/// check the address). Borrowed from the mapping, valid until
/// `tenzor_close`. `TENZOR_ERR_WRONG_TYPE` for arrays of strings or arrays
/// and for non-arrays.
///
/// # Safety
/// `file` must be NULL or an open handle; `data`, `bytes` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_meta_array_data(
    file: *const tenzor_file,
    index: usize,
    data: *mut *const c_void,
    bytes: *mut usize,
) -> tenzor_status {
    ffi_status("tenzor_meta_array_data", || {
        non_null!(file, data, bytes);
        // SAFETY: non-NULL handle, per the contract; outs writable.
        unsafe {
            with_value(file, index, |h, k, v| {
                let a = array(h, k, v)?;
                let raw = a
                    .raw()
                    .ok_or_else(|| wrong_type(h, k, &v, "an array of numbers or bools"))?;
                data.write(raw.as_ptr().cast());
                bytes.write(raw.len());
                Ok(())
            })
        }
    })
}

/// Item `i` of a GGUF string array: `*str` points to its UTF-8 bytes in the
/// mapping (not NUL-terminated), `*len` is their count; valid until
/// `tenzor_close`. The first call on an array indexes its strings (one
/// allocation per array, kept by the handle); for a whole vocabulary
/// `tenzor_meta_array_strs` is faster. `TENZOR_ERR_OUT_OF_RANGE` when
/// `i >= len`, `TENZOR_ERR_WRONG_TYPE` for other values.
///
/// # Safety
/// `file` must be NULL or an open handle; `str`, `len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_meta_array_str(
    file: *const tenzor_file,
    index: usize,
    i: usize,
    str: *mut *const c_char,
    len: *mut usize,
) -> tenzor_status {
    ffi_status("tenzor_meta_array_str", || {
        non_null!(file, str, len);
        // SAFETY: non-NULL handle, per the contract; outs writable.
        unsafe {
            with_value(file, index, |h, k, v| {
                let a = strings(h, k, v)?;
                let s = a.str_bytes(i).ok_or_else(|| {
                    out_of_range(h, k, format!("item {i} of an array of {}", a.len()))
                })?;
                str.write(s.as_ptr().cast());
                len.write(s.len());
                Ok(())
            })
        }
    })
}

fn strings<'a>(h: &FileHandle, k: Key<'_>, v: MetaValue<'a>) -> FfiResult<MetaArray<'a>> {
    let a = array(h, k, v)?;
    if a.item_type() != MetaType::String {
        return Err(wrong_type(h, k, &v, "an array of strings"));
    }
    Ok(a)
}

/// Items `first .. first + count` of a GGUF string array in one pass, into
/// the caller's `out[0 .. count]` (pointer + length each, pointing into the
/// mapping, valid until `tenzor_close`; nothing is allocated).
/// `TENZOR_ERR_OUT_OF_RANGE` when the range passes the end (then `out` is
/// untouched), `TENZOR_ERR_WRONG_TYPE` for other values. `out` may be NULL
/// when `count` is 0.
///
/// # Safety
/// `file` must be NULL or an open handle; `out` NULL or `count` writable
/// `tenzor_str`s.
#[no_mangle]
pub unsafe extern "C" fn tenzor_meta_array_strs(
    file: *const tenzor_file,
    index: usize,
    first: usize,
    count: usize,
    out: *mut tenzor_str,
) -> tenzor_status {
    ffi_status("tenzor_meta_array_strs", || {
        non_null!(file);
        if count > 0 {
            non_null!(out);
        }
        // SAFETY: non-NULL handle, per the contract.
        unsafe {
            with_value(file, index, |h, k, v| {
                let a = strings(h, k, v)?;
                if first.checked_add(count).is_none_or(|end| end > a.len()) {
                    return Err(out_of_range(
                        h,
                        k,
                        format!("items {first} + {count} of an array of {}", a.len()),
                    ));
                }
                a.each_str_bytes(first, count, |j, s| {
                    // SAFETY: `out` holds `count` writable items, per the contract.
                    out.add(j).write(tenzor_str::of(s))
                });
                Ok(())
            })
        }
    })
}
