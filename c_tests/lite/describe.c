/* See describe.h. Hosted code (snprintf); the reader itself is not. */
#include "describe.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tenzor_lite.h"

typedef struct {
    char *out;
    size_t cap, len;
} sink;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void put(sink *s, const char *fmt, ...) {
    va_list ap;
    int n;
    char *dst = s->len < s->cap ? s->out + s->len : NULL;
    size_t room = s->len < s->cap ? s->cap - s->len : 0;
    va_start(ap, fmt);
    n = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (n > 0) s->len += (size_t)n;
}

const char *tzl_describe_class(int status) {
    switch (status) {
    case TZL_OK: return "Ok";
    case TZL_ERR_BAD_FORMAT: return "BadFormat";
    case TZL_ERR_CHECKSUM: return "Checksum";
    case TZL_ERR_DUPLICATE_NAME: return "DuplicateName";
    case TZL_ERR_UNSUPPORTED: return "Unsupported";
    case TZL_ERR_NOT_FOUND: return "NotFound";
    case TZL_ERR_OUT_OF_RANGE: return "OutOfRange";
    default: return "Other";
    }
}

static uint64_t fnv(const void *p, size_t n) { return tzl_hash_name((const char *)p, n); }

/* Printable bytes as they are, the rest (and '\\') as \xHH. */
static void put_name(sink *s, const char *name, uint32_t n) {
    uint32_t i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c > 0x20 && c < 0x7f && c != '\\') put(s, "%c", c);
        else put(s, "\\x%02x", c);
    }
}

static void put_tensor(sink *s, const tzl_tensor *t) {
    unsigned d;
    put(s, "t %u ", t->position);
    put_name(s, t->name, t->name_len);
    put(s, " %u ", t->dtype);
    for (d = 0; d < t->ndim; d++) put(s, d ? ",%llu" : "%llu", (unsigned long long)t->shape[d]);
    if (t->ndim == 0) put(s, "-");
    put(s, " %llu %016llx %s\n", (unsigned long long)t->size, (unsigned long long)fnv(t->data, t->size),
        tzl_verify_tensor(t) == TZL_OK ? "verified" : "corrupt");
}

static int same_view(const tzl_tensor *a, const tzl_tensor *b) {
    return a->name == b->name && a->name_len == b->name_len && a->index == b->index &&
           a->position == b->position && a->dtype == b->dtype && a->ndim == b->ndim &&
           memcmp(a->shape, b->shape, sizeof a->shape) == 0 && a->data == b->data && a->size == b->size &&
           a->checksum == b->checksum && a->name_hash == b->name_hash && a->numel == b->numel;
}

/* Every lookup of a listed tensor must find that very tensor. */
static void check_lookups(sink *s, const tzl_file *f, const tzl_tensor *t) {
    tzl_tensor u;
    if (tzl_find(f, t->name, t->name_len, &u) != TZL_OK || !same_view(&u, t))
        put(s, "error find by name disagrees at position %u\n", t->position);
    if (tzl_find_hash(f, t->name_hash, &u) != TZL_OK || u.name_hash != t->name_hash)
        put(s, "error find by hash disagrees at position %u\n", t->position);
    if (tzl_at_index(f, t->index, &u) != TZL_OK || !same_view(&u, t))
        put(s, "error at_index disagrees at position %u\n", t->position);
}

/* A lazily opened file: every view it hands out lies inside the buffer and,
 * when full validation accepted the file, equals the full view. */
static const char *lazy_verdict(const uint8_t *buf, size_t len, const tzl_file *full, sink *s) {
    tzl_file f;
    uint32_t p, i;
    int agrees = full != NULL;
    if (tzl_open(buf, len, TZL_LAZY, &f, NULL) != TZL_OK) return full ? "differs" : "rejected";
    for (p = 0; p < tzl_count(&f); p++) {
        tzl_tensor a, b;
        int ok = tzl_at_position(&f, p, &a) == TZL_OK;
        if (ok && ((const uint8_t *)a.data < buf || a.size > len ||
                   (size_t)((const uint8_t *)a.data - buf) > len - a.size))
            put(s, "error lazy view outside the buffer at position %u\n", p);
        if (full && (!ok || tzl_at_position(full, p, &b) != TZL_OK || !same_view(&a, &b))) agrees = 0;
    }
    for (i = 0; i < tzl_count(&f); i++) { /* exercise the other accessors */
        tzl_tensor a;
        if (tzl_at_index(&f, i, &a) == TZL_OK) (void)tzl_find(&f, a.name, a.name_len, &a);
    }
    if (!full) return "accepted";
    return agrees ? "agrees" : "differs";
}

size_t tzl_describe(const uint8_t *buf, size_t len, char *out, size_t cap) {
    sink s;
    tzl_file f;
    tzl_diag diag;
    tzl_status st;
    s.out = out;
    s.cap = cap;
    s.len = 0;
    if (cap) out[0] = '\0';
    diag.message = "";
    diag.entry = TZL_NO_ENTRY;
    st = tzl_open(buf, len, TZL_FULL, &f, &diag);
    put(&s, "full %s\n", tzl_describe_class((int)st));
    if (st == TZL_OK) {
        uint32_t p;
        const char *json;
        size_t jlen;
        for (p = 0; p < tzl_count(&f); p++) {
            tzl_tensor t;
            tzl_status r = tzl_at_position(&f, p, &t);
            if (r != TZL_OK) {
                put(&s, "error position %u: %s\n", p, tzl_describe_class((int)r));
                continue;
            }
            put_tensor(&s, &t);
            check_lookups(&s, &f, &t);
        }
        put(&s, "verify %s\n", tzl_describe_class((int)tzl_verify(&f, NULL)));
        if (tzl_edit_interrupted(&f)) put(&s, "edit-interrupted\n");
        tzl_metadata(&f, &json, &jlen);
        put(&s, "meta %llu %016llx\n", (unsigned long long)jlen, (unsigned long long)fnv(json, jlen));
    }
    put(&s, "lazy %s\n", lazy_verdict(buf, len, st == TZL_OK ? &f : NULL, &s));
    return s.len;
}
