//! Element types and the exact byte-size rule for every one of them.
//!
//! Every type is described as a block: `block_elems` elements stored in
//! `block_bytes` bytes. Plain types are blocks of one element; sub-byte types
//! pack several (F4: 2 elements per byte, F6: 4 elements in 3 bytes); GGML's
//! quantized types are blocks of 32 or 256 elements. One rule then gives the
//! byte size of any tensor: `numel` must be a multiple of `block_elems`, and
//! the size is `numel / block_elems * block_bytes`.

use std::fmt;

macro_rules! dtypes {
    ($( $(#[$doc:meta])* $variant:ident = $code:expr, $name:literal, $elems:expr, $bytes:expr; )*) => {
        /// The element type of a tensor. The numbers are the on-disk codes of
        /// FORMAT.md and never change.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u16)]
        #[allow(non_camel_case_types)]
        pub enum DType {
            $( $(#[$doc])* $variant = $code, )*
        }

        impl DType {
            /// Every dtype, in code order.
            pub const ALL: &'static [DType] = &[$(DType::$variant),*];

            /// The dtype for an on-disk code, if the code is known.
            pub fn from_code(code: u16) -> Option<DType> {
                match code {
                    $( $code => Some(DType::$variant), )*
                    _ => None,
                }
            }

            /// The canonical name (safetensors spelling for the types it has).
            pub fn name(self) -> &'static str {
                match self { $( DType::$variant => $name, )* }
            }

            /// Elements in one storage block (1 for plain types).
            pub fn block_elems(self) -> u64 {
                match self { $( DType::$variant => $elems, )* }
            }

            /// Bytes in one storage block.
            pub fn block_bytes(self) -> u64 {
                match self { $( DType::$variant => $bytes, )* }
            }
        }
    };
}

dtypes! {
    /// IEEE 754 binary32.
    F32 = 0, "F32", 1, 4;
    /// IEEE 754 binary16.
    F16 = 1, "F16", 1, 2;
    /// bfloat16.
    BF16 = 2, "BF16", 1, 2;
    /// IEEE 754 binary64.
    F64 = 3, "F64", 1, 8;
    /// Signed 8-bit integer.
    I8 = 4, "I8", 1, 1;
    /// Signed 16-bit integer.
    I16 = 5, "I16", 1, 2;
    /// Signed 32-bit integer.
    I32 = 6, "I32", 1, 4;
    /// Signed 64-bit integer.
    I64 = 7, "I64", 1, 8;
    /// Unsigned 8-bit integer.
    U8 = 8, "U8", 1, 1;
    /// Unsigned 16-bit integer.
    U16 = 9, "U16", 1, 2;
    /// Unsigned 32-bit integer.
    U32 = 10, "U32", 1, 4;
    /// Unsigned 64-bit integer.
    U64 = 11, "U64", 1, 8;
    /// Boolean, one byte, 0 or 1.
    BOOL = 12, "BOOL", 1, 1;
    /// Complex with two F32 parts (real, imaginary).
    C64 = 13, "C64", 1, 8;
    /// FP8 E4M3 (OCP, finite).
    F8_E4M3 = 14, "F8_E4M3", 1, 1;
    /// FP8 E5M2.
    F8_E5M2 = 15, "F8_E5M2", 1, 1;
    /// FP8 E8M0 (MX scale).
    F8_E8M0 = 16, "F8_E8M0", 1, 1;
    /// FP8 E4M3 FNUZ.
    F8_E4M3FNUZ = 17, "F8_E4M3FNUZ", 1, 1;
    /// FP8 E5M2 FNUZ.
    F8_E5M2FNUZ = 18, "F8_E5M2FNUZ", 1, 1;
    /// MX FP4 (E2M1), two elements per byte.
    F4 = 19, "F4", 2, 1;
    /// MX FP6 E2M3, four elements in three bytes.
    F6_E2M3 = 20, "F6_E2M3", 4, 3;
    /// MX FP6 E3M2, four elements in three bytes.
    F6_E3M2 = 21, "F6_E3M2", 4, 3;
}

impl DType {
    /// Bits per element, rounded down for block types whose blocks carry
    /// scales (0 never occurs: every type has at least one bit per element).
    pub fn bits(self) -> u32 {
        (self.block_bytes() * 8 / self.block_elems()) as u32
    }

    /// The exact byte size of `numel` elements, or `None` when `numel` is
    /// not a whole number of blocks or the size overflows `u64`.
    pub fn byte_size(self, numel: u64) -> Option<u64> {
        let elems = self.block_elems();
        if numel % elems != 0 {
            return None;
        }
        (numel / elems).checked_mul(self.block_bytes())
    }

    /// Natural alignment of one element in memory (for typed access).
    pub fn elem_align(self) -> usize {
        match self {
            DType::F64 | DType::I64 | DType::U64 => 8,
            DType::F32 | DType::I32 | DType::U32 | DType::C64 => 4,
            DType::F16 | DType::BF16 | DType::I16 | DType::U16 => 2,
            _ => 1,
        }
    }

    /// Parses a canonical name (case-sensitive, as `name` prints it).
    pub fn from_name(name: &str) -> Option<DType> {
        DType::ALL.iter().copied().find(|d| d.name() == name)
    }

    /// The safetensors dtype, when safetensors has this type.
    pub fn to_safetensors(self) -> Option<safetensors::Dtype> {
        use safetensors::Dtype as S;
        Some(match self {
            DType::F32 => S::F32,
            DType::F16 => S::F16,
            DType::BF16 => S::BF16,
            DType::F64 => S::F64,
            DType::I8 => S::I8,
            DType::I16 => S::I16,
            DType::I32 => S::I32,
            DType::I64 => S::I64,
            DType::U8 => S::U8,
            DType::U16 => S::U16,
            DType::U32 => S::U32,
            DType::U64 => S::U64,
            DType::BOOL => S::BOOL,
            DType::C64 => S::C64,
            DType::F8_E4M3 => S::F8_E4M3,
            DType::F8_E5M2 => S::F8_E5M2,
            DType::F8_E8M0 => S::F8_E8M0,
            DType::F8_E4M3FNUZ => S::F8_E4M3FNUZ,
            DType::F8_E5M2FNUZ => S::F8_E5M2FNUZ,
            DType::F4 => S::F4,
            DType::F6_E2M3 => S::F6_E2M3,
            DType::F6_E3M2 => S::F6_E3M2,
        })
    }

    /// The tenzor dtype of a safetensors dtype (`None` for a type added to
    /// safetensors after this version of tenzor).
    pub fn from_safetensors(d: safetensors::Dtype) -> Option<DType> {
        // The safetensors enum is non-exhaustive; go through the name.
        DType::from_name(&format!("{d:?}"))
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_original_numbering_holds() {
        for (i, d) in DType::ALL.iter().enumerate() {
            assert_eq!(DType::from_code(*d as u16), Some(*d));
            assert_eq!(DType::from_name(d.name()), Some(*d));
            if i < 12 {
                assert_eq!(*d as usize, i, "original Zig numbering");
            }
        }
        assert_eq!(DType::from_code(22), None);
        assert_eq!(DType::from_code(u16::MAX), None);
    }

    #[test]
    fn byte_sizes_follow_the_block_rule() {
        assert_eq!(DType::F32.byte_size(3), Some(12));
        assert_eq!(DType::F4.byte_size(4), Some(2));
        assert_eq!(DType::F4.byte_size(3), None);
        assert_eq!(DType::F6_E2M3.byte_size(8), Some(6));
        assert_eq!(DType::F6_E2M3.byte_size(6), None);
        assert_eq!(DType::F64.byte_size(u64::MAX / 4), None);
        assert_eq!(DType::F4.bits(), 4);
        assert_eq!(DType::F6_E3M2.bits(), 6);
    }

    #[test]
    fn every_dtype_maps_to_safetensors_and_back() {
        for d in DType::ALL {
            let s = d
                .to_safetensors()
                .expect("all core dtypes exist in safetensors");
            assert_eq!(DType::from_safetensors(s), Some(*d));
            assert_eq!(s.bitsize() as u32, d.bits());
        }
    }
}
