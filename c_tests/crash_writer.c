/* A program using the writer, for tests/crash_consistency.rs to SIGKILL at
 * random points: writes DEST with N tensors "t000".. of 4096 bytes each,
 * byte j of tensor i being (i * 7 + j) & 0xff, and metadata
 * {"writer": "crash"}. Exits 0 only when the file was committed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tenzor.h"

int main(int argc, char **argv) {
    tenzor_writer *w = NULL;
    unsigned char buf[4096];
    const uint64_t shape[1] = {sizeof buf};
    const char *meta = "{\"writer\": \"crash\"}";
    int n, i;
    size_t j;
    if (argc != 3) {
        fprintf(stderr, "usage: %s DEST N\n", argv[0]);
        return 2;
    }
    n = atoi(argv[2]);
    if (tenzor_writer_create(argv[1], NULL, &w) != TENZOR_OK ||
        tenzor_writer_set_metadata(w, meta, strlen(meta)) != TENZOR_OK) {
        return 1;
    }
    for (i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%03d", i);
        for (j = 0; j < sizeof buf; j++) {
            buf[j] = (unsigned char)((i * 7 + (int)j) & 0xff);
        }
        if (tenzor_writer_add(w, name, TENZOR_DTYPE_U8, 1, shape, buf, sizeof buf) != TENZOR_OK) {
            tenzor_writer_abort(w);
            return 1;
        }
    }
    return tenzor_writer_finish(w) == TENZOR_OK ? 0 : 1;
}
