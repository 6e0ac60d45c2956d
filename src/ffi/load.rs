//! Loading on the `tenzor_file` handle: open options (backend, validation,
//! hints), reads into caller memory, per-tensor hints.

use std::ffi::{c_char, c_void, CString};

use super::error::{tenzor_status, Failure, FfiResult};
use super::file::FileHandle;
use super::panic::ffi_status;
use super::types::tenzor_file;
use super::{non_null, path_arg, str_arg};
use crate::io::{Access, Backend, BatchOptions, OpenOptions, ReadRequest, Validation};
use crate::reader::TensorFile;

/// How tensor bytes reach memory: one of the `TENZOR_BACKEND_*` numbers.
pub type tenzor_backend = u32;
/// `read` on network and FUSE filesystems, `mmap` elsewhere.
pub const TENZOR_BACKEND_AUTO: tenzor_backend = 0;
/// Map the file read-only (what `tenzor_open` does on local filesystems).
pub const TENZOR_BACKEND_MMAP: tenzor_backend = 1;
/// No mapping: pread into memory the handle owns, or the caller's.
pub const TENZOR_BACKEND_READ: tenzor_backend = 2;
/// Like READ, with O_DIRECT where offsets, sizes and buffers are 4096-aligned.
pub const TENZOR_BACKEND_DIRECT: tenzor_backend = 3;

/// Validation level: one of the `TENZOR_VALIDATION_*` numbers.
pub type tenzor_validation = u32;
/// Every structural rule and the header checksum at open.
pub const TENZOR_VALIDATION_FULL: tenzor_validation = 0;
/// .tenzor: header and region bounds at open, each entry when returned.
pub const TENZOR_VALIDATION_LAZY: tenzor_validation = 1;

/// Start reading all tensor data in the background at open (see
/// `tenzor_prefetch`).
pub const TENZOR_HINT_PREFETCH: u32 = 1;
/// Readahead advice: tensors are read front to back.
pub const TENZOR_HINT_SEQUENTIAL: u32 = 2;
/// Readahead advice: scattered lookups (no readahead).
pub const TENZOR_HINT_RANDOM: u32 = 4;
/// Lock all tensor data in memory at open (mlock; RLIMIT_MEMLOCK applies).
pub const TENZOR_HINT_LOCK: u32 = 8;

/// Options of `tenzor_open_ex`. Set `size` to `sizeof(tenzor_open_options)`
/// and zero what you do not use (all zero: `tenzor_open`'s behaviour).
/// Later versions only append fields; a library reads the fields that fit
/// in `size` and refuses a larger struct whose unknown tail is not zero.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tenzor_open_options {
    /// `sizeof(tenzor_open_options)` as the caller was compiled.
    pub size: usize,
    /// A `TENZOR_BACKEND_*` number.
    pub backend: tenzor_backend,
    /// A `TENZOR_VALIDATION_*` number.
    pub validation: tenzor_validation,
    /// `TENZOR_HINT_*` bits.
    pub hints: u32,
    /// Must be 0.
    pub reserved: u32,
}

/// Reads the caller's options, honouring their `size`.
///
/// # Safety
/// `p` must point to at least `(*p).size` readable bytes.
unsafe fn read_options(p: *const tenzor_open_options) -> FfiResult<OpenOptions> {
    // SAFETY: the caller promises at least a `size` field.
    let size = unsafe { p.cast::<usize>().read_unaligned() };
    let known = std::mem::size_of::<tenzor_open_options>();
    if size < std::mem::size_of::<usize>() {
        return Err(Failure::invalid(format!(
            "tenzor_open_options.size is {size}: set it to sizeof(tenzor_open_options)"
        )));
    }
    let mut raw = [0u8; std::mem::size_of::<tenzor_open_options>()];
    // SAFETY: `size` bytes are readable; copy what fits.
    unsafe { std::ptr::copy_nonoverlapping(p.cast::<u8>(), raw.as_mut_ptr(), size.min(known)) };
    if size > known {
        // SAFETY: `size` bytes are readable.
        let tail = unsafe { std::slice::from_raw_parts(p.cast::<u8>().add(known), size - known) };
        if tail.iter().any(|&b| b != 0) {
            return Err(Failure::new(
                tenzor_status::TENZOR_ERR_UNSUPPORTED,
                "tenzor_open_options has fields this library version does not know",
            ));
        }
    }
    // SAFETY: `raw` is a full, initialised struct of plain integers.
    let o = unsafe { raw.as_ptr().cast::<tenzor_open_options>().read_unaligned() };
    let backend = match o.backend {
        TENZOR_BACKEND_AUTO => Backend::Auto,
        TENZOR_BACKEND_MMAP => Backend::Mmap,
        TENZOR_BACKEND_READ => Backend::Read,
        TENZOR_BACKEND_DIRECT => Backend::Direct,
        b => return Err(Failure::invalid(format!("unknown backend {b}"))),
    };
    let validation = match o.validation {
        TENZOR_VALIDATION_FULL => Validation::Full,
        TENZOR_VALIDATION_LAZY => Validation::Lazy,
        v => return Err(Failure::invalid(format!("unknown validation level {v}"))),
    };
    let all = TENZOR_HINT_PREFETCH | TENZOR_HINT_SEQUENTIAL | TENZOR_HINT_RANDOM | TENZOR_HINT_LOCK;
    if o.hints & !all != 0 || o.reserved != 0 {
        return Err(Failure::invalid(format!(
            "unknown hint bits {:#x}",
            o.hints & !all
        )));
    }
    let access = match (
        o.hints & TENZOR_HINT_SEQUENTIAL != 0,
        o.hints & TENZOR_HINT_RANDOM != 0,
    ) {
        (true, true) => {
            return Err(Failure::invalid(
                "SEQUENTIAL and RANDOM hints exclude each other",
            ))
        }
        (true, false) => Access::Sequential,
        (false, true) => Access::Random,
        (false, false) => Access::Normal,
    };
    Ok(OpenOptions {
        backend,
        validation,
        prefetch: o.hints & TENZOR_HINT_PREFETCH != 0,
        access,
        lock: o.hints & TENZOR_HINT_LOCK != 0,
    })
}

