//! A borrowed view of one tensor inside an open file.

use half::{bf16, f16};

use crate::dtype::DType;
use crate::error::{Error, ErrorKind, Result};
use crate::format::MAX_DIMS;

/// One tensor: its description and its bytes, borrowed from the file's
/// mapping (valid as long as the [`crate::TensorFile`] is).
#[derive(Debug, Clone, Copy)]
pub struct Tensor<'a> {
    pub(crate) name: Option<&'a str>,
    pub(crate) name_hash: u64,
    pub(crate) dtype: DType,
    pub(crate) ndim: u8,
    pub(crate) shape: [u64; MAX_DIMS],
    pub(crate) data: &'a [u8],
    pub(crate) offset: u64,
    pub(crate) checksum: Option<u64>,
    pub(crate) position: usize,
}

/// Element types that can be viewed in place as a typed slice: every bit
/// pattern is a valid value, so reinterpreting mapped bytes is sound.
pub trait Element: Copy + sealed::Sealed {
    /// The dtype whose bytes this type reads.
    const DTYPE: DType;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! element {
    ($($t:ty => $d:ident),*) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t { const DTYPE: DType = DType::$d; }
    )*};
}
element!(f32 => F32, f64 => F64, f16 => F16, bf16 => BF16, i8 => I8, i16 => I16, i32 => I32,
         i64 => I64, u8 => U8, u16 => U16, u32 => U32, u64 => U64);

impl<'a> Tensor<'a> {
    /// The name; `None` for legacy version-1 files, which store only hashes.
    pub fn name(&self) -> Option<&'a str> {
        self.name
    }

    /// The name, or the hash as `0x...` when the file stores no names.
    pub fn display_name(&self) -> String {
        display_name(self.name, self.name_hash)
    }

    /// The name as a C string. Every name a [`Tensor`] hands out is
    /// followed by a NUL byte in memory: in the file for .tenzor v2, in the
    /// handle's own name table for formats that store names otherwise.
    pub fn name_cstr(&self) -> Option<&'a std::ffi::CStr> {
        let name = self.name?;
        // SAFETY: the invariant above: `name.len()` bytes without NUL, then
        // a NUL, all inside memory that lives as long as `'a`.
        let with_nul = unsafe { std::slice::from_raw_parts(name.as_ptr(), name.len() + 1) };
        std::ffi::CStr::from_bytes_with_nul(with_nul).ok()
    }

    /// The actual alignment of the data pointer: the largest power of two,
    /// up to 65536, that divides its address.
    pub fn alignment(&self) -> u64 {
        let addr = self.data.as_ptr() as usize as u64;
        1u64 << addr.trailing_zeros().min(16)
    }

    /// FNV-1a 64 hash of the name.
    pub fn name_hash(&self) -> u64 {
        self.name_hash
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The shape, outermost dimension first (empty for a scalar).
    pub fn shape(&self) -> &[u64] {
        &self.shape[..self.ndim as usize]
    }

    /// Number of elements.
    pub fn numel(&self) -> u64 {
        // Checked at open: overflows nowhere, but a shape with a zero
        // dimension may hold others whose running product would.
        crate::format::numel_any_order(self.shape()).unwrap_or(0)
    }

    /// The raw bytes, borrowed from the file.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Absolute offset of the data in the file.
    pub fn file_offset(&self) -> u64 {
        self.offset
    }

    /// The stored xxh3-64 checksum of the data (`None` for legacy files).
    pub fn checksum(&self) -> Option<u64> {
        self.checksum
    }

    /// Position in the order the tensors were added.
    pub fn position(&self) -> usize {
        self.position
    }

    /// The data as a typed slice, when `T` matches the dtype, the data is
    /// aligned for `T` and the machine is little-endian (as the file is).
    pub fn as_slice<T: Element>(&self) -> Option<&'a [T]> {
        if T::DTYPE != self.dtype || cfg!(target_endian = "big") {
            return None;
        }
        // SAFETY: `T` is a plain number type for which every bit pattern is
        // valid; `align_to` only yields the middle part when it is aligned.
        let (head, mid, tail) = unsafe { self.data.align_to::<T>() };
        (head.is_empty() && tail.is_empty()).then_some(mid)
    }

    /// Converts the elements to f32 into `out` (which must hold exactly
    /// `numel` values). Works for float and integer dtypes whatever the
    /// alignment of the data; other dtypes give an `Unsupported` error.
    pub fn to_f32(&self, out: &mut [f32]) -> Result<()> {
        let n = self.numel();
        if out.len() as u64 != n {
            return Err(Error::invalid(format!(
                "output holds {} values but the tensor has {n}",
                out.len()
            ))
            .for_tensor(&self.display_name()));
        }
        macro_rules! conv {
            ($w:expr, $f:expr) => {
                for (o, c) in out.iter_mut().zip(self.data.chunks_exact($w)) {
                    *o = $f(c.try_into().expect("chunk width"));
                }
            };
        }
        match self.dtype {
            DType::F32 => conv!(4, f32::from_le_bytes),
            DType::F64 => conv!(8, |b| f64::from_le_bytes(b) as f32),
            DType::F16 => conv!(2, |b| f16::from_le_bytes(b).to_f32()),
            DType::BF16 => conv!(2, |b| bf16::from_le_bytes(b).to_f32()),
            DType::I8 => conv!(1, |b| i8::from_le_bytes(b) as f32),
            DType::U8 | DType::BOOL => conv!(1, |b| u8::from_le_bytes(b) as f32),
            DType::I16 => conv!(2, |b| i16::from_le_bytes(b) as f32),
            DType::U16 => conv!(2, |b| u16::from_le_bytes(b) as f32),
            DType::I32 => conv!(4, |b| i32::from_le_bytes(b) as f32),
            DType::U32 => conv!(4, |b| u32::from_le_bytes(b) as f32),
            DType::I64 => conv!(8, |b| i64::from_le_bytes(b) as f32),
            DType::U64 => conv!(8, |b| u64::from_le_bytes(b) as f32),
            other => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("conversion of {other} to f32 is not supported"),
                )
                .for_tensor(&self.display_name()))
            }
        }
        Ok(())
    }
}

