/* The one translation unit holding the tenzor_lite.h implementation for the
 * host harnesses (dump, fuzz). */
#define TENZOR_LITE_IMPLEMENTATION
#include "tenzor_lite.h"
