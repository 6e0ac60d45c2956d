/* Reading: pointers point into the mapping (no copies), alignment, names,
 * lifetimes, metadata, open_memory and legacy v1 files. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "check.h"

static int in_range(const void *p, const void *base, size_t len) {
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)base;
    return a >= b && a <= b + len;
}

static uint64_t numel(const tenzor_tensor *t) {
    uint64_t n = 1;
    size_t d;
    for (d = 0; d < t->ndim; d++) {
        n *= t->shape[d];
    }
    return n;
}

/* Every tensor of `f` against the bytes `base`/`len` it should point into. */
static void check_pointers(const tenzor_file *f, const unsigned char *base, size_t len) {
    uint64_t data_offset = le64(base + 32); /* header field: start of the data section */
    uint64_t align = tenzor_file_alignment(f);
    size_t count = tenzor_tensor_count(f), i, d;
    CHECK(count == 21);
    CHECK(align == 64);
    for (i = 0; i < count; i++) {
        tenzor_tensor t, again, by_hash;
        CHECK_OK(tenzor_get_tensor_at(f, i, &t));
        CHECK(t.position == i);
        /* data == mapping base + data section offset + the tensor's offset. */
        CHECK((const unsigned char *)t.data == base + t.file_offset);
        CHECK(t.file_offset >= data_offset);
        CHECK((t.file_offset - data_offset) % align == 0);
        CHECK(i != 0 || t.file_offset == data_offset);
        CHECK(t.file_offset + t.size <= len);
        CHECK((uintptr_t)t.data % align == 0);
        CHECK(t.alignment >= align && (uintptr_t)t.data % t.alignment == 0);
        /* Names are NUL-terminated, inside the file, and hash as stored. */
        CHECK(t.name != NULL && in_range(t.name, base, len));
        CHECK(t.name[t.name_len] == '\0' && strlen(t.name) == t.name_len);
        CHECK(t.name_hash == tenzor_hash_name(t.name, t.name_len));
        CHECK(t.has_checksum);
        CHECK(t.ndim >= 1 && t.ndim <= TENZOR_MAX_DIMS);
        for (d = t.ndim; d < TENZOR_MAX_DIMS; d++) {
            CHECK(t.shape[d] == 0);
        }
        CHECK(t.size * 8 == numel(&t) * tenzor_dtype_bits(t.dtype));
        /* A second lookup, by name or hash, gives the same bytes: no copy. */
        CHECK_OK(tenzor_get_tensor(f, t.name, &again));
        CHECK(again.data == t.data && again.name == t.name && again.size == t.size);
        CHECK(again.position == t.position && again.checksum == t.checksum);
        CHECK_OK(tenzor_get_tensor_by_hash(f, t.name_hash, &by_hash));
        CHECK(by_hash.data == t.data);
    }
}

static void test_mapped_file(void) {
    const tenzor_file *f = NULL;
    const void *base = NULL;
    size_t len = 0, mlen = 0;
    tenzor_tensor emb, head;
    const char *json = NULL, *json2 = NULL;

    CHECK_OK(tenzor_open(sample_tenzor(), &f));
    if (f == NULL) {
        return;
    }
    CHECK_OK(tenzor_file_bytes(f, &base, &len));
    CHECK(base != NULL && len > 8 && memcmp(base, "TENZOR\0\0", 8) == 0);
    check_pointers(f, base, len);

    CHECK_OK(tenzor_get_tensor(f, "model.embed_tokens.weight", &emb));
    CHECK(emb.dtype == TENZOR_DTYPE_F32 && emb.ndim == 2);
    CHECK(emb.shape[0] == 64 && emb.shape[1] == 32 && emb.size == 64 * 32 * 4);
    CHECK(emb.position == 0);
    CHECK_OK(tenzor_get_tensor(f, "lm_head.weight", &head));
    CHECK(head.dtype == TENZOR_DTYPE_BF16 && head.size == 64 * 32 * 2);
    CHECK(strcmp(tenzor_dtype_name(head.dtype), "BF16") == 0);
    CHECK_OK(tenzor_verify(f));

    /* Metadata: NUL-terminated, owned by the handle, stable across calls. */
    CHECK_OK(tenzor_metadata(f, &json, &mlen));
    CHECK(json != NULL && strlen(json) == mlen);
    CHECK(json != NULL && strstr(json, "\"format\"") != NULL && strstr(json, "\"pt\"") != NULL);
    CHECK_OK(tenzor_metadata(f, &json2, &mlen));
    CHECK(json2 == json);
    tenzor_close(f);
}

