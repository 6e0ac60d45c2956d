#!/usr/bin/env python3
"""Side-by-side benchmark of the tenzor Python package against the
safetensors package, on the same files in one run.

    python3 scripts/bench_python.py [--big] [--rounds N]

Files: the shipped sample (examples/sample.safetensors, 21 tensors, 52 KB),
a ~90 MB model-like file (F16 weights, F32 norms, 84 tensors, generated
deterministically into target/bench-python/), and with --big a 2 GiB file
(not in CI). Each file is also converted to .tenzor, so tenzor is timed on
the .safetensors file itself and on its .tenzor twin.

Operations (each a median over --rounds runs, safetensors and tenzor
interleaved so both see the same machine noise; files are in the page
cache, as after a first load):
  open + get every tensor as numpy / as torch (safe_open, keys, get_tensor)
  load_file (numpy and torch)
  save_file (numpy and torch): tenzor fsyncs before its rename; the
  safetensors package does not, so it is also timed with an fsync added.

Prints a Markdown table (median times, ratios = safetensors / tenzor).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import safetensors
import safetensors.numpy
import safetensors.torch
import torch

import tenzor
import tenzor.numpy
import tenzor.torch

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "target" / "bench-python"


def model_like(hidden: int, inter: int, layers: int, vocab: int, seed: int = 0):
    """A llama-shaped state dict: F16 matrices, F32 norms."""
    rng = np.random.default_rng(seed)

    def w(*shape):
        return rng.standard_normal(shape, dtype=np.float32).astype(np.float16)

    t = {"model.embed_tokens.weight": w(vocab, hidden)}
    for i in range(layers):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = np.ones(hidden, np.float32)
        for n in ("q", "k", "v", "o"):
            t[p + f"self_attn.{n}_proj.weight"] = w(hidden, hidden)
        t[p + "post_attention_layernorm.weight"] = np.ones(hidden, np.float32)
        t[p + "mlp.gate_proj.weight"] = w(inter, hidden)
        t[p + "mlp.up_proj.weight"] = w(inter, hidden)
        t[p + "mlp.down_proj.weight"] = w(hidden, inter)
    t["model.norm.weight"] = np.ones(hidden, np.float32)
    t["lm_head.weight"] = w(vocab, hidden)
    return t


def make_files(big: bool, only_big: bool):
    OUT.mkdir(parents=True, exist_ok=True)
    files = [] if only_big else [("sample", ROOT / "examples" / "sample.safetensors")]
    # (hidden, intermediate, layers, vocab): 90.5 MB / 84 tensors; 2.14 GB / 39 tensors
    specs = [] if only_big else [("model-like", "model90.safetensors", (512, 1408, 9, 16000))]
    if big or only_big:
        specs.append(("2 GiB", "big2g.safetensors", (4096, 11008, 4, 32000)))
    for label, name, dims in specs:
        p = OUT / name
        if not p.exists():
            safetensors.numpy.save_file(model_like(*dims), str(p), metadata={"format": "pt"})
        files.append((label, p))
    for i, (label, p) in enumerate(files):
        with tenzor.safe_open(p) as f:
            n = len(f)
        size = p.stat().st_size
        files[i] = (f"{label} ({size / 1e6:.1f} MB, {n} tensors)", p)
        tz = OUT / (p.stem + ".tenzor")
        if not tz.exists():
            tenzor.convert(p, tz, alignment=4096)
    return files


def interleaved(fns, rounds):
    """Median of each function, runs interleaved round by round."""
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            gc.collect()
            t0 = time.perf_counter()
            r = fn()
            times[k].append(time.perf_counter() - t0)
            del r
    return {k: statistics.median(v) for k, v in times.items()}


def st_read(path, fw):
    def run():
        with safetensors.safe_open(str(path), fw) as f:
            return [f.get_tensor(k) for k in f.keys()]

    return run


def tz_read(path, fw):
    def run():
        with tenzor.safe_open(path, fw) as f:
            return [f.get_tensor(k) for k in f.keys()]

    return run


def fmt(s):
    if s is None:
        return "n/a"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def ratio(peer, ours):
    if peer is None or ours is None:
        return "n/a"
    r = peer / ours
    return f"**{r:.1f}x faster**" if r >= 1 else f"{1 / r:.2f}x slower"


def st_can_numpy(path):
    try:
        st_read(path, "np")()
        return True
    except TypeError:
        return False  # safetensors.numpy has no bfloat16


def save_fsync(fn, path):
    def run():
        fn()
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    return run


def bench(files, rounds):
    rows = []
    for label, st in files:
        tz = OUT / (st.stem + ".tenzor")
        size = st.stat().st_size
        r = rounds if size < 1e9 else 3
        can_np = st_can_numpy(st)
        for fw, what in (("np", "open + get every tensor, numpy"), ("pt", "open + get every tensor, torch")):
            fns = {"tz_st": tz_read(st, fw), "tz_tz": tz_read(tz, fw)}
            if fw == "pt" or can_np:
                fns["st"] = st_read(st, fw)
            m = interleaved(fns, r)
            rows.append((label, what, m.get("st"), m["tz_st"], m["tz_tz"]))
        fns = {"tz_st": lambda: tenzor.numpy.load_file(st), "tz_tz": lambda: tenzor.numpy.load_file(tz)}
        if can_np:
            fns["st"] = lambda: safetensors.numpy.load_file(str(st))
        m = interleaved(fns, r)
        rows.append((label, "load_file, numpy", m.get("st"), m["tz_st"], m["tz_tz"]))
        m = interleaved(
            {
                "st": lambda: safetensors.torch.load_file(str(st)),
                "tz_st": lambda: tenzor.torch.load_file(st),
                "tz_tz": lambda: tenzor.torch.load_file(tz),
            },
            r,
        )
        rows.append((label, "load_file, torch", m["st"], m["tz_st"], m["tz_tz"]))
        # save_file: the same dict, written by each package to its own format
        arrays = {k: np.array(v) for k, v in tenzor.numpy.load_file(st).items()}
        tensors = {k: v.clone() for k, v in tenzor.torch.load_file(st).items()}
        ost, otz = OUT / "save.safetensors", OUT / "save.tenzor"
        wr = max(3, r // 4) if size < 1e9 else 2
        for fwname, data, st_save, tz_save in (
            ("numpy", arrays, safetensors.numpy.save_file, tenzor.numpy.save_file),
            ("torch", tensors, safetensors.torch.save_file, tenzor.torch.save_file),
        ):
            if fwname == "numpy" and not can_np:
                m = interleaved({"tz": lambda d=data, s=tz_save: s(d, otz)}, wr)
                rows.append((label, f"save_file, {fwname} (tenzor: fsync)", None, m["tz"], None))
                continue
            m = interleaved(
                {
                    "st": lambda d=data, s=st_save: s(d, str(ost)),
                    "st_sync": save_fsync(lambda d=data, s=st_save: s(d, str(ost)), ost),
                    "tz": lambda d=data, s=tz_save: s(d, otz),
                },
                wr,
            )
            rows.append((label, f"save_file, {fwname} (tenzor: fsync)", m["st"], m["tz"], None))
            rows.append((label, f"save_file, {fwname}, safetensors + fsync", m["st_sync"], m["tz"], None))
        del arrays, tensors
        for p in (ost, otz):
            if p.exists():
                p.unlink()
    return rows


def table(rows):
    out = [
        "| file | operation | safetensors | tenzor on .safetensors | vs safetensors "
        "| tenzor on .tenzor | vs safetensors |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, what, st, tz_st, tz_tz in rows:
        out.append(
            f"| {label} | {what} | {fmt(st)} | {fmt(tz_st)} | {ratio(st, tz_st)} | "
            f"{fmt(tz_tz) if tz_tz is not None else '-'} | "
            f"{ratio(st, tz_tz) if tz_tz is not None else '-'} |"
        )
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--big", action="store_true", help="also a 2 GiB file (not for CI)")
    ap.add_argument("--only-big", action="store_true", help="only the 2 GiB file")
    ap.add_argument("--rounds", type=int, default=41)
    args = ap.parse_args()
    files = make_files(args.big, args.only_big)
    print(
        f"python {sys.version.split()[0]}, numpy {np.__version__}, torch {torch.__version__}, "
        f"safetensors {safetensors.__version__}, tenzor {tenzor.__version__} "
        f"(library {tenzor.library_path})",
        file=sys.stderr,
    )
    print(table(bench(files, args.rounds)))


if __name__ == "__main__":
    main()
