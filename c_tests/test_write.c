/* Writing from C: a round trip over many dtypes and shapes, alignment 4096,
 * a reservation too small (the data is moved once), and abort. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "check.h"

struct spec {
    const char *name;
    tenzor_dtype dtype;
    size_t ndim;
    uint64_t shape[TENZOR_MAX_DIMS];
    size_t len;
};

/* Deterministic bytes for tensor `k`. */
static void fill(unsigned char *buf, size_t len, int k) {
    size_t i;
    for (i = 0; i < len; i++) {
        buf[i] = (unsigned char)(i * 31 + (size_t)k * 7 + 1);
    }
}

static const struct spec SPECS[] = {
    {"weights", TENZOR_DTYPE_F32, 2, {2, 3}, 24},
    {"scalar.i64", TENZOR_DTYPE_I64, 0, {0}, 8},
    {"empty.f16", TENZOR_DTYPE_F16, 3, {3, 0, 2}, 0},
    {"bias.bf16", TENZOR_DTYPE_BF16, 1, {5}, 10},
    {"mask", TENZOR_DTYPE_BOOL, 1, {7}, 7},
    {"packed.f4", TENZOR_DTYPE_F4, 2, {2, 3}, 3},
    {"packed.f6", TENZOR_DTYPE_F6_E2M3, 1, {8}, 6},
    {"rank8.u16", TENZOR_DTYPE_U16, 8, {1, 2, 1, 1, 1, 1, 3, 1}, 12},
    {"\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87/\xe5\xbc\xa0\xe9\x87\x8f", TENZOR_DTYPE_U8, 1, {4}, 4},
    {"complex", TENZOR_DTYPE_C64, 1, {2}, 16},
};
#define NSPECS (sizeof SPECS / sizeof SPECS[0])

static void test_round_trip(void) {
    const char *path = work_path("round_trip.tenzor");
    /* Metadata is passed with a length: the trailing text must be ignored. */
    const char meta[] = "{\"author\": \"c test\", \"n\": 3}TRAILING";
    size_t meta_len = strlen(meta) - strlen("TRAILING");
    tenzor_writer *w = NULL;
    const tenzor_file *f = NULL;
    unsigned char buf[64];
    const char *json = NULL;
    size_t jlen = 0, i, d;

    CHECK_OK(tenzor_writer_create(path, NULL, &w));
    if (w == NULL) {
        return;
    }
    CHECK(!file_exists(path)); /* nothing at the destination before finish */
    for (i = 0; i < NSPECS; i++) {
        const struct spec *s = &SPECS[i];
        fill(buf, s->len, (int)i);
        CHECK_OK(tenzor_writer_add(w, s->name, s->dtype, s->ndim, s->ndim ? s->shape : NULL,
                                   s->len ? buf : NULL, s->len));
    }
    CHECK_OK(tenzor_writer_set_metadata(w, meta, meta_len));
    CHECK_OK(tenzor_writer_finish(w));
    CHECK(file_exists(path));
    CHECK(count_dir_entries_containing(".tmp") == 0);

    CHECK_OK(tenzor_open(path, &f));
    if (f == NULL) {
        return;
    }
    CHECK(tenzor_tensor_count(f) == NSPECS);
    for (i = 0; i < NSPECS; i++) {
        const struct spec *s = &SPECS[i];
        tenzor_tensor t;
        CHECK_OK(tenzor_get_tensor(f, s->name, &t));
        CHECK(t.position == i);
        CHECK(t.dtype == s->dtype && t.ndim == s->ndim && t.size == s->len);
        CHECK(t.name_len == strlen(s->name) && strcmp(t.name, s->name) == 0);
        for (d = 0; d < TENZOR_MAX_DIMS; d++) {
            CHECK(t.shape[d] == (d < s->ndim ? s->shape[d] : 0));
        }
        fill(buf, s->len, (int)i);
        CHECK(memcmp(t.data, buf, s->len) == 0);
        CHECK(t.data != NULL && (uintptr_t)t.data % 64 == 0);
    }
    CHECK_OK(tenzor_metadata(f, &json, &jlen));
    CHECK(jlen == meta_len && json != NULL && memcmp(json, meta, meta_len) == 0);
    CHECK_OK(tenzor_verify(f));
    tenzor_close(f);
}

