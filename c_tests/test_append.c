/* Appending (modes a / a+) and filling in place (w+) from C: pointers from
 * tenzor_writer_reserve / tenzor_appender_reserve written through C and read
 * back before commit, after commit and after reopening; replace; the lock;
 * refusals; abort leaving the file byte-identical. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "check.h"

static void check_u8(const tenzor_file *f, const char *name, size_t len, unsigned char v) {
    tenzor_tensor t;
    size_t i;
    int same = 1;
    CHECK_OK(tenzor_get_tensor(f, name, &t));
    CHECK(t.size == len);
    for (i = 0; i < t.size && i < len; i++) {
        same &= ((const unsigned char *)t.data)[i] == v;
    }
    CHECK(same);
}

static void test_writer_reserve(void) {
    const char *path = work_path("reserve.tenzor");
    tenzor_writer *w = NULL;
    const tenzor_file *f = NULL;
    tenzor_tensor t;
    uint64_t shape[2] = {3, 4};
    const unsigned char small[3] = {1, 2, 3};
    void *p = NULL;
    float *vals;
    int i;

    CHECK_OK(tenzor_writer_create(path, NULL, &w));
    if (w == NULL) {
        return;
    }
    CHECK_OK(tenzor_writer_add(w, "first", TENZOR_DTYPE_U8, 1, (const uint64_t[]){3}, small, 3));
    CHECK_OK(tenzor_writer_reserve(w, "filled", TENZOR_DTYPE_F32, 2, shape, &p));
    CHECK(p != NULL);
    vals = p;
    for (i = 0; i < 12; i++) {
        CHECK(vals[i] == 0.0f);
        vals[i] = (float)i * 0.5f;
    }
    /* Read back through the same handle before finish. */
    CHECK_OK(tenzor_writer_get_tensor(w, "filled", &t));
    CHECK(t.size == 48 && t.ndim == 2 && !t.has_checksum);
    CHECK(((const float *)t.data)[11] == 5.5f);
    CHECK_OK(tenzor_writer_get_tensor(w, "first", &t));
    CHECK(t.size == 3 && memcmp(t.data, small, 3) == 0 && t.has_checksum);
    CHECK_FAILS(tenzor_writer_get_tensor(w, "absent", &t), TENZOR_ERR_NOT_FOUND, "absent",
                "reserve.tenzor");
    CHECK_FAILS(tenzor_writer_reserve(w, "filled", TENZOR_DTYPE_U8, 0, NULL, &p),
                TENZOR_ERR_DUPLICATE_NAME, "filled", NULL);
    CHECK_FAILS(tenzor_writer_reserve(w, "bad", 9999, 0, NULL, &p), TENZOR_ERR_INVALID_ARGUMENT,
                "dtype", NULL);
    CHECK_STATUS(tenzor_writer_reserve(w, "x", TENZOR_DTYPE_U8, 0, NULL, NULL),
                 TENZOR_ERR_NULL_ARGUMENT);
    CHECK_OK(tenzor_writer_finish(w));

    CHECK_OK(tenzor_open(path, &f));
    if (f != NULL) {
        CHECK_OK(tenzor_verify(f));
        CHECK_OK(tenzor_get_tensor(f, "filled", &t));
        CHECK(t.has_checksum && ((const float *)t.data)[3] == 1.5f);
        tenzor_close(f);
    }
}

