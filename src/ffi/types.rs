//! The C-visible types: opaque handles, the borrowed tensor view, writer
//! options and the dtype numbers.

use std::ffi::{c_char, c_void};

use crate::dtype::DType;
use crate::tensor::Tensor;

/// An open, read-only tensor file (opaque). Immutable: any number of threads
/// may use one handle at once. Created by `tenzor_open`/`tenzor_open_memory`,
/// released by `tenzor_close`.
pub struct tenzor_file {
    _private: [u8; 0],
}

/// A file being written (opaque). Use from one thread at a time. Created by
/// `tenzor_writer_create`, released by `tenzor_writer_finish` or
/// `tenzor_writer_abort`.
pub struct tenzor_writer {
    _private: [u8; 0],
}

/// An existing .tenzor file opened for appending (opaque). Use from one
/// thread at a time. Created by `tenzor_appender_open`, released by
/// `tenzor_appender_commit` or `tenzor_appender_abort`.
pub struct tenzor_appender {
    _private: [u8; 0],
}

/// An existing file opened for editing tensor bytes in place (opaque). Use
/// from one thread at a time. Created by `tenzor_editor_open`, released by
/// `tenzor_editor_close`.
pub struct tenzor_editor {
    _private: [u8; 0],
}

/// A tensor's element type: one of the `TENZOR_DTYPE_*` numbers. A plain
/// integer rather than an enum so that new dtypes can be added without
/// changing any signature.
#[allow(non_camel_case_types)]
pub type tenzor_dtype = u32;

/// Largest rank a tensor may have (length of `tenzor_tensor.shape`).
pub const TENZOR_MAX_DIMS: usize = 8;

