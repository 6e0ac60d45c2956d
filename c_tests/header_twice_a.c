/* The header must survive being included twice, here and in
 * header_twice_b.c (a second translation unit of the same program). */
#include "tenzor.h"
#include "tenzor.h"

#include <stdio.h>
#include <string.h>

/* Encodes the header's version macros, and checks they match the library. */
int header_twice_a(void) {
    char expect[64];
    snprintf(expect, sizeof expect, "%d.%d.%d", TENZOR_VERSION_MAJOR, TENZOR_VERSION_MINOR,
             TENZOR_VERSION_PATCH);
    if (strcmp(expect, tenzor_version()) != 0) {
        return -1;
    }
    return TENZOR_VERSION_MAJOR * 10000 + TENZOR_VERSION_MINOR * 100 + TENZOR_VERSION_PATCH;
}