/// Opens `path` like `tenzor_open`, with options: a backend, a validation
/// level, hints. `opts` NULL means all defaults (exactly `tenzor_open`).
///
/// Backends: MMAP maps the file (views point into the page cache); READ
/// and DIRECT map nothing of it: the index is read with pread and each
/// tensor is read into memory the handle owns the first time a lookup
/// returns it (that memory, and the view's `data`, stay valid until
/// `tenzor_close`), or straight into caller memory with
/// `tenzor_read_tensor`. A file truncated while open makes READ/DIRECT
/// reads fail with `TENZOR_ERR_IO`; under MMAP it is SIGBUS (see
/// `tenzor_open`). `tenzor_file_backend` tells which backend AUTO picked.
///
/// LAZY validation checks the header and region bounds at open and each
/// entry when a lookup returns it (a bad entry fails that lookup with
/// `TENZOR_ERR_BAD_FORMAT`, never a bad view); `tenzor_verify` checks the
/// rest. FORMAT.md, "Validation levels", lists each level's guarantees.
///
/// On success `*out` receives a new handle (release with `tenzor_close`);
/// on failure `*out` is unmodified. A refused lock names RLIMIT_MEMLOCK.
///
/// # Safety
/// `path` NULL or a C string; `opts` NULL or a readable struct of
/// `opts->size` bytes; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_open_ex(
    path: *const c_char,
    opts: *const tenzor_open_options,
    out: *mut *const tenzor_file,
) -> tenzor_status {
    ffi_status("tenzor_open_ex", || {
        non_null!(path, out);
        // SAFETY: checked non-NULL; the caller promises a C string.
        let path = unsafe { path_arg(path, "path") }?;
        let opts = if opts.is_null() {
            OpenOptions::default()
        } else {
            // SAFETY: non-NULL, `size` bytes readable per the contract.
            unsafe { read_options(opts) }?
        };
        let file = TensorFile::open_with(path, &opts)?;
        // SAFETY: `out` is non-NULL and writable.
        unsafe { out.write(FileHandle::into_raw(file)) };
        Ok(())
    })
}

/// The backend an open file uses (never AUTO) and, in `*reason`, one
/// sentence saying why (NUL-terminated, owned by the handle, valid until
/// `tenzor_close`). Memory buffers (`tenzor_open_memory`) are
/// `TENZOR_ERR_UNSUPPORTED`. On failure the out-parameters are unmodified.
///
/// # Safety
/// `file` NULL or an open handle; `backend` and `reason` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_file_backend(
    file: *const tenzor_file,
    backend: *mut tenzor_backend,
    reason: *mut *const c_char,
) -> tenzor_status {
    ffi_status("tenzor_file_backend", || {
        non_null!(file, backend, reason);
        // SAFETY: non-NULL handle, per the contract.
        let h = unsafe { FileHandle::from_ptr(file) }?;
        let choice = h.file.backend().ok_or_else(|| {
            Failure::new(
                tenzor_status::TENZOR_ERR_UNSUPPORTED,
                format!("{}: a memory buffer has no backend", h.label()),
            )
        })?;
        let text = h
            .backend_reason
            .get_or_init(|| CString::new(choice.reason.clone()).unwrap_or_else(|_| c"".to_owned()));
        let b = match choice.backend {
            Backend::Auto | Backend::Mmap => TENZOR_BACKEND_MMAP,
            Backend::Read => TENZOR_BACKEND_READ,
            Backend::Direct => TENZOR_BACKEND_DIRECT,
        };
        // SAFETY: both out-params are non-NULL and writable.
        unsafe {
            backend.write(b);
            reason.write(text.as_ptr());
        }
        Ok(())
    })
}

