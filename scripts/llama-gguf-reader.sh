#!/usr/bin/env bash
# Builds llama.cpp's own GGUF reader (gguf.cpp, in ggml's ggml-base library)
# and tests/llama/gguf_dump.c against it, for tests/llama_cpp.rs.
#
# llama.cpp comes from PyPI: the sdist of llama-cpp-python vendors it under
# vendor/llama.cpp. Everything lands in target/llama-cpp/ (never in the
# repository) and is cached: the download, extraction and build are skipped
# when the library is already built, so a warm run only recompiles
# gguf_dump if its source changed.
#
#   target/llama-cpp/<version>/llama_cpp_python-<version>.tar.gz
#   target/llama-cpp/<version>/src/      ggml/ and LICENSE of vendor/llama.cpp
#   target/llama-cpp/<version>/build/    ggml/src/libggml-base.a
#   target/llama-cpp/gguf_dump
#
# Only the ggml-base target is built (ggml.c, ggml-quants.c, gguf.cpp and
# the backend-agnostic parts): no CPU backend, no CUDA/Metal/Vulkan/BLAS/
# OpenMP, no native CPU flags; Release; static.
#
# Needs python3 with pip, cmake, a C and a C++ compiler (honours CC, CXX).
# Idempotent. Prints the path of gguf_dump on its last line of stdout; tool
# output goes to stderr. Exits non-zero, saying which step failed, on error.
set -euo pipefail

# llama-cpp-python 0.3.36 vendors ggml-org/llama.cpp@0c1e57098 (its
# CHANGELOG), ggml 0.25.3.
LLAMA_CPP_PYTHON_VERSION=0.3.36
SDIST_SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/target/llama-cpp"
ver="$out/$LLAMA_CPP_PYTHON_VERSION"
sdist_name="llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION"
sdist="$ver/$sdist_name.tar.gz"
src="$ver/src"
ggml_src="$src/vendor/llama.cpp/ggml"
build="$ver/build"
lib="$build/ggml/src/libggml-base.a"
dump_src="$root/tests/llama/gguf_dump.c"
dump="$out/gguf_dump"
CC="${CC:-cc}"
CXX="${CXX:-c++}"

step="starting"
log() { echo "llama-gguf-reader.sh: $*" >&2; }
die() {
    trap - EXIT
    log "error: $*"
    exit 1
}
trap 'rc=$?; [ $rc -eq 0 ] || log "error: failed while $step (exit status $rc)"' EXIT

need() {
    command -v "$1" >/dev/null 2>&1 || die "$1 is not installed ($2)"
}
need cmake "scripts/install-toolchains.sh installs it"
need "$CC" "install gcc"
need "$CXX" "install g++"

mkdir -p "$ver"

# One builder at a time (cargo may run several test binaries at once).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$out/.lock"
    flock 9
fi

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"
    fi
}

if [ ! -f "$lib" ]; then
    if [ ! -f "$ggml_src/src/gguf.cpp" ]; then
        if [ ! -f "$sdist" ] || [ "$(sha256_of "$sdist")" != "$SDIST_SHA256" ]; then
            step="downloading $sdist_name.tar.gz from PyPI"
            need python3 "install Python 3 with pip"
            python3 -m pip --version >/dev/null 2>&1 || die "python3 has no pip (install python3-pip)"
            log "$step"
            rm -rf "$ver/download.tmp"
            mkdir -p "$ver/download.tmp"
            # --no-binary names the package only: with :all: pip would also
            # build the sdist's build requirements (ninja, cmake, ...) from
            # source to prepare its metadata, which takes many minutes.
            PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip download --no-deps \
                --no-binary llama-cpp-python "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" \
                -d "$ver/download.tmp" >&2
            [ -f "$ver/download.tmp/$sdist_name.tar.gz" ] ||
                die "pip did not produce $sdist_name.tar.gz"
            got="$(sha256_of "$ver/download.tmp/$sdist_name.tar.gz")"
            [ "$got" = "$SDIST_SHA256" ] ||
                die "$sdist_name.tar.gz has sha256 $got, expected $SDIST_SHA256"
            mv "$ver/download.tmp/$sdist_name.tar.gz" "$sdist"
            rm -rf "$ver/download.tmp"
        fi
        step="extracting vendor/llama.cpp/ggml from $sdist"
        log "$step"
        rm -rf "$src" "$ver/src.tmp"
        mkdir -p "$ver/src.tmp"
        tar -xzf "$sdist" -C "$ver/src.tmp" --strip-components=1 \
            "$sdist_name/vendor/llama.cpp/ggml" "$sdist_name/vendor/llama.cpp/LICENSE"
        mv "$ver/src.tmp" "$src"
        [ -f "$ggml_src/src/gguf.cpp" ] || die "$sdist has no vendor/llama.cpp/ggml/src/gguf.cpp"
    fi

    # ggml's CMakeLists refuses to configure standalone from an sdist (it
    # wants ggml.pc.in, which is not shipped), so it is added as a
    # subdirectory, as llama.cpp itself does.
    step="configuring ggml (cmake)"
    log "$step"
    mkdir -p "$ver/wrapper"
    cat >"$ver/wrapper/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.14)
project(tenzor_llama_gguf_reader C CXX)
add_subdirectory("${GGML_SOURCE_DIR}" ggml)
EOF
    # GIT_CEILING_DIRECTORIES: ggml asks git for its commit; without it git
    # would find (and report) the tenzor repository around target/.
    GIT_CEILING_DIRECTORIES="$ver" cmake -S "$ver/wrapper" -B "$build" \
        -DGGML_SOURCE_DIR="$ggml_src" \
        -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
        -DBUILD_SHARED_LIBS=OFF \
        -DGGML_CPU=OFF -DGGML_NATIVE=OFF -DGGML_OPENMP=OFF \
        -DGGML_BLAS=OFF -DGGML_ACCELERATE=OFF -DGGML_LLAMAFILE=OFF \
        -DGGML_CUDA=OFF -DGGML_HIP=OFF -DGGML_MUSA=OFF -DGGML_METAL=OFF \
        -DGGML_VULKAN=OFF -DGGML_OPENCL=OFF -DGGML_SYCL=OFF -DGGML_RPC=OFF \
        -DGGML_WEBGPU=OFF -DGGML_CCACHE=OFF \
        -DGGML_BUILD_TESTS=OFF -DGGML_BUILD_EXAMPLES=OFF >&2

    step="building ggml-base (cmake --build)"
    log "$step"
    jobs="$(nproc 2>/dev/null || echo 2)"
    cmake --build "$build" --target ggml-base --parallel "$jobs" >&2
    [ -f "$lib" ] || die "the build did not produce $lib"
fi

if [ ! -x "$dump" ] || [ "$dump_src" -nt "$dump" ] || [ "$lib" -nt "$dump" ]; then
    step="compiling tests/llama/gguf_dump.c"
    log "$step"
    "$CC" -std=c11 -O2 -Wall -Wextra -Wpedantic -Werror -I "$ggml_src/include" \
        -c "$dump_src" -o "$out/gguf_dump.o"
    # libggml-base is C++ inside: link with the C++ driver.
    "$CXX" "$out/gguf_dump.o" "$lib" -lm -lpthread -o "$dump.tmp"
    mv "$dump.tmp" "$dump"
    rm -f "$out/gguf_dump.o"
fi

step="done"
echo "$dump"
