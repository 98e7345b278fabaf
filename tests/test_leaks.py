"""Ownership of CData memory: no leaks, freed exactly once, kept alive by its views,
access after release raises, huge sizes give MemoryError, tracemalloc sees allocations.

Leak tests repeat an operation 100,000 times (after a warm-up) and check that the
process RSS (/proc/self/statm), the reference counts of the objects involved and, where
the module offers it, `live_cdata()` -> (count, nbytes) of live owned cdata stay flat.

Set CFFIX_TEST_MODULE=cffi to run the same tests with cffi (a check of the harness;
the tests of cffix-only improvements are then expected to fail).
"""

import gc
import itertools
import os
import sys
import tracemalloc

import pytest

from support import MODULE_UNDER_TEST, cffix_only, run_child

CDEF = """
    struct point { int x, y; };
    struct s { int a; double b; struct point p; int arr[4]; };
"""

REPEAT = 100_000
WARMUP = 10_000
RSS_SLACK = 2 * 1024 * 1024      # a leak of 21 bytes per iteration shows up
REFCOUNT_SLACK = 10              # caches may take a few references
LIVE_SLACK = 2                   # live_cdata() count: unrelated objects may come and go

def rss_bytes():
    with open("/proc/self/statm") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def live_cdata(module):
    """(count, nbytes) of live owned cdata; None under CFFIX_TEST_MODULE=cffi (cffi does
    not count them)."""
    return None if MODULE_UNDER_TEST == "cffi" else tuple(module.live_cdata())


def _repeat(step, n):
    for _ in itertools.repeat(None, n):
        step()


# --------------------------------------------------------------------------------------
# The operations: make(ffi) -> (step, objects whose reference count must stay flat).

def _new_int100(ffi):
    t = ffi.typeof("int[100]")
    return (lambda: ffi.new(t)), [t]


def _new_int100_by_name(ffi):
    return (lambda: ffi.new("int[100]")), [ffi.typeof("int[100]")]


def _new_struct_pointer(ffi):
    return (lambda: ffi.new("struct point *", [1, 2])), [ffi.typeof("struct point *")]


def _new_var_array_from_list(ffi):
    items = list(range(20))
    return (lambda: ffi.new("int[]", items)), [ffi.typeof("int[]"), items]


def _views_dropped(ffi):
    def step():
        p = ffi.new("struct s *")
        v = p[0]
        inner = p.p
        arr = p.arr
        del p
        v.a = 1
        inner.x = 2
        arr[3] = 3
        return v.b + inner.y + arr[0]
    return step, [ffi.typeof("struct s *"), ffi.typeof("struct point")]


def _views_kept(ffi):
    ring = [None] * 1000
    counter = itertools.count()

    def step():
        i = next(counter) % 1000
        ring[i] = ffi.new("struct point *", [i, i])[0]
    return step, [ffi.typeof("struct point *")]


def _slices(ffi):
    a = ffi.new("int[100]")

    def step():
        sl = a[10:60]
        sl[0:2] = [1, 2]
        return len(sl)
    return step, [a]


def _field_get_set(ffi):
    p = ffi.new("struct s *")

    def step():
        p.p.x = p.a + 1
        p.b = 0.5
        return p.arr[1]
    return step, [p]


def _cast_int(ffi):
    return (lambda: ffi.cast("int", 5)), [ffi.typeof("int")]


def _cast_pointer(ffi):
    a = ffi.new("int[4]")
    return (lambda: ffi.cast("char *", a)), [a, ffi.typeof("char *")]


def _cast_void_null(ffi):
    return (lambda: ffi.cast("void *", 0)), [ffi.typeof("void *")]


def _gc_with_destructor(ffi):
    calls = []
    destructor = calls.append

    def step():
        ffi.gc(ffi.new("int *"), destructor)
        if len(calls) > 1000:
            calls.clear()
    return step, [destructor]


def _gc_detached(ffi):
    def destructor(p):
        raise AssertionError("a detached destructor was called")

    def step():
        p = ffi.gc(ffi.new("int[10]"), destructor)
        ffi.gc(p, None)
    return step, [destructor]


def _from_buffer_release(ffi):
    data = bytearray(1000)

    def step():
        c = ffi.from_buffer(data)
        c[0] = b"x"
        ffi.release(c)
    return step, [data]


