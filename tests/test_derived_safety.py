"""Memory safety of objects derived from owned memory (issue 13, "Found already").

Pointers made from an owner's memory (p + n, ffi.cast, ffi.addressof; items and fields
already were views) hold the owner: its release is seen (ValueError, as through the owner
itself) and its bounds are known (IndexError/ValueError past them; negative indexes that
stay inside the owner's memory are allowed). ffi.from_buffer pointers, ffi.gc cdata and
handles know their memory too. Raw pointers (from C, from integers) stay unchecked, as
in C.

A memoryview of ffi.buffer(p) pins p's memory: ffi.release(p) meanwhile marks p released
at once and frees the memory when the last such view goes.

The safety tests are skipped with CFFIX_TEST_MODULE=cffi: cffi reads and writes freed or
foreign memory there. The legitimate uses run with both.
"""

import gc
import weakref

import pytest

from support import MODULE_UNDER_TEST, crashes_cffi

CDEF = """
    struct point { int x, y; };
    struct rec { int a; int b[3]; };
    struct flex { int n; int data[]; };
    struct empty { };
    void *memset(void *s, int c, size_t n);
    void *memchr(const void *s, int c, size_t n);
    size_t strlen(const char *s);
"""


def live():
    import cffix
    return cffix.live_cdata()


# ------------------------------------------------------------------ buffer exports

@crashes_cffi
def test_release_with_a_memoryview_frees_when_the_view_goes(ffi):
    before = live()
    p = ffi.new("char[]", 100000)
    mv = memoryview(ffi.buffer(p))
    ffi.release(p)
    with pytest.raises(ValueError, match="released"):
        p[0]
    with pytest.raises(ValueError, match="released"):
        ffi.buffer(p)
    mv[0:4] = b"abcd"  # the memory is still there: no write to freed memory
    assert bytes(mv[0:4]) == b"abcd"
    assert live()[1] - before[1] == 100000
    mv.release()
    assert live() == before


@crashes_cffi
def test_release_without_exports_frees_at_once(ffi):
    before = live()
    p = ffi.new("char[]", 100000)
    b = ffi.buffer(p)
    with memoryview(b) as mv:
        mv[0] = 1
    ffi.release(p)
    assert live() == before
    with pytest.raises(ValueError, match="released"):
        b[0]


@crashes_cffi
def test_the_last_of_several_views_frees(ffi):
    before = live()
    p = ffi.new("int[]", 10000)
    views = [memoryview(ffi.buffer(p)) for _ in range(3)] + [memoryview(ffi.buffer(p + 5))]
    ffi.release(p)
    for v in views[:-1]:
        v.release()
    assert live()[1] - before[1] == 40000
    views[-1][0:4] = b"\1\2\3\4"
    views[-1].release()
    assert live() == before


@crashes_cffi
def test_with_exit_with_a_live_view_does_not_raise(ffi):
    before = live()
    with ffi.new("char[]", 5000) as p:
        mv = memoryview(ffi.buffer(p))
    mv[0] = 7
    assert mv[0] == 7
    del mv
    assert live() == before


@crashes_cffi
def test_from_buffer_release_keeps_the_source_exported_while_viewed(ffi):
    source = bytearray(16)
    fb = ffi.from_buffer(source)
    mv = memoryview(ffi.buffer(fb))
    ffi.release(fb)
    with pytest.raises(ValueError, match="released"):
        fb[0]
    with pytest.raises(BufferError):
        source.extend(bytes(100000))  # still exported: cannot move under the view
    mv[0:2] = b"hi"
    assert source[0:2] == b"hi"
    mv.release()
    source.extend(bytes(100000))  # released now
    assert len(source) == 100016


@crashes_cffi
def test_gc_release_with_a_view_runs_the_destructor_when_the_view_goes(ffi):
    calls = []
    g = ffi.gc(ffi.new("int[4]"), calls.append)
    mv = memoryview(ffi.buffer(g))
    ffi.release(g)
    assert calls == []
    with pytest.raises(ValueError, match="released"):
        g[0]
    mv[0:4] = b"\0\0\0\0"
    mv.release()
    assert len(calls) == 1


@crashes_cffi
def test_release_of_a_gc_origin_is_seen_through_the_gc_cdata(ffi):
    p = ffi.new("int[4]")
    g = ffi.gc(p, lambda x: None)
    q = g + 1
    ffi.release(p)
    with pytest.raises(ValueError, match="released"):
        g[0]
    with pytest.raises(ValueError, match="released"):
        q[0]
    with pytest.raises(ValueError, match="released"):
        ffi.unpack(g, 1)


