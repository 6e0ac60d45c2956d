"""tenzor: zero-copy tensor files (.tenzor, .safetensors, .gguf, shard sets)
for numpy and torch, through libtenzor's C ABI.

``from tenzor import safe_open`` is a drop-in for safetensors' reader whose
tensors are views of the mapped file; ``tenzor.numpy`` and ``tenzor.torch``
mirror ``safetensors.numpy`` / ``safetensors.torch``; ``Writer`` streams a
file tensor by tensor.
"""

from __future__ import annotations

from . import _lib
from ._errors import (
    BadFormatError,
    BusyError,
    ChecksumError,
    DuplicateNameError,
    InvalidArgumentError,
    NotFoundError,
    NullArgumentError,
    OutOfRangeError,
    PanicError,
    TenzorError,
    TenzorIOError,
    UnsupportedError,
    WrongTypeError,
)
from ._edit import Editor, open_edit, rehash
from ._file import TensorInfo, TensorSlice, safe_open, verify
from ._write import Appender, Writer, convert, open_append, save, save_file
from . import numpy  # noqa: E402  (tenzor.torch is imported on demand: torch is optional)

__version__ = "0.2.0"
#: version of the loaded libtenzor
library_version = _lib.version()
#: path of the loaded libtenzor
library_path = _lib.LIBRARY_PATH

__all__ = [
    "numpy",
    "safe_open",
    "TensorSlice",
    "TensorInfo",
    "Writer",
    "save_file",
    "save",
    "convert",
    "verify",
    "Appender",
    "open_append",
    "Editor",
    "open_edit",
    "rehash",
    "TenzorError",
    "NullArgumentError",
    "InvalidArgumentError",
    "TenzorIOError",
    "BadFormatError",
    "ChecksumError",
    "NotFoundError",
    "DuplicateNameError",
    "UnsupportedError",
    "PanicError",
    "BusyError",
    "WrongTypeError",
    "OutOfRangeError",
    "library_version",
    "library_path",
]
