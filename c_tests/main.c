/* Runs every suite; exits non-zero when any CHECK failed. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

int tz_checks = 0;
int tz_failures = 0;
const char *tz_workdir = NULL;
const char *tz_sample = NULL;

const char *last_error(void) {
    static char buf[1024];
    tenzor_last_error(buf, sizeof buf);
    return buf;
}

void check_error_mentions(const char *file, int line, const char *needle) {
    const char *msg;
    if (needle == NULL) {
        return;
    }
    msg = last_error();
    tz_checks++;
    if (strstr(msg, needle) == NULL) {
        tz_failures++;
        fprintf(stderr, "%s:%d: last error \"%s\" does not mention \"%s\"\n", file, line, msg,
                needle);
    }
}

const char *work_path(const char *name) {
    static char bufs[8][4096];
    static int next = 0;
    char *b = bufs[next];
    next = (next + 1) % 8;
    snprintf(b, sizeof bufs[0], "%s/%s", tz_workdir, name);
    return b;
}

unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long size;
    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    buf = malloc(size > 0 ? (size_t)size : 1);
    if (buf != NULL && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)size;
    return buf;
}

int write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    int ok;
    if (f == NULL) {
        return 0;
    }
    ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

int file_exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return 0;
    }
    fclose(f);
    return 1;
}

int count_dir_entries_containing(const char *needle) {
    DIR *d = opendir(tz_workdir);
    struct dirent *e;
    int n = 0;
    if (d == NULL) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (strstr(e->d_name, needle) != NULL) {
            n++;
        }
    }
    closedir(d);
    return n;
}

uint64_t le64(const unsigned char *p) {
    uint64_t v = 0;
    int i;
    for (i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

const char *sample_tenzor(void) { return work_path("sample.tenzor"); }

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s WORKDIR SAMPLE.safetensors\n", argv[0]);
        return 2;
    }
    tz_workdir = argv[1];
    tz_sample = argv[2];

    CHECK(header_twice_a() == TENZOR_VERSION_MAJOR * 10000 + TENZOR_VERSION_MINOR * 100 +
                                  TENZOR_VERSION_PATCH);
    CHECK(header_twice_b() == TENZOR_MAX_DIMS);
    CHECK_OK(tenzor_convert(tz_sample, sample_tenzor()));

    test_read();
    test_write();
    test_errors();
    test_threads();
    test_load();
    test_slice();
    test_edit();
    test_paths();
    test_append();
    test_meta();

    printf("%d checks: %d passed, %d failed\n", tz_checks, tz_checks - tz_failures, tz_failures);
    return tz_failures == 0 ? 0 : 1;
}