@crashes_cffi
def test_from_buffer_over_ffi_buffer_pins_the_memory(ffi):
    before = live()
    p = ffi.new("char[]", 4000)
    fb = ffi.from_buffer(ffi.buffer(p))
    ffi.release(p)
    fb[0] = b"z"  # p's memory is held by fb's export
    assert fb[0] == b"z"
    assert live()[1] - before[1] == 4000
    ffi.release(fb)
    assert live() == before


# ------------------------------------------------------------------ use after release

DERIVED = {
    "p + 1": lambda ffi, p: p + 1,
    "p - (-2)": lambda ffi, p: p - (-2),
    "cast int *": lambda ffi, p: ffi.cast("int *", p),
    "cast char *": lambda ffi, p: ffi.cast("char *", p),
    "cast void * then int *": lambda ffi, p: ffi.cast("int *", ffi.cast("void *", p)),
    "cast int[2]": lambda ffi, p: ffi.cast("int[2]", p),
    "addressof item": lambda ffi, p: ffi.addressof(p, 2),
    "slice": lambda ffi, p: p[1:3],
    "derived of derived": lambda ffi, p: ffi.cast("short *", p + 1) + 1,
}


@crashes_cffi
@pytest.mark.parametrize("make", DERIVED.values(), ids=DERIVED.keys())
@pytest.mark.parametrize("root", ["new", "from_buffer", "gc", "allocator"])
def test_derived_pointer_sees_the_release(ffi, make, root):
    if root == "new":
        p = ffi.new("int[]", 1000)
    elif root == "from_buffer":
        p = ffi.from_buffer("int[]", bytearray(4000))
    elif root == "gc":
        p = ffi.gc(ffi.new("int[]", 1000), lambda x: None)
    else:
        p = ffi.new_allocator(lambda n: ffi.new("char[]", n), lambda x: None)("int[]", 1000)
    q = make(ffi, p)
    assert q[0] in (0, b"\0")  # usable before
    ffi.release(p)
    for use in (lambda: q[0], lambda: q.__setitem__(0, 1), lambda: ffi.buffer(q, 4),
                lambda: ffi.unpack(q, 1), lambda: ffi.memmove(q, b"abcd", 4),
                lambda: ffi.string(ffi.cast("char *", q)), lambda: q[0:1]):
        with pytest.raises(ValueError, match="released"):
            use()


@crashes_cffi
def test_struct_items_fields_and_field_pointers_see_the_release(ffi):
    p = ffi.new("struct rec[]", 100)
    item = p[3]
    field = p[3].b
    a = ffi.addressof(p[3], "a")
    b = ffi.addressof(p, 5, "b")
    s = ffi.new("struct rec *")
    sa = ffi.addressof(s, "b", 0)
    ffi.release(p)
    ffi.release(s)
    for use in (lambda: item.a, lambda: setattr(item, "a", 1), lambda: field[0],
                lambda: a[0], lambda: b[2], lambda: sa[0], lambda: (sa + 1)[0]):
        with pytest.raises(ValueError, match="released"):
            use()


@crashes_cffi
def test_struct_pointer_cast_from_an_owner_sees_the_release(ffi):
    p = ffi.new("char[]", 64)
    s = ffi.cast("struct point *", p)
    s.x = 3
    ffi.release(p)
    with pytest.raises(ValueError, match="released"):
        s.x
    with pytest.raises(ValueError, match="released"):
        s.y = 1


# ------------------------------------------------------------------ bounds

def f(_):
    pass


