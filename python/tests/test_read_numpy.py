"""Reading through tenzor.safe_open / tenzor.numpy, checked against the
real safetensors and gguf producers."""

import hashlib

import ml_dtypes
import numpy as np
import pytest
import safetensors
import safetensors.numpy

import tenzor
import tenzor.numpy

from conftest import FIXTURES, SAMPLE

# Every dtype safetensors.numpy writes.
NUMPY_DTYPES = [
    np.float64, np.float32, np.float16, np.int64, np.int32, np.int16, np.int8,
    np.uint64, np.uint32, np.uint16, np.uint8, np.bool_, np.complex64,
]


def _values(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(np.bool_)
    if dtype == np.complex64:
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
    return rng.standard_normal(shape).astype(dtype)


@pytest.fixture(scope="module")
def st_numpy_file(tmp_path_factory):
    tensors = {f"t.{np.dtype(d).name}": _values(d, (3, 5), i) for i, d in enumerate(NUMPY_DTYPES)}
    tensors["scalar"] = np.array(3.5, dtype=np.float32)
    tensors["empty"] = np.zeros((0, 4), dtype=np.float32)
    tensors["empty.cols"] = np.zeros((3, 0), dtype=np.int64)
    tensors["ünïcödé.名前.🙂"] = np.arange(6, dtype=np.int16).reshape(2, 3)
    tensors["rank4"] = _values(np.float32, (2, 1, 3, 2), 99)
    meta = {"format": "np", "note": "ünïcode ✓", "empty": ""}
    p = tmp_path_factory.mktemp("st") / "np.safetensors"
    safetensors.numpy.save_file(tensors, str(p), metadata=meta)
    return p, tensors, meta


def test_safetensors_numpy_files_read_identically(st_numpy_file):
    path, tensors, meta = st_numpy_file
    with tenzor.safe_open(path, framework="np") as f, safetensors.safe_open(str(path), "np") as g:
        assert f.metadata() == meta == g.metadata()
        assert f.keys() == g.offset_keys()
        assert sorted(f.keys()) == sorted(tensors)
        assert list(f) == f.keys() and len(f) == len(tensors)
        for name in g.keys():
            a, b = f.get_tensor(name), g.get_tensor(name)
            assert a.dtype == b.dtype and a.shape == b.shape, name
            assert np.array_equal(a, b), name
            assert not a.flags.writeable
            s = f.get_slice(name)
            assert s.get_shape() == list(b.shape) and s.get_dtype() == g.get_slice(name).get_dtype()
        order = f.keys()
    d = tenzor.numpy.load_file(path)
    assert list(d) == order
    for name, b in safetensors.numpy.load_file(str(path)).items():
        assert np.array_equal(d[name], b) and d[name].dtype == b.dtype
    assert tenzor.numpy.load_file(path)["scalar"].shape == ()


def _sha(a):
    return hashlib.sha256(np.ascontiguousarray(a).view(np.uint8).tobytes()).hexdigest()


def test_every_safetensors_dtype_reads_the_exact_bytes(st_reference):
    expected_numpy = {
        "BF16": ml_dtypes.bfloat16, "F8_E4M3": ml_dtypes.float8_e4m3fn,
        "F8_E5M2": ml_dtypes.float8_e5m2, "F8_E8M0": ml_dtypes.float8_e8m0fnu,
        "F8_E4M3FNUZ": ml_dtypes.float8_e4m3fnuz, "F8_E5M2FNUZ": ml_dtypes.float8_e5m2fnuz,
        "F4": np.uint8, "F6_E2M3": np.uint8, "F6_E3M2": np.uint8,
        "F64": np.float64, "F32": np.float32, "F16": np.float16, "C64": np.complex64,
        "BOOL": np.bool_,
    }
    for rel in ("safetensors/all_dtypes.safetensors", "safetensors/special.safetensors",
                "safetensors/model.safetensors"):
        ref = st_reference[rel]
        with tenzor.safe_open(FIXTURES / rel) as f:
            assert f.metadata() == ref["__metadata__"]
            assert f.keys() == [t["name"] for t in ref["tensors"]]
            for t in ref["tensors"]:
                a = f.get_tensor(t["name"])
                info = f.tensor_info(t["name"])
                assert info.dtype == t["dtype"] and list(info.shape) == t["shape"]
                assert _sha(a) == t["sha256"], t["name"]
                want = expected_numpy.get(t["dtype"])
                if want is not None:
                    assert a.dtype == np.dtype(want), t["name"]
                if a.dtype != np.uint8 or t["dtype"] == "U8":
                    assert list(a.shape) == t["shape"]
    dtypes = {t["dtype"] for t in st_reference["safetensors/all_dtypes.safetensors"]["tensors"]}
    assert len(dtypes) == 22


def test_packed_dtypes_are_raw_bytes_with_rows(st_reference):
    with tenzor.safe_open(FIXTURES / "safetensors/all_dtypes.safetensors") as f:
        for name in f.keys():
            info = f.tensor_info(name)
            if info.dtype not in ("F4", "F6_E2M3", "F6_E3M2"):
                continue
            a = f.get_tensor(name)
            assert a.dtype == np.uint8 and a.nbytes == info.nbytes
            rows = int(np.prod(info.shape[:-1]))
            assert a.shape in ((info.nbytes,), tuple(info.shape[:-1]) + (info.nbytes // max(rows, 1),))


def test_gguf_tensors_match_the_gguf_package(gguf_reference):
    for fname in ("small.gguf", "aligned64.gguf"):
        ref = gguf_reference[fname]
        with tenzor.safe_open(FIXTURES / "gguf" / fname) as f:
            assert f.format == "gguf"
            assert f.keys() == [t["name"] for t in ref["tensors"]]
            meta = f.metadata()
            for k, v in ref["kv"].items():
                if isinstance(v, (int, str)) and not isinstance(v, bool):
                    assert meta[k] == v, k
            for t in ref["tensors"]:
                a = f.get_tensor(t["name"])
                assert _sha(a) == t["sha256"] and a.nbytes == t["n_bytes"], t["name"]
                s = f.get_slice(t["name"])
                assert s.get_shape() == t["shape_ne"][::-1]  # outermost first
                assert s.get_dtype() == t["ggml_type_name"]
                if t["ggml_type_name"] in ("F32", "F16", "I8", "I32"):
                    assert list(a.shape) == t["shape_ne"][::-1]
                    assert np.allclose(a.reshape(-1)[:8].astype(np.float32), t["dequant_head"][:8]) \
                        if t["ggml_type_name"].startswith("F") else True
                elif t["ggml_type_name"].startswith("Q"):
                    # raw blocks, one row of bytes per row of the logical shape
                    assert a.dtype == np.uint8
                    assert a.shape[:-1] == tuple(t["shape_ne"][::-1][:-1])
                    assert np.shares_memory(a[0], a) and a[1:2].base is not None


def test_gguf_split_opens_as_one_file(gguf_reference):
    with tenzor.safe_open(FIXTURES / "gguf" / "split-00001-of-00002.gguf") as f:
        names = f.keys()
        want = [t["name"] for part in ("split-00001-of-00002.gguf", "split-00002-of-00002.gguf")
                for t in gguf_reference[part]["tensors"]]
        assert sorted(names) == sorted(want) and len(names) > 3
        for part in ("split-00001-of-00002.gguf", "split-00002-of-00002.gguf"):
            for t in gguf_reference[part]["tensors"]:
                assert _sha(f.get_tensor(t["name"])) == t["sha256"]


def test_shard_set_reads_like_its_shards():
    index = FIXTURES / "sharded" / "model.safetensors.index.json"
    with tenzor.safe_open(index) as f:
        assert len(f) == 13
        seen = 0
        for shard in sorted((FIXTURES / "sharded").glob("*.safetensors")):
            for name, b in safetensors.numpy.load_file(str(shard)).items():
                a = f.get_tensor(name)
                assert a.dtype == b.dtype and np.array_equal(a, b) and not a.flags.writeable
                seen += 1
        assert seen == 13
    d = tenzor.numpy.load_file(index)
    assert len(d) == 13


def test_get_slice_indexes_without_copying():
    with tenzor.safe_open(SAMPLE) as f:
        full = f.get_tensor("model.embed_tokens.weight")
        s = f.get_slice("model.embed_tokens.weight")
        assert len(s) == 64
        rows = s[3:7]
        assert np.array_equal(rows, full[3:7])
        step = full.strides[0]
        assert rows.__array_interface__["data"][0] == f.data_ptr("model.embed_tokens.weight") + 3 * step
        assert np.shares_memory(s[5], full)  # a row: a view
        col = s[..., 2]  # any other box: a contiguous copy of just that (tenzor_read_slice)
        assert np.array_equal(col, full[..., 2]) and not np.shares_memory(col, full)
        assert np.array_equal(s[:, ::8], full[:, ::8])
        assert not rows.flags.writeable


def test_load_bytes_views_the_buffer():
    data = SAMPLE.read_bytes()
    d = tenzor.numpy.load(data)
    ref = safetensors.numpy.load_file(str(SAMPLE)) if False else None  # bf16: not in safetensors.numpy
    buf = np.frombuffer(data, np.uint8)
    lo, hi = buf.__array_interface__["data"][0], buf.__array_interface__["data"][0] + len(data)
    for name, a in d.items():
        p = a.__array_interface__["data"][0]
        assert lo <= p and p + a.nbytes <= hi, name
    with tenzor.safe_open(SAMPLE) as f:
        for name, a in d.items():
            assert np.array_equal(a.view(np.uint8), f.get_tensor(name).view(np.uint8))
    assert ref is None
    with pytest.raises(tenzor.BadFormatError):
        tenzor.numpy.load(b"\x00" * 100)


def test_tenzor_written_files_convert_to_safetensors_that_safetensors_reads(tmp_path, st_numpy_file):
    _, tensors, meta = st_numpy_file
    tz = tmp_path / "w.tenzor"
    tenzor.numpy.save_file(tensors, tz, metadata=meta, alignment=4096)
    with tenzor.safe_open(tz) as f:
        assert f.alignment == 4096 and f.metadata() == meta and f.keys() == list(tensors)
        for name in tensors:
            assert f.get_tensor(name).__array_interface__["data"][0] % 4096 == 0 or \
                f.get_tensor(name).nbytes == 0
    st = tmp_path / "w.safetensors"
    tenzor.convert(tz, st)
    back = safetensors.numpy.load_file(str(st))
    with safetensors.safe_open(str(st), "np") as g:
        assert g.metadata() == meta
    assert set(back) == set(tensors)
    for name, a in tensors.items():
        assert back[name].dtype == a.dtype and np.array_equal(back[name], a), name
    # save_file straight to .safetensors does the same
    st2 = tmp_path / "direct.safetensors"
    tenzor.numpy.save_file(tensors, st2, metadata=meta)
    assert st2.read_bytes() == st.read_bytes()
    assert not list(tmp_path.glob(".tenzor-save-*"))
