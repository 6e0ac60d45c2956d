/*
 * gguf_dump: prints what llama.cpp's own GGUF reader (gguf_init_from_file in
 * ggml's gguf.cpp) makes of a file, as stable, tab-separated text.
 *
 * Built by scripts/llama-gguf-reader.sh against the ggml-base library of a
 * pinned llama.cpp; used by tests/llama_cpp.rs to check that the GGUF files
 * tenzor writes are accepted by llama.cpp, not only by the Python package.
 *
 * usage: gguf_dump FILE
 *
 * The file is opened as llama.cpp's model loader opens it (no_alloc = true,
 * with a ggml context holding one tensor per tensor info, no data read), and
 * each tensor gets the loader's bounds check (data offset + tensor offset +
 * ggml_nbytes <= file size). Then it is opened a second time with
 * no_alloc = false, which makes gguf.cpp read the whole data section, and
 * each tensor's bytes are hashed where llama.cpp placed them.
 *
 * Output (stdout), one record per line, fields separated by one tab; names,
 * keys and string values escape backslash, tab, CR, LF and other control
 * bytes (\\ \t \r \n \xNN):
 *
 *   gguf_dump 1
 *   version      <n>
 *   alignment    <n>
 *   data_offset  <n>                   (gguf_get_data_offset)
 *   n_kv         <n>
 *   kv           <key> <type> <value>  type: u8 i8 u16 i16 u32 i32 u64 i64
 *                                      f32 f64 bool str; f32 printed %.9g,
 *                                      f64 %.17g
 *   kv           <key> arr[<type>] <n> <fnv1a-64 of the elements, hex>
 *                                      (strings hashed as u64 LE length
 *                                      followed by the bytes)
 *   n_tensors    <n>
 *   tensor       <name> <ggml type id> <ggml type name> <n_dims>
 *                <ne0>,<ne1>,<ne2>,<ne3> <offset> <size>
 *                                      offset: gguf_get_tensor_offset
 *                                      (relative to data_offset); size:
 *                                      gguf_get_tensor_size; n_dims:
 *                                      ggml_n_dims (trailing ne of 1 dropped)
 *   tensor_data  <name> <fnv1a-64 of the tensor's bytes, hex>
 *                                      (as the no_alloc = false load read
 *                                      them, one line per tensor, in order)
 *   data         read                  (the no_alloc = false load succeeded)
 *
 * Exit status: 0 when llama.cpp accepts the file, 1 when it rejects it
 * (gguf.cpp's own messages are on stderr, followed by one line saying which
 * step failed), 2 on a usage error.
 */

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ggml.h"
#include "gguf.h"

