/* The lean library (cargo build --no-default-features: read-only, .tenzor
 * only) through the one tenzor.h: a .tenzor file reads as in the default
 * build, and what the left-out features provide fails with
 * TENZOR_ERR_UNSUPPORTED and a last error naming the feature.
 * Built and run by scripts/test-lean.sh (-std=c99 -Wall -Wextra -Wpedantic
 * -Werror, under valgrind).
 *
 * usage: test_lean SAMPLE.tenzor SAMPLE.safetensors FILE.gguf SET.index.json WORKDIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tenzor.h"

static int checks, failures;

#define CHECK(cond)                                                            \
    do {                                                                       \
        checks++;                                                              \
        if (!(cond)) {                                                         \
            failures++;                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n",      \
                    __FILE__, __LINE__, #cond, last_error());                  \
        }                                                                      \
    } while (0)

static const char *last_error(void) {
    static char buf[1024];
    tenzor_last_error(buf, sizeof buf);
    return buf;
}

/* The last error names the function and the left-out feature. */
static int says_without(const char *function, const char *feature) {
    char want[64];
    snprintf(want, sizeof want, "built without feature `%s`", feature);
    const char *e = last_error();
    return strstr(e, function) == e && strstr(e, want) != NULL;
}

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = n > 0 ? malloc((size_t)n) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Every tensor of `file` is there by position, by name and by hash, with
 * its checksum; the metadata is the sample's. */
static void check_contents(const tenzor_file *file) {
    size_t n = tenzor_tensor_count(file);
    CHECK(n == 21); /* examples/sample.safetensors, converted */
    CHECK(tenzor_file_format(file) == TENZOR_FORMAT_TENZOR);
    for (size_t i = 0; i < n; i++) {
        tenzor_tensor at, by_name, by_hash;
        CHECK(tenzor_get_tensor_at(file, i, &at) == TENZOR_OK);
        CHECK(tenzor_get_tensor(file, at.name, &by_name) == TENZOR_OK);
        CHECK(tenzor_get_tensor_by_hash(file, at.name_hash, &by_hash) == TENZOR_OK);
        CHECK(by_name.data == at.data && by_hash.data == at.data);
        CHECK((at.dtype == TENZOR_DTYPE_F32 || at.dtype == TENZOR_DTYPE_BF16) && at.has_checksum);
    }
    tenzor_tensor t;
    CHECK(tenzor_get_tensor(file, "model.embed_tokens.weight", &t) == TENZOR_OK);
    CHECK(t.ndim == 2 && t.shape[0] == 64 && t.shape[1] == 32 && t.size == 64 * 32 * 4);
    CHECK(tenzor_get_tensor(file, "absent", &t) == TENZOR_ERR_NOT_FOUND);
    CHECK(tenzor_verify(file) == TENZOR_OK);

    size_t index = 0, len = 0;
    const char *str = NULL;
    CHECK(tenzor_meta_find(file, "format", &index) == TENZOR_OK);
    CHECK(tenzor_meta_get_str(file, index, &str, &len) == TENZOR_OK);
    CHECK(len == 2 && str && memcmp(str, "pt", 2) == 0);
}

static void reads_tenzor(const char *path) {
    const tenzor_file *file = NULL;
    CHECK(tenzor_open(path, &file) == TENZOR_OK);
    if (file) check_contents(file);
    tenzor_close(file);

    size_t len = 0;
    unsigned char *bytes = slurp(path, &len);
    CHECK(bytes != NULL);
    const tenzor_file *mem = NULL;
    if (bytes) CHECK(tenzor_open_memory(bytes, len, &mem) == TENZOR_OK);
    if (mem) check_contents(mem);
    tenzor_close(mem);

    /* A corrupted copy is still refused with the reason. */
    if (bytes) {
        bytes[len - 1] ^= 0xff;
        CHECK(tenzor_open_memory(bytes, len, &mem) == TENZOR_OK);
        if (mem) CHECK(tenzor_verify(mem) == TENZOR_ERR_CHECKSUM);
        tenzor_close(mem);
    }
    free(bytes);
}

/* Other formats are recognised, then refused: feature `foreign`. */
static void refuses_foreign(const char *st, const char *gguf, const char *index) {
    const char *paths[] = {st, gguf, index};
    for (size_t i = 0; i < 3; i++) {
        const tenzor_file *file = (const tenzor_file *)&checks; /* must stay untouched */
        CHECK(tenzor_open(paths[i], &file) == TENZOR_ERR_UNSUPPORTED);
        CHECK(says_without("tenzor_open", "foreign"));
        CHECK(strstr(last_error(), paths[i]) != NULL);
        CHECK(file == (const tenzor_file *)&checks);
    }
    size_t len = 0;
    unsigned char *bytes = slurp(st, &len);
    const tenzor_file *mem = NULL;
    CHECK(bytes && tenzor_open_memory(bytes, len, &mem) == TENZOR_ERR_UNSUPPORTED && !mem);
    CHECK(says_without("tenzor_open_memory", "foreign"));
    free(bytes);
}

/* Writing, editing, appending and converting: feature `write`. */
static void refuses_write(const char *tenzor_path, const char *workdir) {
    char out[4096];
    snprintf(out, sizeof out, "%s/new.tenzor", workdir);

    tenzor_writer *w = NULL;
    CHECK(tenzor_writer_create(out, NULL, &w) == TENZOR_ERR_UNSUPPORTED && !w);
    CHECK(says_without("tenzor_writer_create", "write"));
    uint64_t shape[1] = {1};
    float x = 1.0f;
    CHECK(tenzor_writer_add(w, "x", TENZOR_DTYPE_F32, 1, shape, &x, 4) ==
          TENZOR_ERR_UNSUPPORTED);
    CHECK(says_without("tenzor_writer_add", "write"));
    CHECK(tenzor_writer_finish(w) == TENZOR_ERR_UNSUPPORTED);
    tenzor_writer_abort(NULL);

    tenzor_editor *ed = NULL;
    CHECK(tenzor_editor_open(tenzor_path, &ed) == TENZOR_ERR_UNSUPPORTED && !ed);
    CHECK(says_without("tenzor_editor_open", "write"));
    CHECK(tenzor_editor_tensor_count(NULL) == 0);
    CHECK(says_without("tenzor_editor_tensor_count", "write"));
    CHECK(tenzor_editor_close(NULL) == TENZOR_OK);
    CHECK(tenzor_rehash(tenzor_path) == TENZOR_ERR_UNSUPPORTED);
    CHECK(says_without("tenzor_rehash", "write"));

    tenzor_appender *ap = NULL;
    CHECK(tenzor_appender_open(out, NULL, &ap) == TENZOR_ERR_UNSUPPORTED && !ap);
    CHECK(says_without("tenzor_appender_open", "write"));
    tenzor_appender_abort(NULL);

    CHECK(tenzor_convert(tenzor_path, out) == TENZOR_ERR_UNSUPPORTED);
    CHECK(says_without("tenzor_convert", "write"));

    FILE *f = fopen(out, "rb"); /* nothing was created */
    CHECK(f == NULL);
    if (f) fclose(f);
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s SAMPLE.tenzor SAMPLE.safetensors FILE.gguf SET.index.json "
                        "WORKDIR\n", argv[0]);
        return 2;
    }
    reads_tenzor(argv[1]);
    refuses_foreign(argv[2], argv[3], argv[4]);
    refuses_write(argv[1], argv[5]);
    printf("lean: %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
