"""ffi.errno: C's errno of the calling thread, read and set from Python, and what C
functions set and see (tests/clib/calls.c, through the thunks and through libffi).
"""

import threading

import pytest

import clib_calls
from support import cffix_only

CDEF = clib_calls.CDEF  # declared by the `ffi` fixture


def test_errno_get_set(ffi):
    ffi.errno = 5
    assert ffi.errno == 5
    ffi.errno = 0
    assert ffi.errno == 0


def test_errno_is_per_thread(ffi):
    ffi.errno = 5
    seen = []

    def worker():
        seen.append(ffi.errno)
        ffi.errno = 7
        seen.append(ffi.errno)

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen == [0, 7]
    assert ffi.errno == 5
    assert type(ffi)().errno == 5  # per thread, not per FFI


def test_errno_bad_values(ffi):
    with pytest.raises(TypeError):
        ffi.errno = "x"
    with pytest.raises(TypeError):
        ffi.errno = 1.5
    with pytest.raises(OverflowError, match="errno value too large"):
        ffi.errno = 2**40
    with pytest.raises(AttributeError):
        del ffi.errno
    ffi.errno = -1
    assert ffi.errno == -1


# ---------------------------------------------------------------- errno around calls

@pytest.mark.usefixtures("call_path")
def test_errno_after_a_failing_call(ffi, lib):
    assert lib.set_errno(42) == -1
    assert ffi.errno == 42
    assert lib.set_errno(0) == -1
    assert ffi.errno == 0


@pytest.mark.usefixtures("call_path")
def test_errno_set_from_python_is_seen_by_c(ffi, lib):
    ffi.errno = 17
    assert lib.get_errno() == 17
    lib.add(1, 2)  # a call that leaves errno alone keeps the value
    assert ffi.errno == 17
    ffi.errno = 0


@pytest.mark.usefixtures("call_path")
def test_errno_of_calls_is_per_thread(ffi, lib):
    n = 4
    barrier = threading.Barrier(n)
    results = {}

    def worker(k):
        lib.set_errno(100 + k)
        barrier.wait()  # every thread has set its errno before any reads it back
        results[k] = (ffi.errno, lib.get_errno())

    ffi.errno = 3
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {k: (100 + k, 100 + k) for k in range(n)}
    assert ffi.errno == 3
    ffi.errno = 0


@pytest.mark.usefixtures("call_path")
@cffix_only
def test_errno_with_the_gil_kept(ffi, lib_keeping_gil):
    assert lib_keeping_gil.set_errno(33) == -1
    assert ffi.errno == 33
    ffi.errno = 5
    assert lib_keeping_gil.get_errno() == 5
    ffi.errno = 0
