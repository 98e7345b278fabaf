"""One converter set (issue 9): paths that must give the same result because they run
the same code.

  * ffi.new and custom allocators (ffi.new_allocator) lay out and initialise memory
    through one function: the same input gives the same cdata, or the same error;
  * ffi.offsetof(type, *path) and ffi.addressof(cdata, *path) walk a path with one
    walker: the same offsets and the same errors, with cffi's messages;
  * slice assignment a[i:j] = v and array initialisation ffi.new("T[n]", v) convert
    with the same array code.

cffi is the oracle where it is sound; where cffix is stricter (bounds) or more
consistent, the test says so."""

import pytest

from cffix import FFI

DECLS = """
    struct point { int x, y; };
    struct flex { int n; int items[]; };
    struct cflex { int n; char s[]; };
    struct opaque;
    void *malloc(size_t);
    void free(void *);
"""


class Index:
    """An integer that is not an int: only __index__."""

    def __init__(self, value):
        self.value = value

    def __index__(self):
        return self.value

    def __repr__(self):
        return f"Index({self.value})"


@pytest.fixture
def ffi():
    f = FFI()
    f.cdef(DECLS)
    return f


# ---------------------------------------------------------------- ffi.new and allocators

NEW_CASES = [
    # the reproduced bugs of issue 9
    ("struct flex *", {"n": 3, "items": [1, 2, 3]}),
    ("char16_t[]", "a\U0001F600b"),
    ("int[]", Index(3)),
    ("unsigned char[]", b"xy"),
    # open arrays
    ("signed char[]", b"xy"),
    ("char[]", b"xy"),
    ("char32_t[]", "a\U0001F600b"),
    ("wchar_t[]", "xyz"),
    ("int[]", 3),
    ("int[]", [1, 2, 3]),
    ("int[]", (4, 5)),
    ("int[]", -1),
    ("int[]", 2**70),
    ("int[]", 1.5),
    ("int[]", None),
    ("int[]", b"xy"),
    ("char[]", "xy"),
    ("char[]", bytearray(b"xy")),
    ("long[]", 2**61),
    # arrays of known length
    ("int[3]", [1]),
    ("int[3]", [1, 2, 3, 4]),
    ("int[3]", 5),
    ("char[3]", 5),
    ("char[3]", b"abcd"),
    ("char[3]", b"ab"),
    ("char16_t[3]", "a\U0001F600"),
    ("int[2][3]", [[1, 2, 3], [4, 5, 6]]),
    ("int[3]", None),
    # pointers
    ("int *", 5),
    ("int *", None),
    ("int *", "x"),
    ("struct point *", [1, 2]),
    ("struct point *", {"y": 7}),
    ("struct point *", {"z": 1}),
    ("struct point *", [1, 2, 3]),
    ("int(**)(int)", None),
    ("void *", None),
    ("struct opaque *", None),
    ("int", 5),
    # flexible array members
    ("struct flex *", [2, [5, 6]]),
    ("struct flex *", {"items": 4}),
    ("struct flex *", {"items": Index(2)}),
    ("struct flex *", {"items": -1}),
    ("struct flex *", {"items": 1.5}),
    ("struct flex *", {"n": 1}),
    ("struct flex *", None),
    ("struct cflex *", {"s": b"abc"}),
    ("struct cflex *", [1, b"hello"]),
]


def _outcome(ffi, make, cdecl, init, contents):
    """What `make(cdecl, init)` gives, in comparable terms: the error, or the cdata's
    type, length, sizes and (when `contents`) its bytes."""
    try:
        p = make(cdecl, init)
    except Exception as e:
        return ("error", type(e), str(e))
    t = ffi.typeof(p)
    shape = [t.cname, ffi.sizeof(p)]
    if t.kind == "array":
        shape.append(len(p))
    elif t.item.kind == "struct":
        shape.append(ffi.sizeof(p[0]))  # with a flexible array member: the memory there
        if "items" in dir(p[0]) or "s" in dir(p[0]):
            member = p.items if cdecl == "struct flex *" else p.s
            shape.append(repr(member))
    if contents:
        shape.append(ffi.buffer(p)[:])
    return ("ok", *shape)


