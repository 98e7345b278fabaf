"""ffi.new_allocator: alloc and free called by cffix (free exactly once: on collection,
release or `with` exit), clearing, what alloc may return, and errors as ffi.new's.
"""

import gc

import pytest

from support import Arena, cffix_only, crashes_cffi

CDEF = "struct point { int x, y; };"


def test_allocator_uses_alloc_and_free(ffi):
    arena = Arena(ffi)
    new = ffi.new_allocator(arena.alloc, arena.free)
    p = new("int[4]", [1, 2, 3])
    assert arena.sizes == [16] and arena.freed == []
    assert list(p) == [1, 2, 3, 0] and len(p) == 4
    assert int(ffi.cast("intptr_t", p)) == int(ffi.cast("intptr_t", arena.blocks[0]))
    del p
    gc.collect()
    assert len(arena.freed) == 1 and arena.freed[0] is arena.blocks[0]


@cffix_only
def test_allocator_frees_once_on_release(ffi):
    arena = Arena(ffi)
    p = ffi.new_allocator(arena.alloc, arena.free)("int *", 9)
    assert p[0] == 9
    ffi.release(p)
    ffi.release(p)
    assert len(arena.freed) == 1
    with pytest.raises(ValueError, match="released"):
        p[0]
    del p
    gc.collect()
    assert len(arena.freed) == 1


def test_allocator_keeps_alloc_result_alive_without_free(ffi):
    new = ffi.new_allocator(lambda n: ffi.new("char[]", n))  # nothing else holds the block
    p = new("int[]", [5, 6, 7])
    gc.collect()
    assert list(p) == [5, 6, 7] and len(p) == 3


def test_allocator_struct_kept_alive_by_view(ffi):
    arena = Arena(ffi)
    p = ffi.new_allocator(arena.alloc, arena.free)("struct point *", [3, 4])
    s = p[0]
    del p
    gc.collect()
    assert arena.freed == []
    assert (s.x, s.y) == (3, 4)
    del s
    gc.collect()
    assert len(arena.freed) == 1


def test_allocator_with_block_frees_once(ffi):
    arena = Arena(ffi)
    with ffi.new_allocator(arena.alloc, arena.free)("int[4]") as p:
        p[0] = 1
    assert len(arena.freed) == 1
    del p
    gc.collect()
    assert len(arena.freed) == 1


def test_allocator_many_each_freed_once(ffi):
    arena = Arena(ffi)
    new = ffi.new_allocator(arena.alloc, arena.free)
    objs = [new("int *", i) for i in range(500)]
    del objs
    gc.collect()
    addresses = [int(ffi.cast("uintptr_t", b)) for b in arena.freed]
    assert sorted(addresses) == sorted(int(ffi.cast("uintptr_t", b)) for b in arena.blocks)
    assert len(set(addresses)) == 500


def test_allocator_clears_unless_told_not_to(ffi):
    arena = Arena(ffi, fill=b"\x07")
    assert list(ffi.new_allocator(arena.alloc)("char[3]")) == [b"\0"] * 3
    raw = ffi.new_allocator(arena.alloc, should_clear_after_alloc=False)
    assert list(raw("char[3]")) == [b"\x07"] * 3


def test_allocator_null_is_memory_error(ffi):
    new = ffi.new_allocator(lambda n: ffi.NULL)
    with pytest.raises(MemoryError, match="alloc\\(\\) returned NULL"):
        new("int *")


@crashes_cffi
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
    assert [u.exc_type for u in unraisable] == [ZeroDivisionError]


@cffix_only
def test_allocator_without_alloc_is_ffi_new(ffi):
    new = ffi.new_allocator()
    assert repr(new("int[3]", [1])) == "<cdata 'int[3]' owning 12 bytes>"
    assert list(ffi.new_allocator(should_clear_after_alloc=False)("int[2]")) == [0, 0]
    assert new(cdecl=ffi.typeof("int *"), init=4)[0] == 4


@cffix_only
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


@cffix_only
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
