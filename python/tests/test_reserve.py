"""Writer.reserve: arrays that are the tensor's bytes inside the output file."""

import ctypes
import gc

import numpy as np
import pytest

import tenzor
import tenzor.numpy
from tenzor import _lib

pytestmark = pytest.mark.skipif(
    not _lib.has("tenzor_writer_reserve"), reason="libtenzor without tenzor_writer_reserve"
)


def _fill(w):
    a = w.reserve("big", "F32", (512, 256))
    assert a.flags.writeable and a.dtype == np.float32 and a.shape == (512, 256)
    assert not a.any()  # zero-filled
    t = _lib.Tensor()
    assert _lib.lib.tenzor_writer_get_tensor(w._h, b"big", ctypes.byref(t)) == 0
    assert a.__array_interface__["data"][0] == t.data  # the file's bytes, not a copy
    for i in range(0, 512, 128):
        a[i : i + 128] = np.arange(i, i + 128, dtype=np.float32)[:, None]


def test_reserved_tensors_are_filled_in_place(tmp_path):
    p = tmp_path / "r.tenzor"
    with tenzor.Writer(p, alignment=4096) as w:
        w.add("small", np.ones(3, np.int8))
        _fill(w)
        q = w.reserve("q", "Q8_0", (2, 64))  # raw blocks: 2 rows x 2 blocks x 34 bytes
        assert q.dtype == np.uint8 and q.shape == (2, 68)
        q[:] = 7
        del q
    tenzor.verify(p)
    with tenzor.safe_open(p) as f:
        assert f.keys() == ["small", "big", "q"]
        big = f.get_tensor("big")
        assert big[300, 5] == 300 and big[511, 255] == 511
        assert f.tensor_info("big").file_offset % 4096 == 0
        assert (f.get_tensor("q") == 7).all()


def test_finish_with_a_live_reserved_array_raises_buffer_error(tmp_path):
    p = tmp_path / "b.tenzor"
    w = tenzor.Writer(p)
    a = w.reserve("x", np.float64, (4,))
    view = a[1:]
    del a
    with pytest.raises(BufferError, match="reserve"):
        w.finish()
    view[:] = 2.0  # still valid: the writer is still open
    del view
    w.finish()
    assert tenzor.numpy.load_file(p)["x"].tolist() == [0, 2, 2, 2]


def test_an_exception_leaves_no_file_once_the_arrays_are_gone(tmp_path):
    p = tmp_path / "keep.tenzor"
    tenzor.numpy.save_file({"old": np.ones(2, np.float32)}, p)
    old = p.read_bytes()
    arrays = []
    with pytest.raises(RuntimeError):
        with tenzor.Writer(p) as w:
            arrays.append(w.reserve("x", "F32", (1024,)))
            raise RuntimeError("producer failed")
    arrays[0][:] = 1  # still mapped: the abort waits for the array
    with pytest.raises(ValueError):
        w.finish()
    del w
    arrays.clear()
    gc.collect()
    assert p.read_bytes() == old
    assert sorted(x.name for x in tmp_path.iterdir()) == ["keep.tenzor"]
