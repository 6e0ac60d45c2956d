"""Shared paths and helpers for the tenzor package tests."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
SAMPLE = REPO / "examples" / "sample.safetensors"


@pytest.fixture(scope="session")
def st_reference():
    return json.loads((FIXTURES / "safetensors" / "reference.json").read_text())


@pytest.fixture(scope="session")
def gguf_reference():
    return json.loads((FIXTURES / "gguf" / "reference.json").read_text())


def run_python(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Runs ``code`` in a fresh interpreter (the same one as the tests) and
    returns the completed process; stdout/stderr captured as text."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
