/* Editing in place from C: pointers written through and read back after
 * close and reopen, typed writes, the edit mark while editing and after a
 * crash (simulated), rehash, the write lock, missing names, read-only
 * files and a foreign (safetensors) file. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#define EMBED "model.embed_tokens.weight"
#define NORM "model.norm.weight"

/* Copies `from` to `to`; returns 1 on success. */
static int copy_file(const char *from, const char *to) {
    size_t len = 0;
    unsigned char *b = read_file(from, &len);
    int ok = b != NULL && write_file(to, b, len);
    free(b);
    return ok;
}

/* Checks (through a fresh read-only handle) that `name` holds `len` bytes of
 * `value`, whether the file is marked, and whether it verifies. */
static void check_file(const char *path, const char *name, unsigned char value, int marked,
                       tenzor_status verify) {
    const tenzor_file *f = NULL;
    tenzor_tensor t;
    size_t i;
    int all = 1;
    CHECK_OK(tenzor_open(path, &f));
    if (f == NULL) {
        return;
    }
    CHECK(tenzor_file_edit_interrupted(f) == (marked != 0));
    CHECK_STATUS(tenzor_verify(f), verify);
    CHECK_OK(tenzor_get_tensor(f, name, &t));
    for (i = 0; i < t.size; i++) {
        all = all && ((const unsigned char *)t.data)[i] == value;
    }
    CHECK(t.size > 0 && all);
    tenzor_close(f);
}

static void test_edit_and_reopen(void) {
    const char *path = work_path("edit.tenzor");
    tenzor_editor *e = NULL, *other = (tenzor_editor *)&e;
    tenzor_tensor_mut v, keep, untouched;
    const tenzor_file *reader = NULL;
    tenzor_tensor before;
    float *f;
    size_t i;

    CHECK(copy_file(sample_tenzor(), path));
    CHECK_OK(tenzor_open(path, &reader)); /* mapped before the edit */
    CHECK_OK(tenzor_get_tensor(reader, EMBED, &before));
    CHECK_OK(tenzor_editor_open(path, &e));
    if (e == NULL || reader == NULL) {
        return;
    }
    CHECK(tenzor_editor_tensor_count(e) == tenzor_tensor_count(reader));
    CHECK(!tenzor_file_edit_interrupted(reader));

    CHECK_OK(tenzor_editor_get_tensor(e, EMBED, &v));
    CHECK(v.size == before.size && v.dtype == before.dtype && v.ndim == 2);
    CHECK(v.file_offset == before.file_offset && v.position == before.position);
    CHECK(v.name != NULL && strcmp(v.name, EMBED) == 0 && v.name_len == strlen(EMBED));
    {
        /* Writing exactly `size` bytes leaves the next tensor alone. */
        const tenzor_file *g = NULL;
        tenzor_tensor next;
        unsigned char *copy = NULL;
        CHECK_OK(tenzor_open(path, &g));
        CHECK_OK(tenzor_get_tensor_at(g, v.position + 1, &next));
        if (g != NULL) {
            copy = malloc(next.size);
        }
        if (copy != NULL) {
            memcpy(copy, next.data, next.size);
            CHECK(next.file_offset >= v.file_offset + v.size);
        }
        memset(v.data, 0x5a, v.size); /* bounded by the view's size */
        CHECK(copy != NULL && memcmp(copy, next.data, next.size) == 0);
        free(copy);
        tenzor_close(g);
    }
    /* The earlier reader shares the pages: it sees the new bytes at once. */
    CHECK(((const unsigned char *)before.data)[0] == 0x5a);
    check_file(path, EMBED, 0x5a, 1, TENZOR_ERR_CHECKSUM);
    CHECK_ERROR_MENTIONS("stale after an interrupted edit: '" EMBED "'");

    /* One writer at a time; rehash must not clear a live edit's mark. */
    CHECK_FAILS(tenzor_editor_open(path, &other), TENZOR_ERR_BUSY, "edit.tenzor", "write lock");
    CHECK(other == (tenzor_editor *)&e);
    CHECK_FAILS(tenzor_rehash(path), TENZOR_ERR_BUSY, "edit.tenzor", NULL);

    /* Misses leave the out-param alone and hand nothing out. */
    memset(&untouched, 0xee, sizeof untouched);
    keep = untouched;
    CHECK_FAILS(tenzor_editor_get_tensor(e, "nope", &keep), TENZOR_ERR_NOT_FOUND, "'nope'",
                "edit.tenzor");
    CHECK_FAILS(tenzor_editor_get_tensor_at(e, tenzor_editor_tensor_count(e), &keep),
                TENZOR_ERR_OUT_OF_RANGE, "position", NULL);
    CHECK(memcmp(&keep, &untouched, sizeof keep) == 0);

    CHECK_OK(tenzor_editor_flush(e));
    check_file(path, EMBED, 0x5a, 0, TENZOR_OK);

    /* Typed: F32 data of a .tenzor file is aligned for float. */
    CHECK_OK(tenzor_editor_get_tensor(e, NORM, &v));
    CHECK(v.dtype == TENZOR_DTYPE_F32 && v.alignment >= sizeof(float));
    f = (float *)v.data;
    for (i = 0; i < v.size / sizeof(float); i++) {
        f[i] = 0.0f;
    }
    /* The mark is read at open: a handle from before the edit does not see it. */
    CHECK(!tenzor_file_edit_interrupted(reader));
    CHECK_OK(tenzor_editor_close(e)); /* flushes */
    check_file(path, NORM, 0, 0, TENZOR_OK);
    check_file(path, EMBED, 0x5a, 0, TENZOR_OK);
    CHECK_OK(tenzor_editor_close(NULL));
    tenzor_close(reader);

    /* The lock went with the editor. */
    CHECK_OK(tenzor_editor_open(path, &e));
    CHECK_OK(tenzor_editor_close(e));
}

