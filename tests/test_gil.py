"""The GIL during ABI-mode calls (tests/clib/calls.c): released while C runs (another
Python thread makes progress), kept with dlopen(..., release_gil=False); calls from many
threads at once.

Each test runs twice in cffix: through the fast register thunks and through libffi
(`cffix._core._force_libffi(True)`), which must agree.

Set CFFIX_TEST_MODULE=cffi to run the same tests with cffi (a check of the harness; the
tests marked cffix_only are then expected to fail).
"""

import sys
import threading
import time

import pytest

import clib_calls
from support import cffix_only

CDEF = clib_calls.CDEF  # declared by the `ffi` fixture

pytestmark = pytest.mark.usefixtures("call_path")  # every test: the thunks, then libffi


def _ticking(ffi):
    """A thread that increments counter[0] in Python for as long as it can run."""
    counter = ffi.new("long *")
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            counter[0] += 1

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while counter[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert counter[0] > 0, "the ticking thread never ran"
    return counter, stop, thread


def test_gil_is_released_during_calls(ffi, lib):
    counter, stop, thread = _ticking(ffi)
    try:
        assert lib.wait_for_change(counter, 10_000) > 0
        fp = ffi.cast("long(*)(long *, int)", lib.wait_for_change)
        assert fp(counter, 10_000) > 0
        assert lib.sleep_ms(5) == 5
    finally:
        stop.set()
        thread.join()


@cffix_only
@pytest.mark.skipif(not getattr(sys, "_is_gil_enabled", lambda: True)(),
                    reason="no GIL to keep: the interpreter runs with the GIL disabled")
def test_gil_is_kept_with_release_gil_false(ffi, lib_keeping_gil):
    counter, stop, thread = _ticking(ffi)
    try:
        assert lib_keeping_gil.counter_change_during(counter, 50) == 0
    finally:
        stop.set()
        thread.join()


def test_calls_from_many_threads(ffi, lib):
    errors = []

    def worker(k):
        try:
            for i in range(2000):
                assert lib.add(k, i) == k + i
                assert lib.ii_weighted([k, i]) == k + 10 * i
                assert lib.sum_va(1, ffi.cast("int", i)) == i
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
