#!/usr/bin/env bash
# Benchmarks tenzor's GGUF reading side by side with ggml's own reader
# (benches/gguf_vs_ggml.c), on an LLM-shaped GGUF made here with the gguf
# package (tests/py/llm_gguf.py): a 150,000-token vocabulary with scores and
# token types, 250,000 merges, 300 tensors. Prints the README table rows.
#
#   scripts/bench_meta.sh            the full benchmark (about a minute)
#   scripts/bench_meta.sh --smoke    a seconds-long run on a small file
#
# ggml comes from the pinned llama-cpp-python sdist (scripts/llama-gguf-reader.sh
# builds libggml-base.a); tenzor is the release static library. Everything
# generated lands in target/bench-meta/ (never in the repository).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/target/bench-meta"
mkdir -p "$out"
tokens=150000 merges=250000 tensors=300 rounds=31 rss_runs=5
if [ "${1:-}" = "--smoke" ]; then
    tokens=2000 merges=2000 tensors=20 rounds=3 rss_runs=1
fi
CC="${CC:-cc}"
CXX="${CXX:-c++}"

"$root/scripts/llama-gguf-reader.sh" >/dev/null
ggml_ver="$(ls "$root/target/llama-cpp" | grep -E '^[0-9]' | head -1)"
ggml_lib="$root/target/llama-cpp/$ggml_ver/build/ggml/src/libggml-base.a"
ggml_inc="$root/target/llama-cpp/$ggml_ver/src/vendor/llama.cpp/ggml/include"
(cd "$root" && cargo build --release --lib >&2)

file="$out/llm-$tokens-$merges-$tensors.gguf"
if [ ! -f "$file" ]; then
    python3 "$root/tests/py/llm_gguf.py" make "$file.tmp" "$tokens" "$merges" "$tensors"
    mv "$file.tmp" "$file"
fi
exe="$out/gguf_vs_ggml"
"$CC" -std=c11 -O2 -Wall -Wextra -Werror -I "$root/include" -I "$ggml_inc" \
    -c "$root/benches/gguf_vs_ggml.c" -o "$out/gguf_vs_ggml.o"
"$CXX" "$out/gguf_vs_ggml.o" "$root/target/release/libtenzor.a" "$ggml_lib" \
    -lm -lpthread -ldl -o "$exe"

tensor="blk.0.w1.weight"
size=$(stat -c %s "$file")
echo "file: $file ($size bytes, $tokens tokens, $merges merges, $tensors tensors)" >&2
times="$("$exe" time "$file" "$tensor" "$rounds")"
echo "$times" >&2
rss() { # median peak and base over $rss_runs fresh processes
    for _ in $(seq "$rss_runs"); do "$exe" rss "$1" "$file" "$tensor"; done |
        sort -n | awk '{p[NR]=$1; b[NR]=$2} END {m=int((NR+1)/2); print p[m], b[m]}'
}
read -r tz_peak tz_base <<<"$(rss tenzor)"
read -r gg_peak gg_base <<<"$(rss ggml)"
get() { echo "$times" | awk -v k="$1" '$1 == k {print $2}'; }
python3 - "$(get open_lookup_tenzor)" "$(get open_lookup_ggml)" "$(get vocab_tenzor_strs)" \
    "$(get vocab_tenzor_str_each)" "$(get vocab_ggml_get_arr_str)" "$(get vocab_ggml_get_arr_str_strlen)" \
    "$tz_peak" "$tz_base" "$gg_peak" "$gg_base" "$size" <<'PY'
import sys
a = [float(x) for x in sys.argv[1:]]
tz, gg, bulk, each, ggv, ggl, tzp, tzb, ggp, ggb, size = a
def t(ns):
    return f"{ns / 1e6:.3g} ms" if ns >= 1e6 else f"{ns / 1e3:.3g} µs"
def mb(kb):
    return f"{kb / 1024:.1f} MB"
print(f"| benchmark (median, {size / 1e6:.0f} MB LLM-shaped GGUF) | tenzor | ggml | tenzor vs ggml |")
print("|---|---|---|---|")
print(f"| open + 1 tensor lookup + close (ggml: `gguf_init_from_file`, no_alloc) | {t(tz)} | {t(gg)} | {gg / tz:.1f}x faster |")
print(f"| peak RSS of that open, whole process | {mb(tzp)} | {mb(ggp)} | {tzp / ggp:.2f} of ggml's |")
print(f"| peak RSS of that open, above the process before it | {mb(tzp - tzb)} | {mb(ggp - ggb)} | {(tzp - tzb) / max(ggp - ggb, 1):.2f} of ggml's |")
n = "150,000-token" if size > 5e6 else "small"
print(f"| read the {n} vocabulary, pointer + length of each token: `tenzor_meta_array_strs` vs `gguf_get_arr_str` + `strlen` loop | {t(bulk)} | {t(ggl)} | {ggl / bulk:.2f}x |")
print(f"| the same, ggml giving pointers only (no `strlen`) | {t(bulk)} | {t(ggv)} | {ggv / bulk:.2f}x |")
print(f"| the same, one `tenzor_meta_array_str` call per token vs `gguf_get_arr_str` + `strlen` | {t(each)} | {t(ggl)} | {ggl / each:.2f}x |")
PY
