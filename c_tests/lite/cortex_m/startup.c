/* Bare-metal start-up for the MPS2 AN386 under qemu-system-arm: vector
 * table, .data/.bss set-up, stack painting (to measure the stack the lite
 * reader really uses), and ARM semihosting for output and the exit status.
 * No C library: the lite reader is built with TZL_NO_LIBC. */
#include <stddef.h>
#include <stdint.h>

#include "harness.h"

extern uint32_t _etext, _sdata, _edata, _sbss, _ebss, _stack_top, _stack_paint;
int main(void);

#define PAINT 0xa5a5a5a5u

static int semihost(int op, const void *arg) {
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void hs_puts(const char *s) { semihost(0x04, s); /* SYS_WRITE0 */ }

void hs_exit(int ok) {
    /* SYS_EXIT with ADP_Stopped_ApplicationExit (QEMU exits 0) or
     * ADP_Stopped_RunTimeErrorUnknown (QEMU exits 1). */
    semihost(0x18, (const void *)(uintptr_t)(ok ? 0x20026u : 0x20024u));
    for (;;) {
    }
}

uintptr_t hs_stack_pointer(void) {
    uintptr_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    return sp;
}

/* Bytes of stack used below `base` (a stack pointer value): the lowest
 * painted word something overwrote. */
uint32_t hs_stack_used_below(uintptr_t base) {
    const uint32_t *p = &_stack_paint;
    while ((uintptr_t)p < base && *p == PAINT) p++;
    return (uint32_t)(base - (uintptr_t)p);
}

/* GCC may call these even in freestanding code (struct copies). */
void *memcpy(void *d, const void *s, size_t n) {
    unsigned char *dp = (unsigned char *)d;
    const unsigned char *sp = (const unsigned char *)s;
    while (n--) *dp++ = *sp++;
    return d;
}
void *memset(void *d, int c, size_t n) {
    unsigned char *dp = (unsigned char *)d;
    while (n--) *dp++ = (unsigned char)c;
    return d;
}

__attribute__((naked, noreturn)) void reset_handler(void) {
    __asm__ volatile(
        /* Paint [_stack_paint, sp) before anything uses the stack. */
        "ldr r0, =_stack_paint\n"
        "ldr r1, =0xa5a5a5a5\n"
        "1: cmp r0, sp\n"
        "bhs 2f\n"
        "str r1, [r0], #4\n"
        "b 1b\n"
        "2: b reset_c\n");
}

__attribute__((used, noreturn)) void reset_c(void) {
    uint32_t *src = &_etext, *dst = &_sdata;
    while (dst < &_edata) *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss; dst++) *dst = 0;
    hs_exit(main() == 0);
}

static void fault(void) {
    hs_puts("FAIL: hard fault\n");
    hs_exit(0);
}

/* The initial stack pointer is the first vector: the linker symbol is
 * declared as a function so the whole table is one array of handlers. */
typedef void (*vector)(void);
extern void stack_top_vector(void) __asm__("_stack_top");

__attribute__((section(".vectors"), used)) const vector vectors[16] = {
    stack_top_vector, reset_handler, fault, fault, fault, fault, fault,
};
