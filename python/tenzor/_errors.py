"""Every C status as a Python exception: the one place the numbers live.

``STATUS`` mirrors ``enum tenzor_status`` in include/tenzor.h; a test parses
the header and fails when the two disagree. Each exception class also
derives from the built-in exception a Python caller would expect (a missing
name is a ``KeyError``, a bad argument a ``ValueError``, an I/O failure an
``OSError``...), so generic ``except`` clauses keep working.
"""

from __future__ import annotations

import re
from typing import Dict, NoReturn, Optional, Type

from . import _lib


class TenzorError(Exception):
    """Base class of every error libtenzor reports.

    ``status`` is the C status number, ``str(e)`` the library's message
    (naming the file, the tensor and the problem).
    """

    status: int = -1

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        # KeyError quotes its argument; keep the library's message as is.
        return str(self.args[0]) if self.args else ""


class NullArgumentError(TenzorError, ValueError):
    """TENZOR_ERR_NULL_ARGUMENT: a required pointer was NULL (a binding bug)."""


class InvalidArgumentError(TenzorError, ValueError):
    """TENZOR_ERR_INVALID_ARGUMENT: bad shape, length, alignment, dtype, name or UTF-8."""


class TenzorIOError(TenzorError, OSError):
    """TENZOR_ERR_IO: the operating system refused an operation."""


class BadFormatError(TenzorError, ValueError):
    """TENZOR_ERR_BAD_FORMAT: the file or buffer is not a valid tensor file."""


class ChecksumError(TenzorError, ValueError):
    """TENZOR_ERR_CHECKSUM: a stored checksum does not match the bytes."""


class NotFoundError(TenzorError, KeyError):
    """TENZOR_ERR_NOT_FOUND: no tensor has the requested name, hash or index."""


class DuplicateNameError(TenzorError, ValueError):
    """TENZOR_ERR_DUPLICATE_NAME: a tensor name is used twice."""


class UnsupportedError(TenzorError):
    """TENZOR_ERR_UNSUPPORTED: valid input this version of tenzor cannot handle."""


class PanicError(TenzorError):
    """TENZOR_ERR_PANIC: an internal bug in libtenzor, contained at the C boundary."""


class BusyError(TenzorError):
    """TENZOR_ERR_BUSY: another handle or process holds the file's write lock."""


class WrongTypeError(TenzorError, TypeError):
    """TENZOR_ERR_WRONG_TYPE: a value exists but has another type than asked for."""


class OutOfRangeError(TenzorError, IndexError):
    """TENZOR_ERR_OUT_OF_RANGE: an index or range lies outside what exists."""


#: ``TENZOR_*`` status name -> (number, exception class). Checked against
#: include/tenzor.h by tests/test_errors.py.
STATUS: Dict[str, "tuple[int, Optional[Type[TenzorError]]]"] = {
    "TENZOR_OK": (0, None),
    "TENZOR_ERR_NULL_ARGUMENT": (1, NullArgumentError),
    "TENZOR_ERR_INVALID_ARGUMENT": (2, InvalidArgumentError),
    "TENZOR_ERR_IO": (3, TenzorIOError),
    "TENZOR_ERR_BAD_FORMAT": (4, BadFormatError),
    "TENZOR_ERR_CHECKSUM": (5, ChecksumError),
    "TENZOR_ERR_NOT_FOUND": (6, NotFoundError),
    "TENZOR_ERR_DUPLICATE_NAME": (7, DuplicateNameError),
    "TENZOR_ERR_UNSUPPORTED": (8, UnsupportedError),
    "TENZOR_ERR_PANIC": (9, PanicError),
    "TENZOR_ERR_BUSY": (10, BusyError),
    "TENZOR_ERR_WRONG_TYPE": (11, WrongTypeError),
    "TENZOR_ERR_OUT_OF_RANGE": (12, OutOfRangeError),
}

OK = 0
BAD_FORMAT = STATUS["TENZOR_ERR_BAD_FORMAT"][0]
UNSUPPORTED = STATUS["TENZOR_ERR_UNSUPPORTED"][0]
NOT_FOUND = STATUS["TENZOR_ERR_NOT_FOUND"][0]
_BY_NUMBER: Dict[int, Type[TenzorError]] = {n: c for n, c in STATUS.values() if c is not None}
for _name, (_number, _cls) in STATUS.items():
    if _cls is not None:
        _cls.status = _number

# Handles opened over a buffer (safe_open maps the file itself) get messages
# naming "memory buffer (N bytes at 0x...)": put the path back.
_MEMORY = re.compile(r"memory buffer(?: \(\d+ bytes at 0x[0-9a-f]+\))?")


def error_for(status: int, path: Optional[str] = None) -> TenzorError:
    """The exception for a failed call's ``status``, with this thread's message."""
    message = _lib.last_error()
    if path is not None:
        message = _MEMORY.sub(lambda _: path, message)
    cls = _BY_NUMBER.get(status)
    if cls is None:  # a status newer than this package: still an error
        return TenzorError(f"{message} (status {status})", status)
    return cls(message, status)


def raise_for(status: int, path: Optional[str] = None) -> NoReturn:
    """Raises the exception for a failed call's ``status``."""
    raise error_for(status, path)


def check(status: int, path: Optional[str] = None) -> None:
    """Raises unless ``status`` is TENZOR_OK."""
    if status != OK:
        raise error_for(status, path)
