"""Writer.reserve (arrays that are the tensor's bytes inside the output file)
and appending (tenzor.open_append)."""

import ctypes
import gc

import numpy as np
import pytest

import tenzor
import tenzor.numpy
from tenzor import _lib


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


def test_appending_adds_and_replaces_tensors_while_readers_keep_the_old_content(tmp_path):
    p = tmp_path / "a.tenzor"
    tenzor.numpy.save_file({"w": np.ones(4, np.float32), "b": np.zeros(2, np.int8)}, p,
                           metadata={"v": 1}, alignment=4096)
    with tenzor.safe_open(p) as old:
        old_w = old.get_tensor("w")
        with tenzor.open_append(p) as a:
            a.add("lora", np.full((2, 3), 5, np.float16))
            a.add("w", np.full(4, 9, np.float32))  # replaces, keeps its position
            kv = a.reserve("kv", "I32", (8,))
            kv[:] = np.arange(8)
            del kv
            a.set_metadata({"v": 2})
            with pytest.raises(tenzor.BusyError):
                tenzor.open_append(p)
        assert old_w.tolist() == [1, 1, 1, 1] and old.keys() == ["w", "b"]
    tenzor.verify(p)
    with tenzor.safe_open(p) as f:
        assert f.keys() == ["w", "b", "lora", "kv"] and f.metadata() == {"v": 2}
        assert f.get_tensor("w").tolist() == [9, 9, 9, 9]
        assert f.get_tensor("kv").tolist() == list(range(8))
        assert f.alignment == 4096


def test_an_aborted_append_leaves_the_committed_content(tmp_path):
    p = tmp_path / "c.tenzor"
    with tenzor.open_append(p) as a:  # creates the file
        a.add("x", np.arange(3, dtype=np.int64))
    before = tenzor.numpy.load_file(p)["x"].tolist()
    with pytest.raises(RuntimeError):
        with tenzor.open_append(p) as a:
            a.add("y", np.ones(1000, np.float64))
            raise RuntimeError("stop")
    with tenzor.safe_open(p) as f:
        assert f.keys() == ["x"] and f.get_tensor("x").tolist() == before
    tenzor.verify(p)
    with pytest.raises(tenzor.UnsupportedError, match="convert"):
        tenzor.open_append(_safetensors_file(tmp_path))


def _safetensors_file(tmp_path):
    import safetensors.numpy

    s = tmp_path / "s.safetensors"
    safetensors.numpy.save_file({"a": np.zeros(1, np.float32)}, str(s))
    return s
