#!/usr/bin/env python3
"""Prints the README's benchmark table from criterion's results.

Reads the median of every benchmark under target/criterion (written by
`cargo bench --bench open_lookup` and `cargo bench --bench append`) and gives tenzor's time as a ratio of
the peer's (safetensors crate, or a plain file copy) measured in the same run.
"""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")


def median(*parts):
    p = root.joinpath(*parts, "new", "estimates.json")
    return json.loads(p.read_text())["median"]["point_estimate"]


def fmt(ns):
    for unit, div in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= div:
            return f"{ns / div:.3g} {unit}"
    return f"{ns:.3g} ns"


rows = []
if root.joinpath("open_lookup").exists():  # cargo bench --bench open_lookup
    for n in ("100", "10000", "100000"):
        t, s = median("open_lookup", "tenzor", n), median("open_lookup", "safetensors", n)
        rows.append((f"open + 1 lookup, {int(n):,} tensors", fmt(t), fmt(s), f"{s / t:.1f}x faster" if s > t else f"{t / s:.1f}x slower"))
    for n in ("100", "10000", "100000"):
        t, s = median("open_lookup", "tenzor_safetensors", n), median("open_lookup", "safetensors", n)
        rows.append((f"open + 1 lookup of the .safetensors file itself, {int(n):,} tensors", fmt(t), fmt(s), f"{s / t:.1f}x faster" if s > t else f"{t / s:.1f}x slower"))
    t, s = median("lookup_10000", "tenzor"), median("lookup_10000", "safetensors")
    rows.append(("104 lookups in an open 10,000-tensor file", fmt(t), fmt(s), f"{s / t:.1f}x faster" if s > t else f"{t / s:.1f}x slower"))
    t, c = median("convert_64MiB", "tenzor_convert"), median("convert_64MiB", "file_copy_fsync")
    mib = 64
    rows.append(("convert 64 MiB safetensors -> .tenzor (vs copy + fsync)", f"{fmt(t)} ({mib / (t / 1e9):.0f} MiB/s)", f"{fmt(c)} ({mib / (c / 1e9):.0f} MiB/s)", f"{c / t:.2f}x the copy's throughput"))

if root.joinpath("edit_1MiB_of_256MiB").exists():  # cargo bench --bench edit
    t, r = median("edit_1MiB_of_256MiB", "tenzor_edit_in_place"), median("edit_1MiB_of_256MiB", "safetensors_rewrite")
    rows.append(("change 1 MiB of a 256 MiB file durably: edit in place vs full rewrite", fmt(t), fmt(r), f"{r / t:.0f}x faster ({100 * t / r:.1f}% of the rewrite)"))

if root.joinpath("append_1MiB_to_1GiB").exists():
    a, r = median("append_1MiB_to_1GiB", "append"), median("append_1MiB_to_1GiB", "rewrite")
    rows.append(("append 1 MiB to a 1 GiB file (vs rewriting it with the tensor added)", fmt(a), fmt(r), f"{100 * a / r:.2f}% of the rewrite's time"))

print("| benchmark (median) | tenzor | peer | tenzor vs peer |")
print("|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