@crashes_cffi
@pytest.mark.parametrize("case, error, message", [
    ('(ffi.new("int[4]") + 3)[1000] = 7', IndexError, r"index 1000 .* 16 bytes .* -3 to 0"),
    ('(ffi.new("int[4]") + 3)[1]', IndexError, r"index 1 .*-3 to 0"),
    ('(ffi.new("int[4]") + 3)[-4]', IndexError, r"index -4 .*-3 to 0"),
    ('ffi.unpack(ffi.new("int[4]") + 2, 100)', IndexError, r"length 100 .*2 items"),
    ('ffi.cast("int *", ffi.new("char[4]"))[4]', IndexError, r"index 4 .* 4 bytes .* 0 to 0"),
    ('ffi.cast("int *", ffi.new("char[4]"))[1]', IndexError, r"index 1 "),
    ('ffi.addressof(ffi.new("int[4]"), 2)[100]', IndexError, r"index 100 .*-2 to 1"),
    ('ffi.from_buffer("int *", bytearray(8))[7]', IndexError, r"index 7 .* 8 bytes .* 0 to 1"),
    ('ffi.from_buffer("int *", bytearray(8))[-1]', IndexError, r"index -1 "),
    ('ffi.unpack(ffi.gc(ffi.new("int *"), f), 8)', IndexError, r"length 8 .*1 items"),
    ('ffi.gc(ffi.new("int[2]"), f)[2]', IndexError, r"index too large"),
    ('ffi.gc(ffi.new("int *"), f)[1]', IndexError, r"index 1 .* 4 bytes"),
    ('ffi.buffer(ffi.new_handle([1]), 4096)', ValueError, r"size 4096 .*16 bytes"),
    ('(ffi.new("double[16]") + 1)[0:16] = [0.0] * 16', IndexError,
     r"slice \[0:16\] .*120 bytes"),
    ('(ffi.new("double[16]") + 1)[10:20]', IndexError, r"slice \[10:20\]"),
    ('(ffi.new("int[4]") + 4)[0]', IndexError, r"index 0 .*-4 to -1"),
    ('(ffi.new("int[4]") + 1000)[0]', IndexError, r"index 0 "),
    ('(ffi.new("int[4]") - 1)[0]', IndexError, r"index 0 .* 1 to 4"),
    ('ffi.buffer(ffi.new("int[4]") + 3, 8)', ValueError, r"size 8 .*4 bytes"),
    ('ffi.memmove(ffi.new("int[4]") + 3, b"12345678", 8)', ValueError, r"n=8 .*4 bytes"),
    ('ffi.cast("int[100]", ffi.new("int[4]"))[50]', IndexError, r"index 50 .*16 bytes"),
    ('list(ffi.cast("int[100]", ffi.new("int[4]")))', IndexError, r"index 4 "),
    ('ffi.buffer(ffi.cast("int[100]", ffi.new("int[4]")))', ValueError, r"size 400 .*16 bytes"),
    ('ffi.cast("struct point *", ffi.new("char[4]")).y', IndexError, r"field 'y' .*4 bytes"),
    ('ffi.cast("struct point *", ffi.new("char[4]")).y = 1', IndexError, r"field 'y'"),
    ('ffi.cast("struct point *", ffi.new("char[8]") + 1)[0]', IndexError, r"index 0 "),
    ('ffi.addressof(ffi.new("struct rec *"), "b", 0)[3]', IndexError, r"index 3 .*-1 to 2"),
    ('ffi.cast("struct rec *", ffi.from_buffer(bytearray(8))).b[2]', IndexError, r"field 'b'"),
    ('ffi.cast("struct empty *", ffi.new("char[4]") + 10)[0]', IndexError,
     r"index 0 .*outside its 4 bytes"),
])
def test_out_of_bounds_through_known_memory_raises(ffi, case, error, message):
    with pytest.raises(error, match=message):
        exec(case, {"ffi": ffi, "f": f})


@crashes_cffi
def test_string_stops_at_the_end_of_the_owners_memory(ffi):
    p = ffi.new("char[4]", b"abcd")  # no terminator
    assert ffi.string(p + 1) == b"bcd"
    assert ffi.string(ffi.cast("char *", ffi.cast("void *", p))) == b"abcd"


@crashes_cffi
def test_derived_pointers_keep_the_owner_alive(ffi):
    p = ffi.new("int[4]", [1, 2, 3, 4])
    alive = weakref.ref(p)
    q = ffi.cast("char *", p + 1)
    del p
    gc.collect()
    assert alive() is not None
    assert ffi.cast("int *", q)[2] == 4
    del q
    gc.collect()
    assert alive() is None


@crashes_cffi
def test_gc_destructor_runs_when_the_last_derived_pointer_goes(ffi):
    calls = []
    g = ffi.gc(ffi.new("int[2]"), calls.append)
    q = g + 1
    del g
    assert calls == []
    q[0] = 5
    del q
    assert len(calls) == 1


# ------------------------------------------------------------------ legitimate uses

def test_pointer_walking_within_bounds(ffi):
    p = ffi.new("int[8]", list(range(8)))
    q = p
    seen = []
    for _ in range(8):
        seen.append(q[0])
        q = q + 1
    assert seen == list(range(8))
    assert q - p == 8  # one past the end may be formed, as in C
    end = p + 8
    assert [end[-i] for i in range(1, 9)] == list(range(7, -1, -1))
    assert (p + 3)[-3] == 0 and (p + 3)[4] == 7
    assert list((p + 2)[0:6]) == [2, 3, 4, 5, 6, 7]
    (p + 6)[0:2] = [60, 70]
    assert list(p) == [0, 1, 2, 3, 4, 5, 60, 70]
    assert ffi.unpack(p + 4, 4) == [4, 5, 60, 70]
    assert len(ffi.buffer(p + 6, 8)) == 8


