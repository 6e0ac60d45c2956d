/* Loading options: tenzor_open_ex (backends, validation, hints, the
 * versioned options struct), tenzor_file_backend, reads into caller
 * memory, per-tensor hints, and a file truncated under the read backend. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static tenzor_open_options options(tenzor_backend backend, tenzor_validation v, uint32_t hints) {
    tenzor_open_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.backend = backend;
    o.validation = v;
    o.hints = hints;
    return o;
}

static void options_struct_is_checked(void) {
    const tenzor_file *f = (const tenzor_file *)&f; /* must stay untouched */
    const tenzor_file *before = f;
    tenzor_open_options o = options(TENZOR_BACKEND_READ, TENZOR_VALIDATION_FULL, 0);
    unsigned char bigger[sizeof o + 8];

    o.size = 2;
    CHECK_FAILS(tenzor_open_ex(sample_tenzor(), &o, &f), TENZOR_ERR_INVALID_ARGUMENT,
                "sizeof(tenzor_open_options)", NULL);
    o = options(7, TENZOR_VALIDATION_FULL, 0);
    CHECK_FAILS(tenzor_open_ex(sample_tenzor(), &o, &f), TENZOR_ERR_INVALID_ARGUMENT,
                "unknown backend 7", NULL);
    o = options(TENZOR_BACKEND_MMAP, 9, 0);
    CHECK_FAILS(tenzor_open_ex(sample_tenzor(), &o, &f), TENZOR_ERR_INVALID_ARGUMENT,
                "unknown validation level 9", NULL);
    o = options(TENZOR_BACKEND_MMAP, 0, TENZOR_HINT_SEQUENTIAL | TENZOR_HINT_RANDOM);
    CHECK_FAILS(tenzor_open_ex(sample_tenzor(), &o, &f), TENZOR_ERR_INVALID_ARGUMENT,
                "exclude each other", NULL);
    /* A newer caller's larger struct: zero tail accepted, non-zero refused. */
    o = options(TENZOR_BACKEND_READ, TENZOR_VALIDATION_LAZY, 0);
    memset(bigger, 0, sizeof bigger);
    o.size = sizeof bigger;
    memcpy(bigger, &o, sizeof o);
    bigger[sizeof o + 3] = 1;
    CHECK_FAILS(tenzor_open_ex(sample_tenzor(), (const tenzor_open_options *)(void *)bigger, &f),
                TENZOR_ERR_UNSUPPORTED, "does not know", NULL);
    CHECK(f == before);
    bigger[sizeof o + 3] = 0;
    CHECK_OK(tenzor_open_ex(sample_tenzor(), (const tenzor_open_options *)(void *)bigger, &f));
    tenzor_close(f);
    /* NULL options: exactly tenzor_open. */
    CHECK_OK(tenzor_open_ex(sample_tenzor(), NULL, &f));
    tenzor_close(f);
    CHECK_STATUS(tenzor_open_ex(NULL, NULL, &f), TENZOR_ERR_NULL_ARGUMENT);
}

