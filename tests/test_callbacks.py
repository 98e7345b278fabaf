"""Callbacks (ffi.callback): Python callables called from real C code.

tests/clib/callbacks.c is compiled into a shared library per session; its functions take
a function pointer and call it (with ints, doubles, structs by value, pointers, from new
threads, many times in a loop). They are called through ctypes, with the callback's
address: the callbacks are exercised from real C, independently of cffix's call layer.

Set CFFIX_TEST_MODULE=cffi to run the same tests with cffi (a check of the harness;
tests of cffix-only behaviour are then expected to fail).
"""

import ctypes
import ctypes.util
import gc
import re
import sys
import threading
import weakref

import pytest

from support import cffix_only

CDEF = """
    typedef struct { int a; double b; } pair_t;
    typedef struct { long v[5]; } big_t;
    typedef struct { float x, y; } vec2_t;
    typedef enum { RED, GREEN = 5, BLUE = -1 } color_t;
    typedef struct { pair_t p; char tag; short s[3]; } nested_t;
    struct with_bits { int x : 3; };
    union number { int i; float f; };
    struct opaque;
"""


@pytest.fixture(scope="module")
def clib(build_clib):
    """tests/clib/callbacks.c as a ctypes.CDLL (the GIL is released during calls)."""
    return ctypes.CDLL(build_clib("callbacks", ["-O1", "-pthread"], ["m"]))


def address(ffi, cb):
    return ctypes.c_void_p(int(ffi.cast("intptr_t", cb)))


def cfunc(lib, name, restype, *argtypes):
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = [ctypes.c_void_p, *argtypes]
    return fn


class Pair(ctypes.Structure):
    _fields_ = [("a", ctypes.c_int), ("b", ctypes.c_double)]


# ---------------------------------------------------------------- the cdata


def test_repr_and_type(ffi):
    def add(a, b):
        return a + b

    cb = ffi.callback("int(*)(int, int)", add)
    assert re.fullmatch(r"<cdata 'int\(\*\)\(int, int\)' calling <function "
                        r"test_repr_and_type.<locals>.add at 0x[0-9a-f]+>>", repr(cb))
    assert ffi.typeof(cb) is ffi.typeof("int(*)(int, int)")
    assert isinstance(cb, ffi.CData)
    assert int(ffi.cast("intptr_t", cb)) != 0


def test_function_type_string_means_pointer(ffi):
    cb = ffi.callback("int(int, int)", lambda a, b: a - b)
    assert ffi.typeof(cb) is ffi.typeof("int(*)(int, int)")
    cb2 = ffi.callback(ffi.typeof("double(*)(double)"), lambda x: x)
    assert ffi.typeof(cb2) is ffi.typeof("double(*)(double)")


def test_ints(ffi, clib):
    cb = ffi.callback("int(int, int)", lambda a, b: a * 10 + b)
    fn = cfunc(clib, "call_int2", ctypes.c_int, ctypes.c_int, ctypes.c_int)
    assert fn(address(ffi, cb), 4, 2) == 42
    assert fn(address(ffi, cb), -4, -2) == -42


def test_doubles(ffi, clib):
    cb = ffi.callback("double(double, double)", lambda a, b: a / b)
    fn = cfunc(clib, "call_double2", ctypes.c_double, ctypes.c_double, ctypes.c_double)
    assert fn(address(ffi, cb), 1.0, 4.0) == 0.25


def test_mixed_arguments(ffi, clib):
    seen = []

    def f(c, s, i, ll, fl, d):
        seen.append((c, s, i, ll, fl, d))
        return ll + i

    cb = ffi.callback("long long(char, short, int, long long, float, double)", f)
    fn = cfunc(clib, "call_mixed", ctypes.c_longlong, ctypes.c_int)
    assert fn(address(ffi, cb), 5) == (5 << 40) + 15
    assert seen == [(b"\x05", 10, 15, 5 << 40, 2.5, 1.25)]


def test_unsigned_maxima(ffi, clib):
    seen = []

    def f(*args):
        seen.append(args)
        return 2**64 - 1

    cb = ffi.callback("unsigned long long(unsigned char, unsigned short, unsigned int, "
                      "unsigned long long)", f)
    fn = cfunc(clib, "call_unsigned", ctypes.c_ulonglong)
    assert fn(address(ffi, cb)) == 2**64 - 1
    assert seen == [(255, 65535, 2**32 - 1, 2**64 - 1)]


