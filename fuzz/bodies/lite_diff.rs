//! Differential: include/tenzor_lite.h (the freestanding C reader) against
//! the Rust reader, on the same buffer (README, "Edge and embedded").
//!
//! - lite full validation accepts -> the Rust reader opens the buffer and
//!   gives identical tensors: names, dtypes, shapes, data offsets and sizes,
//!   name hashes, stored checksums, the metadata text, the edit mark, the
//!   `verify` verdict; lite lookups by name and hash find the listed tensor.
//!   The one documented exception: the lite reader does not parse the
//!   metadata as JSON, so it accepts metadata the Rust reader refuses.
//! - the Rust reader opens a canonical .tenzor v2 file and `verify` accepts
//!   it -> lite full validation accepts it (the lite reader refuses legacy
//!   v1, the appendable layout and other formats, and checks name hashes at
//!   open, which Rust leaves to `verify`).
//! - lite lazy validation: for a file full accepts, the same views; for any
//!   other, every view it hands out lies inside the buffer.
//!
//! The C functions are linked into the fuzz crate (fuzz/build.rs, with
//! coverage instrumentation); the stable replay compiles the same sources
//! into a shared library and loads it.

#![allow(unexpected_cfgs)] // tzl_linked: set by fuzz/build.rs only

use std::ffi::{c_char, c_int, c_void};

use tenzor::{Format, TensorFile};

use super::common::with_resigned;

/// `tzl_file` (include/tenzor_lite.h).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct TzlFile {
    buf: *const u8,
    len: usize,
    count: u32,
    flags: u32,
    alignment: u32,
    level: u32,
    metadata_size: usize,
    index_offset: usize,
    order_offset: usize,
    names_offset: usize,
    names_size: usize,
    data_offset: usize,
}

/// `tzl_tensor`.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TzlTensor {
    name: *const c_char,
    name_len: u32,
    index: u32,
    position: u32,
    dtype: u16,
    ndim: u8,
    shape: [u64; 8],
    numel: u64,
    data: *const c_void,
    size: usize,
    name_hash: u64,
    checksum: u64,
}

/// `tzl_diag`.
#[repr(C)]
pub struct TzlDiag {
    message: *const c_char,
    entry: u32,
}

const TZL_OK: c_int = 0;
const TZL_FULL: c_int = 0;
const TZL_LAZY: c_int = 1;

/// Declares the lite functions once: the table of pointers, the linked
/// symbols (fuzz crate) and their lookup in a loaded library (replay).
macro_rules! lite_api {
    ($($field:ident = $sym:ident: fn($($arg:ty),*) -> $ret:ty;)*) => {
        /// The lite reader's functions.
        pub struct Lite {
            $($field: unsafe extern "C" fn($($arg),*) -> $ret,)*
        }

        #[cfg(tzl_linked)]
        extern "C" {
            $(fn $sym($(_: $arg),*) -> $ret;)*
        }

        impl Lite {
            #[cfg(tzl_linked)]
            fn linked() -> Lite {
                Lite { $($field: $sym,)* }
            }

            /// Resolves every function in the library `handle` (dlopen).
            #[cfg(not(tzl_linked))]
            fn loaded(handle: *mut c_void) -> Lite {
                Lite {
                    $($field: {
                        let name = concat!(stringify!($sym), "\0");
                        // SAFETY: a NUL-terminated name, a live handle.
                        let p = unsafe { libc::dlsym(handle, name.as_ptr().cast()) };
                        assert!(!p.is_null(), "{name} not in the lite library");
                        // SAFETY: the symbol is that C function, whose
                        // signature the field's type spells.
                        unsafe {
                            std::mem::transmute::<*mut c_void, unsafe extern "C" fn($($arg),*) -> $ret>(p)
                        }
                    },)*
                }
            }
        }
    };
}

lite_api! {
    open = tzl_open: fn(*const c_void, usize, c_int, *mut TzlFile, *mut TzlDiag) -> c_int;
    count = tzl_count: fn(*const TzlFile) -> u32;
    at_position = tzl_at_position: fn(*const TzlFile, u32, *mut TzlTensor) -> c_int;
    at_index = tzl_at_index: fn(*const TzlFile, u32, *mut TzlTensor) -> c_int;
    find = tzl_find: fn(*const TzlFile, *const c_char, usize, *mut TzlTensor) -> c_int;
    find_hash = tzl_find_hash: fn(*const TzlFile, u64, *mut TzlTensor) -> c_int;
    metadata = tzl_metadata: fn(*const TzlFile, *mut *const c_char, *mut usize) -> c_int;
    verify = tzl_verify: fn(*const TzlFile, *mut TzlDiag) -> c_int;
    verify_tensor = tzl_verify_tensor: fn(*const TzlTensor) -> c_int;
    edit_interrupted = tzl_edit_interrupted: fn(*const TzlFile) -> c_int;
    layout = tzl_fuzz_layout: fn(c_int) -> usize;
}

