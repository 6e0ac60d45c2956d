#!/usr/bin/env python3
"""Summarize a .safetensors file as the real `safetensors` package reads it.

Usage: python3 tests/py/st_summary.py FILE

Prints one JSON object on stdout:
  {"metadata": {...} | null,
   "tensors": [{"name", "dtype", "shape", "sha256"}, ...]}   (sorted by name)
where sha256 is the hex digest of the tensor's raw little-endian data bytes.

Tensors come from `safetensors.deserialize` (the package's own validating reader); the
`__metadata__` object is taken from the header (8-byte little-endian length + JSON), since
`deserialize` does not return it. Exits 1 with a message on stderr if the package (or the
header parse) rejects the file, 2 on bad usage.
"""

import hashlib
import json
import struct
import sys


def summarize(path: str) -> dict:
    import safetensors

    with open(path, "rb") as f:
        blob = f.read()
    tensors = safetensors.deserialize(blob)

    if len(blob) < 8:
        raise ValueError("file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    metadata = header.get("__metadata__")

    rows = []
    for name, info in tensors:
        rows.append({
            "name": name,
            "dtype": info["dtype"],
            "shape": [int(d) for d in info["shape"]],
            "sha256": hashlib.sha256(bytes(info["data"])).hexdigest(),
        })
    rows.sort(key=lambda r: r["name"])
    return {"metadata": metadata, "tensors": rows}


def main(argv) -> int:
    if len(argv) != 2:
        print("usage: st_summary.py FILE", file=sys.stderr)
        return 2
    try:
        out = summarize(argv[1])
    except Exception as e:  # noqa: BLE001 - any failure of the package is the answer
        print(f"st_summary: safetensors failed to load {argv[1]!r}: {type(e).__name__}: {e}",
              file=sys.stderr)
        return 1
    # Raw UTF-8 regardless of the locale's stdout encoding.
    sys.stdout.buffer.write((json.dumps(out, ensure_ascii=False) + "\n").encode("utf-8"))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
