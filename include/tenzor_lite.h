/*
 * tenzor_lite.h: a single-header, freestanding C99 reader of .tenzor files
 * (version 2) for targets that cannot link the Rust library: firmware with
 * the model in execute-in-place flash, no allocator, big-endian parts.
 *
 *   #define TENZOR_LITE_IMPLEMENTATION   // in exactly one .c file
 *   #include "tenzor_lite.h"
 *
 * It works over a caller's buffer (a flash address, an mmap, a file read
 * into memory) and never allocates, never calls stdio, never recurses.
 * Fields are read with memcpy and decoded as little-endian, so it is correct
 * on big-endian hosts and on unaligned buffers. Every bounds and overflow
 * check is a run-time check returning a status (never an assert); the
 * arithmetic is checked 64-bit arithmetic, also where size_t is 32 bits.
 * A malformed buffer never produces a read or a view outside the buffer.
 *
 * Configuration (define before including the implementation):
 *   TZL_NO_LIBC   use the built-in memcpy/memcmp/memset loops instead of
 *                 <string.h> (for -ffreestanding -nostdlib builds).
 *   TZL_NO_XXH3   leave out the xxh3-64 code (about 1.5 KB of code): full
 *                 validation then skips the header checksum and
 *                 tzl_verify_tensor returns TZL_ERR_UNSUPPORTED.
 *   TZL_DEF       storage class of the functions (default: extern).
 *
 * Validation levels (tzl_open):
 *   TZL_FULL  everything the Rust library checks at open (FORMAT.md), except
 *             parsing the metadata as JSON, plus the name hashes (which the
 *             library leaves to verify, the header checksum covering them): magic, version, flags, reserved
 *             fields, alignment, region offsets, the header checksum (xxh3-64),
 *             metadata is UTF-8 and starts with '{' (or is blank), zero
 *             padding, and for every entry: name in the name table, NUL
 *             terminated, UTF-8, non-empty, hash matching, strict
 *             (hash, name) order (so names are unique), names back to back,
 *             known dtype, rank <= 8, zero flags and unused dims, byte size
 *             matching dtype x shape, the order table a permutation, tensors
 *             back to back in position order at their alignment, and no
 *             trailing bytes. Time O(index + names); tensor data is not read.
 *   TZL_LAZY  O(1) at open: header fields and region bounds only (no
 *             checksum). Each entry is checked when an accessor returns it:
 *             name in bounds, NUL terminated, UTF-8, hash matching; dtype,
 *             rank, flags, shape, byte size; data inside the buffer and
 *             aligned. Order, uniqueness, canonical layout and checksums are
 *             left to tzl_validate (the full check of an open file) and
 *             tzl_verify_tensor. A lazily opened file never yields a view
 *             outside the buffer; a lookup in a file whose index is not
 *             sorted may miss a tensor that is there.
 *
 * A canonical file followed by the leftovers of a first append that never
 * committed (zeros up to the next page, then at least two pages) opens as
 * the canonical file, as FORMAT.md requires; the leftovers are ignored.
 *
 * Files left in the middle of an in-place edit (the edit mark, header flag
 * FLAG_EDITING 0x2) open as FORMAT.md requires: a stale header checksum is
 * tolerated, every other rule applies, tzl_edit_interrupted says so, and
 * tensors whose data changed fail tzl_verify_tensor until `tenzor rehash`.
 *
 * Not supported (refused with TZL_ERR_UNSUPPORTED, never misread): legacy
 * version-1 files (convert them with `tenzor convert`), the appendable
 * layout (header flag FLAG_APPENDABLE 0x1; `tenzor compact` makes such a
 * file canonical), other required header flags, unknown versions and
 * unknown dtype codes.
 *
 * Views point into the caller's buffer and stay valid while it does; nothing
 * needs closing. A tzl_file is a small value (no pointers but the buffer's)
 * and may be copied and shared between threads.
 */
#ifndef TENZOR_LITE_H
#define TENZOR_LITE_H

#include <stddef.h>
#include <stdint.h>

#include "tenzor_format.h"

#ifndef TZL_DEF
#define TZL_DEF extern
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Statuses. The numbers are those of the library's tenzor_status. */
typedef enum tzl_status {
    TZL_OK = 0,
    TZL_ERR_NULL_ARGUMENT = 1,
    TZL_ERR_INVALID_ARGUMENT = 2,
    TZL_ERR_BAD_FORMAT = 4,
    TZL_ERR_CHECKSUM = 5,
    TZL_ERR_NOT_FOUND = 6,
    TZL_ERR_DUPLICATE_NAME = 7,
    TZL_ERR_UNSUPPORTED = 8,
    TZL_ERR_OUT_OF_RANGE = 12
} tzl_status;

/** How much tzl_open checks (see the top of this file). */
typedef enum tzl_level { TZL_FULL = 0, TZL_LAZY = 1 } tzl_level;

/** No entry: the value of tzl_diag.entry when a problem is not an entry's. */
#define TZL_NO_ENTRY UINT32_C(0xffffffff)

/** Why a call failed: a static message and the index slot of the entry
 *  concerned (TZL_NO_ENTRY if none). */
typedef struct tzl_diag {
    const char *message;
    uint32_t entry;
} tzl_diag;

/** An opened buffer: offsets of its regions (all inside the buffer). */
typedef struct tzl_file {
    const uint8_t *buf;
    size_t len;
    uint32_t count;
    uint32_t flags;
    uint32_t alignment;
    uint32_t level;
    size_t metadata_size;
    size_t index_offset;
    size_t order_offset;
    size_t names_offset;
    size_t names_size;
    size_t data_offset;
} tzl_file;

