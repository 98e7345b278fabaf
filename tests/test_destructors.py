"""Ownership beyond ffi.new: ffi.gc, ffi.new_allocator, handles, ffi.errno, init_once and
cffix.live_cdata(). One test per behaviour; bad inputs as carefully as good ones."""

import gc
import sys
import threading
import time
import weakref

import pytest

import cffix
from cffix import FFI


@pytest.fixture
def unraisable(monkeypatch):
    """The exceptions reported through sys.unraisablehook during the test."""
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(u.exc_value))
    return seen


# ---------------------------------------------------------------- ffi.gc


def test_gc_same_type_address_and_value(ffi):
    p = ffi.new("int *", 7)
    q = ffi.gc(p, lambda x: None)
    assert q is not p
    assert ffi.typeof(q) is ffi.typeof(p)
    assert q == p and q[0] == 7
    assert repr(q) == repr(ffi.cast("int *", p))


def test_gc_destructor_called_once_on_collection(ffi):
    calls = []
    p = ffi.new("int *")
    q = ffi.gc(p, calls.append)
    assert calls == []
    del q
    gc.collect()
    assert len(calls) == 1 and calls[0] is p


def test_gc_destructor_called_once_on_release(ffi):
    calls = []
    p = ffi.new("int[3]")
    q = ffi.gc(p, calls.append)
    ffi.release(q)
    assert len(calls) == 1 and calls[0] is p
    ffi.release(q)  # harmless
    with pytest.raises(ValueError, match="released"):
        q[0]
    del q
    gc.collect()
    assert len(calls) == 1


def test_gc_destructor_called_at_with_exit(ffi):
    calls = []
    with ffi.gc(ffi.new("int *"), calls.append) as q:
        q[0] = 1
        assert calls == []
    assert len(calls) == 1


def test_gc_detach_returns_none_and_cancels_destructor(ffi):
    calls = []
    p = ffi.new("int *")
    q = ffi.gc(p, calls.append)
    assert ffi.gc(q, None) is None
    ffi.release(q)
    del q
    gc.collect()
    assert calls == []
    assert p[0] == 0  # the original is untouched


def test_gc_detach_needs_a_gc_cdata(ffi):
    with pytest.raises(TypeError, match="previously returned by ffi.gc"):
        ffi.gc(ffi.new("int *"), None)


def test_gc_destructor_exception_goes_to_unraisablehook(ffi, unraisable):
    q = ffi.gc(ffi.new("int *"), lambda x: 1 / 0)
    del q  # no exception here
    gc.collect()
    assert len(unraisable) == 1 and isinstance(unraisable[0], ZeroDivisionError)


def test_gc_destructor_exception_on_release_is_not_raised(ffi, unraisable):
    q = ffi.gc(ffi.new("int *"), lambda x: 1 / 0)
    assert ffi.release(q) is None
    with ffi.gc(ffi.new("int *"), lambda x: [][0]):
        pass
    assert [type(e) for e in unraisable] == [ZeroDivisionError, IndexError]


def test_gc_keeps_array_length(ffi):
    fixed = ffi.gc(ffi.new("int[5]"), lambda x: None)
    assert len(fixed) == 5 and ffi.sizeof(fixed) == 20
    open_array = ffi.gc(ffi.new("int[]", [1, 2, 3]), lambda x: None)
    assert len(open_array) == 3 and list(open_array) == [1, 2, 3]
    with pytest.raises(IndexError):
        open_array[3]


def test_gc_keeps_original_alive(ffi):
    p = ffi.new("int[100]")
    ref = weakref.ref(p)
    q = ffi.gc(p, lambda x: None)
    del p
    gc.collect()
    assert ref() is not None
    q[99] = 5
    assert q[99] == 5
    del q
    gc.collect()
    assert ref() is None


def test_gc_of_values_and_null(ffi):
    assert repr(ffi.gc(ffi.cast("int", 5), lambda x: None)) == "<cdata 'int' 5>"
    assert repr(ffi.gc(ffi.NULL, lambda x: None)) == "<cdata 'void *' NULL>"


def test_gc_cycle_through_destructor_is_collected_once(ffi):
    calls = []

    class Holder:
        def close(self, cdata):
            calls.append(cdata)

    h = Holder()
    h.q = ffi.gc(ffi.new("int *"), h.close)  # h -> q -> bound method -> h
    ref = weakref.ref(h)
    del h
    gc.collect()
    assert ref() is None and len(calls) == 1


def test_gc_accepts_size_hint(ffi):
    count0, bytes0 = cffix.live_cdata()
    q = ffi.gc(ffi.cast("void *", 0x1000), lambda x: None, size=1000)
    assert cffix.live_cdata() == (count0 + 1, bytes0 + 1000)
    ffi.gc(q, None)
    assert cffix.live_cdata() == (count0, bytes0)
    assert ffi.gc(ffi.NULL, lambda x: None, 0) is not None