def _allocators(ffi):
    libc = ffi.dlopen(None)
    return {
        "malloc": (ffi.new_allocator(alloc=libc.malloc, free=libc.free), True),
        "malloc, not cleared": (ffi.new_allocator(alloc=libc.malloc, free=libc.free,
                                                  should_clear_after_alloc=False), False),
        "default": (ffi.new_allocator(), True),
        "default, not cleared": (ffi.new_allocator(should_clear_after_alloc=False), False),
    }


@pytest.mark.parametrize("cdecl, init", NEW_CASES, ids=[f"{c} {i!r}" for c, i in NEW_CASES])
def test_allocators_lay_out_memory_as_ffi_new(ffi, cdecl, init):
    for name, (alloc, cleared) in _allocators(ffi).items():
        expected = _outcome(ffi, ffi.new, cdecl, init, contents=cleared)
        got = _outcome(ffi, alloc, cdecl, init, contents=cleared)
        assert got == expected, name


def test_the_issue_cases_succeed_through_a_malloc_allocator(ffi):
    libc = ffi.dlopen(None)
    alloc = ffi.new_allocator(alloc=libc.malloc, free=libc.free)
    p = alloc("struct flex *", {"n": 3, "items": [1, 2, 3]})
    assert (p.n, list(p.items)) == (3, [1, 2, 3])
    s = alloc("char16_t[]", "a\U0001F600b")
    assert len(s) == 5 and ffi.string(s) == "a\U0001F600b" and s[4] == "\x00"
    assert list(alloc("int[]", Index(3))) == [0, 0, 0]
    assert list(alloc("unsigned char[]", b"xy")) == [120, 121, 0]


def test_initializers_write_over_memory_that_was_not_cleared(ffi):
    # alloc() hands out memory full of 0xAB: what the initializer gives is written, the
    # terminator included; what it does not give keeps its bytes.
    libc = ffi.dlopen(None)

    def dirty_malloc(n):
        p = libc.malloc(n)
        ffi.memmove(p, b"\xab" * n, n)
        return p

    alloc = ffi.new_allocator(alloc=dirty_malloc, free=libc.free,
                              should_clear_after_alloc=False)
    assert ffi.buffer(alloc("char[]", b"xy"))[:] == b"xy\x00"
    assert ffi.buffer(alloc("char[5]", b"xy"))[:] == b"xy\x00\xab\xab"
    assert list(alloc("char16_t[]", "a\U0001F600")) == ["a", "\ud83d", "\ude00", "\x00"]
    p = alloc("struct flex *", {"n": 2, "items": [7, 8]})
    assert (p.n, list(p.items)) == (2, [7, 8])
    assert ffi.buffer(alloc("int[2]", [1]))[:] == b"\x01\x00\x00\x00\xab\xab\xab\xab"


def test_allocator_results_know_their_memory_as_ffi_new_does(ffi):
    # The owned `T *` of an allocator is indexed by 0 only, and its flexible array member
    # has the length the initializer gave it, as with ffi.new.
    libc = ffi.dlopen(None)
    allocs = [ffi.new, ffi.new_allocator(alloc=libc.malloc, free=libc.free)]
    for make in allocs:
        p = make("int *", 5)
        assert p[0] == 5
        with pytest.raises(IndexError, match="can only be indexed by 0"):
            p[1]
        with pytest.raises(IndexError):
            p[0:2]
        f = make("struct flex *", {"n": 2, "items": [1, 2]})
        assert repr(f.items) == "<cdata 'int[]' sliced length 2>"
        assert ffi.sizeof(f[0]) == 12
        with pytest.raises(IndexError):
            f.items = [1, 2, 3]  # no room
        assert len(ffi.buffer(f)) == 12


def test_allocator_result_too_small_is_refused(ffi):
    small = ffi.new("char[4]")
    alloc = ffi.new_allocator(alloc=lambda n: small, free=None)
    with pytest.raises(ValueError, match="returned only 4 bytes"):
        alloc("int[2]")
    assert list(alloc("int[1]", [5])) == [5]


