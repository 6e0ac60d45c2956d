/* Opening by path: names and metadata that look like a GGUF split, and
 * files that are not regular files. */
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "check.h"

/* Writes one small .tenzor holding `meta` to `name` in the work directory. */
static const char *write_with_metadata(const char *name, const char *meta) {
    const char *path = work_path(name);
    tenzor_writer *w = NULL;
    const uint64_t shape[1] = {3};
    const unsigned char data[3] = {1, 2, 3};
    CHECK_OK(tenzor_writer_create(path, NULL, &w));
    CHECK_OK(tenzor_writer_add(w, "x", TENZOR_DTYPE_U8, 1, shape, data, sizeof data));
    CHECK_OK(tenzor_writer_set_metadata(w, meta, strlen(meta)));
    CHECK_OK(tenzor_writer_finish(w));
    return path;
}

/* Regression: `split.*` keys in a .tenzor are plain metadata, not a GGUF
 * split, whatever the file is called. */
static void test_split_keys_outside_gguf(void) {
    static const char *const names[] = {"plain_split_keys.tenzor", "keys-00001-of-00002.tenzor",
                                        "keys-00001-of-00002.gguf"};
    const char *meta = "{\"split.no\": 0, \"split.count\": 2}";
    size_t i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *path = write_with_metadata(names[i], meta);
        const tenzor_file *f = NULL;
        tenzor_tensor t;
        const char *json = NULL;
        size_t len = 0;
        CHECK_OK(tenzor_open(path, &f));
        if (f == NULL) {
            continue;
        }
        CHECK(tenzor_file_format(f) == TENZOR_FORMAT_TENZOR);
        CHECK(tenzor_file_shard_count(f) == 1);
        CHECK_OK(tenzor_get_tensor(f, "x", &t));
        CHECK(t.size == 3 && memcmp(t.data, "\1\2\3", 3) == 0);
        CHECK_OK(tenzor_metadata(f, &json, &len));
        CHECK(json != NULL && len > 0 && strstr(json, "split.count") != NULL);
        tenzor_close(f);
    }
}

/* `path` is refused at once as "not a regular file (<kind>)". */
static void check_not_regular(const char *path, const char *kind) {
    const tenzor_file *f = (const tenzor_file *)(uintptr_t)0x5a5a;
    char needle[64];
    snprintf(needle, sizeof needle, "not a regular file (%s)", kind);
    CHECK_FAILS(tenzor_open(path, &f), TENZOR_ERR_INVALID_ARGUMENT, path, needle);
    CHECK(f == (const tenzor_file *)(uintptr_t)0x5a5a);
}

/* A named pipe used to block tenzor_open forever and /dev/zero read as
 * "empty": both are refused without waiting. The alarm turns a regression
 * (a hang) into a failed run. */
static void test_special_files(void) {
    const char *fifo = work_path("pipe.tenzor");
    const char *link = work_path("pipe_link.tenzor");
    const char *zero_link = work_path("zero_link.tenzor");
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK(symlink(fifo, link) == 0);
    CHECK(symlink("/dev/zero", zero_link) == 0);
    alarm(60);
    check_not_regular(fifo, "fifo");
    check_not_regular(link, "fifo");
    check_not_regular("/dev/zero", "character device");
    check_not_regular(zero_link, "character device");
    alarm(0);
    CHECK(unlink(link) == 0 && unlink(fifo) == 0 && unlink(zero_link) == 0);
}

void test_paths(void) {
    test_split_keys_outside_gguf();
    test_special_files();
}
