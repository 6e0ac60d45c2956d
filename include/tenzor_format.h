/*
 * tenzor_format.h: the on-disk layout of .tenzor files (FORMAT.md) as C
 * structs and constants. Hand-written, not generated: tests/format_header.rs
 * compiles a program against this header and checks every size, offset,
 * constant and dtype against the Rust definitions (src/format.rs,
 * src/dtype.rs), so the two cannot drift.
 *
 * Byte order: every field is little-endian. The structs may be overlaid on
 * the bytes of a file only on a little-endian host and only at an address
 * aligned to 8; everywhere else (big-endian hosts, unaligned buffers) copy
 * the bytes out with memcpy and decode them, as tenzor_lite.h does. The
 * offsets below (TENZOR_FILE_HDR_*, TENZOR_FILE_ENT_*, TENZOR_FILE_V1_*)
 * serve that decoding.
 *
 * Usable from C99, C11 and C++ together with tenzor.h: the macros both
 * headers define (TENZOR_MAX_DIMS, TENZOR_DTYPE_*) are token-identical, so
 * a drift between them is a compile error.
 */
#ifndef TENZOR_FORMAT_H
#define TENZOR_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* Compile-time checks: _Static_assert where the language has it, the
 * negative-array trick in C99. */
#if defined(__cplusplus) && __cplusplus >= 201103L
#define TENZOR_FORMAT_ASSERT(cond, tag) static_assert(cond, #tag)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define TENZOR_FORMAT_ASSERT(cond, tag) _Static_assert(cond, #tag)
#else
#define TENZOR_FORMAT_ASSERT(cond, tag) typedef char tenzor_format_assert_##tag[(cond) ? 1 : -1]
#endif

/* ---- Constants (src/format.rs) ---------------------------------------- */

/** The 8 magic bytes at offset 0 ("TENZOR" and two NULs). */
#define TENZOR_FILE_MAGIC "TENZOR\0\0"
/** Bytes of the magic. */
#define TENZOR_FILE_MAGIC_SIZE 8u
/** The format version tenzor 0.2 writes. */
#define TENZOR_FILE_VERSION 2u
/** The legacy version the original Zig implementation wrote. */
#define TENZOR_FILE_VERSION_LEGACY 1u
/** Size of the fixed header. */
#define TENZOR_FILE_HEADER_SIZE 64u
/** The index and the data section start on multiples of this. */
#define TENZOR_FILE_PAGE 4096u
/** Size of one version-2 index entry. */
#define TENZOR_FILE_ENTRY_SIZE 112u
/** Size of one legacy version-1 index entry. */
#define TENZOR_FILE_LEGACY_ENTRY_SIZE 48u
/** Largest rank (same token sequence as in tenzor.h). */
#define TENZOR_MAX_DIMS 8
/** Largest rank of a legacy version-1 tensor. */
#define TENZOR_FILE_LEGACY_MAX_DIMS 5u
/** Default, smallest and largest per-tensor alignment (a power of two). */
#define TENZOR_FILE_DEFAULT_ALIGNMENT 64u
#define TENZOR_FILE_MIN_ALIGNMENT 64u
#define TENZOR_FILE_MAX_ALIGNMENT 65536u
/** Flag bits 0..15 are required: a reader refuses a file with one it does not know. */
#define TENZOR_FILE_REQUIRED_FLAGS_MASK 0x0000ffffu
/** Required flag: the appendable layout (FORMAT.md, "Appendable layout"). */
#define TENZOR_FILE_FLAG_APPENDABLE 0x1u
/** Required flag: an in-place edit is (or was) under way (FORMAT.md, "Edit mark"). */
#define TENZOR_FILE_FLAG_EDITING 0x2u
/** Flag bits the header checksum reads as clear. */
#define TENZOR_FILE_FLAGS_OUTSIDE_CHECKSUM 0x3u
/** 64-bit FNV-1a parameters of the name hash. */
#define TENZOR_FILE_FNV_OFFSET_BASIS UINT64_C(0xcbf29ce484222325)
#define TENZOR_FILE_FNV_PRIME UINT64_C(0x100000001b3)

/* ---- Header (64 bytes at offset 0) ------------------------------------ */

/** The file header. Version 1 files share bytes 0..44 and keep 44..64 zero. */
typedef struct tenzor_file_header {
    uint8_t magic[8];          /* TENZOR_FILE_MAGIC */
    uint32_t version;          /* 2 (1: legacy) */
    uint32_t flags;            /* bits 0..15 required, 16..31 optional */
    uint32_t tensor_count;     /* entries in the index */
    uint32_t zero;             /* must be 0 */
    uint64_t index_offset;     /* align_up(64 + metadata_size, 4096) */
    uint64_t data_offset;      /* multiple of max(4096, alignment) */
    uint32_t metadata_size;    /* bytes of JSON at offset 64 */
    uint32_t alignment;        /* per-tensor alignment, 64..65536, power of two */
    uint64_t header_checksum;  /* xxh3-64 of [0, data_offset), this field and flags 0x3 as zero */
    uint32_t names_size;       /* bytes of the name table */
    uint32_t reserved;         /* must be 0 */
} tenzor_file_header;

