"""Loads libtenzor and declares the C functions this package calls (ctypes).

The shared library is bundled inside the package (``tenzor/libtenzor.so``,
copied there by ``setup.py`` from ``cargo build --release``), so importing
needs no environment variable. ``TENZOR_LIBRARY`` may point at another build
(for developing the Rust side without reinstalling).
"""

from __future__ import annotations

import ctypes
import os
import sys
from ctypes import (
    POINTER,
    Structure,
    c_bool,
    c_char_p,
    c_size_t,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path

#: Largest rank a tensor may have (``TENZOR_MAX_DIMS`` in tenzor.h).
MAX_DIMS = 8


class Tensor(Structure):
    """``tenzor_tensor``: one tensor, borrowed from an open file."""

    _fields_ = [
        ("name", c_void_p),
        ("name_len", c_size_t),
        ("name_hash", c_uint64),
        ("dtype", c_uint32),
        ("has_checksum", c_bool),
        ("ndim", c_size_t),
        ("shape", c_uint64 * MAX_DIMS),
        ("data", c_void_p),
        ("size", c_size_t),
        ("checksum", c_uint64),
        ("file_offset", c_uint64),
        ("alignment", c_uint64),
        ("position", c_size_t),
    ]


class TensorMut(Structure):
    """``tenzor_tensor_mut``: one tensor of a file open for editing."""

    _fields_ = [
        ("name", c_void_p),
        ("name_len", c_size_t),
        ("name_hash", c_uint64),
        ("dtype", c_uint32),
        ("ndim", c_size_t),
        ("shape", c_uint64 * MAX_DIMS),
        ("data", c_void_p),
        ("size", c_size_t),
        ("file_offset", c_uint64),
        ("alignment", c_uint64),
        ("position", c_size_t),
    ]


class WriterOptions(Structure):
    """``tenzor_writer_options`` (zero means the default for every field)."""

    _fields_ = [
        ("alignment", c_uint64),
        ("reserve_tensors", c_uint64),
        ("reserve_name_bytes", c_uint64),
        ("reserve_metadata_bytes", c_uint64),
    ]


def _library_name() -> str:
    if sys.platform == "darwin":
        return "libtenzor.dylib"
    if sys.platform == "win32":
        return "tenzor.dll"
    return "libtenzor.so"


def _find_library() -> str:
    override = os.environ.get("TENZOR_LIBRARY")
    if override:
        return override
    bundled = Path(__file__).with_name(_library_name())
    if bundled.is_file():
        return str(bundled)
    raise ImportError(
        f"tenzor: the bundled shared library {bundled} is missing; "
        "reinstall the package with `pip install ./python` from the tenzor repository "
        "(it runs `cargo build --release`), or set TENZOR_LIBRARY to a libtenzor build"
    )


LIBRARY_PATH = _find_library()
lib = ctypes.CDLL(LIBRARY_PATH)

_FILE = c_void_p  # const tenzor_file *
_WRITER = c_void_p  # tenzor_writer *
_STATUS = c_uint32


def _declare(name: str, restype, *argtypes) -> None:
    try:
        fn = getattr(lib, name)
    except AttributeError:
        raise ImportError(
            f"tenzor: {LIBRARY_PATH} has no {name}: it is an older libtenzor than this "
            "package (reinstall with `pip install ./python`, or point TENZOR_LIBRARY at "
            "a current build)"
        ) from None
    fn.restype = restype
    fn.argtypes = list(argtypes)


_declare("tenzor_version", c_char_p)
_declare("tenzor_dtype_name", c_char_p, c_uint32)
_declare("tenzor_dtype_bits", c_uint32, c_uint32)
_declare("tenzor_hash_name", c_uint64, c_char_p, c_size_t)
_declare("tenzor_convert", _STATUS, c_char_p, c_char_p)
_declare("tenzor_last_error", c_size_t, c_char_p, c_size_t)
_declare("tenzor_status_str", c_char_p, c_uint32)
_declare("tenzor_open", _STATUS, c_char_p, POINTER(_FILE))
_declare("tenzor_open_memory", _STATUS, c_void_p, c_size_t, POINTER(_FILE))
_declare("tenzor_close", None, _FILE)
_declare("tenzor_tensor_count", c_size_t, _FILE)
_declare("tenzor_get_tensor", _STATUS, _FILE, c_char_p, POINTER(Tensor))
_declare("tenzor_get_tensor_by_hash", _STATUS, _FILE, c_uint64, POINTER(Tensor))
_declare("tenzor_get_tensor_at", _STATUS, _FILE, c_size_t, POINTER(Tensor))
_declare("tenzor_metadata", _STATUS, _FILE, POINTER(c_void_p), POINTER(c_size_t))
_declare("tenzor_verify", _STATUS, _FILE)
_declare("tenzor_file_alignment", c_uint64, _FILE)
_declare("tenzor_file_bytes", _STATUS, _FILE, POINTER(c_void_p), POINTER(c_size_t))
_declare("tenzor_file_format", c_uint32, _FILE)
_declare("tenzor_file_shard_count", c_size_t, _FILE)


# (name, dtype, ndim, shape): the head of every add/reserve call, on the
# writer and on the appender alike; add ends with (data, len), reserve with
# the out-pointer to the reserved bytes.
_TENSOR_HEAD = (c_char_p, c_uint32, c_size_t, POINTER(c_uint64))
_ADD_TAIL = (c_void_p, c_size_t)
_RESERVE_TAIL = (POINTER(c_void_p),)
_declare("tenzor_writer_create", _STATUS, c_char_p, POINTER(WriterOptions), POINTER(_WRITER))
_declare("tenzor_writer_add", _STATUS, _WRITER, *_TENSOR_HEAD, *_ADD_TAIL)
_declare("tenzor_writer_set_metadata", _STATUS, _WRITER, c_char_p, c_size_t)
_declare("tenzor_writer_finish", _STATUS, _WRITER)
_declare("tenzor_writer_abort", None, _WRITER)


# Editing in place (mode r+).
_EDITOR = c_void_p  # tenzor_editor *
_declare("tenzor_editor_open", _STATUS, c_char_p, POINTER(_EDITOR))
_declare("tenzor_editor_tensor_count", c_size_t, _EDITOR)
_declare("tenzor_editor_get_tensor", _STATUS, _EDITOR, c_char_p, POINTER(TensorMut))
_declare("tenzor_editor_get_tensor_at", _STATUS, _EDITOR, c_size_t, POINTER(TensorMut))
_declare("tenzor_editor_flush", _STATUS, _EDITOR)
_declare("tenzor_editor_close", _STATUS, _EDITOR)
_declare("tenzor_rehash", _STATUS, c_char_p)
_declare("tenzor_file_edit_interrupted", c_bool, _FILE)


# Reserving tensors filled in place (the writer's zero-copy path).
_declare("tenzor_writer_reserve", _STATUS, _WRITER, *_TENSOR_HEAD, *_RESERVE_TAIL)
_declare("tenzor_writer_get_tensor", _STATUS, _WRITER, c_char_p, POINTER(Tensor))


# Appending to an existing .tenzor (modes a / a+).
_APPENDER = c_void_p  # tenzor_appender *
_declare("tenzor_appender_open", _STATUS, c_char_p, POINTER(WriterOptions), POINTER(_APPENDER))
_declare("tenzor_appender_add", _STATUS, _APPENDER, *_TENSOR_HEAD, *_ADD_TAIL)
_declare("tenzor_appender_reserve", _STATUS, _APPENDER, *_TENSOR_HEAD, *_RESERVE_TAIL)
_declare("tenzor_appender_set_metadata", _STATUS, _APPENDER, c_char_p, c_size_t)
_declare("tenzor_appender_get_tensor", _STATUS, _APPENDER, c_char_p, POINTER(Tensor))
_declare("tenzor_appender_commit", _STATUS, _APPENDER)
_declare("tenzor_appender_abort", None, _APPENDER)


def last_error() -> str:
    """This thread's last error message from the library."""
    n = lib.tenzor_last_error(None, 0)
    buf = ctypes.create_string_buffer(n + 1)
    lib.tenzor_last_error(buf, n + 1)
    return buf.value.decode("utf-8", "replace")


def version() -> str:
    """The loaded library's version string."""
    return lib.tenzor_version().decode()


# Opening with options, and reading into caller memory (the loading API).
class OpenOptions(Structure):
    """``tenzor_open_options`` (versioned: ``size`` first)."""

    _fields_ = [
        ("size", c_size_t),
        ("backend", c_uint32),
        ("validation", c_uint32),
        ("hints", c_uint32),
        ("reserved", c_uint32),
    ]


_declare("tenzor_open_ex", _STATUS, c_char_p, POINTER(OpenOptions), POINTER(_FILE))
_declare("tenzor_file_backend", _STATUS, _FILE, POINTER(c_uint32), POINTER(c_char_p))
_declare("tenzor_read_tensor", _STATUS, _FILE, c_char_p, c_void_p, c_size_t, POINTER(c_size_t))

# Slices: row views, hyper-rectangles, and descriptions that read nothing.
_declare("tenzor_get_tensor_info", _STATUS, _FILE, c_char_p, POINTER(Tensor))
_declare("tenzor_get_tensor_info_at", _STATUS, _FILE, c_size_t, POINTER(Tensor))
_declare("tenzor_get_tensor_rows", _STATUS, _FILE, c_char_p, c_uint64, c_uint64, POINTER(Tensor))
_declare(
    "tenzor_read_slice",
    _STATUS,
    _FILE,
    c_char_p,
    POINTER(c_uint64),
    POINTER(c_uint64),
    c_size_t,
    c_void_p,
    c_size_t,
    POINTER(c_size_t),
)


# Typed metadata (GGUF key-value pairs, top-level JSON keys), zero-copy.
class Str(Structure):
    """``tenzor_str``: ``len`` UTF-8 bytes at ``ptr``, borrowed from the file."""

    _fields_ = [("ptr", c_void_p), ("len", c_size_t)]


_SIZE_P = POINTER(c_size_t)
_declare("tenzor_meta_count", _STATUS, _FILE, _SIZE_P)
_declare("tenzor_meta_find", _STATUS, _FILE, c_char_p, _SIZE_P)
_declare("tenzor_meta_key", _STATUS, _FILE, c_size_t, POINTER(c_void_p), _SIZE_P)
_declare("tenzor_meta_type", _STATUS, _FILE, c_size_t, POINTER(c_uint32))
_declare("tenzor_meta_get_i64", _STATUS, _FILE, c_size_t, POINTER(ctypes.c_int64))
_declare("tenzor_meta_get_u64", _STATUS, _FILE, c_size_t, POINTER(c_uint64))
_declare("tenzor_meta_get_f64", _STATUS, _FILE, c_size_t, POINTER(ctypes.c_double))
_declare("tenzor_meta_get_bool", _STATUS, _FILE, c_size_t, POINTER(c_bool))
_declare("tenzor_meta_get_str", _STATUS, _FILE, c_size_t, POINTER(c_void_p), _SIZE_P)
_declare("tenzor_meta_get_json", _STATUS, _FILE, c_size_t, POINTER(c_void_p), _SIZE_P)
_declare("tenzor_meta_array_info", _STATUS, _FILE, c_size_t, POINTER(c_uint32), _SIZE_P)
_declare("tenzor_meta_array_data", _STATUS, _FILE, c_size_t, POINTER(c_void_p), _SIZE_P)
_declare("tenzor_meta_array_strs", _STATUS, _FILE, c_size_t, c_size_t, c_size_t, POINTER(Str))
