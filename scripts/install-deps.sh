#!/usr/bin/env bash
# Installs everything the tests need, idempotently: Debian packages
# (valgrind, Go for the cgo example, clang tools), Python packages (the
# real safetensors and gguf producers, Zig from PyPI). Safe to run again.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi

need_apt=()
command -v valgrind >/dev/null || need_apt+=(valgrind)
command -v go >/dev/null || need_apt+=(golang-go)
command -v cc >/dev/null || need_apt+=(gcc)
command -v c++ >/dev/null || need_apt+=(g++)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
command -v cmake >/dev/null || need_apt+=(cmake)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "install-deps: apt-get install ${need_apt[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

py_ok=$(python3 - <<'PY' 2>/dev/null || true
import importlib.metadata as m
want = {"safetensors": "0.8.0", "gguf": None, "numpy": None, "ml_dtypes": None, "ziglang": None}
missing = []
for k, v in want.items():
    try:
        have = m.version(k)
        if v and have != v:
            missing.append(k)
    except m.PackageNotFoundError:
        missing.append(k)
print("ok" if not missing else "missing")
PY
)
if [ "$py_ok" != ok ]; then
    echo "install-deps: pip install safetensors gguf numpy ml_dtypes ziglang"
    python3 -m pip install -q --disable-pip-version-check \
        "safetensors==0.8.0" "gguf==0.19.0" numpy ml_dtypes ziglang
fi

for c in clippy rustfmt; do
    if ! cargo "$c" --version >/dev/null 2>&1; then
        rustup component add "$c"
    fi
done
echo "install-deps: all present"
