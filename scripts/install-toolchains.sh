#!/usr/bin/env bash
# Installs what the C-API tests and examples need beyond Rust and gcc:
# valgrind, Go (cgo example), CMake + pkg-config (C++ example), Zig (Zig
# example), and the cross toolchains, emulators and fuzzer of tests/lite.rs.
# Idempotent: installs only what is missing. Debian/Ubuntu, as root.
set -euo pipefail

# Zig 0.15 is the last release with @cImport, which examples/zig uses.
ZIG_VERSION=0.15.2

need_apt=()
command -v valgrind >/dev/null 2>&1 || need_apt+=(valgrind)
command -v go >/dev/null 2>&1 || need_apt+=(golang-go)
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
# tenzor_lite.h (tests/lite.rs): 32-bit ARM and big-endian PowerPC under
# qemu-user, a Cortex-M4 under qemu-system-arm, libFuzzer through clang.
for pkg in gcc-arm-linux-gnueabihf gcc-powerpc-linux-gnu qemu-user gcc-arm-none-eabi \
    qemu-system-arm clang libclang-rt-14-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if ((${#need_apt[@]})); then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need_apt[@]}"
fi

have_zig="$(python3 -m ziglang version 2>/dev/null || true)"
if [ "$have_zig" != "$ZIG_VERSION" ]; then
    python3 -m pip install -q "ziglang==$ZIG_VERSION"
fi

echo "valgrind: $(valgrind --version)"
echo "go: $(go version)"
echo "cmake: $(cmake --version | head -n1)"
echo "zig: $(python3 -m ziglang version)"