def test_casts_between_char_and_int_within_the_extent(ffi):
    c = ffi.new("char[16]")
    i = ffi.cast("int *", c)
    for k in range(4):
        i[k] = 0x01010101 * (k + 1)
    assert ffi.unpack(c, 16) == b"\1\1\1\1\2\2\2\2\3\3\3\3\4\4\4\4"
    back = ffi.cast("char *", i + 2)
    assert back[0] == b"\3" and back[-8] == b"\1" and back[7] == b"\4"
    assert ffi.cast("int *", back)[1] == 0x04040404
    assert ffi.cast("unsigned short *", c)[7] == 0x0404
    v = ffi.cast("void *", c)
    assert ffi.cast("char *", v)[15] == b"\4"
    assert list(ffi.cast("int[4]", c)) == [0x01010101, 0x02020202, 0x03030303, 0x04040404]


def test_struct_field_pointers(ffi):
    s = ffi.new("struct rec *", [1, [2, 3, 4]])
    b = ffi.addressof(s, "b", 0)
    assert [b[0], b[1], b[2]] == [2, 3, 4]
    assert b[-1] == 1  # the field `a` just before: still the struct's memory
    b[2] = 40
    assert s.b[2] == 40
    a = ffi.addressof(s[0], "a")
    assert a[0] == 1
    arr = ffi.new("struct rec[3]")
    r = ffi.addressof(arr, 1)
    r.a = 7
    (r + 1).b[2] = 9
    assert (r - 1)[0].a == 0
    assert arr[1].a == 7 and arr[2].b[2] == 9
    ints = ffi.new("int[4]", [1, 2, 3, 4])
    pt = ffi.cast("struct point *", ints)
    assert (pt.x, pt.y, pt[1].x, pt[1].y) == (1, 2, 3, 4)
    memory = ffi.new("int[3]", [2, 5, 6])
    fl = ffi.cast("struct flex *", memory)
    assert fl.n == 2 and ffi.unpack(fl.data, 2) == [5, 6]


def test_pointers_passed_to_c_and_returned_by_it(ffi):
    libc = ffi.dlopen(None)
    buf = ffi.new("char[16]")
    libc.memset(buf + 4, ord("x"), 8)  # a derived pointer passes to C as its address
    assert ffi.string(buf + 4) == b"x" * 8
    found = libc.memchr(buf, ord("x"), 16)
    assert ffi.cast("char *", found) == buf + 4
    # What C returns is raw, as in C: its memory is unknown, nothing is checked.
    raw = ffi.cast("char *", found)
    assert ffi.string(raw) == b"x" * 8 and raw[-4] == b"\0"
    assert libc.strlen(ffi.cast("char *", buf + 4)) == 8


def test_raw_pointers_from_integers_stay_unchecked(ffi):
    p = ffi.new("int[8]", list(range(8)))
    raw = ffi.cast("int *", int(ffi.cast("intptr_t", p)))
    assert type(raw) is ffi.CData
    assert raw[7] == 7 and ffi.unpack(raw, 8) == list(range(8))
    assert (raw + 7)[-7] == 0


def test_from_buffer_views_of_bytearrays(ffi):
    data = bytearray(16)
    a = ffi.from_buffer("int[]", data)
    assert len(a) == 4
    a[3] = 7
    assert data[12] == 7
    p = ffi.from_buffer("int *", data)
    p[1] = 0x0102
    assert data[4:6] == b"\2\1"
    assert ffi.cast("char *", p)[15] == b"\0"
    assert (p + 3)[0] == 7 and (p + 3)[-2] == 0x0102
    assert ffi.unpack(ffi.cast("unsigned char *", a), 16)[12] == 7
    with memoryview(ffi.buffer(a)) as mv:
        mv[0] = 9
    assert data[0] == 9


def test_gc_and_handles_within_their_memory(ffi):
    g = ffi.gc(ffi.new("int[3]", [1, 2, 3]), lambda x: None)
    assert list(g) == [1, 2, 3] and (g + 2)[0] == 3 and ffi.unpack(g + 1, 2) == [2, 3]
    h = ffi.new_handle([1])
    assert len(ffi.buffer(h, 16)) == 16
    assert ffi.from_handle(ffi.cast("void *", h)) == [1]


@pytest.mark.skipif(MODULE_UNDER_TEST == "cffi", reason="cffix's repr of the types")
def test_derived_pointers_look_as_before(ffi):
    p = ffi.new("int[4]")
    q = p + 1
    assert ffi.typeof(q) is ffi.typeof("int *")
    assert repr(q).startswith("<cdata 'int *' 0x")
    assert ffi.sizeof(q) == ffi.sizeof("int *")
    assert isinstance(q, ffi.CData)
    assert q == p + 1 and hash(q) == hash(p + 1) and q > p
    assert repr(ffi.cast("int[2]", p)).startswith("<cdata 'int[2]' 0x")
    assert len(ffi.cast("int[100]", p)) == 100