@pytest.mark.parametrize("ctype, cname, value, expected", [
    ("char", "call_char_result", b"A", 65),
    ("signed char", "call_schar_result", -3, -3),
    ("unsigned char", "call_uchar_result", 200, 200),
    ("short", "call_short_result", -300, -300),
    ("unsigned short", "call_ushort_result", 65000, 65000),
    ("_Bool", "call_bool_result", True, 1),
    ("color_t", "call_enum_result", -1, -1),
    ("color_t", "call_enum_result", 5, 5),
])
def test_narrow_results(ffi, clib, ctype, cname, value, expected):
    cb = ffi.callback(f"{ctype}(int)", lambda x: value)
    assert cfunc(clib, cname, ctypes.c_int, ctypes.c_int)(address(ffi, cb), 0) == expected


def test_float_result(ffi, clib):
    cb = ffi.callback("float(float)", lambda x: x * 3)
    fn = cfunc(clib, "call_float_result", ctypes.c_double, ctypes.c_float)
    assert fn(address(ffi, cb), 1.5) == 4.5


def test_long_double(ffi, clib):
    seen = []

    def f(x):
        seen.append(x)
        return float(x) * 2

    cb = ffi.callback("long double(long double)", f)
    fn = cfunc(clib, "call_long_double", ctypes.c_double, ctypes.c_double)
    assert fn(address(ffi, cb), 1.25) == 2.5
    assert ffi.typeof(seen[0]) is ffi.typeof("long double")
    assert float(seen[0]) == 1.25


@cffix_only
def test_complex(ffi, clib):
    cb = ffi.callback("double _Complex(double _Complex)", lambda z: z * 1j)
    fn = cfunc(clib, "call_complex", ctypes.c_double, ctypes.c_double, ctypes.c_double)
    assert fn(address(ffi, cb), 2.0, 3.0) == -3.0 * 1000 + 2.0


# ---------------------------------------------------------------- structs and pointers


def test_struct_argument(ffi, clib):
    seen = []

    def f(p):
        seen.append(p)
        return p.a + p.b

    cb = ffi.callback("double(pair_t)", f)
    fn = cfunc(clib, "call_struct_arg", ctypes.c_double, ctypes.c_int, ctypes.c_double)
    assert fn(address(ffi, cb), 3, 0.5) == 3.5
    assert ffi.typeof(seen[0]) is ffi.typeof("pair_t")


@cffix_only
def test_struct_argument_is_an_owned_copy(ffi, clib):
    kept = []
    cb = ffi.callback("double(pair_t)", lambda p: kept.append(p) or 0.0)
    fn = cfunc(clib, "call_struct_arg", ctypes.c_double, ctypes.c_int, ctypes.c_double)
    for i in range(5):
        fn(address(ffi, cb), i, i / 2)
    # Each copy outlives its call (the C frames that held the structs are long gone).
    assert [(p.a, p.b) for p in kept] == [(i, i / 2) for i in range(5)]
    kept[0].a = 99  # and is writable memory of its own
    assert kept[0].a == 99 and kept[1].a == 1


@pytest.mark.parametrize("make", [
    lambda ffi, x: {"a": x, "b": 0.5},
    lambda ffi, x: (x, 0.5),
    lambda ffi, x: ffi.new("pair_t *", [x, 0.5])[0],
])
def test_struct_result(ffi, clib, make):
    cb = ffi.callback("pair_t(int)", lambda x: make(ffi, x))
    fn = cfunc(clib, "call_struct_result", ctypes.c_double, ctypes.c_int)
    assert fn(address(ffi, cb), 7) == 7.5


def test_big_struct_in_memory(ffi, clib):
    cb = ffi.callback("long(big_t)", lambda b: sum(b.v[i] * (i + 1) for i in range(5)))
    fn = cfunc(clib, "call_big_arg", ctypes.c_long, ctypes.c_long)
    assert fn(address(ffi, cb), 10) == sum((10 + i) * (i + 1) for i in range(5))
    cb2 = ffi.callback("big_t(long)", lambda base: {"v": [base * i for i in range(5)]})
    fn2 = cfunc(clib, "call_big_result", ctypes.c_long, ctypes.c_long)
    assert fn2(address(ffi, cb2), 3) == sum(3 * i * (i + 1) for i in range(5))