#define TENZOR_FILE_HDR_MAGIC 0u
#define TENZOR_FILE_HDR_VERSION 8u
#define TENZOR_FILE_HDR_FLAGS 12u
#define TENZOR_FILE_HDR_TENSOR_COUNT 16u
#define TENZOR_FILE_HDR_ZERO 20u
#define TENZOR_FILE_HDR_INDEX_OFFSET 24u
#define TENZOR_FILE_HDR_DATA_OFFSET 32u
#define TENZOR_FILE_HDR_METADATA_SIZE 40u
#define TENZOR_FILE_HDR_ALIGNMENT 44u
#define TENZOR_FILE_HDR_CHECKSUM 48u
#define TENZOR_FILE_HDR_NAMES_SIZE 56u
#define TENZOR_FILE_HDR_RESERVED 60u

TENZOR_FORMAT_ASSERT(sizeof(tenzor_file_header) == TENZOR_FILE_HEADER_SIZE, header_size);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_header, magic) == TENZOR_FILE_HDR_MAGIC, hdr_magic);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_header, version) == TENZOR_FILE_HDR_VERSION, hdr_version);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_header, flags) == TENZOR_FILE_HDR_FLAGS, hdr_flags);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_header, tensor_count) == TENZOR_FILE_HDR_TENSOR_COUNT, hdr_count);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_header, zero) == TENZOR_FILE_HDR_ZERO, hdr_zero);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_header, index_offset) == TENZOR_FILE_HDR_INDEX_OFFSET, hdr_index);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_header, data_offset) == TENZOR_FILE_HDR_DATA_OFFSET, hdr_data);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_header, metadata_size) == TENZOR_FILE_HDR_METADATA_SIZE, hdr_meta);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_header, alignment) == TENZOR_FILE_HDR_ALIGNMENT, hdr_align);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_header, header_checksum) == TENZOR_FILE_HDR_CHECKSUM, hdr_checksum);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_header, names_size) == TENZOR_FILE_HDR_NAMES_SIZE, hdr_names);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_header, reserved) == TENZOR_FILE_HDR_RESERVED, hdr_reserved);

/* ---- Version-2 index entry (112 bytes, sorted by (name_hash, name)) ---- */

/** One index entry. The index starts on a page boundary and 112 is a
 *  multiple of 8, so every entry is naturally aligned in a mapping. */
typedef struct tenzor_file_entry {
    uint64_t name_hash;        /* FNV-1a 64 of the name */
    uint32_t name_offset;      /* within the name table */
    uint32_t name_len;         /* without the trailing NUL */
    uint16_t dtype;            /* TENZOR_DTYPE_* */
    uint8_t ndim;              /* 0..8 */
    uint8_t flags;             /* must be 0 */
    uint32_t position;         /* insertion order, 0..tensor_count */
    uint64_t shape[8];         /* outermost first; unused dims 0 */
    uint64_t data_offset;      /* relative to the header's data_offset */
    uint64_t data_size;        /* bytes */
    uint64_t checksum;         /* xxh3-64 of the data */
} tenzor_file_entry;

#define TENZOR_FILE_ENT_NAME_HASH 0u
#define TENZOR_FILE_ENT_NAME_OFFSET 8u
#define TENZOR_FILE_ENT_NAME_LEN 12u
#define TENZOR_FILE_ENT_DTYPE 16u
#define TENZOR_FILE_ENT_NDIM 18u
#define TENZOR_FILE_ENT_FLAGS 19u
#define TENZOR_FILE_ENT_POSITION 20u
#define TENZOR_FILE_ENT_SHAPE 24u
#define TENZOR_FILE_ENT_DATA_OFFSET 88u
#define TENZOR_FILE_ENT_DATA_SIZE 96u
#define TENZOR_FILE_ENT_CHECKSUM 104u

TENZOR_FORMAT_ASSERT(sizeof(tenzor_file_entry) == TENZOR_FILE_ENTRY_SIZE, entry_size);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_entry, name_hash) == TENZOR_FILE_ENT_NAME_HASH, ent_hash);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_entry, name_offset) == TENZOR_FILE_ENT_NAME_OFFSET, ent_name_off);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_entry, name_len) == TENZOR_FILE_ENT_NAME_LEN, ent_name_len);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_entry, dtype) == TENZOR_FILE_ENT_DTYPE, ent_dtype);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_entry, ndim) == TENZOR_FILE_ENT_NDIM, ent_ndim);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_entry, flags) == TENZOR_FILE_ENT_FLAGS, ent_flags);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_entry, position) == TENZOR_FILE_ENT_POSITION, ent_position);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_entry, shape) == TENZOR_FILE_ENT_SHAPE, ent_shape);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_entry, data_offset) == TENZOR_FILE_ENT_DATA_OFFSET, ent_data_off);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_entry, data_size) == TENZOR_FILE_ENT_DATA_SIZE, ent_data_size);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_entry, checksum) == TENZOR_FILE_ENT_CHECKSUM, ent_checksum);