/// Copies the bytes of the tensor called `name` into `dst` (`cap` bytes of
/// caller memory) and writes the tensor's byte size to `*size` (when `size`
/// is not NULL). `dst` NULL with `cap` 0 only queries the size. `cap`
/// smaller than the tensor: `TENZOR_ERR_INVALID_ARGUMENT`, nothing written.
/// Works with every backend; with READ/DIRECT the bytes go from the file
/// to `dst` directly (O_DIRECT when `dst` is 4096-aligned), without being
/// kept by the handle. `dst` stays the caller's.
///
/// # Safety
/// `file` NULL or an open handle; `name` NULL or a C string; `dst` NULL or
/// `cap` writable bytes; `size` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tenzor_read_tensor(
    file: *const tenzor_file,
    name: *const c_char,
    dst: *mut c_void,
    cap: usize,
    size: *mut usize,
) -> tenzor_status {
    ffi_status("tenzor_read_tensor", || {
        non_null!(file, name);
        // SAFETY: non-NULL handle and C string, per the contract.
        let (h, name) = unsafe { (FileHandle::from_ptr(file)?, str_arg(name, "name")?) };
        let n = if dst.is_null() {
            if cap != 0 {
                return Err(Failure::null("dst"));
            }
            let (_, t) = h.file.owner_of(name).map_err(|e| h.fail(e))?;
            t.data().len()
        } else {
            // SAFETY: `cap` writable bytes at `dst`, per the contract.
            let dst = unsafe { std::slice::from_raw_parts_mut(dst.cast::<u8>(), cap) };
            h.file.read_tensor(name, dst).map_err(|e| h.fail(e))?
        };
        if !size.is_null() {
            // SAFETY: non-NULL and writable, per the contract.
            unsafe { size.write(n) };
        }
        Ok(())
    })
}

/// One read of `tenzor_read_batch`: a tensor by name, or a byte range.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tenzor_read_request {
    /// The tensor to read (NUL-terminated), or NULL to read a byte range.
    pub name: *const c_char,
    /// With `name` NULL: absolute file offset of the range.
    pub offset: u64,
    /// Destination (caller memory).
    pub dst: *mut c_void,
    /// With a name: capacity of `dst` (at least the tensor's size). With
    /// NULL: the range length (exactly this many bytes are read).
    pub len: usize,
}

/// Options of `tenzor_read_batch` (`size` = `sizeof(tenzor_batch_options)`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tenzor_batch_options {
    /// `sizeof(tenzor_batch_options)` as the caller was compiled.
    pub size: usize,
    /// Threads reading at once (0: one per core, at most 8).
    pub threads: u32,
    /// 1: merge reads of adjacent file ranges into one vectored read.
    pub coalesce: u32,
    /// Largest single read in bytes (0: 8 MiB).
    pub chunk_size: usize,
}

/// Reads many tensors and byte ranges at once into caller buffers, with
/// `opts->threads` threads and reads of at most `opts->chunk_size` bytes
/// (`opts` NULL: defaults, coalescing on). Byte ranges must lie inside the
/// file and are refused for shard sets. On failure some destinations may
/// hold partial data; the message names the first failing tensor or range.
///
/// # Safety
/// `file` NULL or an open handle; `reqs` NULL or `count` readable requests
/// whose names are C strings and whose `dst` hold `len` writable bytes that
/// do not overlap; `opts` NULL or a readable struct.
#[no_mangle]
pub unsafe extern "C" fn tenzor_read_batch(
    file: *const tenzor_file,
    reqs: *const tenzor_read_request,
    count: usize,
    opts: *const tenzor_batch_options,
) -> tenzor_status {
    ffi_status("tenzor_read_batch", || {
        non_null!(file, reqs);
        // SAFETY: non-NULL handle, per the contract.
        let h = unsafe { FileHandle::from_ptr(file) }?;
        // SAFETY: `count` readable requests, per the contract.
        let reqs = unsafe { std::slice::from_raw_parts(reqs, count) };
        // SAFETY: NULL or a readable struct, per the contract.
        let o = unsafe { batch_options(opts) }?;
        let mut named: Vec<(&str, &mut [u8])> = Vec::new();
        let mut ranges: Vec<ReadRequest<'_>> = Vec::new();
        for (i, r) in reqs.iter().enumerate() {
            if r.dst.is_null() && r.len > 0 {
                return Err(Failure::invalid(format!("request {i}: dst is NULL")));
            }
            // SAFETY: `len` writable bytes, per the contract (none when NULL).
            let dst: &mut [u8] = if r.len == 0 {
                &mut []
            } else {
                unsafe { std::slice::from_raw_parts_mut(r.dst.cast::<u8>(), r.len) }
            };
            if r.name.is_null() {
                ranges.push(ReadRequest {
                    offset: r.offset,
                    dst,
                });
            } else {
                // SAFETY: a C string, per the contract.
                named.push((unsafe { str_arg(r.name, "name") }?, dst));
            }
        }
        h.file.read_tensors(&mut named, &o).map_err(|e| h.fail(e))?;
        if !ranges.is_empty() {
            h.file.read_ranges(&mut ranges, &o).map_err(|e| h.fail(e))?;
        }
        Ok(())
    })
}

