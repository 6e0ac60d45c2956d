#!/usr/bin/env bash
# Installs libtenzor (shared + static), its headers and tenzor.pc into PREFIX.
#
#   scripts/install.sh [--from BUILD_DIR] PREFIX
#
# Without --from, builds the release library first (cargo build --release)
# and installs from target/release. With --from, installs an existing build
# (e.g. target/debug, as the tests do) without running cargo.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
from=""
if [ "${1:-}" = "--from" ]; then
    from="$2"
    shift 2
fi
if [ $# -ne 1 ]; then
    echo "usage: $0 [--from BUILD_DIR] PREFIX" >&2
    exit 2
fi
prefix="$1"
if [ -z "$from" ]; then
    (cd "$root" && cargo build --release --lib)
    from="$root/target/release"
fi

version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n1)"
major="${version%%.*}"
rest="${version#*.}"
minor="${rest%%.*}"
# Same rule as build.rs: before 1.0 the ABI may change with each minor release.
if [ "$major" = "0" ]; then soname="libtenzor.so.0.$minor"; else soname="libtenzor.so.$major"; fi
# The static-link libraries are documented (and tested against rustc) in docs/C_API.md.
private_libs="$(sed -n 's/^native-static-libs: //p' "$root/docs/C_API.md" | head -n1)"

for f in libtenzor.so libtenzor.a; do
    [ -f "$from/$f" ] || { echo "install.sh: $from/$f not found (build first)" >&2; exit 1; }
done

mkdir -p "$prefix/lib/pkgconfig" "$prefix/include"
install -m 0755 "$from/libtenzor.so" "$prefix/lib/libtenzor.so.$version"
ln -sfn "libtenzor.so.$version" "$prefix/lib/$soname"
ln -sfn "$soname" "$prefix/lib/libtenzor.so"
install -m 0644 "$from/libtenzor.a" "$prefix/lib/libtenzor.a"
install -m 0644 "$root/include/tenzor.h" "$root/include/tenzor.hpp" "$root/include/tenzor_format.h" \
    "$root/include/tenzor_lite.h" "$prefix/include/"

abs_prefix="$(cd "$prefix" && pwd)"
cat > "$prefix/lib/pkgconfig/tenzor.pc" <<PC
prefix=$abs_prefix
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
includedir=\${prefix}/include

Name: tenzor
Description: Zero-copy memory-mapped tensor files (C API)
Version: $version
Libs: -L\${libdir} -ltenzor
Libs.private: $private_libs
Cflags: -I\${includedir}
PC

echo "installed tenzor $version into $abs_prefix (soname $soname)"
