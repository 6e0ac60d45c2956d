//! Element types and the exact byte-size rule for every one of them.
//!
//! Every type is described as a block: `block_elems` elements stored in
//! `block_bytes` bytes. Plain types are blocks of one element; sub-byte types
//! pack several (F4: 2 elements per byte, F6: 4 elements in 3 bytes); GGML's
//! quantized types are blocks of 32 or 256 elements. One rule then gives the
//! byte size of any tensor: `numel` must be a multiple of `block_elems`, and
//! the size is `numel / block_elems * block_bytes`.
//!
//! Codes 0..=21 are tenzor's own types. GGML's block-quantized types use code
//! `256 + ggml_type` (GGML_TYPE_Q4_0 = 2 is code 258), so a new GGML type
//! never collides with a tenzor type and the mapping needs no table. GGML's
//! plain types (F32, F16, BF16, F64, I8, I16, I32, I64) are the tenzor types
//! of the same name: see [`DType::from_ggml`]. Sizes are those of
//! `gguf.constants.GGML_QUANT_SIZES` (gguf-py 0.19.0).

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
            #[inline]
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
            #[inline]
            pub fn block_elems(self) -> u64 {
                match self { $( DType::$variant => $elems, )* }
            }

            /// Bytes in one storage block.
            #[inline]
            pub fn block_bytes(self) -> u64 {
                match self { $( DType::$variant => $bytes, )* }
            }

            /// (elements, bytes) of one block of the dtype whose on-disk
            /// code is `code`, or (0, 0) when no dtype has that code: one
            /// table load, for the per-entry checks of a full open.
            #[inline]
            pub(crate) fn block_of_code(code: u16) -> (u64, u64) {
                const TABLE: [(u16, u16); CODE_LIMIT] = {
                    let mut t = [(0u16, 0u16); CODE_LIMIT];
                    $( t[$code as usize] = ($elems as u16, $bytes as u16); )*
                    t
                };
                match TABLE.get(code as usize) {
                    Some(&(e, b)) => (e as u64, b as u64),
                    None => (0, 0),
                }
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
    /// 4-bit, one f16 scale per block of 32 (GGML).
    Q4_0 = 258, "Q4_0", 32, 18;
    /// 4-bit, f16 scale and minimum per block of 32 (GGML).
    Q4_1 = 259, "Q4_1", 32, 20;
    /// 5-bit, one f16 scale per block of 32 (GGML).
    Q5_0 = 262, "Q5_0", 32, 22;
    /// 5-bit, f16 scale and minimum per block of 32 (GGML).
    Q5_1 = 263, "Q5_1", 32, 24;
    /// 8-bit, one f16 scale per block of 32 (GGML).
    Q8_0 = 264, "Q8_0", 32, 34;
    /// 8-bit, f16 scale and sum per block of 32 (GGML).
    Q8_1 = 265, "Q8_1", 32, 40;
    /// 2-bit k-quant, super-blocks of 256 (GGML).
    Q2_K = 266, "Q2_K", 256, 84;
    /// 3-bit k-quant, super-blocks of 256 (GGML).
    Q3_K = 267, "Q3_K", 256, 110;
    /// 4-bit k-quant, super-blocks of 256 (GGML).
    Q4_K = 268, "Q4_K", 256, 144;
    /// 5-bit k-quant, super-blocks of 256 (GGML).
    Q5_K = 269, "Q5_K", 256, 176;
    /// 6-bit k-quant, super-blocks of 256 (GGML).
    Q6_K = 270, "Q6_K", 256, 210;
    /// 8-bit k-quant, super-blocks of 256 (GGML; intermediate type).
    Q8_K = 271, "Q8_K", 256, 292;
    /// 2.06-bit i-quant, super-blocks of 256 (GGML).
    IQ2_XXS = 272, "IQ2_XXS", 256, 66;
    /// 2.31-bit i-quant, super-blocks of 256 (GGML).
    IQ2_XS = 273, "IQ2_XS", 256, 74;
    /// 3.06-bit i-quant, super-blocks of 256 (GGML).
    IQ3_XXS = 274, "IQ3_XXS", 256, 98;
    /// 1.56-bit i-quant, super-blocks of 256 (GGML).
    IQ1_S = 275, "IQ1_S", 256, 50;
    /// 4-bit non-linear quant, blocks of 32 (GGML).
    IQ4_NL = 276, "IQ4_NL", 32, 18;
    /// 3.44-bit i-quant, super-blocks of 256 (GGML).
    IQ3_S = 277, "IQ3_S", 256, 110;
    /// 2.56-bit i-quant, super-blocks of 256 (GGML).
    IQ2_S = 278, "IQ2_S", 256, 82;
    /// 4.25-bit non-linear quant, super-blocks of 256 (GGML).
    IQ4_XS = 279, "IQ4_XS", 256, 136;
    /// 1.75-bit i-quant, super-blocks of 256 (GGML).
    IQ1_M = 285, "IQ1_M", 256, 56;
    /// Ternary 1.69-bit, super-blocks of 256 (GGML).
    TQ1_0 = 290, "TQ1_0", 256, 54;
    /// Ternary 2-bit, super-blocks of 256 (GGML).
    TQ2_0 = 291, "TQ2_0", 256, 66;
    /// OCP MX FP4 (E2M1) with an E8M0 scale per block of 32 (GGML).
    MXFP4 = 295, "MXFP4", 32, 17;
    /// NVIDIA FP4 (E2M1) with FP8 scales, blocks of 64 (GGML).
    NVFP4 = 296, "NVFP4", 64, 36;
    /// 1-bit, blocks of 128 (GGML).
    Q1_0 = 297, "Q1_0", 128, 18;
}