@pytest.mark.parametrize("cdecl, init", NEW_CASES, ids=[f"{c} {i!r}" for c, i in NEW_CASES])
def test_ffi_new_matches_cffi(ffi, cffi_oracle, cdecl, init):
    # Errors: the same class (two messages are cffix's own: "new(): 'int[]' needs a
    # length or an initializer", "an integer is required for 'int', not str").
    oracle = cffi_oracle.FFI()
    oracle.cdef(DECLS)
    ours = _outcome(ffi, ffi.new, cdecl, init, contents=True)
    theirs = _outcome(oracle, oracle.new, cdecl, init, contents=True)
    if theirs[0] == "error":
        assert ours[:2] == theirs[:2]
    else:
        assert ours == theirs


def test_flexible_member_takes_no_more_items_than_it_has_room_for(ffi):
    # A `T[]` cdata is the member's own type: its length must still fit the room there
    # (this once copied all 100 items past the end of the memory).
    p = ffi.new("struct flex *", {"items": 2})
    with pytest.raises(TypeError, match="not cdata 'int\\[\\]'"):
        p.items = ffi.new("int[]", 100)
    p.items = ffi.new("int[]", [5, 6])
    assert list(p.items) == [5, 6]
    with pytest.raises(TypeError, match="not cdata 'int\\[1\\]'"):  # not the same type, as cffi
        p.items = ffi.new("int[1]", [7])
    assert list(p.items) == [5, 6]


@pytest.mark.parametrize("cdecl, source", [
    ("int[2]", "long[2]"), ("int[2]", "int[3]"), ("struct point *", "int *"),
])
def test_initializer_of_another_cdata_type_is_refused_as_cffi(ffi, cffi_oracle, cdecl, source):
    oracle = cffi_oracle.FFI()
    oracle.cdef(DECLS)
    with pytest.raises(TypeError) as theirs:
        oracle.new(cdecl, oracle.new(source))
    with pytest.raises(TypeError) as ours:
        ffi.new(cdecl, ffi.new(source))
    assert str(ours.value) == str(theirs.value)


# ---------------------------------------------------------------- offsetof / addressof paths

PATH_DECLS = """
    struct bf { int a; int x:3; int y:5; };
    struct inner { int a[4]; int b; };
    struct s { int n; struct inner in; struct inner arr[3]; int *p; struct s *next;
               int m[2][3]; };
    struct flex { int n; int items[]; };
    struct opaque;
    struct holdop { struct opaque *o; };
    union u { int i; char c[8]; };
"""

# (type, path). cffi's answer is the spec, except where cffix is stricter (STRICTER).
PATHS = [
    ("struct bf", ("x",)),
    ("struct bf", ("a",)),
    ("struct bf", ("y",)),
    ("struct s", ("nope",)),
    ("struct s", ("n", "x")),
    ("struct s", ("n", 0)),
    ("struct s", ("in", "a", 2)),
    ("struct s", ("in", "a", 4)),
    ("struct s", ("in", "b")),
    ("struct s", ("arr", 1, "b")),
    ("struct s", ("arr", 1, "a", 3)),
    ("struct s", ("arr", 1, "a", 3, 0)),
    ("struct s", ("m", 1, 2)),
    ("struct s", ("m", 1, 2, 0)),
    ("struct s", ("next", "n")),
    ("struct s", (1.5,)),
    ("struct s", (None,)),
    ("struct s", (b"n",)),
    ("struct s", (0,)),
    ("struct s", ("arr", 2**62)),
    ("struct s", ("arr", 2**70)),
    ("struct s", ("arr", True)),
    ("struct s *", ("n",)),
    ("struct s *", (0,)),
    ("struct s *", (2, "n")),
    ("struct s *", (-1,)),
    ("struct s *", ("next", "n")),
    ("struct s *", (2**62,)),
    ("struct s **", ("n",)),
    ("struct flex", ("items",)),
    ("struct flex", ("items", 5)),
    ("int[5]", (2,)),
    ("int[5]", (5,)),
    ("int *", (3,)),
    ("void *", (1,)),
    ("struct holdop", ("o", 1)),
    ("struct holdop", ("o", "x")),
    ("struct opaque *", (1,)),
    ("struct opaque *", ("x",)),
    ("union u", ("c", 3)),
    ("union u", ("i",)),
]