/* ---- Legacy version-1 index entry (48 bytes, file order) --------------- */

/** One legacy entry (the original Zig implementation's; no names). */
typedef struct tenzor_file_legacy_entry {
    uint64_t name_hash;        /* FNV-1a 64 of the name */
    uint8_t dtype;             /* codes 0..11 */
    uint8_t ndim;              /* 0..5 */
    uint8_t padding[2];
    uint32_t shape[5];
    uint64_t data_offset;      /* relative to the header's data_offset */
    uint64_t data_size;
} tenzor_file_legacy_entry;

#define TENZOR_FILE_V1_NAME_HASH 0u
#define TENZOR_FILE_V1_DTYPE 8u
#define TENZOR_FILE_V1_NDIM 9u
#define TENZOR_FILE_V1_SHAPE 12u
#define TENZOR_FILE_V1_DATA_OFFSET 32u
#define TENZOR_FILE_V1_DATA_SIZE 40u

TENZOR_FORMAT_ASSERT(sizeof(tenzor_file_legacy_entry) == TENZOR_FILE_LEGACY_ENTRY_SIZE, legacy_size);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_legacy_entry, name_hash) == TENZOR_FILE_V1_NAME_HASH, v1_hash);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_legacy_entry, dtype) == TENZOR_FILE_V1_DTYPE, v1_dtype);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_legacy_entry, ndim) == TENZOR_FILE_V1_NDIM, v1_ndim);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_legacy_entry, shape) == TENZOR_FILE_V1_SHAPE, v1_shape);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_legacy_entry, data_offset) == TENZOR_FILE_V1_DATA_OFFSET, v1_data_off);
TENZOR_FORMAT_ASSERT(offsetof(tenzor_file_legacy_entry, data_size) == TENZOR_FILE_V1_DATA_SIZE, v1_data_size);

/* ---- DTypes (src/dtype.rs; the numbers never change) ------------------- */

#define TENZOR_DTYPE_F32 0
#define TENZOR_DTYPE_F16 1
#define TENZOR_DTYPE_BF16 2
#define TENZOR_DTYPE_F64 3
#define TENZOR_DTYPE_I8 4
#define TENZOR_DTYPE_I16 5
#define TENZOR_DTYPE_I32 6
#define TENZOR_DTYPE_I64 7
#define TENZOR_DTYPE_U8 8
#define TENZOR_DTYPE_U16 9
#define TENZOR_DTYPE_U32 10
#define TENZOR_DTYPE_U64 11
#define TENZOR_DTYPE_BOOL 12
#define TENZOR_DTYPE_C64 13
#define TENZOR_DTYPE_F8_E4M3 14
#define TENZOR_DTYPE_F8_E5M2 15
#define TENZOR_DTYPE_F8_E8M0 16
#define TENZOR_DTYPE_F8_E4M3FNUZ 17
#define TENZOR_DTYPE_F8_E5M2FNUZ 18
#define TENZOR_DTYPE_F4 19
#define TENZOR_DTYPE_F6_E2M3 20
#define TENZOR_DTYPE_F6_E3M2 21
#define TENZOR_DTYPE_Q4_0 258
#define TENZOR_DTYPE_Q4_1 259
#define TENZOR_DTYPE_Q5_0 262
#define TENZOR_DTYPE_Q5_1 263
#define TENZOR_DTYPE_Q8_0 264
#define TENZOR_DTYPE_Q8_1 265
#define TENZOR_DTYPE_Q2_K 266
#define TENZOR_DTYPE_Q3_K 267
#define TENZOR_DTYPE_Q4_K 268
#define TENZOR_DTYPE_Q5_K 269
#define TENZOR_DTYPE_Q6_K 270
#define TENZOR_DTYPE_Q8_K 271
#define TENZOR_DTYPE_IQ2_XXS 272
#define TENZOR_DTYPE_IQ2_XS 273
#define TENZOR_DTYPE_IQ3_XXS 274
#define TENZOR_DTYPE_IQ1_S 275
#define TENZOR_DTYPE_IQ4_NL 276
#define TENZOR_DTYPE_IQ3_S 277
#define TENZOR_DTYPE_IQ2_S 278
#define TENZOR_DTYPE_IQ4_XS 279
#define TENZOR_DTYPE_IQ1_M 285
#define TENZOR_DTYPE_TQ1_0 290
#define TENZOR_DTYPE_TQ2_0 291
#define TENZOR_DTYPE_MXFP4 295
#define TENZOR_DTYPE_NVFP4 296
#define TENZOR_DTYPE_Q1_0 297

