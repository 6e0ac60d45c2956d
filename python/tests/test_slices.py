"""Slices checked against numpy: tensors made with numpy and written with
the tenzor and safetensors packages, sliced through the C ABI
(``tenzor_get_tensor_rows`` / ``tenzor_read_slice``) on every backend, and
compared with numpy's ``a[s0:e0, s1:e1, ...]``; block types checked against
the gguf package's own dequantisation."""

import random

import ml_dtypes
import numpy as np
import pytest
import safetensors.numpy

import tenzor
import tenzor.numpy
from conftest import FIXTURES

BACKENDS = [None, "mmap", "read", "direct"]  # None: Python's mmap + tenzor_open_memory


def _arrays():
    rng = np.random.default_rng(7)
    return {
        "f32_3d": rng.standard_normal((7, 5, 9)).astype(np.float32),
        "i16_2d": rng.integers(-30000, 30000, (33, 17)).astype(np.int16),
        "u8_4d": rng.integers(0, 255, (3, 4, 5, 6)).astype(np.uint8),
        "bf16_2d": rng.standard_normal((6, 11)).astype(ml_dtypes.bfloat16),
        "f64_1d": rng.standard_normal(13),
        "bool_2d": rng.integers(0, 2, (5, 3)).astype(bool),
        "empty": np.zeros((0, 4), np.float32),
        "wide": rng.integers(0, 65535, (40, 3000)).astype(np.uint16),
    }


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("slices")
    arrays = _arrays()
    tz = d / "s.tenzor"
    tenzor.numpy.save_file(arrays, tz, alignment=4096)
    st = d / "s.safetensors"
    safetensors.numpy.save_file({k: v for k, v in arrays.items() if k != "bf16_2d"}, str(st))
    return arrays, [tz, st]


def _indices(shape, rng):
    """Edge cases (whole, empty, reversed, past the end, negative, single
    elements, last column) and random boxes, as numpy index tuples."""
    n = len(shape)
    full = (slice(None),) * n
    out = [full, (slice(0, 0),) + full[1:], (Ellipsis, -1), (0,), (-1,)]
    out += [(slice(2, 1),), (slice(None), slice(shape[1] + 5)) if n > 1 else (slice(1, 99),)]
    out += [tuple(d - 1 for d in shape)] if all(shape) else []
    out += [(slice(1, None), Ellipsis, slice(-2, None))] if n > 1 else []
    for _ in range(10):
        box = []
        for d in shape:
            a, b = sorted(rng.randrange(-1, d + 2) for _ in range(2))
            box.append(slice(max(a, 0), b) if rng.random() < 0.85 else rng.randrange(d) if d else 0)
        out.append(tuple(box))
    return out


@pytest.mark.parametrize("backend", BACKENDS)
def test_get_slice_matches_numpy_slicing(files, backend):
    arrays, paths = files
    rng = random.Random(11)
    checked = 0
    for path in paths:
        with tenzor.safe_open(path, backend=backend) as f:
            for name in f.keys():
                a, s = arrays[name], f.get_slice(name)
                for idx in _indices(a.shape, rng):
                    try:
                        want = a[idx]
                    except IndexError:
                        with pytest.raises(IndexError):
                            s[idx]
                        continue
                    got = s[idx]
                    assert got.dtype == want.dtype and got.shape == want.shape, (path, name, idx)
                    assert np.array_equal(got, want), (path, name, idx)
                    checked += 1
    assert checked > 150


@pytest.mark.parametrize("backend", BACKENDS)
def test_rows_are_views_and_boxes_are_copies(files, backend):
    arrays, (tz, _) = files
    a = arrays["wide"]
    with tenzor.safe_open(tz, backend=backend) as f:
        s = f.get_slice("wide")
        assert s.info._replace(alignment=0) == f.tensor_info("wide")._replace(alignment=0)
        rows = s[10:14]
        assert np.array_equal(rows, a[10:14]) and not rows.flags.writeable
        assert rows.__array_interface__["data"][0] == f.data_ptr("wide") + 10 * 3000 * 2
        assert np.array_equal(s[3], a[3])
        cols = s[:, 100:200]
        assert np.array_equal(cols, a[:, 100:200]) and cols.flags.c_contiguous
        whole = f.get_tensor("wide")
        assert not np.shares_memory(cols, whole)
        # Steps fall back to numpy indexing of the whole view.
        assert np.array_equal(s[::3, 5], a[::3, 5])


