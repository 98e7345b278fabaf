"""ffi.new_handle / ffi.from_handle: a Python object behind a 'void *', found again from
the pointer while the handle lives; dead and bogus handles raise.
"""

import gc
import weakref

import pytest

from support import cffix_only, crashes_cffi


def test_handle_round_trip(ffi):
    obj = object()
    h = ffi.new_handle(obj)
    assert ffi.typeof(h) is ffi.typeof("void *")
    assert ffi.from_handle(h) is obj
    address = int(ffi.cast("intptr_t", h))
    assert ffi.from_handle(ffi.cast("void *", address)) is obj
    assert ffi.from_handle(ffi.cast("char *", h)) is obj


@pytest.mark.parametrize("index", [1, 10, -1])
def test_handle_is_indexed_by_0_only_like_cffi(ffi, cffi_oracle, index):
    # A handle is one 'void *': another index is an IndexError (as cffi), index 0 a
    # TypeError (a 'void' item has no value).
    oracle = cffi_oracle.FFI()
    for f in (ffi, oracle):
        h = f.new_handle(42)
        with pytest.raises(IndexError, match=r"cdata 'void \*' can only be indexed by 0"):
            h[index]
        with pytest.raises(IndexError, match="can only be indexed by 0"):
            h[index] = 1
        with pytest.raises(TypeError):
            h[0]
        assert f.from_handle(h) == 42


def test_handle_repr_and_uniqueness(ffi):
    h1, h2 = ffi.new_handle(42), ffi.new_handle(42)
    assert repr(h1) == "<cdata 'void *' handle to 42>"
    assert repr(ffi.new_handle([1])) == "<cdata 'void *' handle to [1]>"
    assert h1 != h2 and ffi.from_handle(h2) == 42


@cffix_only
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


@crashes_cffi
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
