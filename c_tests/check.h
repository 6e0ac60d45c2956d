/* Shared helpers of the C test suite (c_tests/). Built and run by
 * tests/c_api.rs with -std=c99 -Wall -Wextra -Wpedantic -Werror, plainly,
 * under valgrind, and with AddressSanitizer + UBSan. */
#ifndef TENZOR_C_TESTS_CHECK_H
#define TENZOR_C_TESTS_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tenzor.h"

extern int tz_checks;
extern int tz_failures;

/* Records one assertion; on failure prints where and goes on, so one run
 * reports every broken behaviour. Not thread-safe: threads count locally. */
#define CHECK(cond)                                                                      \
    do {                                                                                 \
        tz_checks++;                                                                     \
        if (!(cond)) {                                                                   \
            tz_failures++;                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);    \
        }                                                                                \
    } while (0)

/* Checks a call's status, printing the last error when it is unexpected. */
#define CHECK_STATUS(call, expected)                                                     \
    do {                                                                                 \
        tenzor_status check_s_ = (call);                                                 \
        tz_checks++;                                                                     \
        if (check_s_ != (expected)) {                                                    \
            tz_failures++;                                                               \
            fprintf(stderr, "%s:%d: %s returned %u (%s), expected %u; last error: %s\n", \
                    __FILE__, __LINE__, #call, (unsigned)check_s_,                       \
                    tenzor_status_str(check_s_), (unsigned)(expected), last_error());    \
        }                                                                                \
    } while (0)

#define CHECK_OK(call) CHECK_STATUS(call, TENZOR_OK)

/* This thread's last error, in a static buffer (main thread only). */
const char *last_error(void);

/* Checks the last error contains `needle` (NULL: no check). */
void check_error_mentions(const char *file, int line, const char *needle);
#define CHECK_ERROR_MENTIONS(needle) check_error_mentions(__FILE__, __LINE__, (needle))

/* Checks `call` fails with `status` and a message containing both needles. */
#define CHECK_FAILS(call, status, needle1, needle2)                                      \
    do {                                                                                 \
        CHECK_STATUS(call, status);                                                      \
        CHECK_ERROR_MENTIONS(needle1);                                                   \
        CHECK_ERROR_MENTIONS(needle2);                                                   \
    } while (0)

/* The work directory (argv[1]) and the sample (argv[2]). */
extern const char *tz_workdir;
extern const char *tz_sample;

/* `tz_workdir`/`name` in a static rotating buffer. */
const char *work_path(const char *name);

/* Reads a whole file into malloc'ed memory; NULL on failure. */
unsigned char *read_file(const char *path, size_t *len);
int write_file(const char *path, const void *data, size_t len);
int file_exists(const char *path);
/* Number of entries in tz_workdir whose name contains `needle`. */
int count_dir_entries_containing(const char *needle);

/* Little-endian u64 at `p`. */
uint64_t le64(const unsigned char *p);

/* The sample converted to .tenzor (made once by main). */
const char *sample_tenzor(void);

void test_read(void);
void test_write(void);
void test_errors(void);
void test_threads(void);
void test_load(void);
void test_slice(void);
void test_edit(void);
void test_paths(void);
void test_append(void);
void test_meta(void);
int header_twice_a(void);
int header_twice_b(void);

#endif