/// Offset of GGML block types in the tenzor code space.
const GGML_CODE_BASE: u16 = 256;

/// Every on-disk code is below this (checked when the code table is built).
const CODE_LIMIT: usize = 512;

impl DType {
    /// Storage bits per element, rounded **up**: exact for plain and
    /// sub-byte types (F4 is 4, F6 is 6); for GGML block types the block's
    /// bits (quants plus scales) over its elements, rounded up, so Q4_0
    /// (18 bytes / 32 elements = 4.5) is 5. Rounding up keeps
    /// `bits * numel / 8` an upper bound of the storage; use
    /// [`DType::byte_size`] for exact sizes.
    pub fn bits(self) -> u32 {
        (self.block_bytes() * 8).div_ceil(self.block_elems()) as u32
    }

    /// Whether this is one of GGML's block-quantized types (codes >= 256).
    pub fn is_ggml_block(self) -> bool {
        self as u16 >= GGML_CODE_BASE
    }

    /// The tenzor dtype of a GGML type id (`enum ggml_type`), or `None` for
    /// ids GGML removed or this version does not know (never panics, any
    /// `u32` is accepted).
    pub fn from_ggml(id: u32) -> Option<DType> {
        Some(match id {
            0 => DType::F32,
            1 => DType::F16,
            24 => DType::I8,
            25 => DType::I16,
            26 => DType::I32,
            27 => DType::I64,
            28 => DType::F64,
            30 => DType::BF16,
            _ => {
                let code = u16::try_from(id).ok()?.checked_add(GGML_CODE_BASE)?;
                return DType::from_code(code).filter(|d| d.is_ggml_block());
            }
        })
    }

    /// The GGML type id of this dtype, or `None` when GGML has no such type
    /// (unsigned integers, BOOL, C64, the F8/F6/F4 types).
    pub fn to_ggml(self) -> Option<u32> {
        Some(match self {
            DType::F32 => 0,
            DType::F16 => 1,
            DType::I8 => 24,
            DType::I16 => 25,
            DType::I32 => 26,
            DType::I64 => 27,
            DType::F64 => 28,
            DType::BF16 => 30,
            d if d.is_ggml_block() => (d as u16 - GGML_CODE_BASE) as u32,
            _ => return None,
        })
    }

