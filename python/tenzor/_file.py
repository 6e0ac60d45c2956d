"""Reading: ``safe_open`` and the zero-copy views it hands out.

How the memory is held, and why no Python code can touch unmapped memory:

* A single file is mapped by Python's own ``mmap`` (read-only for numpy,
  copy-on-write private pages for torch, which has no read-only tensors:
  writing into such a tensor changes this process's copy, never the file),
  then validated by ``tenzor_open_memory`` over that mapping. Every tensor is
  a slice of one ``uint8`` array over the whole mapping, so each view holds
  a reference to it, and through it a buffer export of the ``mmap``: the
  mapping cannot be unmapped while any view is alive (``mmap.close`` itself
  refuses with ``BufferError``, and the memory is released only when the
  last view is garbage).
* Shard sets (``*.index.json``, GGUF splits) are mapped by the library
  (``tenzor_open``); each view holds a reference to the handle object,
  whose finaliser calls ``tenzor_close`` only when nothing references it.

Leaving a ``with`` block (or ``release()``) ends the handle: lookups then
raise ``ValueError``, and the mapping lives on exactly as long as views do.
``close()`` unmaps at once, so it raises ``BufferError`` while views exist.
"""

from __future__ import annotations

import gc
import json
import mmap
import operator
import os
import stat
import struct
import sys
import warnings
import ctypes
from ctypes import byref, c_char_p, c_size_t, c_uint32, c_uint64, c_void_p, string_at
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from . import _dtypes, _errors, _lib, _meta
from ._errors import OutOfRangeError, check, error_for

lib = _lib.lib
PathLike = Union[str, "os.PathLike[str]"]

FORMAT_NAMES = {1: "tenzor", 2: "tenzor-v1", 3: "safetensors", 4: "gguf"}
_FORMAT_LEGACY = 2
_FORMAT_GGUF = 4
_FRAMEWORKS = {"np": "np", "numpy": "np", "pt": "pt", "torch": "pt", "pytorch": "pt"}


# tenzor_tensor decoded in one call (struct) rather than field by field
# (ctypes descriptors): the index build is the hot loop of safe_open.
# Valid for the 64-bit layout; elsewhere the fields are read one by one.
_TENSOR = struct.Struct("=QQQI?3xQ8QQQQQQQ")
_FAST = (ctypes.sizeof(_lib.Tensor), _lib.Tensor.data.offset, _lib.Tensor.position.offset) == (
    _TENSOR.size,
    104,
    144,
)


def _decode(t: _lib.Tensor) -> Tuple[Any, ...]:
    """(name address, name length, name hash, dtype, has_checksum, ndim,
    shape[8]..., data, size, checksum, file_offset, alignment, position)."""
    if _FAST:
        return _TENSOR.unpack_from(t)
    return (t.name or 0, t.name_len, t.name_hash, t.dtype, t.has_checksum, t.ndim,
            *t.shape, t.data or 0, t.size, t.checksum, t.file_offset, t.alignment, t.position)


def _entry(f: Tuple[Any, ...]) -> Tuple[int, Tuple[int, ...], int, int]:
    """(dtype, shape, data address, bytes) from a decoded tensor."""
    return (f[3], f[6 : 6 + f[5]], f[14], f[15])


def _name_of(f: Tuple[Any, ...]) -> str:
    if not f[0]:
        return "#%016x" % f[2]  # legacy v1 files store hashes only
    return string_at(f[0], f[1]).decode("utf-8")


class TensorInfo(NamedTuple):
    """What the index says about one tensor (``safe_open.tensor_info``)."""

    name: str
    #: the library's dtype name: "F32", "BF16", "Q4_0", ...
    dtype: str
    #: logical shape, outermost dimension first (elements, not bytes)
    shape: Tuple[int, ...]
    nbytes: int
    #: offset of the data in its file (in its shard, for a shard set)
    file_offset: int
    #: largest power of two (up to 65536) dividing the data's address (0 in
    #: ``get_slice(...).info`` of handles the library opened: nothing was read)
    alignment: int
    #: stored xxh3-64 of the data, or None when the format has none
    checksum: Optional[int]
    #: position in file order
    position: int