static void put_escaped(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; ++p) {
        switch (*p) {
        case '\\': fputs("\\\\", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                printf("\\x%02x", *p);
            } else {
                putchar(*p);
            }
        }
    }
}

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = (const unsigned char *)data;
    for (size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

static size_t scalar_size(enum gguf_type t) {
    switch (t) {
    case GGUF_TYPE_UINT8:
    case GGUF_TYPE_INT8:
    case GGUF_TYPE_BOOL: return 1;
    case GGUF_TYPE_UINT16:
    case GGUF_TYPE_INT16: return 2;
    case GGUF_TYPE_UINT32:
    case GGUF_TYPE_INT32:
    case GGUF_TYPE_FLOAT32: return 4;
    case GGUF_TYPE_UINT64:
    case GGUF_TYPE_INT64:
    case GGUF_TYPE_FLOAT64: return 8;
    default: return 0;
    }
}

static void print_kv(const struct gguf_context *g, int64_t i) {
    const enum gguf_type t = gguf_get_kv_type(g, i);
    fputs("kv\t", stdout);
    put_escaped(gguf_get_key(g, i));
    putchar('\t');
    if (t == GGUF_TYPE_ARRAY) {
        const enum gguf_type et = gguf_get_arr_type(g, i);
        const size_t n = gguf_get_arr_n(g, i);
        uint64_t h = FNV_OFFSET;
        if (et == GGUF_TYPE_STRING) {
            for (size_t j = 0; j < n; ++j) {
                const char *s = gguf_get_arr_str(g, i, j);
                const uint64_t len = strlen(s);
                unsigned char le[8];
                for (int b = 0; b < 8; ++b) {
                    le[b] = (unsigned char)(len >> (8 * b));
                }
                h = fnv1a(h, le, sizeof le);
                h = fnv1a(h, s, len);
            }
        } else {
            h = fnv1a(h, gguf_get_arr_data(g, i), n * scalar_size(et));
        }
        printf("arr[%s]\t%zu\t%016" PRIx64 "\n", gguf_type_name(et), n, h);
        return;
    }
    printf("%s\t", gguf_type_name(t));
    switch (t) {
    case GGUF_TYPE_UINT8: printf("%" PRIu8, gguf_get_val_u8(g, i)); break;
    case GGUF_TYPE_INT8: printf("%" PRIi8, gguf_get_val_i8(g, i)); break;
    case GGUF_TYPE_UINT16: printf("%" PRIu16, gguf_get_val_u16(g, i)); break;
    case GGUF_TYPE_INT16: printf("%" PRIi16, gguf_get_val_i16(g, i)); break;
    case GGUF_TYPE_UINT32: printf("%" PRIu32, gguf_get_val_u32(g, i)); break;
    case GGUF_TYPE_INT32: printf("%" PRIi32, gguf_get_val_i32(g, i)); break;
    case GGUF_TYPE_UINT64: printf("%" PRIu64, gguf_get_val_u64(g, i)); break;
    case GGUF_TYPE_INT64: printf("%" PRIi64, gguf_get_val_i64(g, i)); break;
    case GGUF_TYPE_FLOAT32: printf("%.9g", (double)gguf_get_val_f32(g, i)); break;
    case GGUF_TYPE_FLOAT64: printf("%.17g", gguf_get_val_f64(g, i)); break;
    case GGUF_TYPE_BOOL: fputs(gguf_get_val_bool(g, i) ? "true" : "false", stdout); break;
    case GGUF_TYPE_STRING: put_escaped(gguf_get_val_str(g, i)); break;
    default: printf("?%d", (int)t); break;
    }
    putchar('\n');
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE.gguf\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];

    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return 1;
    }
    const uint64_t file_size = (uint64_t)st.st_size;

    /* As llama_model_loader opens a model: metadata only, plus a ggml
     * context with a (data-less) tensor per tensor info. */
    struct ggml_context *meta = NULL;
    struct gguf_init_params params = {true, &meta};
    struct gguf_context *g = gguf_init_from_file(path, params);
    if (g == NULL) {
        fprintf(stderr, "gguf_dump: llama.cpp rejected %s (gguf_init_from_file, no_alloc = true)\n",
                path);
        return 1;
    }

    int status = 0;
    const int64_t n_kv = gguf_get_n_kv(g);
    const int64_t n_tensors = gguf_get_n_tensors(g);
    const size_t data_offset = gguf_get_data_offset(g);

    puts("gguf_dump 1");
    printf("version\t%" PRIu32 "\n", gguf_get_version(g));
    printf("alignment\t%zu\n", gguf_get_alignment(g));
    printf("data_offset\t%zu\n", data_offset);
    printf("n_kv\t%" PRIi64 "\n", n_kv);
    for (int64_t i = 0; i < n_kv; ++i) {
        print_kv(g, i);
    }
    printf("n_tensors\t%" PRIi64 "\n", n_tensors);
    for (int64_t i = 0; i < n_tensors; ++i) {
        const char *name = gguf_get_tensor_name(g, i);
        const enum ggml_type type = gguf_get_tensor_type(g, i);
        const size_t offset = gguf_get_tensor_offset(g, i);
        const size_t size = gguf_get_tensor_size(g, i);
        struct ggml_tensor *t = ggml_get_tensor(meta, name);
        if (t == NULL) {
            fprintf(stderr, "gguf_dump: %s: tensor '%s' missing from the ggml context\n", path,
                    name);
            status = 1;
            continue;
        }
        if (ggml_nbytes(t) != size) {
            fprintf(stderr, "gguf_dump: %s: tensor '%s': gguf size %zu != ggml_nbytes %zu\n",
                    path, name, size, ggml_nbytes(t));
            status = 1;
        }
        /* llama_model_loader's llama_tensor_weight check. */
        const uint64_t offs = (uint64_t)data_offset + offset;
        if (offs + size < offs || offs + size > file_size) {
            fprintf(stderr,
                    "gguf_dump: %s: tensor '%s' data is not within the file bounds, model is "
                    "corrupted or incomplete\n",
                    path, name);
            status = 1;
        }
        fputs("tensor\t", stdout);
        put_escaped(name);
        printf("\t%d\t%s\t%d\t%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "\t%zu\t%zu\n",
               (int)type, ggml_type_name(type), ggml_n_dims(t), t->ne[0], t->ne[1], t->ne[2],
               t->ne[3], offset, size);
    }
    gguf_free(g);
    ggml_free(meta);

    /* A full load: gguf.cpp reads the whole data section (every tensor,
     * padded to the alignment) into memory. */
    struct ggml_context *data = NULL;
    struct gguf_init_params full = {false, &data};
    g = gguf_init_from_file(path, full);
    if (g == NULL) {
        fprintf(stderr, "gguf_dump: llama.cpp rejected %s (gguf_init_from_file, no_alloc = false)\n",
                path);
        return 1;
    }
    for (int64_t i = 0; i < gguf_get_n_tensors(g); ++i) {
        const char *name = gguf_get_tensor_name(g, i);
        const struct ggml_tensor *t = ggml_get_tensor(data, name);
        if (t == NULL || t->data == NULL) {
            fprintf(stderr, "gguf_dump: %s: tensor '%s' has no data after a full load\n", path,
                    name);
            status = 1;
            continue;
        }
        fputs("tensor_data\t", stdout);
        put_escaped(name);
        printf("\t%016" PRIx64 "\n", fnv1a(FNV_OFFSET, t->data, ggml_nbytes(t)));
    }
    gguf_free(g);
    ggml_free(data);
    puts("data\tread");

    if (fflush(stdout) != 0) {
        perror("gguf_dump: stdout");
        return 1;
    }
    return status;
}
