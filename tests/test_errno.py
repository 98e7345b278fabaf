"""ffi.errno: C's errno of the calling thread, read and set from Python."""

import threading

import pytest


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
