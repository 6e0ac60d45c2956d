/* Slices: tenzor_get_tensor_rows (zero-copy row views) and
 * tenzor_read_slice (hyper-rectangles into caller memory), on every
 * backend, against nested loops over the whole tensor; their errors;
 * tenzor_get_tensor_info (a description, nothing read). */
#include <stdlib.h>
#include <string.h>

#include "check.h"

enum { D0 = 6, D1 = 5, D2 = 300 };

/* A U16 tensor [D0, D1, D2] whose element (i, j, k) is its flat index
 * mod 65521, a Q4_0 tensor [4, 64], a scalar; 4096-aligned. */
static const char *slice_file(uint16_t *values) {
    const char *path = work_path("slices.tenzor");
    static const uint64_t shape[3] = {D0, D1, D2};
    static const uint64_t qshape[2] = {4, 64};
    unsigned char q[4 * 2 * 18];
    float scalar = 2.5f;
    tenzor_writer_options o;
    tenzor_writer *w = NULL;
    size_t i;
    memset(&o, 0, sizeof o);
    o.alignment = 4096;
    for (i = 0; i < (size_t)D0 * D1 * D2; i++) values[i] = (uint16_t)(i % 65521);
    for (i = 0; i < sizeof q; i++) q[i] = (unsigned char)(i * 7);
    CHECK_OK(tenzor_writer_create(path, &o, &w));
    CHECK_OK(tenzor_writer_add(w, "u16", TENZOR_DTYPE_U16, 3, shape, values,
                               sizeof(uint16_t) * D0 * D1 * D2));
    CHECK_OK(tenzor_writer_add(w, "q4", TENZOR_DTYPE_Q4_0, 2, qshape, q, sizeof q));
    CHECK_OK(tenzor_writer_add(w, "scalar", TENZOR_DTYPE_F32, 0, NULL, &scalar, sizeof scalar));
    CHECK_OK(tenzor_writer_finish(w));
    return path;
}

/* The box [a, e) taken by nested loops, into `out`; returns elements. */
static size_t expected(const uint16_t *values, const uint64_t *a, const uint64_t *e,
                       uint16_t *out) {
    size_t n = 0;
    uint64_t i, j, k;
    for (i = a[0]; i < e[0]; i++)
        for (j = a[1]; j < e[1]; j++)
            for (k = a[2]; k < e[2]; k++) out[n++] = values[(i * D1 + j) * D2 + k];
    return n;
}

static void slices_match_loops(const tenzor_file *f, const uint16_t *values) {
    static const uint64_t boxes[][2][3] = {
        {{0, 0, 0}, {D0, D1, D2}},     /* whole */
        {{2, 0, 0}, {4, D1, D2}},      /* rows: one run */
        {{0, 1, 10}, {D0, 4, 290}},    /* inner cuts */
        {{0, 0, D2 - 1}, {D0, D1, D2}}, /* last column */
        {{3, 2, 7}, {4, 3, 8}},        /* one element */
        {{1, 1, 1}, {1, 4, 9}},        /* empty */
    };
    uint16_t *got = malloc(sizeof(uint16_t) * D0 * D1 * D2 + 2);
    uint16_t *want = malloc(sizeof(uint16_t) * D0 * D1 * D2);
    size_t b;
    if (got == NULL || want == NULL) {
        CHECK(0);
        free(got);
        free(want);
        return;
    }
    for (b = 0; b < sizeof boxes / sizeof boxes[0]; b++) {
        size_t n = expected(values, boxes[b][0], boxes[b][1], want);
        size_t written = 12345, size = 0;
        got[n] = 0xBEEF;
        CHECK_OK(tenzor_read_slice(f, "u16", boxes[b][0], boxes[b][1], 3, NULL, 0, &size));
        CHECK(size == n * sizeof(uint16_t));
        CHECK_OK(tenzor_read_slice(f, "u16", boxes[b][0], boxes[b][1], 3, got,
                                   sizeof(uint16_t) * D0 * D1 * D2 + 2, &written));
        CHECK(written == n * sizeof(uint16_t));
        CHECK(n == 0 || memcmp(got, want, written) == 0);
        CHECK(got[n] == 0xBEEF); /* nothing written past the slice */
    }
    free(got);
    free(want);
}