// The numbers are the on-disk codes of src/dtype.rs; a unit test checks
// that every DType has its constant here and that the numbers agree.
/// IEEE 754 binary32.
pub const TENZOR_DTYPE_F32: tenzor_dtype = 0;
/// IEEE 754 binary16.
pub const TENZOR_DTYPE_F16: tenzor_dtype = 1;
/// bfloat16.
pub const TENZOR_DTYPE_BF16: tenzor_dtype = 2;
/// IEEE 754 binary64.
pub const TENZOR_DTYPE_F64: tenzor_dtype = 3;
/// Signed 8-bit integer.
pub const TENZOR_DTYPE_I8: tenzor_dtype = 4;
/// Signed 16-bit integer.
pub const TENZOR_DTYPE_I16: tenzor_dtype = 5;
/// Signed 32-bit integer.
pub const TENZOR_DTYPE_I32: tenzor_dtype = 6;
/// Signed 64-bit integer.
pub const TENZOR_DTYPE_I64: tenzor_dtype = 7;
/// Unsigned 8-bit integer.
pub const TENZOR_DTYPE_U8: tenzor_dtype = 8;
/// Unsigned 16-bit integer.
pub const TENZOR_DTYPE_U16: tenzor_dtype = 9;
/// Unsigned 32-bit integer.
pub const TENZOR_DTYPE_U32: tenzor_dtype = 10;
/// Unsigned 64-bit integer.
pub const TENZOR_DTYPE_U64: tenzor_dtype = 11;
/// Boolean, one byte, 0 or 1.
pub const TENZOR_DTYPE_BOOL: tenzor_dtype = 12;
/// Complex with two F32 parts (real, imaginary).
pub const TENZOR_DTYPE_C64: tenzor_dtype = 13;
/// FP8 E4M3 (OCP, finite).
pub const TENZOR_DTYPE_F8_E4M3: tenzor_dtype = 14;
/// FP8 E5M2.
pub const TENZOR_DTYPE_F8_E5M2: tenzor_dtype = 15;
/// FP8 E8M0 (MX scale).
pub const TENZOR_DTYPE_F8_E8M0: tenzor_dtype = 16;
/// FP8 E4M3 FNUZ.
pub const TENZOR_DTYPE_F8_E4M3FNUZ: tenzor_dtype = 17;
/// FP8 E5M2 FNUZ.
pub const TENZOR_DTYPE_F8_E5M2FNUZ: tenzor_dtype = 18;
/// MX FP4 (E2M1), two elements per byte.
pub const TENZOR_DTYPE_F4: tenzor_dtype = 19;
/// MX FP6 E2M3, four elements in three bytes.
pub const TENZOR_DTYPE_F6_E2M3: tenzor_dtype = 20;
/// MX FP6 E3M2, four elements in three bytes.
pub const TENZOR_DTYPE_F6_E3M2: tenzor_dtype = 21;
/// GGML Q4_0 (block-quantized; code 256 + GGML type 2).
pub const TENZOR_DTYPE_Q4_0: tenzor_dtype = 258;
/// GGML Q4_1 (block-quantized; code 256 + GGML type 3).
pub const TENZOR_DTYPE_Q4_1: tenzor_dtype = 259;
/// GGML Q5_0 (block-quantized; code 256 + GGML type 6).
pub const TENZOR_DTYPE_Q5_0: tenzor_dtype = 262;
/// GGML Q5_1 (block-quantized; code 256 + GGML type 7).
pub const TENZOR_DTYPE_Q5_1: tenzor_dtype = 263;
/// GGML Q8_0 (block-quantized; code 256 + GGML type 8).
pub const TENZOR_DTYPE_Q8_0: tenzor_dtype = 264;
/// GGML Q8_1 (block-quantized; code 256 + GGML type 9).
pub const TENZOR_DTYPE_Q8_1: tenzor_dtype = 265;
/// GGML Q2_K (block-quantized; code 256 + GGML type 10).
pub const TENZOR_DTYPE_Q2_K: tenzor_dtype = 266;
/// GGML Q3_K (block-quantized; code 256 + GGML type 11).
pub const TENZOR_DTYPE_Q3_K: tenzor_dtype = 267;
/// GGML Q4_K (block-quantized; code 256 + GGML type 12).
pub const TENZOR_DTYPE_Q4_K: tenzor_dtype = 268;
/// GGML Q5_K (block-quantized; code 256 + GGML type 13).
pub const TENZOR_DTYPE_Q5_K: tenzor_dtype = 269;
/// GGML Q6_K (block-quantized; code 256 + GGML type 14).
pub const TENZOR_DTYPE_Q6_K: tenzor_dtype = 270;
/// GGML Q8_K (block-quantized; code 256 + GGML type 15).
pub const TENZOR_DTYPE_Q8_K: tenzor_dtype = 271;
/// GGML IQ2_XXS (block-quantized; code 256 + GGML type 16).
pub const TENZOR_DTYPE_IQ2_XXS: tenzor_dtype = 272;
/// GGML IQ2_XS (block-quantized; code 256 + GGML type 17).
pub const TENZOR_DTYPE_IQ2_XS: tenzor_dtype = 273;
/// GGML IQ3_XXS (block-quantized; code 256 + GGML type 18).
pub const TENZOR_DTYPE_IQ3_XXS: tenzor_dtype = 274;
/// GGML IQ1_S (block-quantized; code 256 + GGML type 19).
pub const TENZOR_DTYPE_IQ1_S: tenzor_dtype = 275;
/// GGML IQ4_NL (block-quantized; code 256 + GGML type 20).
pub const TENZOR_DTYPE_IQ4_NL: tenzor_dtype = 276;
/// GGML IQ3_S (block-quantized; code 256 + GGML type 21).
pub const TENZOR_DTYPE_IQ3_S: tenzor_dtype = 277;
/// GGML IQ2_S (block-quantized; code 256 + GGML type 22).
pub const TENZOR_DTYPE_IQ2_S: tenzor_dtype = 278;
/// GGML IQ4_XS (block-quantized; code 256 + GGML type 23).
pub const TENZOR_DTYPE_IQ4_XS: tenzor_dtype = 279;
/// GGML IQ1_M (block-quantized; code 256 + GGML type 29).
pub const TENZOR_DTYPE_IQ1_M: tenzor_dtype = 285;
/// GGML TQ1_0 (block-quantized; code 256 + GGML type 34).
pub const TENZOR_DTYPE_TQ1_0: tenzor_dtype = 290;
/// GGML TQ2_0 (block-quantized; code 256 + GGML type 35).
pub const TENZOR_DTYPE_TQ2_0: tenzor_dtype = 291;
/// GGML MXFP4 (block-quantized; code 256 + GGML type 39).
pub const TENZOR_DTYPE_MXFP4: tenzor_dtype = 295;
/// GGML NVFP4 (block-quantized; code 256 + GGML type 40).
pub const TENZOR_DTYPE_NVFP4: tenzor_dtype = 296;
/// GGML Q1_0 (block-quantized; code 256 + GGML type 41).
pub const TENZOR_DTYPE_Q1_0: tenzor_dtype = 297;

