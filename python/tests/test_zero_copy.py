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


def test_struct_decoding_matches_the_ctypes_fields():
    """The index is decoded with one struct.unpack per tensor; it must read
    exactly what ctypes' field-by-field access reads."""
    import ctypes

    from tenzor import _file, _lib

    if ctypes.sizeof(ctypes.c_void_p) == 8:
        assert _file._FAST, "the 64-bit layout of tenzor_tensor changed: update _TENSOR"
    with tenzor.safe_open(FIXTURES / "safetensors" / "special.safetensors") as f:
        cf = f._handle()
        for i in range(len(f)):
            t = _lib.Tensor()
            assert _lib.lib.tenzor_get_tensor_at(cf.ptr, i, ctypes.byref(t)) == 0
            fast = _file._decode(t)
            slow = (t.name or 0, t.name_len, t.name_hash, t.dtype, t.has_checksum, t.ndim,
                    *t.shape, t.data or 0, t.size, t.checksum, t.file_offset, t.alignment,
                    t.position)
            assert fast == slow
