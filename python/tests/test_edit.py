"""Editing tensor bytes in place (tenzor.open_edit) and rehash."""

import numpy as np
import pytest

import tenzor
import tenzor.numpy

from conftest import run_python


@pytest.fixture()
def model(tmp_path):
    p = tmp_path / "m.tenzor"
    tenzor.numpy.save_file(
        {"w": np.zeros((4, 8), np.float32), "b": np.arange(8, dtype=np.int16), "keep": np.ones(5)},
        p,
        metadata={"arch": "x"},
    )
    return p


def test_writes_land_in_the_file_and_checksums_follow(model):
    before = tenzor.numpy.load_file(model)["keep"].copy()
    with tenzor.safe_open(model) as reader:
        seen = reader.get_tensor("w")  # a reader's view sees edits: the mapping is shared
        with tenzor.open_edit(model) as e:
            assert e.keys() == ["w", "b", "keep"] and len(e) == 3
            e.write("w", np.full((4, 8), 2.5, np.float32))
            e.write("w", 7.0, index=(1, slice(2, 4)))
            e.write("b", [9, 9], index=slice(0, 2))
            assert e.read("w")[1, 2] == 7.0 and e.read("b")[:3].tolist() == [9, 9, 2]
        assert seen[1, 3] == 7.0 and seen[0, 0] == 2.5
    tenzor.verify(model)
    with tenzor.safe_open(model) as f:
        assert not f.edit_interrupted and f.metadata() == {"arch": "x"}
        assert f.get_tensor("w")[1].tolist() == [2.5, 2.5, 7, 7, 2.5, 2.5, 2.5, 2.5]
        assert np.array_equal(f.get_tensor("keep"), before)


def test_editor_errors(model):
    with tenzor.open_edit(model) as e:
        with pytest.raises(tenzor.BusyError):
            tenzor.open_edit(model)
        with pytest.raises(KeyError):
            e.write("missing", 1.0)
        with pytest.raises(TypeError, match="float32"):
            e.write("b", np.float32(1.5))  # float into int16
        with pytest.raises(ValueError):
            e.write("w", np.zeros((3, 8), np.float32))  # wrong shape: nothing written
        with pytest.raises(IndexError):
            e.write("b", 1, index=100)
    assert e.closed
    with pytest.raises(ValueError, match="closed"):
        e.write("w", 0.0)
    tenzor.verify(model)
    assert not tenzor.numpy.load_file(model)["w"].any()


def test_exception_inside_with_still_flushes_and_unlocks(model):
    with pytest.raises(RuntimeError):
        with tenzor.open_edit(model) as e:
            e.write("b", np.zeros(8, np.int16))
            raise RuntimeError("stop")
    tenzor.verify(model)
    assert not tenzor.numpy.load_file(model)["b"].any()
    tenzor.open_edit(model).close()  # the lock was released


def test_safetensors_files_can_be_edited(tmp_path):
    import safetensors.numpy

    p = tmp_path / "s.safetensors"
    safetensors.numpy.save_file({"x": np.zeros(6, np.float64)}, str(p))
    with tenzor.open_edit(p) as e:
        e.write("x", np.arange(6.0))
    assert safetensors.numpy.load_file(str(p))["x"].tolist() == [0, 1, 2, 3, 4, 5]


INTERRUPTED = r"""
import os, sys, numpy as np, tenzor
e = tenzor.open_edit(sys.argv[1])
e.write("w", np.ones((4, 8), np.float32))
os._exit(0)  # dies mid-edit: no flush, no close
"""


def test_an_interrupted_edit_is_detected_and_rehash_repairs_it(model):
    r = run_python(INTERRUPTED, str(model))
    assert r.returncode == 0, r.stderr
    with tenzor.safe_open(model) as f:
        assert f.edit_interrupted
        with pytest.raises(tenzor.ChecksumError, match="'w'"):
            f.verify()
    with pytest.raises(tenzor.ChecksumError):
        tenzor.open_edit(model)
    tenzor.rehash(model)
    tenzor.verify(model)
    with tenzor.safe_open(model) as f:
        assert not f.edit_interrupted and f.get_tensor("w").all()
