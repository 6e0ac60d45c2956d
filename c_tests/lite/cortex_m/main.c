/* The lite reader on a Cortex-M4 with the model in (emulated) flash: opens
 * the const array model_data.h holds (tests/lite.rs writes it with the Rust
 * writer), finds every tensor the Rust library listed, checks its dtype,
 * shape, bytes (FNV-1a of the data and the stored xxh3-64) and alignment,
 * and checks that a corrupted copy is refused. Output by semihosting. */
#define TENZOR_LITE_IMPLEMENTATION
#define TZL_NO_LIBC
#include "tenzor_lite.h"

#include "harness.h"
#include "model_data.h"

static int failures;

static void put_u32(uint32_t v) {
    char buf[11];
    int i = 10;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    hs_puts(buf + i);
}

static void check(int ok, const char *what) {
    if (!ok) {
        failures++;
        hs_puts("FAIL: ");
        hs_puts(what);
        hs_puts("\n");
    }
}

static size_t cstrlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

static void check_tensor(const tzl_file *f, const struct expect *e, uint32_t position) {
    tzl_tensor t, u;
    unsigned d;
    int shape_ok = 1;
    check(tzl_find(f, e->name, cstrlen(e->name), &t) == TZL_OK, "tensor found by name");
    if (failures) return;
    check(t.position == position, "position");
    check(t.dtype == e->dtype && t.ndim == e->ndim, "dtype and rank");
    for (d = 0; d < 8; d++) shape_ok &= t.shape[d] == e->shape[d];
    check(shape_ok, "shape");
    check((uint64_t)t.size == e->size, "byte size");
    check(tzl_hash_name((const char *)t.data, t.size) == e->fnv, "data bytes (FNV-1a)");
    check(tzl_verify_tensor(&t) == TZL_OK, "data checksum (xxh3-64)");
    check(((uintptr_t)t.data - (uintptr_t)tzl_model) % MODEL_ALIGNMENT == 0, "tensor alignment");
    check(tzl_at_position(f, position, &u) == TZL_OK && u.data == t.data, "lookup by position");
    check(tzl_find_hash(f, e->hash, &u) == TZL_OK && u.name_hash == e->hash, "lookup by hash");
}

/* A copy in RAM with one index byte changed: the header checksum refuses it. */
static uint8_t corrupt[sizeof tzl_model];

int main(void) {
    tzl_file f, lazy;
    tzl_tensor t;
    tzl_diag diag;
    uint32_t i;
    const char *json;
    size_t json_len;
    uintptr_t base = hs_stack_pointer(); /* below main's own frame */

    hs_puts("tenzor_lite on Cortex-M4: model of ");
    put_u32((uint32_t)sizeof tzl_model);
    hs_puts(" bytes in flash\n");
    check(tzl_open(tzl_model, sizeof tzl_model, TZL_FULL, &f, &diag) == TZL_OK, "full open");
    if (failures) {
        hs_puts(diag.message);
        hs_puts("\n");
        return 1;
    }
    check(tzl_count(&f) == EXPECT_COUNT, "tensor count");
    for (i = 0; i < EXPECT_COUNT; i++) check_tensor(&f, &expected[i], i);
    check(tzl_find(&f, "missing", 7, &t) == TZL_ERR_NOT_FOUND, "missing name not found");
    check(tzl_at_position(&f, EXPECT_COUNT, &t) == TZL_ERR_OUT_OF_RANGE, "position past the end");
    check(tzl_metadata(&f, &json, &json_len) == TZL_OK && json_len == METADATA_LEN && json[0] == '{',
          "metadata");
    {
        /* The first F32 tensor holds 0.25 * k: decode one value. */
        union {
            uint32_t u;
            float f;
        } v;
        const uint8_t *p;
        check(tzl_find(&f, "conv1.weight", 12, &t) == TZL_OK, "conv1.weight");
        p = (const uint8_t *)t.data + 4 * 5;
        v.u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        check(v.f == 1.25f, "f32 value 5 of conv1.weight");
    }
    check(tzl_open(tzl_model, sizeof tzl_model, TZL_LAZY, &lazy, NULL) == TZL_OK, "lazy open");
    for (i = 0; i < EXPECT_COUNT; i++) check_tensor(&lazy, &expected[i], i);

    for (i = 0; i < sizeof tzl_model; i++) corrupt[i] = tzl_model[i];
    corrupt[4096 + 20] ^= 1; /* the first entry's position */
    check(tzl_open(corrupt, sizeof corrupt, TZL_FULL, &f, NULL) == TZL_ERR_CHECKSUM,
          "corrupted index refused by the header checksum");
    check(tzl_open(corrupt, 63, TZL_FULL, &f, NULL) == TZL_ERR_BAD_FORMAT, "truncated header refused");

    hs_puts("stack used: ");
    put_u32(hs_stack_used_below(base));
    hs_puts(" bytes below main\n");
    if (failures) return 1;
    hs_puts("PASS: ");
    put_u32(EXPECT_COUNT);
    hs_puts(" tensors found and checked\n");
    return 0;
}
