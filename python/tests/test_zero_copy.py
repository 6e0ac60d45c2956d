"""Zero-copy: arrays point where the C API says the tensor is, and opening
plus getting a large tensor does not raise resident memory by its size."""

import os

import numpy as np
import pytest

import tenzor
import tenzor.numpy

from conftest import FIXTURES, SAMPLE, run_python


def _addr(a):
    return a.__array_interface__["data"][0]


def test_array_data_pointer_is_the_c_api_pointer():
    for path in (SAMPLE, FIXTURES / "gguf" / "small.gguf",
                 FIXTURES / "sharded" / "model.safetensors.index.json"):
        with tenzor.safe_open(path) as f:
            for name in f.keys():
                a = f.get_tensor(name)
                if a.nbytes:
                    assert _addr(a) == f.data_ptr(name), (path, name)
                    assert _addr(f.get_tensor(name)) == _addr(a)  # same bytes every time


def test_torch_data_pointer_is_the_c_api_pointer():
    pytest.importorskip("torch")
    with tenzor.safe_open(FIXTURES / "safetensors" / "all_dtypes.safetensors", "pt") as f:
        for name in f.keys():
            t = f.get_tensor(name)
            if t.numel():
                assert t.data_ptr() == f.data_ptr(name), name


SIZE = 128 << 20

RSS = r"""
import sys
import numpy as np
import tenzor
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
fw = sys.argv[2]
if fw == "pt":
    import torch
before = rss()
f = tenzor.safe_open(sys.argv[1], fw)
t = f.get_tensor("big")
opened = rss()
total = float(t.sum())  # touches every page: the measure can see them
touched = rss()
print(opened - before, touched - before, total)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
@pytest.mark.parametrize("framework", ["np", "pt"])
def test_resident_memory_does_not_grow_by_the_tensor_size(tmp_path_factory, framework):
    if framework == "pt":
        pytest.importorskip("torch")
    p = tmp_path_factory.getbasetemp() / "big.tenzor"
    if not p.exists():
        tenzor.numpy.save_file({"big": np.ones(SIZE // 4, np.float32)}, p)
    r = run_python(RSS, str(p), framework)
    assert r.returncode == 0, r.stderr
    opened, touched, total = r.stdout.split()
    assert float(total) == SIZE // 4
    assert int(opened) < SIZE // 16, f"open + get_tensor raised RSS by {int(opened) >> 20} MiB"
    assert int(touched) > SIZE // 2, "reading the tensor did not show in RSS: the check is blind"
