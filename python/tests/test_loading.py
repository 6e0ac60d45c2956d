"""Open options (backends, lazy validation), reading into caller memory, and
typed metadata, checked against the default open and against files and
readers made by others (safetensors, gguf)."""

import gc
import os

import numpy as np
import pytest

import tenzor
import tenzor.numpy
from conftest import FIXTURES, SAMPLE

BACKENDS = ["auto", "mmap", "read", "direct"]


@pytest.fixture()
def model(tmp_path):
    rng = np.random.default_rng(7)
    tensors = {
        "embed": rng.standard_normal((64, 32), dtype=np.float32),
        "ids": np.arange(1000, dtype=np.int64),
        "empty": np.zeros((0, 3), dtype=np.float16),
        "scalar": np.array(3.5, dtype=np.float64),
    }
    path = tmp_path / "m.tenzor"
    tenzor.numpy.save_file(tensors, path, metadata={"n": "4"}, alignment=4096)
    return path, tensors


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("validation", ["full", "lazy"])
def test_every_backend_and_level_gives_the_default_tensors(model, backend, validation):
    path, tensors = model
    with tenzor.safe_open(path, "np", backend=backend, validation=validation) as f:
        assert f.keys() == list(tensors)
        for name, expected in tensors.items():
            got = f.get_tensor(name)
            assert got.dtype == expected.dtype and got.shape == expected.shape
            np.testing.assert_array_equal(got, expected)
        picked, why = f.backend
        assert picked == ("mmap" if backend == "auto" else backend)
        assert why


@pytest.mark.parametrize("backend", ["read", "direct"])
def test_foreign_files_read_the_same_through_every_backend(backend):
    for path in (SAMPLE, FIXTURES / "gguf" / "small.gguf"):
        with tenzor.safe_open(path) as ref, tenzor.safe_open(path, backend=backend) as f:
            assert f.keys() == ref.keys()
            for name in ref.keys():
                np.testing.assert_array_equal(f.get_tensor(name), ref.get_tensor(name))


def test_views_of_a_read_backend_outlive_the_with_block(model):
    path, tensors = model
    with tenzor.safe_open(path, backend="read") as f:
        view = f.get_tensor("embed")
    gc.collect()
    np.testing.assert_array_equal(view, tensors["embed"])
    assert not view.flags.writeable


def test_default_open_reports_that_python_mapped_the_file(model):
    with tenzor.safe_open(model[0]) as f:
        assert f.backend[0] == "python-mmap"


def test_bad_options_are_refused_by_name(model):
    with pytest.raises(ValueError, match="backend 'tape'"):
        tenzor.safe_open(model[0], backend="tape")
    with pytest.raises(ValueError, match="validation 'some'"):
        tenzor.safe_open(model[0], validation="some")


@pytest.mark.parametrize("backend", [None, "read", "direct"])
def test_read_into_copies_exactly_the_tensor(model, backend):
    path, tensors = model
    with tenzor.safe_open(path, backend=backend) as f:
        for name, expected in tensors.items():
            out = np.full(expected.shape, 7, dtype=expected.dtype)
            assert f.read_into(name, out) == expected.nbytes
            np.testing.assert_array_equal(out, expected)
        raw = bytearray(tensors["ids"].nbytes + 16)
        assert f.read_into("ids", raw) == tensors["ids"].nbytes
        assert bytes(raw[: tensors["ids"].nbytes]) == tensors["ids"].tobytes()
        assert raw[-16:] == bytearray(16)  # nothing past the tensor


def test_read_into_refuses_what_cannot_hold_the_tensor(model):
    path, tensors = model
    with tenzor.safe_open(path) as f:
        small = np.zeros(10, np.float32)
        with pytest.raises(tenzor.InvalidArgumentError, match="embed"):
            f.read_into("embed", small)
        assert not small.any()  # nothing written on failure
        with pytest.raises(ValueError, match="writable"):
            f.read_into("embed", bytes(64 * 32 * 4))
        with pytest.raises(KeyError, match="nope"):
            f.read_into("nope", np.zeros(8, np.uint8))
        with pytest.raises(ValueError, match="contiguous"):
            f.read_into("embed", np.zeros((64, 64), np.float32)[:, ::2])


def _flatten(value):
    if not isinstance(value, list):
        return [value]
    return [x for item in value for x in _flatten(item)]


def test_typed_metadata_of_a_gguf_file_matches_the_gguf_package():
    import gguf  # installed by scripts/install-deps.sh

    path = FIXTURES / "gguf" / "small.gguf"
    reader = gguf.GGUFReader(str(path))
    with tenzor.safe_open(path) as f:
        keys = f.metadata_keys()
        expected_keys = [k for k in reader.fields if not k.startswith("GGUF.")]
        assert keys == expected_keys
        checked = 0
        for key in keys:
            field = reader.fields[key]
            got = f.metadata_value(key)
            want = field.contents()
            if isinstance(got, np.ndarray):
                np.testing.assert_array_equal(got, np.asarray(want))
            elif isinstance(got, float):
                assert got == pytest.approx(want, rel=1e-7)
            elif isinstance(got, list) and got and isinstance(got[0], list):
                # gguf's contents() flattens arrays of arrays; tenzor keeps them.
                assert _flatten(got) == want, key
            else:
                assert got == want, key
            checked += 1
        assert checked == len(expected_keys) > 0
        with pytest.raises(KeyError, match="no.such.key"):
            f.metadata_value("no.such.key")


def test_typed_metadata_of_a_tenzor_file(tmp_path):
    path = tmp_path / "meta.tenzor"
    meta = {"name": "llama", "layers": 32, "eps": 1e-5, "tied": True, "cfg": {"a": [1, 2]}, "none": None}
    tenzor.numpy.save_file({"x": np.zeros(3, np.float32)}, path, metadata=meta)
    with tenzor.safe_open(path) as f:
        assert f.metadata_keys() == list(meta)
        for key, value in meta.items():
            assert f.metadata_value(key) == value, key


def test_meta_type_numbers_match_the_header():
    import re

    from conftest import REPO
    from tenzor import _meta

    header = (REPO / "include" / "tenzor.h").read_text()
    found = dict(re.findall(r"#define TENZOR_META_(\w+) (\d+)", header))
    assert len(found) == 15
    for name, number in found.items():
        assert getattr(_meta, name) == int(number), name


def _rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
@pytest.mark.parametrize("backend", ["read", "direct"])
def test_listing_and_describing_read_no_tensor_data(tmp_path, backend):
    """keys(), tensor_info(), `in` and get_slice() on a read/direct handle
    describe tensors from the index: they must not read the data into the
    handle (a lookup there would read all 64 MiB)."""
    size = 64 << 20
    path = tmp_path / "big.tenzor"
    tenzor.numpy.save_file({"big": np.ones(size // 4, np.float32), "s": np.arange(3)}, path)
    with tenzor.safe_open(path, backend=backend) as f:
        before = _rss()
        assert f.keys() == ["big", "s"]
        assert list(f) == ["big", "s"] and "big" in f and "nope" not in f
        info = f.tensor_info("big")
        assert info.shape == (size // 4,) and info.nbytes == size
        assert f.get_slice("big").get_shape() == [size // 4]
        listed = _rss() - before
        assert listed < size // 4, f"listing raised RSS by {listed >> 20} MiB"
        assert float(f.get_tensor("big").sum()) == size // 4
        assert _rss() - before > size // 2, "reading the tensor did not show in RSS: the check is blind"
        np.testing.assert_array_equal(f.get_tensors()["s"], np.arange(3))
