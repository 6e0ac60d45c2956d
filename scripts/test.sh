#!/usr/bin/env bash
# Every test: installs what is missing, then format, lints, and the whole
# test suite (Rust unit and integration tests, C tests under valgrind and
# ASan/UBSan, the C/C++/Go/Zig examples, Python read-back checks), then the
# Python package's tests (scripts/test-python.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo test
bash scripts/test-python.sh