/**
 * Every dtype as X(name, code, block_elems, block_bytes): a tensor of numel
 * elements needs numel % block_elems == 0 and takes
 * numel / block_elems * block_bytes bytes (FORMAT.md, "Sizes").
 */
#define TENZOR_DTYPE_TABLE(X) \
    X(F32, TENZOR_DTYPE_F32, 1, 4) \
    X(F16, TENZOR_DTYPE_F16, 1, 2) \
    X(BF16, TENZOR_DTYPE_BF16, 1, 2) \
    X(F64, TENZOR_DTYPE_F64, 1, 8) \
    X(I8, TENZOR_DTYPE_I8, 1, 1) \
    X(I16, TENZOR_DTYPE_I16, 1, 2) \
    X(I32, TENZOR_DTYPE_I32, 1, 4) \
    X(I64, TENZOR_DTYPE_I64, 1, 8) \
    X(U8, TENZOR_DTYPE_U8, 1, 1) \
    X(U16, TENZOR_DTYPE_U16, 1, 2) \
    X(U32, TENZOR_DTYPE_U32, 1, 4) \
    X(U64, TENZOR_DTYPE_U64, 1, 8) \
    X(BOOL, TENZOR_DTYPE_BOOL, 1, 1) \
    X(C64, TENZOR_DTYPE_C64, 1, 8) \
    X(F8_E4M3, TENZOR_DTYPE_F8_E4M3, 1, 1) \
    X(F8_E5M2, TENZOR_DTYPE_F8_E5M2, 1, 1) \
    X(F8_E8M0, TENZOR_DTYPE_F8_E8M0, 1, 1) \
    X(F8_E4M3FNUZ, TENZOR_DTYPE_F8_E4M3FNUZ, 1, 1) \
    X(F8_E5M2FNUZ, TENZOR_DTYPE_F8_E5M2FNUZ, 1, 1) \
    X(F4, TENZOR_DTYPE_F4, 2, 1) \
    X(F6_E2M3, TENZOR_DTYPE_F6_E2M3, 4, 3) \
    X(F6_E3M2, TENZOR_DTYPE_F6_E3M2, 4, 3) \
    X(Q4_0, TENZOR_DTYPE_Q4_0, 32, 18) \
    X(Q4_1, TENZOR_DTYPE_Q4_1, 32, 20) \
    X(Q5_0, TENZOR_DTYPE_Q5_0, 32, 22) \
    X(Q5_1, TENZOR_DTYPE_Q5_1, 32, 24) \
    X(Q8_0, TENZOR_DTYPE_Q8_0, 32, 34) \
    X(Q8_1, TENZOR_DTYPE_Q8_1, 32, 40) \
    X(Q2_K, TENZOR_DTYPE_Q2_K, 256, 84) \
    X(Q3_K, TENZOR_DTYPE_Q3_K, 256, 110) \
    X(Q4_K, TENZOR_DTYPE_Q4_K, 256, 144) \
    X(Q5_K, TENZOR_DTYPE_Q5_K, 256, 176) \
    X(Q6_K, TENZOR_DTYPE_Q6_K, 256, 210) \
    X(Q8_K, TENZOR_DTYPE_Q8_K, 256, 292) \
    X(IQ2_XXS, TENZOR_DTYPE_IQ2_XXS, 256, 66) \
    X(IQ2_XS, TENZOR_DTYPE_IQ2_XS, 256, 74) \
    X(IQ3_XXS, TENZOR_DTYPE_IQ3_XXS, 256, 98) \
    X(IQ1_S, TENZOR_DTYPE_IQ1_S, 256, 50) \
    X(IQ4_NL, TENZOR_DTYPE_IQ4_NL, 32, 18) \
    X(IQ3_S, TENZOR_DTYPE_IQ3_S, 256, 110) \
    X(IQ2_S, TENZOR_DTYPE_IQ2_S, 256, 82) \
    X(IQ4_XS, TENZOR_DTYPE_IQ4_XS, 256, 136) \
    X(IQ1_M, TENZOR_DTYPE_IQ1_M, 256, 56) \
    X(TQ1_0, TENZOR_DTYPE_TQ1_0, 256, 54) \
    X(TQ2_0, TENZOR_DTYPE_TQ2_0, 256, 66) \
    X(MXFP4, TENZOR_DTYPE_MXFP4, 32, 17) \
    X(NVFP4, TENZOR_DTYPE_NVFP4, 64, 36) \
    X(Q1_0, TENZOR_DTYPE_Q1_0, 128, 18)

#endif /* TENZOR_FORMAT_H */