def test_nested_struct_with_array(ffi, clib):
    def f(n):
        assert n.tag == b"x"
        return n.p.a + n.p.b + 10 * sum(n.s)

    cb = ffi.callback("double(nested_t)", f)
    fn = cfunc(clib, "call_nested", ctypes.c_double, ctypes.c_int)
    assert fn(address(ffi, cb), 3) == 3 + 1.5 + 60


def test_two_float_struct(ffi, clib):
    cb = ffi.callback("vec2_t(vec2_t)", lambda v: (v.y, v.x))
    fn = cfunc(clib, "call_vec2", ctypes.c_double, ctypes.c_float, ctypes.c_float)
    assert fn(address(ffi, cb), 1.0, 2.0) == 2001.0


def test_pointer_argument(ffi, clib):
    def fill(out, n):
        assert ffi.typeof(out) is ffi.typeof("int *")
        for i in range(n):
            out[i] = i * i

    cb = ffi.callback("void(int *, int)", fill)
    fn = cfunc(clib, "call_pointer", ctypes.c_long, ctypes.c_int)
    assert fn(address(ffi, cb), 10) == sum(i * i for i in range(10))


def test_pointer_result(ffi, clib):
    cb = ffi.callback("char *(char *)", lambda p: p + 5)
    assert cfunc(clib, "call_pointer_result", ctypes.c_long)(address(ffi, cb)) == 5


def test_function_pointer_argument(ffi, clib):
    seen = []

    def f(g, x):
        seen.append(g)
        return x

    cb = ffi.callback("int(int(*)(int), int)", f)
    assert cfunc(clib, "call_with_function", ctypes.c_int, ctypes.c_int)(
        address(ffi, cb), 4) == 4
    twice = cfunc(clib, "twice_address", ctypes.c_void_p)
    twice.argtypes = []
    assert ffi.typeof(seen[0]) is ffi.typeof("int(*)(int)")
    assert int(ffi.cast("intptr_t", seen[0])) == twice()


def test_callable_from_python(ffi):
    cb = ffi.callback("int(int, int)", lambda a, b: a * b)
    assert cb(6, 7) == 42


def test_void_result(ffi, clib):
    seen = []
    cb = ffi.callback("void(int)", seen.append)
    cfunc(clib, "call_void", None, ctypes.c_int)(address(ffi, cb), 3)
    assert seen == [3]


# ---------------------------------------------------------------- threads, errno, loops


def test_errno_contract(ffi, clib):
    seen = []

    def f():
        seen.append(ffi.errno)  # the caller's errno, saved on entry
        ffi.errno = 7           # handed back to the caller on exit
        return 1

    cb = ffi.callback("int(void)", f)
    result = ctypes.c_int()
    fn = cfunc(clib, "call_errno", ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int))
    assert fn(address(ffi, cb), 42, ctypes.byref(result)) == 7
    assert seen == [42] and result.value == 1


def test_from_new_threads(ffi, clib):
    idents = set()

    def f(x):
        idents.add(threading.get_ident())
        return x

    cb = ffi.callback("int(int)", f)
    fn = cfunc(clib, "call_in_threads", ctypes.c_long, ctypes.c_int, ctypes.c_int)
    n, count = 8, 500
    assert fn(address(ffi, cb), n, count) == sum(range(n * count))
    assert threading.get_ident() not in idents and len(idents) >= 1


def test_exception_in_foreign_thread(ffi, clib, unraisable):
    def f(x):
        raise ValueError(x)

    cb = ffi.callback("int(int)", f, error=-1)
    fn = cfunc(clib, "call_in_threads", ctypes.c_long, ctypes.c_int, ctypes.c_int)
    assert fn(address(ffi, cb), 2, 3) == -6
    assert len(unraisable) == 6
    assert all(r.exc_type is ValueError for r in unraisable)


