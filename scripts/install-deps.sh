#!/usr/bin/env bash
# Installs everything the tests need, idempotently (only what is missing):
# the system toolchains (scripts/install-toolchains.sh: valgrind, Go, CMake,
# pkg-config, Zig) and the Python packages that made the fixtures and read
# tenzor's output back (the real safetensors and gguf producers).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-toolchains.sh

if ! python3 - <<'PY' 2>/dev/null
import importlib.metadata as m, sys
want = {"safetensors": "0.8.0", "gguf": "0.19.0", "numpy": None}
for k, v in want.items():
    have = m.version(k)
    if v and have != v:
        sys.exit(1)
PY
then
    echo "install-deps: pip install safetensors==0.8.0 gguf==0.19.0 numpy"
    python3 -m pip install -q --disable-pip-version-check "safetensors==0.8.0" "gguf==0.19.0" numpy
fi

# The Python package's tests (scripts/test-python.sh): pytest, ml_dtypes and
# torch, from PyPI (the only Python registry the test machines reach; it
# brings the CUDA libraries, several GB, so it is installed only when missing).
for pkg in pytest ml_dtypes; do
    if ! python3 -c "import $pkg" 2>/dev/null; then
        echo "install-deps: pip install $pkg"
        python3 -m pip install -q --disable-pip-version-check "$pkg"
    fi
done
if ! python3 -c "import torch" 2>/dev/null; then
    echo "install-deps: pip install torch"
    python3 -m pip install -q --disable-pip-version-check torch
fi

for c in clippy rustfmt; do
    if ! cargo "$c" --version >/dev/null 2>&1; then
        rustup component add "$c"
    fi
done
# cargo-fuzz, for the bounded fuzz runs of scripts/test.sh (nightly only).
if cargo +nightly --version >/dev/null 2>&1 && ! cargo fuzz --version >/dev/null 2>&1; then
    echo "install-deps: cargo install cargo-fuzz"
    cargo install --locked cargo-fuzz
fi
echo "install-deps: all present"
