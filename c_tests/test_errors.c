/* Every error path: the right status, a message naming the problem, and
 * out-parameters left untouched. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define SENTINEL_FILE ((const tenzor_file *)(uintptr_t)0x5a5a)
#define SENTINEL_WRITER ((tenzor_writer *)(uintptr_t)0xa5a5)

/* Opening `bytes` written to `name` fails with `status` mentioning `needle`. */
static void check_open_fails(const char *name, const void *bytes, size_t len,
                             tenzor_status status, const char *needle) {
    const char *path = work_path(name);
    const tenzor_file *f = SENTINEL_FILE;
    CHECK(write_file(path, bytes, len));
    CHECK_FAILS(tenzor_open(path, &f), status, name, needle);
    CHECK(f == SENTINEL_FILE);
}

static void test_bad_files(void) {
    size_t len = 0;
    unsigned char *good = read_file(sample_tenzor(), &len);
    unsigned char *bad;
    const tenzor_file *f = SENTINEL_FILE;
    char garbage[100];

    CHECK_FAILS(tenzor_open(work_path("missing.tenzor"), &f), TENZOR_ERR_IO, "missing.tenzor",
                "No such file");
    CHECK_FAILS(tenzor_open(tz_workdir, &f), TENZOR_ERR_INVALID_ARGUMENT, tz_workdir,
                "directory");
    CHECK_FAILS(tenzor_open("", &f), TENZOR_ERR_INVALID_ARGUMENT, "empty path", NULL);
    CHECK(f == SENTINEL_FILE);
    check_open_fails("empty.tenzor", "", 0, TENZOR_ERR_BAD_FORMAT, "empty");

    CHECK(good != NULL && len > 8192);
    if (good == NULL) {
        return;
    }
    bad = malloc(len);
    memcpy(bad, good, len);
    bad[0] ^= 0xff;
    check_open_fails("bad_magic.tenzor", bad, len, TENZOR_ERR_BAD_FORMAT, "magic");

    memcpy(bad, good, len);
    bad[66] ^= 0x01; /* inside the metadata: covered by the header checksum */
    check_open_fails("flipped_header.tenzor", bad, len, TENZOR_ERR_CHECKSUM, "header checksum");

    check_open_fails("truncated.tenzor", good, len - 1, TENZOR_ERR_BAD_FORMAT, "beyond the end");

    /* A flipped data byte opens (data is not read at open) but fails verify,
     * naming the file and the tensor. */
    memcpy(bad, good, len);
    bad[len - 1] ^= 0x01;
    CHECK(write_file(work_path("flipped_data.tenzor"), bad, len));
    f = NULL;
    CHECK_OK(tenzor_open(work_path("flipped_data.tenzor"), &f));
    CHECK_FAILS(tenzor_verify(f), TENZOR_ERR_CHECKSUM, "flipped_data.tenzor", "tensor '");
    CHECK_ERROR_MENTIONS("checksum mismatch");
    tenzor_close(f);

    /* The same from memory: the message names the buffer instead. */
    f = NULL;
    CHECK_OK(tenzor_open_memory(bad, len, &f));
    CHECK_FAILS(tenzor_verify(f), TENZOR_ERR_CHECKSUM, "memory buffer", "tensor '");
    tenzor_close(f);

    f = SENTINEL_FILE;
    memset(garbage, 'g', sizeof garbage);
    CHECK_FAILS(tenzor_open_memory(garbage, sizeof garbage, &f), TENZOR_ERR_BAD_FORMAT,
                "memory buffer", "unrecognised format");
    CHECK_FAILS(tenzor_open_memory(garbage, 0, &f), TENZOR_ERR_BAD_FORMAT, "empty", NULL);
    CHECK(f == SENTINEL_FILE);
    free(bad);
    free(good);
}