/// The on-disk format of an open file: one of the `TENZOR_FORMAT_*`
/// numbers (stable; new formats get new numbers).
#[allow(non_camel_case_types)]
pub type tenzor_format = u32;
/// .tenzor version 2.
pub const TENZOR_FORMAT_TENZOR: tenzor_format = 1;
/// .tenzor version 1 (the original Zig implementation; read-only, no names).
pub const TENZOR_FORMAT_TENZOR_LEGACY: tenzor_format = 2;
/// .safetensors (tensors carry no alignment guarantee: see `alignment`).
pub const TENZOR_FORMAT_SAFETENSORS: tenzor_format = 3;
/// GGUF version 2 or 3.
pub const TENZOR_FORMAT_GGUF: tenzor_format = 4;

/// Every exported dtype constant with its C name, in number order.
#[cfg(test)]
pub(crate) const DTYPE_CONSTANTS: &[(&str, tenzor_dtype)] = &[
    ("F32", TENZOR_DTYPE_F32),
    ("F16", TENZOR_DTYPE_F16),
    ("BF16", TENZOR_DTYPE_BF16),
    ("F64", TENZOR_DTYPE_F64),
    ("I8", TENZOR_DTYPE_I8),
    ("I16", TENZOR_DTYPE_I16),
    ("I32", TENZOR_DTYPE_I32),
    ("I64", TENZOR_DTYPE_I64),
    ("U8", TENZOR_DTYPE_U8),
    ("U16", TENZOR_DTYPE_U16),
    ("U32", TENZOR_DTYPE_U32),
    ("U64", TENZOR_DTYPE_U64),
    ("BOOL", TENZOR_DTYPE_BOOL),
    ("C64", TENZOR_DTYPE_C64),
    ("F8_E4M3", TENZOR_DTYPE_F8_E4M3),
    ("F8_E5M2", TENZOR_DTYPE_F8_E5M2),
    ("F8_E8M0", TENZOR_DTYPE_F8_E8M0),
    ("F8_E4M3FNUZ", TENZOR_DTYPE_F8_E4M3FNUZ),
    ("F8_E5M2FNUZ", TENZOR_DTYPE_F8_E5M2FNUZ),
    ("F4", TENZOR_DTYPE_F4),
    ("F6_E2M3", TENZOR_DTYPE_F6_E2M3),
    ("F6_E3M2", TENZOR_DTYPE_F6_E3M2),
    ("Q4_0", TENZOR_DTYPE_Q4_0),
    ("Q4_1", TENZOR_DTYPE_Q4_1),
    ("Q5_0", TENZOR_DTYPE_Q5_0),
    ("Q5_1", TENZOR_DTYPE_Q5_1),
    ("Q8_0", TENZOR_DTYPE_Q8_0),
    ("Q8_1", TENZOR_DTYPE_Q8_1),
    ("Q2_K", TENZOR_DTYPE_Q2_K),
    ("Q3_K", TENZOR_DTYPE_Q3_K),
    ("Q4_K", TENZOR_DTYPE_Q4_K),
    ("Q5_K", TENZOR_DTYPE_Q5_K),
    ("Q6_K", TENZOR_DTYPE_Q6_K),
    ("Q8_K", TENZOR_DTYPE_Q8_K),
    ("IQ2_XXS", TENZOR_DTYPE_IQ2_XXS),
    ("IQ2_XS", TENZOR_DTYPE_IQ2_XS),
    ("IQ3_XXS", TENZOR_DTYPE_IQ3_XXS),
    ("IQ1_S", TENZOR_DTYPE_IQ1_S),
    ("IQ4_NL", TENZOR_DTYPE_IQ4_NL),
    ("IQ3_S", TENZOR_DTYPE_IQ3_S),
    ("IQ2_S", TENZOR_DTYPE_IQ2_S),
    ("IQ4_XS", TENZOR_DTYPE_IQ4_XS),
    ("IQ1_M", TENZOR_DTYPE_IQ1_M),
    ("TQ1_0", TENZOR_DTYPE_TQ1_0),
    ("TQ2_0", TENZOR_DTYPE_TQ2_0),
    ("MXFP4", TENZOR_DTYPE_MXFP4),
    ("NVFP4", TENZOR_DTYPE_NVFP4),
    ("Q1_0", TENZOR_DTYPE_Q1_0),
];

