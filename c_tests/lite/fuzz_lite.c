/* libFuzzer target for tenzor_lite.h (clang -fsanitize=fuzzer,address,undefined).
 * Each input is read twice through tzl_describe (full and lazy open, every
 * accessor, lookups, verify): as it is, and with its header checksum
 * recomputed, so mutations reach the rules behind the checksum. The input
 * is copied one byte past an allocation boundary so every read is
 * unaligned and any overrun is caught by ASan. */
#define TENZOR_LITE_IMPLEMENTATION
#include "tenzor_lite.h"

#include <stdlib.h>
#include <string.h>

#include "describe.h"

static void run(const uint8_t *data, size_t size) {
    char text[1024];
    uint8_t *copy = (uint8_t *)malloc(size + 1);
    if (!copy) return;
    if (size) memcpy(copy + 1, data, size);
    (void)tzl_describe(copy + 1, size, text, sizeof text);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    run(data, size);
    if (size >= TENZOR_FILE_HEADER_SIZE) {
        uint64_t data_offset = tzl__u64(data + TENZOR_FILE_HDR_DATA_OFFSET);
        if (data_offset >= TENZOR_FILE_HEADER_SIZE && data_offset <= size) {
            uint8_t *signed_copy = (uint8_t *)malloc(size);
            uint64_t sum;
            unsigned i;
            if (!signed_copy) return 0;
            memcpy(signed_copy, data, size);
            sum = tzl__header_checksum(signed_copy, (size_t)data_offset);
            for (i = 0; i < 8; i++) signed_copy[TENZOR_FILE_HDR_CHECKSUM + i] = (uint8_t)(sum >> (8 * i));
            run(signed_copy, size);
            free(signed_copy);
        }
    }
    return 0;
}
