"""torch: files written by safetensors.torch read identically, and
tenzor-written files load identically in safetensors (needs torch)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import safetensors  # noqa: E402
import safetensors.torch  # noqa: E402

import tenzor  # noqa: E402
import tenzor.torch  # noqa: E402

from conftest import FIXTURES, SAMPLE  # noqa: E402

TORCH_DTYPES = [
    torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.int64, torch.int32,
    torch.int16, torch.int8, torch.uint8, torch.bool, torch.complex64,
    torch.uint16, torch.uint32, torch.uint64,
    torch.float8_e4m3fn, torch.float8_e5m2, torch.float8_e4m3fnuz, torch.float8_e5m2fnuz,
]


def _values(dtype, shape, seed):
    g = torch.Generator().manual_seed(seed)
    if dtype == torch.bool:
        return torch.randint(0, 2, shape, generator=g).bool()
    if dtype.is_floating_point or dtype.is_complex:
        return torch.randn(shape, generator=g, dtype=torch.float32).to(dtype)
    return torch.randint(0, 100, shape, generator=g).to(dtype)


@pytest.fixture(scope="module")
def tensors():
    t = {f"t.{str(d)[6:]}": _values(d, (4, 3), i) for i, d in enumerate(TORCH_DTYPES)}
    t["scalar"] = torch.tensor(2.5, dtype=torch.bfloat16)
    t["empty"] = torch.zeros((0, 3), dtype=torch.float32)
    t["ünïcödé.名前.🙂"] = torch.arange(6, dtype=torch.int32).reshape(2, 3)
    return t


def _same(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert torch.equal(a.view(torch.uint8) if a.dtype.itemsize == 1 and a.dtype != torch.bool and a.numel() else a,
                       b.view(torch.uint8) if b.dtype.itemsize == 1 and b.dtype != torch.bool and b.numel() else b)


def test_safetensors_torch_files_read_identically(tmp_path, tensors):
    p = tmp_path / "pt.safetensors"
    meta = {"format": "pt", "k": "ü"}
    safetensors.torch.save_file(tensors, str(p), metadata=meta)
    ref = safetensors.torch.load_file(str(p))
    with tenzor.safe_open(p, framework="pt") as f:
        assert f.metadata() == meta and sorted(f.keys()) == sorted(tensors)
        for name, b in ref.items():
            _same(f.get_tensor(name), b)
            sl = f.get_slice(name)
            if b.dim() and b.shape[0] > 1:
                _same(sl[1:], b[1:])
    got = tenzor.torch.load_file(p)
    for name, b in ref.items():
        _same(got[name], b)


def test_tenzor_torch_files_convert_to_safetensors_identically(tmp_path, tensors):
    tz = tmp_path / "w.tenzor"
    tenzor.torch.save_file(tensors, tz, metadata={"a": "b"})
    st = tmp_path / "w.safetensors"
    tenzor.convert(tz, st)
    back = safetensors.torch.load_file(str(st))
    assert set(back) == set(tensors)
    for name, a in tensors.items():
        _same(back[name], a)
    data = tenzor.torch.save(tensors, metadata={"a": "b"})
    assert data == tz.read_bytes()
    for name, t in tenzor.torch.load(data).items():
        _same(t, tensors[name])


def test_sample_matches_safetensors_and_is_zero_copy():
    ref = safetensors.torch.load_file(str(SAMPLE))
    with tenzor.safe_open(SAMPLE, "pt") as f:
        for name, b in ref.items():
            a = f.get_tensor(name)
            _same(a, b)
            assert a.data_ptr() == f.data_ptr(name)


def test_all_dtypes_fixture_in_torch(st_reference):
    ref = st_reference["safetensors/all_dtypes.safetensors"]
    with tenzor.safe_open(FIXTURES / "safetensors/all_dtypes.safetensors", "pt") as f:
        for t in ref["tensors"]:
            a = f.get_tensor(t["name"])
            assert a.untyped_storage().nbytes() >= 0
            nbytes = a.numel() * a.element_size()
            assert nbytes == t["data_offsets"][1] - t["data_offsets"][0], t["name"]
            if t["dtype"] == "F4":
                assert a.dtype == torch.float4_e2m1fn_x2
                assert list(a.shape) == t["shape"][:-1] + [t["shape"][-1] // 2]
            elif t["dtype"] in ("F6_E2M3", "F6_E3M2"):
                assert a.dtype == torch.uint8
            elif t["dtype"] == "F8_E8M0":
                assert a.dtype == torch.float8_e8m0fnu and list(a.shape) == t["shape"]


def test_torch_tensors_are_private_copies_on_write(tmp_path):
    p = tmp_path / "cow.tenzor"
    tenzor.numpy.save_file({"w": np.arange(1024, dtype=np.float32)}, p)
    before = p.read_bytes()
    with tenzor.safe_open(p, "pt") as f:
        t = f.get_tensor("w")
        t += 1  # writes this process's private pages, never the file
        assert t[0].item() == 1.0
        assert f.get_tensor("w")[0].item() == 1.0  # same mapping
    assert p.read_bytes() == before
    tenzor.verify(p)
    with tenzor.safe_open(p, "pt") as f:
        assert f.get_tensor("w")[0].item() == 0.0


def test_writer_takes_torch_tensors_including_non_contiguous(tmp_path):
    p = tmp_path / "nc.tenzor"
    x = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    with tenzor.Writer(p) as w:
        w.add("t", x.t())  # non-contiguous: written in logical order
        w.add("f4", torch.zeros((2, 3), dtype=torch.float4_e2m1fn_x2))
    with tenzor.safe_open(p, "pt") as f:
        assert torch.equal(f.get_tensor("t"), x.t().contiguous())
        assert f.tensor_info("f4").shape == (2, 6) and f.tensor_info("f4").dtype == "F4"