    /// The exact byte size of `numel` elements, or `None` when `numel` is
    /// not a whole number of blocks or the size overflows `u64`.
    #[inline]
    pub fn byte_size(self, numel: u64) -> Option<u64> {
        let elems = self.block_elems();
        if elems == 1 {
            // Most dtypes: no 64-bit division (this runs once per entry at open).
            return numel.checked_mul(self.block_bytes());
        }
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

    /// The safetensors dtype, when safetensors has this type (never for the
    /// GGML block types). Feature `foreign`.
    #[cfg(feature = "foreign")]
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
            _ => return None,
        })
    }

    /// The tenzor dtype of a safetensors dtype (`None` for a type added to
    /// safetensors after this version of tenzor). Feature `foreign`.
    #[cfg(feature = "foreign")]
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

    /// (name, ggml id, block elements, block bytes), copied from
    /// `gguf.GGMLQuantizationType` and `gguf.constants.GGML_QUANT_SIZES` of
    /// gguf-py 0.19.0. `ggml_sizes_match_the_python_package` re-checks it
    /// against the installed package.
    const GGML_TABLE: &[(&str, u32, u64, u64)] = &[
        ("F32", 0, 1, 4),
        ("F16", 1, 1, 2),
        ("Q4_0", 2, 32, 18),
        ("Q4_1", 3, 32, 20),
        ("Q5_0", 6, 32, 22),
        ("Q5_1", 7, 32, 24),
        ("Q8_0", 8, 32, 34),
        ("Q8_1", 9, 32, 40),
        ("Q2_K", 10, 256, 84),
        ("Q3_K", 11, 256, 110),
        ("Q4_K", 12, 256, 144),
        ("Q5_K", 13, 256, 176),
        ("Q6_K", 14, 256, 210),
        ("Q8_K", 15, 256, 292),
        ("IQ2_XXS", 16, 256, 66),
        ("IQ2_XS", 17, 256, 74),
        ("IQ3_XXS", 18, 256, 98),
        ("IQ1_S", 19, 256, 50),
        ("IQ4_NL", 20, 32, 18),
        ("IQ3_S", 21, 256, 110),
        ("IQ2_S", 22, 256, 82),
        ("IQ4_XS", 23, 256, 136),
        ("I8", 24, 1, 1),
        ("I16", 25, 1, 2),
        ("I32", 26, 1, 4),
        ("I64", 27, 1, 8),
        ("F64", 28, 1, 8),
        ("IQ1_M", 29, 256, 56),
        ("BF16", 30, 1, 2),
        ("TQ1_0", 34, 256, 54),
        ("TQ2_0", 35, 256, 66),
        ("MXFP4", 39, 32, 17),
        ("NVFP4", 40, 64, 36),
        ("Q1_0", 41, 128, 18),
    ];

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
        assert_eq!(DType::from_code(256), None, "GGML F32 is code 0, not 256");
        assert_eq!(DType::from_code(u16::MAX), None);
    }

    #[test]
    fn codes_and_names_are_unique_and_in_order() {
        let codes: Vec<u16> = DType::ALL.iter().map(|&d| d as u16).collect();
        assert!(
            codes.windows(2).all(|w| w[0] < w[1]),
            "ALL is in code order"
        );
        let mut names: Vec<&str> = DType::ALL.iter().map(|d| d.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), DType::ALL.len());
    }

    #[test]
    fn ggml_types_match_the_table() {
        for &(name, id, elems, bytes) in GGML_TABLE {
            let d = DType::from_ggml(id).unwrap_or_else(|| panic!("{name} ({id}) unknown"));
            assert_eq!(d.name(), name);
            assert_eq!((d.block_elems(), d.block_bytes()), (elems, bytes), "{name}");
            assert_eq!(d.to_ggml(), Some(id), "{name}");
            assert_eq!(d.is_ggml_block(), elems > 1, "{name}");
            if d.is_ggml_block() {
                assert_eq!(d as u16, 256 + id as u16, "{name}: code is 256 + ggml id");
                #[cfg(feature = "foreign")]
                assert_eq!(d.to_safetensors(), None, "{name}");
            }
        }
        // Every dtype GGML can hold is in the table, and nothing else maps.
        let mapped = DType::ALL.iter().filter(|d| d.to_ggml().is_some()).count();
        assert_eq!(mapped, GGML_TABLE.len());
        for d in [
            DType::U8,
            DType::U64,
            DType::BOOL,
            DType::C64,
            DType::F8_E4M3,
            DType::F4,
        ] {
            assert_eq!(d.to_ggml(), None, "{d}");
        }
        // Removed GGML ids (Q4_2, Q4_3, Q4_0_4_4...) and nonsense are unknown.
        for id in [
            4,
            5,
            31,
            32,
            33,
            36,
            37,
            38,
            42,
            256,
            258,
            65535,
            65536,
            u32::MAX,
        ] {
            assert_eq!(DType::from_ggml(id), None, "{id}");
        }
    }

    #[test]
    fn ggml_sizes_match_the_python_package() {
        // Cheap cross-check of the hard-coded table against the installed
        // package, so a new gguf-py release with new types shows up here.
        let script = "import json\n\
            from gguf.constants import GGML_QUANT_SIZES as S, GGMLQuantizationType as T\n\
            print(json.dumps([[t.name, t.value, *S[t]] for t in T]))";
        let out = std::process::Command::new("python3")
            .args(["-c", script])
            .output()
            .expect(
                "python3 is needed for this test: install Python 3, then `pip install gguf numpy`",
            );
        assert!(
            out.status.success(),
            "the gguf package is needed for this test (`pip install gguf numpy`): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: Vec<(String, u32, u64, u64)> = serde_json::from_slice(&out.stdout).unwrap();
        let want: Vec<(String, u32, u64, u64)> = GGML_TABLE
            .iter()
            .map(|&(n, i, e, b)| (n.to_string(), i, e, b))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn byte_sizes_follow_the_block_rule() {
        assert_eq!(DType::F32.byte_size(3), Some(12));
        assert_eq!(DType::F4.byte_size(4), Some(2));
        assert_eq!(DType::F4.byte_size(3), None);
        assert_eq!(DType::F6_E2M3.byte_size(8), Some(6));
        assert_eq!(DType::F6_E2M3.byte_size(6), None);
        assert_eq!(DType::F64.byte_size(u64::MAX / 4), None);
        assert_eq!(DType::Q4_0.byte_size(64), Some(36));
        assert_eq!(DType::Q4_0.byte_size(48), None);
        assert_eq!(DType::Q6_K.byte_size(512), Some(420));
        assert_eq!(DType::F4.bits(), 4);
        assert_eq!(DType::F6_E3M2.bits(), 6);
        assert_eq!(DType::Q8_0.bits(), 9, "8.5 rounds up");
        assert_eq!(DType::Q1_0.bits(), 2, "1.125 rounds up");
        for d in DType::ALL {
            let exact = d.byte_size(d.block_elems() * 1024).unwrap();
            assert!(d.bits() as u64 * d.block_elems() * 1024 / 8 >= exact, "{d}");
        }
    }

    #[test]
    #[cfg(feature = "foreign")]
    fn every_core_dtype_maps_to_safetensors_and_back() {
        for d in DType::ALL.iter().filter(|d| !d.is_ggml_block()) {
            let s = d
                .to_safetensors()
                .expect("all core dtypes exist in safetensors");
            assert_eq!(DType::from_safetensors(s), Some(*d));
            assert_eq!(s.bitsize() as u32, d.bits());
        }
    }
}