class _CFile:
    """Owns one ``tenzor_file *``; ``tenzor_close`` runs when the last
    reference goes. ``keepalive`` is the buffer the handle borrows (None
    when the library mapped the file itself): held here so that the memory
    cannot be released while the handle exists."""

    __slots__ = ("ptr", "keepalive", "__weakref__")

    def __init__(self, ptr: int, keepalive: Any) -> None:
        self.ptr = ptr
        self.keepalive = keepalive

    def __del__(self) -> None:
        p, self.ptr = self.ptr, 0
        if p and lib is not None:
            lib.tenzor_close(p)


class _Exported:
    """A read-only numpy array interface over memory the library mapped,
    holding the handle that owns it (shard sets only)."""

    __slots__ = ("__array_interface__", "owner")

    def __init__(self, ptr: int, nbytes: int, owner: _CFile) -> None:
        self.__array_interface__ = {
            "version": 3,
            "shape": (nbytes,),
            "typestr": "|u1",
            "data": (ptr, True),
        }
        self.owner = owner


def _framework(framework: str) -> str:
    fw = _FRAMEWORKS.get(framework)
    if fw is None:
        raise ValueError(
            f"framework {framework!r} is not supported: use 'np' (numpy) or 'pt' (torch)"
        )
    return fw


def _open_library(path: str) -> _CFile:
    h = c_void_p()
    check(lib.tenzor_open(os.fsencode(path), byref(h)))
    return _CFile(h.value, None)


BACKENDS = {"auto": 0, "mmap": 1, "read": 2, "direct": 3}
_BACKEND_NAMES = {v: k for k, v in BACKENDS.items()}
VALIDATIONS = {"full": 0, "lazy": 1}
_HINT_PREFETCH = 1


def _choice(what: str, value: str, table: Dict[str, int]) -> int:
    if value not in table:
        raise ValueError(f"{what} {value!r} is not one of {', '.join(map(repr, table))}")
    return table[value]


def _open_ex(path: str, backend: str, validation: str, prefetch: bool) -> _CFile:
    """``tenzor_open_ex``: the library opens (and maps or reads) the file."""
    opts = _lib.OpenOptions(
        size=ctypes.sizeof(_lib.OpenOptions),
        backend=_choice("backend", backend, BACKENDS),
        validation=_choice("validation", validation, VALIDATIONS),
        hints=_HINT_PREFETCH if prefetch else 0,
    )
    h = c_void_p()
    check(lib.tenzor_open_ex(os.fsencode(path), byref(opts), byref(h)), path)
    return _CFile(h.value, None)


def _writable_address(out: Any) -> Tuple[int, int]:
    """(address, bytes) of a writable, C-contiguous buffer (numpy array,
    bytearray, memoryview, mmap...)."""
    view = memoryview(out)
    if view.readonly:
        raise ValueError("read_into needs a writable buffer")
    if not view.c_contiguous:
        raise ValueError("read_into needs a C-contiguous buffer")
    n = view.nbytes
    if n == 0:
        return 0, 0
    return ctypes.addressof((ctypes.c_char * n).from_buffer(view.cast("B"))), n


def _open_buffer(base: np.ndarray, path: Optional[str]) -> Tuple[int, Optional[_CFile]]:
    """Validates ``base`` (a uint8 array) with tenzor_open_memory. Returns
    (status, handle); the handle borrows ``base`` and keeps it alive."""
    h = c_void_p()
    status = lib.tenzor_open_memory(base.__array_interface__["data"][0], base.nbytes, byref(h))
    if status != _errors.OK:
        return status, None
    return status, _CFile(h.value, base)


def _map(path: str, writable_copy: bool) -> Optional[mmap.mmap]:
    """Maps a regular, non-empty file; None for anything else (the library
    then opens the path itself and reports what is wrong with it)."""
    try:
        # O_NONBLOCK: a FIFO must not block here (the library reports it).
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size == 0:
            return None
        return mmap.mmap(fd, 0, access=mmap.ACCESS_COPY if writable_copy else mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)