static void test_alignment_4096(void) {
    const char *path = work_path("aligned.tenzor");
    tenzor_writer_options opts;
    tenzor_writer *w = NULL;
    const tenzor_file *f = NULL;
    unsigned char buf[5000];
    const size_t sizes[3] = {3, 4097, 5000};
    size_t i;

    memset(&opts, 0, sizeof opts);
    opts.alignment = 4096;
    CHECK_OK(tenzor_writer_create(path, &opts, &w));
    for (i = 0; w != NULL && i < 3; i++) {
        uint64_t shape[1];
        char name[16];
        shape[0] = sizes[i];
        snprintf(name, sizeof name, "t%u", (unsigned)i);
        fill(buf, sizes[i], (int)i);
        CHECK_OK(tenzor_writer_add(w, name, TENZOR_DTYPE_U8, 1, shape, buf, sizes[i]));
    }
    CHECK_OK(tenzor_writer_finish(w));
    CHECK_OK(tenzor_open(path, &f));
    if (f == NULL) {
        return;
    }
    CHECK(tenzor_file_alignment(f) == 4096);
    for (i = 0; i < tenzor_tensor_count(f); i++) {
        tenzor_tensor t;
        CHECK_OK(tenzor_get_tensor_at(f, i, &t));
        CHECK(t.file_offset % 4096 == 0 && (uintptr_t)t.data % 4096 == 0);
        CHECK(t.alignment >= 4096);
        fill(buf, sizes[i], (int)i);
        CHECK(t.size == sizes[i] && memcmp(t.data, buf, t.size) == 0);
    }
    tenzor_close(f);
}

/* Reservations far too small: finish must move the data behind a larger
 * index once and still produce a valid file. */
static void test_small_reservation(void) {
    const char *path = work_path("moved.tenzor");
    tenzor_writer_options opts;
    tenzor_writer *w = NULL;
    const tenzor_file *f = NULL;
    unsigned char buf[40];
    char name[64];
    uint64_t shape[1] = {40};
    int i;

    memset(&opts, 0, sizeof opts);
    opts.reserve_tensors = 1;
    opts.reserve_name_bytes = 1;
    opts.reserve_metadata_bytes = 1;
    CHECK_OK(tenzor_writer_create(path, &opts, &w));
    for (i = 0; w != NULL && i < 60; i++) {
        snprintf(name, sizeof name, "layers.%d.a.rather.long.tensor.name.for.padding", i);
        fill(buf, sizeof buf, i);
        CHECK_OK(tenzor_writer_add(w, name, TENZOR_DTYPE_I8, 1, shape, buf, sizeof buf));
    }
    CHECK_OK(tenzor_writer_finish(w));
    CHECK(count_dir_entries_containing(".tmp") == 0);
    CHECK_OK(tenzor_open(path, &f));
    CHECK(tenzor_tensor_count(f) == 60);
    for (i = 0; f != NULL && i < 60; i++) {
        tenzor_tensor t;
        snprintf(name, sizeof name, "layers.%d.a.rather.long.tensor.name.for.padding", i);
        fill(buf, sizeof buf, i);
        CHECK_OK(tenzor_get_tensor(f, name, &t));
        CHECK(t.size == sizeof buf && memcmp(t.data, buf, sizeof buf) == 0);
    }
    CHECK_OK(tenzor_verify(f));
    tenzor_close(f);
}

static void test_abort(void) {
    const char *fresh = work_path("aborted.tenzor");
    const char *existing = work_path("existing.tenzor");
    tenzor_writer *w = NULL;
    unsigned char buf[256], *before, *after;
    size_t before_len = 0, after_len = 0;
    uint64_t shape[1] = {256};

    /* Abort of a new file: nothing at the destination, no temporary left. */
    fill(buf, sizeof buf, 1);
    CHECK_OK(tenzor_writer_create(fresh, NULL, &w));
    CHECK(count_dir_entries_containing("aborted.tenzor.tmp") == 1);
    CHECK_OK(tenzor_writer_add(w, "x", TENZOR_DTYPE_U8, 1, shape, buf, sizeof buf));
    tenzor_writer_abort(w);
    CHECK(!file_exists(fresh));
    CHECK(count_dir_entries_containing("aborted.tenzor") == 0);
    CHECK(count_dir_entries_containing(".tmp") == 0);
    tenzor_writer_abort(NULL); /* documented no-op */

    /* Abort over an existing file leaves it byte for byte as it was. */
    CHECK_OK(tenzor_convert(tz_sample, existing));
    before = read_file(existing, &before_len);
    CHECK_OK(tenzor_writer_create(existing, NULL, &w));
    CHECK_OK(tenzor_writer_add(w, "y", TENZOR_DTYPE_U8, 1, shape, buf, sizeof buf));
    tenzor_writer_abort(w);
    after = read_file(existing, &after_len);
    CHECK(before != NULL && after != NULL && before_len == after_len);
    CHECK(before != NULL && after != NULL && memcmp(before, after, before_len) == 0);
    CHECK(count_dir_entries_containing(".tmp") == 0);
    free(before);
    free(after);
}

void test_write(void) {
    test_round_trip();
    test_alignment_4096();
    test_small_reservation();
    test_abort();
}