static void backends_say_what_they_are(void) {
    static const tenzor_backend asked[] = {TENZOR_BACKEND_AUTO, TENZOR_BACKEND_MMAP,
                                           TENZOR_BACKEND_READ, TENZOR_BACKEND_DIRECT};
    static const tenzor_backend got[] = {TENZOR_BACKEND_MMAP, TENZOR_BACKEND_MMAP,
                                         TENZOR_BACKEND_READ, TENZOR_BACKEND_DIRECT};
    size_t i;
    for (i = 0; i < 4; i++) {
        const tenzor_file *f = NULL;
        tenzor_open_options o =
            options(asked[i], TENZOR_VALIDATION_LAZY, TENZOR_HINT_PREFETCH | TENZOR_HINT_SEQUENTIAL);
        tenzor_backend b = 99;
        const char *why = NULL;
        tenzor_tensor t;
        CHECK_OK(tenzor_open_ex(sample_tenzor(), &o, &f));
        if (f == NULL) continue;
        CHECK_OK(tenzor_file_backend(f, &b, &why));
        CHECK(b == got[i]);
        CHECK(why != NULL && strlen(why) > 0);
        CHECK_OK(tenzor_get_tensor_at(f, 0, &t));
        CHECK_OK(tenzor_prefetch(f, NULL));
        CHECK_OK(tenzor_prefetch(f, t.name));
        CHECK_OK(tenzor_release(f, t.name));
        CHECK_OK(tenzor_release(f, NULL));
        if (tenzor_lock(f, t.name) == TENZOR_OK) {
            CHECK_OK(tenzor_unlock(f, t.name));
        } else {
            CHECK_ERROR_MENTIONS("RLIMIT_MEMLOCK");
        }
        CHECK_FAILS(tenzor_prefetch(f, "no.such"), TENZOR_ERR_NOT_FOUND, "no.such", NULL);
        CHECK_OK(tenzor_verify(f));
        tenzor_close(f);
    }
}

static void reads_into_caller_memory(void) {
    const tenzor_file *f = NULL;
    tenzor_open_options o = options(TENZOR_BACKEND_READ, TENZOR_VALIDATION_FULL, 0);
    tenzor_tensor t;
    size_t size = 0;
    unsigned char small[1];
    unsigned char whole[64];
    tenzor_read_request range;
    CHECK_OK(tenzor_open_ex(sample_tenzor(), &o, &f));
    if (f == NULL) return;
    CHECK_OK(tenzor_get_tensor_at(f, 0, &t));
    CHECK_OK(tenzor_read_tensor(f, t.name, NULL, 0, &size));
    CHECK(size == t.size);
    if (t.size > 0) {
        CHECK_FAILS(tenzor_read_tensor(f, t.name, small, 0, &size), TENZOR_ERR_INVALID_ARGUMENT,
                    "destination holds 0 bytes", NULL);
    }
    CHECK_FAILS(tenzor_read_tensor(f, t.name, NULL, 5, &size), TENZOR_ERR_NULL_ARGUMENT, "dst",
                NULL);
    /* The first bytes of the file, as a byte-range request. */
    range.name = NULL;
    range.offset = 0;
    range.dst = whole;
    range.len = 8;
    CHECK_OK(tenzor_read_batch(f, &range, 1, NULL));
    CHECK(memcmp(whole, "TENZOR\0\0", 8) == 0);
    range.offset = (uint64_t)-4;
    CHECK_FAILS(tenzor_read_batch(f, &range, 1, NULL), TENZOR_ERR_OUT_OF_RANGE, "outside the file",
                NULL);
    tenzor_close(f);
}

static void truncated_under_the_read_backend(void) {
    const char *copy = work_path("truncated_later.tenzor");
    size_t len = 0;
    unsigned char *bytes = read_file(sample_tenzor(), &len);
    const tenzor_file *f = NULL;
    tenzor_open_options o = options(TENZOR_BACKEND_READ, TENZOR_VALIDATION_FULL, 0);
    size_t n, i, failed = 0;
    CHECK(bytes != NULL && write_file(copy, bytes, len));
    free(bytes);
    CHECK_OK(tenzor_open_ex(copy, &o, &f));
    if (f == NULL) return;
    CHECK(truncate(copy, 4096) == 0);
    n = tenzor_tensor_count(f);
    for (i = 0; i < n; i++) {
        tenzor_tensor t;
        if (tenzor_get_tensor_at(f, i, &t) != TENZOR_OK) {
            failed++;
            CHECK_ERROR_MENTIONS("truncated while open");
        }
    }
    CHECK(failed > 0);
    tenzor_close(f);
}

void test_load(void) {
    options_struct_is_checked();
    backends_say_what_they_are();
    reads_into_caller_memory();
    truncated_under_the_read_backend();
}
