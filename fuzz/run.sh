#!/usr/bin/env bash
# Builds the libFuzzer harnesses and runs each for a bounded time (README, "Reliability").
#
#   fuzz/run.sh SECONDS [HARNESS...]     (default: every harness, SECONDS each)
#
# Each harness starts from its seed corpus (fuzz/corpus/, read-only) and a working corpus
# kept between runs in build/fuzz/corpus/<harness>; crashes, sanitizer reports and
# timeouts are saved under build/fuzz/artifacts/ and make the script exit non-zero after
# all harnesses ran. Prints the executions and CPU time per harness.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
FUZZ=$PWD
BUILD=${FUZZ_BUILD:-$FUZZ/../build/fuzz}
seconds=${1:?usage: fuzz/run.sh SECONDS [HARNESS...]}
shift
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(fuzz_lexer fuzz_cdef fuzz_type_name fuzz_const_expr)

make -s -C "$FUZZ" BUILD="$BUILD" -j"$(nproc)" "${harnesses[@]/#/$BUILD/}"

seeds_of() {
    case $1 in
        fuzz_lexer | fuzz_cdef) echo "$FUZZ/corpus/cdef" ;;
        fuzz_type_name) echo "$FUZZ/corpus/type_name" ;;
        fuzz_const_expr) echo "$FUZZ/corpus/const_expr" ;;
    esac
}

# Leaks: libFuzzer checks after each input that leaves memory allocated. The harnesses that
# make CTypes keep interned types and Python's caches between inputs, so that the check
# runs after nearly every input and costs 30 times the input itself: it is on for the
# lexer, off for the others unless FUZZ_LEAKS=1 (a longer run's option).
leaks_of() {
    case $1 in
        fuzz_lexer) echo 1 ;;
        *) echo "${FUZZ_LEAKS:-0}" ;;
    esac
}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for h in "${harnesses[@]}"; do
    corpus=$BUILD/corpus/$h artifacts=$BUILD/artifacts/$h
    rm -rf "$artifacts"
    mkdir -p "$corpus" "$artifacts"
    log=$BUILD/$h.log
    echo "=== $h: ${seconds}s"
    start=$(date +%s)
    rc=0
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=$(leaks_of "$h"):allocator_may_return_null=1} \
    /usr/bin/time -f "%U %S" -o "$BUILD/$h.time" \
        "$BUILD/$h" -max_total_time="$seconds" -dict="$FUZZ/c.dict" -max_len=65536 \
        -timeout=25 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" \
        "$corpus" "$(seeds_of "$h")" >"$log" 2>&1 || rc=$?
    cpu=$(awk '{printf "%.0f", $1 + $2}' "$BUILD/$h.time" 2>/dev/null || echo "?")
    runs=$(grep -ho 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s += $2} END {print s + 0}')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    echo "$h: $runs executions, ${cpu}s CPU, $(($(date +%s) - start))s wall, coverage ${cov:-?} edges, corpus $(ls "$corpus" | wc -l) files"
    if [ "$rc" -ne 0 ] || ls "$artifacts" | grep -q .; then
        echo "FAILED: $h (exit $rc); artifacts in $artifacts:" >&2
        ls "$artifacts" >&2 || true
        grep -E -A30 'ERROR: |runtime error|fuzz harness:|deadly signal' "$log" | head -60 >&2 || true
        failed+=("$h")
    fi
done
if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzzing found problems in: ${failed[*]}" >&2
    exit 1
fi
