#!/usr/bin/env bash
# Runs the thread tests (tests/threads.rs: 16 threads per handle of each
# format while other processes replace the files) under ThreadSanitizer.
# Needs nightly with rust-src: std is rebuilt with the sanitizer (-Zbuild-std),
# so every access, the library's and std's, is checked. Not part of
# scripts/test.sh (the instrumented build takes minutes); FUZZING.md has the
# last result.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup component list --toolchain nightly --installed | grep -q rust-src \
    || rustup component add rust-src --toolchain nightly
target=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Zsanitizer=thread -Cforce-frame-pointers=yes"
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
nice -n 19 cargo +nightly test -Zbuild-std --target "$target" --target-dir target/tsan \
    --test threads -- --test-threads=1