# Where cffi computes an offset and cffix raises: indexes outside an array of known
# length (one past the end is allowed), negative indexes into arrays, and an index into
# a pointer that is not the first step (cffi offsets into the pointer field itself).
STRICTER = {
    ("struct s", ("in", "a", 5)): (IndexError, "index 5 out of range for 'int[4]' "
                                               "(expected 0 <= index <= 4)"),
    ("struct s", ("in", "a", -1)): (IndexError, "index -1 out of range for 'int[4]' "
                                                "(expected 0 <= index <= 4)"),
    ("int[5]", (6,)): (IndexError, "index 6 out of range for 'int[5]' "
                                   "(expected 0 <= index <= 5)"),
    ("struct flex", ("items", -1)): (IndexError, "index -1 out of range for 'int[]' "
                                                 "(expected 0 <= index)"),
    ("struct s", ("p", 3)): (TypeError, "with an integer argument, expected an array ctype "
                                        "(a path goes through a pointer only at its first "
                                        "step), got 'int *'"),
}

RAW_ADDRESS = 0x10000


@pytest.fixture
def path_ffi():
    f = FFI()
    f.cdef(PATH_DECLS)
    return f


def _offsetof(ffi, cdecl, path):
    try:
        return ("ok", ffi.offsetof(cdecl, *path))
    except Exception as e:
        return ("error", type(e), str(e))


def _addressof(ffi, cdecl, path):
    """addressof() on a cdata of type `cdecl`, as an offset from the cdata's address.
    Pointers and structs are raw (ffi.cast(), nothing dereferenced), so that no bound of
    owned memory applies beyond the type's own size."""
    t = ffi.typeof(cdecl)
    if t.kind == "pointer":
        cd = ffi.cast(t, RAW_ADDRESS)
        base = RAW_ADDRESS
    elif t.kind == "array":
        cd = ffi.new(t)
        base = int(ffi.cast("intptr_t", cd))
    else:
        cd = ffi.cast(ffi.getctype(t, "*"), RAW_ADDRESS)[0]
        base = RAW_ADDRESS
    try:
        return ("ok", int(ffi.cast("intptr_t", ffi.addressof(cd, *path))) - base)
    except Exception as e:
        return ("error", type(e), str(e))


ALL_PATHS = PATHS + list(STRICTER)


@pytest.mark.parametrize("cdecl, path", ALL_PATHS, ids=[f"{c} {p!r}" for c, p in ALL_PATHS])
def test_offsetof_and_addressof_walk_paths_alike(path_ffi, cdecl, path):
    assert _offsetof(path_ffi, cdecl, path) == _addressof(path_ffi, cdecl, path)


@pytest.mark.parametrize("cdecl, path", ALL_PATHS, ids=[f"{c} {p!r}" for c, p in ALL_PATHS])
def test_paths_match_cffi(path_ffi, cffi_oracle, cdecl, path):
    oracle = cffi_oracle.FFI()
    oracle.cdef(PATH_DECLS)
    theirs = _offsetof(oracle, cdecl, path)
    assert theirs == _addressof(oracle, cdecl, path)  # one walker in cffi too
    if (cdecl, path) in STRICTER:
        assert theirs[0] == "ok"
        assert _offsetof(path_ffi, cdecl, path) == ("error", *STRICTER[cdecl, path])
    else:
        assert _offsetof(path_ffi, cdecl, path) == theirs


def test_addressof_bounds_an_open_array_by_its_own_length(path_ffi):
    # The walker takes the array's length from the cdata (ffi.new("int[]", 3), slices).
    a = path_ffi.new("int[]", 3)
    assert path_ffi.addressof(a, 3) is not None  # the end pointer
    with pytest.raises(IndexError, match="expected 0 <= index <= 3"):
        path_ffi.addressof(a, 4)
    s = path_ffi.new("int[10]")[2:5]
    with pytest.raises(IndexError, match="expected 0 <= index <= 3"):
        path_ffi.addressof(s, 4)
    assert path_ffi.offsetof("int[]", 4) == 16  # a type alone has no bound


def test_addressof_memory_bound_after_the_walk(path_ffi):
    # The path is valid for the type; the owned memory of one struct is shorter.
    p = path_ffi.new("struct s *")
    with pytest.raises(IndexError, match="outside the 128 bytes"):
        path_ffi.addressof(p, 2, "n")
    assert path_ffi.offsetof("struct s *", 2, "n") == 256