@pytest.mark.parametrize("backend", BACKENDS)
def test_exact_bounds_raise_out_of_range(files, backend):
    arrays, (tz, _) = files
    with tenzor.safe_open(tz, backend=backend) as f:
        a = arrays["f32_3d"]
        assert np.array_equal(f.read_slice("f32_3d", [1, 0, 2], [7, 5, 3]), a[1:7, 0:5, 2:3])
        assert f.read_slice("f32_3d", [3, 3, 3], [3, 5, 9]).shape == (0, 2, 6)
        assert np.array_equal(f.get_rows("f32_3d", 2, 7), a[2:7])
        assert f.get_rows("f32_3d", 7, 7).shape == (0, 5, 9)
        bad = [
            (lambda: f.read_slice("f32_3d", [0, 0, 0], [8, 5, 9]), "dimension 0: [0, 8)"),
            (lambda: f.read_slice("f32_3d", [0, 3, 0], [7, 2, 9]), "dimension 1: [3, 2)"),
            (lambda: f.read_slice("f32_3d", [0, 0], [7, 5]), "3 dimensions"),
            (lambda: f.get_rows("f32_3d", 5, 4), "rows [5, 4)"),
            (lambda: f.get_rows("f32_3d", 0, 8), "7 rows"),
        ]
        for call, text in bad:
            with pytest.raises(tenzor.OutOfRangeError) as e:
                call()
            assert isinstance(e.value, IndexError)
            assert text in str(e.value) and "tensor 'f32_3d'" in str(e.value)
            assert str(tz) in str(e.value)
    scalar = tz.with_name(f"scalar-{backend}.tenzor")
    tenzor.numpy.save_file({"x": np.array(1.5, np.float32)}, scalar)
    with tenzor.safe_open(scalar, backend=backend) as g:
        with pytest.raises(tenzor.OutOfRangeError, match="scalar"):
            g.get_rows("x", 0, 0)
        assert g.read_slice("x", [], []) == 1.5
        assert g.get_slice("x")[()] == 1.5


@pytest.mark.parametrize("backend", BACKENDS)
def test_block_types_slice_on_block_boundaries_like_the_gguf_package(backend):
    gguf = pytest.importorskip("gguf")
    path = FIXTURES / "gguf" / "small.gguf"
    theirs = {t.name: t for t in gguf.GGUFReader(str(path)).tensors}
    with tenzor.safe_open(path, backend=backend) as f:
        for name in ("blk.0.attn_k.weight", "blk.0.attn_v.weight", "blk.0.ffn_gate.weight"):
            t = theirs[name]
            ref = gguf.quants.dequantize(t.data, t.tensor_type)  # (rows, 64) floats
            s = f.get_slice(name)
            for idx in [np.s_[2:5], np.s_[:, 32:64], np.s_[1:3, 0:32], np.s_[4, :], np.s_[:, 64:]]:
                raw = np.asarray(s[idx])
                if ref[idx].size == 0:
                    assert raw.size == 0, (name, idx)
                    continue
                got = gguf.quants.dequantize(raw, t.tensor_type)
                assert np.array_equal(got.reshape(ref[idx].shape), ref[idx]), (name, idx)
            with pytest.raises(tenzor.UnsupportedError, match="blocks of 32 elements"):
                s[:, 5:40]
            with pytest.raises(tenzor.UnsupportedError, match="blocks of 32"):
                f.read_slice(name, [0, 16], [2, 48])


def test_torch_slices_match_torch_slicing(files):
    torch = pytest.importorskip("torch")
    arrays, (tz, _) = files
    for backend in (None, "read"):
        with tenzor.safe_open(tz, framework="pt", backend=backend) as f:
            for name in ("f32_3d", "bf16_2d"):
                full = f.get_tensor(name).clone()
                s = f.get_slice(name)
                for idx in [np.s_[1:4], np.s_[:, 2:5], np.s_[..., -1], np.s_[2]]:
                    assert torch.equal(s[idx], full[idx]), (backend, name, idx)