/// The core dtype for a C dtype number, if the number is known.
pub(crate) fn dtype_from_c(dtype: tenzor_dtype) -> Option<DType> {
    u16::try_from(dtype).ok().and_then(DType::from_code)
}

/// One tensor, borrowed from an open file: every pointer in it points into
/// the file's mapping (or the caller's buffer) and stays valid, unchanged,
/// until `tenzor_close` on that file. Nothing in it is owned by the caller;
/// never free any of its pointers.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tenzor_tensor {
    /// The name, NUL-terminated, inside the file; NULL for legacy v1 files, which store only hashes.
    pub name: *const c_char,
    /// Length of the name in bytes, without the NUL (0 when `name` is NULL).
    pub name_len: usize,
    /// FNV-1a 64 hash of the name (what `tenzor_hash_name` computes).
    pub name_hash: u64,
    /// Element type, a `TENZOR_DTYPE_*` number.
    pub dtype: tenzor_dtype,
    /// True when `checksum` holds a stored xxh3-64 checksum (false for legacy v1 files).
    pub has_checksum: bool,
    /// Number of dimensions, 0 (a scalar) to `TENZOR_MAX_DIMS`.
    pub ndim: usize,
    /// Dimensions, outermost first; entries at `ndim` and beyond are 0.
    pub shape: [u64; TENZOR_MAX_DIMS],
    /// The tensor's bytes, inside the mapping (never NULL, even when `size` is 0; NULL only from `tenzor_get_tensor_info`, which reads nothing).
    pub data: *const c_void,
    /// Number of bytes at `data`.
    pub size: usize,
    /// Stored xxh3-64 checksum of the data (0 when `has_checksum` is false).
    pub checksum: u64,
    /// Absolute offset of the data in the file: `data` == file start + `file_offset`.
    pub file_offset: u64,
    /// Actual alignment of `data`: the largest power of two up to 65536 dividing its address.
    pub alignment: u64,
    /// Position in the order the tensors were written (what `tenzor_get_tensor_at` takes).
    pub position: usize,
}

impl tenzor_tensor {
    /// The C view of `t`; its pointers live as long as `t`'s file.
    pub(crate) fn from_tensor(t: &Tensor<'_>) -> tenzor_tensor {
        let mut shape = [0u64; TENZOR_MAX_DIMS];
        let dims = t.shape();
        shape[..dims.len()].copy_from_slice(dims);
        // `name_cstr` relies on the reader's guarantee that every name is
        // followed by a NUL in memory; C only ever sees such names.
        let (name, name_len) = match t.name_cstr() {
            Some(c) => (c.as_ptr(), c.to_bytes().len()),
            None => (std::ptr::null(), 0),
        };
        tenzor_tensor {
            name,
            name_len,
            name_hash: t.name_hash(),
            dtype: t.dtype() as tenzor_dtype,
            has_checksum: t.checksum().is_some(),
            ndim: dims.len(),
            shape,
            data: t.data().as_ptr().cast(),
            size: t.data().len(),
            checksum: t.checksum().unwrap_or(0),
            file_offset: t.file_offset(),
            alignment: t.alignment(),
            position: t.position(),
        }
    }
}