def test_gc_bad_inputs(ffi):
    p = ffi.new("int *")
    with pytest.raises(TypeError, match="expects a cdata, got int"):
        ffi.gc(5, lambda x: None)
    with pytest.raises(TypeError, match="destructor must be callable"):
        ffi.gc(p, 5)
    with pytest.raises(TypeError, match="destructor"):
        ffi.gc(p)
    with pytest.raises(TypeError):
        ffi.gc(p, lambda x: None, "big")
    with pytest.raises(TypeError):
        ffi.gc(p, lambda x: None, 0, 1)
    with pytest.raises(TypeError, match="unexpected keyword"):
        ffi.gc(p, lambda x: None, sizes=1)


def test_gc_of_released_cdata_raises(ffi):
    p = ffi.new("int *")
    ffi.release(p)
    with pytest.raises(ValueError, match="released"):
        ffi.gc(p, lambda x: None)


# ---------------------------------------------------------------- new_allocator


class Arena:
    """alloc/free backed by ffi.new storage, recording every call."""

    def __init__(self, ffi, fill=b"\0"):
        self.ffi, self.fill = ffi, fill
        self.sizes, self.blocks, self.freed = [], [], []

    def alloc(self, n):
        self.sizes.append(n)
        block = self.ffi.new("char[]", self.fill * n)  # n + 1 bytes
        self.blocks.append(block)
        return block

    def free(self, p):
        self.freed.append(p)


def test_allocator_uses_alloc_and_free(ffi):
    arena = Arena(ffi)
    new = ffi.new_allocator(arena.alloc, arena.free)
    p = new("int[4]", [1, 2, 3])
    assert arena.sizes == [16]
    assert list(p) == [1, 2, 3, 0] and len(p) == 4
    assert int(ffi.cast("intptr_t", p)) == int(ffi.cast("intptr_t", arena.blocks[0]))
    del p
    gc.collect()
    assert len(arena.freed) == 1 and arena.freed[0] is arena.blocks[0]


def test_allocator_free_on_release_once(ffi):
    arena = Arena(ffi)
    p = ffi.new_allocator(arena.alloc, arena.free)("int *", 9)
    assert p[0] == 9
    ffi.release(p)
    ffi.release(p)
    assert len(arena.freed) == 1
    with pytest.raises(ValueError, match="released"):
        p[0]


def test_allocator_keeps_alloc_result_alive_without_free(ffi):
    new = ffi.new_allocator(lambda n: ffi.new("char[]", n))  # nothing else holds the block
    p = new("int[]", [5, 6, 7])
    gc.collect()
    assert list(p) == [5, 6, 7] and len(p) == 3


def test_allocator_clears_unless_told_not_to(ffi):
    arena = Arena(ffi, fill=b"\x07")
    assert list(ffi.new_allocator(arena.alloc)("char[3]")) == [b"\0"] * 3
    raw = ffi.new_allocator(arena.alloc, should_clear_after_alloc=False)
    assert list(raw("char[3]")) == [b"\x07"] * 3


def test_allocator_null_is_memory_error(ffi):
    new = ffi.new_allocator(lambda n: ffi.NULL)
    with pytest.raises(MemoryError, match="alloc\\(\\) returned NULL"):
        new("int *")


def test_allocator_checks_what_alloc_returns(ffi):
    with pytest.raises(TypeError, match="must return a cdata object"):
        ffi.new_allocator(lambda n: 5)("int *")
    with pytest.raises(TypeError, match="must return a cdata pointer, not 'int'"):
        ffi.new_allocator(lambda n: ffi.cast("int", 5))("int *")
    with pytest.raises(ValueError, match="returned only 8 bytes"):
        ffi.new_allocator(lambda n: ffi.new("int[2]"))("int[3]")
    with pytest.raises(KeyError):
        ffi.new_allocator(lambda n: {}[n])("int *")


def test_allocator_init_error_frees_memory(ffi):
    arena = Arena(ffi)
    new = ffi.new_allocator(arena.alloc, arena.free)
    with pytest.raises(TypeError):
        new("int *", "x")
    gc.collect()
    assert len(arena.freed) == 1


def test_allocator_free_exception_goes_to_unraisablehook(ffi, unraisable):
    p = ffi.new_allocator(lambda n: ffi.new("char[]", n), lambda p: 1 / 0)("int *")
    del p
    gc.collect()
    assert len(unraisable) == 1 and isinstance(unraisable[0], ZeroDivisionError)


def test_allocator_without_alloc_is_ffi_new(ffi):
    new = ffi.new_allocator()
    assert repr(new("int[3]", [1])) == "<cdata 'int[3]' owning 12 bytes>"
    assert list(ffi.new_allocator(should_clear_after_alloc=False)("int[2]")) == [0, 0]
    assert new(cdecl=ffi.typeof("int *"), init=4)[0] == 4


