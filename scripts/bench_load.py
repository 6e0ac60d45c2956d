#!/usr/bin/env python3
"""The loading targets of issue 8, side by side in one run, as README tables.

1. open + 1 lookup: `cargo bench --bench load` run --open-runs times (each a
   median of 31), the median of each column, and the flatness of lazy open
   from the smallest to the largest size.
2. verify of a big .tenzor from the page cache against `cat` of the same
   file, and convert of a big .safetensors against `cp` + `sync`: each run
   interleaves the peers (so they share the machine's noise), wall time and
   peak RSS from /usr/bin/time, medians of --runs.
3. cold and warm full loads per backend: `tenzor bench FILE --runs N`.

The machine this runs on is shared: the load average is printed before and
after. Inputs are read-only; outputs go to --scratch and are deleted.

    python3 scripts/bench_load.py --tenzor BIG.tenzor --safetensors BIG.safetensors \
        --scratch /tmp/x [--runs 5] [--open-runs 3] [--skip open,verify,convert,load] \
        [--one-tensor GIANT.tenzor]
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TENZOR = os.path.join(ROOT, "target", "release", "tenzor")


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def timed(cmd):
    """(seconds, peak RSS in KiB) of one run of cmd (a shell string)."""
    with tempfile.NamedTemporaryFile("r") as out:
        subprocess.run(
            ["/usr/bin/time", "-f", "%e %M", "-o", out.name, "sh", "-c", cmd],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        secs, rss = out.read().split()[-2:]
    return float(secs), int(rss)


def open_lookup(runs):
    rows = {}
    for _ in range(runs):
        out = sh(["cargo", "bench", "--bench", "load"], cwd=ROOT).stdout
        for line in out.splitlines():
            cells = [c.strip() for c in line.strip("|").split("|")]
            if len(cells) == 10 and cells[0].isdigit():
                vals = [float(c.rstrip("x")) for c in cells[1:]]
                rows.setdefault(int(cells[0]), []).append(vals)
    print(f"\nopen + 1 lookup: medians over {runs} runs of `cargo bench --bench load` (us)\n")
    print("| tensors | OS floor | lazy | lazy / floor | full | safetensors | safetensors / full"
          " | floor, same pages | lazy / that floor |")
    print("|---|---|---|---|---|---|---|---|---|")
    med = {}
    for n, runs_ in sorted(rows.items()):
        m = [statistics.median(col) for col in zip(*runs_)]
        med[n] = m
        floor, lazy, _, full, _, st, ratio, floor3, _ = m
        print(f"| {n:,} | {floor:.1f} | {lazy:.1f} | {lazy / floor:.2f}x | {full:.1f} | {st:.1f}"
              f" | {ratio:.1f}x | {floor3:.1f} | {lazy / floor3:.2f}x |")
        spread = [r[6] for r in runs_]
        print(f"|   | | | | | | runs: {', '.join(f'{x:.1f}x' for x in spread)} | | |")
    if len(med) > 1:
        lo, hi = min(med), max(med)
        print(f"\nlazy open + 1 lookup, {hi:,} vs {lo:,} tensors: "
              f"{med[hi][1]:.1f} / {med[lo][1]:.1f} us = {med[hi][1] / med[lo][1]:.2f}x")
        print(f"OS floor touching the same pages, {hi:,} vs {lo:,} tensors: "
              f"{med[hi][7]:.1f} / {med[lo][7]:.1f} us = {med[hi][7] / med[lo][7]:.2f}x")


def side_by_side(title, peers, runs, cleanup=lambda: None):
    """peers: [(label, shell command)]; prints medians and ratios to the first."""
    res = {label: [] for label, _ in peers}
    for _ in range(runs):
        for label, cmd in peers:
            res[label].append(timed(cmd))
            cleanup()
    print(f"\n{title}: medians of {runs} runs\n")
    print("| command | time | vs first | peak RSS | runs (s) |")
    print("|---|---|---|---|---|")
    base = statistics.median(t for t, _ in res[peers[0][0]])
    for label, _ in peers:
        t = statistics.median(x for x, _ in res[label])
        rss = statistics.median(r for _, r in res[label])
        runs_s = ", ".join(f"{x:.2f}" for x, _ in res[label])
        print(f"| {label} | {t:.2f} s | {base / t:.2f}x | {rss / 1024:.1f} MiB | {runs_s} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tenzor", required=True)
    ap.add_argument("--safetensors", required=True)
    ap.add_argument("--scratch", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--open-runs", type=int, default=3)
    ap.add_argument("--skip", default="")
    ap.add_argument("--one-tensor", help="a .tenzor holding one giant tensor: verify vs cat too")
    a = ap.parse_args()
    skip = set(a.skip.split(","))
    sh(["cargo", "build", "--release", "--bin", "tenzor"], cwd=ROOT)
    print(f"load average before: {load_average()} ({os.cpu_count()} CPUs)")
    if "open" not in skip:
        open_lookup(a.open_runs)
    tz, st = a.tenzor, a.safetensors
    if "verify" not in skip:
        subprocess.run(f"cat {tz} > /dev/null", shell=True, check=True)
        side_by_side(f"verify of {tz} from the page cache vs cat", [
            ("`cat FILE > /dev/null`", f"cat {tz} > /dev/null"),
            ("`tenzor verify FILE` (mmap)", f"{TENZOR} verify {tz}"),
            ("`tenzor verify --backend read FILE`", f"{TENZOR} verify --backend read {tz}"),
        ], a.runs)
        if a.one_tensor:
            g = a.one_tensor
            subprocess.run(f"cat {g} > /dev/null", shell=True, check=True)
            side_by_side(f"verify of {g} (one tensor: one hashing thread) vs cat", [
                ("`cat FILE > /dev/null`", f"cat {g} > /dev/null"),
                ("`tenzor verify FILE` (mmap)", f"{TENZOR} verify {g}"),
            ], a.runs)
    if "convert" not in skip:
        out = os.path.join(a.scratch, "bench_load")
        os.makedirs(out, exist_ok=True)

        def cleanup():
            for f in os.listdir(out):
                os.remove(os.path.join(out, f))
        subprocess.run(f"cat {st} > /dev/null", shell=True, check=True)
        side_by_side(f"convert of {st} vs cp + sync", [
            ("`cp` + `sync`", f"cp {st} {out}/copy && sync {out}/copy"),
            ("`tenzor convert -o X.tenzor --align 4096`",
             f"{TENZOR} convert {st} -o {out}/out.tenzor --align 4096"),
        ], a.runs, cleanup)
        os.rmdir(out)
    if "load" not in skip:
        print(f"\n`tenzor bench {tz} --runs {a.runs}`\n")
        print(sh([TENZOR, "bench", tz, "--runs", str(a.runs)]).stdout)
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    sys.exit(main())
