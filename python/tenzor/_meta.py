"""Typed metadata through ``tenzor_meta_*``: one value at a time, without
turning the whole metadata into JSON first.

A GGUF vocabulary of 150,000 tokens is a list of ``str`` built straight from
the file's bytes (one C call for the whole array), and a numeric array is a
numpy array viewing the file (no copy; it keeps the file open).
"""

from __future__ import annotations

import json
from ctypes import byref, c_bool, c_double, c_int64, c_size_t, c_uint32, c_uint64, c_void_p, string_at
from typing import Any, Callable, List, Optional

import numpy as np

from . import _errors, _lib
from ._errors import check

lib = _lib.lib

# TENZOR_META_* (include/tenzor.h); a test checks them against the header.
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64, NULL, JSON = range(15)

#: numpy dtype of each numeric item type, as stored (little-endian).
NUMPY_ITEM = {
    U8: "<u1", I8: "<i1", U16: "<u2", I16: "<i2", U32: "<u4", I32: "<i4",
    F32: "<f4", BOOL: "?", U64: "<u8", I64: "<i8", F64: "<f8",
}
_INTEGERS = {U8, I8, U16, I16, U32, I32, U64, I64}

#: What ``value`` returns for a GGUF array of arrays, which the typed calls
#: do not expose: the caller takes it from the JSON metadata instead.
NESTED = object()


class Metadata:
    """The typed metadata of one open handle. ``holder`` is what a numpy
    view must keep alive for the memory it views (the handle object)."""

    __slots__ = ("_ptr", "_path", "_holder", "_as_bytes")

    def __init__(self, ptr: int, path: str, holder: Any, as_bytes: Callable[[int, int], np.ndarray]) -> None:
        self._ptr = ptr
        self._path = path
        self._holder = holder
        self._as_bytes = as_bytes

    def keys(self) -> List[str]:
        n = c_size_t()
        check(lib.tenzor_meta_count(self._ptr, byref(n)), self._path)
        p, length = c_void_p(), c_size_t()
        out = []
        for i in range(n.value):
            check(lib.tenzor_meta_key(self._ptr, i, byref(p), byref(length)), self._path)
            out.append(string_at(p.value, length.value).decode("utf-8"))
        return out

    def find(self, key: str) -> Optional[int]:
        index = c_size_t()
        status = lib.tenzor_meta_find(self._ptr, key.encode("utf-8"), byref(index))
        if status == _errors.NOT_FOUND:
            return None
        check(status, self._path)
        return index.value

    def value(self, index: int) -> Any:
        ty = c_uint32()
        check(lib.tenzor_meta_type(self._ptr, index, byref(ty)), self._path)
        t = ty.value
        if t in _INTEGERS:
            return self._integer(index, t)
        if t in (F32, F64):
            return self._get(lib.tenzor_meta_get_f64, index, c_double())
        if t == BOOL:
            return bool(self._get(lib.tenzor_meta_get_bool, index, c_bool()))
        if t == STRING:
            return self._text(lib.tenzor_meta_get_str, index)
        if t == ARRAY:
            return self._array(index)
        if t == NULL:
            return None
        return json.loads(self._text(lib.tenzor_meta_get_json, index))

    def _get(self, fn: Any, index: int, out: Any) -> Any:
        check(fn(self._ptr, index, byref(out)), self._path)
        return out.value

    def _integer(self, index: int, t: int) -> int:
        if t == U64:
            return int(self._get(lib.tenzor_meta_get_u64, index, c_uint64()))
        return int(self._get(lib.tenzor_meta_get_i64, index, c_int64()))

    def _text(self, fn: Any, index: int) -> str:
        p, n = c_void_p(), c_size_t()
        check(fn(self._ptr, index, byref(p), byref(n)), self._path)
        return string_at(p.value, n.value).decode("utf-8") if n.value else ""

    def _array(self, index: int) -> Any:
        item, n = c_uint32(), c_size_t()
        check(lib.tenzor_meta_array_info(self._ptr, index, byref(item), byref(n)), self._path)
        if item.value == STRING:
            return self._strings(index, n.value)
        if item.value in NUMPY_ITEM:
            p, size = c_void_p(), c_size_t()
            check(lib.tenzor_meta_array_data(self._ptr, index, byref(p), byref(size)), self._path)
            raw = self._as_bytes(p.value or 0, size.value)
            return raw.view(np.dtype(NUMPY_ITEM[item.value]))
        # Arrays of arrays exist only in the JSON text (tenzor_metadata).
        return NESTED

    def _strings(self, index: int, n: int) -> List[str]:
        items = (_lib.Str * n)()
        check(lib.tenzor_meta_array_strs(self._ptr, index, 0, n, items), self._path)
        return [string_at(s.ptr, s.len).decode("utf-8") if s.len else "" for s in items]
