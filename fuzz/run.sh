#!/usr/bin/env bash
# Builds the libFuzzer harnesses and runs each, then the atheris harnesses of the Python
# surface, for a bounded time each (README, "Reliability").
#
#   fuzz/run.sh SECONDS [HARNESS...]     (default: every harness, SECONDS each)
#
# C++ harnesses (fuzz/*.cpp, built by fuzz/Makefile with clang, libFuzzer, ASan, UBSan):
# fuzz_lexer fuzz_cdef fuzz_type_name fuzz_const_expr. Python harnesses
# (fuzz/python/fuzz_surface.py, run with $FUZZ_PYTHON, default python3, in which cffix
# and atheris are installed): py_cdef py_typeof py_new_cast py_buffers py_sequences.
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
[ ${#harnesses[@]} -gt 0 ] || harnesses=(fuzz_lexer fuzz_cdef fuzz_type_name fuzz_const_expr
                                          py_cdef py_typeof py_new_cast py_buffers py_sequences)
PYTHON=${FUZZ_PYTHON:-python3}

native=()
for h in "${harnesses[@]}"; do
    case $h in
        fuzz_*) native+=("$BUILD/$h") ;;
        py_*) ;;
        *) echo "unknown harness: $h" >&2; exit 2 ;;
    esac
done
[ ${#native[@]} -eq 0 ] || make -s -C "$FUZZ" BUILD="$BUILD" -j"$(nproc)" "${native[@]}"

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
    # New inputs go to the first corpus folder: the working one, never the seeds.
    case $h in
        fuzz_*)
            command=(env "$BUILD/$h" -dict="$FUZZ/c.dict" -max_len=65536)
            seeds=("$(seeds_of "$h")") ;;
        # -len_control=0: an input is a list of choices; long ones from the start.
        # FUZZ_PRELOAD: what the interpreter must load first (the ASan runtime for a
        # sanitized build of the core, README "Reliability").
        py_*)
            command=(env ${FUZZ_PRELOAD:+LD_PRELOAD="$FUZZ_PRELOAD"} "$PYTHON"
                     "$FUZZ/python/fuzz_surface.py" "${h#py_}" -len_control=0)
            seeds=() ;;
    esac
    start=$(date +%s)
    rc=0
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=$(leaks_of "$h"):allocator_may_return_null=1} \
    /usr/bin/time -f "%U %S" -o "$BUILD/$h.time" \
        "${command[@]}" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=4096 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" ${seeds[@]+"${seeds[@]}"} >"$log" 2>&1 || rc=$?
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
# The corpora the C++ harnesses kept, through the installed cffix (GCC's build, where the
# same source can behave unlike clang's: fuzz/python/replay_corpus.py).
if [ ${#native[@]} -ne 0 ] && "$PYTHON" -c 'import cffix' 2>/dev/null; then
    echo "=== replay of the corpora through $("$PYTHON" -c 'import cffix; print(cffix.__file__)')"
    if ! env ${FUZZ_PRELOAD:+LD_PRELOAD="$FUZZ_PRELOAD"} "$PYTHON" "$FUZZ/python/replay_corpus.py" \
        "$BUILD/corpus" --seeds "$FUZZ/corpus" >"$BUILD/replay.log" 2>&1; then
        tail -20 "$BUILD/replay.log" >&2
        failed+=(replay)
    else
        tail -1 "$BUILD/replay.log"
    fi
fi
if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzzing found problems in: ${failed[*]}" >&2
    exit 1
fi
