"""Writing: the streaming ``Writer``, ``save_file``/``save`` and ``convert``.

Everything is written by libtenzor's writer (``tenzor_writer_*``): a
temporary file beside the destination, renamed over it only by a successful
``finish``. Other output formats (.safetensors, .gguf) are produced by
``tenzor_convert`` from a temporary .tenzor.
"""

from __future__ import annotations

import gc
import json
import os
import tempfile
import threading
import weakref
from ctypes import byref, c_uint64, c_void_p
from pathlib import Path
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _dtypes, _errors, _lib
from ._errors import InvalidArgumentError, check

lib = _lib.lib
PathLike = Union[str, "os.PathLike[str]"]

#: default per-tensor alignment of files written here (the library's default)
DEFAULT_ALIGNMENT = 64


def _is_torch(obj: Any) -> bool:
    return type(obj).__module__.startswith("torch") and hasattr(obj, "data_ptr")


def _name_bytes(name: Any) -> bytes:
    if not isinstance(name, str):
        raise TypeError(f"tensor names are str, not {type(name).__name__}")
    if "\0" in name:
        raise InvalidArgumentError(f"tensor name {name!r} contains a NUL character")
    return name.encode("utf-8")


class _Source(object):
    """One tensor's dtype number, shape and contiguous bytes, ready for
    ``tenzor_writer_add``; ``keep`` holds whatever owns the bytes."""

    __slots__ = ("code", "shape", "ptr", "nbytes", "keep")

    def __init__(self, code: int, shape: Sequence[int], ptr: int, nbytes: int, keep: Any):
        self.code, self.shape, self.ptr, self.nbytes, self.keep = code, shape, ptr, nbytes, keep


def _from_torch(t: Any, dtype: Any, shape: Optional[Sequence[int]]) -> _Source:
    from . import _torch_dtypes as td

    t = t.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    t = t.contiguous()
    code = td.code_of(t.dtype) if dtype is None else _dtypes.code_of(dtype)
    logical = list(t.shape)
    if t.dtype is td.F4_X2 and logical:
        logical[-1] *= 2  # two values per element
    nbytes = t.numel() * t.element_size()
    return _Source(code, logical if shape is None else list(shape), t.data_ptr(), nbytes, t)


def _from_array(a: Any, dtype: Any, shape: Optional[Sequence[int]]) -> _Source:
    if isinstance(a, (bytes, bytearray, memoryview)):
        a = np.frombuffer(a, np.uint8)
    a = np.asarray(a)
    if dtype is not None:
        code = _dtypes.code_of(dtype)
        if shape is None:
            shape = a.shape
        if not _dtypes.IS_RAW[code] and a.dtype != _dtypes.NUMPY[code]:
            if a.dtype != np.uint8:
                raise TypeError(
                    f"array of dtype {a.dtype} given for tenzor dtype {_dtypes.name(code)}: "
                    f"pass an array of {_dtypes.NUMPY[code]} or its raw bytes as uint8"
                )
    else:
        code = _dtypes.code_of(a.dtype)
        shape = a.shape if shape is None else shape
        if a.dtype.byteorder == ">" or (a.dtype.byteorder == "=" and not _LITTLE):
            a = a.astype(a.dtype.newbyteorder("<"))  # files are little-endian
    a = np.ascontiguousarray(a)
    ptr = a.__array_interface__["data"][0] if a.nbytes else 0
    return _Source(code, [int(d) for d in shape], ptr, a.nbytes, a)


_LITTLE = np.little_endian


def _source(tensor: Any, dtype: Any, shape: Optional[Sequence[int]]) -> _Source:
    if _is_torch(tensor):
        return _from_torch(tensor, dtype, shape)
    return _from_array(tensor, dtype, shape)


class _Reserved:
    """The writable array interface of one reserved tensor. It holds the
    writer, so the writer (and the mapping the array points into) cannot be
    finished, aborted or collected while the array is alive."""

    __slots__ = ("__array_interface__", "writer", "__weakref__")

    def __init__(self, ptr: int, nbytes: int, writer: "Writer") -> None:
        self.__array_interface__ = {
            "version": 3,
            "shape": (nbytes,),
            "typestr": "|u1",
            "data": (ptr, False),
        }
        self.writer = writer


