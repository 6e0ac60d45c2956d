"""Writing: Writer, save_file/save, convert, verify."""


import ml_dtypes
import numpy as np
import pytest

import tenzor
import tenzor.numpy

from conftest import FIXTURES, SAMPLE


def _leftovers(d):
    return sorted(p.name for p in d.iterdir())


def test_writer_streams_tensors_and_any_json_metadata(tmp_path):
    p = tmp_path / "m.tenzor"
    meta = {"arch": "llama", "layers": 2, "nested": {"list": [1, 2.5, None, True], "s": "ü"}}
    big_endian = np.arange(6, dtype=">i4").reshape(2, 3)
    strided = np.arange(20, dtype=np.float64).reshape(4, 5)[:, ::2]
    with tenzor.Writer(p, alignment=4096) as w:
        w.set_metadata(meta)
        w.add("bf16", np.array([1.5, -2.0], dtype=ml_dtypes.bfloat16))
        w.add("f8", np.array([0.5, 1.0], dtype=ml_dtypes.float8_e4m3fn))
        w.add("be", big_endian)
        w.add("strided", strided)
        w.add("scalar", np.float32(7))
        w.add("empty", np.zeros((0, 3), np.int8))
        w.add("bytes", b"\x01\x02\x03", dtype="U8", shape=[3])
        assert not p.exists()  # nothing at the destination before finish
    assert _leftovers(tmp_path) == ["m.tenzor"]
    tenzor.verify(p)
    with tenzor.safe_open(p) as f:
        assert f.metadata() == meta and f.alignment == 4096 and f.format == "tenzor"
        assert f.keys() == ["bf16", "f8", "be", "strided", "scalar", "empty", "bytes"]
        assert f.get_tensor("bf16").dtype == ml_dtypes.bfloat16
        assert f.get_tensor("bf16").tolist() == [1.5, -2.0]
        assert f.get_tensor("f8").astype(np.float32).tolist() == [0.5, 1.0]
        assert np.array_equal(f.get_tensor("be"), big_endian) and f.get_tensor("be").dtype == "<i4"
        assert np.array_equal(f.get_tensor("strided"), strided)
        assert f.get_tensor("scalar").shape == () and f.get_tensor("scalar") == 7
        assert f.get_tensor("empty").shape == (0, 3)
        assert f.get_tensor("bytes").tolist() == [1, 2, 3]
        for name in f.keys():
            assert f.tensor_info(name).file_offset % 4096 == 0
            assert f.tensor_info(name).checksum is not None


def test_exception_in_with_leaves_no_file_and_the_old_destination_intact(tmp_path):
    p = tmp_path / "keep.tenzor"
    tenzor.numpy.save_file({"old": np.ones(3, np.float32)}, p)
    old = p.read_bytes()
    with pytest.raises(RuntimeError, match="boom"):
        with tenzor.Writer(p) as w:
            w.add("new", np.zeros(1000, np.float32))
            raise RuntimeError("boom")
    assert p.read_bytes() == old and _leftovers(tmp_path) == ["keep.tenzor"]
    fresh = tmp_path / "fresh.tenzor"
    with pytest.raises(KeyError):
        with tenzor.Writer(fresh) as w:
            w.add("a", np.zeros(4, np.float32))
            {}["missing"]
    assert not fresh.exists() and _leftovers(tmp_path) == ["keep.tenzor"]
    # a writer dropped without finish or abort also leaves nothing
    w = tenzor.Writer(fresh)
    w.add("a", np.zeros(4, np.float32))
    del w
    assert _leftovers(tmp_path) == ["keep.tenzor"]


def test_save_and_load_bytes_round_trip():
    tensors = {"a": np.arange(10, dtype=np.int64), "b": np.eye(3, dtype=np.float16)}
    data = tenzor.numpy.save(tensors, metadata={"k": [1, 2]})
    assert data[:6] == b"TENZOR"
    back = tenzor.numpy.load(data)
    assert list(back) == ["a", "b"]
    for k in tensors:
        assert np.array_equal(back[k], tensors[k]) and back[k].dtype == tensors[k].dtype


def test_raw_block_types_round_trip_through_the_writer(tmp_path, gguf_reference):
    src = FIXTURES / "gguf" / "small.gguf"
    dst = tmp_path / "copy.tenzor"
    with tenzor.safe_open(src) as f, tenzor.Writer(dst) as w:
        w.set_metadata(f.metadata())
        for name in f.keys():
            info = f.tensor_info(name)
            w.add(name, f.get_tensor(name), dtype=info.dtype, shape=info.shape)
    with tenzor.safe_open(src) as f, tenzor.safe_open(dst) as g:
        assert g.keys() == f.keys() and g.metadata() == f.metadata()
        for name in f.keys():
            assert g.tensor_info(name)[1:4] == f.tensor_info(name)[1:4]
            assert np.array_equal(g.get_tensor(name).view(np.uint8), f.get_tensor(name).view(np.uint8))
    with tenzor.Writer(tmp_path / "bad.tenzor") as w:
        with pytest.raises(tenzor.InvalidArgumentError):
            w.add("q", np.zeros(17, np.uint8), dtype="Q4_0", shape=[32])  # Q4_0 block is 18 bytes
        w.abort()


def test_convert_with_and_without_alignment(tmp_path):
    out = tmp_path / "s.tenzor"
    tenzor.convert(SAMPLE, out)
    tenzor.verify(out)
    aligned = tmp_path / "a.tenzor"
    tenzor.convert(SAMPLE, aligned, alignment=4096)
    back = tmp_path / "back.safetensors"
    tenzor.convert(aligned, back)
    assert back.read_bytes() == SAMPLE.read_bytes()  # byte-identical round trip
    with tenzor.safe_open(aligned) as f, tenzor.safe_open(SAMPLE) as g:
        assert f.alignment == 4096 and f.keys() == g.keys() and f.metadata() == g.metadata()
        for k in g.keys():
            assert f.tensor_info(k).file_offset % 4096 == 0
            assert np.array_equal(f.get_tensor(k), g.get_tensor(k))
    with pytest.raises(tenzor.InvalidArgumentError, match="alignment"):
        tenzor.convert(SAMPLE, tmp_path / "x.safetensors", alignment=4096)
    with pytest.raises(tenzor.TenzorError, match="missing"):
        tenzor.convert(tmp_path / "missing.safetensors", tmp_path / "y.tenzor")
    assert not (tmp_path / "y.tenzor").exists()


def test_save_file_to_gguf(tmp_path):
    p = tmp_path / "o.gguf"
    tensors = {"w": np.arange(8, dtype=np.float32).reshape(2, 4)}
    tenzor.numpy.save_file(tensors, p, metadata={"general.architecture": "llama"})
    with tenzor.safe_open(p) as f:
        assert f.format == "gguf" and np.array_equal(f.get_tensor("w"), tensors["w"])
    assert not list(tmp_path.glob(".tenzor-save-*"))
