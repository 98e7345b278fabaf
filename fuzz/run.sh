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
# Then every input the harnesses kept is replayed through the installed cffix (GCC's
# build) with $FUZZ_REPLAY_PYTHON (default: $FUZZ_PYTHON) and LD_PRELOAD=$FUZZ_PRELOAD:
# CI replays through its ASan build of the core this way. (atheris itself runs without
# the ASan runtime preloaded: with GCC's preloaded, its coverage feedback is lost.)
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
        py_*)
            command=("$PYTHON" "$FUZZ/python/fuzz_surface.py" "${h#py_}" -len_control=0)
            case $h in
                py_cdef) seeds=("$FUZZ/corpus/cdef") command+=(-dict="$FUZZ/c.dict") ;;
                py_typeof) seeds=("$FUZZ/corpus/type_name") command+=(-dict="$FUZZ/c.dict") ;;
                *) seeds=() ;;
            esac ;;
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
# Replays: the corpora the harnesses kept, through the installed cffix (GCC's build, where
# the same source can behave unlike clang's: fuzz/python/replay_corpus.py), and the
# Python harnesses' inputs once more, with the ASan runtime if FUZZ_PRELOAD names it.
REPLAY_PYTHON=${FUZZ_REPLAY_PYTHON:-$PYTHON}
replay=(env ${FUZZ_PRELOAD:+LD_PRELOAD="$FUZZ_PRELOAD"}
        ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1} "$REPLAY_PYTHON")
if "${replay[@]}" -c 'import cffix' 2>/dev/null; then
    where=$("${replay[@]}" -c 'import cffix; print(cffix.__file__)')
    if [ ${#native[@]} -ne 0 ]; then
        echo "=== replay of the libFuzzer corpora through $where"
        if "${replay[@]}" "$FUZZ/python/replay_corpus.py" "$BUILD/corpus" --seeds "$FUZZ/corpus" \
            >"$BUILD/replay.log" 2>&1; then
            tail -1 "$BUILD/replay.log"
        else
            tail -20 "$BUILD/replay.log" >&2
            failed+=(replay)
        fi
    fi
    for h in "${harnesses[@]}"; do
        case $h in py_*) ;; *) continue ;; esac
        files=("$BUILD/corpus/$h"/*)
        [ -e "${files[0]}" ] || continue
        echo "=== replay of $h's ${#files[@]} inputs through $where"
        if ! "${replay[@]}" "$FUZZ/python/fuzz_surface.py" "${h#py_}" --replay "${files[@]}" \
            >"$BUILD/replay-$h.log" 2>&1; then
            tail -30 "$BUILD/replay-$h.log" >&2
            failed+=("replay-$h")
        fi
    done
fi
if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzzing found problems in: ${failed[*]}" >&2
    exit 1
fi