class _Sink:
    """What Writer and Appender share: tensors are added (copied now) or
    reserved (filled in place), metadata set, then the content completed
    (``_FINISH``) or abandoned (``_ABORT``). Subclasses name their C
    functions; every call is serialised by a lock (the C handles are for one
    thread at a time)."""

    _KIND = "writer"
    _ADD = "tenzor_writer_add"
    _RESERVE = "tenzor_writer_reserve"
    _GET = "tenzor_writer_get_tensor"
    _META = "tenzor_writer_set_metadata"
    _FINISH = "tenzor_writer_finish"
    _ABORT = "tenzor_writer_abort"

    _h: Optional[int] = None

    def _start(self, path: PathLike, opened: Any) -> None:
        self._path = os.fspath(path)
        self._lock = threading.Lock()
        self._aborting = False
        self._reserved: List["weakref.ref[_Reserved]"] = []
        h = c_void_p()
        check(opened(os.fsencode(self._path), byref(h)))
        self._h = h.value

    @property
    def path(self) -> str:
        return self._path

    def _handle(self) -> int:
        if self._h is None or self._aborting:
            raise ValueError(f"{self._path}: the {self._KIND} is finished or aborted")
        return self._h

    def add(
        self,
        name: str,
        tensor: Any,
        *,
        dtype: Any = None,
        shape: Optional[Sequence[int]] = None,
    ) -> None:
        """Writes one tensor: a numpy array (any dtype tenzor has, ml_dtypes'
        bfloat16/float8 included), a torch tensor, or raw bytes (uint8
        array, ``bytes``) with ``dtype`` (a tenzor name such as ``"Q4_0"``,
        ``"F4"``) and ``shape`` (logical, in elements). Non-contiguous and
        big-endian arrays are copied to contiguous little-endian first."""
        name_b = _name_bytes(name)
        src = _source(tensor, dtype, shape)
        dims = (c_uint64 * max(len(src.shape), 1))(*src.shape)
        add = getattr(lib, self._ADD)
        with self._lock:
            check(add(self._handle(), name_b, src.code, len(src.shape), dims, src.ptr or None, src.nbytes))

    def reserve(self, name: str, dtype: Any, shape: Sequence[int]) -> np.ndarray:
        """Adds tensor ``name`` and returns a writable numpy array that *is*
        its bytes inside the output file (a shared mapping, zero-filled): fill
        it in place, in pieces if you like, so a tensor bigger than RAM needs
        no copy. The checksum is computed when the content is completed.

        The array (and every view of it) must be gone before ``finish`` /
        ``commit``, which raise ``BufferError`` otherwise (``del`` it, or
        fill it in a function). After an exception in the ``with`` block the
        abort happens once the last such array is garbage. ``dtype``: a
        tenzor name ("F32", "Q4_0") or a numpy/torch dtype; raw-byte dtypes
        (F4, F6, GGML blocks) give a uint8 array shaped as ``safe_open``
        gives them."""
        name_b = _name_bytes(name)
        code = _dtypes.code_of(dtype)
        shape = [int(d) for d in shape]
        dims = (c_uint64 * max(len(shape), 1))(*shape)
        p, t = c_void_p(), _lib.Tensor()
        with self._lock:
            h = self._handle()
            check(getattr(lib, self._RESERVE)(h, name_b, code, len(shape), dims, byref(p)))
            check(getattr(lib, self._GET)(h, name_b, byref(t)))
            exporter = _Reserved(p.value, t.size, self)
            self._reserved.append(weakref.ref(exporter))
        raw = np.asarray(exporter)
        typed = _dtypes.TYPED[code] if code < 512 else None
        if typed is None:
            return raw.reshape(_dtypes.raw_shape(shape, t.size))
        return raw.view(typed).reshape(shape)

    def _live_reserved(self) -> int:
        """How many reserved arrays are still referenced (cycles collected first)."""
        for generation in (None, 0, 2):
            if generation is not None:
                gc.collect(generation)
            self._reserved = [r for r in self._reserved if r() is not None]
            if not self._reserved:
                return 0
        return len(self._reserved)

    def add_all(self, tensors: Union[Mapping[str, Any], Iterable[Tuple[str, Any]]]) -> None:
        """``add`` for every (name, tensor) of a dict or iterable, in order."""
        items = tensors.items() if isinstance(tensors, Mapping) else tensors
        for name, t in items:
            self.add(name, t)

    def set_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Sets the file's metadata: any JSON-serialisable dict (nested values
        and numbers kept). Replaces earlier metadata."""
        if not isinstance(metadata, Mapping):
            raise TypeError(f"metadata must be a dict, not {type(metadata).__name__}")
        text = json.dumps(dict(metadata), ensure_ascii=False).encode("utf-8")
        with self._lock:
            check(getattr(lib, self._META)(self._handle(), text, len(text)))

    def _complete(self) -> None:
        with self._lock:
            self._handle()
            live = self._live_reserved()
            if live:
                raise BufferError(
                    f"{self._path}: cannot complete: {live} array(s) from reserve() are still "
                    "alive (delete them first: they point into the file being written)"
                )
            h, self._h = self._h, None
            check(getattr(lib, self._FINISH)(h))

    def abort(self) -> None:
        """Abandons what was added: ``path`` is left as it was. Does nothing
        once completed or aborted. While arrays from ``reserve`` are alive
        the abort waits for the last of them (the handle goes with it)."""
        with self._lock:
            self._aborting = True
            if self._h is None or self._live_reserved():
                return  # _Reserved objects hold self: __del__ aborts
            h, self._h = self._h, None
            getattr(lib, self._ABORT)(h)

    @property
    def closed(self) -> bool:
        return self._h is None

    def __enter__(self) -> Any:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.abort()
        elif self._h is not None:
            self._complete()

    def __del__(self) -> None:
        h, self._h = self._h, None
        if h is not None and lib is not None:
            getattr(lib, self._ABORT)(h)


class Writer(_Sink):
    """Writes a new .tenzor file tensor by tensor (streaming: each ``add``
    writes its bytes before returning; memory use is the index only).

    ::

        with tenzor.Writer("out.tenzor", alignment=4096) as w:
            w.set_metadata({"arch": "llama", "layers": 2})
            w.add("w", np.ones((2, 2), np.float32))
            a = w.reserve("big", "F32", (100_000, 4096))   # fill in place
            fill(a)
            del a

    Nothing appears at ``path`` until the block ends without an exception:
    then the file is completed, synced and renamed into place. An exception
    inside the block (or ``abort()``) removes the temporary file and leaves
    an existing ``path`` untouched.
    """

    def __init__(
        self,
        path: PathLike,
        alignment: int = DEFAULT_ALIGNMENT,
        *,
        metadata: Optional[Mapping[str, Any]] = None,
        expected_tensors: int = 0,
    ) -> None:
        opts = _lib.WriterOptions(alignment=_alignment(alignment), reserve_tensors=expected_tensors)
        self._start(path, lambda p, out: lib.tenzor_writer_create(p, byref(opts), out))
        if metadata is not None:
            self.set_metadata(metadata)

    def finish(self) -> None:
        """Completes the file (index, checksums, fsync) and renames it over
        ``path``. The writer is consumed whatever the outcome. Raises
        ``BufferError`` (writer still open) while arrays from ``reserve``
        are alive: they point into a mapping that finish releases."""
        self._complete()


class Appender(_Sink):
    """Adds or replaces tensors of an existing .tenzor file, or creates it
    (``tenzor.open_append``). Readers that have the file open keep seeing
    the old content with unchanged bytes; the new content appears at
    ``commit`` (leaving the ``with`` block), crash-safely: after a crash the
    file opens as exactly the old or exactly the new content.

    ::

        with tenzor.open_append("model.tenzor") as a:
            a.add("lora.A", np.zeros((16, 4096), np.float16))
            a.set_metadata({**old_metadata, "lora": True})

    A name the file already has is replaced (it keeps its position). One
    appender or editor per file at a time (``BusyError``).
    """

    _KIND = "appender"
    _ADD = "tenzor_appender_add"
    _RESERVE = "tenzor_appender_reserve"
    _GET = "tenzor_appender_get_tensor"
    _META = "tenzor_appender_set_metadata"
    _FINISH = "tenzor_appender_commit"
    _ABORT = "tenzor_appender_abort"

    def __init__(self, path: PathLike, alignment: int = DEFAULT_ALIGNMENT) -> None:
        opts = _lib.WriterOptions(alignment=_alignment(alignment))
        self._start(path, lambda p, out: lib.tenzor_appender_open(p, byref(opts), out))

    def commit(self) -> None:
        """Makes the added tensors and metadata the file's content, durably,
        and releases the lock. The appender is consumed whatever the
        outcome; ``BufferError`` (still open) while reserved arrays live."""
        self._complete()


def open_append(path: PathLike, alignment: int = DEFAULT_ALIGNMENT) -> Appender:
    """Opens a .tenzor file for appending (created with ``alignment`` when
    missing; an existing file keeps its own); see ``Appender``."""
    return Appender(path, alignment)


def _alignment(alignment: int) -> int:
    if not isinstance(alignment, int) or isinstance(alignment, bool):
        raise TypeError(f"alignment must be an int, not {type(alignment).__name__}")
    return alignment


def _suffix(path: str) -> str:
    return Path(path).suffix.lower()


def save_file(
    tensors: Mapping[str, Any],
    filename: PathLike,
    metadata: Optional[Mapping[str, Any]] = None,
    alignment: int = DEFAULT_ALIGNMENT,
) -> None:
    """Writes ``tensors`` (name -> numpy array or torch tensor, in dict
    order) to ``filename``. A ``.safetensors`` or ``.gguf`` name is written
    as .tenzor then converted (``tenzor_convert``); anything else is .tenzor."""
    path = os.fspath(filename)
    if not isinstance(tensors, Mapping):
        raise TypeError(f"tensors must be a dict of name -> tensor, not {type(tensors).__name__}")
    if _suffix(path) in (".safetensors", ".gguf"):
        d = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".tenzor-save-", suffix=".tenzor", dir=d)
        os.close(fd)
        try:
            save_file(tensors, tmp, metadata, alignment)
            check(lib.tenzor_convert(os.fsencode(tmp), os.fsencode(path)))
        finally:
            os.unlink(tmp)
        return
    with Writer(path, alignment, metadata=metadata, expected_tensors=len(tensors)) as w:
        w.add_all(tensors)


def save(
    tensors: Mapping[str, Any],
    metadata: Optional[Mapping[str, Any]] = None,
    alignment: int = DEFAULT_ALIGNMENT,
) -> bytes:
    """The .tenzor file ``save_file`` would write, as bytes."""
    with tempfile.TemporaryDirectory(prefix="tenzor-") as d:
        p = os.path.join(d, "out.tenzor")
        save_file(tensors, p, metadata, alignment)
        with open(p, "rb") as f:
            return f.read()


def convert(src: PathLike, dst: PathLike, alignment: Optional[int] = None) -> None:
    """Converts ``src`` (any format ``safe_open`` reads) to ``dst``: .tenzor,
    .safetensors or .gguf from its extension (``tenzor_convert``).
    ``alignment`` (.tenzor output only) re-writes the tensors through
    ``Writer`` with that alignment, as ``tenzor convert --align`` does."""
    s, d = os.fspath(src), os.fspath(dst)
    if alignment is None:
        check(lib.tenzor_convert(os.fsencode(s), os.fsencode(d)))
        return
    if _suffix(d) != ".tenzor":
        raise InvalidArgumentError(
            f"{d}: alignment applies to .tenzor outputs only (safetensors has none; "
            "GGUF keeps its general.alignment)"
        )
    from ._file import safe_open

    with safe_open(s, "np") as f, Writer(d, alignment, expected_tensors=len(f)) as w:
        w.set_metadata(json.loads(f.metadata_json()))
        cf = f._handle()
        for name, (code, shape, ptr, size) in f._index().items():
            w.add(name, f._bytes(cf, ptr, size), dtype=_dtypes.name(code), shape=shape)