/** A tensor: every pointer points into the caller's buffer. */
typedef struct tzl_tensor {
    const char *name;          /* NUL-terminated in the buffer, UTF-8 */
    uint32_t name_len;         /* bytes, without the NUL */
    uint32_t index;            /* slot in the (hash-sorted) index */
    uint32_t position;         /* insertion order */
    uint16_t dtype;            /* TENZOR_DTYPE_* */
    uint8_t ndim;              /* 0..8 */
    uint64_t shape[8];         /* dims past ndim are 0 */
    uint64_t numel;            /* product of the dims (1 for rank 0) */
    const void *data;          /* aligned to the file's alignment relative to the buffer start */
    size_t size;               /* bytes of data */
    uint64_t name_hash;        /* FNV-1a 64 of the name */
    uint64_t checksum;         /* stored xxh3-64 of the data */
} tzl_tensor;

/** Opens `buf[0..len)` as a .tenzor v2 file, checked at `level`. On success
 *  `*out` describes it (and borrows `buf`); on failure `*out` is unchanged
 *  and `*diag` (optional, may be NULL) says why. */
TZL_DEF tzl_status tzl_open(const void *buf, size_t len, tzl_level level, tzl_file *out,
                            tzl_diag *diag);
/** Runs the full structural check on an open file (what TZL_FULL adds to
 *  TZL_LAZY). */
TZL_DEF tzl_status tzl_validate(const tzl_file *f, tzl_diag *diag);
/** Number of tensors. */
TZL_DEF uint32_t tzl_count(const tzl_file *f);
/** 1 when the file carries the edit mark (an in-place edit was interrupted:
 *  tensor checksums may be stale), else 0. */
TZL_DEF int tzl_edit_interrupted(const tzl_file *f);
/** The tensor named `name` (`name_len` bytes, no NUL needed). */
TZL_DEF tzl_status tzl_find(const tzl_file *f, const char *name, size_t name_len, tzl_tensor *out);
/** The first tensor (in index order) whose name hashes to `hash`. */
TZL_DEF tzl_status tzl_find_hash(const tzl_file *f, uint64_t hash, tzl_tensor *out);
/** The tensor at insertion `position` (0..count): iterate with this. */
TZL_DEF tzl_status tzl_at_position(const tzl_file *f, uint32_t position, tzl_tensor *out);
/** The tensor in index slot `index` (0..count, hash order). */
TZL_DEF tzl_status tzl_at_index(const tzl_file *f, uint32_t index, tzl_tensor *out);
/** The metadata JSON text (not NUL-terminated; length 0 means `{}`). */
TZL_DEF tzl_status tzl_metadata(const tzl_file *f, const char **json, size_t *len);
/** Recomputes the xxh3-64 of a tensor's data and compares it with the
 *  stored checksum: TZL_OK or TZL_ERR_CHECKSUM. */
TZL_DEF tzl_status tzl_verify_tensor(const tzl_tensor *t);
/** Checks every tensor's data in position order, as the library's
 *  tenzor_verify does: the padding before it is zero and its xxh3-64
 *  matches. Reads all the data. */
TZL_DEF tzl_status tzl_verify(const tzl_file *f, tzl_diag *diag);
/** 64-bit FNV-1a, the name hash of the format. */
TZL_DEF uint64_t tzl_hash_name(const char *name, size_t len);
/** xxh3-64 (seed 0) of `len` bytes (absent with TZL_NO_XXH3). */
TZL_DEF uint64_t tzl_xxh3_64(const void *data, size_t len);
/** A short English name of a status. */
TZL_DEF const char *tzl_status_str(tzl_status s);

#ifdef __cplusplus
}
#endif

#endif /* TENZOR_LITE_H */

/* ======================================================================= */
#ifdef TENZOR_LITE_IMPLEMENTATION
#ifndef TENZOR_LITE_IMPLEMENTED
#define TENZOR_LITE_IMPLEMENTED

#ifdef TZL_NO_LIBC
static void tzl__memcpy(void *d, const void *s, size_t n) {
    unsigned char *dp = (unsigned char *)d;
    const unsigned char *sp = (const unsigned char *)s;
    while (n--) *dp++ = *sp++;
}
static int tzl__memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *ap = (const unsigned char *)a;
    const unsigned char *bp = (const unsigned char *)b;
    for (; n; n--, ap++, bp++) {
        if (*ap != *bp) return *ap < *bp ? -1 : 1;
    }
    return 0;
}
static void tzl__memset(void *d, int c, size_t n) {
    unsigned char *dp = (unsigned char *)d;
    while (n--) *dp++ = (unsigned char)c;
}
#define TZL_MEMCPY tzl__memcpy
#define TZL_MEMCMP tzl__memcmp
#define TZL_MEMSET tzl__memset
#else
#include <string.h>
#define TZL_MEMCPY memcpy
#define TZL_MEMCMP memcmp
#define TZL_MEMSET memset
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- little-endian loads (memcpy: any alignment, any host order) ------ */

static uint16_t tzl__u16(const uint8_t *p) {
    uint8_t b[2];
    TZL_MEMCPY(b, p, 2);
    return (uint16_t)(b[0] | (uint16_t)(b[1] << 8));
}
static uint32_t tzl__u32(const uint8_t *p) {
    uint8_t b[4];
    TZL_MEMCPY(b, p, 4);
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}
static uint64_t tzl__u64(const uint8_t *p) {
    return (uint64_t)tzl__u32(p) | ((uint64_t)tzl__u32(p + 4) << 32);
}

/* ---- checked arithmetic ----------------------------------------------- */

/* *r = a + b; 0 on overflow. */
static int tzl__add(uint64_t a, uint64_t b, uint64_t *r) {
    if (a > UINT64_MAX - b) return 0;
    *r = a + b;
    return 1;
}
static int tzl__mul(uint64_t a, uint64_t b, uint64_t *r) {
    if (a != 0 && b > UINT64_MAX / a) return 0;
    *r = a * b;
    return 1;
}
/* Rounds up to a multiple of the power of two `a`; 0 on overflow. */
static int tzl__align_up(uint64_t v, uint64_t a, uint64_t *r) {
    if (!tzl__add(v, a - 1, r)) return 0;
    *r &= ~(a - 1);
    return 1;
}

static tzl_status tzl__fail(tzl_diag *diag, tzl_status s, const char *msg, uint32_t entry) {
    if (diag) {
        diag->message = msg;
        diag->entry = entry;
    }
    return s;
}

