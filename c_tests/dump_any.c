/* Opens each file named on the command line through tenzor_open (any
 * format) and prints one line per tensor, in position order:
 *   F\t<path>\t<format>\t<shards>\t<count>
 *   T\t<position>\t<name>\t<dtype>\t<ndim>\t<d0,d1,...>\t<size>\t<file_offset>\t<fnv1a64 of data>
 * tests/c_formats.rs compares the lines with what the Python packages read.
 * Exits non-zero on any failure, printing tenzor_last_error. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tenzor.h"

static uint64_t fnv1a(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static int fail(const char *what) {
    char msg[512];
    tenzor_last_error(msg, sizeof msg);
    fprintf(stderr, "%s: %s\n", what, msg);
    return 1;
}

int main(int argc, char **argv) {
    int a;
    for (a = 1; a < argc; a++) {
        const tenzor_file *f = NULL;
        size_t i, n, d;
        if (tenzor_open(argv[a], &f) != TENZOR_OK) return fail("tenzor_open");
        n = tenzor_tensor_count(f);
        printf("F\t%s\t%u\t%zu\t%zu\n", argv[a], (unsigned)tenzor_file_format(f),
               tenzor_file_shard_count(f), n);
        for (i = 0; i < n; i++) {
            tenzor_tensor t, again;
            if (tenzor_get_tensor_at(f, i, &t) != TENZOR_OK) return fail("tenzor_get_tensor_at");
            if (tenzor_get_tensor(f, t.name, &again) != TENZOR_OK) return fail("tenzor_get_tensor");
            if (again.data != t.data || again.size != t.size) {
                fprintf(stderr, "lookup by name gave another view of %s\n", t.name);
                return 1;
            }
            if (strlen(t.name) != t.name_len) {
                fprintf(stderr, "name of %zu is not NUL-terminated at its length\n", i);
                return 1;
            }
            printf("T\t%zu\t%s\t%s\t%u\t", i, t.name, tenzor_dtype_name(t.dtype), (unsigned)t.ndim);
            for (d = 0; d < t.ndim; d++) printf(d ? ",%" PRIu64 : "%" PRIu64, t.shape[d]);
            printf("\t%zu\t%" PRIu64 "\t%016" PRIx64 "\n", t.size, t.file_offset,
                   fnv1a((const unsigned char *)t.data, t.size));
        }
        if (tenzor_verify(f) != TENZOR_OK) return fail("tenzor_verify");
        tenzor_close(f);
    }
    return 0;
}