def _from_buffer_dropped(ffi):
    data = bytearray(1000)
    return (lambda: ffi.from_buffer("int[]", data)[3]), [data]


def _handles(ffi):
    obj = object()

    def step():
        h = ffi.new_handle(obj)
        assert ffi.from_handle(h) is obj
    return step, [obj]


def _string(ffi):
    buf = ffi.new("char[1024]", b"x" * 1023)
    return (lambda: ffi.string(buf)), [buf]


def _unpack(ffi):
    buf = ffi.new("int[100]")
    return (lambda: ffi.unpack(buf, 100)), [buf]


def _buffer(ffi):
    p = ffi.new("struct s *")
    return (lambda: bytes(ffi.buffer(p))), [p]


def _release_new(ffi):
    def step():
        p = ffi.new("int[100]")
        ffi.release(p)
    return step, [ffi.typeof("int[100]")]


def _with_new(ffi):
    def step():
        with ffi.new("char[]", 100) as p:
            p[0] = b"x"
    return step, [ffi.typeof("char[]")]


def _allocator(ffi):
    alloc = ffi.new_allocator(should_clear_after_alloc=False)
    return (lambda: alloc("int[100]")), [alloc]


def _errors(ffi):
    bad_items = [1, "x"]
    calls = itertools.cycle([("int *", "x"), ("struct s *", bad_items), ("int[2]", [1, 2, 3]),
                             ("char[]", -1), ("struct point *", {"z": 1})])

    def step():
        args = next(calls)
        try:
            ffi.new(*args)
        except (TypeError, IndexError, ValueError, KeyError):
            return
        raise AssertionError(f"ffi.new{args!r} did not fail")
    return step, [bad_items, ffi.typeof("struct s *")]


LEAK_CASES = {
    "new int[100] (ctype)": _new_int100,
    "new int[100] (string)": _new_int100_by_name,
    "new struct pointer": _new_struct_pointer,
    "new int[] from list": _new_var_array_from_list,
    "p[0] and field views dropped": _views_dropped,
    "p[0] views kept (ring of 1000)": _views_kept,
    "slice get/set": _slices,
    "field get/set": _field_get_set,
    "cast int": _cast_int,
    "cast pointer": _cast_pointer,
    "cast void* 0": _cast_void_null,
    "gc with destructor": _gc_with_destructor,
    "gc then gc(p, None)": _gc_detached,
    "from_buffer + release": _from_buffer_release,
    "from_buffer dropped": _from_buffer_dropped,
    "new_handle/from_handle": _handles,
    "string of char[1024]": _string,
    "unpack int[100]": _unpack,
    "bytes(buffer(p))": _buffer,
    "new + release": _release_new,
    "with new": _with_new,
    "new_allocator()": _allocator,
    "failing new (error paths)": _errors,
}


@pytest.mark.parametrize("name", list(LEAK_CASES))
def test_no_leak(name, module, ffi):
    step, watched = LEAK_CASES[name](ffi)
    _repeat(step, WARMUP)
    gc.collect()
    refs_before = [sys.getrefcount(obj) for obj in watched]
    live_before = live_cdata(module)
    rss_before = rss_bytes()

    _repeat(step, REPEAT)
    gc.collect()

    rss_growth = rss_bytes() - rss_before
    assert rss_growth < RSS_SLACK, (
        f"RSS grew by {rss_growth} bytes over {REPEAT} runs "
        f"({rss_growth / REPEAT:.1f} bytes per run)")
    refs_after = [sys.getrefcount(obj) for obj in watched]
    for obj, before, after in zip(watched, refs_before, refs_after):
        assert after - before <= REFCOUNT_SLACK, f"references to {obj!r}: {before} -> {after}"
    if live_before is not None:
        count, nbytes = live_cdata(module)
        assert count - live_before[0] <= LIVE_SLACK, (live_before, (count, nbytes))
        assert nbytes - live_before[1] <= LIVE_SLACK * 4096, (live_before, (count, nbytes))


def test_from_buffer_release_unlocks_the_source(ffi):
    data = bytearray(10)
    _repeat(lambda: ffi.release(ffi.from_buffer(data)), 1000)
    data.extend(b"more")        # no export left: resizing works
    assert len(data) == 14