/* ---- xxh3-64 -----------------------------------------------------------
 * Hand-written (the reference xxhash.h is 7,000 lines with SIMD paths and
 * allocation-free but libc-using streaming state): the scalar seed-0 path
 * only. Reads go through tzl__src so the header checksum can be computed
 * over the read-only buffer with the checksum field and the flag bits
 * 0x3 read as zero, without copying the region. */
#ifndef TZL_NO_XXH3

typedef struct tzl__src {
    const uint8_t *p;
    uint64_t len;
    uint8_t head[64]; /* patched copy of bytes [0, head_len) */
    uint64_t head_len;
} tzl__src;

static void tzl__load(const tzl__src *s, uint64_t off, uint8_t *dst, unsigned n) {
    unsigned i;
    if (off >= s->head_len) {
        TZL_MEMCPY(dst, s->p + off, n);
        return;
    }
    for (i = 0; i < n; i++) {
        uint64_t o = off + i;
        dst[i] = o < s->head_len ? s->head[o] : s->p[o];
    }
}
static uint64_t tzl__r64(const tzl__src *s, uint64_t off) {
    uint8_t b[8];
    tzl__load(s, off, b, 8);
    return tzl__u64(b);
}
static uint32_t tzl__r32(const tzl__src *s, uint64_t off) {
    uint8_t b[4];
    tzl__load(s, off, b, 4);
    return tzl__u32(b);
}
static uint8_t tzl__r8(const tzl__src *s, uint64_t off) {
    uint8_t b;
    tzl__load(s, off, &b, 1);
    return b;
}

static const uint8_t tzl__secret[192] = {
    0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
    0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
    0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
    0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
    0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
    0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
    0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
    0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
    0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
    0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
    0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
    0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
};

#define TZL__P32_1 UINT64_C(0x9E3779B1)
#define TZL__P32_2 UINT64_C(0x85EBCA77)
#define TZL__P32_3 UINT64_C(0xC2B2AE3D)
#define TZL__P64_1 UINT64_C(0x9E3779B185EBCA87)
#define TZL__P64_2 UINT64_C(0xC2B2AE3D27D4EB4F)
#define TZL__P64_3 UINT64_C(0x165667B19E3779F9)
#define TZL__P64_4 UINT64_C(0x85EBCA77C2B2AE63)
#define TZL__P64_5 UINT64_C(0x27D4EB2F165667C5)
#define TZL__PMX1 UINT64_C(0x165667919E3779F9)
#define TZL__PMX2 UINT64_C(0x9FB21C651E98DF25)

static uint64_t tzl__sec(unsigned off) { return tzl__u64(tzl__secret + off); }
static uint64_t tzl__rotl(uint64_t x, unsigned r) { return (x << r) | (x >> (64u - r)); }
static uint64_t tzl__swap64(uint64_t x) {
    uint64_t r = 0;
    unsigned i;
    for (i = 0; i < 8; i++) r = (r << 8) | ((x >> (8u * i)) & 0xffu);
    return r;
}
/* Low 64 bits xor high 64 bits of the 128-bit product (portable). */
static uint64_t tzl__mul_fold(uint64_t a, uint64_t b) {
    uint64_t lo_lo = (a & 0xffffffffu) * (b & 0xffffffffu);
    uint64_t hi_lo = (a >> 32) * (b & 0xffffffffu);
    uint64_t lo_hi = (a & 0xffffffffu) * (b >> 32);
    uint64_t hi_hi = (a >> 32) * (b >> 32);
    uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xffffffffu) + lo_hi;
    uint64_t upper = (hi_lo >> 32) + (cross >> 32) + hi_hi;
    uint64_t lower = (cross << 32) | (lo_lo & 0xffffffffu);
    return lower ^ upper;
}
static uint64_t tzl__avalanche(uint64_t h) {
    h ^= h >> 37;
    h *= TZL__PMX1;
    return h ^ (h >> 32);
}
static uint64_t tzl__xxh64_avalanche(uint64_t h) {
    h ^= h >> 33;
    h *= TZL__P64_2;
    h ^= h >> 29;
    h *= TZL__P64_3;
    return h ^ (h >> 32);
}
static uint64_t tzl__mix16(const tzl__src *s, uint64_t off, unsigned sec) {
    return tzl__mul_fold(tzl__r64(s, off) ^ tzl__sec(sec), tzl__r64(s, off + 8) ^ tzl__sec(sec + 8));
}

static uint64_t tzl__xxh3_short(const tzl__src *s) {
    uint64_t len = s->len;
    if (len > 8) {
        uint64_t lo = tzl__r64(s, 0) ^ (tzl__sec(24) ^ tzl__sec(32));
        uint64_t hi = tzl__r64(s, len - 8) ^ (tzl__sec(40) ^ tzl__sec(48));
        return tzl__avalanche(len + tzl__swap64(lo) + hi + tzl__mul_fold(lo, hi));
    }
    if (len >= 4) {
        uint64_t in64 = (uint64_t)tzl__r32(s, len - 4) + ((uint64_t)tzl__r32(s, 0) << 32);
        uint64_t h = in64 ^ (tzl__sec(8) ^ tzl__sec(16));
        h ^= tzl__rotl(h, 49) ^ tzl__rotl(h, 24);
        h *= TZL__PMX2;
        h ^= (h >> 35) + len;
        h *= TZL__PMX2;
        return h ^ (h >> 28);
    }
    if (len > 0) {
        uint32_t c = ((uint32_t)tzl__r8(s, 0) << 16) | ((uint32_t)tzl__r8(s, len >> 1) << 24) |
                     (uint32_t)tzl__r8(s, len - 1) | ((uint32_t)len << 8);
        uint64_t flip = (uint64_t)(tzl__u32(tzl__secret) ^ tzl__u32(tzl__secret + 4));
        return tzl__xxh64_avalanche((uint64_t)c ^ flip);
    }
    return tzl__xxh64_avalanche(tzl__sec(56) ^ tzl__sec(64));
}