def test_called_with_the_gil_held(ffi, clib):
    # ctypes.PyDLL keeps the GIL during the call: the callback runs on the same thread
    # with the GIL already taken (PyGILState_Ensure is re-entrant).
    lib = ctypes.PyDLL(clib._name)
    cb = ffi.callback("int(int, int)", lambda a, b: a + b)
    assert cfunc(lib, "call_int2", ctypes.c_int, ctypes.c_int, ctypes.c_int)(
        address(ffi, cb), 1, 2) == 3


def test_many_calls(ffi, clib):
    cb = ffi.callback("int(int)", lambda x: x & 0xFF)
    fn = cfunc(clib, "call_many", ctypes.c_long, ctypes.c_int)
    assert fn(address(ffi, cb), 100_000) == sum(x & 0xFF for x in range(100_000))


def test_qsort_with_python_comparator(ffi):
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.qsort.restype = None
    libc.qsort.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_void_p]

    @ffi.callback("int(const void *, const void *)")
    def compare(a, b):
        x = ffi.cast("int *", a)[0]
        y = ffi.cast("int *", b)[0]
        return (x > y) - (x < y)

    values = [5, -3, 99, 0, 7, 7, -100, 42]
    array = ffi.new("int[]", values)
    libc.qsort(int(ffi.cast("intptr_t", array)), len(values), ffi.sizeof("int"),
               address(ffi, compare))
    assert list(array) == sorted(values)


# ---------------------------------------------------------------- errors


def test_exception_gives_error_value_and_report(module, ffi, clib, unraisable):
    def f(a, b):
        raise ValueError("boom")

    fn = cfunc(clib, "call_int2", ctypes.c_int, ctypes.c_int, ctypes.c_int)
    assert fn(address(ffi, ffi.callback("int(int, int)", f)), 1, 2) == 0  # default: 0
    assert fn(address(ffi, ffi.callback("int(int, int)", f, error=-7)), 1, 2) == -7
    assert len(unraisable) == 2
    report = unraisable[0]
    assert report.exc_type is ValueError and str(report.exc_value) == "boom"
    assert report.exc_traceback is not None
    assert report.err_msg.startswith(f"Exception ignored from cffi callback {f!r}")  # cffi's


def test_wrong_arity_is_reported(ffi, clib, unraisable):
    cb = ffi.callback("int(int, int)", lambda a: a, error=-1)
    fn = cfunc(clib, "call_int2", ctypes.c_int, ctypes.c_int, ctypes.c_int)
    assert fn(address(ffi, cb), 1, 2) == -1
    assert [r.exc_type for r in unraisable] == [TypeError]


@pytest.mark.parametrize("result, exc_type", [("text", TypeError), (2**40, OverflowError),
                                              (None, TypeError), (1.5, TypeError)])
def test_wrong_result_type(ffi, clib, unraisable, result, exc_type):
    cb = ffi.callback("int(int, int)", lambda a, b: result, error=-2)
    fn = cfunc(clib, "call_int2", ctypes.c_int, ctypes.c_int, ctypes.c_int)
    assert fn(address(ffi, cb), 1, 2) == -2
    assert len(unraisable) == 1
    assert unraisable[0].exc_type is exc_type
    assert unraisable[0].err_msg.endswith(", trying to convert the result back to C")


def test_void_callback_must_return_none(ffi, clib, unraisable):
    cb = ffi.callback("void(int)", lambda x: 42)
    cfunc(clib, "call_void", None, ctypes.c_int)(address(ffi, cb), 3)
    assert len(unraisable) == 1 and unraisable[0].exc_type is TypeError
    assert "must return None" in str(unraisable[0].exc_value)


def test_wrong_struct_result_gives_error_value(ffi, clib, unraisable):
    cb = ffi.callback("pair_t(int)", lambda x: "nope", error={"a": 1, "b": 0.25})
    fn = cfunc(clib, "call_struct_result", ctypes.c_double, ctypes.c_int)
    assert fn(address(ffi, cb), 7) == 1.25
    assert len(unraisable) == 1


def test_onerror_overrides_result(ffi, clib, unraisable):
    seen = []

    def onerror(exc_type, exc_value, tb):
        seen.append((exc_type, str(exc_value), tb is not None))
        return 99

    def f(a, b):
        raise KeyError("k")

    cb = ffi.callback("int(int, int)", f, error=-1, onerror=onerror)
    fn = cfunc(clib, "call_int2", ctypes.c_int, ctypes.c_int, ctypes.c_int)
    assert fn(address(ffi, cb), 1, 2) == 99
    assert seen == [(KeyError, "'k'", True)]
    assert unraisable == []


