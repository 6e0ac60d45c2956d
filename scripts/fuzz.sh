#!/usr/bin/env bash
# Coverage-guided fuzzing of tenzor with cargo-fuzz (nightly). FUZZING.md
# describes the targets, the campaign figures and how to re-run them.
#
#   scripts/fuzz.sh seeds                  build fuzz/seeds/<target> (fixtures, the
#                                          malformed corpus, small files of every format)
#   scripts/fuzz.sh run TARGET SECONDS [ARGS]
#                                          fuzz TARGET for SECONDS (one process, nice 19) from
#                                          the committed corpus + seeds into fuzz/corpus-full
#   scripts/fuzz.sh cmin TARGET            minimise fuzz/corpus-full/TARGET + fuzz/corpus/TARGET
#                                          into fuzz/corpus/TARGET
#   scripts/fuzz.sh ci SECONDS             build, then fuzz every target SECONDS from the
#                                          committed corpus (a throw-away copy); fails on any finding
#
# Findings land in fuzz/artifacts/<target>/; once fixed, copy them to
# fuzz/regressions/<target>/ so `cargo test --test fuzz_replay` replays them.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=(read c_abi roundtrip convert safetensors_diff shard_index lazy lite_diff mutable slice)
# .tenzor files are at least 8 KiB (the index starts on a 4 KiB page).
MAX_LEN=32768
FUZZ_ARGS=(-max_len=$MAX_LEN -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=20
           -dict=fuzz/tenzor.dict -print_final_stats=1)

# SANITIZER=none (no ASan: about twice the executions per second, for long
# campaigns of targets without raw pointers) builds into its own directory so
# switching does not rebuild the other.
SANITIZER=${SANITIZER:-address}
SAN_ARGS=(-s "$SANITIZER")
[ "$SANITIZER" = address ] || SAN_ARGS+=(--target-dir "fuzz/target/$SANITIZER")

cargo_fuzz() {
    local cmd=$1
    shift
    nice -n 19 cargo +nightly fuzz "$cmd" "${SAN_ARGS[@]}" "$@"
}

seeds() {
    local s=fuzz/seeds tmp
    rm -rf "$s"
    mkdir -p "$s"/{files,index}
    tmp=$(mktemp -d)
    cargo build -q --bin tenzor
    find tests/fixtures tests/corpus -type f \
        \( -name '*.tenzor' -o -name '*.safetensors' -o -name '*.gguf' -o -name '*.bin' \) \
        -exec cp {} "$s/files/" \;
    # Small valid files of every format, converted from the fixtures.
    for f in tests/fixtures/safetensors/{all_dtypes,special}.safetensors \
             tests/fixtures/gguf/{small,aligned64}.gguf tests/fixtures/sharded/*.safetensors; do
        b=$(basename "${f%.*}")
        for ext in tenzor safetensors gguf; do
            target/debug/tenzor convert --quiet "$f" -o "$tmp/$b.$ext" >/dev/null 2>&1 \
                && cp "$tmp/$b.$ext" "$s/files/gen_$b.$ext" || true
        done
    done
    # Shard indexes, naming the shards fuzz/bodies/shard_index.rs lays out,
    # and the escapes it must refuse.
    cp tests/corpus/index_*.json tests/fixtures/sharded/*.index.json "$s/index/"
    local i=0
    for map in '"x": "a.tenzor", "y": "b.tenzor", "z": "sub/c.tenzor"' \
               '"x": "a.tenzor"' '"x": "./a.tenzor", "y": "b.tenzor"' \
               '"trap": "../trap.tenzor"' '"trap": "../../trap.tenzor"' \
               '"trap": "sub/../../trap.tenzor"' '"x": "/a.tenzor"' \
               '"z": "sub//c.tenzor"' '"x": "a.tenzor/"' '"x": "a.tenzor", "y": "a.tenzor"'; do
        printf '{"metadata": {"total_size": 6}, "weight_map": {%s}}' "$map" > "$s/index/gen_$i.json"
        i=$((i + 1))
    done
    # The lite reader's committed corpus (tests/lite.rs) for every reader.
    cp tests/lite_corpus/* "$s/files/"
    # Operation sequences for `mutable` (any bytes are a sequence).
    mkdir -p "$s/ops"
    for i in $(seq 0 31); do
        head -c $((16 + 4 * i)) /dev/urandom > "$s/ops/random_$i"
    done
    rm -rf "$tmp"
    echo "seeds: $(ls "$s/files" | wc -l) files, $(ls "$s/index" | wc -l) indexes," \
        "$(ls "$s/ops" | wc -l) operation sequences"
}

seeds_of() {
    case "$1" in
        shard_index) echo fuzz/seeds/index ;;
        mutable) echo fuzz/seeds/ops ;;
        *) echo fuzz/seeds/files ;;
    esac
}

run() {
    local t=$1 secs=$2
    shift 2
    [ -d fuzz/seeds ] || seeds
    mkdir -p "fuzz/corpus-full/$t" "fuzz/corpus/$t"
    cargo_fuzz run -O "$t" "fuzz/corpus-full/$t" "fuzz/corpus/$t" "$(seeds_of "$t")" -- \
        "${FUZZ_ARGS[@]}" -max_total_time="$secs" "$@"
}

cmin() {
    local t=$1 out
    out=$(mktemp -d)
    mkdir -p "fuzz/corpus-full/$t" "fuzz/corpus/$t"
    # libFuzzer's merge keeps the smallest set of inputs covering all that
    # the campaign's and the committed inputs cover.
    cargo_fuzz run -O "$t" "$out" "fuzz/corpus-full/$t" "fuzz/corpus/$t" -- \
        "${FUZZ_ARGS[@]}" -merge=1
    rm -rf "fuzz/corpus/$t"
    mv "$out" "fuzz/corpus/$t"
    chmod 755 "fuzz/corpus/$t"
    echo "fuzz.sh cmin: $t: $(ls "fuzz/corpus/$t" | wc -l) files, $(du -sh "fuzz/corpus/$t" | cut -f1)"
}

ci() {
    local secs=$1 t work status
    cargo_fuzz build -O
    for t in "${TARGETS[@]}"; do
        work=$(mktemp -d)
        cp -r "fuzz/corpus/$t" "$work/corpus"
        mkdir "$work/artifacts"
        status=0
        cargo_fuzz run -O "$t" "$work/corpus" -- "${FUZZ_ARGS[@]}" -max_total_time="$secs" \
            -artifact_prefix="$work/artifacts/" >"$work/log" 2>&1 || status=$?
        echo "fuzz.sh ci: $t ${secs}s: $(grep -E '^stat::number_of_executed_units' "$work/log" || true)"
        if [ "$status" != 0 ]; then
            grep -vE '^#[0-9]+' "$work/log" | tail -40 >&2
            mkdir -p "fuzz/artifacts/$t"
            cp "$work"/artifacts/* "fuzz/artifacts/$t/" 2>/dev/null || true
            echo "fuzz.sh ci: $t failed (exit $status); inputs in fuzz/artifacts/$t" >&2
            rm -rf "$work"
            exit 1
        fi
        rm -rf "$work"
    done
}

case "${1:-}" in
    seeds) seeds ;;
    run) run "${@:2}" ;;
    cmin) cmin "$2" ;;
    ci) ci "${2:-20}" ;;
    *) sed -n '2,17p' "$0"; exit 2 ;;
esac