static uint64_t tzl__xxh3_mid(const tzl__src *s) {
    uint64_t len = s->len, acc = len * TZL__P64_1;
    unsigned i, rounds;
    if (len <= 128) {
        /* Pairs of 16-byte blocks from both ends, outermost last. */
        unsigned pairs = (unsigned)((len - 1) / 32), k;
        for (k = pairs + 1; k-- > 0;) {
            acc += tzl__mix16(s, 16u * k, 32u * k);
            acc += tzl__mix16(s, len - 16u * (k + 1), 32u * k + 16u);
        }
        return tzl__avalanche(acc);
    }
    rounds = (unsigned)(len / 16);
    for (i = 0; i < 8; i++) acc += tzl__mix16(s, 16u * i, 16u * i);
    acc = tzl__avalanche(acc);
    for (i = 8; i < rounds; i++) acc += tzl__mix16(s, 16u * i, 16u * (i - 8) + 3u);
    acc += tzl__mix16(s, len - 16, 136u - 17u);
    return tzl__avalanche(acc);
}

static void tzl__accumulate(uint64_t acc[8], const tzl__src *s, uint64_t off, unsigned sec) {
    unsigned i;
    for (i = 0; i < 8; i++) {
        uint64_t v = tzl__r64(s, off + 8u * i);
        uint64_t k = v ^ tzl__sec(sec + 8u * i);
        acc[i ^ 1u] += v;
        acc[i] += (k & 0xffffffffu) * (k >> 32);
    }
}

static uint64_t tzl__xxh3_long(const tzl__src *s) {
    uint64_t acc[8];
    uint64_t len = s->len, blocks = (len - 1) / 1024, b, off;
    unsigned i, n, stripes;
    acc[0] = TZL__P32_3; acc[1] = TZL__P64_1; acc[2] = TZL__P64_2; acc[3] = TZL__P64_3;
    acc[4] = TZL__P64_4; acc[5] = TZL__P32_2; acc[6] = TZL__P64_5; acc[7] = TZL__P32_1;
    for (b = 0; b < blocks; b++) {
        for (n = 0; n < 16; n++) tzl__accumulate(acc, s, b * 1024u + 64u * n, 8u * n);
        for (i = 0; i < 8; i++) {
            uint64_t a = acc[i];
            a ^= a >> 47;
            a ^= tzl__sec(128u + 8u * i);
            acc[i] = a * TZL__P32_1;
        }
    }
    off = blocks * 1024u;
    stripes = (unsigned)(((len - 1) - off) / 64);
    for (n = 0; n < stripes; n++) tzl__accumulate(acc, s, off + 64u * n, 8u * n);
    tzl__accumulate(acc, s, len - 64, 192u - 64u - 7u);
    {
        uint64_t r = len * TZL__P64_1;
        for (i = 0; i < 4; i++)
            r += tzl__mul_fold(acc[2 * i] ^ tzl__sec(11u + 16u * i), acc[2 * i + 1] ^ tzl__sec(19u + 16u * i));
        return tzl__avalanche(r);
    }
}

static uint64_t tzl__xxh3(const tzl__src *s) {
    if (s->len <= 16) return tzl__xxh3_short(s);
    if (s->len <= 240) return tzl__xxh3_mid(s);
    return tzl__xxh3_long(s);
}

TZL_DEF uint64_t tzl_xxh3_64(const void *data, size_t len) {
    tzl__src s;
    s.p = (const uint8_t *)data;
    s.len = (uint64_t)len;
    s.head_len = 0;
    return tzl__xxh3(&s);
}

/* The header checksum: xxh3-64 of [0, data_offset) with the checksum field
 * and the flag bits outside the checksum read as zero. */
static uint64_t tzl__header_checksum(const uint8_t *buf, size_t region) {
    tzl__src s;
    uint32_t flags;
    s.p = buf;
    s.len = (uint64_t)region;
    s.head_len = TENZOR_FILE_HEADER_SIZE;
    TZL_MEMCPY(s.head, buf, TENZOR_FILE_HEADER_SIZE);
    flags = tzl__u32(buf + TENZOR_FILE_HDR_FLAGS) & ~(uint32_t)TENZOR_FILE_FLAGS_OUTSIDE_CHECKSUM;
    s.head[TENZOR_FILE_HDR_FLAGS] = (uint8_t)(flags & 0xffu);
    s.head[TENZOR_FILE_HDR_FLAGS + 1] = (uint8_t)((flags >> 8) & 0xffu);
    s.head[TENZOR_FILE_HDR_FLAGS + 2] = (uint8_t)((flags >> 16) & 0xffu);
    s.head[TENZOR_FILE_HDR_FLAGS + 3] = (uint8_t)(flags >> 24);
    TZL_MEMSET(s.head + TENZOR_FILE_HDR_CHECKSUM, 0, 8);
    return tzl__xxh3(&s);
}
#endif /* TZL_NO_XXH3 */

/* ---- small rules -------------------------------------------------------- */

TZL_DEF uint64_t tzl_hash_name(const char *name, size_t len) {
    uint64_t h = TENZOR_FILE_FNV_OFFSET_BASIS;
    size_t i;
    for (i = 0; i < len; i++) {
        h ^= (uint64_t)(unsigned char)name[i];
        h *= TENZOR_FILE_FNV_PRIME;
    }
    return h;
}

/* Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF), the
 * rule of Rust's str::from_utf8. */
static int tzl__utf8(const uint8_t *p, uint64_t n) {
    uint64_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        unsigned extra;
        uint8_t lo = 0x80, hi = 0xbf;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xc2 && c <= 0xdf) extra = 1;
        else if (c >= 0xe0 && c <= 0xef) {
            extra = 2;
            if (c == 0xe0) lo = 0xa0;
            if (c == 0xed) hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            extra = 3;
            if (c == 0xf0) lo = 0x90;
            if (c == 0xf4) hi = 0x8f;
        } else return 0;
        if (n - i <= extra) return 0;
        if (p[i + 1] < lo || p[i + 1] > hi) return 0;
        if (extra >= 2 && (p[i + 2] & 0xc0) != 0x80) return 0;
        if (extra == 3 && (p[i + 3] & 0xc0) != 0x80) return 0;
        i += extra + 1u;
    }
    return 1;
}