# --------------------------------------------------------------------------------------
# live_cdata()

@cffix_only
def test_live_cdata_counts_owned_allocations(module, ffi):
    gc.collect()
    count0, bytes0 = live_cdata(module)
    arrays = [ffi.new("int[100]") for _ in range(10)]
    count1, bytes1 = live_cdata(module)
    assert count1 - count0 == 10
    assert bytes1 - bytes0 >= 10 * 400
    structs = [ffi.new("struct s *") for _ in range(5)]
    views = [p[0] for p in structs]
    del structs
    gc.collect()
    count2, bytes2 = live_cdata(module)
    assert count2 - count1 == 5                  # the views keep the structs alive
    assert bytes2 - bytes1 >= 5 * ffi.sizeof("struct s")
    del arrays, views
    gc.collect()
    assert live_cdata(module) == (count0, bytes0)


@cffix_only
def test_live_cdata_sees_release(module, ffi):
    gc.collect()
    count0, bytes0 = live_cdata(module)
    p = ffi.new("char[]", 100_000)
    count1, bytes1 = live_cdata(module)
    assert (count1 - count0, bytes1 - bytes0 >= 100_000) == (1, True)
    ffi.release(p)
    assert live_cdata(module) == (count0, bytes0)     # freed at release, not at del
    del p
    assert live_cdata(module) == (count0, bytes0)


# --------------------------------------------------------------------------------------
# Destructors and frees happen exactly once.

def test_gc_destructor_called_once_on_del(ffi):
    calls = []
    p = ffi.gc(ffi.new("int *", 7), lambda q: calls.append(q[0]))
    assert calls == []
    del p
    gc.collect()
    assert calls == [7]


def test_gc_destructor_called_once_on_release(ffi):
    calls = []
    p = ffi.gc(ffi.cast("void *", 64), calls.append)
    ffi.release(p)
    assert len(calls) == 1
    ffi.release(p)
    del p
    gc.collect()
    assert len(calls) == 1


def test_gc_destructor_called_once_with_block(ffi):
    calls = []
    with ffi.gc(ffi.cast("void *", 64), calls.append) as p:
        assert calls == []
    assert len(calls) == 1
    del p
    gc.collect()
    assert len(calls) == 1


def test_gc_none_detaches(ffi):
    calls = []
    p = ffi.gc(ffi.cast("void *", 64), calls.append)
    q = ffi.gc(p, None)
    del p, q
    gc.collect()
    assert calls == []


def test_gc_none_on_non_gc_object_raises(ffi):
    with pytest.raises(TypeError):
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


@pytest.fixture
def counting_allocator(ffi):
    """new_allocator whose free() records each block it is given."""
    allocated, freed = [], []

    def alloc(size):
        block = ffi.new("char[]", size)
        allocated.append(block)
        return block

    def free(block):
        freed.append(int(ffi.cast("uintptr_t", block)))

    return ffi.new_allocator(alloc, free), allocated, freed


def test_allocator_frees_once_on_del(ffi, counting_allocator):
    alloc, allocated, freed = counting_allocator
    p = alloc("int[4]", [1, 2, 3, 4])
    assert len(allocated) == 1 and freed == []
    del p
    gc.collect()
    assert freed == [int(ffi.cast("uintptr_t", allocated[0]))]


def test_allocator_frees_once_on_release(ffi, counting_allocator):
    alloc, allocated, freed = counting_allocator
    p = alloc("int[4]")
    ffi.release(p)
    assert len(freed) == 1
    ffi.release(p)
    del p
    gc.collect()
    assert len(freed) == 1


def test_allocator_struct_kept_alive_by_view(ffi, counting_allocator):
    alloc, allocated, freed = counting_allocator
    p = alloc("struct point *", [3, 4])
    s = p[0]
    del p
    gc.collect()
    assert freed == []
    assert (s.x, s.y) == (3, 4)
    del s
    gc.collect()
    assert len(freed) == 1


def test_allocator_with_block_frees_once(ffi, counting_allocator):
    alloc, allocated, freed = counting_allocator
    with alloc("int[4]") as p:
        p[0] = 1
    assert len(freed) == 1
    del p
    gc.collect()
    assert len(freed) == 1


