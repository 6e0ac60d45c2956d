/* tenzor from C: convert the sample safetensors file, look tensors up,
 * print a summary, write a small file and read it back.
 *
 *   cc -std=c99 main.c $(pkg-config --cflags --libs tenzor) -o example
 *   ./example examples/sample.safetensors /tmp
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tenzor.h"

/* Prints the last error and exits when a call failed. */
static void check(tenzor_status s, const char *what) {
    if (s != TENZOR_OK) {
        char msg[512];
        tenzor_last_error(msg, sizeof msg);
        fprintf(stderr, "%s failed: %s: %s\n", what, tenzor_status_str(s), msg);
        exit(1);
    }
}

static void print_shape(const tenzor_tensor *t) {
    size_t d;
    printf("[");
    for (d = 0; d < t->ndim; d++) {
        printf("%s%llu", d ? ", " : "", (unsigned long long)t->shape[d]);
    }
    printf("]");
}

int main(int argc, char **argv) {
    char model[4096], small[4096];
    const tenzor_file *f = NULL;
    tenzor_writer *w = NULL;
    tenzor_tensor head, emb, t;
    const char *json;
    size_t json_len;
    uint32_t bits;
    const float ones[4] = {1.0f, 1.0f, 1.0f, 1.0f};
    const uint64_t greeting_shape[1] = {5}, ones_shape[2] = {2, 2};
    const char meta[] = "{\"written_by\":\"c\"}";

    if (argc != 3) {
        fprintf(stderr, "usage: %s SAMPLE.safetensors OUT_DIR\n", argv[0]);
        return 2;
    }
    snprintf(model, sizeof model, "%s/sample.tenzor", argv[2]);
    snprintf(small, sizeof small, "%s/small.tenzor", argv[2]);
    printf("tenzor %s\n", tenzor_version());

    check(tenzor_convert(argv[1], model), "convert");
    check(tenzor_open(model, &f), "open");
    printf("sample.tenzor: %zu tensors, alignment %llu\n", tenzor_tensor_count(f),
           (unsigned long long)tenzor_file_alignment(f));

    check(tenzor_get_tensor(f, "lm_head.weight", &head), "lookup lm_head.weight");
    printf("%s: %s ", head.name, tenzor_dtype_name(head.dtype));
    print_shape(&head);
    printf(", %zu bytes, hash 0x%016llx\n", head.size, (unsigned long long)head.name_hash);

    check(tenzor_get_tensor(f, "model.embed_tokens.weight", &emb), "lookup embed_tokens");
    memcpy(&bits, emb.data, sizeof bits); /* the data points into the mapping */
    printf("%s: %s ", emb.name, tenzor_dtype_name(emb.dtype));
    print_shape(&emb);
    printf(", %zu bytes, first element bits 0x%08lx\n", emb.size, (unsigned long)bits);

    check(tenzor_metadata(f, &json, &json_len), "metadata");
    printf("metadata: %s\n", json);
    printf("lookup of 'missing': %s\n",
           tenzor_status_str(tenzor_get_tensor(f, "missing", &t)));
    tenzor_close(f);

    check(tenzor_writer_create(small, NULL, &w), "writer_create");
    check(tenzor_writer_add(w, "greeting", TENZOR_DTYPE_U8, 1, greeting_shape, "hello", 5),
          "add greeting");
    check(tenzor_writer_add(w, "ones", TENZOR_DTYPE_F32, 2, ones_shape, ones, sizeof ones),
          "add ones");
    check(tenzor_writer_set_metadata(w, meta, strlen(meta)), "set_metadata");
    check(tenzor_writer_finish(w), "finish");

    check(tenzor_open(small, &f), "reopen");
    check(tenzor_verify(f), "verify");
    check(tenzor_metadata(f, &json, &json_len), "metadata");
    printf("small.tenzor: %zu tensors, verified, metadata %s\n", tenzor_tensor_count(f), json);
    tenzor_close(f);
    return 0;
}