/* Block size of a dtype code; 0 when the code is unknown. */
static int tzl__dtype_block(uint16_t code, uint64_t *elems, uint64_t *bytes) {
    switch (code) {
#define TZL__X(name, c, e, b) \
    case c: *elems = e; *bytes = b; return 1;
        TENZOR_DTYPE_TABLE(TZL__X)
#undef TZL__X
    default: return 0;
    }
}

static int tzl__is_ascii_space(uint8_t c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0x0c;
}

/* ---- open ---------------------------------------------------------------- */

/* The O(1) header rules, in the order the Rust reader applies them. */
static tzl_status tzl__header(const uint8_t *b, size_t len, tzl_file *f, tzl_diag *diag) {
    uint64_t count, index_offset, data_offset, meta, align, names, names_end, data_align, x;
    uint32_t version, flags;
    if (len < 8 || TZL_MEMCMP(b, TENZOR_FILE_MAGIC, 8) != 0)
        return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "not a tenzor file (bad magic bytes)", TZL_NO_ENTRY);
    if (len < TENZOR_FILE_HEADER_SIZE)
        return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "file is truncated: shorter than the 64-byte header", TZL_NO_ENTRY);
    version = tzl__u32(b + TENZOR_FILE_HDR_VERSION);
    if (version == TENZOR_FILE_VERSION_LEGACY)
        return tzl__fail(diag, TZL_ERR_UNSUPPORTED, "legacy version-1 file: convert it with `tenzor convert`", TZL_NO_ENTRY);
    if (version != TENZOR_FILE_VERSION)
        return tzl__fail(diag, TZL_ERR_UNSUPPORTED, "unsupported format version", TZL_NO_ENTRY);
    flags = tzl__u32(b + TENZOR_FILE_HDR_FLAGS);
    if (flags & TENZOR_FILE_REQUIRED_FLAGS_MASK & ~(uint32_t)TENZOR_FILE_FLAG_EDITING)
        return tzl__fail(diag, TZL_ERR_UNSUPPORTED, "required header flags unknown to this reader (the appendable layout is not supported: `tenzor compact` the file)", TZL_NO_ENTRY);
    if (tzl__u32(b + TENZOR_FILE_HDR_ZERO) != 0 || tzl__u32(b + TENZOR_FILE_HDR_RESERVED) != 0)
        return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "reserved header bytes are not zero", TZL_NO_ENTRY);
    count = tzl__u32(b + TENZOR_FILE_HDR_TENSOR_COUNT);
    index_offset = tzl__u64(b + TENZOR_FILE_HDR_INDEX_OFFSET);
    data_offset = tzl__u64(b + TENZOR_FILE_HDR_DATA_OFFSET);
    meta = tzl__u32(b + TENZOR_FILE_HDR_METADATA_SIZE);
    align = tzl__u32(b + TENZOR_FILE_HDR_ALIGNMENT);
    names = tzl__u32(b + TENZOR_FILE_HDR_NAMES_SIZE);
    if (align < TENZOR_FILE_MIN_ALIGNMENT || align > TENZOR_FILE_MAX_ALIGNMENT || (align & (align - 1)) != 0)
        return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "alignment is not a power of two between 64 and 65536", TZL_NO_ENTRY);
    /* Every term below is < 2^41: no overflow is possible, checked anyway. */
    if (!tzl__align_up(TENZOR_FILE_HEADER_SIZE + meta, TENZOR_FILE_PAGE, &x) || x != index_offset)
        return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "index offset is not the metadata end rounded up to 4096", TZL_NO_ENTRY);
    data_align = align > TENZOR_FILE_PAGE ? align : TENZOR_FILE_PAGE;
    names_end = index_offset + count * (TENZOR_FILE_ENTRY_SIZE + 4u) + names;
    if (!tzl__align_up(names_end, data_align, &x) || data_offset < x || data_offset % data_align != 0)
        return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "data offset is before the end of the names or not aligned", TZL_NO_ENTRY);
    if (data_offset > (uint64_t)len)
        return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "file is truncated: the data section starts past its end", TZL_NO_ENTRY);
    /* data_offset <= len: every region offset fits size_t. */
    f->buf = b;
    f->len = len;
    f->count = (uint32_t)count;
    f->flags = flags;
    f->alignment = (uint32_t)align;
    f->metadata_size = (size_t)meta;
    f->index_offset = (size_t)index_offset;
    f->order_offset = (size_t)(index_offset + count * TENZOR_FILE_ENTRY_SIZE);
    f->names_offset = (size_t)(index_offset + count * (TENZOR_FILE_ENTRY_SIZE + 4u));
    f->names_size = (size_t)names;
    f->data_offset = (size_t)data_offset;
    return TZL_OK;
}

static const uint8_t *tzl__entry_bytes(const tzl_file *f, uint32_t i) {
    return f->buf + f->index_offset + (size_t)i * TENZOR_FILE_ENTRY_SIZE;
}

/* Name rules of entry i: in the table, NUL-terminated, UTF-8, non-empty,
 * no NUL inside, hash matching. Fills name, name_len, name_hash. */
static tzl_status tzl__entry_name(const tzl_file *f, uint32_t i, tzl_tensor *t, tzl_diag *diag) {
    const uint8_t *e = tzl__entry_bytes(f, i);
    const uint8_t *names = f->buf + f->names_offset;
    uint64_t off = tzl__u32(e + TENZOR_FILE_ENT_NAME_OFFSET);
    uint64_t n = tzl__u32(e + TENZOR_FILE_ENT_NAME_LEN);
    uint64_t k;
    if (off + n >= (uint64_t)f->names_size)
        return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "name is outside the name table", i);
    if (names[off + n] != 0)
        return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "name is not followed by a NUL byte", i);
    if (!tzl__utf8(names + off, n))
        return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "name is not valid UTF-8", i);
    if (n == 0) return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "name is empty", i);
    for (k = 0; k < n; k++) {
        if (names[off + k] == 0) return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "name contains a NUL byte", i);
    }
    t->name = (const char *)(names + off);
    t->name_len = (uint32_t)n;
    t->name_hash = tzl__u64(e + TENZOR_FILE_ENT_NAME_HASH);
    if (t->name_hash != tzl_hash_name(t->name, (size_t)n))
        return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "name hash does not match the name", i);
    return TZL_OK;
}

