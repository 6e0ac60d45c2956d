#!/usr/bin/env python3
"""Write the corpus of malformed files that tests/corpus.rs opens.

Run from anywhere, after building the CLI:

    cargo build --bin tenzor
    pip install xxhash            # the one non-stdlib module: xxh3-64 for .tenzor checksums
    python3 tests/corpus/make_corpus.py

Writes every attack file into tests/corpus/ (removing stale ones first) and the manifest
tests/corpus/expected.json:

    {file name: {"kind": ErrorKind name, "message": substring of the error's Display,
                 ["verify": true], ["from_bytes_kind": ErrorKind name]}}

- "kind"/"message": what `TensorFile::open(path)` must fail with (the message must also name the
  file; the test checks that itself).
- "verify": true: the file opens (it is structurally valid) and `verify()` must fail instead.
- "from_bytes_kind": the kind `TensorFile::from_bytes` must fail with when it differs from
  "kind" (shard indexes: from bytes they are refused as Unsupported, having no directory).

Starting points: GGUF and safetensors files are laid out byte by byte here (the valid base of
each is checked with `tenzor info` first, so every case is one mutation away from a file the
library accepts). The .tenzor base is written by the CLI itself (`tenzor convert`) from a small
safetensors file holding three tensors of examples/sample.safetensors, the second cut to 10
elements so that there is padding between tensors (the whole sample would make every .tenzor
case ~56 KB, over the 20 KB limit per file); this script's own .tenzor serializer must reproduce the CLI's
output byte for byte before any mutation is made. Mutations that the header checksum would
catch first are re-signed (xxh3-64 of [0, data_offset) with bytes 48..56 read as zero), so each
case reaches the check it is meant for.

Deterministic: running it again rewrites every file byte for byte. Environment: TENZOR_BIN
overrides the CLI path (default target/debug/tenzor under the repository, or
$CARGO_TARGET_DIR/debug/tenzor).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    import xxhash
except ImportError:  # pragma: no cover - environment problem
    sys.exit("make_corpus.py needs the xxhash module for xxh3-64: pip install xxhash")

HERE = Path(__file__).resolve().parent  # tests/corpus
REPO = HERE.parent.parent
SAMPLE = REPO / "examples" / "sample.safetensors"
# Files of the corpus directory that are not cases.
NOT_CASES = {"make_corpus.py", "expected.json", "README.md"}
MAX_FILE = 20 * 1024
MAX_TOTAL = 300 * 1024

CASES: dict[str, tuple[bytes, dict, str]] = {}


def case(name: str, data: bytes, kind: str, message: str, attack: str, **extra) -> None:
    """Registers one corpus file with its expected error and a one-line description."""
    assert name not in CASES and name not in NOT_CASES, name
    assert len(data) < MAX_FILE, (name, len(data))
    entry = {"kind": kind, "message": message}
    entry.update(extra)
    CASES[name] = (data, entry, attack)


def u8(v: int) -> bytes:
    return struct.pack("<B", v)


def u16(v: int) -> bytes:
    return struct.pack("<H", v)


def u32(v: int) -> bytes:
    return struct.pack("<I", v)


def u64(v: int) -> bytes:
    return struct.pack("<Q", v)


def align(v: int, a: int) -> int:
    return (v + a - 1) // a * a


def det_bytes(label: str, n: int) -> bytes:
    """n deterministic pseudo-random bytes (SHA-256 in counter mode)."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f"{label}:{i}".encode()).digest()
        i += 1
    return bytes(out[:n])


