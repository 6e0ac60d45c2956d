"""numpy front end, mirroring ``safetensors.numpy``: ``load_file``,
``load``, ``save_file``, ``save``. Arrays read are zero-copy, read-only
views (see ``tenzor.safe_open``)."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

import numpy as np

from ._file import PathLike, safe_open
from ._write import DEFAULT_ALIGNMENT
from ._write import save as _save
from ._write import save_file as _save_file


def load_file(filename: PathLike) -> Dict[str, np.ndarray]:
    """Every tensor of ``filename`` (any format tenzor reads), in file
    order, as read-only arrays viewing the mapped file. The file stays
    mapped until the last array is garbage."""
    with safe_open(filename, framework="np") as f:
        return f.get_tensors()


def load(data: bytes) -> Dict[str, np.ndarray]:
    """Every tensor of a file held in ``data`` (bytes, bytearray, memoryview
    or a uint8 array), as read-only arrays viewing ``data`` itself (no copy;
    they keep it alive)."""
    with safe_open._from_buffer(data, "np") as f:
        return f.get_tensors()


def save_file(
    tensor_dict: Mapping[str, np.ndarray],
    filename: PathLike,
    metadata: Optional[Mapping[str, Any]] = None,
    alignment: int = DEFAULT_ALIGNMENT,
) -> None:
    """Writes the arrays to ``filename`` (.tenzor; a .safetensors or .gguf
    name is converted), atomically; ``metadata`` may be any JSON dict."""
    _save_file(tensor_dict, filename, metadata, alignment)


def save(
    tensor_dict: Mapping[str, np.ndarray],
    metadata: Optional[Mapping[str, Any]] = None,
    alignment: int = DEFAULT_ALIGNMENT,
) -> bytes:
    """The bytes of the .tenzor file ``save_file`` would write."""
    return _save(tensor_dict, metadata, alignment)