/* dtype, rank, flags, shape and byte-size rules of entry i. */
static tzl_status tzl__entry_shape(const tzl_file *f, uint32_t i, tzl_tensor *t, tzl_diag *diag) {
    const uint8_t *e = tzl__entry_bytes(f, i);
    uint64_t elems, bytes, numel = 1, size;
    unsigned d;
    t->dtype = tzl__u16(e + TENZOR_FILE_ENT_DTYPE);
    if (!tzl__dtype_block(t->dtype, &elems, &bytes))
        return tzl__fail(diag, TZL_ERR_UNSUPPORTED, "unknown dtype code", i);
    t->ndim = e[TENZOR_FILE_ENT_NDIM];
    if (t->ndim > TENZOR_MAX_DIMS) return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "rank exceeds the maximum of 8", i);
    if (e[TENZOR_FILE_ENT_FLAGS] != 0) return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "entry flags are not zero", i);
    for (d = 0; d < TENZOR_MAX_DIMS; d++) t->shape[d] = tzl__u64(e + TENZOR_FILE_ENT_SHAPE + 8u * d);
    for (d = t->ndim; d < TENZOR_MAX_DIMS; d++) {
        if (t->shape[d] != 0) return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "unused shape dimensions are not zero", i);
    }
    for (d = 0; d < t->ndim; d++) {
        if (!tzl__mul(numel, t->shape[d], &numel))
            return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "shape overflows", i);
    }
    if (numel % elems != 0 || !tzl__mul(numel / elems, bytes, &size))
        return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "shape overflows or is not whole dtype blocks", i);
    t->numel = numel;
    if (size != tzl__u64(e + TENZOR_FILE_ENT_DATA_SIZE))
        return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "byte size does not match dtype and shape", i);
    return TZL_OK;
}

/* Data range of entry i (inside the buffer, aligned), position in range,
 * checksum: the rest of the view. */
static tzl_status tzl__entry_data(const tzl_file *f, uint32_t i, tzl_tensor *t, tzl_diag *diag) {
    const uint8_t *e = tzl__entry_bytes(f, i);
    uint64_t off = tzl__u64(e + TENZOR_FILE_ENT_DATA_OFFSET);
    uint64_t size = tzl__u64(e + TENZOR_FILE_ENT_DATA_SIZE);
    uint64_t start, end;
    if (!tzl__add((uint64_t)f->data_offset, off, &start) || !tzl__add(start, size, &end) ||
        end > (uint64_t)f->len)
        return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "data lies beyond the end of the file (file truncated?)", i);
    if (off % f->alignment != 0)
        return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "data offset is not aligned", i);
    t->position = tzl__u32(e + TENZOR_FILE_ENT_POSITION);
    if (t->position >= f->count)
        return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "position is out of range", i);
    t->data = f->buf + (size_t)start;
    t->size = (size_t)size;
    t->checksum = tzl__u64(e + TENZOR_FILE_ENT_CHECKSUM);
    t->index = i;
    return TZL_OK;
}

/* Every per-entry rule (lazy validation): the view of slot i. */
static tzl_status tzl__view(const tzl_file *f, uint32_t i, tzl_tensor *out) {
    tzl_tensor t;
    tzl_status s;
    if (i >= f->count) return TZL_ERR_OUT_OF_RANGE;
    TZL_MEMSET(&t, 0, sizeof t);
    if ((s = tzl__entry_name(f, i, &t, NULL)) != TZL_OK) return s;
    if ((s = tzl__entry_shape(f, i, &t, NULL)) != TZL_OK) return s;
    if ((s = tzl__entry_data(f, i, &t, NULL)) != TZL_OK) return s;
    *out = t;
    return TZL_OK;
}

static int tzl__all_zero(const uint8_t *p, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        if (p[i] != 0) return 0;
    }
    return 1;
}

/* Metadata: blank, or UTF-8 starting with '{' (JSON is not parsed). */
static tzl_status tzl__metadata_rule(const tzl_file *f, tzl_diag *diag) {
    const uint8_t *m = f->buf + TENZOR_FILE_HEADER_SIZE;
    size_t i = 0, n = f->metadata_size;
    while (i < n && tzl__is_ascii_space(m[i])) i++;
    if (i == n) return TZL_OK;
    if (!tzl__utf8(m, n)) return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "metadata is not UTF-8", TZL_NO_ENTRY);
    if (m[i] != '{') return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "metadata is not a JSON object", TZL_NO_ENTRY);
    return TZL_OK;
}

/* (hash, name) strictly ascending from entry a to entry b. */
static tzl_status tzl__order_rule(const tzl_tensor *a, const tzl_tensor *b, tzl_diag *diag) {
    int c;
    uint32_t n;
    if (a->name_hash != b->name_hash) {
        if (a->name_hash < b->name_hash) return TZL_OK;
        return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "index is not sorted by (hash, name)", b->index);
    }
    n = a->name_len < b->name_len ? a->name_len : b->name_len;
    c = TZL_MEMCMP(a->name, b->name, n);
    if (c == 0 && a->name_len == b->name_len)
        return tzl__fail(diag, TZL_ERR_DUPLICATE_NAME, "name appears twice in the index", b->index);
    if (c < 0 || (c == 0 && a->name_len < b->name_len)) return TZL_OK;
    return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "index is not sorted by (hash, name)", b->index);
}