static void rows_are_views(const tenzor_file *f, const uint16_t *values) {
    tenzor_tensor whole, rows, before;
    CHECK_OK(tenzor_get_tensor_rows(f, "u16", 2, 5, &rows));
    CHECK(rows.ndim == 3 && rows.shape[0] == 3 && rows.shape[1] == D1 && rows.shape[2] == D2);
    CHECK(rows.size == sizeof(uint16_t) * 3 * D1 * D2);
    CHECK(!rows.has_checksum && rows.checksum == 0);
    CHECK(memcmp(rows.data, values + 2 * D1 * D2, rows.size) == 0);
    CHECK(strcmp(rows.name, "u16") == 0);
    CHECK_OK(tenzor_get_tensor(f, "u16", &whole));
    CHECK(rows.file_offset == whole.file_offset + sizeof(uint16_t) * 2 * D1 * D2);
    CHECK((const unsigned char *)rows.data ==
          (const unsigned char *)whole.data + sizeof(uint16_t) * 2 * D1 * D2);
    CHECK_OK(tenzor_get_tensor_rows(f, "u16", D0, D0, &rows));
    CHECK(rows.size == 0 && rows.shape[0] == 0 && rows.data != NULL);
    /* Q4_0 rows hold whole blocks: any row range works. */
    CHECK_OK(tenzor_get_tensor_rows(f, "q4", 1, 3, &rows));
    CHECK(rows.size == 2 * 2 * 18);
    /* Failures leave the view untouched. */
    before = rows;
    CHECK_FAILS(tenzor_get_tensor_rows(f, "u16", 4, 3, &rows), TENZOR_ERR_OUT_OF_RANGE,
                "slices.tenzor", "tensor 'u16'");
    CHECK_FAILS(tenzor_get_tensor_rows(f, "u16", 0, D0 + 1, &rows), TENZOR_ERR_OUT_OF_RANGE,
                "6 rows", NULL);
    CHECK_FAILS(tenzor_get_tensor_rows(f, "scalar", 0, 0, &rows), TENZOR_ERR_OUT_OF_RANGE,
                "scalar", NULL);
    CHECK_FAILS(tenzor_get_tensor_rows(f, "missing", 0, 1, &rows), TENZOR_ERR_NOT_FOUND,
                "missing", NULL);
    CHECK_STATUS(tenzor_get_tensor_rows(f, NULL, 0, 1, &rows), TENZOR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(tenzor_get_tensor_rows(f, "u16", 0, 1, NULL), TENZOR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(tenzor_get_tensor_rows(NULL, "u16", 0, 1, &rows), TENZOR_ERR_NULL_ARGUMENT);
    CHECK(before.data == rows.data && before.size == rows.size &&
          before.shape[0] == rows.shape[0] && before.file_offset == rows.file_offset);
}

static void info_reads_nothing(const tenzor_file *f) {
    tenzor_tensor info, whole;
    size_t n = tenzor_tensor_count(f), i;
    CHECK_OK(tenzor_get_tensor_info(f, "u16", &info));
    CHECK(info.data == NULL && info.alignment == 0);
    CHECK(info.ndim == 3 && info.shape[0] == D0 && info.shape[2] == D2);
    CHECK(info.size == sizeof(uint16_t) * D0 * D1 * D2 && info.dtype == TENZOR_DTYPE_U16);
    CHECK(strcmp(info.name, "u16") == 0);
    CHECK_OK(tenzor_get_tensor(f, "u16", &whole));
    CHECK(info.checksum == whole.checksum && info.has_checksum && whole.has_checksum);
    CHECK(info.file_offset == whole.file_offset && info.position == whole.position);
    CHECK_FAILS(tenzor_get_tensor_info(f, "nope", &info), TENZOR_ERR_NOT_FOUND, "nope", NULL);
    CHECK(info.data == NULL && info.size == whole.size); /* untouched */
    CHECK_STATUS(tenzor_get_tensor_info(f, "u16", NULL), TENZOR_ERR_NULL_ARGUMENT);
    /* By position: the same description as the lookup by name, for every tensor. */
    for (i = 0; i < n; i++) {
        tenzor_tensor at, byname;
        CHECK_OK(tenzor_get_tensor_info_at(f, i, &at));
        CHECK(at.data == NULL && at.alignment == 0 && at.position == i);
        CHECK_OK(tenzor_get_tensor_info(f, at.name, &byname));
        CHECK(byname.file_offset == at.file_offset && byname.size == at.size &&
              byname.dtype == at.dtype && byname.ndim == at.ndim);
    }
    CHECK_FAILS(tenzor_get_tensor_info_at(f, n, &info), TENZOR_ERR_NOT_FOUND, "out of range",
                "slices.tenzor");
    CHECK(info.data == NULL && info.size == whole.size); /* untouched */
    CHECK_STATUS(tenzor_get_tensor_info_at(f, 0, NULL), TENZOR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(tenzor_get_tensor_info_at(NULL, 0, &info), TENZOR_ERR_NULL_ARGUMENT);
}

static void slice_errors(const tenzor_file *f) {
    const uint64_t a[3] = {0, 0, 0}, e[3] = {1, 1, D2 + 1}, rev[3] = {1, 0, 0};
    const uint64_t qa[2] = {0, 16}, qe[2] = {4, 48}, qa_ok[2] = {1, 32}, qe_ok[2] = {3, 64};
    const uint64_t big[9] = {0}, full[3] = {D0, D1, D2};
    unsigned char dst[256];
    size_t written = 777;
    float x = 0;
    CHECK_FAILS(tenzor_read_slice(f, "u16", a, e, 3, dst, sizeof dst, &written),
                TENZOR_ERR_OUT_OF_RANGE, "dimension 2", "slices.tenzor");
    CHECK_FAILS(tenzor_read_slice(f, "u16", rev, a, 3, dst, sizeof dst, &written),
                TENZOR_ERR_OUT_OF_RANGE, "dimension 0: [1, 0)", NULL);
    CHECK_FAILS(tenzor_read_slice(f, "u16", a, e, 2, dst, sizeof dst, &written),
                TENZOR_ERR_OUT_OF_RANGE, "3 dimensions", "tensor 'u16'");
    CHECK_FAILS(tenzor_read_slice(f, "u16", big, big, 9, dst, sizeof dst, &written),
                TENZOR_ERR_OUT_OF_RANGE, "ndim is 9", "tensor 'u16'");
    CHECK_FAILS(tenzor_read_slice(f, "q4", qa, qe, 2, dst, sizeof dst, &written),
                TENZOR_ERR_UNSUPPORTED, "blocks of 32 elements", "tensor 'q4'");
    CHECK_FAILS(tenzor_read_slice(f, "u16", a, e, 3, NULL, 4, &written), TENZOR_ERR_NULL_ARGUMENT,
                "dst", NULL);
    CHECK_STATUS(tenzor_read_slice(f, "u16", NULL, e, 3, dst, sizeof dst, &written),
                 TENZOR_ERR_NULL_ARGUMENT);
    CHECK(written == 777);
    CHECK_FAILS(tenzor_read_slice(f, "u16", a, full, 3, dst, 1, &written),
                TENZOR_ERR_INVALID_ARGUMENT, "destination holds 1 bytes", NULL);
    CHECK(written == 777);
    CHECK_OK(tenzor_read_slice(f, "q4", qa_ok, qe_ok, 2, dst, sizeof dst, &written));
    CHECK(written == 2 * 18); /* two rows of one block */
    /* A scalar takes no bounds; `written` may be NULL. */
    CHECK_OK(tenzor_read_slice(f, "scalar", NULL, NULL, 0, &x, sizeof x, NULL));
    CHECK(x == 2.5f);
}

void test_slice(void) {
    static const tenzor_backend backends[] = {TENZOR_BACKEND_MMAP, TENZOR_BACKEND_READ,
                                              TENZOR_BACKEND_DIRECT};
    uint16_t *values = malloc(sizeof(uint16_t) * D0 * D1 * D2);
    const char *path;
    size_t i;
    if (values == NULL) {
        CHECK(0);
        return;
    }
    path = slice_file(values);
    for (i = 0; i < sizeof backends / sizeof backends[0]; i++) {
        const tenzor_file *f = NULL;
        tenzor_open_options o;
        memset(&o, 0, sizeof o);
        o.size = sizeof o;
        o.backend = backends[i];
        CHECK_OK(tenzor_open_ex(path, &o, &f));
        if (f == NULL) continue;
        slices_match_loops(f, values);
        rows_are_views(f, values);
        slice_errors(f);
        info_reads_nothing(f);
        tenzor_close(f);
    }
    free(values);
}
