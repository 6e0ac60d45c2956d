/* Typed metadata by key: JSON metadata of .tenzor and safetensors files,
 * GGUF KV pairs (a file built here byte by byte), statuses, zero-copy. */
#include <string.h>

#include "check.h"

static size_t find(const tenzor_file *f, const char *key) {
    size_t i = (size_t)-1;
    CHECK_OK(tenzor_meta_find(f, key, &i));
    return i;
}

static int str_is(const char *p, size_t len, const char *want) {
    return len == strlen(want) && memcmp(p, want, len) == 0;
}

/* The sample's {"format": "pt"}, read from safetensors and from .tenzor. */
static void sample_metadata(const char *path) {
    const tenzor_file *f = NULL;
    size_t n = 99, i = 77, len = 0;
    const char *s = NULL;
    tenzor_value_type t = 99;
    int64_t v = 5;
    CHECK_OK(tenzor_open(path, &f));
    CHECK_OK(tenzor_meta_count(f, &n));
    CHECK(n == 1);
    CHECK_OK(tenzor_meta_key(f, 0, &s, &len));
    CHECK(str_is(s, len, "format"));
    i = find(f, "format");
    CHECK(i == 0);
    CHECK_OK(tenzor_meta_type(f, i, &t));
    CHECK(t == TENZOR_META_STRING);
    CHECK_OK(tenzor_meta_get_str(f, i, &s, &len));
    CHECK(str_is(s, len, "pt"));
    CHECK_FAILS(tenzor_meta_get_i64(f, i, &v), TENZOR_ERR_WRONG_TYPE, "'format'", "not an integer");
    CHECK(v == 5);
    CHECK_FAILS(tenzor_meta_find(f, "nope", &i), TENZOR_ERR_NOT_FOUND, "nope", NULL);
    CHECK(i == 0);
    CHECK_FAILS(tenzor_meta_key(f, 1, &s, &len), TENZOR_ERR_OUT_OF_RANGE, "index 1", NULL);
    CHECK_STATUS(tenzor_meta_count(NULL, &n), TENZOR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(tenzor_meta_find(f, NULL, &i), TENZOR_ERR_NULL_ARGUMENT);
    CHECK_STATUS(tenzor_meta_get_str(f, 0, NULL, &len), TENZOR_ERR_NULL_ARGUMENT);
    tenzor_close(f);
}

static void tenzor_json_metadata(void) {
    static const char meta[] =
        "{\"layers\": 32, \"big\": 18446744073709551615, \"neg\": -1, \"eps\": 0.5,"
        " \"on\": false, \"none\": null, \"nested\": {\"a\": [1]}, \"esc\": \"a\\u00e9\"}";
    const char *path = work_path("meta.tenzor");
    tenzor_writer *w = NULL;
    const tenzor_file *f = NULL;
    unsigned char one = 1;
    uint64_t shape[1] = {1}, u = 0;
    int64_t i64 = 0;
    double d = 0;
    bool b = true;
    const char *s = NULL;
    size_t len = 0, n = 0;
    tenzor_value_type t = 0;
    CHECK_OK(tenzor_writer_create(path, NULL, &w));
    CHECK_OK(tenzor_writer_set_metadata(w, meta, sizeof meta - 1));
    CHECK_OK(tenzor_writer_add(w, "t", TENZOR_DTYPE_U8, 1, shape, &one, 1));
    CHECK_OK(tenzor_writer_finish(w));
    CHECK_OK(tenzor_open(path, &f));
    CHECK_OK(tenzor_meta_count(f, &n));
    CHECK(n == 8);
    CHECK_OK(tenzor_meta_get_i64(f, find(f, "layers"), &i64));
    CHECK(i64 == 32);
    CHECK_OK(tenzor_meta_type(f, find(f, "big"), &t));
    CHECK(t == TENZOR_META_U64);
    CHECK_OK(tenzor_meta_get_u64(f, find(f, "big"), &u));
    CHECK(u == UINT64_MAX);
    CHECK_STATUS(tenzor_meta_get_i64(f, find(f, "big"), &i64), TENZOR_ERR_OUT_OF_RANGE);
    CHECK_STATUS(tenzor_meta_get_u64(f, find(f, "neg"), &u), TENZOR_ERR_OUT_OF_RANGE);
    CHECK(u == UINT64_MAX);
    CHECK_OK(tenzor_meta_get_f64(f, find(f, "eps"), &d));
    CHECK(d == 0.5);
    CHECK_STATUS(tenzor_meta_get_f64(f, find(f, "layers"), &d), TENZOR_ERR_WRONG_TYPE);
    CHECK_OK(tenzor_meta_get_bool(f, find(f, "on"), &b));
    CHECK(!b);
    CHECK_OK(tenzor_meta_type(f, find(f, "none"), &t));
    CHECK(t == TENZOR_META_NULL);
    CHECK_OK(tenzor_meta_get_json(f, find(f, "nested"), &s, &len));
    CHECK(str_is(s, len, "{\"a\": [1]}"));
    CHECK_STATUS(tenzor_meta_get_str(f, find(f, "nested"), &s, &len), TENZOR_ERR_WRONG_TYPE);
    CHECK_OK(tenzor_meta_get_str(f, find(f, "esc"), &s, &len));
    CHECK(str_is(s, len, "a\xc3\xa9"));
    CHECK_STATUS(tenzor_meta_array_info(f, find(f, "layers"), &t, &len), TENZOR_ERR_WRONG_TYPE);
    tenzor_close(f);
}

/* A GGUF v3 file with no tensors and the KV pairs
 * n: u32 7, s: "hi", v: [i16 1, -2, 3], strs: ["x", "", "yz"]. */
static size_t put(unsigned char *b, size_t at, uint64_t v, int bytes) {
    int i;
    for (i = 0; i < bytes; i++) {
        b[at + (size_t)i] = (unsigned char)(v >> (8 * i));
    }
    return at + (size_t)bytes;
}

static size_t put_str(unsigned char *b, size_t at, const char *s) {
    at = put(b, at, strlen(s), 8);
    memcpy(b + at, s, strlen(s));
    return at + strlen(s);
}

static void gguf_metadata(void) {
    unsigned char b[256];
    size_t at = 0, len = 0, i = 0;
    const tenzor_file *f = NULL;
    const void *data = NULL;
    const char *s = NULL;
    tenzor_value_type t = 0;
    tenzor_str strs[3] = {{NULL, 0}, {NULL, 0}, {NULL, 0}};
    int64_t v = 0;
    memset(b, 0, sizeof b);
    memcpy(b, "GGUF", 4);
    at = put(b, 4, 3, 4);
    at = put(b, at, 0, 8);
    at = put(b, at, 4, 8);
    at = put(b, put_str(b, at, "n"), 4, 4);
    at = put(b, at, 7, 4);
    at = put(b, put_str(b, at, "s"), 8, 4);
    at = put_str(b, at, "hi");
    at = put(b, put_str(b, at, "v"), 9, 4);
    at = put(b, put(b, at, 3, 4), 3, 8);
    at = put(b, put(b, put(b, at, 1, 2), (uint16_t)-2, 2), 3, 2);
    at = put(b, put_str(b, at, "strs"), 9, 4);
    at = put(b, put(b, at, 8, 4), 3, 8);
    at = put_str(b, put_str(b, put_str(b, at, "x"), ""), "yz");
    CHECK_OK(tenzor_open_memory(b, at, &f));
    if (f == NULL) {
        return;
    }
    CHECK_OK(tenzor_meta_get_i64(f, find(f, "n"), &v));
    CHECK(v == 7);
    CHECK_OK(tenzor_meta_type(f, find(f, "n"), &t));
    CHECK(t == TENZOR_META_U32);
    CHECK_OK(tenzor_meta_get_str(f, find(f, "s"), &s, &len));
    CHECK(str_is(s, len, "hi") && (const unsigned char *)s > b && (const unsigned char *)s < b + at);
    CHECK_OK(tenzor_meta_array_info(f, find(f, "v"), &t, &len));
    CHECK(t == TENZOR_META_I16 && len == 3);
    CHECK_OK(tenzor_meta_array_data(f, find(f, "v"), &data, &len));
    CHECK(len == 6 && memcmp(data, "\x01\x00\xfe\xff\x03\x00", 6) == 0);
    CHECK((const unsigned char *)data > b && (const unsigned char *)data < b + at);
    CHECK_FAILS(tenzor_meta_array_str(f, find(f, "v"), 0, &s, &len), TENZOR_ERR_WRONG_TYPE,
                "'v'", "array of strings");
    i = find(f, "strs");
    CHECK_STATUS(tenzor_meta_array_data(f, i, &data, &len), TENZOR_ERR_WRONG_TYPE);
    CHECK_OK(tenzor_meta_array_str(f, i, 2, &s, &len));
    CHECK(str_is(s, len, "yz"));
    CHECK_OK(tenzor_meta_array_str(f, i, 1, &s, &len));
    CHECK(len == 0 && s != NULL);
    CHECK_FAILS(tenzor_meta_array_str(f, i, 3, &s, &len), TENZOR_ERR_OUT_OF_RANGE, "item 3", NULL);
    CHECK_STATUS(tenzor_meta_array_strs(f, i, 1, 3, strs), TENZOR_ERR_OUT_OF_RANGE);
    CHECK(strs[0].ptr == NULL);
    CHECK_STATUS(tenzor_meta_array_strs(f, i, (size_t)-1, 2, strs), TENZOR_ERR_OUT_OF_RANGE);
    CHECK_OK(tenzor_meta_array_strs(f, i, 0, 3, strs));
    CHECK(str_is(strs[0].ptr, strs[0].len, "x") && strs[1].len == 0);
    CHECK(str_is(strs[2].ptr, strs[2].len, "yz"));
    CHECK_OK(tenzor_meta_array_strs(f, i, 3, 0, NULL));
    CHECK_STATUS(tenzor_meta_get_json(f, i, &s, &len), TENZOR_ERR_WRONG_TYPE);
    tenzor_close(f);
}

void test_meta(void) {
    sample_metadata(tz_sample);
    sample_metadata(sample_tenzor());
    tenzor_json_metadata();
    gguf_metadata();
}