/// One tensor of a file open for editing, with a writable pointer to its
/// bytes inside the file's shared mapping. Every pointer in it stays valid
/// until `tenzor_editor_close` on that editor; nothing in it is owned by the
/// caller. Write at most `size` bytes at `data`: the view carries no other
/// bound, and bytes past it belong to other tensors or to the file's index.
/// Writes through `data` are allowed until the next `tenzor_editor_flush`
/// (or the close); to write again after a flush, fetch the view again, which
/// marks the file as being edited again.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tenzor_tensor_mut {
    /// The name, NUL-terminated (read-only); NULL for legacy v1 files, which store only hashes.
    pub name: *const c_char,
    /// Length of the name in bytes, without the NUL (0 when `name` is NULL).
    pub name_len: usize,
    /// FNV-1a 64 hash of the name.
    pub name_hash: u64,
    /// Element type, a `TENZOR_DTYPE_*` number.
    pub dtype: tenzor_dtype,
    /// Number of dimensions, 0 (a scalar) to `TENZOR_MAX_DIMS`.
    pub ndim: usize,
    /// Dimensions, outermost first; entries at `ndim` and beyond are 0.
    pub shape: [u64; TENZOR_MAX_DIMS],
    /// The tensor's bytes, writable, inside the mapping (never NULL, even when `size` is 0).
    pub data: *mut c_void,
    /// Number of bytes at `data`: the bound of every write.
    pub size: usize,
    /// Absolute offset of the data in the file.
    pub file_offset: u64,
    /// Actual alignment of `data`: the largest power of two up to 65536 dividing its address.
    pub alignment: u64,
    /// Position in the order the tensors were written (what `tenzor_editor_get_tensor_at` takes).
    pub position: usize,
}

#[cfg(feature = "write")]
impl tenzor_tensor_mut {
    /// The writable C view of `t`, whose data starts at `data`.
    pub(crate) fn from_tensor(t: &Tensor<'_>, data: *mut u8) -> tenzor_tensor_mut {
        let v = tenzor_tensor::from_tensor(t);
        tenzor_tensor_mut {
            name: v.name,
            name_len: v.name_len,
            name_hash: v.name_hash,
            dtype: v.dtype,
            ndim: v.ndim,
            shape: v.shape,
            data: data.cast(),
            size: v.size,
            file_offset: v.file_offset,
            alignment: v.alignment,
            position: v.position,
        }
    }
}

/// Options of `tenzor_writer_create`. Zero means "the default" for every
/// field, so `tenzor_writer_options o = {0};` then setting what you need is
/// the intended use. The reservations are hints: too small costs one extra
/// copy of the data at finish, too large leaves zero padding in the file.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct tenzor_writer_options {
    /// Per-tensor alignment: a power of two from 64 to 65536 (0: 64; 4096 gives page-aligned tensors).
    pub alignment: u64,
    /// Expected number of tensors (0: 16).
    pub reserve_tensors: u64,
    /// Expected total bytes of tensor names (0: 1024).
    pub reserve_name_bytes: u64,
    /// Expected bytes of JSON metadata (0: 1024).
    pub reserve_metadata_bytes: u64,
}

#[cfg(feature = "write")]
impl tenzor_writer_options {
    /// The core options, with defaults for the zero fields.
    pub(crate) fn to_core(self) -> crate::WriterOptions {
        let d = crate::WriterOptions::default();
        let or = |v: u64, default: u64| if v == 0 { default } else { v };
        crate::WriterOptions {
            alignment: or(self.alignment, d.alignment),
            reserve_tensors: or(self.reserve_tensors, d.reserve_tensors),
            reserve_name_bytes: or(self.reserve_name_bytes, d.reserve_name_bytes),
            reserve_metadata_bytes: or(self.reserve_metadata_bytes, d.reserve_metadata_bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_dtype_has_its_c_constant_with_the_same_number() {
        assert_eq!(
            DTYPE_CONSTANTS.len(),
            DType::ALL.len(),
            "add a TENZOR_DTYPE_* constant in src/ffi/types.rs for each new DType"
        );
        for (name, code) in DTYPE_CONSTANTS {
            let d = dtype_from_c(*code).expect("constant names a known dtype");
            assert_eq!(d.name(), *name);
        }
        assert_eq!(dtype_from_c(22), None);
        assert_eq!(dtype_from_c(u32::MAX), None);
        assert_eq!(dtype_from_c(0x1_0000), None, "no truncation to u16");
    }

    #[test]
    #[cfg(feature = "write")]
    fn zero_options_mean_defaults() {
        assert_eq!(
            tenzor_writer_options::default().to_core(),
            crate::WriterOptions::default()
        );
        let o = tenzor_writer_options {
            alignment: 4096,
            ..Default::default()
        };
        assert_eq!(o.to_core().alignment, 4096);
    }
}
