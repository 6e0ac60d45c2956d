#!/usr/bin/env bash
# Every test: installs what is missing, then format, lints, and the whole
# test suite (Rust unit and integration tests, C tests under valgrind and
# ASan/UBSan, the C/C++/Go/Zig examples, Python read-back checks, the fuzz
# corpus replayed on stable), then the lean read-only build and its C test
# (scripts/test-lean.sh), then the Python package's tests
# (scripts/test-python.sh) and, when the nightly toolchain is there, a
# bounded coverage-guided run of every fuzz target (FUZZING.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo test
bash scripts/test-lean.sh
bash scripts/test-python.sh
# Fuzzing: 10 targets x 15 s plus the nightly ASan build (about 6 minutes in
# all on a loaded 2-core machine). Without nightly the committed corpus is still replayed by cargo test.
if cargo +nightly --version >/dev/null 2>&1 && cargo fuzz --version >/dev/null 2>&1; then
    bash scripts/fuzz.sh ci 15
else
    echo "test.sh: no nightly toolchain or cargo-fuzz: fuzz targets not run (corpus replayed on stable)"
fi