static void test_lookups(void) {
    const tenzor_file *f = NULL;
    tenzor_tensor t, sentinel;

    CHECK_OK(tenzor_open(sample_tenzor(), &f));
    if (f == NULL) {
        return;
    }
    memset(&sentinel, 0xab, sizeof sentinel);
    t = sentinel;
    CHECK_FAILS(tenzor_get_tensor(f, "no.such.tensor", &t), TENZOR_ERR_NOT_FOUND,
                "no tensor named 'no.such.tensor'", "sample.tenzor");
    CHECK_FAILS(tenzor_get_tensor_by_hash(f, 0x1234, &t), TENZOR_ERR_NOT_FOUND,
                "0x0000000000001234", "sample.tenzor");
    CHECK_FAILS(tenzor_get_tensor_at(f, 21, &t), TENZOR_ERR_NOT_FOUND, "index 21 is out of range",
                "21 tensors");
    CHECK_FAILS(tenzor_get_tensor_at(f, (size_t)-1, &t), TENZOR_ERR_NOT_FOUND, "out of range",
                NULL);
    CHECK_FAILS(tenzor_get_tensor(f, "bad\xff", &t), TENZOR_ERR_INVALID_ARGUMENT, "'name'",
                "UTF-8");
    CHECK(memcmp(&t, &sentinel, sizeof t) == 0);
    tenzor_close(f);
}

