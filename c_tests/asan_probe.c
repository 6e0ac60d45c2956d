/* Leaks on purpose: tests/c_api.rs checks that a binary built with the
 * suite's sanitizer flags reports it, proving ASan/LSan are really active. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    char *volatile leak = malloc(7);
    if (leak == NULL) {
        return 2;
    }
    leak[0] = 'x';
    printf("leaking %p\n", (void *)leak);
    leak = NULL;
    return 0;
}