/* Pass 1, in index order: names, order, name table, shapes, order table. */
static tzl_status tzl__index_pass(const tzl_file *f, tzl_diag *diag) {
    tzl_tensor prev, cur;
    uint64_t cursor = 0;
    uint32_t i;
    tzl_status s;
    TZL_MEMSET(&prev, 0, sizeof prev);
    TZL_MEMSET(&cur, 0, sizeof cur);
    for (i = 0; i < f->count; i++) {
        const uint8_t *e = tzl__entry_bytes(f, i);
        uint32_t pos;
        cur.index = i;
        if ((s = tzl__entry_name(f, i, &cur, diag)) != TZL_OK) return s;
        if (i > 0 && (s = tzl__order_rule(&prev, &cur, diag)) != TZL_OK) return s;
        if (tzl__u32(e + TENZOR_FILE_ENT_NAME_OFFSET) != cursor)
            return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "name is not where the index order puts it in the name table", i);
        cursor += (uint64_t)cur.name_len + 1u;
        if ((s = tzl__entry_shape(f, i, &cur, diag)) != TZL_OK) return s;
        pos = tzl__u32(e + TENZOR_FILE_ENT_POSITION);
        /* order[pos] == i for every entry makes the order table a permutation. */
        if (pos >= f->count || tzl__u32(f->buf + f->order_offset + 4u * (size_t)pos) != i)
            return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "position disagrees with the order table", i);
        prev = cur;
    }
    if (cursor != (uint64_t)f->names_size)
        return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "name table holds bytes no tensor uses", TZL_NO_ENTRY);
    return TZL_OK;
}

/* Pass 2, in position order: tensors back to back at their alignment. */
static tzl_status tzl__data_pass(const tzl_file *f, uint64_t *data_end, tzl_diag *diag) {
    uint64_t end = 0, expected, abs_end;
    uint32_t p;
    for (p = 0; p < f->count; p++) {
        uint32_t i = tzl__u32(f->buf + f->order_offset + 4u * (size_t)p); /* a permutation: i < count */
        const uint8_t *e = tzl__entry_bytes(f, i);
        uint64_t off = tzl__u64(e + TENZOR_FILE_ENT_DATA_OFFSET);
        uint64_t size = tzl__u64(e + TENZOR_FILE_ENT_DATA_SIZE);
        if (!tzl__align_up(end, f->alignment, &expected))
            return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "data offset overflows", i);
        if (off != expected)
            return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "data offset is not where position order and alignment put it", i);
        if (!tzl__add(off, size, &end)) return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "data range overflows", i);
        if (!tzl__add((uint64_t)f->data_offset, end, &abs_end) || abs_end > (uint64_t)f->len)
            return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "data lies beyond the end of the file (file truncated?)", i);
    }
    *data_end = end;
    return TZL_OK;
}

/* The file ends with its last tensor (at `end`), or carries the leftovers
 * of a first append that never committed: zeros up to the root area
 * R = align_up(end, 4096), then at least its two pages; those are ignored
 * (FORMAT.md, "Appendable layout", Opening). */
static tzl_status tzl__tail_rule(const tzl_file *f, uint64_t end, tzl_diag *diag) {
    uint64_t r;
    if (end == (uint64_t)f->len) return TZL_OK;
    if (end < (uint64_t)f->len && tzl__align_up(end, TENZOR_FILE_PAGE, &r) &&
        r <= (uint64_t)f->len && (uint64_t)f->len - r >= 2u * TENZOR_FILE_PAGE &&
        tzl__all_zero(f->buf + (size_t)end, (size_t)(r - end)))
        return TZL_OK;
    return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "trailing bytes after the last tensor", TZL_NO_ENTRY);
}

TZL_DEF tzl_status tzl_validate(const tzl_file *f, tzl_diag *diag) {
    const uint8_t *b;
    uint64_t data_end = 0;
    size_t names_end;
    tzl_status s;
    if (!f) return tzl__fail(diag, TZL_ERR_NULL_ARGUMENT, "file is NULL", TZL_NO_ENTRY);
    b = f->buf;
#ifndef TZL_NO_XXH3
    /* With the edit mark set, a crash mid-flush may have left it stale. */
    if (tzl__header_checksum(b, f->data_offset) != tzl__u64(b + TENZOR_FILE_HDR_CHECKSUM) &&
        !(f->flags & TENZOR_FILE_FLAG_EDITING))
        return tzl__fail(diag, TZL_ERR_CHECKSUM, "header checksum mismatch: header, metadata or index is corrupted", TZL_NO_ENTRY);
#endif
    if ((s = tzl__metadata_rule(f, diag)) != TZL_OK) return s;
    if (!tzl__all_zero(b + TENZOR_FILE_HEADER_SIZE + f->metadata_size,
                       f->index_offset - TENZOR_FILE_HEADER_SIZE - f->metadata_size))
        return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "padding after the metadata is not zero", TZL_NO_ENTRY);
    names_end = f->names_offset + f->names_size;
    if (!tzl__all_zero(b + names_end, f->data_offset - names_end))
        return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "padding before the data section is not zero", TZL_NO_ENTRY);
    if ((s = tzl__index_pass(f, diag)) != TZL_OK) return s;
    if ((s = tzl__data_pass(f, &data_end, diag)) != TZL_OK) return s;
    return tzl__tail_rule(f, (uint64_t)f->data_offset + data_end, diag);
}

TZL_DEF tzl_status tzl_open(const void *buf, size_t len, tzl_level level, tzl_file *out, tzl_diag *diag) {
    tzl_file f;
    tzl_status s;
    if (!buf || !out) return tzl__fail(diag, TZL_ERR_NULL_ARGUMENT, "buffer or out-parameter is NULL", TZL_NO_ENTRY);
    if (level != TZL_FULL && level != TZL_LAZY)
        return tzl__fail(diag, TZL_ERR_INVALID_ARGUMENT, "unknown validation level", TZL_NO_ENTRY);
    TZL_MEMSET(&f, 0, sizeof f);
    if ((s = tzl__header((const uint8_t *)buf, len, &f, diag)) != TZL_OK) return s;
    f.level = (uint32_t)level;
    if (level == TZL_FULL && (s = tzl_validate(&f, diag)) != TZL_OK) return s;
    *out = f;
    return TZL_OK;
}