/// # Safety
/// `p` NULL or a readable struct of `(*p).size` bytes.
unsafe fn batch_options(p: *const tenzor_batch_options) -> FfiResult<BatchOptions> {
    if p.is_null() {
        return Ok(BatchOptions::default());
    }
    // SAFETY: non-NULL, readable per the contract.
    let o = unsafe { p.read_unaligned() };
    if o.size != std::mem::size_of::<tenzor_batch_options>() {
        return Err(Failure::invalid(format!(
            "tenzor_batch_options.size is {}: set it to sizeof(tenzor_batch_options)",
            o.size
        )));
    }
    Ok(BatchOptions {
        threads: o.threads as usize,
        chunk_size: o.chunk_size,
        coalesce: o.coalesce != 0,
    })
}

/// The body of the four hint calls.
///
/// # Safety
/// As each of them: `file` NULL or an open handle; `name` NULL or a C string.
unsafe fn hint(
    what: &'static str,
    file: *const tenzor_file,
    name: *const c_char,
    apply: fn(&TensorFile<'static>, Option<&str>) -> crate::Result<()>,
) -> tenzor_status {
    ffi_status(what, || {
        non_null!(file);
        // SAFETY: non-NULL handle, per the contract.
        let h = unsafe { FileHandle::from_ptr(file) }?;
        let name = if name.is_null() {
            None
        } else {
            // SAFETY: a C string, per the contract.
            Some(unsafe { str_arg(name, "name") }?)
        };
        apply(&h.file, name).map_err(|e| h.fail(e))
    })
}

/// Asks the kernel to start reading the tensor called `name` (NULL: all
/// tensors) in the background, and returns at once. With the mmap backend
/// a background thread populates the pages (`MADV_POPULATE_READ`, or
/// `MADV_WILLNEED` on kernels before 5.14) for ranges of 1 MiB or more;
/// `tenzor_close` cancels it and waits for at most one 8 MiB step.
///
/// # Safety
/// `file` NULL or an open handle; `name` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn tenzor_prefetch(
    file: *const tenzor_file,
    name: *const c_char,
) -> tenzor_status {
    // SAFETY: forwarded contract.
    unsafe { hint("tenzor_prefetch", file, name, TensorFile::prefetch) }
}

/// Drops the pages of the tensor called `name` (NULL: all tensors) from
/// this process and the page cache, e.g. once uploaded to a GPU, so
/// resident memory falls. Views stay valid: under MMAP their pages are read
/// back from the file when touched; READ/DIRECT keep the handle's copy
/// until `tenzor_close` (only the page cache is dropped).
///
/// # Safety
/// `file` NULL or an open handle; `name` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn tenzor_release(
    file: *const tenzor_file,
    name: *const c_char,
) -> tenzor_status {
    // SAFETY: forwarded contract.
    unsafe { hint("tenzor_release", file, name, TensorFile::release) }
}

/// Locks the pages of the tensor called `name` (NULL: all tensors) in
/// memory (mlock). When RLIMIT_MEMLOCK refuses: `TENZOR_ERR_IO` with a
/// message giving the limit. Memory buffers: `TENZOR_ERR_UNSUPPORTED`.
///
/// # Safety
/// `file` NULL or an open handle; `name` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn tenzor_lock(
    file: *const tenzor_file,
    name: *const c_char,
) -> tenzor_status {
    // SAFETY: forwarded contract.
    unsafe { hint("tenzor_lock", file, name, TensorFile::lock) }
}

/// Undoes `tenzor_lock` for the tensor called `name` (NULL: all tensors).
///
/// # Safety
/// `file` NULL or an open handle; `name` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn tenzor_unlock(
    file: *const tenzor_file,
    name: *const c_char,
) -> tenzor_status {
    // SAFETY: forwarded contract.
    unsafe { hint("tenzor_unlock", file, name, TensorFile::unlock) }
}
