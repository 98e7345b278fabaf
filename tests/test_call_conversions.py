"""One converter set: the same Python value reaches C the same way through every entry
point, and comes back the same way.

Entry points compared for each conversion kind (tests/clib/conversions.c):
  new        p = ffi.new("T *"); p[0] = v; p[0]          (data::to_c / from_c)
  call       lib.id_T(v), thunk and libffi paths       (call/ with data/argument.h)
  pointer    ffi.cast("T(*)(T)", lib.id_T)(v)          (function pointers' call slot)
  callback   lib.via_cb_T(cb, x) with cb returning v   (a callback's result into C)
  argument   lib.via_cb_T(cb, v) with cb capturing x   (a callback's argument from C)
Each gives a value or an error; all must give the same one (type and message), except
for the call-only rules (None, bytes and lists for pointers), tested on their own.
"""

import enum

import pytest

from cffix import FFI

pytestmark = pytest.mark.usefixtures("call_path")  # every test: the thunks, then libffi

CDEF = """
struct pair { int a; double b; };
struct big { long v[5]; };
"""
TYPES = {
    "i8": "int8_t", "u8": "uint8_t", "i16": "int16_t", "u16": "uint16_t",
    "i32": "int32_t", "u32": "uint32_t", "i64": "int64_t", "u64": "uint64_t",
    "bool": "_Bool", "char": "char", "f": "float", "d": "double",
    "wchar": "wchar_t", "c16": "char16_t", "c32": "char32_t",
    "pair": "struct pair", "big": "struct big",
}
for _n, _t in TYPES.items():
    CDEF += f"{_t} id_{_n}({_t} x);\n{_t} via_cb_{_n}({_t} (*cb)({_t}), {_t} x);\n"


class Index:
    """An object with __index__ (not an int)."""

    def __init__(self, v):
        self.v = v

    def __index__(self):
        return self.v


class Color(enum.IntEnum):
    RED = 1


@pytest.fixture
def lib(ffi, build_clib):
    """tests/clib/conversions.c loaded by `ffi` (the conftest fixture, with CDEF)."""
    return ffi.dlopen(build_clib("conversions", ["-O2"]))


def outcome(fn):
    """('ok', value) or ('error', exception type, message)."""
    try:
        return ("ok", fn())
    except Exception as e:  # noqa: BLE001 - the exception is the outcome compared
        return ("error", type(e), str(e))


def plain(v, ffi):
    """A comparable form of a value read back (structs as their fields)."""
    if isinstance(v, ffi.CData):
        t = ffi.typeof(v)
        if t.kind == "struct":
            return tuple(plain(getattr(v, name), ffi) for name, _ in t.fields)
        if t.kind == "array":
            return tuple(v)
    return v


def through_new(ffi, ctype, v):
    """An item assignment: to_c itself (ffi.new(T *, None) would mean "no initializer")."""
    p = ffi.new(ctype + " *")
    p[0] = v
    return plain(p[0], ffi)


def through_callback_result(ffi, lib, name, ctype, v, zero):
    """C calls a callback that returns `v`; what C got back, or the callback's error."""
    errors = []

    def onerror(exc_type, exc, tb):
        errors.append(exc)

    cb = ffi.callback(f"{ctype}({ctype})", lambda x: v, onerror=onerror)
    result = plain(getattr(lib, "via_cb_" + name)(cb, zero), ffi)
    if errors:
        raise errors[0]
    return result


def through_callback_argument(ffi, lib, name, ctype, v):
    """C receives `v` as an argument and passes it to a callback: what the callback saw."""
    seen = []

    def capture(x):
        seen.append(plain(x, ffi))
        return x

    cb = ffi.callback(f"{ctype}({ctype})", capture)
    getattr(lib, "via_cb_" + name)(cb, v)
    return seen[0]


def entry_points(ffi, lib, name, v):
    ctype = TYPES[name]
    zero = ffi.new(ctype + " *")[0]
    fn = getattr(lib, "id_" + name)
    pointer = ffi.cast(f"{ctype}(*)({ctype})", fn)
    return {
        "new": outcome(lambda: through_new(ffi, ctype, v)),
        "call": outcome(lambda: plain(fn(v), ffi)),
        "call again": outcome(lambda: plain(fn(v), ffi)),  # the specialized entry
        "pointer": outcome(lambda: plain(pointer(v), ffi)),
        "callback result": outcome(
            lambda: through_callback_result(ffi, lib, name, ctype, v, zero)),
    }