static void test_append_and_replace(void) {
    const char *path = work_path("append.tenzor");
    tenzor_appender *a = NULL, *b = NULL;
    const tenzor_file *f = NULL, *old = NULL;
    tenzor_tensor t;
    const unsigned char ones[5] = {1, 1, 1, 1, 1};
    void *p = NULL;
    const char *json = NULL;
    size_t jlen = 0;

    /* A missing path is created (canonical layout). */
    CHECK_OK(tenzor_appender_open(path, NULL, &a));
    if (a == NULL) {
        return;
    }
    CHECK_OK(tenzor_appender_add(a, "a", TENZOR_DTYPE_U8, 1, (const uint64_t[]){5}, ones, 5));
    CHECK_OK(tenzor_appender_commit(a));
    CHECK_OK(tenzor_open(path, &old));

    /* Append: add, reserve, replace, metadata; read old and new back. */
    a = NULL;
    CHECK_OK(tenzor_appender_open(path, NULL, &a));
    if (a == NULL) {
        tenzor_close(old);
        return;
    }
    CHECK_FAILS(tenzor_appender_open(path, NULL, &b), TENZOR_ERR_BUSY, "append.tenzor", "lock");
    CHECK(b == NULL);
    CHECK_OK(tenzor_appender_reserve(a, "r", TENZOR_DTYPE_U8, 1, (const uint64_t[]){4000}, &p));
    CHECK(p != NULL);
    if (p != NULL) {
        memset(p, 7, 4000);
    }
    CHECK_OK(tenzor_appender_add(a, "a", TENZOR_DTYPE_U8, 1, (const uint64_t[]){2}, ones, 2));
    CHECK_FAILS(tenzor_appender_add(a, "a", TENZOR_DTYPE_U8, 1, (const uint64_t[]){2}, ones, 2),
                TENZOR_ERR_DUPLICATE_NAME, "'a'", NULL);
    CHECK_FAILS(tenzor_appender_add(a, "z", TENZOR_DTYPE_U8, 1, (const uint64_t[]){3}, ones, 2),
                TENZOR_ERR_INVALID_ARGUMENT, "append.tenzor", "'z'");
    CHECK_OK(tenzor_appender_set_metadata(a, "{\"v\": 2}", 8));
    CHECK_FAILS(tenzor_appender_set_metadata(a, "[1]", 3), TENZOR_ERR_INVALID_ARGUMENT, "object",
                NULL);
    CHECK_OK(tenzor_appender_get_tensor(a, "r", &t));
    CHECK(t.size == 4000 && ((const unsigned char *)t.data)[3999] == 7 && !t.has_checksum);
    CHECK_OK(tenzor_appender_get_tensor(a, "a", &t));
    CHECK(t.size == 2 && t.position == 0);
    CHECK_FAILS(tenzor_appender_get_tensor(a, "nope", &t), TENZOR_ERR_NOT_FOUND, "nope", NULL);
    CHECK_OK(tenzor_appender_commit(a));

    /* A reader opened before keeps its old view; a new one sees the commit. */
    check_u8(old, "a", 5, 1);
    tenzor_close(old);
    CHECK_OK(tenzor_open(path, &f));
    if (f != NULL) {
        CHECK_OK(tenzor_verify(f));
        CHECK(tenzor_tensor_count(f) == 2);
        check_u8(f, "a", 2, 1);
        check_u8(f, "r", 4000, 7);
        CHECK_OK(tenzor_metadata(f, &json, &jlen));
        CHECK(jlen == 8 && memcmp(json, "{\"v\": 2}", 8) == 0);
        tenzor_close(f);
    }
}

static void test_abort_and_refusals(void) {
    const char *path = work_path("append.tenzor");
    tenzor_appender *a = NULL;
    unsigned char *before, *after;
    size_t blen = 0, alen = 0;
    void *p = NULL;

    before = read_file(path, &blen);
    CHECK_OK(tenzor_appender_open(path, NULL, &a));
    CHECK_OK(tenzor_appender_add(a, "gone", TENZOR_DTYPE_U8, 1, (const uint64_t[]){1}, "x", 1));
    CHECK_OK(tenzor_appender_reserve(a, "gone2", TENZOR_DTYPE_U8, 1, (const uint64_t[]){9}, &p));
    tenzor_appender_abort(a);
    tenzor_appender_abort(NULL);
    after = read_file(path, &alen);
    CHECK(before != NULL && after != NULL && blen == alen && memcmp(before, after, blen) == 0);
    free(before);
    free(after);

    a = NULL;
    CHECK_FAILS(tenzor_appender_open(tz_sample, NULL, &a), TENZOR_ERR_UNSUPPORTED, "safetensors",
                "tenzor convert");
    CHECK(a == NULL);
    CHECK_STATUS(tenzor_appender_open(NULL, NULL, &a), TENZOR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(tenzor_appender_add(NULL, "x", TENZOR_DTYPE_U8, 0, NULL, "x", 1),
                 TENZOR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(tenzor_appender_commit(NULL), TENZOR_ERR_NULL_ARGUMENT);
}

void test_append(void) {
    test_writer_reserve();
    test_append_and_replace();
    test_abort_and_refusals();
}