# ---------------------------------------------------------------- slice assignment


def _gen():
    yield from (1, 2, 3)


# (item type, value maker): values for a[1:4] = value on a `item[5]`, and for
# ffi.new("item[3]", value).
SLICE_VALUES = {
    "list": ("int", lambda ffi: [1, 2, 3]),
    "tuple": ("int", lambda ffi: (1, 2, 3)),
    "list too short": ("int", lambda ffi: [1, 2]),
    "list too long": ("int", lambda ffi: [1, 2, 3, 4]),
    "list with a str": ("int", lambda ffi: [1, "x", 3]),
    "list of bytes": ("char", lambda ffi: [b"a", b"b", b"c"]),
    "bytes": ("char", lambda ffi: b"abc"),
    "bytes too short": ("char", lambda ffi: b"ab"),
    "bytes too long": ("char", lambda ffi: b"abcd"),
    "bytes, unsigned char": ("unsigned char", lambda ffi: b"abc"),
    "bytes, signed char": ("signed char", lambda ffi: b"abc"),
    "bytes past 0x7f, signed char": ("signed char", lambda ffi: b"\xff\x01\x02"),
    "str for char": ("char", lambda ffi: "abc"),
    "str, wchar_t": ("wchar_t", lambda ffi: "abc"),
    "str, char16_t": ("char16_t", lambda ffi: "abc"),
    "str, char32_t": ("char32_t", lambda ffi: "xyz"),
    "str too short": ("wchar_t", lambda ffi: "ab"),
    "str too long": ("char32_t", lambda ffi: "abcd"),
    "str with a pair, char16_t": ("char16_t", lambda ffi: "a\U0001F600"),
    "cdata, same type": ("int", lambda ffi: ffi.new("int[3]", [7, 8, 9])),
    "cdata, shorter": ("int", lambda ffi: ffi.new("int[2]", [7, 8])),
    "cdata, longer": ("int", lambda ffi: ffi.new("int[4]", [7, 8, 9, 10])),
    "cdata, other item type": ("int", lambda ffi: ffi.new("long[3]", [7, 8, 9])),
    "cdata pointer": ("int", lambda ffi: ffi.new("int *")),
    "int": ("int", lambda ffi: 5),
    "None": ("int", lambda ffi: None),
    "generator": ("int", lambda ffi: _gen()),
    "range": ("int", lambda ffi: range(3)),
    "bytes for int": ("int", lambda ffi: b"abc"),
    "bytearray": ("char", lambda ffi: bytearray(b"abc")),
    "bytearray, unsigned char": ("unsigned char", lambda ffi: bytearray(b"abc")),
}

# What slice assignment does with each value, given what ffi.new("T[3]", value) does:
#   same      both write the same 3 items
#   count     initialisation pads or refuses a value of the wrong length; the slice,
#             which must be filled exactly, raises ValueError
#   refused   both raise the same TypeError class
#   iterable  initialisation takes lists and tuples only; the slice takes any iterable
#             (as cffi), item by item, as if given list(value)
#   bytes     a bytearray for char items: the slice takes it as bytes (as cffi)
#   ints      bytes for signed char: initialisation copies them, the slice converts each
#             byte as an int (as cffi: 255 does not fit)
SLICE_RULE = {
    "list": "same", "tuple": "same", "list of bytes": "same", "bytes": "same",
    "bytes, unsigned char": "same", "bytes, signed char": "same", "str, wchar_t": "same",
    "str, char16_t": "same", "str, char32_t": "same", "str with a pair, char16_t": "same",
    "cdata, same type": "same",
    "list too short": "count", "list too long": "count", "bytes too short": "count",
    "bytes too long": "count", "str too short": "count", "str too long": "count",
    "cdata, shorter": "count", "cdata, longer": "count",
    "list with a str": "refused", "str for char": "refused", "cdata pointer": "refused",
    "int": "refused",
    "None": "iterable",  # ffi.new("int[3]", None) is zero memory; None is no iterable
    "generator": "iterable", "range": "iterable", "bytes for int": "iterable",
    "bytearray": "bytes", "bytearray, unsigned char": "iterable",
    "bytes past 0x7f, signed char": "ints",
    "cdata, other item type": "iterable",
}


