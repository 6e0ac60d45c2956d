/* One tenzor_file shared by many threads: lookups, metadata and errors at
 * once. Threads count their own failures (CHECK is not thread-safe). */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

#define THREADS 8
#define ROUNDS 200

struct job {
    const tenzor_file *file;
    const tenzor_tensor *expect; /* every tensor, looked up once before */
    size_t count;
    int id;
    const char *metadata;        /* filled by the thread */
    int failures;
};

static void *lookup_worker(void *arg) {
    struct job *j = arg;
    char missing[32], msg[256];
    size_t r, i, len;
    snprintf(missing, sizeof missing, "missing.%d", j->id);
    for (r = 0; r < ROUNDS; r++) {
        for (i = 0; i < j->count; i++) {
            const tenzor_tensor *e = &j->expect[(i + (size_t)j->id) % j->count];
            tenzor_tensor t;
            if (tenzor_get_tensor(j->file, e->name, &t) != TENZOR_OK || t.data != e->data ||
                t.name != e->name || t.size != e->size) {
                j->failures++;
            }
            if (tenzor_get_tensor_by_hash(j->file, e->name_hash, &t) != TENZOR_OK ||
                t.data != e->data) {
                j->failures++;
            }
            if (tenzor_get_tensor_at(j->file, e->position, &t) != TENZOR_OK ||
                t.data != e->data) {
                j->failures++;
            }
        }
        /* The first tenzor_metadata call initialises a cache: race it. */
        if (r == 0 && tenzor_metadata(j->file, &j->metadata, &len) != TENZOR_OK) {
            j->failures++;
        }
        /* Each thread sees its own last error, never another thread's. */
        if (tenzor_get_tensor(j->file, missing, NULL) != TENZOR_ERR_NULL_ARGUMENT) {
            j->failures++;
        }
        {
            tenzor_tensor t;
            if (tenzor_get_tensor(j->file, missing, &t) != TENZOR_ERR_NOT_FOUND) {
                j->failures++;
            }
        }
        tenzor_last_error(msg, sizeof msg);
        if (strstr(msg, missing) == NULL) {
            j->failures++;
        }
    }
    return NULL;
}

void test_threads(void) {
    const tenzor_file *f = NULL;
    tenzor_tensor expect[32];
    struct job jobs[THREADS];
    pthread_t threads[THREADS];
    size_t count, i;
    int t;

    CHECK_OK(tenzor_open(sample_tenzor(), &f));
    if (f == NULL) {
        return;
    }
    count = tenzor_tensor_count(f);
    CHECK(count <= 32);
    for (i = 0; i < count && i < 32; i++) {
        CHECK_OK(tenzor_get_tensor_at(f, i, &expect[i]));
    }
    for (t = 0; t < THREADS; t++) {
        jobs[t].file = f;
        jobs[t].expect = expect;
        jobs[t].count = count;
        jobs[t].id = t;
        jobs[t].metadata = NULL;
        jobs[t].failures = 0;
        CHECK(pthread_create(&threads[t], NULL, lookup_worker, &jobs[t]) == 0);
    }
    for (t = 0; t < THREADS; t++) {
        CHECK(pthread_join(threads[t], NULL) == 0);
        CHECK(jobs[t].failures == 0);
        CHECK(jobs[t].metadata != NULL && jobs[t].metadata == jobs[0].metadata);
    }
    CHECK_OK(tenzor_verify(f));
    tenzor_close(f);
}
