"""ffi.gc: a destructor called exactly once (on collection, release or `with` exit),
detached by ffi.gc(p, None); what it keeps alive; its errors.

Set CFFIX_TEST_MODULE=cffi to run the same tests with cffi (the cffix_only ones are then
expected to fail).
"""

import gc
import weakref

import pytest

from support import cffix_only


def test_gc_same_type_address_and_value(ffi):
    p = ffi.new("int *", 7)
    q = ffi.gc(p, lambda x: None)
    assert q is not p
    assert ffi.typeof(q) is ffi.typeof(p)
    assert q == p and q[0] == 7
    assert repr(q) == repr(ffi.cast("int *", p))


def test_gc_destructor_called_once_on_collection(ffi):
    calls = []
    p = ffi.new("int *", 7)
    q = ffi.gc(p, lambda x: calls.append((x, x[0])))
    assert calls == []
    del q
    gc.collect()
    assert len(calls) == 1
    assert calls[0][0] is p and calls[0][1] == 7  # the original, still readable


@cffix_only
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
    # The same over memory that is not owned (the destructor is all that frees it).
    raw = ffi.gc(ffi.cast("void *", 64), calls.append)
    ffi.release(raw)
    ffi.release(raw)
    del raw
    gc.collect()
    assert len(calls) == 2 and int(ffi.cast("uintptr_t", calls[1])) == 64


def test_gc_destructor_called_at_with_exit(ffi):
    calls = []
    with ffi.gc(ffi.new("int *"), calls.append) as q:
        q[0] = 1
        assert calls == []
    assert len(calls) == 1
    del q
    gc.collect()
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
    raw = ffi.gc(ffi.cast("void *", 64), calls.append)  # detached, then collected
    ffi.gc(raw, None)
    del raw
    gc.collect()
    assert calls == []


def test_gc_detach_needs_a_gc_cdata(ffi):
    with pytest.raises(TypeError, match="previously returned by ffi.gc"):
        ffi.gc(ffi.new("int *"), None)


def test_gc_of_gc_calls_each_destructor_once(ffi):
    calls = []
    inner = ffi.gc(ffi.cast("void *", 64), lambda p: calls.append("inner"))
    outer = ffi.gc(inner, lambda p: calls.append("outer"))
    del outer
    gc.collect()
    assert calls == ["outer"]
    del inner
    gc.collect()
    assert calls == ["outer", "inner"]


def test_gc_destructor_sees_a_pointer_with_the_address(ffi):
    seen = []
    p = ffi.gc(ffi.cast("int *", 4096), lambda q: seen.append(int(ffi.cast("uintptr_t", q))))
    del p
    gc.collect()
    assert seen == [4096]


def test_gc_many_destructors_each_once(ffi):
    calls = []
    objs = [ffi.gc(ffi.new("int *", i), lambda q: calls.append(q[0])) for i in range(1000)]
    del objs
    gc.collect()
    assert sorted(calls) == list(range(1000))


def test_gc_destructor_exception_goes_to_unraisablehook(ffi, unraisable):
    q = ffi.gc(ffi.new("int *"), lambda x: 1 / 0)
    del q  # no exception here
    gc.collect()
    assert [u.exc_type for u in unraisable] == [ZeroDivisionError]


def test_gc_destructor_exception_on_release_is_not_raised(ffi, unraisable):
    q = ffi.gc(ffi.new("int *"), lambda x: 1 / 0)
    assert ffi.release(q) is None
    with ffi.gc(ffi.new("int *"), lambda x: [][0]):
        pass
    assert [u.exc_type for u in unraisable] == [ZeroDivisionError, IndexError]


@cffix_only
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


@cffix_only
def test_gc_accepts_size_hint(module, ffi):
    count0, bytes0 = module.live_cdata()
    q = ffi.gc(ffi.cast("void *", 0x1000), lambda x: None, size=1000)
    assert module.live_cdata() == (count0 + 1, bytes0 + 1000)
    ffi.gc(q, None)
    assert module.live_cdata() == (count0, bytes0)
    assert ffi.gc(ffi.NULL, lambda x: None, 0) is not None


@cffix_only
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


@cffix_only
def test_gc_of_released_cdata_raises(ffi):
    p = ffi.new("int *")
    ffi.release(p)
    with pytest.raises(ValueError, match="released"):
        ffi.gc(p, lambda x: None)
