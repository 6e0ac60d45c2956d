/* Prints every size, offset and constant of tenzor_format.h, one
 * "key value" line each, for tests/format_header.rs to compare with the
 * Rust definitions. Includes tenzor.h too: the macros both headers define
 * must be identical, or this does not compile. */
#include "tenzor.h"
#include "tenzor_format.h"

#include <stdio.h>
#include <string.h>

#define P(key, value) printf("%s %llu\n", key, (unsigned long long)(value))
#define OFF(type, field) P(#type "." #field, offsetof(type, field))

static void print_dtype(const char *name, unsigned code, unsigned elems, unsigned bytes) {
    printf("dtype %s %u %u %u\n", name, code, elems, bytes);
}

int main(void) {
    P("MAGIC_SIZE", TENZOR_FILE_MAGIC_SIZE);
    P("MAGIC_MATCHES", memcmp(TENZOR_FILE_MAGIC, "TENZOR\0\0", 8) == 0 && sizeof(TENZOR_FILE_MAGIC) == 9);
    P("VERSION", TENZOR_FILE_VERSION);
    P("VERSION_LEGACY", TENZOR_FILE_VERSION_LEGACY);
    P("HEADER_SIZE", TENZOR_FILE_HEADER_SIZE);
    P("PAGE", TENZOR_FILE_PAGE);
    P("ENTRY_SIZE", TENZOR_FILE_ENTRY_SIZE);
    P("LEGACY_ENTRY_SIZE", TENZOR_FILE_LEGACY_ENTRY_SIZE);
    P("MAX_DIMS", TENZOR_MAX_DIMS);
    P("LEGACY_MAX_DIMS", TENZOR_FILE_LEGACY_MAX_DIMS);
    P("DEFAULT_ALIGNMENT", TENZOR_FILE_DEFAULT_ALIGNMENT);
    P("MIN_ALIGNMENT", TENZOR_FILE_MIN_ALIGNMENT);
    P("MAX_ALIGNMENT", TENZOR_FILE_MAX_ALIGNMENT);
    P("REQUIRED_FLAGS_MASK", TENZOR_FILE_REQUIRED_FLAGS_MASK);
    P("FLAG_APPENDABLE", TENZOR_FILE_FLAG_APPENDABLE);
    P("FLAG_EDITING", TENZOR_FILE_FLAG_EDITING);
    P("FLAGS_OUTSIDE_CHECKSUM", TENZOR_FILE_FLAGS_OUTSIDE_CHECKSUM);
    P("FNV_OFFSET_BASIS", TENZOR_FILE_FNV_OFFSET_BASIS);
    P("FNV_PRIME", TENZOR_FILE_FNV_PRIME);

    P("sizeof.header", sizeof(tenzor_file_header));
    OFF(tenzor_file_header, magic);
    OFF(tenzor_file_header, version);
    OFF(tenzor_file_header, flags);
    OFF(tenzor_file_header, tensor_count);
    OFF(tenzor_file_header, zero);
    OFF(tenzor_file_header, index_offset);
    OFF(tenzor_file_header, data_offset);
    OFF(tenzor_file_header, metadata_size);
    OFF(tenzor_file_header, alignment);
    OFF(tenzor_file_header, header_checksum);
    OFF(tenzor_file_header, names_size);
    OFF(tenzor_file_header, reserved);

    P("sizeof.entry", sizeof(tenzor_file_entry));
    OFF(tenzor_file_entry, name_hash);
    OFF(tenzor_file_entry, name_offset);
    OFF(tenzor_file_entry, name_len);
    OFF(tenzor_file_entry, dtype);
    OFF(tenzor_file_entry, ndim);
    OFF(tenzor_file_entry, flags);
    OFF(tenzor_file_entry, position);
    OFF(tenzor_file_entry, shape);
    OFF(tenzor_file_entry, data_offset);
    OFF(tenzor_file_entry, data_size);
    OFF(tenzor_file_entry, checksum);

    P("sizeof.legacy", sizeof(tenzor_file_legacy_entry));
    OFF(tenzor_file_legacy_entry, name_hash);
    OFF(tenzor_file_legacy_entry, dtype);
    OFF(tenzor_file_legacy_entry, ndim);
    OFF(tenzor_file_legacy_entry, shape);
    OFF(tenzor_file_legacy_entry, data_offset);
    OFF(tenzor_file_legacy_entry, data_size);

    /* The named offset macros agree with the structs (also asserted at
     * compile time in the header; printed so Rust sees them too). */
    P("hdr.CHECKSUM", TENZOR_FILE_HDR_CHECKSUM);
    P("ent.CHECKSUM", TENZOR_FILE_ENT_CHECKSUM);

#define X(name, code, elems, bytes) print_dtype(#name, code, elems, bytes);
    TENZOR_DTYPE_TABLE(X)
#undef X
    return 0;
}
