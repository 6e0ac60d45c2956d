/* Sizes of tenzor_lite.h's structs, so the Rust mirror of them in
 * fuzz/bodies/lite_diff.rs can check it matches the C layout before use.
 * Built with c_tests/lite/lite_impl.c (the implementation) by fuzz/build.rs
 * for the fuzz targets, and by the replay test for `cargo test`. */
#include <stddef.h>

#include "tenzor_lite.h"

size_t tzl_fuzz_layout(int which);

size_t tzl_fuzz_layout(int which) {
    switch (which) {
    case 0: return sizeof(tzl_file);
    case 1: return sizeof(tzl_tensor);
    case 2: return offsetof(tzl_tensor, checksum);
    case 3: return sizeof(tzl_diag);
    default: return 0;
    }
}