static void test_mark_left_by_a_crash(void) {
    const char *path = work_path("crashed.tenzor");
    const tenzor_file *f = NULL;
    tenzor_editor *e = NULL;
    tenzor_tensor t;
    unsigned char *b;
    size_t len = 0;

    CHECK(copy_file(sample_tenzor(), path));
    CHECK_OK(tenzor_open(path, &f));
    CHECK_OK(tenzor_get_tensor(f, NORM, &t));
    b = read_file(path, &len);
    if (b == NULL || f == NULL) {
        free(b);
        tenzor_close(f);
        return;
    }
    /* What a process killed mid-edit leaves: the mark, new bytes, the old checksum. */
    b[12] |= 0x2;
    b[t.file_offset] ^= 0xff;
    tenzor_close(f);
    CHECK(write_file(path, b, len));
    free(b);

    CHECK_OK(tenzor_open(path, &f));
    CHECK(tenzor_file_edit_interrupted(f));
    CHECK_FAILS(tenzor_verify(f), TENZOR_ERR_CHECKSUM,
                "tensor is stale after an interrupted edit: '" NORM "'", "rehash");
    tenzor_close(f);
    CHECK_FAILS(tenzor_editor_open(path, &e), TENZOR_ERR_CHECKSUM, "rehash", "crashed.tenzor");
    CHECK(e == NULL);
    CHECK_OK(tenzor_rehash(path));
    CHECK_OK(tenzor_open(path, &f));
    CHECK(!tenzor_file_edit_interrupted(f));
    CHECK_OK(tenzor_verify(f));
    tenzor_close(f);
    CHECK(!tenzor_file_edit_interrupted(NULL));
}

static void test_foreign_file(void) {
    const char *path = work_path("edit.safetensors");
    tenzor_editor *e = NULL;
    tenzor_tensor_mut v;
    CHECK(copy_file(tz_sample, path));
    CHECK_OK(tenzor_editor_open(path, &e));
    if (e == NULL) {
        return;
    }
    CHECK_OK(tenzor_editor_get_tensor_at(e, 0, &v));
    CHECK(strcmp(v.name, EMBED) == 0);
    memset(v.data, 0x11, v.size);
    CHECK_OK(tenzor_editor_close(e));
    check_file(path, EMBED, 0x11, 0, TENZOR_OK);
    CHECK_FAILS(tenzor_rehash(path), TENZOR_ERR_UNSUPPORTED, "no checksums", NULL);
}

/* root ignores file modes: drop the effective uid for the attempt. */
static void test_read_only_file(void) {
    const char *path = work_path("readonly.tenzor");
    tenzor_editor *e = NULL;
    int root = geteuid() == 0;
    CHECK(copy_file(sample_tenzor(), path));
    CHECK(chmod(path, 0444) == 0);
    CHECK(chmod(tz_workdir, 0755) == 0);
    if (root) {
        CHECK(seteuid(65534) == 0);
    }
    CHECK_FAILS(tenzor_editor_open(path, &e), TENZOR_ERR_IO, "readonly.tenzor",
                "Permission denied");
    if (root) {
        CHECK(seteuid(0) == 0);
    }
    CHECK(e == NULL);
    CHECK_FAILS(tenzor_editor_open(work_path("absent.tenzor"), &e), TENZOR_ERR_IO, "absent.tenzor",
                "cannot open for editing");
    CHECK_STATUS(tenzor_editor_open(NULL, &e), TENZOR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(tenzor_editor_open(path, NULL), TENZOR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(tenzor_editor_flush(NULL), TENZOR_ERR_NULL_ARGUMENT);
}

void test_edit(void) {
    test_edit_and_reopen();
    test_mark_left_by_a_crash();
    test_foreign_file();
    test_read_only_file();
}