static void test_null_arguments(void) {
    const tenzor_file *f = NULL, *fs = SENTINEL_FILE;
    tenzor_writer *w = NULL, *ws = SENTINEL_WRITER;
    tenzor_tensor t;
    const char *json = "sentinel";
    const void *data = "sentinel";
    size_t len = 12345;
    uint64_t shape[1] = {1};
    float one = 1.0f;
    const char *out = work_path("nulls.tenzor");

    CHECK_FAILS(tenzor_open(NULL, &fs), TENZOR_ERR_NULL_ARGUMENT, "tenzor_open:",
                "argument 'path' is NULL");
    CHECK_FAILS(tenzor_open(sample_tenzor(), NULL), TENZOR_ERR_NULL_ARGUMENT, "tenzor_open:",
                "'out'");
    CHECK_FAILS(tenzor_open_memory(NULL, 10, &fs), TENZOR_ERR_NULL_ARGUMENT,
                "tenzor_open_memory:", "'data'");
    CHECK_FAILS(tenzor_open_memory("x", 1, NULL), TENZOR_ERR_NULL_ARGUMENT,
                "tenzor_open_memory:", "'out'");
    CHECK(fs == SENTINEL_FILE);

    CHECK_OK(tenzor_open(sample_tenzor(), &f));
    CHECK(tenzor_tensor_count(NULL) == 0);
    CHECK_FAILS(tenzor_get_tensor(NULL, "x", &t), TENZOR_ERR_NULL_ARGUMENT, "tenzor_get_tensor:",
                "'file'");
    CHECK_FAILS(tenzor_get_tensor(f, NULL, &t), TENZOR_ERR_NULL_ARGUMENT, "'name'", NULL);
    CHECK_FAILS(tenzor_get_tensor(f, "lm_head.weight", NULL), TENZOR_ERR_NULL_ARGUMENT, "'out'",
                NULL);
    CHECK_FAILS(tenzor_get_tensor_by_hash(NULL, 1, &t), TENZOR_ERR_NULL_ARGUMENT,
                "tenzor_get_tensor_by_hash:", "'file'");
    CHECK_FAILS(tenzor_get_tensor_by_hash(f, 1, NULL), TENZOR_ERR_NULL_ARGUMENT, "'out'", NULL);
    CHECK_FAILS(tenzor_get_tensor_at(NULL, 0, &t), TENZOR_ERR_NULL_ARGUMENT,
                "tenzor_get_tensor_at:", "'file'");
    CHECK_FAILS(tenzor_get_tensor_at(f, 0, NULL), TENZOR_ERR_NULL_ARGUMENT, "'out'", NULL);
    CHECK_FAILS(tenzor_metadata(NULL, &json, &len), TENZOR_ERR_NULL_ARGUMENT, "tenzor_metadata:",
                "'file'");
    CHECK_FAILS(tenzor_metadata(f, NULL, &len), TENZOR_ERR_NULL_ARGUMENT, "'json'", NULL);
    CHECK_FAILS(tenzor_metadata(f, &json, NULL), TENZOR_ERR_NULL_ARGUMENT, "'len'", NULL);
    CHECK_FAILS(tenzor_verify(NULL), TENZOR_ERR_NULL_ARGUMENT, "tenzor_verify:", "'file'");
    CHECK(tenzor_file_alignment(NULL) == 0);
    CHECK_FAILS(tenzor_file_bytes(NULL, &data, &len), TENZOR_ERR_NULL_ARGUMENT,
                "tenzor_file_bytes:", "'file'");
    CHECK_FAILS(tenzor_file_bytes(f, NULL, &len), TENZOR_ERR_NULL_ARGUMENT, "'data'", NULL);
    CHECK_FAILS(tenzor_file_bytes(f, &data, NULL), TENZOR_ERR_NULL_ARGUMENT, "'len'", NULL);
    CHECK(strcmp(json, "sentinel") == 0 && len == 12345 && strcmp(data, "sentinel") == 0);
    tenzor_close(f);

    CHECK(tenzor_hash_name(NULL, 0) == tenzor_hash_name("", 0));
    CHECK(tenzor_hash_name(NULL, 3) == 0);
    CHECK_ERROR_MENTIONS("tenzor_hash_name: argument 'name' is NULL");
    CHECK_FAILS(tenzor_convert(NULL, out), TENZOR_ERR_NULL_ARGUMENT, "tenzor_convert:", "'input'");
    CHECK_FAILS(tenzor_convert(tz_sample, NULL), TENZOR_ERR_NULL_ARGUMENT, "'output'", NULL);

    CHECK_FAILS(tenzor_writer_create(NULL, NULL, &ws), TENZOR_ERR_NULL_ARGUMENT,
                "tenzor_writer_create:", "'path'");
    CHECK_FAILS(tenzor_writer_create(out, NULL, NULL), TENZOR_ERR_NULL_ARGUMENT, "'out'", NULL);
    CHECK(ws == SENTINEL_WRITER);
    CHECK_FAILS(tenzor_writer_add(NULL, "x", TENZOR_DTYPE_F32, 1, shape, &one, 4),
                TENZOR_ERR_NULL_ARGUMENT, "tenzor_writer_add:", "'writer'");
    CHECK_OK(tenzor_writer_create(out, NULL, &w));
    CHECK_FAILS(tenzor_writer_add(w, NULL, TENZOR_DTYPE_F32, 1, shape, &one, 4),
                TENZOR_ERR_NULL_ARGUMENT, "'name'", NULL);
    CHECK_FAILS(tenzor_writer_add(w, "x", TENZOR_DTYPE_F32, 1, NULL, &one, 4),
                TENZOR_ERR_NULL_ARGUMENT, "'shape'", NULL);
    CHECK_FAILS(tenzor_writer_add(w, "x", TENZOR_DTYPE_F32, 1, shape, NULL, 4),
                TENZOR_ERR_NULL_ARGUMENT, "'data'", NULL);
    CHECK_FAILS(tenzor_writer_set_metadata(NULL, "{}", 2), TENZOR_ERR_NULL_ARGUMENT,
                "tenzor_writer_set_metadata:", "'writer'");
    CHECK_FAILS(tenzor_writer_set_metadata(w, NULL, 0), TENZOR_ERR_NULL_ARGUMENT, "'json'", NULL);
    CHECK_FAILS(tenzor_writer_finish(NULL), TENZOR_ERR_NULL_ARGUMENT, "tenzor_writer_finish:",
                "'writer'");
    /* NULL shape is fine for a scalar, NULL data for an empty tensor. */
    CHECK_OK(tenzor_writer_add(w, "scalar", TENZOR_DTYPE_F32, 0, NULL, &one, 4));
    shape[0] = 0;
    CHECK_OK(tenzor_writer_add(w, "empty", TENZOR_DTYPE_F32, 1, shape, NULL, 0));
    CHECK_OK(tenzor_writer_finish(w));
    tenzor_writer_abort(NULL);
    tenzor_close(NULL);
}