def test_allocator_type_errors_as_ffi_new(ffi):
    new = ffi.new_allocator(lambda n: ffi.new("char[]", n))
    with pytest.raises(TypeError, match="expected a pointer or array ctype, got 'int'"):
        new("int")
    with pytest.raises(TypeError, match="cannot instantiate ctype 'void'"):
        new("void *")
    with pytest.raises(ValueError, match="negative array length"):
        new("int[]", -1)
    with pytest.raises(TypeError, match="needs a length or an initializer"):
        new("int[]")
    with pytest.raises(TypeError, match="expected a str or ctype object"):
        new(5)


def test_new_allocator_bad_inputs(ffi):
    with pytest.raises(TypeError, match="cannot pass 'free' without 'alloc'"):
        ffi.new_allocator(None, lambda p: None)
    with pytest.raises(TypeError, match="'alloc' must be callable"):
        ffi.new_allocator(5)
    with pytest.raises(TypeError, match="'free' must be callable"):
        ffi.new_allocator(lambda n: None, "free")
    with pytest.raises(TypeError, match="unexpected keyword"):
        ffi.new_allocator(clear=False)
    new = ffi.new_allocator()
    with pytest.raises(TypeError, match="missing required argument 'cdecl'"):
        new()
    with pytest.raises(TypeError, match="takes at most 2 arguments"):
        new("int *", 1, 2)


# ---------------------------------------------------------------- handles


def test_handle_round_trip(ffi):
    obj = object()
    h = ffi.new_handle(obj)
    assert ffi.typeof(h) is ffi.typeof("void *")
    assert ffi.from_handle(h) is obj
    address = int(ffi.cast("intptr_t", h))
    assert ffi.from_handle(ffi.cast("void *", address)) is obj
    assert ffi.from_handle(ffi.cast("char *", h)) is obj


def test_handle_repr_and_uniqueness(ffi):
    h1, h2 = ffi.new_handle(42), ffi.new_handle(42)
    assert repr(h1) == "<cdata 'void *' handle to 42>"
    assert repr(ffi.new_handle([1])) == "<cdata 'void *' handle to [1]>"
    assert h1 != h2 and ffi.from_handle(h2) == 42


def test_from_handle_of_non_handles_raises(ffi):
    h = ffi.new_handle("x")
    with pytest.raises(TypeError, match="expected a 'cdata' object with a 'void \\*'"):
        ffi.from_handle(ffi.cast("int *", h))
    with pytest.raises(TypeError, match="expects a cdata"):
        ffi.from_handle(5)
    with pytest.raises(RuntimeError, match="NULL"):
        ffi.from_handle(ffi.NULL)
    with pytest.raises(RuntimeError, match="dead or bogus handle"):
        ffi.from_handle(ffi.cast("void *", 0x1234))
    block = ffi.new("char[]", 8)
    with pytest.raises(RuntimeError, match="dead or bogus handle"):
        ffi.from_handle(ffi.cast("char *", block))


def test_from_handle_of_dead_handle_raises(ffi):
    h = ffi.new_handle(object())
    address = int(ffi.cast("intptr_t", h))
    del h
    gc.collect()
    with pytest.raises(RuntimeError, match="dead or bogus handle"):
        ffi.from_handle(ffi.cast("void *", address))


def test_handle_cycle_is_collected(ffi):
    class Box:
        pass

    box = Box()
    box.handle = ffi.new_handle(box)
    ref = weakref.ref(box)
    del box
    gc.collect()
    assert ref() is None


def test_new_handle_needs_one_argument(ffi):
    with pytest.raises(TypeError):
        ffi.new_handle()
    with pytest.raises(TypeError):
        ffi.new_handle(1, 2)


# ---------------------------------------------------------------- errno


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
    assert FFI().errno == 5  # per thread, not per FFI


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


# ---------------------------------------------------------------- init_once


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
    assert FFI().init_once(make(4), "a") == 4  # per FFI
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


# ---------------------------------------------------------------- live_cdata


def test_live_cdata_counts_up_and_down(ffi):
    gc.collect()
    count0, bytes0 = cffix.live_cdata()
    p = ffi.new("int[10]")
    assert cffix.live_cdata() == (count0 + 1, bytes0 + 40)
    q = ffi.gc(p, lambda x: None, size=8)
    assert cffix.live_cdata() == (count0 + 2, bytes0 + 48)
    arena = Arena(ffi)
    r = ffi.new_allocator(arena.alloc, arena.free)("char[32]")
    assert cffix.live_cdata()[0] == count0 + 4  # the arena's block and the result
    ffi.release(q)
    del p, q, r
    arena.blocks.clear()
    arena.freed.clear()
    gc.collect()
    assert cffix.live_cdata() == (count0, bytes0)


def test_live_cdata_is_exported():
    assert "live_cdata" in cffix.__all__
    count, nbytes = cffix.live_cdata()
    assert count >= 0 and nbytes >= 0
