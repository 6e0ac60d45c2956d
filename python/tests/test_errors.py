"""Statuses, exceptions and their messages."""

import json
import re

import numpy as np
import pytest

import tenzor
from tenzor import _errors, _lib

from conftest import REPO, SAMPLE


def test_status_numbers_match_the_header():
    header = (REPO / "include" / "tenzor.h").read_text()
    enum = header[header.index("enum tenzor_status") :]
    enum = enum[: enum.index("};")]
    in_header = {m[0]: int(m[1]) for m in re.findall(r"\b(TENZOR_(?:OK|ERR_\w+)) = (\d+)", enum)}
    in_python = {name: number for name, (number, _) in _errors.STATUS.items()}
    assert in_header, "no statuses parsed from include/tenzor.h"
    assert in_python == in_header


def test_every_status_has_its_own_exception_class():
    classes = [cls for _, cls in _errors.STATUS.values() if cls is not None]
    assert len(set(classes)) == len(classes) == len(_errors.STATUS) - 1
    for name, (number, cls) in _errors.STATUS.items():
        if cls is None:
            continue
        assert issubclass(cls, tenzor.TenzorError)
        assert cls.status == number
        # the library knows the number (its description is not the unknown one)
        assert _lib.lib.tenzor_status_str(number) != _lib.lib.tenzor_status_str(10_000)


def test_unknown_status_is_still_an_error():
    e = _errors.error_for(10_000)
    assert type(e) is tenzor.TenzorError and e.status == 10_000


def test_missing_name_is_a_key_error_naming_file_and_tensor():
    with tenzor.safe_open(SAMPLE) as f:
        with pytest.raises(KeyError) as ei:
            f.get_tensor("no.such.tensor")
        assert isinstance(ei.value, tenzor.NotFoundError)
        assert "no.such.tensor" in str(ei.value) and str(SAMPLE) in str(ei.value)
        with pytest.raises(KeyError):
            f.get_tensor("lm_head.weight\0junk")  # a NUL would cut the C string
        assert "lm_head.weight" in f and "nope" not in f and 3 not in f


def test_closed_file_is_a_value_error():
    f = tenzor.safe_open(SAMPLE)
    f.close()
    for call in (f.keys, f.metadata, lambda: f.get_tensor("lm_head.weight"), lambda: len(f)):
        with pytest.raises(ValueError, match="closed"):
            call()
    f.close()  # twice is fine


def test_open_errors_name_the_file(tmp_path):
    with pytest.raises(tenzor.TenzorIOError) as ei:
        tenzor.safe_open(tmp_path / "missing.tenzor")
    assert isinstance(ei.value, OSError) and "missing.tenzor" in str(ei.value)
    garbage = tmp_path / "garbage.tenzor"
    garbage.write_bytes(b"not a tensor file at all" * 10)
    with pytest.raises(tenzor.BadFormatError, match="garbage.tenzor"):
        tenzor.safe_open(garbage)
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    with pytest.raises(tenzor.BadFormatError, match="empty"):
        tenzor.safe_open(empty)
    with pytest.raises(tenzor.InvalidArgumentError, match="directory"):
        tenzor.safe_open(tmp_path)
    with pytest.raises(ValueError, match="framework"):
        tenzor.safe_open(SAMPLE, framework="tf")


_KIND = {
    "BadFormat": tenzor.BadFormatError,
    "InvalidArgument": tenzor.InvalidArgumentError,
    "Unsupported": tenzor.UnsupportedError,
    "Io": tenzor.TenzorIOError,
    "Checksum": tenzor.ChecksumError,
    "DuplicateName": tenzor.DuplicateNameError,
    "NotFound": tenzor.NotFoundError,
}


def test_malformed_corpus_gives_the_documented_error_for_every_file():
    corpus = REPO / "tests" / "corpus"
    expected = json.loads((corpus / "expected.json").read_text())
    assert len(expected) > 100
    for name, want in expected.items():
        path = corpus / name
        with pytest.raises(tenzor.TenzorError) as ei:
            with tenzor.safe_open(path) as f:
                f.verify()  # some corruptions are data checksums, found by verify
        e = ei.value
        assert isinstance(e, _KIND[want["kind"]]), (name, want, e)
        assert want["message"] in str(e), (name, want, str(e))
        assert str(path) in str(e), (name, str(e))


def test_writer_dtype_and_shape_errors(tmp_path):
    with tenzor.Writer(tmp_path / "x.tenzor") as w:
        with pytest.raises(TypeError, match="object"):
            w.add("o", np.array([object()]))
        with pytest.raises(TypeError, match="unknown dtype"):
            w.add("u", np.zeros(4, np.uint8), dtype="F12")
        with pytest.raises(TypeError, match="float32"):
            w.add("m", np.zeros(4, np.float32), dtype="I32")
        with pytest.raises(tenzor.InvalidArgumentError, match="9"):
            w.add("r", np.zeros((1,) * 9, np.float32))  # rank above 8
        with pytest.raises(tenzor.InvalidArgumentError):
            w.add("s", np.zeros(6, np.float32), shape=[2, 2])  # bytes disagree with shape
        with pytest.raises(tenzor.InvalidArgumentError, match="NUL"):
            w.add("a\0b", np.zeros(1, np.float32))
        with pytest.raises(TypeError):
            w.add(7, np.zeros(1, np.float32))
        w.add("ok", np.zeros(2, np.float32))
        with pytest.raises(tenzor.DuplicateNameError, match="ok"):
            w.add("ok", np.zeros(2, np.float32))
        with pytest.raises(TypeError):
            w.set_metadata(["not", "a", "dict"])
    with tenzor.safe_open(tmp_path / "x.tenzor") as f:
        assert f.keys() == ["ok"]
    with pytest.raises(tenzor.InvalidArgumentError, match="alignment"):
        tenzor.Writer(tmp_path / "y.tenzor", alignment=100)
    assert not (tmp_path / "y.tenzor").exists()


def test_finished_writer_is_a_value_error(tmp_path):
    w = tenzor.Writer(tmp_path / "z.tenzor")
    w.finish()
    with pytest.raises(ValueError, match="finished"):
        w.add("a", np.zeros(1, np.float32))
    w.abort()  # no-op


def test_checksum_error_names_the_tensor(tmp_path):
    p = tmp_path / "c.tenzor"
    tenzor.numpy.save_file({"a": np.arange(64, dtype=np.float32), "b": np.ones(8)}, p)
    with tenzor.safe_open(p) as f:
        off = f.tensor_info("a").file_offset
    raw = bytearray(p.read_bytes())
    raw[off + 5] ^= 0xFF
    p.write_bytes(bytes(raw))
    with pytest.raises(tenzor.ChecksumError, match="'a'") as ei:
        tenzor.verify(p)
    assert str(p) in str(ei.value)
    with tenzor.safe_open(p) as f, pytest.raises(tenzor.ChecksumError, match=str(p)):
        f.verify()


FIFO = r"""
import os, sys, tenzor
p = sys.argv[1]
os.mkfifo(p)
try:
    tenzor.safe_open(p)
except tenzor.TenzorError as e:
    print(type(e).__name__, e)
"""


def test_a_fifo_is_refused_without_blocking(tmp_path):
    from conftest import run_python

    r = run_python(FIFO, str(tmp_path / "pipe.safetensors"), timeout=60)
    assert r.returncode == 0, r.stderr
    assert "pipe.safetensors" in r.stdout and "regular file" in r.stdout, r.stdout