def test_allocator_many_each_freed_once(ffi, counting_allocator):
    alloc, allocated, freed = counting_allocator
    objs = [alloc("int *", i) for i in range(500)]
    del objs
    gc.collect()
    assert sorted(freed) == sorted(int(ffi.cast("uintptr_t", b)) for b in allocated)
    assert len(set(freed)) == 500


# --------------------------------------------------------------------------------------
# Who keeps owned memory alive.

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


# --------------------------------------------------------------------------------------
# Huge sizes: never a crash; MemoryError when the size in bytes fits in a ssize_t but
# cannot be allocated, OverflowError when it does not fit; the same type as cffi.

HUGE = [  # (cdecl, length, the exception)
    ('"char[]"', "2**62", "MemoryError"),
    ('"char[]"', "2**63 - 1", "MemoryError"),
    ('"char[]"', "sys.maxsize // 2 + 1", "MemoryError"),
    ('"int[]"', "2**62", "OverflowError"),
    ('"int[]"', "2**61", "OverflowError"),
    ('"struct point[]"', "2**60", "OverflowError"),
    ('"struct s[]"', "2**59", "OverflowError"),
    ('"int[][1000000]"', "2**40", "MemoryError"),
    ('"char[4611686018427387904]"', None, "MemoryError"),
    ('"struct point[1152921504606846976]"', None, "OverflowError"),
    ('"char[]"', "2**64", "OverflowError"),
    ('"char[]"', "-2**62", "ValueError"),
]


def _huge_outcomes(module_name):
    lines = []
    for cdecl, length, _ in HUGE:
        call = f"ffi.new({cdecl}, {length})" if length else f"ffi.new({cdecl})"
        lines.append(f"print(attempt(lambda: {call}))")
    lines.append('print(attempt(lambda: ffi.new_allocator()("char[]", 2**62)))')
    rc, got, err = run_child("\n".join(lines), CDEF, module_name)
    assert rc == 0, f"{module_name} crashed:\n{got}\n{err}"
    return got


@pytest.fixture(scope="module")
def huge_outcomes(module):
    return _huge_outcomes(MODULE_UNDER_TEST)


def test_huge_sizes_raise_memory_or_overflow_error(huge_outcomes):
    cases = HUGE + [("allocator", "2**62", "MemoryError")]
    assert [(c, n, got) for (c, n, _), got in zip(cases, huge_outcomes)] == cases


def test_huge_sizes_same_exception_as_cffi(huge_outcomes, cffi_oracle):
    theirs = _huge_outcomes("cffi")
    cases = [f"new({c}, {n})" for c, n, _ in HUGE] + ["allocator(char[], 2**62)"]
    diffs = [(case, ours, cffi) for case, ours, cffi in zip(cases, huge_outcomes, theirs)
             if ours != cffi]
    assert not diffs


def test_memory_error_leaves_a_working_ffi(ffi):
    with pytest.raises(MemoryError):
        ffi.new("char[]", 2**62)
    assert ffi.new("int *", 3)[0] == 3


# --------------------------------------------------------------------------------------
# tracemalloc and object sizes (cffix-specific: cffi allocates with malloc, untraced).

def _traced_growth(make, n):
    keep = [None] * n
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(n):
            keep[i] = make()
        after = tracemalloc.get_traced_memory()[0]
        del keep
        gc.collect()
        released = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return after - before, released - before


@cffix_only
def test_tracemalloc_sees_a_one_megabyte_allocation(ffi):
    grown, left = _traced_growth(lambda: ffi.new("char[]", 10**6), 1)
    assert 10**6 <= grown < 10**6 + 4096
    assert left < 4096


@cffix_only
def test_tracemalloc_sees_small_allocations(ffi):
    grown, left = _traced_growth(lambda: ffi.new("int[100]"), 1000)
    assert grown >= 1000 * 400
    assert left < 1000 * 16


@cffix_only
def test_new_int_pointer_costs_at_most_64_bytes(ffi):
    grown, _ = _traced_growth(lambda: ffi.new("int *"), 10_000)
    assert grown / 10_000 <= 64


@cffix_only
def test_new_struct_pointer_is_one_object(ffi):
    # cffi: a pointer object plus a struct object, 144 bytes for a small struct.
    grown, _ = _traced_growth(lambda: ffi.new("struct point *"), 10_000)
    assert grown / 10_000 < 144 - 16