static void test_lifetimes(void) {
    const tenzor_file *a = NULL, *b = NULL;
    tenzor_tensor ta, tb, tb2;
    unsigned char copy[64 * 32 * 2];
    int i;

    CHECK_OK(tenzor_open(sample_tenzor(), &a));
    CHECK_OK(tenzor_open(sample_tenzor(), &b));
    if (a == NULL || b == NULL) {
        tenzor_close(a);
        tenzor_close(b);
        return;
    }
    CHECK(a != b);
    CHECK_OK(tenzor_get_tensor(a, "lm_head.weight", &ta));
    CHECK_OK(tenzor_get_tensor(b, "lm_head.weight", &tb));
    /* Two opens are two mappings: different addresses, same bytes. */
    CHECK(ta.data != tb.data && ta.size == tb.size && ta.size == sizeof copy);
    CHECK(memcmp(ta.data, tb.data, sizeof copy) == 0);
    memcpy(copy, tb.data, sizeof copy);

    /* Closing one leaves the other's pointers valid and unchanged. */
    tenzor_close(a);
    CHECK(memcmp(tb.data, copy, sizeof copy) == 0);
    CHECK(strcmp(tb.name, "lm_head.weight") == 0);
    for (i = 0; i < 100; i++) {
        CHECK_OK(tenzor_get_tensor(b, "lm_head.weight", &tb2));
        if (tb2.data != tb.data) {
            break;
        }
    }
    CHECK(tb2.data == tb.data && tb2.name == tb.name);
    CHECK_OK(tenzor_verify(b));
    tenzor_close(b);
    tenzor_close(NULL); /* documented no-op */
}

static void test_open_memory(void) {
    size_t len = 0, i;
    unsigned char *file = read_file(sample_tenzor(), &len);
    void *aligned = NULL;
    const tenzor_file *f = NULL, *g = NULL;
    const void *base = NULL;
    size_t blen = 0;
    tenzor_tensor t;

    CHECK(file != NULL);
    if (file == NULL) {
        return;
    }
    /* Page-aligned copy: tensors keep the file's alignment in memory. */
    CHECK(posix_memalign(&aligned, 65536, len) == 0);
    memcpy(aligned, file, len);
    CHECK_OK(tenzor_open_memory(aligned, len, &f));
    if (f != NULL) {
        CHECK_OK(tenzor_file_bytes(f, &base, &blen));
        CHECK(base == aligned && blen == len);
        check_pointers(f, aligned, len);
        CHECK_OK(tenzor_verify(f));
        tenzor_close(f);
    }

    /* A buffer at an odd address still opens; `alignment` tells the truth. */
    {
        unsigned char *odd = malloc(len + 1);
        CHECK(odd != NULL);
        if (odd != NULL) {
            memcpy(odd + 1, file, len);
            CHECK_OK(tenzor_open_memory(odd + 1, len, &g));
            for (i = 0; g != NULL && i < tenzor_tensor_count(g); i++) {
                CHECK_OK(tenzor_get_tensor_at(g, i, &t));
                CHECK((const unsigned char *)t.data == odd + 1 + t.file_offset);
                CHECK((uintptr_t)t.data % t.alignment == 0);
                CHECK(t.alignment < 64);
            }
            tenzor_close(g);
            free(odd);
        }
    }
    free(aligned);
    free(file);
}

/* A legacy version-1 file (as the original Zig tenzor wrote them): names
 * are not stored, only their hashes. */
static void test_legacy_v1(void) {
    unsigned char buf[120];
    const float values[2] = {1.5f, -2.0f};
    uint64_t hash = tenzor_hash_name("w", 1);
    const tenzor_file *f = NULL;
    tenzor_tensor t;
    const char *json = NULL;
    size_t jlen = 0;
    int i;

    memset(buf, 0, sizeof buf);
    memcpy(buf, "TENZOR\0\0", 8);
    buf[8] = 1;   /* version */
    buf[16] = 1;  /* tensor count */
    buf[24] = 64; /* index offset */
    buf[32] = 112; /* data offset */
    for (i = 0; i < 8; i++) {
        buf[64 + i] = (unsigned char)(hash >> (8 * i));
    }
    buf[64 + 8] = TENZOR_DTYPE_F32;
    buf[64 + 9] = 1;  /* ndim */
    buf[64 + 12] = 2; /* shape[0] */
    buf[64 + 40] = 8; /* data size; data offset (64 + 32) stays 0 */
    memcpy(buf + 112, values, sizeof values);

    CHECK_OK(tenzor_open_memory(buf, sizeof buf, &f));
    if (f == NULL) {
        return;
    }
    CHECK(tenzor_tensor_count(f) == 1);
    CHECK(tenzor_file_alignment(f) == 1);
    CHECK_OK(tenzor_get_tensor_at(f, 0, &t));
    CHECK(t.name == NULL && t.name_len == 0);
    CHECK(t.name_hash == hash && !t.has_checksum && t.checksum == 0);
    CHECK(t.ndim == 1 && t.shape[0] == 2 && t.size == 8);
    CHECK((const unsigned char *)t.data == buf + 112 && t.file_offset == 112);
    CHECK(memcmp(t.data, values, sizeof values) == 0);
    CHECK_OK(tenzor_get_tensor(f, "w", &t)); /* matched through the hash */
    CHECK(t.data == buf + 112);
    CHECK_OK(tenzor_verify(f));
    CHECK_OK(tenzor_metadata(f, &json, &jlen));
    CHECK(json != NULL && strcmp(json, "{}") == 0 && jlen == 2);
    tenzor_close(f);
}

void test_read(void) {
    test_mapped_file();
    test_lifetimes();
    test_open_memory();
    test_legacy_v1();
}