fn display_name(name: Option<&str>, hash: u64) -> String {
    match name {
        Some(n) => n.to_string(),
        None => format!("{hash:#018x}"),
    }
}

/// What the index says about one tensor, without its bytes: listing a
/// file with [`crate::TensorFile::try_infos`] never reads tensor data, even
/// with the `read`/`direct` backends (which read data only when a view of
/// it is returned). The fields mean what [`Tensor`]'s accessors of the same
/// names return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo<'a> {
    /// The name; `None` for legacy version-1 files, which store only hashes.
    pub name: Option<&'a str>,
    /// FNV-1a 64 hash of the name.
    pub name_hash: u64,
    /// The element type.
    pub dtype: DType,
    /// The shape, outermost dimension first (empty for a scalar).
    pub shape: Vec<u64>,
    /// Size of the data in bytes.
    pub size: u64,
    /// Absolute offset of the data in its file (its shard, for a set).
    pub file_offset: u64,
    /// The stored xxh3-64 checksum of the data (`None` for legacy files).
    pub checksum: Option<u64>,
    /// Position in the order the tensors were added.
    pub position: usize,
}

impl<'a> TensorInfo<'a> {
    /// The description of `t` (its data left aside, read or not).
    pub(crate) fn of(t: &Tensor<'a>) -> TensorInfo<'a> {
        TensorInfo {
            name: t.name,
            name_hash: t.name_hash,
            dtype: t.dtype,
            shape: t.shape().to_vec(),
            size: t.data.len() as u64,
            file_offset: t.offset,
            checksum: t.checksum,
            position: t.position,
        }
    }

    /// The name, or the hash as `0x...` when the file stores no names.
    pub fn display_name(&self) -> String {
        display_name(self.name, self.name_hash)
    }
}
