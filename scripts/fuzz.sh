#!/usr/bin/env bash
# Bounded libFuzzer runs of the parsers (Sources/FuzzTargets): each target
# for SECONDS seconds under AddressSanitizer, from its seeds
# (Tests/Fixtures/fuzz-seeds/TARGET, plus test fixtures), the inputs that
# once crashed it (Tests/Fixtures/fuzz-regressions/TARGET) and the corpus of
# earlier runs (.build-fuzz/runs/TARGET/corpus). Fails on any crash, trap,
# leak, timeout (10 s per input) or allocation above 2 GB, leaving the input
# in .build-fuzz/runs/TARGET/ and naming it; copy it into
# Tests/Fixtures/fuzz-regressions/TARGET/ once the bug is fixed, so that
# `swift test` (FuzzRegressionTests) keeps replaying it.
#
# usage: scripts/fuzz.sh [SECONDS (default 30)] [TARGET...]   (default: all)
# targets: safetensors configuration image idx csv results
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors configuration image idx csv results)

# libFuzzer instrumentation for the Swift modules and the C targets
# (CImageIO's libpng/libjpeg glue), AddressSanitizer for both; -DFUZZING gives
# FuzzMain the libFuzzer driver. A scratch path of its own: nothing is shared
# with the normal build.
swift build -c release --scratch-path .build-fuzz --product abslrp-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xcc -fsanitize=fuzzer-no-link,address
binary=.build-fuzz/release/abslrp-fuzz

# The targets write the bytes they parse into files (FuzzTargets' Scratch):
# in a folder of this run (in /dev/shm, so that fuzzing does not wear the
# disk), removed on every exit of this script, a crashed target's included.
shm=/dev/shm; [ -d "$shm" ] && [ -w "$shm" ] || shm=${TMPDIR:-/tmp}
scratch=$(mktemp -d "$shm/abslrp-fuzz-run.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
export ABSLRP_FUZZ_SCRATCH=$scratch

# Test fixtures that are seeds too (small enough to mutate).
fixture_seeds() {
    case "$1" in
        configuration) ls Tests/Fixtures/reference/*.config.json Tests/Fixtures/export/*/config.json Weights/*.json ;;
        image) ls Tests/Fixtures/images/*.png Tests/Fixtures/images/*.jpg Tests/Fixtures/images/extra/* 2>/dev/null ;;
        *) ;;
    esac
}
max_len() { case "$1" in image) echo 65536 ;; results) echo 16384 ;; *) echo 4096 ;; esac }

status=0
printf '%-14s %10s %8s %8s %8s %6s\n' target execs cov ft corpus secs
for target in "${targets[@]}"; do
    run=.build-fuzz/runs/$target
    mkdir -p "$run/corpus" "$run/fixtures"
    for f in $(fixture_seeds "$target"); do cp "$f" "$run/fixtures/"; done
    inputs=("$run/corpus" "$run/fixtures" "Tests/Fixtures/fuzz-seeds/$target")
    [ -d "Tests/Fixtures/fuzz-regressions/$target" ] && inputs+=("Tests/Fixtures/fuzz-regressions/$target")
    log=$run/last.log
    start=$(date +%s)
    if ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:handle_abort=1 \
        LSAN_OPTIONS=suppressions=scripts/fuzz-lsan.supp SWIFT_BACKTRACE=enable=no \
        "$binary" "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -max_len="$(max_len "$target")" -print_final_stats=1 -artifact_prefix="$run/" "${inputs[@]}" >"$log" 2>&1; then
        :
    else
        status=1
        echo "== $target FAILED; last lines of $log:"
        grep -v '^#' "$log" | tail -n 30
        ls -1 "$run"/crash-* "$run"/leak-* "$run"/timeout-* "$run"/oom-* 2>/dev/null | sed 's/^/   input: /' || true
    fi
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | tail -n 1 | grep -Eo '[0-9]+$' || echo "?")
    cov=$(grep -Eo 'cov: [0-9]+' <<<"$last" | grep -Eo '[0-9]+' || echo "?")
    ft=$(grep -Eo 'ft: [0-9]+' <<<"$last" | grep -Eo '[0-9]+' || echo "?")
    corpus=$(grep -Eo 'corp: [0-9]+' <<<"$last" | grep -Eo '[0-9]+' || echo "?")
    printf '%-14s %10s %8s %8s %8s %6s\n' "$target" "$execs" "$cov" "$ft" "$corpus" "$(( $(date +%s) - start ))"
done
exit $status
