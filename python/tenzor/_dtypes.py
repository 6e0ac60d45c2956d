"""dtype numbers (from the library) <-> numpy and torch dtypes.

The numbers and names come from libtenzor itself (``tenzor_dtype_name``),
so a dtype added to the library is known here without editing this file;
only its mapping to a framework type is listed below. dtypes no framework
type can hold (F4/F6 for numpy, F6 for torch, GGML's block-quantized types,
and any dtype newer than this package) are given as ``uint8`` arrays of the
raw bytes: see :func:`raw_shape`.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import ml_dtypes
import numpy as np

from . import _lib

# GGML's block types sit at 256 + the GGML type id; GGML ids stay below 256.
_CODE_RANGES = (range(0, 256), range(256, 512))


def _library_dtypes() -> Tuple[Dict[int, str], Dict[str, int], Dict[int, int]]:
    names: Dict[int, str] = {}
    for r in _CODE_RANGES:
        for code in r:
            n = _lib.lib.tenzor_dtype_name(code)
            if n is not None:
                names[code] = n.decode()
    bits = {code: _lib.lib.tenzor_dtype_bits(code) for code in names}
    return names, {n: c for c, n in names.items()}, bits


#: code -> name ("F32", "Q4_0", ...), name -> code, code -> bits per element
NAMES, CODES, BITS = _library_dtypes()

_NUMPY_BY_NAME: Dict[str, Any] = {
    "F32": np.float32,
    "F16": np.float16,
    "BF16": ml_dtypes.bfloat16,
    "F64": np.float64,
    "I8": np.int8,
    "I16": np.int16,
    "I32": np.int32,
    "I64": np.int64,
    "U8": np.uint8,
    "U16": np.uint16,
    "U32": np.uint32,
    "U64": np.uint64,
    "BOOL": np.bool_,
    "C64": np.complex64,
    "F8_E4M3": ml_dtypes.float8_e4m3fn,
    "F8_E5M2": ml_dtypes.float8_e5m2,
    "F8_E8M0": ml_dtypes.float8_e8m0fnu,
    "F8_E4M3FNUZ": ml_dtypes.float8_e4m3fnuz,
    "F8_E5M2FNUZ": ml_dtypes.float8_e5m2fnuz,
}

RAW = np.dtype(np.uint8)

#: code -> numpy dtype of the arrays handed out (uint8 for raw bytes)
NUMPY: List[np.dtype] = [RAW] * 512
#: code -> True when the array is the raw bytes rather than typed elements
IS_RAW: List[bool] = [True] * 512
for _code, _name in NAMES.items():
    if _name in _NUMPY_BY_NAME:
        NUMPY[_code] = np.dtype(_NUMPY_BY_NAME[_name])
        IS_RAW[_code] = False

#: code -> numpy dtype, or None where the array is raw bytes
TYPED: List[Optional[np.dtype]] = [None if r else d for r, d in zip(IS_RAW, NUMPY)]

#: numpy dtype -> code, for writing
FROM_NUMPY: Dict[np.dtype, int] = {
    np.dtype(t): CODES[n] for n, t in _NUMPY_BY_NAME.items() if n in CODES
}


def numpy_dtype(code: int) -> np.dtype:
    """The numpy dtype of arrays read with dtype ``code``."""
    return NUMPY[code] if 0 <= code < 512 else RAW


def name(code: int) -> str:
    """The library's name of dtype ``code`` ("F32", "Q4_0", ...)."""
    return NAMES.get(code, f"dtype#{code}")


def code_of(dtype: Any) -> int:
    """The dtype number for a library name ("BF16"), a numpy dtype or a
    torch dtype. Unknown: ``TypeError`` naming it."""
    if isinstance(dtype, str):
        if dtype in CODES:
            return CODES[dtype]
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(
                f"unknown dtype {dtype!r}: use a tenzor name ({', '.join(sorted(CODES))}) "
                "or a numpy/torch dtype"
            ) from None
    if _is_torch_dtype(dtype):
        from . import _torch_dtypes

        return _torch_dtypes.code_of(dtype)
    try:
        nd = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}") from None
    code = FROM_NUMPY.get(nd.newbyteorder("=")) if nd.byteorder in "<>" else FROM_NUMPY.get(nd)
    if code is None:
        raise TypeError(
            f"numpy dtype {nd} has no tenzor dtype (supported: "
            f"{', '.join(str(np.dtype(t)) for t in _NUMPY_BY_NAME.values())})"
        )
    return code


def _is_torch_dtype(obj: Any) -> bool:
    t = type(obj)
    return t.__module__ == "torch" and t.__name__ == "dtype"


def raw_shape(shape: Sequence[int], nbytes: int) -> Tuple[int, ...]:
    """Shape of the uint8 array holding a raw-bytes tensor: the logical
    shape with its last dimension replaced by the bytes per row (so rows of
    the outermost dimensions can still be indexed), or ``(nbytes,)`` when the
    bytes do not split evenly into rows."""
    if not shape:
        return (nbytes,)
    rows = 1
    for d in shape[:-1]:
        rows *= d
    if rows == 0 or nbytes % rows:
        return (nbytes,)
    return tuple(shape[:-1]) + (nbytes // rows,)


def element_count(shape: Sequence[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def expected_nbytes(code: int, shape: Sequence[int]) -> Optional[int]:
    """Bytes a tensor of ``code`` x ``shape`` takes, when whole bytes per
    element make that computable here (None for packed and block types:
    the library checks those)."""
    bits = BITS.get(code, 0)
    if code >= 256 or bits == 0 or bits % 8:
        return None
    return element_count(shape) * bits // 8