INTEGER_VALUES = [0, 1, -1, 127, 128, -128, -129, 255, 256, 65535, 65536, -32769,
                  2**31 - 1, 2**31, -2**31 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1, 2**64,
                  -2**63, -2**63 - 1, True, False, Color.RED, 1.5, 1.0, "1", b"1", None,
                  [1]]
INTEGER_CDATA = [("int", 7), ("int", -7), ("long long", 2**40), ("unsigned char", 200),
                 ("double", 2.0), ("char", b"x")]
FLOAT_VALUES = [0.0, 1.5, -2.25, 1e300, 3, -3, 2**53 + 1, 2**70, True, "1.5", None, b"x",
                [1.0]]
FLOAT_CDATA = [("double", 2.5), ("float", 0.5), ("int", 3), ("long double", 1.25)]
CHAR_VALUES = [b"a", b"\xff", b"", b"ab", "a", 65, None, [b"a"]]
WIDE_VALUES = ["a", "\u20ac", "\U0001F600", "", "ab", b"a", 65, None]
BOOL_VALUES = [True, False, 0, 1, 2, -1, 1.0, None, "x"]


def values_for(name, ffi):
    if name in ("f", "d"):
        return FLOAT_VALUES + [ffi.cast(t, v) for t, v in FLOAT_CDATA]
    if name == "char":
        return CHAR_VALUES + [ffi.cast("char", b"z"), ffi.cast("int", 65)]
    if name in ("wchar", "c16", "c32"):
        return WIDE_VALUES + [ffi.cast("wchar_t", "w"), ffi.cast("char32_t", 0x1F600)]
    if name == "bool":
        return BOOL_VALUES + [ffi.cast("_Bool", 1), ffi.cast("int", 1), ffi.cast("int", 2)]
    return INTEGER_VALUES + [Index(5), Index(-5), Index(2**70)] + [
        ffi.cast(t, v) for t, v in INTEGER_CDATA]


SCALARS = ["i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "bool", "char", "f", "d",
           "wchar", "c16", "c32"]


@pytest.mark.parametrize("name", SCALARS)
def test_scalar_argument_same_through_every_entry_point(ffi, lib, name):
    checked = 0
    for v in values_for(name, ffi):
        got = entry_points(ffi, lib, name, v)
        reference = got["new"]
        for where, result in got.items():
            assert result == reference, (name, v, where, result, reference)
        checked += reference[0] == "ok"
    assert checked >= 3  # good values were among them, not only errors


@pytest.mark.parametrize("name", SCALARS)
def test_scalar_result_same_as_item_read(ffi, lib, name):
    """What C hands back (a result, a callback's argument) reads as ffi.new's item does."""
    for v in values_for(name, ffi):
        stored = outcome(lambda: through_new(ffi, TYPES[name], v))
        if stored[0] != "ok":
            continue
        assert outcome(lambda: getattr(lib, "id_" + name)(v)) == stored
        assert outcome(lambda: through_callback_argument(ffi, lib, name, TYPES[name], v)) \
            == stored


STRUCT_VALUES = {
    "pair": [[1, 2.5], (3,), {"a": 4, "b": 0.5}, {"b": 1.0}, [], [1, 2, 3], {"c": 1},
             [1.5, 1], ["x", 1], 5, None, b"xy"],
    "big": [[[1, 2, 3, 4, 5]], [1, 2, 3, 4, 5], {"v": [9, 8, 7]}, [[1, 2, 3, 4, 5, 6]],
            [["x"]], 0],
}


@pytest.mark.parametrize("name", ["pair", "big"])
def test_struct_by_value_same_through_every_entry_point(ffi, lib, name):
    ctype = TYPES[name]
    values = list(STRUCT_VALUES[name])
    values.append(ffi.new(ctype + " *")[0])  # a view of an owned struct
    values.append(ffi.new(ctype + " *", values[0])[0])
    for v in values:
        got = entry_points(ffi, lib, name, v)
        reference = got["new"]
        for where, result in got.items():
            assert result == reference, (name, v, where, result, reference)


