#!/usr/bin/env python3
"""Summarize a GGUF file as the real `gguf` package (gguf-py, llama.cpp) reads it.

Usage: python3 tests/py/gguf_summary.py FILE

Prints one JSON object on stdout:
  {"version": 3, "alignment": 32,
   "kv": {key: value, ...},                 # file order; strings decoded (UTF-8), arrays as lists,
                                            # nested arrays as nested lists
   "kv_types": {key: "UINT8" | ... | "ARRAY[INT32]" | "ARRAY[ARRAY[STRING]]", ...},
   "tensors": [{"name", "ggml_type", "shape_ne", "sha256"}, ...]}   # file order
where shape_ne is the GGUF dimension order (ne[0] first) and sha256 is over the tensor's raw bytes.
The reader's synthetic "GGUF.version/tensor_count/kv_count" fields are not KV pairs and are left
out of "kv". Exits 1 with a message on stderr if the package rejects the file, 2 on bad usage.
"""

import hashlib
import json
import sys


def _decode(parts, i, vtype):
    """Decode one value from a ReaderField's `parts`, starting at parts[i]. Returns (value, next_i).

    Layout produced by GGUFReader._get_field_parts: STRING -> [len, bytes]; scalar -> [value];
    ARRAY -> [item_type, count, <item parts>...] (recursively, so nested arrays keep their shape
    here, whereas ReaderField.contents() flattens them)."""
    from gguf import GGUFValueType

    vtype = GGUFValueType(int(vtype))
    if vtype == GGUFValueType.STRING:
        return bytes(parts[i + 1]).decode("utf-8"), i + 2
    if vtype == GGUFValueType.ARRAY:
        item_type = int(parts[i][0])
        count = int(parts[i + 1][0])
        i += 2
        out = []
        for _ in range(count):
            v, i = _decode(parts, i, item_type)
            out.append(v)
        return out, i
    v = parts[i].tolist()[0]
    if vtype == GGUFValueType.BOOL:
        v = bool(v)
    elif vtype in (GGUFValueType.FLOAT32, GGUFValueType.FLOAT64):
        v = float(v)
    else:
        v = int(v)
    return v, i + 1


def _type_name(parts, i, vtype):
    """Type string of the value at parts[i]; for arrays, from the file's item-type tags."""
    from gguf import GGUFValueType

    vtype = GGUFValueType(int(vtype))
    if vtype != GGUFValueType.ARRAY:
        return vtype.name
    item_type = GGUFValueType(int(parts[i][0]))
    count = int(parts[i + 1][0])
    if item_type == GGUFValueType.ARRAY and count > 0:
        return f"ARRAY[{_type_name(parts, i + 2, item_type)}]"
    return f"ARRAY[{item_type.name}]"


def field_value(field):
    """(value, type name) of a KV ReaderField: parts = [key_len, key, value_type, *value]."""
    vtype = int(field.parts[2][0])
    value, end = _decode(field.parts, 3, vtype)
    assert end == len(field.parts), field.name
    return value, _type_name(field.parts, 3, vtype)


def read(path):
    """Full description (used by tests/fixtures/make_gguf.py for reference.json too)."""
    from gguf import GGUFReader

    r = GGUFReader(path)
    kv, kv_types = {}, {}
    for name, field in r.fields.items():
        if name.startswith("GGUF."):
            continue
        kv[name], kv_types[name] = field_value(field)
    tensors = []
    for t in r.tensors:
        raw = r.data[t.data_offset:t.data_offset + int(t.n_bytes)].tobytes()
        assert raw == t.data.tobytes(), t.name
        tensors.append({
            "name": t.name,
            "ggml_type": int(t.tensor_type),
            "ggml_type_name": t.tensor_type.name,
            "shape_ne": [int(d) for d in t.shape],
            "n_elements": int(t.n_elements),
            "n_bytes": int(t.n_bytes),
            "data_offset": int(t.data_offset),
            "sha256": hashlib.sha256(raw).hexdigest(),
        })
    return {
        "version": int(r.fields["GGUF.version"].parts[0][0]),
        "alignment": int(r.alignment),
        "data_start": int(r.data_offset),
        "kv": kv,
        "kv_types": kv_types,
        "tensors": tensors,
    }


def summarize(path):
    d = read(path)
    return {
        "version": d["version"],
        "alignment": d["alignment"],
        "kv": d["kv"],
        "kv_types": d["kv_types"],
        "tensors": [{k: t[k] for k in ("name", "ggml_type", "shape_ne", "sha256")}
                    for t in d["tensors"]],
    }


def main(argv) -> int:
    if len(argv) != 2:
        print("usage: gguf_summary.py FILE", file=sys.stderr)
        return 2
    try:
        out = summarize(argv[1])
    except Exception as e:  # noqa: BLE001 - any failure of the package is the answer
        print(f"gguf_summary: gguf failed to read {argv[1]!r}: {type(e).__name__}: {e}",
              file=sys.stderr)
        return 1
    sys.stdout.buffer.write((json.dumps(out, ensure_ascii=False) + "\n").encode("utf-8"))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