static void test_writer_errors(void) {
    const char *path = work_path("errors.tenzor");
    tenzor_writer *w = NULL, *ws = SENTINEL_WRITER;
    tenzor_writer_options opts;
    const tenzor_file *f = NULL;
    uint64_t shape[9] = {2, 3, 1, 1, 1, 1, 1, 1, 1}, three[1] = {3};
    unsigned char buf[64];
    const uint64_t bad_alignments[4] = {32, 100, 131072, 3};
    int i;

    memset(buf, 1, sizeof buf);
    CHECK_OK(tenzor_writer_create(path, NULL, &w));
    if (w == NULL) {
        return;
    }
    CHECK_OK(tenzor_writer_add(w, "a", TENZOR_DTYPE_F32, 2, shape, buf, 24));
    CHECK_FAILS(tenzor_writer_add(w, "a", TENZOR_DTYPE_F32, 2, shape, buf, 24),
                TENZOR_ERR_DUPLICATE_NAME, "tensor 'a'", "errors.tenzor");
    CHECK_FAILS(tenzor_writer_add(w, "b", TENZOR_DTYPE_F32, 2, shape, buf, 20),
                TENZOR_ERR_INVALID_ARGUMENT, "20 data bytes", "needs 24");
    CHECK_ERROR_MENTIONS("tensor 'b'");
    CHECK_ERROR_MENTIONS("errors.tenzor");
    CHECK_FAILS(tenzor_writer_add(w, "b", TENZOR_DTYPE_F4, 1, three, buf, 2),
                TENZOR_ERR_INVALID_ARGUMENT, "tensor 'b'", "F4 blocks");
    CHECK_FAILS(tenzor_writer_add(w, "b", TENZOR_DTYPE_U8, 9, shape, buf, 6),
                TENZOR_ERR_INVALID_ARGUMENT, "rank 9 exceeds the maximum of 8", "errors.tenzor");
    CHECK_FAILS(tenzor_writer_add(w, "b", 99, 1, three, buf, 3), TENZOR_ERR_INVALID_ARGUMENT,
                "unknown dtype number 99", "tensor 'b'");
    CHECK_FAILS(tenzor_writer_add(w, "b", 0x10000u + TENZOR_DTYPE_U8, 1, three, buf, 3),
                TENZOR_ERR_INVALID_ARGUMENT, "unknown dtype number 65544", NULL);
    CHECK_FAILS(tenzor_writer_add(w, "", TENZOR_DTYPE_U8, 1, three, buf, 3),
                TENZOR_ERR_INVALID_ARGUMENT, "name is empty", NULL);
    CHECK_FAILS(tenzor_writer_add(w, "\xc3", TENZOR_DTYPE_U8, 1, three, buf, 3),
                TENZOR_ERR_INVALID_ARGUMENT, "'name' is not valid UTF-8", NULL);
    CHECK_FAILS(tenzor_writer_set_metadata(w, "[1, 2]", 6), TENZOR_ERR_INVALID_ARGUMENT,
                "must be a JSON object", "errors.tenzor");
    CHECK_FAILS(tenzor_writer_set_metadata(w, "{bad", 4), TENZOR_ERR_INVALID_ARGUMENT,
                "not valid JSON", NULL);
    CHECK_FAILS(tenzor_writer_set_metadata(w, "\xff", 1), TENZOR_ERR_INVALID_ARGUMENT,
                "not UTF-8", NULL);
    /* None of those failures hurt the writer. */
    CHECK_OK(tenzor_writer_add(w, "b", TENZOR_DTYPE_U8, 1, three, buf, 3));
    CHECK_OK(tenzor_writer_finish(w));
    CHECK_OK(tenzor_open(path, &f));
    CHECK(tenzor_tensor_count(f) == 2);
    tenzor_close(f);

    memset(&opts, 0, sizeof opts);
    for (i = 0; i < 4; i++) {
        opts.alignment = bad_alignments[i];
        CHECK_FAILS(tenzor_writer_create(work_path("bad_align.tenzor"), &opts, &ws),
                    TENZOR_ERR_INVALID_ARGUMENT, "alignment", "bad_align.tenzor");
        CHECK(ws == SENTINEL_WRITER);
    }
    CHECK(count_dir_entries_containing("bad_align") == 0);
    CHECK_FAILS(tenzor_writer_create(work_path("no/such/dir/x.tenzor"), NULL, &ws), TENZOR_ERR_IO,
                "x.tenzor", "temporary file");
    CHECK(ws == SENTINEL_WRITER);

    CHECK_FAILS(tenzor_convert(work_path("missing.safetensors"), work_path("out.tenzor")),
                TENZOR_ERR_IO, "missing.safetensors", NULL);
    CHECK_FAILS(tenzor_convert(tz_sample, work_path("out.bin")), TENZOR_ERR_INVALID_ARGUMENT,
                "out.bin", "extension");
    CHECK(!file_exists(work_path("out.tenzor")) && !file_exists(work_path("out.bin")));
}

