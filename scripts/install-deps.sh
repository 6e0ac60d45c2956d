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
# torch. torch comes from PyTorch's CPU-only index (a fraction of the size of
# the default CUDA build); it is installed only when missing.
for pkg in pytest ml_dtypes; do
    if ! python3 -c "import $pkg" 2>/dev/null; then
        echo "install-deps: pip install $pkg"
        python3 -m pip install -q --disable-pip-version-check "$pkg"
    fi
done
if ! python3 -c "import torch" 2>/dev/null; then
    echo "install-deps: pip install torch (CPU build)"
    python3 -m pip install -q --disable-pip-version-check torch \
        --index-url https://download.pytorch.org/whl/cpu
fi

for c in clippy rustfmt; do
    if ! cargo "$c" --version >/dev/null 2>&1; then
        rustup component add "$c"
    fi
done
echo "install-deps: all present"
