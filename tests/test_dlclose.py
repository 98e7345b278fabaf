"""ffi.dlclose(lib) and the function objects taken from the library before.

Calls through them raise the error that `lib.f` raises after the close (never a jump into
unmapped code); the library is unloaded once the last of them is gone, so that a call in
flight on another thread finishes normally. tests/clib/stress.c is the library."""

import gc
import shutil
import threading
import time

import pytest

import cffix
from support import cffix_only, crashes_cffi

pytestmark = crashes_cffi     # cffi calls into the unmapped library

CDEF = """
    int add_one(int x);
    int slow_identity(int x, int micros);
"""


@pytest.fixture
def stress_path(build_clib, tmp_path):
    """A copy of its own per test: a test that leaves its library loaded (as one does on
    purpose) does not keep the next test's mapped."""
    path = tmp_path / "libstress.so"
    shutil.copy(build_clib("stress", flags=["-pthread"]), path)
    return str(path)


def mapped(path):
    """Whether the file at `path` is mapped into this process."""
    with open("/proc/self/maps") as f:
        return any(line.rstrip().endswith(path) for line in f)


def closed_message(ffi, lib):
    with pytest.raises(ValueError) as e:
        lib.add_one
    return str(e.value)


def test_a_function_taken_before_the_close_raises(ffi, stress_path):
    lib = ffi.dlopen(stress_path)
    f = lib.add_one
    assert f(1) == 2 and f(2) == 3          # the second call takes the specialized entry
    ffi.dlclose(lib)
    for _ in range(3):
        with pytest.raises(ValueError) as e:
            f(1)
        assert str(e.value) == closed_message(ffi, lib)
        assert "has already been closed" in str(e.value)


def test_every_entry_of_a_closed_function_raises(ffi, stress_path):
    lib = ffi.dlopen(stress_path)
    f = lib.add_one
    f(1)
    f(2)
    ffi.dlclose(lib)
    with pytest.raises(ValueError):
        f(1, 2)                             # the wrong count: still the closed error first
    with pytest.raises(ValueError):
        f("x")
    with pytest.raises(ValueError):
        f.map([1, 2, 3])


def test_a_function_never_called_before_the_close_raises(ffi, stress_path):
    lib = ffi.dlopen(stress_path)
    f = lib.slow_identity
    ffi.dlclose(lib)
    with pytest.raises(ValueError, match="has already been closed"):
        f(1, 0)


@cffix_only
def test_the_library_stays_mapped_while_a_function_object_lives(ffi, stress_path):
    lib = ffi.dlopen(stress_path)
    f = lib.add_one
    assert mapped(stress_path)
    ffi.dlclose(lib)
    assert mapped(stress_path)              # f holds it
    del f
    gc.collect()
    assert not mapped(stress_path)


@cffix_only
def test_dlclose_unloads_at_once_without_function_objects(ffi, stress_path):
    lib = ffi.dlopen(stress_path)
    assert lib.add_one(1) == 2              # cached in lib, dropped by the close
    ffi.dlclose(lib)
    assert not mapped(stress_path)


def test_a_library_collected_without_dlclose_keeps_its_functions(ffi, stress_path):
    lib = ffi.dlopen(stress_path)
    f = lib.add_one
    del lib
    gc.collect()
    assert f(41) == 42


def test_a_call_in_flight_finishes_when_another_thread_closes(ffi, stress_path):
    lib = ffi.dlopen(stress_path)
    f = lib.slow_identity
    results = []
    started = threading.Event()

    def run():
        started.set()
        results.append(f(7, 300_000))       # 0.3 s inside the library, GIL released

    t = threading.Thread(target=run)
    t.start()
    started.wait()
    time.sleep(0.05)
    ffi.dlclose(lib)                        # returns at once; the unload waits for f
    t.join()
    assert results == [7]
    with pytest.raises(ValueError, match="has already been closed"):
        f(1, 0)


@cffix_only
def test_wrapped_functions_of_a_closed_library_raise(ffi, stress_path):
    ffi.wrap("slow_identity", default={"micros": "0"})
    lib = ffi.dlopen(stress_path)
    f = lib.slow_identity
    assert "wrapped" in repr(f)
    assert f(1) == 1 and f(2) == 2          # the second call takes the specialized entry
    ffi.dlclose(lib)
    with pytest.raises(ValueError, match="has already been closed"):
        f(1)
    with pytest.raises(ValueError, match="has already been closed"):
        f.map([1, 2])


@cffix_only
def test_owned_results_are_destroyed_after_the_close(ffi, stress_path):
    ffi.cdef("int *new_counter(int start); void free_counter(int *p); int freed_count(void);")
    ffi.wrap("new_counter", owned={"return": "free_counter"})
    lib = ffi.dlopen(stress_path)
    before = lib.freed_count()
    counter = lib.new_counter(5)
    assert counter[0] == 5
    ffi.dlclose(lib)
    with pytest.raises(ValueError):
        lib.freed_count
    again = ffi.dlopen(stress_path)          # the same loaded copy, to read the count
    del counter                              # its destroy function still runs
    gc.collect()
    assert again.freed_count() == before + 1
    ffi.dlclose(again)
    assert not mapped(stress_path)


def test_dlopen_again_after_close(ffi, stress_path):
    for _ in range(3):
        lib = ffi.dlopen(stress_path)
        f = lib.add_one
        assert f(1) == 2
        ffi.dlclose(lib)
        with pytest.raises(ValueError):
            f(1)


def test_an_out_of_line_module_raises_its_own_error(tmp_path, stress_path):
    import importlib.util
    import sys
    ffi = cffix.FFI()
    ffi.cdef(CDEF)
    ffi.set_source("_dlclose_ool", None)
    ffi.compile(tmpdir=tmp_path)
    spec = importlib.util.spec_from_file_location("_dlclose_ool", tmp_path / "_dlclose_ool.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lib = module.ffi.dlopen(stress_path)
    f = lib.add_one
    assert f(1) == 2
    module.ffi.dlclose(lib)
    with pytest.raises(module.ffi.error) as e:
        f(1)
    assert isinstance(e.value, ValueError) and str(e.value).endswith("' has been closed")
    sys.modules.pop("_dlclose_ool", None)