@pytest.mark.parametrize("name", ["pair", "big"])
def test_struct_results_and_callback_arguments_are_boxed_alike(ffi, lib, name):
    """A struct that C hands over by value (a result, a callback's argument) becomes a
    cdata owning a copy, the same way from both directions."""
    ctype = TYPES[name]
    s = ffi.new(ctype + " *", STRUCT_VALUES[name][0])
    result = getattr(lib, "id_" + name)(s[0])
    seen = []
    cb = ffi.callback(f"{ctype}({ctype})", lambda x: (seen.append(x), x)[1])
    getattr(lib, "via_cb_" + name)(cb, s[0])
    argument = seen[0]
    assert type(result) is type(argument)
    assert repr(result) == repr(argument) == f"<cdata '{ctype}' owning {ffi.sizeof(ctype)} bytes>"
    assert plain(result, ffi) == plain(argument, ffi) == plain(s[0], ffi)


def test_released_struct_refused_everywhere(ffi, lib):
    s = ffi.new("struct pair *", [1, 2.0])
    view = s[0]
    ffi.release(s)
    got = entry_points(ffi, lib, "pair", view)
    assert got["new"][0] == "error"
    for where, result in got.items():
        assert result == got["new"], where


# ------------------------------------------------------------------------ call-only rules

def test_call_only_rules_for_pointers():
    """None, bytes and lists are taken by pointer parameters in calls only (cffi's rules,
    None a cffix extension); ffi.new refuses bytes and lists for a pointer item."""
    ffi = FFI()
    ffi.cdef("size_t strlen(const char *); void *memchr(const void *, int, size_t);"
             "int abs(int);")
    libc = ffi.dlopen(None)
    assert libc.strlen(b"hello") == 5
    assert libc.memchr(None, 0, 0) == ffi.NULL
    with pytest.raises(TypeError):
        ffi.new("char **", b"hello")
    with pytest.raises(TypeError):
        ffi.new("int **", [1, 2])
    # a str is not bytes: refused with to_c's message in both places
    with pytest.raises(TypeError) as in_call:
        libc.strlen("hello")
    with pytest.raises(TypeError) as in_new:
        ffi.new("const char **", "hello")
    assert str(in_call.value) == str(in_new.value)


def test_list_for_pointer_makes_a_temporary_array(ffi, lib):
    # memcpy declared with 'int *' parameters: a list is taken for a typed pointer only
    # ('void *' has no item type to build an array of).
    f = FFI()
    f.cdef("void *memcpy(int *, const int *, size_t);")
    libc = f.dlopen(None)
    dst = f.new("int[3]")
    libc.memcpy(dst, [7, 8, 9], 12)
    assert list(dst) == [7, 8, 9]
    with pytest.raises(OverflowError):
        libc.memcpy(dst, [1, 2**40, 3], 12)
    assert list(dst) == [7, 8, 9]  # nothing was copied


def test_function_pointers_have_their_own_callable_type(ffi, lib):
    fp = ffi.cast("int32_t(*)(int32_t)", lib.id_i32)
    assert isinstance(fp, ffi.CData)
    assert callable(fp)
    assert fp(5) == 5
    assert type(fp) is not type(ffi.cast("void *", 0))
    with pytest.raises(TypeError, match="cdata 'int' is not callable"):
        ffi.cast("int", 5)()
    with pytest.raises(TypeError, match="keyword"):
        fp(x=5)


def test_plans_of_dead_function_types_are_dropped(ffi, lib):
    """The plan table holds no function type alive, and a type made after one died (maybe
    at its address) converts by its own signature, not by a stale plan."""
    import gc
    import weakref

    address = ffi.cast("void *", lib.id_i8)
    other = ffi.cast("void *", lib.id_u8)
    for _ in range(50):
        fresh = FFI()  # its typeof cache dies with it
        fp = fresh.cast("signed char(*)(signed char)", address)
        assert fp(-5) == -5  # a call: the plan of this type is built
        dead = weakref.ref(fresh.typeof(fp))
        del fp, fresh
        gc.collect()
        assert dead() is None
        fresh = FFI()
        fq = fresh.cast("unsigned char(*)(unsigned char)", other)
        assert fq(250) == 250  # -6 under the dead type's plan
        with pytest.raises(OverflowError):
            fq(-1)
        del fq, fresh
        gc.collect()
