"""ffi.init_once(func, tag): func runs once per tag and FFI, even from many threads;
an exception lets a later call try again.
"""

import threading
import time

import pytest

from support import crashes_cffi


def test_init_once_runs_once_per_tag(ffi):
    calls = []

    def make(value):
        def f():
            calls.append(value)
            return value
        return f

    assert ffi.init_once(make(1), "a") == 1
    assert ffi.init_once(make(2), "a") == 1
    assert ffi.init_once(make(3), "b") == 3
    assert type(ffi)().init_once(make(4), "a") == 4  # per FFI
    assert calls == [1, 3, 4]


def test_init_once_with_threads(ffi):
    calls, results = [], []
    started = threading.Event()

    def slow():
        calls.append(1)
        started.set()
        time.sleep(0.02)  # lets the others arrive and wait (not a timing assertion)
        return "ready"

    threads = [threading.Thread(target=lambda: results.append(ffi.init_once(slow, "t")))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1] and results == ["ready"] * 8


def test_init_once_retries_after_exception(ffi):
    with pytest.raises(ZeroDivisionError):
        ffi.init_once(lambda: 1 / 0, "c")
    assert ffi.init_once(lambda: 3, "c") == 3
    assert ffi.init_once(lambda: 4, "c") == 3


@crashes_cffi
def test_init_once_bad_inputs(ffi):
    with pytest.raises(TypeError):
        ffi.init_once(5, "x")
    with pytest.raises(TypeError, match="unhashable"):
        ffi.init_once(lambda: 1, [])
    with pytest.raises(TypeError):
        ffi.init_once(lambda: 1)
    with pytest.raises(RuntimeError, match="recursive"):
        ffi.init_once(lambda: ffi.init_once(lambda: 1, "r"), "r")
    assert ffi.init_once(lambda: 2, "r") == 2  # the failed attempt left nothing behind
