/* A program linked straight from the build tree (-Ltarget/<profile>
 * -ltenzor): tests/build_tree.rs checks that it starts and reads a file. */
#include <stdio.h>

#include "tenzor.h"

int main(int argc, char **argv) {
    const tenzor_file *f;
    if (argc != 2 || tenzor_open(argv[1], &f) != TENZOR_OK) return 1;
    printf("tensors: %zu\n", tenzor_tensor_count(f));
    tenzor_close(f);
    return 0;
}
