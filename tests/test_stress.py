"""Threads, callbacks from threads C created, and dlclose under load (marker `stress`).

Each test runs for a bounded time (STRESS_SECONDS, 3 s by default; `-m "not stress"`
leaves them out) and asserts on results, never on timings: 8 threads calling libc
(qsort with a Python comparator, variadic snprintf, strlen), allocating and releasing,
each with its own ffi.errno; C threads (pthread_create in tests/clib/stress.c) calling
Python callbacks; ffi.dlclose() while other threads hold and call the library's
functions: the calls finish or raise the library's closed error, never crash."""

import os
import random
import threading
import time

import pytest

from support import crashes_cffi

pytestmark = pytest.mark.stress

STRESS_SECONDS = float(os.environ.get("STRESS_SECONDS", "3"))

CDEF = """
    void qsort(void *base, size_t nmemb, size_t size,
               int (*compar)(const void *, const void *));
    int snprintf(char *str, size_t size, const char *format, ...);
    size_t strlen(const char *s);
"""

STRESS_CDEF = """
    int add_one(int x);
    int slow_identity(int x, int micros);
    long call_from_new_threads(int (*f)(int), int nthreads, int count);
"""


@pytest.fixture
def stress_path(build_clib):
    return build_clib("stress", flags=["-pthread"])


def run_threads(n, body, seconds=STRESS_SECONDS):
    """Runs body(index, deadline) on n threads; returns the list of what each returned.
    An exception in a thread fails the test with that thread's traceback."""
    deadline = time.monotonic() + seconds
    results = [None] * n
    errors = []

    def main(i):
        try:
            results[i] = body(i, deadline)
        except BaseException as e:  # noqa: BLE001 - reported to the test below
            errors.append((i, e))

    threads = [threading.Thread(target=main, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0][1]
    return results


def test_eight_threads_in_libc(ffi):
    libc = ffi.dlopen(None)

    def body(index, deadline):
        rng = random.Random(index)
        compare = ffi.callback("int(const void *, const void *)",
                               lambda a, b: ffi.cast("int *", a)[0] - ffi.cast("int *", b)[0])
        buf = ffi.new("char[64]")
        rounds = 0
        while time.monotonic() < deadline:
            values = [rng.randrange(-1000, 1000) for _ in range(rng.randrange(1, 40))]
            array = ffi.new("int[]", values)
            libc.qsort(array, len(values), ffi.sizeof("int"), compare)
            assert list(array) == sorted(values)

            n = libc.snprintf(buf, 64, b"%d-%s-%.2f", ffi.cast("int", rounds), b"t%d" % index,
                              ffi.cast("double", index / 4))
            expected = b"%d-t%d-%.2f" % (rounds, index, index / 4)
            assert (n, ffi.string(buf)) == (len(expected), expected)

            text = b"x" * rng.randrange(0, 300)
            assert libc.strlen(text) == len(text)

            ffi.errno = index * 100_000 + rounds % 1000      # each thread sees its own
            libc.strlen(b"abc")
            assert ffi.errno == index * 100_000 + rounds % 1000

            p = ffi.new("char[]", rng.randrange(1, 100_000))
            p[0] = b"a"
            ffi.release(p)
            with ffi.new("double[8]") as q:
                q[7] = 1.5
            once = ffi.callback("int(int)", lambda x: x + index)   # made and dropped
            assert once(1) == 1 + index
            rounds += 1
        return rounds

    rounds = run_threads(8, body)
    assert all(r > 0 for r in rounds), rounds


def test_callbacks_from_threads_python_did_not_create(ffi, stress_path):
    ffi.cdef(STRESS_CDEF)
    lib = ffi.dlopen(stress_path)
    seen = set()

    def on_c_thread(x):
        seen.add(threading.get_ident())
        return x + 1

    cb = ffi.callback("int(int)", on_c_thread)
    nthreads, count = 4, 300
    expected = sum(t * count + i + 1 for t in range(nthreads) for i in range(count))

    def body(index, deadline):
        rounds = 0
        while time.monotonic() < deadline:
            assert lib.call_from_new_threads(cb, nthreads, count) == expected
            rounds += 1
        return rounds

    python_threads = run_threads(2, body)
    assert all(r > 0 for r in python_threads)
    assert len(seen) > nthreads          # callbacks ran on many threads C made


@crashes_cffi
def test_dlclose_while_other_threads_call_the_library(ffi, stress_path):
    ffi.cdef(STRESS_CDEF)
    deadline = time.monotonic() + STRESS_SECONDS
    rounds = closed_calls = finished_calls = 0
    while time.monotonic() < deadline:
        lib = ffi.dlopen(stress_path)
        slow, fast = lib.slow_identity, lib.add_one
        started = threading.Barrier(5)
        outcome = {"ok": 0, "closed": 0}
        lock = threading.Lock()

        def body(index, _deadline):
            started.wait()
            i = 0
            while True:
                try:
                    if index % 2:
                        assert slow(i, 200) == i
                    else:
                        assert fast(i) == i + 1
                        assert getattr(lib, "add_one")(i) == i + 1
                except ValueError as e:
                    assert "has already been closed" in str(e)
                    with lock:
                        outcome["closed"] += 1
                    return i
                with lock:
                    outcome["ok"] += 1
                i += 1

        closer = threading.Thread(target=lambda: (started.wait(), time.sleep(0.02),
                                                  ffi.dlclose(lib)))
        closer.start()
        run_threads(4, body, seconds=0)
        closer.join()
        assert outcome["closed"] == 4        # every thread saw the close, cleanly
        rounds += 1
        closed_calls += outcome["closed"]
        finished_calls += outcome["ok"]
        del slow, fast, lib
    assert rounds > 0 and finished_calls > 0
