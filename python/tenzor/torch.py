"""torch front end, mirroring ``safetensors.torch``: ``load_file``,
``load``, ``save_file``, ``save``. Tensors read are zero-copy views of the
mapped file on private copy-on-write pages (writing into one never changes
the file); see ``tenzor.safe_open``."""

from __future__ import annotations

from typing import Any, Dict

import torch

from ._file import PathLike, safe_open
# Writing takes numpy arrays and torch tensors alike: one implementation.
from ._write import save, save_file  # noqa: F401  (re-exported)


def load_file(filename: PathLike, device: Any = "cpu") -> Dict[str, torch.Tensor]:
    """Every tensor of ``filename`` (any format tenzor reads), in file
    order, viewing the mapped file (``device`` other than cpu copies)."""
    with safe_open(filename, framework="pt", device=device) as f:
        return f.get_tensors()


def load(data: bytes) -> Dict[str, torch.Tensor]:
    """Every tensor of a file held in ``data``. torch has no read-only
    tensors, so the bytes are copied once into a private buffer the
    tensors view (bytes objects must never change)."""
    with safe_open._from_buffer(bytearray(data), "pt") as f:
        return f.get_tensors()

