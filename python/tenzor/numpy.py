"""numpy front end, mirroring ``safetensors.numpy``: ``load_file``,
``load``, ``save_file``, ``save``. Arrays read are zero-copy, read-only
views (see ``tenzor.safe_open``)."""

from __future__ import annotations

from typing import Dict

import numpy as np

from ._file import PathLike, safe_open
# Writing takes numpy arrays and torch tensors alike: one implementation.
from ._write import save, save_file  # noqa: F401  (re-exported)


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

