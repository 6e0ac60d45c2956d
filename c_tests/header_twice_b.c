/* Second translation unit including the header (twice) into one program. */
#include "tenzor.h"
#include "tenzor.h"

int header_twice_b(void) {
    tenzor_tensor t;
    return (int)(sizeof t.shape / sizeof t.shape[0]);
}