def _slice_assign(ffi, item, value):
    a = ffi.new(f"{item}[5]")
    size = ffi.sizeof(item)
    try:
        a[1:4] = value
    except Exception as e:
        return ("error", type(e))
    return ("ok", ffi.buffer(a)[size:4 * size])


def _initialise(ffi, item, value):
    try:
        return ("ok", ffi.buffer(ffi.new(f"{item}[3]", value))[:])
    except Exception as e:
        return ("error", type(e))


@pytest.mark.parametrize("case", list(SLICE_VALUES))
def test_slice_assignment_converts_as_array_initialisation(ffi, case):
    item, make = SLICE_VALUES[case]
    sliced = _slice_assign(ffi, item, make(ffi))
    initialised = _initialise(ffi, item, make(ffi))
    rule = SLICE_RULE[case]
    if rule == "same":
        assert sliced == initialised and sliced[0] == "ok"
    elif rule == "count":
        assert sliced == ("error", ValueError)
        assert initialised[0] == "ok" or initialised[1] in (IndexError, TypeError)
    elif rule == "refused":
        assert sliced == initialised == ("error", TypeError)
    elif rule == "ints":
        assert initialised == ("ok", b"\xff\x01\x02")
        assert sliced == _slice_assign(ffi, item, list(make(ffi))) == ("error", OverflowError)
    elif rule == "bytes":
        assert initialised == ("error", TypeError)
        assert sliced == _slice_assign(ffi, item, bytes(make(ffi))) and sliced[0] == "ok"
    else:
        assert initialised == ("error", TypeError) or make(ffi) is None
        try:
            as_list = list(make(ffi))
        except TypeError:
            assert sliced == ("error", TypeError)
        else:
            assert sliced == _slice_assign(ffi, item, as_list)


@pytest.mark.parametrize("case", list(SLICE_VALUES))
def test_slice_assignment_matches_cffi(ffi, cffi_oracle, case):
    item, make = SLICE_VALUES[case]
    oracle = cffi_oracle.FFI()
    ours = _slice_assign(ffi, item, make(ffi))
    theirs = _slice_assign(oracle, item, make(oracle))
    if case == "str with a pair, char16_t":
        # cffi iterates the str (one char16_t per character: a TypeError for U+1F600);
        # cffix converts a str for char16_t items as initialisation does, in UTF-16 units.
        assert theirs == ("error", TypeError)
        assert ours == ("ok", "a\U0001F600".encode("utf-16-le"))
    else:
        assert ours == theirs


def test_slice_assignment_through_a_pointer_and_messages(ffi):
    a = ffi.new("int[6]")
    p = a + 1
    p[0:3] = [4, 5, 6]
    assert list(a) == [0, 4, 5, 6, 0, 0]
    with pytest.raises(ValueError, match="need 3 values to unpack, got 2"):
        a[0:3] = [1, 2]
    with pytest.raises(ValueError, match="need a bytes of length 2, got 3"):
        ffi.new("char[4]")[0:2] = b"abc"
    with pytest.raises(TypeError, match="'int' object is not iterable"):
        a[0:3] = 5
    assert list(a) == [0, 4, 5, 6, 0, 0]  # nothing written by the failures above


# ---------------------------------------------------------------- errors of field access


@pytest.mark.parametrize("action", ["read", "write", "missing", "method"])
def test_field_errors_match_cffi(ffi, cffi_oracle, action):
    # An opaque struct: cffi's AttributeError (cffix said "has no field"); attributes that
    # are no fields still resolve (methods).
    oracle = cffi_oracle.FFI()
    oracle.cdef(DECLS)

    def outcome(f):
        p = f.cast("struct opaque *", 0)
        q = f.new("struct point *")
        try:
            if action == "read":
                return p.x
            if action == "write":
                p.x = 1
            elif action == "missing":
                return q.z
            else:
                return type(p.__enter__).__name__
        except Exception as e:
            return (type(e), str(e))

    assert outcome(ffi) == outcome(oracle)
