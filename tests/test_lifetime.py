"""Who keeps owned memory alive, and what happens at release: a struct lives while a view
of it does (p[0], and in cffix any field, slice or item); release frees at once, twice is
harmless, and any later access through the object or a view raises (cffi: use after
free, so those run in a child process).

Set CFFIX_TEST_MODULE=cffi to run the same tests with cffi (the cffix_only ones are then
expected to fail).
"""

import gc

import pytest

from support import cffix_only, run_child


CDEF = """
    struct point { int x, y; };
    struct s { int a; double b; struct point p; int arr[4]; };
"""


def _scribble(ffi, n=2000):
    """Allocate and fill same-sized blocks, so that freed memory gets overwritten."""
    junk = [ffi.new("struct s *", {"a": -1, "b": -1.0, "p": [-1, -1], "arr": [-1] * 4})
            for _ in range(n)]
    junk += [ffi.new("struct point *", [-1, -1]) for _ in range(n)]
    return junk


def test_struct_kept_alive_by_p0_alone(ffi):
    p = ffi.new("struct point *", [1, 2])
    s = p[0]
    del p
    gc.collect()
    junk = _scribble(ffi)
    assert (s.x, s.y) == (1, 2)
    s.x = 5
    assert s.x == 5
    del junk


# cffi keeps the memory alive through p[0] of a struct pointer only; in cffix every view
# (fields, slices, array items) keeps its owner alive.

@cffix_only
def test_struct_kept_alive_by_field_view(ffi):
    p = ffi.new("struct s *", {"p": [7, 8], "arr": [1, 2, 3, 4]})
    inner, arr = p.p, p.arr
    del p
    gc.collect()
    junk = _scribble(ffi)
    assert (inner.x, inner.y) == (7, 8)
    assert list(arr) == [1, 2, 3, 4]
    del junk


@cffix_only
def test_array_kept_alive_by_slice(ffi):
    a = ffi.new("int[]", list(range(100)))
    sl = a[10:20]
    del a
    gc.collect()
    junk = [ffi.new("int[]", [-1] * 100) for _ in range(1000)]
    assert list(sl) == list(range(10, 20))
    del junk


@cffix_only
def test_array_of_structs_kept_alive_by_item(ffi):
    a = ffi.new("struct point[3]", [[1, 2], [3, 4], [5, 6]])
    item = a[2]
    del a
    gc.collect()
    junk = [ffi.new("struct point[3]", [[-1, -1]] * 3) for _ in range(1000)]
    assert (item.x, item.y) == (5, 6)
    del junk


def test_views_of_released_struct_do_not_free_again():
    # The memory was freed at release; dropping the pointer and its view must not free
    # it again (a child process, as a double free may crash).
    rc, lines, err = run_child("""
        for _ in range(1000):
            p = ffi.new("struct point *")
            s = p[0]
            ffi.release(p)
            del p, s
        import gc
        gc.collect()
        print("ok")
    """, CDEF)
    assert (rc, lines) == (0, ["ok"]), err


def test_double_release_is_not_an_error(ffi):
    # cffi: releasing an already released object is a no-op, for new and from_buffer.
    p = ffi.new("int *")
    assert ffi.release(p) is None
    assert ffi.release(p) is None
    data = bytearray(4)
    c = ffi.from_buffer(data)
    assert ffi.release(c) is None
    assert ffi.release(c) is None
    assert repr(c) == "<cdata 'char[]' buffer RELEASED>"
    data.append(1)  # the source's export was given back once, not twice
    assert len(data) == 5


def test_double_release_matches_cffi(ffi, cffi_oracle):
    theirs = cffi_oracle.FFI()
    for f in (ffi, theirs):
        outcome = []
        for make in (lambda: f.new("int *"), lambda: f.from_buffer(bytearray(4))):
            p = make()
            f.release(p)
            try:
                f.release(p)
            except Exception as e:  # noqa: BLE001
                outcome.append(type(e).__name__)
            else:
                outcome.append(None)
        if f is ffi:
            ours = outcome
        else:
            assert ours == outcome


# --------------------------------------------------------------------------------------
# Access after release raises (cffi: use after free; run in a child process).


# (how the object is made, what is done after ffi.release(p)); `view` is p[0] and
# `field` is p.p, both made before the release.
AFTER_RELEASE = [
    ("ffi.new('int *', 5)", "p[0]"),
    ("ffi.new('int *', 5)", "p.__setitem__(0, 1)"),
    ("ffi.new('int[100]')", "p[99]"),
    ("ffi.new('int[100]')", "list(p)"),
    ("ffi.new('int[100]')", "p[10:20]"),
    ("ffi.new('int[100]')", "ffi.unpack(p, 100)"),
    ("ffi.new('char[]', b'abc')", "ffi.string(p)"),
    ("ffi.new('struct point *', [1, 2])", "p.x"),
    ("ffi.new('struct point *', [1, 2])", "setattr(p, 'y', 3)"),
    ("ffi.new('struct point *', [1, 2])", "p[0]"),
    ("ffi.new('struct point *', [1, 2])", "view.x"),
    ("ffi.new('struct point *', [1, 2])", "setattr(view, 'x', 1)"),
    ("ffi.new('struct s *')", "field.x"),
    ("ffi.new('struct s *')", "ffi.buffer(p)[:]"),
    ("ffi.new('struct s *')", "ffi.memmove(p, b'abcd', 4)"),
    ("ffi.new('struct s *')", "ffi.addressof(view, 'p')[0]"),
    ("ffi.new_allocator()('int[10]')", "p[0]"),
    ("ffi.from_buffer(bytearray(b'abcd'))", "p[0]"),
    ("ffi.from_buffer(bytearray(b'abcd'))", "ffi.string(p)"),
    ("ffi.from_buffer('int[]', bytearray(8))", "p.__setitem__(1, 5)"),
]


@pytest.fixture(scope="module")
def after_release_outcomes(module):
    """Run every AFTER_RELEASE case in one child process, one output line per case;
    the cases after a crash get 'crashed'."""
    lines = []
    for make, use in AFTER_RELEASE:
        lines.append(f"p = {make}")
        lines.append("view = p[0] if 'struct' in repr(p) else None")
        lines.append("field = p.p if 'struct s' in repr(p) else None")
        lines.append("ffi.release(p)")
        lines.append(f"print(attempt(lambda: {use}), flush=True)")
    rc, got, err = run_child("\n".join(lines), CDEF)
    crash = f"crashed(exit {rc}): {err[-300:]}"
    return got + [crash] * (len(AFTER_RELEASE) - len(got))


@cffix_only
@pytest.mark.parametrize("index", range(len(AFTER_RELEASE)),
                         ids=[f"{make} -> {use}" for make, use in AFTER_RELEASE])
def test_access_after_release_raises(index, after_release_outcomes):
    assert after_release_outcomes[index] == "ValueError"