def test_onerror_sees_conversion_errors(ffi, clib, unraisable):
    seen = []

    def onerror(exc_type, exc_value, tb):
        seen.append(exc_type)
        return 5

    cb = ffi.callback("int(int, int)", lambda a, b: 2**40, error=-1, onerror=onerror)
    fn = cfunc(clib, "call_int2", ctypes.c_int, ctypes.c_int, ctypes.c_int)
    assert fn(address(ffi, cb), 1, 2) == 5
    assert seen == [OverflowError] and unraisable == []


def test_onerror_returning_none_gives_error_value(ffi, clib, unraisable):
    cb = ffi.callback("int(int, int)", lambda a, b: 1 / 0, error=-1,
                      onerror=lambda *exc: None)
    fn = cfunc(clib, "call_int2", ctypes.c_int, ctypes.c_int, ctypes.c_int)
    assert fn(address(ffi, cb), 1, 2) == -1
    assert unraisable == []


@pytest.mark.parametrize("onerror_result", ["raise", "bad value"])
def test_onerror_failing_is_reported(module, ffi, clib, unraisable, onerror_result):
    def onerror(*exc):
        if onerror_result == "raise":
            raise RuntimeError("onerror broke")
        return "not an int"

    def f(a, b):
        raise ValueError("original")

    cb = ffi.callback("int(int, int)", f, error=-1, onerror=onerror)
    fn = cfunc(clib, "call_int2", ctypes.c_int, ctypes.c_int, ctypes.c_int)
    assert fn(address(ffi, cb), 1, 2) == -1
    assert [r.exc_type for r in unraisable] == [
        ValueError, RuntimeError if onerror_result == "raise" else TypeError]
    assert "cffi callback" in unraisable[0].err_msg
    assert "'onerror'" in unraisable[1].err_msg


# ---------------------------------------------------------------- the decorator form


def test_decorator(ffi, clib):
    @ffi.callback("int(int, int)")
    def add(a, b):
        return a + b

    assert ffi.typeof(add) is ffi.typeof("int(*)(int, int)")
    fn = cfunc(clib, "call_int2", ctypes.c_int, ctypes.c_int, ctypes.c_int)
    assert fn(address(ffi, add), 20, 22) == 42


def test_decorator_with_error_and_onerror(ffi, clib, unraisable):
    seen = []

    @ffi.callback("int(int, int)", error=-5, onerror=lambda *exc: seen.append(exc[0]))
    def f(a, b):
        raise ValueError

    fn = cfunc(clib, "call_int2", ctypes.c_int, ctypes.c_int, ctypes.c_int)
    assert fn(address(ffi, f), 1, 2) == -5
    assert seen == [ValueError] and unraisable == []


@cffix_only
def test_decorator_checks_error_early(ffi):
    with pytest.raises(TypeError):
        ffi.callback("int(int)", error="not an int")


# ---------------------------------------------------------------- creation errors


def test_bad_error_value(ffi):
    with pytest.raises(TypeError):
        ffi.callback("int(int)", lambda x: x, error="x")
    with pytest.raises(TypeError):
        ffi.callback("int(int)", lambda x: x, error=1.5)
    with pytest.raises(OverflowError):
        ffi.callback("int(int)", lambda x: x, error=2**40)
    with pytest.raises(TypeError):
        ffi.callback("int *(int)", lambda x: x, error=5)
    with pytest.raises(TypeError):
        ffi.callback("void(int)", lambda x: x, error=5)
    cb = ffi.callback("int *(int)", lambda x: x, error=ffi.NULL)  # NULL is a pointer's error
    assert ffi.typeof(cb) is ffi.typeof("int *(*)(int)")


def test_not_a_function_type(ffi):
    for cdecl in ["int", "int *", "int(**)(int)", "pair_t"]:
        with pytest.raises(TypeError, match="expected a function ctype"):
            ffi.callback(cdecl, lambda: 0)


def test_not_callable(ffi):
    with pytest.raises(TypeError, match="not callable"):
        ffi.callback("int(int)", 42)
    with pytest.raises(TypeError, match="onerror"):
        ffi.callback("int(int)", lambda x: x, onerror=42)


