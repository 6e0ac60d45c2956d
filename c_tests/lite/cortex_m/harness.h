#ifndef HARNESS_H
#define HARNESS_H
#include <stdint.h>
void hs_puts(const char *s);
__attribute__((noreturn)) void hs_exit(int ok);
uintptr_t hs_stack_pointer(void);
uint32_t hs_stack_used_below(uintptr_t base);
#endif