def tenzor_bin() -> Path:
    if os.environ.get("TENZOR_BIN"):
        return Path(os.environ["TENZOR_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "debug" / "tenzor"


def cli(*args: str) -> str:
    exe = tenzor_bin()
    if not exe.exists():
        sys.exit(f"{exe} not found: run `cargo build --bin tenzor` first (or set TENZOR_BIN)")
    r = subprocess.run([str(exe), *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"tenzor {' '.join(args)} failed: {r.stderr.strip()}")
    return r.stdout


def check_valid(data: bytes, suffix: str, label: str) -> None:
    """The base of a family of mutations must be a file the library accepts."""
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"base{suffix}"
        p.write_bytes(data)
        cli("info", str(p))
        cli("verify", str(p))
    print(f"base {label}: {len(data)} bytes, valid")


# --------------------------------------------------------------------------------------------
# GGUF
# --------------------------------------------------------------------------------------------

GT_U8, GT_U32, GT_BOOL, GT_STRING, GT_ARRAY, GT_U64 = 0, 4, 7, 8, 9, 10
GGML_F32, GGML_F64, GGML_Q8_0 = 0, 28, 8


def gstr(s) -> bytes:
    b = s.encode() if isinstance(s, str) else s
    return u64(len(b)) + b


def gkv(key, vtype: int, payload: bytes) -> bytes:
    return gstr(key) + u32(vtype) + payload


def gkv_str(key, value) -> bytes:
    return gkv(key, GT_STRING, gstr(value))


def gkv_u32(key, value: int) -> bytes:
    return gkv(key, GT_U32, u32(value))


def gtensor(name, ne: list[int], ggml_type: int, offset: int) -> bytes:
    return gstr(name) + u32(len(ne)) + b"".join(u64(d) for d in ne) + u32(ggml_type) + u64(offset)


def gguf(kvs: list[bytes], tensors: list[bytes], data: bytes = b"", *, version: int = 3,
         n_tensors: int | None = None, n_kv: int | None = None, alignment: int = 32) -> bytes:
    head = (b"GGUF" + u32(version)
            + u64(len(tensors) if n_tensors is None else n_tensors)
            + u64(len(kvs) if n_kv is None else n_kv)
            + b"".join(kvs) + b"".join(tensors))
    return head + b"\0" * (align(len(head), alignment) - len(head)) + data


GGUF_ARCH = gkv_str("general.architecture", "llama")
W_DATA = det_bytes("gguf.w", 16)   # "w": F32 ne [4], 16 bytes at 0
V_DATA = det_bytes("gguf.v", 16)   # "v": F32 ne [2, 2], 16 bytes at 32
GGUF_DATA = W_DATA + b"\0" * 16 + V_DATA


def gguf_base(extra_kvs=(), w=None, v=None, data=GGUF_DATA) -> bytes:
    tensors = [w or gtensor("w", [4], GGML_F32, 0), v or gtensor("v", [2, 2], GGML_F32, 32)]
    return gguf([GGUF_ARCH, *extra_kvs], tensors, data)


def nested_array(depth: int) -> bytes:
    """An array value nested `depth` levels deep; the innermost holds no u8."""
    payload = u32(GT_U8) + u64(0)
    for _ in range(depth - 1):
        payload = u32(GT_ARRAY) + u64(1) + payload
    return payload


def make_gguf() -> None:
    base = gguf_base()
    check_valid(base, ".gguf", "gguf")
    bf = "BadFormat"
    pad = b"\0" * 64

    # Lengths and counts far beyond the file: refused before any allocation.
    case("gguf_string_len_2p63.gguf", gguf([GGUF_ARCH, gkv("general.name", GT_STRING, u64(1 << 63) + b"x" * 16)], [], pad, n_tensors=0),
         bf, "length 9223372036854775808", "string value whose u64 length is 2^63 in a tiny file")
    case("gguf_key_len_2p63.gguf", gguf([u64(1 << 63) + b"general.name" + u32(GT_U32) + u32(1)], [], pad),
         bf, "length 9223372036854775808", "KV key whose length is 2^63")
    case("gguf_array_count_2p60.gguf", gguf([gkv("tokenizer.ggml.scores", GT_ARRAY, u32(GT_U32) + u64(1 << 60) + u32(7) * 4)], [], pad),
         bf, "array of 1152921504606846976 u32 values cannot fit", "u32 array whose count is 2^60")
    case("gguf_array_count_overflow.gguf", gguf([gkv("tokenizer.ggml.tokens", GT_ARRAY, u32(GT_STRING) + u64(1 << 61) + gstr("a"))], [], pad),
         bf, "array of 2305843009213693952 string values cannot fit", "string array of 2^61 items: count x 8 overflows u64")
    case("gguf_tensor_count_2p40.gguf", gguf([], [], pad, n_tensors=1 << 40),
         bf, "tensor count 1099511627776", "tensor count 2^40 in a 96-byte file")
    case("gguf_kv_count_huge.gguf", gguf([], [], pad, n_kv=(1 << 64) - 1),
         bf, "KV count 18446744073709551615 cannot fit", "KV count 2^64-1 (count x 14 overflows)")
    case("gguf_kv_count_2p40.gguf", gguf([GGUF_ARCH], [], pad, n_kv=1 << 40),
         bf, "KV count 1099511627776 cannot fit", "KV count 2^40 with one real KV")

    # Tensor infos.
    case("gguf_rank_5.gguf", gguf_base(v=gtensor("v", [1, 1, 1, 2, 2], GGML_F32, 32)),
         bf, "rank 5 exceeds", "tensor of rank 5 (GGML_MAX_DIMS is 4)")
    case("gguf_rank_huge.gguf", gguf_base(v=gstr("v") + u32(0xFFFFFFFF) + u64(2) + u64(2) + u32(GGML_F32) + u64(32)),
         bf, "rank 4294967295 exceeds", "tensor whose n_dims is 0xFFFFFFFF")
    case("gguf_dims_overflow.gguf", gguf_base(v=gtensor("v", [(1 << 42) + 1, 1 << 22], GGML_F32, 32)),
         bf, "overflows", "ne [2^42+1, 2^22]: the element count wraps u64 to 2^22 (the GHSA-96jg-mvhq-q7q7 4 MB allocation)")
    case("gguf_dims_i64_overflow.gguf", gguf_base(v=gtensor("v", [1 << 32, 1 << 31], GGML_F32, 32)),
         bf, "overflows", "ne [2^32, 2^31]: 2^63 elements fit u64 but not GGML's int64")
    case("gguf_dim_above_i64.gguf", gguf_base(v=gtensor("v", [1 << 63], GGML_F32, 32)),
         bf, "exceeds GGML's int64 range", "a dimension of 2^63")
    case("gguf_bytes_overflow.gguf", gguf_base(v=gtensor("v", [1 << 62], GGML_F64, 32)),
         bf, "needs more bytes than the file has", "F64 ne [2^62]: elements fit, bytes (2^65) overflow u64")
    case("gguf_shape_larger_than_data.gguf", gguf_base(v=gtensor("v", [1024, 1024], GGML_F32, 32)),
         bf, "needs more bytes than the file has", "shape asks for 4 MiB in a small file")
    case("gguf_unknown_ggml_type.gguf", gguf_base(v=gtensor("v", [2, 2], 9999, 32)),
         "Unsupported", "unknown or unsupported ggml type 9999", "ggml type 9999")
    case("gguf_removed_ggml_type.gguf", gguf_base(v=gtensor("v", [32], 4, 32)),
         "Unsupported", "unknown or unsupported ggml type 4", "ggml type 4 (Q4_2, removed from GGML)")
    case("gguf_negative_ggml_type.gguf", gguf_base(v=gtensor("v", [2, 2], 0xFFFFFFFF, 32)),
         "Unsupported", "unknown or unsupported ggml type 4294967295", "ggml type -1 (0xFFFFFFFF), a would-be negative table index")
    case("gguf_block_row.gguf", gguf_base(v=gtensor("v", [33], GGML_Q8_0, 32)),
         bf, "innermost dimension 33 is not a multiple", "Q8_0 row of 33 elements (not whole 32-element blocks)")

    # KV values.
    case("gguf_negative_kv_type.gguf", gguf_base([gkv("general.name", 0xFFFFFFFF, u32(0))]),
         bf, "unknown value type 4294967295", "KV value type -1 (0xFFFFFFFF)")
    case("gguf_negative_array_type.gguf", gguf_base([gkv("tokenizer.ggml.scores", GT_ARRAY, u32(0xFFFFFFFF) + u64(1) + u32(0))]),
         bf, "unknown array item type 4294967295", "array item type -1 (0xFFFFFFFF)")
    case("gguf_nested_100.gguf", gguf_base([gkv("general.deep", GT_ARRAY, nested_array(100))]),
         bf, "nested deeper than 8", "arrays nested 100 deep")
    case("gguf_bool_2.gguf", gguf_base([gkv("general.flag", GT_BOOL, u8(2))]),
         bf, "neither 0 nor 1", "bool value 2")
    case("gguf_key_not_utf8.gguf", gguf_base([gkv(b"general.\xff\xfe", GT_U32, u32(1))]),
         bf, "not UTF-8", "KV key with invalid UTF-8")
    case("gguf_string_not_utf8.gguf", gguf_base([gkv_str("general.name", b"ab\xc3")]),
         bf, "not UTF-8", "string value with a truncated UTF-8 sequence")
    case("gguf_key_nul.gguf", gguf_base([gkv_u32("general.a\0b", 1)]),
         bf, "key contains a NUL byte", "KV key with an embedded NUL")
    case("gguf_key_empty.gguf", gguf_base([gkv_u32("", 1)]),
         bf, "key is empty", "empty KV key")
    case("gguf_duplicate_key.gguf", gguf_base([gkv_str("general.architecture", "gpt2")]),
         "DuplicateName", "key appears twice", "general.architecture twice (llama, then gpt2)")
    case("gguf_reserved_key.gguf", gguf_base([gkv_str("__gguf_types__", "x")]),
         "Unsupported", "reserved", "the key __gguf_types__ that tenzor reserves for value types")

    # Alignment.
    for value, label in [(0, "0"), (3, "3"), (1 << 31, "2p31")]:
        case(f"gguf_alignment_{label}.gguf", gguf_base([gkv_u32("general.alignment", value)]),
             bf, f"alignment {value} is not a power of two", f"general.alignment = {value}")
    case("gguf_alignment_u64.gguf", gguf_base([gkv("general.alignment", GT_U64, u64(32))]),
         bf, "must be u32, not u64", "general.alignment stored as u64 (llama.cpp reads a u32)")

    # Names.
    case("gguf_name_nul.gguf", gguf_base(v=gtensor("v\0w", [2, 2], GGML_F32, 32)),
         bf, "name contains a NUL byte", "tensor name with an embedded NUL (\"v\\0w\")")
    case("gguf_name_empty.gguf", gguf_base(v=gtensor("", [2, 2], GGML_F32, 32)),
         bf, "name is empty", "empty tensor name")
    case("gguf_name_not_utf8.gguf", gguf_base(v=gtensor(b"v\xff", [2, 2], GGML_F32, 32)),
         bf, "not UTF-8", "tensor name with invalid UTF-8")
    case("gguf_duplicate_tensor.gguf", gguf_base(v=gtensor("w", [2, 2], GGML_F32, 32)),
         "DuplicateName", "name appears twice", "two tensors named w (different data)")

    # Data ranges.
    case("gguf_offset_outside.gguf", gguf_base(v=gtensor("v", [2, 2], GGML_F32, 1 << 20)),
         bf, "lies outside the", "tensor data offset 1 MiB in a small file")
    case("gguf_offset_overflow.gguf", gguf_base(v=gtensor("v", [2, 2], GGML_F32, (1 << 64) - 32)),
         bf, "lies outside the", "tensor offset 2^64-32: data start + offset overflows u64")
    case("gguf_offset_unaligned.gguf", gguf_base(v=gtensor("v", [2, 2], GGML_F32, 20)),
         bf, "not a multiple of the alignment 32", "tensor offset 20 with alignment 32")
    case("gguf_overlap.gguf", gguf_base(w=gtensor("w", [16], GGML_F32, 0), data=GGUF_DATA + bytes(16)),
         bf, "overlaps tensor", "w = [0, 64) overlaps v = [32, 48)")
    case("gguf_alias.gguf", gguf_base(v=gtensor("v", [2, 2], GGML_F32, 0)),
         bf, "overlaps tensor", "v and w share the same 16 bytes")

    # Header.
    case("gguf_version_1.gguf", gguf([GGUF_ARCH], [], pad, version=1),
         "Unsupported", "GGUF version 1 is not supported", "GGUF version 1")
    case("gguf_version_4.gguf", gguf([GGUF_ARCH], [], pad, version=4),
         "Unsupported", "GGUF version 4 is not supported", "GGUF version 4")
    case("gguf_big_endian.gguf", gguf([GGUF_ARCH], [], pad, version=0x03000000),
         "Unsupported", "big-endian GGUF", "version 3 byte-swapped (a big-endian file)")
    case("gguf_truncated_header.gguf", b"GGUF" + u32(3) + b"\x02\x00\x00",
         bf, "tensor count needs 8 bytes", "header cut inside the tensor count (11 bytes)")
    case("gguf_magic_only.gguf", b"GGUF",
         bf, "version needs 4 bytes", "the 4 magic bytes alone")
    case("gguf_truncated_tensor_info.gguf", base[:120],
         bf, "file truncated: dimension needs 8 bytes", "valid file cut inside the second tensor info's dimensions (120 bytes)")
    case("gguf_truncated_data.gguf", base[:len(base) - 8],
         bf, "lies outside the", "valid file with its last 8 data bytes cut off")


# --------------------------------------------------------------------------------------------
# safetensors
# --------------------------------------------------------------------------------------------

def st(header, data: bytes = b"", n: int | None = None) -> bytes:
    """A safetensors file; `header` is a dict or raw JSON text (for duplicate keys etc.)."""
    h = header if isinstance(header, (bytes, str)) else json.dumps(header, separators=(",", ":"))
    h = h.encode() if isinstance(h, str) else h
    h += b" " * (align(len(h), 8) - len(h))
    return u64(len(h) if n is None else n) + h + data


def t(dtype: str, shape, begin: int, end: int) -> dict:
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


ST_DATA = det_bytes("st.data", 24)


def st_base_header() -> dict:
    return {"__metadata__": {"format": "pt"}, "a": t("F32", [2, 2], 0, 16), "b": t("F16", [4], 16, 24)}


def make_safetensors() -> None:
    base = st(st_base_header(), ST_DATA)
    check_valid(base, ".safetensors", "safetensors")
    bf = "BadFormat"
    unrec = "unrecognised format"

    def with_tensors(**tensors) -> dict:
        h = {"__metadata__": {"format": "pt"}}
        h.update(tensors)
        return h

    case("st_header_len_beyond_file.safetensors", st(st_base_header(), ST_DATA, n=4096),
         bf, "file is truncated: the safetensors header claims 4096 bytes", f"header length 4096 in a {len(base)}-byte file")
    case("st_header_len_2p63.safetensors", st(st_base_header(), ST_DATA, n=1 << 63),
         bf, "file is truncated", "header length 2^63")
    case("st_header_not_json.safetensors", st("{this is not json}", b""),
         bf, "header is not a valid JSON object", "header '{this is not json}'")
    case("st_header_not_utf8.safetensors", st(b'{"a\xff":1}', b""),
         bf, "header is not UTF-8", "header with invalid UTF-8")
    case("st_header_array.safetensors", st(b'{}', b"")[:8] + b"[1, 2]  ",
         bf, unrec, "header is a JSON array, not an object")
    case("st_offsets_outside.safetensors", st(with_tensors(a=t("F32", [2, 2], 0, 16), b=t("F32", [4], 16, 32)), ST_DATA),
         bf, "tensor 'b': data offsets [16, 32] lie outside the 24 data bytes", "b = [16, 32) with 24 data bytes")
    case("st_offsets_sum_overflow.safetensors",
         st({f"t{i}": t("U8", [(1 << 61) - 1], i * ((1 << 61) - 1), (i + 1) * ((1 << 61) - 1)) for i in range(8)}, b""),
         bf, "lie outside", "8 contiguous U8 tensors of 2^61-1 bytes: the data end 2^64-8 plus the header overflows")
    case("st_offsets_reversed.safetensors", st(with_tensors(a=t("F32", [2, 2], 16, 0), b=t("F16", [4], 16, 24)), ST_DATA),
         bf, "tensor 'a': data offsets [16, 0] lie outside", "a = [16, 0): end before begin")
    case("st_overlap.safetensors", st(with_tensors(a=t("F32", [2, 2], 0, 16), b=t("F32", [2], 8, 16)), ST_DATA[:16]),
         bf, "invalid offset for tensor `b`", "b = [8, 16) inside a = [0, 16)")
    case("st_gap.safetensors", st(with_tensors(a=t("F32", [2], 0, 8), b=t("F32", [2], 16, 24)), ST_DATA),
         bf, "invalid offset for tensor `b`", "8 bytes of other content between a and b (polyglot gap)")
    case("st_trailing_bytes.safetensors", base + b"trailing",
         bf, "not fully covered", "8 bytes after the last tensor")
    case("st_shape_mismatch.safetensors", st(with_tensors(a=t("F32", [2, 3], 0, 16), b=t("F16", [4], 16, 24)), ST_DATA),
         bf, "tensor 'a': 16 data bytes do not match shape [2, 3] of F32", "F32 [2, 3] (24 bytes) declared over 16 bytes")
    case("st_shape_overflow.safetensors", st(with_tensors(a=t("F32", [1 << 32, 1 << 32], 0, 16)), ST_DATA[:16]),
         bf, "overflow", "shape [2^32, 2^32]: the element count overflows")
    case("st_f4_odd.safetensors", st(with_tensors(a=t("F4", [3], 0, 2)), ST_DATA[:2]),
         bf, "not whole F4 blocks", "F4 tensor of 3 elements (1.5 bytes)")
    case("st_unknown_dtype.safetensors", st(with_tensors(a=t("F128", [1], 0, 16)), ST_DATA[:16]),
         "Unsupported", "tensor 'a': unknown dtype \"F128\"", "dtype F128")
    case("st_rank_9.safetensors", st(with_tensors(a=t("U8", [1] * 9, 0, 1)), ST_DATA[:1]),
         "Unsupported", "rank 9 exceeds the maximum of 8", "U8 tensor of rank 9")
    case("st_negative_shape.safetensors", st(with_tensors(a=t("F32", [-1, 4], 0, 16)), ST_DATA[:16]),
         bf, "\"shape\" is not a list of non-negative integers", "shape [-1, 4]")
    case("st_negative_offset.safetensors", st(with_tensors(a=t("F32", [4], -16, 0)), b""),
         bf, "\"data_offsets\" is not two non-negative integers", "data_offsets [-16, 0]")
    case("st_float_shape.safetensors", st(b'{"a":{"dtype":"F32","shape":[4.0],"data_offsets":[0,16]}}', ST_DATA[:16]),
         bf, "\"shape\" is not a list of non-negative integers", "shape [4.0] (a JSON float)")
    case("st_name_nul.safetensors", st(with_tensors(**{"a\0b": t("F32", [4], 0, 16)}), ST_DATA[:16]),
         bf, "name contains a NUL byte", "tensor name \"a\\u0000b\"")
    case("st_name_empty.safetensors", st(with_tensors(**{"": t("F32", [4], 0, 16)}), ST_DATA[:16]),
         bf, "name is empty", "empty tensor name")
    case("st_metadata_not_string.safetensors", st({"__metadata__": {"n": 1}, "a": t("F32", [4], 0, 16)}, ST_DATA[:16]),
         bf, "invalid type: integer `1`", "__metadata__ value 1 (safetensors metadata is string -> string)")
    deep = b'{"__metadata__":{"format":"pt"},"x":' + b"[" * 200 + b"]" * 200 + b',"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'
    case("st_deep_nesting.safetensors", st(deep, ST_DATA[:16]),
         bf, "recursion limit exceeded", "an extra header key holding arrays nested 200 deep")
    # Duplicate JSON keys: serde_json maps keep the last value, Python's json too, but a
    # first-wins parser sees another file (a [0, 8) and 8 trailing bytes). A name given twice is
    # ambiguous, so it must be refused, as GGUF and .tenzor refuse duplicate names.
    dup = (b'{"__metadata__":{"format":"pt"},'
           b'"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
           b'"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}')
    case("st_duplicate_key.safetensors", st(dup, ST_DATA[:16]),
         "DuplicateName", "appears twice", "tensor key a twice with different shapes and ranges (first-wins vs last-wins parsers disagree)")
    dup_meta = (b'{"__metadata__":{"format":"pt"},"__metadata__":{"format":"evil"},'
                b'"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}')
    case("st_duplicate_metadata.safetensors", st(dup_meta, ST_DATA[:16]),
         "DuplicateName", "'__metadata__': name appears twice", "__metadata__ given twice")


# --------------------------------------------------------------------------------------------
# .tenzor
# --------------------------------------------------------------------------------------------

HDR = struct.Struct("<8sIIIIQQIIQII")      # 64 bytes, FORMAT.md "Header"
ENT = struct.Struct("<QIIHBBI8QQQQ")       # 112 bytes, FORMAT.md "Index entries"
H_VERSION, H_FLAGS, H_COUNT, H_ZERO, H_INDEX, H_DATA, H_META, H_ALIGN, H_SUM, H_NAMES, H_RES = (
    8, 12, 16, 20, 24, 32, 40, 44, 48, 56, 60)
E_HASH, E_NAME_OFF, E_NAME_LEN, E_DTYPE, E_NDIM, E_FLAGS, E_POS, E_SHAPE, E_DOFF, E_DSIZE, E_SUM = (
    0, 8, 12, 16, 18, 19, 20, 24, 88, 96, 104)
DTYPES = {"F32": (0, 4), "F16": (1, 2), "BF16": (2, 2), "U8": (8, 1)}


def fnv1a(b: bytes) -> int:
    h = 0xCBF29CE484222325
    for c in b:
        h = ((h ^ c) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def xxh3(b: bytes) -> int:
    return xxhash.xxh3_64_intdigest(b)


def resign(b: bytearray) -> bytearray:
    """Recomputes the header checksum over [0, data_offset) with bytes 48..56 as zero."""
    d = min(struct.unpack_from("<Q", b, H_DATA)[0], len(b))
    region = bytearray(b[:d])
    region[H_SUM:H_SUM + 8] = bytes(8)
    struct.pack_into("<Q", b, H_SUM, xxh3(bytes(region)))
    return b


def tenzor_file(meta: bytes, tensors: list[tuple[bytes, str, list[int], bytes]], alignment: int = 64,
                reverse_index: bool = False) -> bytes:
    """A .tenzor v2 file written from FORMAT.md alone (tensors in position order).
    reverse_index: index entries in descending order (an invalid file)."""
    n = len(tensors)
    index_offset = align(64 + len(meta), 4096)
    data, rel = bytearray(), []
    for (_, _, _, blob) in tensors:
        data += b"\0" * (align(len(data), alignment) - len(data))
        rel.append(len(data))
        data += blob
    slots = sorted(range(n), key=lambda p: (fnv1a(tensors[p][0]), tensors[p][0]), reverse=reverse_index)
    entries, order, names = bytearray(), [0] * n, bytearray()
    for slot, p in enumerate(slots):
        name, dtype, shape, blob = tensors[p]
        order[p] = slot
        entries += ENT.pack(fnv1a(name), len(names), len(name), DTYPES[dtype][0], len(shape), 0, p,
                            *(list(shape) + [0] * (8 - len(shape))), rel[p], len(blob), xxh3(blob))
        names += name + b"\0"
    names_end = index_offset + len(entries) + 4 * n + len(names)
    data_offset = align(names_end, max(4096, alignment))
    out = bytearray(HDR.pack(b"TENZOR\0\0", 2, 0, n, 0, index_offset, data_offset, len(meta), alignment, 0, len(names), 0))
    out += meta
    out += b"\0" * (index_offset - len(out))
    out += entries + b"".join(u32(s) for s in order) + names
    out += b"\0" * (data_offset - len(out))
    out += data
    return bytes(resign(out))


# Three small tensors of the README sample (insertion order = position order); the second is
# cut to its first TZ_CUT elements so that its end is not 64-aligned and the file has a padding
# gap between two tensors.
TZ_NAMES = ["model.layers.0.input_layernorm.weight", "model.norm.weight", "model.layers.1.input_layernorm.weight"]
TZ_CUT = {"model.norm.weight": 10}


def sample_tensors() -> list[tuple[bytes, str, list[int], bytes]]:
    b = SAMPLE.read_bytes()
    n = struct.unpack_from("<Q", b)[0]
    h = json.loads(b[8:8 + n])
    out = []
    for name in TZ_NAMES:
        info = h[name]
        s, e = info["data_offsets"]
        shape, blob = info["shape"], b[8 + n + s:8 + n + e]
        if name in TZ_CUT:
            assert info["dtype"] == "F32" and len(shape) == 1
            shape, blob = [TZ_CUT[name]], blob[:4 * TZ_CUT[name]]
        out.append((name.encode(), info["dtype"], shape, blob))
    return out


def tenzor_base() -> bytes:
    tensors = sample_tensors()
    header = {"__metadata__": {"format": "pt"}}
    off = 0
    for name, dtype, shape, blob in tensors:
        header[name.decode()] = t(dtype, shape, off, off + len(blob))
        off += len(blob)
    src = st(header, b"".join(blob for (_, _, _, blob) in tensors))
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "src.safetensors").write_bytes(src)
        cli("convert", str(Path(d) / "src.safetensors"), "-o", str(Path(d) / "base.tenzor"), "--quiet")
        base = (Path(d) / "base.tenzor").read_bytes()
    mine = tenzor_file(b'{"format":"pt"}', tensors)
    if mine != base:
        sys.exit("this script's .tenzor serializer no longer reproduces `tenzor convert` byte for byte: "
                 "update tenzor_file() (FORMAT.md changed?) before regenerating")
    return base


class Tz:
    """A mutable view of the base file, with helpers that name fields as FORMAT.md does."""

    def __init__(self, base: bytes):
        self.b = bytearray(base)

    def get(self, fmt: str, at: int) -> int:
        return struct.unpack_from(fmt, self.b, at)[0]

    def put(self, fmt: str, at: int, v: int) -> "Tz":
        struct.pack_into(fmt, self.b, at, v)
        return self

    @property
    def index(self) -> int:
        return self.get("<Q", H_INDEX)

    def entry(self, name: str) -> int:
        """Offset of the index entry of tensor `name`."""
        h = fnv1a(name.encode())
        count = self.get("<I", H_COUNT)
        for i in range(count):
            if self.get("<Q", self.index + i * ENT.size) == h:
                return self.index + i * ENT.size
        raise KeyError(name)

    def signed(self) -> bytes:
        return bytes(resign(self.b))

    def raw(self) -> bytes:
        return bytes(self.b)


def make_tenzor() -> None:
    base = tenzor_base()
    check_valid(base, ".tenzor", "tenzor")
    bf, uns = "BadFormat", "Unsupported"
    d0 = struct.unpack_from("<Q", base, H_DATA)[0]
    first, second = TZ_NAMES[0], TZ_NAMES[1]

    # Truncation: cut inside the magic, the header, at the index, inside the data.
    case("tz_truncated_5.tenzor", base[:5], bf, "unrecognised format", "5 bytes (inside the magic)")
    case("tz_truncated_40.tenzor", base[:40], bf, "the header alone needs 64", "40 bytes (inside the header)")
    case("tz_truncated_64.tenzor", base[:64], bf, f"the data section starts at {d0}", "the 64-byte header alone")
    case("tz_truncated_4096.tenzor", base[:4096], bf, f"the data section starts at {d0}", "cut at the start of the index")
    case(f"tz_truncated_{d0 + 150}.tenzor", base[:d0 + 150], bf, "lies beyond the end of the file", "cut inside the second tensor's data")

    # Header fields checked before the checksum (the check comes first: no re-signing).
    case("tz_bad_magic.tenzor", b"TENZOX" + base[6:], bf, "unrecognised format", "magic TENZOX\\0\\0")
    case("tz_version_3.tenzor", Tz(base).put("<I", H_VERSION, 3).raw(), uns, "unsupported format version 3", "version 3")
    case("tz_required_flag.tenzor", Tz(base).put("<I", H_FLAGS, 0x8000).raw(), uns, "header flags 0x8000 are required but unknown", "required flag bit 15 set (not defined)")
    # Bit 0 (APPENDABLE) is outside the header checksum: set on a canonical file with no root area.
    case("tz_appendable_no_root.tenzor", Tz(base).put("<I", H_FLAGS, 1).raw(), bf, "appendable file is truncated", "APPENDABLE flag set, but the file ends before its root area")
    case("tz_alignment_3.tenzor", Tz(base).put("<I", H_ALIGN, 3).raw(), bf, "alignment 3 is not a power of two", "alignment 3")
    case("tz_alignment_2p31.tenzor", Tz(base).put("<I", H_ALIGN, 1 << 31).raw(), bf, "alignment 2147483648 is not a power of two", "alignment 2^31 (padding arithmetic would overflow)")
    case("tz_data_offset_beyond.tenzor", Tz(base).put("<Q", H_DATA, d0 + 4096).raw(), bf, f"but the data section starts at {d0 + 4096}", "data offset one page past the end of the file")
    case("tz_count_huge.tenzor", Tz(base).put("<I", H_COUNT, 0xFFFFFFFF).raw(), bf, "is before the end of the names", "tensor count 2^32-1 in an 8 KiB file (no allocation from the count)")

    # The header checksum itself.
    bad = bytearray(base)
    bad[64] ^= 0x20  # '{' -> '['
    case("tz_header_checksum.tenzor", bytes(bad), "Checksum", "header checksum mismatch", "one metadata byte changed, checksum not updated")

    # Re-signed mutations: each reaches the structural check it targets.
    def meta(text: bytes) -> bytes:
        m = Tz(base)
        old = m.get("<I", H_META)
        m.b[64:64 + max(old, len(text))] = text + b"\0" * max(0, old - len(text))
        return m.put("<I", H_META, len(text)).signed()

    case("tz_metadata_array.tenzor", meta(b"[1,2,3]"), bf, "metadata is not a JSON object", "metadata [1,2,3] (re-signed)")
    case("tz_metadata_number_range.tenzor", meta(b'{"a":1e400}'), bf, "metadata is not valid JSON", "metadata number 1e400, out of f64 range, so `metadata()` cannot parse it (re-signed)")
    case("tz_metadata_deep.tenzor", meta(b'{"a":' + b"[" * 1000 + b"]" * 1000 + b"}"), bf, "metadata is not valid JSON", "metadata arrays nested 1000 deep, beyond what `metadata()` can parse (re-signed)")

    e1, e2 = Tz(base).entry(first), Tz(base).entry(second)
    case("tz_rank_9.tenzor", Tz(base).put("<B", e1 + E_NDIM, 9).signed(), bf, "rank 9 exceeds the maximum of 8", "ndim 9, shape has 8 slots (re-signed)")
    case("tz_unknown_dtype.tenzor", Tz(base).put("<H", e1 + E_DTYPE, 999).signed(), uns, "unknown dtype code 999", "dtype code 999 (re-signed)")
    case("tz_size_mismatch.tenzor", Tz(base).put("<Q", e1 + E_DSIZE, 132).signed(), bf, "byte size 132 does not match", "data size 132 for F32 [32] (re-signed)")
    case("tz_shape_larger.tenzor", Tz(base).put("<Q", e1 + E_SHAPE, 1 << 20).put("<Q", e1 + E_DSIZE, 4 << 20).signed(), bf, "lies beyond the end of the file", "shape [2^20] with its 4 MiB size in an 8 KiB file (re-signed)")
    case("tz_shape_overflow.tenzor", Tz(base).put("<B", e1 + E_NDIM, 2).put("<Q", e1 + E_SHAPE, 1 << 32).put("<Q", e1 + E_SHAPE + 8, 1 << 32).signed(), bf, "overflows", "shape [2^32, 2^32] (re-signed)")
    case("tz_size_overflow.tenzor", Tz(base).put("<Q", e1 + E_SHAPE, 1 << 62).put("<Q", e1 + E_DSIZE, 0).signed(), bf, "overflows", "F32 [2^62]: 2^64 bytes overflow u64 (re-signed)")
    case("tz_hash_mismatch.tenzor", Tz(base).put("<Q", e1 + E_HASH, 12345).signed(), bf, "index is not sorted by (hash, name)", "name hash 12345 (re-signed)")
    case("tz_name_outside.tenzor", Tz(base).put("<I", e1 + E_NAME_LEN, 0xFFFFFFF0).signed(), bf, "outside the name table", "name length 2^32-16 (re-signed)")
    nul = Tz(base)
    names_at = nul.index + 3 * ENT.size + 3 * 4
    nul.b[names_at + 3] = 0
    case("tz_name_nul.tenzor", nul.signed(), bf, "name contains a NUL byte", "NUL inside the first stored name (re-signed)")
    case("tz_position_bad.tenzor", Tz(base).put("<I", e1 + E_POS, 0xFFFFFFFF).signed(), bf, "disagrees with the order table", "position 2^32-1 (re-signed)")
    case("tz_overlap.tenzor", Tz(base).put("<Q", e2 + E_DOFF, 64).signed(), bf, "data offset 64 should be 128", "second tensor's data at 64, inside the first tensor's [0, 128) (re-signed)")
    case("tz_trailing_bytes.tenzor", base + b"\0trailer", bf, "8 trailing bytes after the last tensor", "8 bytes appended after the last tensor")

    # Structural rewrites, re-serialized from FORMAT.md: a duplicate name, an unsorted index.
    tensors = sample_tensors()
    dup = tenzor_file(b'{"format":"pt"}', [tensors[0], (tensors[0][0],) + tensors[1][1:], tensors[2]])
    case("tz_duplicate_name.tenzor", dup, "DuplicateName", "name appears twice in the index", f"two tensors named {first}")
    case("tz_unsorted_index.tenzor", tenzor_file(b'{"format":"pt"}', tensors, reverse_index=True), bf, "index is not sorted", "index entries in descending (hash, name) order, names and order table consistent")

    # Data corruption: the structure is intact, so it opens; verify() must name the tensor.
    # FORMAT.md: the gaps between tensors hold zero bytes; open does not read the data section,
    # so a payload hidden there (a polyglot file) can only be caught by verify().
    gap_at = d0 + 4 * TZ_CUT[second] + 128
    assert gap_at % 64 != 0 and base[gap_at:gap_at + 4] == bytes(4)
    gap = bytearray(base)
    gap[gap_at:gap_at + 4] = b"PK\x03\x04"
    case("tz_gap_nonzero.tenzor", bytes(gap), bf, "padding", "a zip local-file magic in the zero padding between the second and third tensor (polyglot)", verify=True)
    corrupt = bytearray(base)
    corrupt[d0 + 5] ^= 0x01
    case("tz_corrupt_data.tenzor", bytes(corrupt), "Checksum", "data checksum mismatch", "one bit flipped in the first tensor's data", verify=True)
    case("tz_corrupt_checksum.tenzor", Tz(base).put("<Q", e2 + E_SUM, 0).signed(), "Checksum", f"tensor '{second}'", "the second tensor's stored checksum zeroed (re-signed)", verify=True)


# --------------------------------------------------------------------------------------------
# .tenzor v1 (legacy, written by the original Zig implementation: no checksum, no names)
# --------------------------------------------------------------------------------------------

def v1_file(entries: list[tuple[int, int, int, list[int], int, int]], data: bytes, meta: bytes = b"{}",
            count: int | None = None) -> bytes:
    """entries: (hash, dtype, ndim, shape[<=5], data_offset, data_size)."""
    index_offset = align(64 + len(meta), 8)
    data_offset = align(index_offset + 48 * len(entries), 4096)
    out = bytearray(b"TENZOR\0\0" + u32(1) + u32(0) + u32(len(entries) if count is None else count) + u32(0)
                    + u64(index_offset) + u64(data_offset) + u32(len(meta)) + bytes(20))
    out += meta + b"\0" * (index_offset - 64 - len(meta))
    for (h, dtype, ndim, shape, off, sz) in entries:
        dims = list(shape) + [0] * (5 - len(shape))
        out += u64(h) + u8(dtype) + u8(ndim) + b"\0\0" + b"".join(u32(d) for d in dims) + u64(off) + u64(sz)
    out += b"\0" * (data_offset - len(out))
    return bytes(out + data)


def make_legacy() -> None:
    ha, hb = fnv1a(b"a"), fnv1a(b"b")
    data = det_bytes("v1", 32)
    base = v1_file([(ha, 0, 1, [4], 0, 16), (hb, 0, 2, [2, 2], 16, 16)], data)
    check_valid(base, ".tenzor", "tenzor v1")
    bf = "BadFormat"
    case("v1_rank_6.tenzor", v1_file([(ha, 0, 6, [1, 1, 1, 1, 4], 0, 16), (hb, 0, 2, [2, 2], 16, 16)], data),
         bf, "rank 6 exceeds the legacy maximum of 5", "legacy entry of rank 6 (5 shape slots)")
    case("v1_overlap.tenzor", v1_file([(ha, 0, 1, [4], 0, 16), (hb, 0, 2, [2, 2], 8, 16)], data),
         bf, "data overlaps another tensor", "legacy tensors [0, 16) and [8, 24)")
    case("v1_data_outside.tenzor", v1_file([(ha, 0, 1, [4], 0, 16), (hb, 0, 2, [2, 2], 24, 16)], data),
         bf, "data lies beyond the end of the file", "legacy tensor [24, 40) in 32 data bytes")
    case("v1_offset_overflow.tenzor", v1_file([(ha, 0, 1, [4], (1 << 64) - 8, 16), (hb, 0, 2, [2, 2], 16, 16)], data),
         bf, "data lies beyond the end of the file", "legacy data offset 2^64-8: offset + size overflows")
    case("v1_dtype_bool.tenzor", v1_file([(ha, 12, 1, [4], 0, 4), (hb, 0, 2, [2, 2], 16, 16)], data),
         "Unsupported", "unknown legacy dtype code 12", "legacy dtype 12 (BOOL, not a v1 type)")
    case("v1_count_huge.tenzor", v1_file([(ha, 0, 1, [4], 0, 16)], data, count=0xFFFFFFFF),
         bf, "file is truncated: index ends at", "legacy tensor count 2^32-1")


# --------------------------------------------------------------------------------------------
# Shard indexes
# --------------------------------------------------------------------------------------------

def make_indexes() -> None:
    def index(weight_map) -> bytes:
        return (json.dumps({"metadata": {"total_size": 16}, "weight_map": weight_map}, indent=2, sort_keys=True) + "\n").encode()

    # The base: a valid index over one valid shard (checked in a scratch directory).
    with tempfile.TemporaryDirectory() as d:
        shard = st({"a": t("F32", [4], 0, 16)}, ST_DATA[:16])
        (Path(d) / "model-00001-of-00001.safetensors").write_bytes(shard)
        (Path(d) / "model.safetensors.index.json").write_bytes(index({"a": "model-00001-of-00001.safetensors"}))
        cli("info", str(Path(d) / "model.safetensors.index.json"))
        print("base shard index: valid")

    idx = dict(from_bytes_kind="Unsupported")
    bf = "BadFormat"
    case("index_dotdot.safetensors.index.json", index({"a": "../fixtures/sharded/model-00001-of-00003.safetensors"}),
         bf, "escapes the index's directory", "shard path ../fixtures/... (a real file outside the directory)", **idx)
    case("index_dotdot_inner.safetensors.index.json", index({"a": "sub/../../corpus/gguf_overlap.gguf"}),
         bf, "escapes the index's directory", "shard path sub/../../corpus/... (.. in the middle)", **idx)
    case("index_absolute.safetensors.index.json", index({"a": "/etc/passwd"}),
         bf, "escapes the index's directory", "absolute shard path /etc/passwd", **idx)
    case("index_missing_shard.safetensors.index.json", index({"a": "model-00001-of-00002.safetensors"}),
         "Io", "cannot open", "the shard file does not exist", **idx)
    case("index_shard_is_index.safetensors.index.json", index({"a": "index_absolute.safetensors.index.json"}),
         "Unsupported", "a shard index can only be opened from a path", "the shard is itself an index", **idx)
    case("index_bad_shard.safetensors.index.json", index({"a": "tz_bad_magic.tenzor"}),
         bf, "tz_bad_magic.tenzor", "the shard is a malformed corpus file", **idx)
    case("index_not_json.safetensors.index.json", b'{"weight_map": {"a": ',
         bf, "shard index is not valid JSON", "index cut in the middle", **idx)
    case("index_no_weight_map.safetensors.index.json", b'{"metadata": {}}\n',
         bf, "has no \"weight_map\" object", "index without weight_map", **idx)
    case("index_value_not_string.safetensors.index.json", index({"a": 7}),
         bf, "weight_map value is not a file name", "weight_map value 7", **idx)


# --------------------------------------------------------------------------------------------

def make_misc() -> None:
    case("empty.bin", b"", "BadFormat", "file is empty", "0 bytes")
    rnd = det_bytes("random", 1024)
    assert rnd[:4] != b"GGUF" and rnd[:1] not in b"{ \t\r\n" and not rnd.startswith(b"TENZOR")
    case("random.bin", rnd, "BadFormat", "unrecognised format", "1024 pseudo-random bytes")


def main() -> int:
    make_gguf()
    make_safetensors()
    make_tenzor()
    make_legacy()
    make_indexes()
    make_misc()
    total = sum(len(d) for (d, _, _) in CASES.values())
    assert total < MAX_TOTAL, f"corpus is {total} bytes, over {MAX_TOTAL}"
    for old in HERE.iterdir():
        if old.is_file() and old.name not in NOT_CASES:
            old.unlink()
    for name, (data, _, _) in CASES.items():
        (HERE / name).write_bytes(data)
    manifest = {name: entry for name, (_, entry, _) in sorted(CASES.items())}
    (HERE / "expected.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    write_readme()
    counts: dict[str, int] = {}
    for name in CASES:
        fam = family(name)
        counts[fam] = counts.get(fam, 0) + 1
    print(f"{len(CASES)} files, {total} bytes: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def family(name: str) -> str:
    return {"gguf": "gguf", "st": "safetensors", "tz": "tenzor", "v1": "tenzor v1",
            "index": "shard index"}.get(name.split("_")[0], "other")


README_HEAD = """# Corpus of malformed files

Every file here is an attack on a parser of tensor files (the project's list of "attacks a
parser of such files must survive", and more). `tests/corpus.rs` opens each one with
`TensorFile::open` and `TensorFile::from_bytes` and checks the error kind and message that
`expected.json` gives (for the two `verify` cases: the file opens, `verify()` fails).

Do not edit the files by hand: regenerate them (deterministic, byte for byte):

```sh
cargo build --bin tenzor          # the .tenzor cases start from `tenzor convert` output
pip install xxhash                # xxh3-64, to re-sign mutated .tenzor headers
python3 tests/corpus/make_corpus.py
```

`expected.json`: `{file: {"kind", "message", ["verify": true], ["from_bytes_kind"]}}`; `kind`
is an `ErrorKind` variant, `message` a substring of the error's Display (which must also name
the file), `from_bytes_kind` the kind `from_bytes` must give when it differs (shard indexes need
a directory, so from bytes they are `Unsupported`).

| file | attack | expected error |
| --- | --- | --- |
"""


def write_readme() -> None:
    rows = []
    for name, (_, entry, attack) in sorted(CASES.items()):
        msg = entry["message"]
        code = f"`` {msg} ``" if "`" in msg else f"`{msg}`"
        exp = f"{entry['kind']}: {code}".replace("|", "\\|")
        if entry.get("verify"):
            exp = "opens; verify() " + exp
        cell = attack.replace("|", "\\|")
        for reserved in ("__metadata__", "__gguf_types__"):
            cell = cell.replace(reserved, f"`{reserved}`")
        rows.append(f"| `{name}` | {cell} | {exp} |")
    (HERE / "README.md").write_text(README_HEAD + "\n".join(rows) + "\n")


if __name__ == "__main__":
    sys.exit(main())