/// The lite reader, its struct layout checked against the mirrors above.
fn lite() -> &'static Lite {
    static LITE: std::sync::OnceLock<Lite> = std::sync::OnceLock::new();
    LITE.get_or_init(|| {
        #[cfg(tzl_linked)]
        let lite = Lite::linked();
        #[cfg(not(tzl_linked))]
        let lite = Lite::loaded(compiled());
        let sizes = [
            std::mem::size_of::<TzlFile>(),
            std::mem::size_of::<TzlTensor>(),
            std::mem::offset_of!(TzlTensor, checksum),
            std::mem::size_of::<TzlDiag>(),
        ];
        for (which, size) in sizes.into_iter().enumerate() {
            // SAFETY: a pure function of its argument.
            let c = unsafe { (lite.layout)(which as c_int) };
            assert_eq!(
                c, size,
                "layout {which} of the Rust mirror of tenzor_lite.h"
            );
        }
        lite
    })
}

/// Compiles the lite reader into a shared library and loads it (the
/// replay, on stable: no build script compiles C into the library's tests).
#[cfg(not(tzl_linked))]
fn compiled() -> *mut c_void {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = if here.join("include/tenzor_lite.h").is_file() {
        here
    } else {
        here.parent().expect("fuzz/ is inside the repository")
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    let so = dir.path().join("libtzl_fuzz.so");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let status = std::process::Command::new(&cc)
        .args(["-shared", "-fPIC", "-O1", "-I"])
        .arg(root.join("include"))
        .arg(root.join("c_tests/lite/lite_impl.c"))
        .arg(root.join("fuzz/lite/layout.c"))
        .arg("-o")
        .arg(&so)
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler {cc}: {e}"));
    assert!(
        status.success(),
        "compiling tenzor_lite.h into {}",
        so.display()
    );
    let path = std::ffi::CString::new(so.to_str().expect("UTF-8 path")).expect("no NUL");
    // SAFETY: a NUL-terminated path to a library built just now.
    let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    assert!(!handle.is_null(), "dlopen {}", so.display());
    handle // stays loaded for the process; the file goes with `dir`
}

/// The `lite_diff` target.
pub fn lite_diff(data: &[u8]) {
    let api = lite();
    with_resigned(data, |b| {
        // An exact-size heap copy: AddressSanitizer catches any overread.
        let buf = b.to_vec().into_boxed_slice();
        check(api, &buf);
    });
}

fn check(api: &Lite, buf: &[u8]) {
    let full = open(api, buf, TZL_FULL);
    let rust = TensorFile::from_bytes(buf);
    match (&full, &rust) {
        (Some(l), Ok(r)) => same_tensors(api, buf, l, r),
        (Some(l), Err(e)) => assert!(
            !metadata_is_json(metadata(api, l)),
            "lite accepts, Rust refuses (not for its metadata): {e}"
        ),
        (None, Ok(r)) => assert!(
            r.format() != Format::Tenzor
                || r.append_layout().is_some_and(|a| a.appendable)
                || r.verify().is_err(),
            "Rust opens and verifies a canonical .tenzor v2 file, lite full validation refuses it"
        ),
        (None, Err(_)) => {}
    }
    lazy(api, buf, full.as_ref());
}

fn open(api: &Lite, buf: &[u8], level: c_int) -> Option<TzlFile> {
    let mut f = std::mem::MaybeUninit::<TzlFile>::uninit();
    // SAFETY: `buf` outlives every use of the file; diag may be NULL.
    let st = unsafe {
        (api.open)(
            buf.as_ptr().cast(),
            buf.len(),
            level,
            f.as_mut_ptr(),
            std::ptr::null_mut(),
        )
    };
    // SAFETY: written on success.
    (st == TZL_OK).then(|| unsafe { f.assume_init() })
}

/// The view `get` (`tzl_at_position` or `tzl_at_index`) gives for `i`.
fn at(
    f: &TzlFile,
    i: u32,
    get: unsafe extern "C" fn(*const TzlFile, u32, *mut TzlTensor) -> c_int,
) -> Option<TzlTensor> {
    let mut t = std::mem::MaybeUninit::<TzlTensor>::uninit();
    // SAFETY: an open file; `t` is written on success.
    (unsafe { get(f, i, t.as_mut_ptr()) } == TZL_OK).then(|| unsafe { t.assume_init() })
}

fn metadata<'b>(api: &Lite, f: &TzlFile) -> &'b [u8] {
    let (mut p, mut n) = (std::ptr::null(), 0usize);
    // SAFETY: an open file; the text lies in its buffer.
    let st = unsafe { (api.metadata)(f, &mut p, &mut n) };
    assert_eq!(st, TZL_OK, "tzl_metadata");
    if n == 0 {
        return &[];
    }
    // SAFETY: `n` bytes at `p`, inside the caller's buffer.
    unsafe { std::slice::from_raw_parts(p.cast(), n) }
}

/// The Rust reader's metadata rule: blank, or a JSON object.
fn metadata_is_json(m: &[u8]) -> bool {
    m.iter().all(u8::is_ascii_whitespace)
        || serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(m).is_ok()
}

/// The name bytes of a lite view.
fn name_of<'b>(t: &TzlTensor) -> &'b [u8] {
    // SAFETY: `name_len` bytes of the buffer, checked by the lite reader.
    unsafe { std::slice::from_raw_parts(t.name.cast(), t.name_len as usize) }
}

/// `[start, end)` of a view's data in `buf`, asserting it lies inside.
fn inside(buf: &[u8], t: &TzlTensor) -> (usize, usize) {
    let start = (t.data as usize).wrapping_sub(buf.as_ptr() as usize);
    assert!(
        start <= buf.len() && t.size <= buf.len() - start,
        "lite view outside the buffer at position {}",
        t.position
    );
    let name = (t.name as usize).wrapping_sub(buf.as_ptr() as usize);
    assert!(
        name < buf.len() && (t.name_len as usize) < buf.len() - name,
        "lite name outside the buffer (with its NUL)"
    );
    (start, start + t.size)
}

fn same_tensors(api: &Lite, buf: &[u8], l: &TzlFile, r: &TensorFile<'_>) {
    // SAFETY (every call below): an open file and its buffer.
    let count = unsafe { (api.count)(l) } as usize;
    assert_eq!(count, r.len(), "tensor count");
    let text = metadata(api, l);
    let text = if text.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        text
    };
    assert_eq!(text, r.metadata_json().as_bytes(), "metadata text");
    let marked = unsafe { (api.edit_interrupted)(l) } != 0;
    assert_eq!(marked, r.edit_interrupted(), "edit mark");
    for p in 0..count {
        let t = at(l, p as u32, api.at_position).expect("lite full: every position");
        let u = r.get_at(p).expect("Rust full: every position");
        let (start, end) = inside(buf, &t);
        assert_eq!(
            Some(name_of(&t)),
            u.name().map(str::as_bytes),
            "name at {p}"
        );
        assert_eq!(t.position as usize, p);
        assert_eq!(t.dtype, u.dtype() as u16, "dtype at {p}");
        assert_eq!(&t.shape[..t.ndim as usize], u.shape(), "shape at {p}");
        assert_eq!(t.numel, u.numel(), "numel at {p}");
        assert_eq!(start as u64, u.file_offset(), "data offset at {p}");
        assert_eq!(&buf[start..end], u.data(), "data at {p}");
        assert_eq!(t.name_hash, u.name_hash(), "name hash at {p}");
        assert_eq!(Some(t.checksum), u.checksum(), "stored checksum at {p}");
        let lite_ok = unsafe { (api.verify_tensor)(&t) } == TZL_OK;
        assert_eq!(lite_ok, r.verify_tensor(&u).is_ok(), "verify_tensor at {p}");
        lookups(api, l, &t);
    }
    let lite_ok = unsafe { (api.verify)(l, std::ptr::null_mut()) } == TZL_OK;
    let rust = r.verify();
    assert_eq!(
        lite_ok,
        rust.is_ok(),
        "verify: lite {lite_ok}, Rust {rust:?}"
    );
}

