/* Opens each file named on the command line (any format) and prints one
 * line per tensor, in position order:
 *   F\t<path>\t<format>\t<shards>\t<count>
 *   T\t<position>\t<name>\t<dtype>\t<ndim>\t<d0,d1,...>\t<size>\t<file_offset>\t<fnv1a64 of data>
 * tests/c_formats.rs compares the lines with what the Python packages read,
 * and across backends. Options before the files: --backend=mmap|read|direct
 * and --lazy open with tenzor_open_ex; every tensor is then also read into
 * caller memory (tenzor_read_tensor, 4096-aligned and not, and one
 * tenzor_read_batch of all tensors) and compared with its view.
 * Exits non-zero on any failure, printing tenzor_last_error. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Reads `t` with tenzor_read_tensor into aligned and unaligned memory. */
static int check_read_tensor(const tenzor_file *f, const tenzor_tensor *t) {
    void *mem = NULL;
    unsigned char *dst;
    size_t size = 0, skew;
    int bad = 0;
    if (tenzor_read_tensor(f, t->name, NULL, 0, &size) != TENZOR_OK || size != t->size) {
        return fail("tenzor_read_tensor (size query)");
    }
    if (posix_memalign(&mem, 4096, t->size + 4096) != 0) return fail("posix_memalign");
    for (skew = 0; skew < 2 && !bad; skew++) {
        dst = (unsigned char *)mem + skew;
        if (tenzor_read_tensor(f, t->name, dst, t->size, &size) != TENZOR_OK) {
            bad = fail("tenzor_read_tensor");
        } else if (size != t->size || (t->size && memcmp(dst, t->data, t->size) != 0)) {
            fprintf(stderr, "tenzor_read_tensor of %s differs from its view\n", t->name);
            bad = 1;
        }
    }
    free(mem);
    return bad;
}

/* Reads every tensor at once with tenzor_read_batch and compares. */
static int check_batch(const tenzor_file *f, size_t n) {
    tenzor_read_request *reqs = calloc(n ? n : 1, sizeof *reqs);
    tenzor_batch_options o;
    size_t i;
    int bad = 0;
    if (reqs == NULL) return fail("calloc");
    for (i = 0; i < n && !bad; i++) {
        tenzor_tensor t;
        if (tenzor_get_tensor_at(f, i, &t) != TENZOR_OK) bad = fail("tenzor_get_tensor_at");
        reqs[i].name = t.name;
        reqs[i].len = t.size;
        reqs[i].dst = malloc(t.size ? t.size : 1);
    }
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.threads = 2;
    o.coalesce = 1;
    o.chunk_size = 4096;
    if (!bad && tenzor_read_batch(f, reqs, n, &o) != TENZOR_OK) bad = fail("tenzor_read_batch");
    for (i = 0; i < n; i++) {
        tenzor_tensor t;
        if (!bad && tenzor_get_tensor_at(f, i, &t) == TENZOR_OK && t.size &&
            memcmp(reqs[i].dst, t.data, t.size) != 0) {
            fprintf(stderr, "tenzor_read_batch of %s differs from its view\n", t.name);
            bad = 1;
        }
        free(reqs[i].dst);
    }
    free(reqs);
    return bad;
}

static int dump(const char *path, const tenzor_open_options *opts) {
    const tenzor_file *f = NULL;
    size_t i, n, d;
    if (opts == NULL ? tenzor_open(path, &f) != TENZOR_OK
                     : tenzor_open_ex(path, opts, &f) != TENZOR_OK) {
        return fail("tenzor_open");
    }
    n = tenzor_tensor_count(f);
    printf("F\t%s\t%u\t%zu\t%zu\n", path, (unsigned)tenzor_file_format(f),
           tenzor_file_shard_count(f), n);
    for (i = 0; i < n; i++) {
        tenzor_tensor t, again;
        if (tenzor_get_tensor_at(f, i, &t) != TENZOR_OK) return fail("tenzor_get_tensor_at");
        /* Legacy v1 files store no names: look those up by hash. */
        if (t.name == NULL ? tenzor_get_tensor_by_hash(f, t.name_hash, &again) != TENZOR_OK
                           : tenzor_get_tensor(f, t.name, &again) != TENZOR_OK) {
            return fail("tenzor_get_tensor");
        }
        if (again.data != t.data || again.size != t.size) {
            fprintf(stderr, "lookup by name gave another view of %s\n", t.name);
            return 1;
        }
        if (t.name != NULL && strlen(t.name) != t.name_len) {
            fprintf(stderr, "name of %zu is not NUL-terminated at its length\n", i);
            return 1;
        }
        if (opts != NULL && t.name != NULL && check_read_tensor(f, &t)) return 1;
        if (t.name != NULL) {
            printf("T\t%zu\t%s\t", i, t.name);
        } else {
            printf("T\t%zu\t0x%016" PRIx64 "\t", i, t.name_hash);
        }
        printf("%s\t%u\t", tenzor_dtype_name(t.dtype), (unsigned)t.ndim);
        for (d = 0; d < t.ndim; d++) printf(d ? ",%" PRIu64 : "%" PRIu64, t.shape[d]);
        printf("\t%zu\t%" PRIu64 "\t%016" PRIx64 "\n", t.size, t.file_offset,
               fnv1a((const unsigned char *)t.data, t.size));
    }
    if (opts != NULL && tenzor_file_format(f) != TENZOR_FORMAT_TENZOR_LEGACY && check_batch(f, n)) {
        return 1;
    }
    if (tenzor_verify(f) != TENZOR_OK) return fail("tenzor_verify");
    tenzor_close(f);
    return 0;
}

int main(int argc, char **argv) {
    tenzor_open_options opts;
    int a, custom = 0;
    memset(&opts, 0, sizeof opts);
    opts.size = sizeof opts;
    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--backend=mmap") == 0) {
            opts.backend = TENZOR_BACKEND_MMAP;
        } else if (strcmp(argv[a], "--backend=read") == 0) {
            opts.backend = TENZOR_BACKEND_READ;
        } else if (strcmp(argv[a], "--backend=direct") == 0) {
            opts.backend = TENZOR_BACKEND_DIRECT;
        } else if (strcmp(argv[a], "--lazy") == 0) {
            opts.validation = TENZOR_VALIDATION_LAZY;
        } else {
            break;
        }
        custom = 1;
    }
    for (; a < argc; a++) {
        if (dump(argv[a], custom ? &opts : NULL)) return 1;
    }
    return 0;
}