class safe_open:
    """Opens a tensor file (.tenzor, .safetensors, .gguf, a ``*.index.json``
    shard set or the first file of a GGUF split, recognised from the bytes)
    and hands out zero-copy, read-only views of its tensors.

    A drop-in for ``safetensors.safe_open``::

        with tenzor.safe_open("model.safetensors", framework="np") as f:
            for name in f.keys():
                array = f.get_tensor(name)   # a view of the mapped file

    ``framework``: ``"np"`` (numpy arrays; bf16 and float8 as ``ml_dtypes``
    types) or ``"pt"`` (torch tensors of torch's own dtypes). ``device``:
    tensors are views of CPU memory; another device copies each tensor there.

    Views stay valid after the ``with`` block: the file stays mapped until
    the last view is garbage. ``close()`` unmaps at once and raises
    ``BufferError`` while views are alive.
    """

    def __init__(
        self,
        filename: PathLike,
        framework: str = "np",
        device: Any = "cpu",
        *,
        backend: Optional[str] = None,
        validation: str = "full",
        prefetch: bool = False,
    ) -> None:
        self._framework = _framework(framework)
        self._device = device
        self._path = os.fspath(filename)
        if isinstance(self._path, bytes):
            self._path = os.fsdecode(self._path)
        self._mm: Optional[mmap.mmap] = None
        self._base: Optional[np.ndarray] = None
        self._metadata: Optional[str] = None
        self._typed: Optional[Any] = None
        self._entries: Optional[Dict[str, Tuple[int, Tuple[int, ...], int, int]]] = None
        if backend is None and validation == "full" and not prefetch:
            self._cfile: Optional[_CFile] = self._open()
        else:
            self._cfile = _open_ex(self._path, backend or "auto", validation, prefetch)
        self._format = lib.tenzor_file_format(self._cfile.ptr)
        self._baseline = self._references()

    # -- opening -------------------------------------------------------

    def _open(self) -> _CFile:
        path = self._path
        mm = _map(path, writable_copy=self._framework == "pt")
        if mm is None:
            return _open_library(path)
        base = np.frombuffer(mm, np.uint8)
        status, cf = _open_buffer(base, path)
        if status == _errors.UNSUPPORTED:
            # A shard index: its shards are files beside it, only a path opens it.
            del base
            mm.close()
            return _open_library(path)
        if cf is None:
            err = error_for(status, path)
            del base
            mm.close()
            raise err
        if lib.tenzor_file_format(cf.ptr) == _FORMAT_GGUF and _is_split_head(cf):
            del cf, base
            mm.close()
            return _open_library(path)
        self._mm, self._base = mm, base
        self._base_ptr = base.__array_interface__["data"][0]
        return cf

    @classmethod
    def _from_buffer(cls, data: Any, framework: str) -> "safe_open":
        """A handle over bytes in memory (``load``): the views borrow them."""
        self = cls.__new__(cls)
        self._framework = _framework(framework)
        self._device = "cpu"
        self._path = "<bytes>"
        self._mm = None
        self._metadata = None
        self._typed = None
        self._entries = None
        base = np.frombuffer(data, np.uint8)
        status, cf = _open_buffer(base, None)
        if cf is None:
            raise error_for(status)
        self._base = base
        self._base_ptr = base.__array_interface__["data"][0]
        self._cfile = cf
        self._format = lib.tenzor_file_format(cf.ptr)
        self._baseline = self._references()
        return self

    # -- lifetime ------------------------------------------------------

    def _references(self) -> int:
        """References to what views hold (the whole-file array, or the
        library handle): above the baseline taken at open, views exist."""
        held = self._base if self._base is not None else self._cfile
        return sys.getrefcount(held)

    def _live_views(self) -> int:
        if self._cfile is None:
            return 0
        n = self._references() - self._baseline
        for generation in (0, 2):  # views in unreachable cycles are not alive
            if n <= 0:
                break
            gc.collect(generation)
            n = self._references() - self._baseline
        return max(n, 0)

    def _handle(self) -> _CFile:
        cf = self._cfile
        if cf is None:
            raise ValueError(f"{self._path}: the file is closed")
        return cf

    def release(self) -> None:
        """Ends the handle (what leaving ``with`` does): further lookups raise
        ``ValueError``; views already handed out stay valid, and the file is
        unmapped when the last of them is garbage."""
        self._cfile = None
        self._base = None
        self._mm = None
        self._entries = None

    def close(self) -> None:
        """Closes the handle and unmaps the file now. Raises ``BufferError``
        (as ``mmap.close`` does) while views of the file are alive; the handle
        stays open then. Closing a closed handle does nothing."""
        if self._cfile is None:
            return
        live = self._live_views()
        if live:
            raise BufferError(
                f"{self._path}: cannot close: {live} view(s) of its tensors are still "
                "alive (delete them first, or leave the with block / call release() "
                "to unmap when the last one goes)"
            )
        mm = self._mm
        self.release()
        if mm is not None:
            try:
                mm.close()
            except BufferError:
                pass  # another thread's call holds it for a moment; freed after

    @property
    def closed(self) -> bool:
        """True once ``close()``/``release()`` ran or the ``with`` block ended."""
        return self._cfile is None

    def __enter__(self) -> "safe_open":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def __del__(self) -> None:
        self._cfile = None

    # -- the index -----------------------------------------------------

    def _lookup(self, cf: _CFile, name: str) -> Tuple[Any, ...]:
        """Looks ``name`` up in the C index; the decoded ``tenzor_tensor``."""
        t = _lib.Tensor()
        if isinstance(name, str) and name.startswith("#") and self._format == _FORMAT_LEGACY:
            status = lib.tenzor_get_tensor_by_hash(cf.ptr, int(name[1:], 16), byref(t))
        else:
            status = lib.tenzor_get_tensor(cf.ptr, _c_name(self._path, name), byref(t))
        if status != _errors.OK:
            raise error_for(status, self._path)
        return _decode(t)

    def _index(self) -> Dict[str, Tuple[int, Tuple[int, ...], Optional[int], int]]:
        """name -> (dtype, shape, data address, bytes) for every tensor, in
        file order: built on the first call that enumerates the file, so a
        ``for k in f.keys(): f.get_tensor(k)`` loop makes one C call per tensor.
        With the read and direct backends, where a lookup reads the tensor
        into the handle, the listing reads nothing (``tenzor_get_tensor_info_at``)
        and the address is None: ``get_tensor`` looks the tensor up when asked."""
        entries = self._entries
        if entries is None:
            cf = self._handle()
            describe = self._lookup_reads(cf)
            entries = {}
            t = _lib.Tensor()
            at = lib.tenzor_get_tensor_info_at if describe else lib.tenzor_get_tensor_at
            ref, h = byref(t), c_void_p(cf.ptr)
            for i in range(lib.tenzor_tensor_count(h)):
                status = at(h, i, ref)
                if status != _errors.OK:
                    raise error_for(status, self._path)
                f = _decode(t)
                entries[_name_of(f)] = (f[3], f[6 : 6 + f[5]], None if describe else f[14], f[15])
            self._entries = entries
        return entries

    def _lookup_reads(self, cf: _CFile) -> bool:
        """Whether a lookup reads the tensor's bytes (the read and direct backends)."""
        if self._base is not None or self._path == "<bytes>":
            return False
        b, why = c_uint32(), c_char_p()
        check(lib.tenzor_file_backend(cf.ptr, byref(b), byref(why)), self._path)
        return _BACKEND_NAMES.get(b.value) in ("read", "direct")

    def _describe(self, cf: _CFile, name: str) -> Tuple[Any, ...]:
        """Like ``_lookup``, but the data is not read and its address is 0
        (``tenzor_get_tensor_info``) when the library opened the file."""
        if self._base is not None or not isinstance(name, str) or name.startswith("#"):
            return self._lookup(cf, name)
        t = _lib.Tensor()
        check(lib.tenzor_get_tensor_info(cf.ptr, _c_name(self._path, name), byref(t)), self._path)
        return _decode(t)

    def keys(self) -> List[str]:
        """Tensor names in file order (the order they were written; for
        .safetensors the data-offset order). Legacy v1 files store no names:
        their keys are ``"#<16 hex digits of the name hash>"``, and
        ``get_tensor`` takes the real name or that form."""
        return list(self._index())

    offset_keys = keys

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._index()))

    def __len__(self) -> int:
        return int(lib.tenzor_tensor_count(self._handle().ptr))

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self._describe(self._handle(), name)
        except KeyError:
            return False
        return True

    def metadata(self) -> Optional[Dict[str, Any]]:
        """The file's metadata as a dict (any JSON for .tenzor; strings for
        .safetensors; GGUF key-value pairs with their types under
        ``__gguf_types__``), or None when there is none (as safetensors)."""
        text = self.metadata_json()
        value = json.loads(text)
        return value or None

    def metadata_json(self) -> str:
        """The file's metadata as JSON text, exactly as stored (``{}`` when none)."""
        if self._metadata is None:
            cf = self._handle()
            p, n = c_void_p(), c_size_t()
            check(lib.tenzor_metadata(cf.ptr, byref(p), byref(n)), self._path)
            self._metadata = string_at(p.value, n.value).decode("utf-8")
        return self._metadata

    def metadata_keys(self) -> List[str]:
        """Metadata keys in file order (GGUF KV pairs, top-level JSON keys),
        without building the JSON text of the values."""
        return self._meta().keys()

    def metadata_value(self, key: str) -> Any:
        """One metadata value, typed (``tenzor_meta_*``): ``int``, ``float``,
        ``bool``, ``str``, ``None``, a ``list`` of ``str`` for string arrays
        (a GGUF vocabulary), a read-only numpy array viewing the file for
        numeric arrays, and nested JSON values parsed. ``KeyError`` when absent."""
        meta = self._meta()
        index = meta.find(key)
        if index is None:
            raise KeyError(f"{self._path}: no metadata key {key!r}")
        value = meta.value(index)
        if value is _meta.NESTED:  # a GGUF array of arrays: only in the JSON text
            value = json.loads(self.metadata_json())[key]
        return value

    def _meta(self) -> Any:
        cf = self._handle()
        if self._typed is None:
            self._typed = _meta.Metadata(cf.ptr, self._path, cf, lambda p, n: self._bytes(cf, p, n))
        return self._typed

    @property
    def backend(self) -> Tuple[str, str]:
        """(backend, why): how tensor bytes reach memory. Files opened with
        ``backend=`` say what the library picked ("mmap", "read", "direct")
        and why; by default safe_open maps the file with Python's ``mmap``
        ("python-mmap")."""
        cf = self._handle()
        if self._mm is not None or self._path == "<bytes>":
            return ("python-mmap" if self._mm is not None else "memory",
                    "mapped by Python and validated with tenzor_open_memory")
        b, why = c_uint32(), c_char_p()
        check(lib.tenzor_file_backend(cf.ptr, byref(b), byref(why)), self._path)
        return _BACKEND_NAMES.get(b.value, str(b.value)), (why.value or b"").decode("utf-8")

    def read_into(self, name: str, out: Any) -> int:
        """Copies the bytes of ``name`` into ``out`` (a writable, contiguous
        buffer at least as large: a numpy array, ``bytearray``, pinned
        staging memory...) with ``tenzor_read_tensor``; with the ``read`` and
        ``direct`` backends the bytes go from the file straight there.
        Returns the tensor's size in bytes."""
        cf = self._handle()
        if not isinstance(name, str) or "\0" in name:
            raise KeyError(f"{self._path}: no tensor named {name!r}")
        ptr, cap = _writable_address(out)
        size = c_size_t()
        check(lib.tenzor_read_tensor(cf.ptr, name.encode("utf-8"), ptr or None, cap, byref(size)),
              self._path)
        return size.value

    def tensor_info(self, name: str) -> TensorInfo:
        """dtype, logical shape, size, offset, alignment and checksum of ``name``."""
        return self._info(self._describe(self._handle(), name))

    @staticmethod
    def _info(f: Tuple[Any, ...]) -> TensorInfo:
        return TensorInfo(
            _name_of(f), _dtypes.name(f[3]), f[6 : 6 + f[5]], f[15], f[17], f[18],
            f[16] if f[4] else None, f[19],
        )

    @property
    def format(self) -> str:
        """"tenzor", "tenzor-v1", "safetensors" or "gguf" (of the shards, for a set)."""
        return FORMAT_NAMES.get(self._format, f"format#{self._format}")

    @property
    def alignment(self) -> int:
        """The per-tensor alignment the file guarantees (1: none)."""
        return int(lib.tenzor_file_alignment(self._handle().ptr))

    @property
    def edit_interrupted(self) -> bool:
        """True when the file carries the edit mark (an edit is under way, or
        one was interrupted): ``verify`` names the stale tensors and
        ``tenzor.rehash`` repairs it."""
        cf = self._handle()
        return bool(lib.tenzor_file_edit_interrupted(cf.ptr))

    def verify(self) -> None:
        """Recomputes every stored checksum (reads all data); raises
        ``ChecksumError`` naming the first corrupted tensor."""
        cf = self._handle()
        check(lib.tenzor_verify(cf.ptr), self._path)

    # -- tensors -------------------------------------------------------

    def get_tensor(self, name: str) -> Any:
        """The tensor ``name`` as a zero-copy, read-only view of the file
        (``KeyError`` if absent, ``ValueError`` once closed)."""
        cf = self._cfile
        if cf is None:
            raise ValueError(f"{self._path}: the file is closed")
        entries = self._entries
        e = entries.get(name) if entries is not None else None
        if e is None or e[2] is None:
            e = _entry(self._lookup(cf, name))
        return self._make(cf, *e)

    def get_slice(self, name: str) -> "TensorSlice":
        """A sliceable handle on ``name``: ``f.get_slice("w")[0:2]``; its
        shape and dtype are known before any indexing (as safetensors'
        slice), and indexing reads only what it selects (see
        :class:`TensorSlice`)."""
        cf = self._handle()
        f = self._describe(cf, name)
        return TensorSlice(self, cf, _name_of(f), self._info(f))

    def get_rows(self, name: str, start: int, stop: int) -> Any:
        """Rows ``[start, stop)`` of the outermost dimension of ``name`` as a
        zero-copy view (``tenzor_get_tensor_rows``): with the ``read`` and
        ``direct`` backends only the pages of those rows are read. Bounds
        are not clamped: ``start > stop`` or ``stop`` past the rows raises
        ``OutOfRangeError`` (an ``IndexError``); a cut inside a block of a
        block type raises ``UnsupportedError``."""
        cf = self._handle()
        t = _lib.Tensor()
        check(lib.tenzor_get_tensor_rows(cf.ptr, _c_name(self._path, name), start, stop, byref(t)),
              self._path)
        return self._make(cf, *_entry(_decode(t)))

    def read_slice(self, name: str, start: Sequence[int], stop: Sequence[int]) -> Any:
        """The hyper-rectangle ``start[d]:stop[d]`` of every dimension of
        ``name`` (numpy's ``a[s0:e0, s1:e1, ...]``) as a new contiguous array
        (``tenzor_read_slice``: one copy or read per contiguous run of the
        file; the rest of the tensor is not read). Bounds are not clamped: a
        rank mismatch, ``start > stop`` or ``stop`` past a dimension raises
        ``OutOfRangeError`` (an ``IndexError``); a cut inside a block of a
        block type raises ``UnsupportedError`` naming the block size."""
        s = self.get_slice(name)
        return self._read_box(s._cf, s._name, _dtypes.CODES[s.info.dtype], list(start), list(stop))

    def _read_box(self, cf: _CFile, name: str, code: int, start: List[int], stop: List[int]) -> Any:
        n = len(start)
        if n > 8 or len(stop) != n or any(v < 0 for v in (*start, *stop)):
            raise OutOfRangeError(
                f"{self._path}: tensor {name!r}: start {start} and stop {stop} are not bounds "
                "of a tensor (one non-negative pair per dimension)"
            )
        a, e = (c_uint64 * max(n, 1))(*start), (c_uint64 * max(n, 1))(*stop)
        cname, size = _c_name(self._path, name), c_size_t()
        check(lib.tenzor_read_slice(cf.ptr, cname, a, e, n, None, 0, byref(size)), self._path)
        raw = np.empty(size.value, np.uint8)
        if size.value:
            check(lib.tenzor_read_slice(cf.ptr, cname, a, e, n, raw.ctypes.data, size.value,
                                        byref(size)), self._path)
        shape = tuple(y - x for x, y in zip(start, stop))
        return self._fresh(raw, code, shape)

    def _fresh(self, raw: np.ndarray, code: int, shape: Tuple[int, ...]) -> Any:
        """A fresh array (numpy or torch) over the bytes ``raw`` owns."""
        if self._framework == "pt":
            import torch

            dtype, shape = self._torch_layout(code, shape, raw.nbytes)
            out = torch.frombuffer(raw, dtype=dtype).view(shape) if raw.nbytes else \
                torch.empty(shape, dtype=dtype)
            return out if self._device in ("cpu", None) else out.to(self._device)
        dtype = _dtypes.TYPED[code] if code < 512 else None
        if dtype is None:
            return raw.reshape(_dtypes.raw_shape(shape, raw.nbytes))
        return raw.view(dtype).reshape(shape)

    def get_tensors(self) -> Dict[str, Any]:
        """Every tensor, in file order, as views."""
        cf = self._handle()
        make, get = self._make, self.get_tensor
        return {name: make(cf, *e) if e[2] is not None else get(name)
                for name, e in self._index().items()}

    def data_ptr(self, name: str) -> int:
        """The address the C API gives for ``name``'s data (for checks)."""
        return int(self._lookup(self._handle(), name)[14])

    def _bytes(self, cf: _CFile, ptr: int, size: int) -> np.ndarray:
        """A tensor's bytes as a flat uint8 array viewing the file."""
        if size == 0:
            return np.empty(0, np.uint8)
        base = self._base
        if base is not None:
            off = ptr - self._base_ptr
            return base[off : off + size]
        return np.asarray(_Exported(ptr, size, cf))

    def _make(self, cf: _CFile, code: int, shape: Tuple[int, ...], ptr: int, size: int) -> Any:
        """The view of one tensor: numpy or torch, typed or raw bytes."""
        if self._framework == "pt":
            return self._torch_view(cf, code, shape, ptr, size)
        base = self._base
        if base is not None:
            off = ptr - self._base_ptr
            raw = base[off : off + size]
        else:
            raw = np.asarray(_Exported(ptr, size, cf))
        dtype = _dtypes.TYPED[code] if code < 512 else None
        if dtype is None:
            return raw.reshape(_dtypes.raw_shape(shape, size))
        return raw.view(dtype).reshape(shape)

    @staticmethod
    def _torch_layout(code: int, shape: Tuple[int, ...], size: int) -> Tuple[Any, Tuple[int, ...]]:
        """The torch dtype and shape a tensor of ``code`` is handed out as."""
        from . import _torch_dtypes as td
        import torch

        dtype = td.torch_dtype(code)
        if code >= 512 or td.IS_RAW[code]:
            dtype, shape = torch.uint8, _dtypes.raw_shape(shape, size)
        elif dtype is td.F4_X2:
            if not shape or shape[-1] % 2:
                dtype, shape = torch.uint8, _dtypes.raw_shape(shape, size)
            else:
                shape = shape[:-1] + (shape[-1] // 2,)
        return dtype, shape

    def _torch_view(self, cf: _CFile, code: int, shape: Tuple[int, ...], ptr: int, size: int) -> Any:
        import torch

        dtype, shape = self._torch_layout(code, shape, size)
        if size == 0:
            out = torch.empty(shape, dtype=dtype)
        elif self._base is not None:
            out = torch.frombuffer(
                self._base, dtype=dtype, count=size // dtype.itemsize, offset=ptr - self._base_ptr
            ).view(shape)
        else:
            with warnings.catch_warnings():
                # The library's mapping is read-only and torch has no
                # read-only tensors: see the package README.
                warnings.simplefilter("ignore", UserWarning)
                out = torch.frombuffer(np.asarray(_Exported(ptr, size, cf)), dtype=dtype).view(shape)
        if self._device not in ("cpu", None):
            out = out.to(self._device)
        return out


def _is_split_head(cf: _CFile) -> bool:
    """Whether a GGUF file is the first of a split (opened as a set)."""
    p, n = c_void_p(), c_size_t()
    check(lib.tenzor_metadata(cf.ptr, byref(p), byref(n)))
    meta = json.loads(string_at(p.value, n.value))
    count, no = meta.get("split.count", 1), meta.get("split.no", 0)
    return isinstance(count, int) and count > 1 and no == 0


class TensorSlice:
    """A tensor opened for slicing, like safetensors' ``PySafeSlice``:
    ``get_shape()``, ``get_dtype()``, and ``[...]`` indexing that reads only
    what it selects:

    * rows of the outermost dimension (``s[a:b]``, ``s[i]``, the other
      dimensions whole) are zero-copy views of the file
      (``tenzor_get_tensor_rows``; the ``read``/``direct`` backends read only
      the pages of those rows);
    * any other box of integers and step-1 slices (``s[:, 10:20]``,
      ``s[..., 3]``) is a new contiguous array read with ``tenzor_read_slice``
      (one copy or read per contiguous run; the rest is not read). Indices
      count elements, also for block types (GGML quants, F4, F6), whose
      blocks a slice may not cut (``UnsupportedError`` naming the block size);
    * other indexing (steps, index arrays, ``None``) indexes the whole
      tensor's view, as numpy does (for raw-byte dtypes: its bytes).

    Slices clamp and integers wrap as in numpy (``IndexError`` when out of
    bounds); :meth:`safe_open.get_rows` and :meth:`safe_open.read_slice`
    take exact bounds and raise ``OutOfRangeError`` instead."""

    __slots__ = ("_file", "_cf", "_name", "_info")

    def __init__(self, file: safe_open, cf: _CFile, name: str, info: TensorInfo) -> None:
        self._file = file
        self._cf = cf  # keeps the handle (and the mapping) alive
        self._name = name
        self._info = info

    def get_shape(self) -> List[int]:
        """The logical shape (elements)."""
        return list(self._info.shape)

    def get_dtype(self) -> str:
        """The library's dtype name ("F32", "BF16", "Q4_0", ...)."""
        return self._info.dtype

    @property
    def info(self) -> TensorInfo:
        return self._info

    def __len__(self) -> int:
        if not self._info.shape:
            raise TypeError("len() of a scalar (rank 0) tensor")
        return self._info.shape[0]

    def _whole(self) -> Any:
        f = self._file
        return f._make(self._cf, *_entry(f._lookup(self._cf, self._name)))

    def __getitem__(self, index: Any) -> Any:
        shape = self._info.shape
        box = _box(index, shape)
        if box is None or self._name.startswith("#"):
            return self._whole()[index]
        start, stop, drop = box
        f = self._file
        if all(start[d] == 0 and stop[d] == shape[d] for d in range(1, len(shape))):
            t = _lib.Tensor()
            name = _c_name(f._path, self._name)
            check(lib.tenzor_get_tensor_rows(self._cf.ptr, name, start[0], stop[0], byref(t)),
                  f._path)
            out = f._make(self._cf, *_entry(_decode(t)))
        else:
            out = f._read_box(self._cf, self._name, _dtypes.CODES[self._info.dtype], start, stop)
        if drop:
            out = out[tuple(0 if d in drop else slice(None) for d in range(len(shape)))]
        return out


def _c_name(path: str, name: str) -> bytes:
    """``name`` as the C string a lookup takes (TypeError if not a str;
    KeyError if it holds a NUL, which no tensor name can)."""
    if not isinstance(name, str):
        raise TypeError(f"tensor names are str, not {type(name).__name__}")
    if "\0" in name:
        raise KeyError(f"{path}: no tensor named {name!r} (names cannot hold NUL)")
    return name.encode("utf-8", "surrogatepass")


def _box(index: Any, shape: Tuple[int, ...]) -> Optional[Tuple[List[int], List[int], List[int]]]:
    """(start, stop, axes indexed by an integer) when ``index`` selects a
    box of ``shape`` with integers and step-1 slices (numpy's clamping and
    wrapping applied); None for anything else, or for a scalar."""
    items = index if isinstance(index, tuple) else (index,)
    if not shape or sum(i is Ellipsis for i in items) > 1:
        return None
    if Ellipsis in items:
        at = items.index(Ellipsis)
        items = items[:at] + (slice(None),) * (len(shape) - len(items) + 1) + items[at + 1 :]
    if len(items) > len(shape):
        return None
    start, stop, drop = [], [], []
    for d, n in enumerate(shape):
        item = items[d] if d < len(items) else slice(None)
        if isinstance(item, slice):
            if item.step not in (None, 1):
                return None
            a, e, _ = item.indices(n)
            start.append(a)
            stop.append(max(a, e))
        elif isinstance(item, (bool, np.bool_, np.ndarray)) or not hasattr(item, "__index__"):
            return None
        else:
            i = operator.index(item)
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for axis {d} with size {n}")
            i %= n
            start.append(i)
            stop.append(i + 1)
            drop.append(d)
    return start, stop, drop


def open_file(path: PathLike, framework: str = "np") -> safe_open:
    """``safe_open`` under a non-safetensors name."""
    return safe_open(path, framework)


def verify(path: PathLike) -> None:
    """Opens ``path`` and recomputes every stored checksum; raises
    ``ChecksumError`` (naming the tensor) or another ``TenzorError``."""
    cf = _open_library(os.fspath(path))
    check(lib.tenzor_verify(cf.ptr))
