/* Prints a GGUF tokenizer vocabulary through tenzor's typed metadata API, in
 * the format of `tests/py/llm_gguf.py vocab` (which reads it with the gguf
 * package): tests/c_meta.rs compares the two outputs. Tokens are read in one
 * tenzor_meta_array_strs call, merges one by one with tenzor_meta_array_str,
 * scores and token types from tenzor_meta_array_data (memcpy: unaligned).
 * Usage: meta_vocab FILE.gguf; exits non-zero with a message on any failure. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tenzor.h"

static int fail(const char *what) {
    char msg[1024];
    tenzor_last_error(msg, sizeof msg);
    fprintf(stderr, "meta_vocab: %s: %s\n", what, msg);
    return 1;
}

static void hex(const char *s, size_t len) {
    size_t i;
    for (i = 0; i < len; i++) {
        printf("%02x", (unsigned)(unsigned char)s[i]);
    }
}

/* The numeric array `key` of `want` items of type `type` (4 bytes each). */
static const unsigned char *array4(const tenzor_file *f, const char *key, tenzor_value_type type,
                                   size_t want) {
    size_t index, len, bytes;
    tenzor_value_type item;
    const void *data;
    if (tenzor_meta_find(f, key, &index) != TENZOR_OK ||
        tenzor_meta_array_info(f, index, &item, &len) != TENZOR_OK || item != type ||
        len != want || tenzor_meta_array_data(f, index, &data, &bytes) != TENZOR_OK ||
        bytes != 4 * len) {
        return NULL;
    }
    return data;
}

int main(int argc, char **argv) {
    const tenzor_file *f = NULL;
    size_t tokens_at, merges_at, n_tokens, n_merges, i;
    tenzor_value_type item;
    tenzor_str *tokens;
    const unsigned char *scores, *types;
    if (argc != 2) {
        fprintf(stderr, "usage: meta_vocab FILE.gguf\n");
        return 2;
    }
    if (tenzor_open(argv[1], &f) != TENZOR_OK) {
        return fail("open");
    }
    if (tenzor_meta_find(f, "tokenizer.ggml.tokens", &tokens_at) != TENZOR_OK ||
        tenzor_meta_array_info(f, tokens_at, &item, &n_tokens) != TENZOR_OK ||
        item != TENZOR_META_STRING) {
        tenzor_close(f);
        return fail("tokenizer.ggml.tokens");
    }
    scores = array4(f, "tokenizer.ggml.scores", TENZOR_META_F32, n_tokens);
    types = array4(f, "tokenizer.ggml.token_type", TENZOR_META_I32, n_tokens);
    tokens = malloc(n_tokens * sizeof *tokens + 1);
    if (scores == NULL || types == NULL || tokens == NULL ||
        tenzor_meta_array_strs(f, tokens_at, 0, n_tokens, tokens) != TENZOR_OK) {
        free(tokens);
        tenzor_close(f);
        return fail("scores, token types or tokens");
    }
    for (i = 0; i < n_tokens; i++) {
        uint32_t bits;
        int32_t type;
        memcpy(&bits, scores + 4 * i, 4);
        memcpy(&type, types + 4 * i, 4);
        printf("%zu ", i);
        hex(tokens[i].ptr, tokens[i].len);
        printf(" %08x %d\n", (unsigned)bits, (int)type);
    }
    free(tokens);
    if (tenzor_meta_find(f, "tokenizer.ggml.merges", &merges_at) != TENZOR_OK ||
        tenzor_meta_array_info(f, merges_at, &item, &n_merges) != TENZOR_OK) {
        tenzor_close(f);
        return fail("tokenizer.ggml.merges");
    }
    for (i = 0; i < n_merges; i++) {
        const char *s;
        size_t len;
        if (tenzor_meta_array_str(f, merges_at, i, &s, &len) != TENZOR_OK) {
            tenzor_close(f);
            return fail("merge");
        }
        printf("merge %zu ", i);
        hex(s, len);
        printf("\n");
    }
    tenzor_close(f);
    return 0;
}