/// Lookups of a listed tensor by name, hash and index slot find it.
fn lookups(api: &Lite, l: &TzlFile, t: &TzlTensor) {
    let mut u = std::mem::MaybeUninit::<TzlTensor>::uninit();
    // SAFETY: an open file; the name lies in its buffer; `u` is written on success.
    let st = unsafe { (api.find)(l, t.name, t.name_len as usize, u.as_mut_ptr()) };
    assert!(
        st == TZL_OK && unsafe { u.assume_init() } == *t,
        "tzl_find of a listed name"
    );
    let st = unsafe { (api.find_hash)(l, t.name_hash, u.as_mut_ptr()) };
    assert!(
        st == TZL_OK && unsafe { u.assume_init() }.name_hash == t.name_hash,
        "tzl_find_hash"
    );
    assert_eq!(at(l, t.index, api.at_index), Some(*t), "tzl_at_index");
}

/// Lazy validation: the same views as full when full accepts; else every
/// view inside the buffer.
fn lazy(api: &Lite, buf: &[u8], full: Option<&TzlFile>) {
    let Some(l) = open(api, buf, TZL_LAZY) else {
        assert!(full.is_none(), "lite lazy refuses what lite full accepts");
        return;
    };
    // SAFETY: an open file.
    let count = unsafe { (api.count)(&l) };
    for p in 0..count {
        let t = at(&l, p, api.at_position);
        if let Some(t) = &t {
            inside(buf, t);
            assert_eq!(t.position, p, "lazy at_position({p})");
        }
        if let Some(f) = full {
            assert_eq!(t, at(f, p, api.at_position), "lazy view at {p}");
        }
        if let Some(u) = at(&l, p, api.at_index) {
            inside(buf, &u);
            let mut v = std::mem::MaybeUninit::<TzlTensor>::uninit();
            // SAFETY: as above.
            if unsafe { (api.find)(&l, u.name, u.name_len as usize, v.as_mut_ptr()) } == TZL_OK {
                inside(buf, &unsafe { v.assume_init() });
            }
        }
    }
}
