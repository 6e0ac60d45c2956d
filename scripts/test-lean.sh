#!/usr/bin/env bash
# The lean library (README, "Edge and embedded"): builds the read-only,
# .tenzor-only variant (`--no-default-features`) once, in release, into
# target/lean (reused by later runs: only tenzor itself is rebuilt when the
# sources change), then checks, against that build:
# - it exports every function include/tenzor.h declares (one header for
#   every feature set);
# - none of the left-out crates (safetensors, simdutf8, clap, indicatif)
#   is linked in;
# - c_tests/lean/test_lean.c (-Wall -Wextra -Wpedantic -Werror): a .tenzor
#   reads, by path and from memory; the functions of the left-out features
#   fail with TENZOR_ERR_UNSUPPORTED and name the feature; run under
#   valgrind (the shared library, installed by scripts/install.sh into a
#   temporary prefix and linked through pkg-config) and once linked statically;
# - when cargo-c is installed, `cargo cinstall` of the same build into a
#   temporary prefix, and the test linked through its tenzor.pc;
# and prints the stripped sizes of both libraries. Clippy checks the lean set
# and the two others (`write` without `foreign`, `foreign` without `write`);
# warnings are errors in all of them.
# The unit tests of the modules a lean build keeps pass with `cargo test --lib
# --no-default-features`; they are left out here: their build would cost more
# CPU than the rest of this script.
# Cost from scratch (empty target/lean, cargo-c installed, so its own build
# of the library included): 1 min 54 s of CPU, 3 min 18 s of wall time on the
# shared 2-core machine; seconds once target/lean is built.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=target/lean
LIB="$TARGET/release"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# -D warnings for these builds only: the default target dir keeps its flags.
lean_flags="${RUSTFLAGS:-} -D warnings"
RUSTFLAGS="$lean_flags" cargo build --quiet --locked --release --lib --no-default-features --target-dir "$TARGET"
# Lints of the code only these sets compile (stand-ins, cfg'd items).
for features in "" write foreign; do
    RUSTFLAGS="$lean_flags" cargo clippy --quiet --locked --lib --no-default-features \
        --features "$features" --target-dir "$TARGET" -- -D warnings
done

# Every function of the header is exported by the lean build.
grep -oE '\btenzor_[a-z0-9_]+\(' include/tenzor.h | tr -d '(' | sort -u >"$work/declared"
nm -D --defined-only "$LIB/libtenzor.so" | awk '$2 == "T" {print $3}' | grep '^tenzor_' |
    sort -u >"$work/exported"
missing=$(comm -23 "$work/declared" "$work/exported")
if [ -n "$missing" ]; then
    echo "test-lean: the lean build lacks functions the header declares (add stand-ins to src/ffi/without_write.rs):" >&2
    echo "$missing" >&2
    exit 1
fi

# Nothing of the left-out features' crates is linked in.
if ar t "$LIB/libtenzor.a" | grep -E '^(safetensors|simdutf8|clap|indicatif)-'; then
    echo "test-lean: the lean libtenzor.a holds crates of left-out features" >&2
    exit 1
fi

# A .tenzor to read: the sample, converted by the default build's CLI.
cargo run --quiet --locked --bin tenzor -- convert examples/sample.safetensors \
    -o "$work/sample.tenzor" >/dev/null
args=("$work/sample.tenzor" examples/sample.safetensors tests/fixtures/gguf/small.gguf
    tests/fixtures/sharded/model.safetensors.index.json "$work")
flags=(-std=c99 -Wall -Wextra -Wpedantic -Werror -g -Iinclude)
cc=${CC:-cc}

# Installed as a package would be (scripts/install.sh), linked through pkg-config.
bash scripts/install.sh --from "$LIB" "$work/prefix" >/dev/null
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
# shellcheck disable=SC2046 # pkg-config prints words
"$cc" "${flags[@]}" c_tests/lean/test_lean.c -o "$work/test_lean" \
    $(pkg-config --cflags --libs tenzor) -Wl,-rpath,"$work/prefix/lib"
valgrind --quiet --error-exitcode=1 --leak-check=full \
    --errors-for-leak-kinds=definite,indirect,possible "$work/test_lean" "${args[@]}"

# The same build installed by cargo-c (`cargo cinstall`, Cargo.toml
# [package.metadata.capi]) when it is there: soname, links, headers, tenzor.pc.
if cargo cinstall --version >/dev/null 2>&1; then
    cprefix="$work/cprefix"
    if ! RUSTFLAGS="$lean_flags" cargo cinstall --locked --release --no-default-features \
        --target-dir "$TARGET" --prefix "$cprefix" --libdir "$cprefix/lib" >"$work/cinstall.log" 2>&1; then
        cat "$work/cinstall.log" >&2
        exit 1
    fi
    soname=$(objdump -p "$cprefix/lib/libtenzor.so" | awk '$1 == "SONAME" {print $2}')
    for f in "lib/$soname" lib/libtenzor.a include/tenzor.h include/tenzor_lite.h \
        include/tenzor_format.h include/tenzor.hpp; do
        [ -e "$cprefix/$f" ] || { echo "test-lean: cargo cinstall did not install $f" >&2; exit 1; }
    done
    # shellcheck disable=SC2046 # pkg-config prints words
    "$cc" "${flags[@]}" c_tests/lean/test_lean.c -o "$work/test_lean_cinstall" \
        $(PKG_CONFIG_PATH="$cprefix/lib/pkgconfig" pkg-config --cflags --libs tenzor) \
        -Wl,-rpath,"$cprefix/lib"
    "$work/test_lean_cinstall" "${args[@]}"
else
    echo "test-lean: cargo-c is not installed: the cargo cinstall check is skipped"
fi

static_libs=$(sed -n 's/^native-static-libs: //p' docs/C_API.md)
# shellcheck disable=SC2086 # the list is words
"$cc" "${flags[@]}" c_tests/lean/test_lean.c -o "$work/test_lean_static" \
    "$LIB/libtenzor.a" $static_libs
"$work/test_lean_static" "${args[@]}"

strip --strip-all -o "$work/lean.so" "$LIB/libtenzor.so"
strip --strip-debug -o "$work/lean.a" "$LIB/libtenzor.a"
echo "test-lean: stripped sizes: libtenzor.so $(stat -c %s "$work/lean.so") B," \
    "libtenzor.a $(stat -c %s "$work/lean.a") B"
