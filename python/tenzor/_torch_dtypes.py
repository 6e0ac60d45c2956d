"""dtype numbers <-> torch dtypes (imported only when torch is used)."""

from __future__ import annotations

from typing import Dict, List, Optional

import torch

from . import _dtypes

_BY_NAME: Dict[str, Optional[torch.dtype]] = {
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "F64": torch.float64,
    "I8": torch.int8,
    "I16": torch.int16,
    "I32": torch.int32,
    "I64": torch.int64,
    "U8": torch.uint8,
    "U16": getattr(torch, "uint16", None),
    "U32": getattr(torch, "uint32", None),
    "U64": getattr(torch, "uint64", None),
    "BOOL": torch.bool,
    "C64": torch.complex64,
    "F8_E4M3": getattr(torch, "float8_e4m3fn", None),
    "F8_E5M2": getattr(torch, "float8_e5m2", None),
    "F8_E8M0": getattr(torch, "float8_e8m0fnu", None),
    "F8_E4M3FNUZ": getattr(torch, "float8_e4m3fnuz", None),
    "F8_E5M2FNUZ": getattr(torch, "float8_e5m2fnuz", None),
    # Two E2M1 values per byte: exactly the packed layout on disk.
    "F4": getattr(torch, "float4_e2m1fn_x2", None),
}

#: torch dtype for packed F4 (one element = two values), when torch has it
F4_X2 = _BY_NAME["F4"]

#: code -> torch dtype of the tensors handed out (uint8 for raw bytes)
TORCH: List[torch.dtype] = [torch.uint8] * 512
IS_RAW: List[bool] = [True] * 512
for _code, _name in _dtypes.NAMES.items():
    _t = _BY_NAME.get(_name)
    if _t is not None:
        TORCH[_code] = _t
        IS_RAW[_code] = False

_FROM_TORCH: Dict[torch.dtype, int] = {
    t: _dtypes.CODES[n] for n, t in _BY_NAME.items() if t is not None and n in _dtypes.CODES
}


def torch_dtype(code: int) -> torch.dtype:
    """The torch dtype of tensors read with dtype ``code``."""
    return TORCH[code] if 0 <= code < 512 else torch.uint8


def code_of(dtype: torch.dtype) -> int:
    """The tenzor dtype number of a torch dtype (``TypeError`` if none)."""
    code = _FROM_TORCH.get(dtype)
    if code is None:
        raise TypeError(f"torch dtype {dtype} has no tenzor dtype")
    return code
