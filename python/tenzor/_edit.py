"""Editing tensor bytes in place (``tenzor_editor_*``) and ``rehash``.

No writable pointer into the file ever reaches Python code: ``write``
copies the caller's values into the mapping through a view that lives only
for that call, so a flush (after which old views must not be written) or a
close (after which the mapping is gone) can never be outrun by a stale
array. Reads return copies for the same reason; use ``safe_open`` for
zero-copy reading (its views see the edits: the mapping is shared).
"""

from __future__ import annotations

import os
import threading
from ctypes import byref, c_void_p, string_at
from typing import Any, List, Optional, Tuple, Union

import numpy as np

from . import _dtypes, _errors, _lib
from ._errors import check, error_for
from ._file import _c_name

lib = _lib.lib
PathLike = Union[str, "os.PathLike[str]"]


class _Writable:
    """A writable array interface over one tensor's bytes (internal, per call)."""

    __slots__ = ("__array_interface__",)

    def __init__(self, ptr: int, nbytes: int) -> None:
        self.__array_interface__ = {
            "version": 3,
            "shape": (nbytes,),
            "typestr": "|u1",
            "data": (ptr, False),
        }


class Editor:
    """A file open for editing tensor bytes in place (``tenzor.open_edit``).

    ::

        with tenzor.open_edit("model.tenzor") as e:
            e.write("lm_head.weight", new_values)        # whole tensor
            e.write("bias", 0.0, index=slice(0, 8))      # part of it
        # closed: synced, checksums updated, lock released

    Structure never changes (names, shapes, dtypes, metadata); only bytes.
    One editor per file at a time (``BusyError`` otherwise); use it from one
    thread at a time (calls are serialised by a lock). Readers with the file
    open see the new bytes as they are written.
    """

    def __init__(self, path: PathLike) -> None:
        self._path = os.fspath(path)
        self._lock = threading.Lock()
        h = c_void_p()
        check(lib.tenzor_editor_open(os.fsencode(self._path), byref(h)))
        self._h: Optional[int] = h.value

    def _handle(self) -> int:
        if self._h is None:
            raise ValueError(f"{self._path}: the editor is closed")
        return self._h

    def _get(self, name: str) -> _lib.TensorMut:
        v = _lib.TensorMut()
        status = lib.tenzor_editor_get_tensor(self._handle(), _c_name(self._path, name), byref(v))
        if status != _errors.OK:
            raise error_for(status)
        return v

    def keys(self) -> List[str]:
        """Tensor names in file order."""
        with self._lock:
            h = self._handle()
            names = []
            for i in range(lib.tenzor_editor_tensor_count(h)):
                v = _lib.TensorMut()
                check(lib.tenzor_editor_get_tensor_at(h, i, byref(v)))
                names.append(string_at(v.name, v.name_len).decode() if v.name else "#%016x" % v.name_hash)
            return names

    def __len__(self) -> int:
        return int(lib.tenzor_editor_tensor_count(self._handle()))

    @staticmethod
    def _typed(v: _lib.TensorMut, raw: np.ndarray) -> Tuple[np.ndarray, Tuple[int, ...]]:
        shape = tuple(v.shape[: v.ndim])
        if v.dtype >= 512 or _dtypes.IS_RAW[v.dtype]:
            return raw.reshape(_dtypes.raw_shape(shape, v.size)), shape
        return raw.view(_dtypes.NUMPY[v.dtype]).reshape(shape), shape

    def read(self, name: str) -> np.ndarray:
        """A copy of the tensor's current contents (typed as ``safe_open``'s)."""
        with self._lock:
            v = self._get(name)
            raw = np.asarray(_Writable(v.data, v.size))
            return self._typed(v, raw)[0].copy()

    def write(self, name: str, value: Any, index: Any = None) -> None:
        """Copies ``value`` into tensor ``name`` (numpy broadcasting rules),
        or into ``tensor[index]`` when ``index`` is given. ``value`` is cast
        to the tensor's dtype (``same_kind`` casting; raw-byte dtypes take
        uint8). Shape mismatches raise ``ValueError`` before anything is
        written."""
        if type(value).__module__.startswith("torch"):
            value = value.detach().cpu().numpy()
        val = np.asarray(value)
        with self._lock:
            v = self._get(name)
            target, _ = self._typed(v, np.asarray(_Writable(v.data, v.size)))
            if not np.can_cast(val.dtype, target.dtype, "same_kind"):
                raise TypeError(
                    f"{self._path}: tensor '{name}' is {target.dtype}; cannot write {val.dtype} "
                    "values into it (same_kind casting)"
                )
            if index is None:
                np.copyto(target, val, casting="same_kind")
            else:
                target[index] = val
            del target  # the only writable view: gone before the call returns

    def flush(self) -> None:
        """Makes every write so far durable and the file verifiable again."""
        with self._lock:
            check(lib.tenzor_editor_flush(self._handle()))

    def close(self) -> None:
        """Flushes, unmaps and releases the lock (whatever the outcome; an
        exception reports a failed flush). Closing twice does nothing."""
        with self._lock:
            h, self._h = self._h, None
            if h is not None:
                check(lib.tenzor_editor_close(h))

    @property
    def closed(self) -> bool:
        return self._h is None

    def __enter__(self) -> "Editor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        h, self._h = getattr(self, "_h", None), None
        if h is not None and lib is not None:
            lib.tenzor_editor_close(h)


def open_edit(path: PathLike) -> Editor:
    """Opens ``path`` (.tenzor, .safetensors, .gguf) for editing tensor
    bytes in place; see ``Editor``."""
    return Editor(path)


def rehash(path: PathLike) -> None:
    """Repairs a .tenzor file left marked by an interrupted edit: recomputes
    every tensor checksum and clears the mark (``tenzor rehash FILE``)."""
    check(lib.tenzor_rehash(os.fsencode(os.fspath(path))))
