#!/usr/bin/env bash
# The main job on the shipped sample: convert a safetensors model to
# .tenzor, list it, verify it, read a tensor, and convert it back.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
T=target/release/tenzor
out=target/demo
mkdir -p "$out"
set -x
$T convert examples/sample.safetensors -o "$out/sample.tenzor" --align 4096
$T info "$out/sample.tenzor"
$T verify "$out/sample.tenzor"
$T get "$out/sample.tenzor" lm_head.weight
$T convert "$out/sample.tenzor" -o "$out/roundtrip.safetensors"
cmp examples/sample.safetensors "$out/roundtrip.safetensors"
{ set +x; } 2>/dev/null
echo "demo: round trip is byte-identical"