TZL_DEF uint32_t tzl_count(const tzl_file *f) { return f ? f->count : 0; }

TZL_DEF int tzl_edit_interrupted(const tzl_file *f) {
    return f && (f->flags & TENZOR_FILE_FLAG_EDITING) ? 1 : 0;
}

TZL_DEF tzl_status tzl_at_index(const tzl_file *f, uint32_t index, tzl_tensor *out) {
    if (!f || !out) return TZL_ERR_NULL_ARGUMENT;
    return tzl__view(f, index, out);
}

TZL_DEF tzl_status tzl_at_position(const tzl_file *f, uint32_t position, tzl_tensor *out) {
    tzl_tensor t;
    tzl_status s;
    uint32_t i;
    if (!f || !out) return TZL_ERR_NULL_ARGUMENT;
    if (position >= f->count) return TZL_ERR_OUT_OF_RANGE;
    i = tzl__u32(f->buf + f->order_offset + 4u * (size_t)position);
    if ((s = tzl__view(f, i, &t)) != TZL_OK) return s == TZL_ERR_OUT_OF_RANGE ? TZL_ERR_BAD_FORMAT : s;
    if (t.position != position) return TZL_ERR_BAD_FORMAT; /* lazy: order table disagrees */
    *out = t;
    return TZL_OK;
}

/* First slot whose stored hash is >= hash (binary search, no recursion). */
static uint32_t tzl__lower_bound(const tzl_file *f, uint64_t hash) {
    uint32_t lo = 0, hi = f->count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (tzl__u64(tzl__entry_bytes(f, mid) + TENZOR_FILE_ENT_NAME_HASH) < hash) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

TZL_DEF tzl_status tzl_find_hash(const tzl_file *f, uint64_t hash, tzl_tensor *out) {
    uint32_t i;
    if (!f || !out) return TZL_ERR_NULL_ARGUMENT;
    i = tzl__lower_bound(f, hash);
    if (i >= f->count || tzl__u64(tzl__entry_bytes(f, i) + TENZOR_FILE_ENT_NAME_HASH) != hash)
        return TZL_ERR_NOT_FOUND;
    return tzl__view(f, i, out);
}

TZL_DEF tzl_status tzl_find(const tzl_file *f, const char *name, size_t name_len, tzl_tensor *out) {
    uint64_t hash;
    uint32_t i;
    if (!f || !out || (!name && name_len)) return TZL_ERR_NULL_ARGUMENT;
    hash = tzl_hash_name(name, name_len);
    /* Entries sharing the hash follow the first one, in name order. */
    for (i = tzl__lower_bound(f, hash); i < f->count; i++) {
        tzl_tensor t;
        tzl_status s;
        if (tzl__u64(tzl__entry_bytes(f, i) + TENZOR_FILE_ENT_NAME_HASH) != hash) break;
        if ((s = tzl__view(f, i, &t)) != TZL_OK) return s;
        if (t.name_len == name_len && TZL_MEMCMP(t.name, name, name_len) == 0) {
            *out = t;
            return TZL_OK;
        }
    }
    return TZL_ERR_NOT_FOUND;
}

TZL_DEF tzl_status tzl_metadata(const tzl_file *f, const char **json, size_t *len) {
    if (!f || !json || !len) return TZL_ERR_NULL_ARGUMENT;
    *json = (const char *)(f->buf + TENZOR_FILE_HEADER_SIZE);
    *len = f->metadata_size;
    return TZL_OK;
}

TZL_DEF tzl_status tzl_verify_tensor(const tzl_tensor *t) {
    if (!t || (!t->data && t->size)) return TZL_ERR_NULL_ARGUMENT;
#ifdef TZL_NO_XXH3
    return TZL_ERR_UNSUPPORTED;
#else
    return tzl_xxh3_64(t->data, t->size) == t->checksum ? TZL_OK : TZL_ERR_CHECKSUM;
#endif
}

TZL_DEF tzl_status tzl_verify(const tzl_file *f, tzl_diag *diag) {
    size_t end;
    uint32_t p;
    if (!f) return tzl__fail(diag, TZL_ERR_NULL_ARGUMENT, "file is NULL", TZL_NO_ENTRY);
    end = f->data_offset;
    for (p = 0; p < f->count; p++) {
        tzl_tensor t;
        tzl_status s = tzl_at_position(f, p, &t);
        size_t start;
        if (s != TZL_OK) return tzl__fail(diag, s, "tensor fails its entry checks", TZL_NO_ENTRY);
        start = (size_t)((const uint8_t *)t.data - f->buf);
        if (start < end) return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "data overlaps the previous tensor", t.index);
        if (!tzl__all_zero(f->buf + end, start - end))
            return tzl__fail(diag, TZL_ERR_BAD_FORMAT, "the padding before its data is not zero", t.index);
        s = tzl_verify_tensor(&t);
        if (s != TZL_OK) return tzl__fail(diag, s, "data checksum mismatch: the data is corrupted", t.index);
        end = start + t.size;
    }
    return TZL_OK;
}

TZL_DEF const char *tzl_status_str(tzl_status s) {
    switch (s) {
    case TZL_OK: return "ok";
    case TZL_ERR_NULL_ARGUMENT: return "null argument";
    case TZL_ERR_INVALID_ARGUMENT: return "invalid argument";
    case TZL_ERR_BAD_FORMAT: return "bad format";
    case TZL_ERR_CHECKSUM: return "checksum mismatch";
    case TZL_ERR_NOT_FOUND: return "not found";
    case TZL_ERR_DUPLICATE_NAME: return "duplicate name";
    case TZL_ERR_UNSUPPORTED: return "unsupported";
    case TZL_ERR_OUT_OF_RANGE: return "out of range";
    }
    return "unknown status";
}

#ifdef __cplusplus
}
#endif

#endif /* TENZOR_LITE_IMPLEMENTED */
#endif /* TENZOR_LITE_IMPLEMENTATION */