def test_variadic_refused(ffi):
    with pytest.raises(NotImplementedError):
        ffi.callback("int(int, ...)", lambda *a: 0)


@pytest.mark.parametrize("cdecl", ["void(union number)", "union number(void)",
                                   "void(struct with_bits)", "struct with_bits(int)"])
def test_unsupported_by_value(ffi, cdecl):
    with pytest.raises(NotImplementedError):
        ffi.callback(cdecl, lambda *a: None)


@pytest.mark.parametrize("cdecl, message", [
    pytest.param("void(struct opaque)", "ctype 'struct opaque' has incomplete type",
                 id="void(struct opaque)"),
    pytest.param("struct opaque(void)", "result type 'struct opaque' is not yet initialized",
                 id="struct opaque(void)"),
])
def test_incomplete_by_value(ffi, cdecl, message):
    with pytest.raises(TypeError, match=re.escape(message)):
        ffi.callback(cdecl, lambda *a: None)


@cffix_only
def test_unsupported_message_names_the_argument(ffi):
    with pytest.raises(NotImplementedError) as info:
        ffi.callback("void(int, struct with_bits)", lambda *a: None)
    # cffi's one message for every callback type it refuses; cffix's reason in the notes
    assert str(info.value) == ("void(*)(int, struct with_bits): callback with unsupported "
                               "argument or return type or with '...'")
    assert re.search(r"argument 2: 'struct with_bits' has bit fields", info.value.__notes__[-1])


def test_packed_struct_by_value_refused(module):
    ffi = module.FFI()
    ffi.cdef("struct packed { char c; int i; };", packed=True)
    with pytest.raises(NotImplementedError):
        ffi.callback("void(struct packed)", lambda p: None)
    seen = []
    cb = ffi.callback("void(struct packed *)", seen.append)  # a pointer to it is fine
    p = ffi.new("struct packed *", [b"c", 7])
    cb(p)
    assert seen == [p] and seen[0].i == 7


def test_pointers_to_unsupported_types_are_fine(ffi):
    seen = []
    cb = ffi.callback("void(union number *, struct with_bits *, struct opaque *)",
                      lambda *a: seen.append(a))
    assert ffi.typeof(cb) is ffi.typeof(
        "void(*)(union number *, struct with_bits *, struct opaque *)")
    n, b = ffi.new("union number *", [5]), ffi.new("struct with_bits *", [-2])
    cb(n, b, ffi.NULL)
    assert len(seen) == 1
    assert (seen[0][0].i, seen[0][1].x, seen[0][2]) == (5, -2, ffi.NULL)


# ---------------------------------------------------------------- lifetime


def test_collected_when_unreferenced(ffi):
    def f(x):
        return x

    cb = ffi.callback("int(int)", f)
    before = sys.getrefcount(f)
    ref = weakref.ref(cb)
    del cb
    assert ref() is None
    assert sys.getrefcount(f) == before - 1


def test_cycle_through_the_callable_is_collected(ffi):
    holder = {}

    def f(x):
        return holder["cb"] and x

    holder["cb"] = ffi.callback("int(int)", f)
    ref = weakref.ref(holder["cb"])
    del holder, f
    gc.collect()
    assert ref() is None


def test_callback_dropping_its_last_reference(ffi, clib, unraisable):
    holder = {}

    def f(a, b):
        del holder["cb"]  # the cdata now lives only as long as this call
        raise ValueError("after the drop")

    holder["cb"] = ffi.callback("int(int, int)", f, error=-9)
    ref = weakref.ref(holder["cb"])
    fn = cfunc(clib, "call_int2", ctypes.c_int, ctypes.c_int, ctypes.c_int)
    assert fn(address(ffi, holder["cb"]), 1, 2) == -9
    assert ref() is None
    assert [r.exc_type for r in unraisable] == [ValueError]


def test_many_callbacks_made_and_freed(ffi, clib):
    fn = cfunc(clib, "call_int2", ctypes.c_int, ctypes.c_int, ctypes.c_int)
    for i in range(2000):
        cb = ffi.callback("int(int, int)", lambda a, b, i=i: a + b + i)
        assert fn(address(ffi, cb), 1, 2) == 3 + i
