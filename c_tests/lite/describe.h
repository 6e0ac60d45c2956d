/* Canonical text description of what tenzor_lite.h reads from a buffer,
 * compared line for line with the Rust library's reading of the same bytes
 * (tests/lite.rs builds the same text with TensorFile::from_bytes). Reusable
 * by any harness: the differential test, fuzz targets, emulated targets. */
#ifndef TZL_DESCRIBE_H
#define TZL_DESCRIBE_H

#include <stddef.h>
#include <stdint.h>

/* Writes the description of buf[0..len) into out (NUL-terminated, cut at
 * cap - 1 bytes); returns the number of bytes it wanted to write. Format:
 *   full <Class>                     open with TZL_FULL: Ok, BadFormat, ...
 *   t <pos> <name> <dtype> <d0,d1,..> <size> <fnv1a of data> <verify>
 *                                    one line per tensor, position order
 *   verify <Class>                   tzl_verify: padding and data checksums
 *   edit-interrupted                 when the edit mark is set
 *   meta <len> <fnv1a of metadata>
 *   lazy <agrees|differs|rejected>   TZL_LAZY gives the same tensors (or,
 *                                    for a file full refuses, whatever it
 *                                    gives stays inside the buffer)
 * plus "error ..." lines for any internal inconsistency (find by name or
 * hash disagreeing with the listing). */
size_t tzl_describe(const uint8_t *buf, size_t len, char *out, size_t cap);

/* The class name of a status, as Rust's ErrorKind spells it. */
const char *tzl_describe_class(int status);

#endif