static void test_last_error_buffer(void) {
    const tenzor_file *f = NULL;
    tenzor_tensor t;
    char full[512], small[8], one[1], untouched[4] = {'a', 'b', 'c', 'd'};
    size_t n;

    CHECK_OK(tenzor_open(sample_tenzor(), &f));
    CHECK_STATUS(tenzor_get_tensor(f, "no.such.tensor", &t), TENZOR_ERR_NOT_FOUND);
    n = tenzor_last_error(NULL, 0);
    CHECK(n > 20 && n < sizeof full);
    CHECK(tenzor_last_error(full, sizeof full) == n && strlen(full) == n);
    CHECK(strncmp(full, "tenzor_get_tensor: ", 19) == 0);

    memset(small, 'X', sizeof small);
    CHECK(tenzor_last_error(small, sizeof small) == n);
    CHECK(small[7] == '\0' && strncmp(small, full, 7) == 0);
    one[0] = 'X';
    CHECK(tenzor_last_error(one, 1) == n && one[0] == '\0');
    CHECK(tenzor_last_error(untouched, 0) == n && untouched[0] == 'a');
    {
        char exact[512];
        CHECK(tenzor_last_error(exact, n + 1) == n && strcmp(exact, full) == 0);
        CHECK(tenzor_last_error(exact, n) == n && strlen(exact) == n - 1);
    }
    /* A later success does not clear the message of the last failure. */
    CHECK_OK(tenzor_get_tensor(f, "lm_head.weight", &t));
    CHECK(strcmp(last_error(), full) == 0);
    tenzor_close(f);
}

static void test_static_strings(void) {
    unsigned s;
    for (s = 0; s <= TENZOR_ERR_PANIC; s++) {
        const char *str = tenzor_status_str(s);
        CHECK(str != NULL && strlen(str) > 0 && strcmp(str, "unknown status") != 0);
    }
    CHECK(strcmp(tenzor_status_str(TENZOR_OK), "success") == 0);
    CHECK(strcmp(tenzor_status_str(1000), "unknown status") == 0);
    CHECK(strcmp(tenzor_dtype_name(TENZOR_DTYPE_F8_E4M3), "F8_E4M3") == 0);
    CHECK(strcmp(tenzor_dtype_name(TENZOR_DTYPE_F6_E3M2), "F6_E3M2") == 0);
    CHECK(tenzor_dtype_name(22) == NULL && tenzor_dtype_name(0xffffffffu) == NULL);
    CHECK(tenzor_dtype_bits(TENZOR_DTYPE_F32) == 32 && tenzor_dtype_bits(TENZOR_DTYPE_F4) == 4);
    CHECK(tenzor_dtype_bits(TENZOR_DTYPE_F6_E2M3) == 6 && tenzor_dtype_bits(22) == 0);
    /* Reference FNV-1a 64 vectors. */
    CHECK(tenzor_hash_name("a", 1) == 0xaf63dc4c8601ec8cULL);
    CHECK(tenzor_hash_name("foobar", 6) == 0x85944171f73967e8ULL);
    CHECK(tenzor_hash_name("foobarEXTRA", 6) == 0x85944171f73967e8ULL);
}

void test_errors(void) {
    test_bad_files();
    test_lookups();
    test_null_arguments();
    test_writer_errors();
    test_last_error_buffer();
    test_static_strings();
}
