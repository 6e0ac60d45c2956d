/*
 * gguf_vs_ggml: tenzor's GGUF reader side by side with ggml's own
 * (gguf_init_from_file with no_alloc = true and no ggml context, the
 * cheapest way ggml opens a file), in one process and one run.
 * Built and run by scripts/bench_meta.sh; not a test.
 *
 *   gguf_vs_ggml time FILE TENSOR ROUNDS
 *       Interleaved rounds of: open + 1 tensor lookup + close, for each
 *       reader; then reading the whole tokenizer vocabulary
 *       (tokenizer.ggml.tokens) on an open file: tenzor's
 *       tenzor_meta_array_strs (one call), tenzor_meta_array_str (one call
 *       per token) and ggml's gguf_get_arr_str loop, with and without the
 *       strlen a caller needs for the length tenzor gives. Every string's
 *       first byte (and length, where known) is summed so that no reader
 *       can skip the work.
 *       Prints "name median_ns" lines: the thread's CPU time (user +
 *       system, page faults and syscalls included), which a loaded shared
 *       machine distorts less than wall time.
 *   gguf_vs_ggml rss tenzor|ggml FILE TENSOR
 *       One open + lookup in a fresh process; prints "peak_kb base_kb":
 *       VmHWM after the open and VmRSS before it (/proc/self/status).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gguf.h"
#include "tenzor.h"

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void die(const char *what) {
    char msg[512];
    tenzor_last_error(msg, sizeof msg);
    fprintf(stderr, "gguf_vs_ggml: %s failed (%s)\n", what, msg);
    exit(1);
}

static volatile uint64_t sink;

static void open_tenzor(const char *file, const char *tensor) {
    const tenzor_file *f = NULL;
    tenzor_tensor t;
    if (tenzor_open(file, &f) != TENZOR_OK || tenzor_get_tensor(f, tensor, &t) != TENZOR_OK) {
        die("tenzor open + lookup");
    }
    sink += t.size;
    tenzor_close(f);
}

static void open_ggml(const char *file, const char *tensor) {
    struct gguf_init_params p = {true, NULL};
    struct gguf_context *g = gguf_init_from_file(file, p);
    int64_t t;
    if (g == NULL || (t = gguf_find_tensor(g, tensor)) < 0) {
        die("ggml open + lookup");
    }
    sink += gguf_get_tensor_size(g, t);
    gguf_free(g);
}

static int cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define MAX_ROUNDS 1000

static void vocab_rounds(const char *file, int rounds) {
    static uint64_t bulk[MAX_ROUNDS], each[MAX_ROUNDS], ggml[MAX_ROUNDS], ggml_len[MAX_ROUNDS];
    struct gguf_init_params p = {true, NULL};
    struct gguf_context *g = gguf_init_from_file(file, p);
    const tenzor_file *f = NULL;
    size_t at, n, i;
    tenzor_value_type item;
    tenzor_str *strs;
    int64_t key;
    int r;
    if (g == NULL || (key = gguf_find_key(g, "tokenizer.ggml.tokens")) < 0) {
        die("ggml open");
    }
    if (tenzor_open(file, &f) != TENZOR_OK ||
        tenzor_meta_find(f, "tokenizer.ggml.tokens", &at) != TENZOR_OK ||
        tenzor_meta_array_info(f, at, &item, &n) != TENZOR_OK || n != gguf_get_arr_n(g, key)) {
        die("tenzor open");
    }
    strs = malloc(n * sizeof *strs);
    for (r = 0; r < rounds; r++) {
        uint64_t t0 = now_ns(), sum = 0;
        if (tenzor_meta_array_strs(f, at, 0, n, strs) != TENZOR_OK) {
            die("tenzor_meta_array_strs");
        }
        for (i = 0; i < n; i++) {
            sum += strs[i].len + (strs[i].len ? (unsigned char)strs[i].ptr[0] : 0);
        }
        bulk[r] = now_ns() - t0;
        t0 = now_ns();
        for (i = 0; i < n; i++) {
            const char *s;
            size_t len;
            if (tenzor_meta_array_str(f, at, i, &s, &len) != TENZOR_OK) {
                die("tenzor_meta_array_str");
            }
            sum += len + (len ? (unsigned char)s[0] : 0);
        }
        each[r] = now_ns() - t0;
        t0 = now_ns();
        for (i = 0; i < n; i++) {
            sum += (unsigned char)gguf_get_arr_str(g, key, i)[0];
        }
        ggml[r] = now_ns() - t0;
        t0 = now_ns();
        for (i = 0; i < n; i++) {
            const char *s = gguf_get_arr_str(g, key, i);
            sum += strlen(s) + (unsigned char)s[0];
        }
        ggml_len[r] = now_ns() - t0;
        sink += sum;
    }
    printf("vocab_tenzor_strs %llu\n", (unsigned long long)median(bulk, rounds));
    printf("vocab_tenzor_str_each %llu\n", (unsigned long long)median(each, rounds));
    printf("vocab_ggml_get_arr_str %llu\n", (unsigned long long)median(ggml, rounds));
    printf("vocab_ggml_get_arr_str_strlen %llu\n", (unsigned long long)median(ggml_len, rounds));
    printf("vocab_tokens %zu\n", n);
    free(strs);
    tenzor_close(f);
    gguf_free(g);
}

static long status_kb(const char *field) {
    char line[256];
    long kb = -1;
    FILE *s = fopen("/proc/self/status", "r");
    while (s != NULL && fgets(line, sizeof line, s) != NULL) {
        if (strncmp(line, field, strlen(field)) == 0) {
            kb = strtol(line + strlen(field), NULL, 10);
        }
    }
    if (s != NULL) {
        fclose(s);
    }
    return kb;
}

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "time") == 0) {
        static uint64_t tz[MAX_ROUNDS], gg[MAX_ROUNDS];
        int rounds = atoi(argv[4]), r;
        if (rounds < 1 || rounds > MAX_ROUNDS) {
            return 2;
        }
        open_tenzor(argv[2], argv[3]); /* warm the page cache for both */
        open_ggml(argv[2], argv[3]);
        for (r = 0; r < rounds; r++) {
            uint64_t t0 = now_ns();
            open_tenzor(argv[2], argv[3]);
            tz[r] = now_ns() - t0;
            t0 = now_ns();
            open_ggml(argv[2], argv[3]);
            gg[r] = now_ns() - t0;
        }
        printf("open_lookup_tenzor %llu\n", (unsigned long long)median(tz, rounds));
        printf("open_lookup_ggml %llu\n", (unsigned long long)median(gg, rounds));
        vocab_rounds(argv[2], rounds);
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "rss") == 0) {
        long base = status_kb("VmRSS:");
        if (strcmp(argv[2], "tenzor") == 0) {
            open_tenzor(argv[3], argv[4]);
        } else {
            open_ggml(argv[3], argv[4]);
        }
        printf("%ld %ld\n", status_kb("VmHWM:"), base);
        return 0;
    }
    fprintf(stderr, "usage: gguf_vs_ggml time FILE TENSOR ROUNDS | rss tenzor|ggml FILE TENSOR\n");
    return 2;
}
