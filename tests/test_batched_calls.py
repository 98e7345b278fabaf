"""Batched calls: f.map(*args, out=None, errors="raise") calls a C function once per item
of its array arguments (cdata arrays, buffers, NumPy arrays of any stride) with single
values used in every call, in one crossing; the results come back as a cdata array or in
`out`. Real C: libm (sin, pow, ldexp, sinf) and tests/clib/batched.c, each result
compared with a Python loop of ordinary calls, through the thunks and through libffi.
"""

import array
import errno

import numpy as np
import pytest

from support import cffix_only

pytestmark = [cffix_only, pytest.mark.usefixtures("call_path")]

CDEF = """
    enum color { RED, GREEN, BLUE };
    struct point { int x, y; };
    int scale(int x, int k);
    unsigned char u8_inc(unsigned char x);
    short neg16(short x);
    long long mul64(long long a, long long b);
    uint64_t u64_xor(uint64_t a, uint64_t b);
    _Bool is_even(int x);
    int from_bool(_Bool b);
    enum color next_color(enum color c);
    float halve(float x);
    double mixed(int a, double b, long c, float d);
    long sum6(long a, long b, long c, long d, long e, long f);
    long sum8(long a, long b, long c, long d, long e, long f, long g, long h);
    double sum_fp9(double a, double b, double c, double d, double e, double f, double g,
                   double h, double i);
    int point_x(const struct point *p);
    int point_sum(const struct point *p, int k);
    int *int_next(int *p);
    int deref(const int *p);
    void record(int x);
    int recorded(int i);
    int recorded_count(void);
    void reset_record(void);
    int next_id(void);
    int checked_double(int x);
    int point_by_value(struct point p);
    struct point make_point(int x);
    long double ld_half(long double x);
    int char_code(char c);
    int sum_var(int n, ...);
    int checked_record(int x);
    const char *last_error(void);
    int divide(int a, int b, int *q, double *r);
    int accumulate(int x, long *total);
    void reset_interrupted(void);
    int interrupt_once(int x);
    const char *greet(int x);
"""

LIBM_CDEF = """
    double sin(double x);
    double pow(double x, double y);
    double ldexp(double x, int e);
    float sinf(float x);
"""


@pytest.fixture(scope="module")
def batched_library(build_clib):
    return build_clib("batched", ["-O2", "-ffp-contract=off"])


@pytest.fixture
def lib(ffi, batched_library):
    return ffi.dlopen(batched_library)


@pytest.fixture
def m(module):
    ffi = module.FFI()
    ffi.cdef(LIBM_CDEF)
    return ffi.dlopen("libm.so.6")


def recorded(lib):
    return [lib.recorded(i) for i in range(lib.recorded_count())]


# ------------------------------------------------------------------ libm over NumPy


def test_sin_over_numpy_equals_a_loop_of_calls(m):
    x = np.linspace(-4, 4, 1001)
    r = m.sin.map(x)
    assert list(r) == [m.sin(v) for v in x.tolist()]
    assert len(r) == 1001


def test_result_is_a_new_cdata_array_of_the_result_type(module, m):
    r = m.sin.map(np.array([0.0, 1.0]))
    assert isinstance(r, module.FFI.CData)
    assert module.FFI().typeof(r).cname == "double[]"
    assert "owning 16 bytes" in repr(r)


def test_pow_with_a_broadcast_number_and_a_0d_array(m):
    x = np.arange(10.0)
    assert list(m.pow.map(x, 2.0)) == [m.pow(v, 2.0) for v in x.tolist()]
    assert list(m.pow.map(2, x)) == [m.pow(2.0, v) for v in x.tolist()]
    assert list(m.pow.map(x, np.array(0.5))) == [m.pow(v, 0.5) for v in x.tolist()]
    assert list(m.pow.map(x, np.float64(3))) == [m.pow(v, 3.0) for v in x.tolist()]


def test_ldexp_strided_and_reversed_numpy_arrays(m):
    x = np.linspace(0.0, 1.0, 40)
    e = np.arange(-20, 20, dtype=np.int32)
    xs, es = x[::3], e[::-3]  # strides 24 and -12 bytes
    assert len(xs) == len(es)
    expected = [m.ldexp(a, b) for a, b in zip(xs.tolist(), es.tolist())]
    assert list(m.ldexp.map(xs, es)) == expected
    # int64 exponents are range-checked, then passed as int
    assert list(m.ldexp.map(xs, es.astype(np.int64))) == expected
    # a column of a 2-D array (a strided view)
    grid = np.arange(12.0).reshape(4, 3)
    assert list(m.sin.map(grid[:, 1])) == [m.sin(v) for v in grid[:, 1].tolist()]


def test_float_function_over_doubles_and_float32(m):
    x = np.linspace(0, 2, 17)
    assert list(m.sinf.map(x)) == [m.sinf(v) for v in x.tolist()]
    x32 = x.astype(np.float32)
    assert list(m.sinf.map(x32)) == [m.sinf(float(v)) for v in x32]
    # integers become doubles, as a call converts an int
    assert list(m.sin.map(np.arange(5, dtype=np.int16))) == [m.sin(v) for v in range(5)]


def test_out_numpy_array_in_place_and_strided(m):
    x = np.linspace(0, 3, 12)
    expected = [m.sin(v) for v in x.tolist()]
    out = np.empty(12)
    assert m.sin.map(x, out=out) is out
    assert out.tolist() == expected
    y = x.copy()
    m.sin.map(y, out=y)  # in place
    assert y.tolist() == expected
    wide = np.zeros(24)
    m.sin.map(x, out=wide[::2])
    assert wide[::2].tolist() == expected and not wide[1::2].any()


def test_large_batch_spans_many_chunks(m):
    x = np.linspace(0, 100, 5000)
    r = m.pow.map(x, 0.5)
    assert list(r) == [m.pow(v, 0.5) for v in x.tolist()]


# ------------------------------------------------------------------ other inputs


def test_array_array_bytes_bytearray_memoryview_and_cdata_arrays(ffi, lib):
    ints = array.array("i", [1, -2, 3])
    assert list(lib.scale.map(ints, 3)) == [3, -6, 9]
    assert list(lib.u8_inc.map(b"\x00\x01\xfe")) == [1, 2, 255]
    assert list(lib.u8_inc.map(bytearray(b"\xff"))) == [0]
    assert list(lib.scale.map(memoryview(ints)[::2], 2)) == [2, 6]
    c = ffi.new("int[]", [5, 6, 7])
    assert list(lib.scale.map(c, c)) == [25, 36, 49]
    fixed = ffi.new("short[2]", [4, -4])
    assert list(lib.neg16.map(fixed)) == [-4, 4]
    assert list(lib.scale.map(ffi.new("int[5]", [1, 2, 3, 4, 5])[1:3], 10)) == [20, 30]
    assert list(lib.scale.map(ffi.cast("int", 4), ints)) == [4, -8, 12]


def test_integer_widths_and_unsigned_64(ffi, lib):
    a = np.array([2**40, -3, 7], dtype=np.int64)
    assert list(lib.mul64.map(a, -2)) == [lib.mul64(int(v), -2) for v in a]
    u = np.array([2**64 - 1, 0, 2**63], dtype=np.uint64)
    assert list(lib.u64_xor.map(u, 1)) == [lib.u64_xor(int(v), 1) for v in u]
    assert list(lib.neg16.map(np.array([1, -32767], dtype=np.int16))) == [-1, 32767]


def test_bool_and_enum_parameters_and_results(ffi, lib):
    assert list(lib.is_even.map(np.arange(5, dtype=np.int32))) == [True, False, True, False, True]
    assert list(lib.from_bool.map(np.array([True, False]))) == [10, 20]
    assert list(lib.from_bool.map(np.array([1, 0], dtype=np.uint8))) == [10, 20]
    colors = ffi.new("enum color[]", [0, 1, 2])
    r = lib.next_color.map(colors)
    assert ffi.typeof(r).cname == "enum color[]"
    assert list(r) == [lib.GREEN, lib.BLUE, lib.RED] == [lib.next_color(c) for c in range(3)]
    assert list(lib.next_color.map(np.array([2, 0], dtype=np.uint32))) == [lib.RED, lib.GREEN]
    # a single value for every call, the count from out
    assert list(lib.next_color.map(lib.BLUE, out=ffi.new("enum color[2]"))) == [lib.RED, lib.RED]


def test_mixed_arguments_and_many_arguments(ffi, lib):
    a = np.arange(4, dtype=np.int32)
    b = np.linspace(0, 1, 4)
    c = np.arange(4, dtype=np.int64)
    d = np.full(4, 0.5, dtype=np.float32)
    assert list(lib.mixed.map(a, b, c, d)) == [
        lib.mixed(*row) for row in zip(a.tolist(), b.tolist(), c.tolist(), d.tolist())]
    cols = [np.arange(i, i + 5, dtype=np.int64) for i in range(8)]
    assert list(lib.sum6.map(*cols[:6])) == [lib.sum6(*r) for r in zip(*(x.tolist()
                                                                         for x in cols[:6]))]
    assert list(lib.sum8.map(*cols[:7], 100)) == [
        lib.sum8(*r, 100) for r in zip(*(x.tolist() for x in cols[:7]))]
    fps = [np.linspace(i, i + 1, 3) for i in range(9)]
    assert list(lib.sum_fp9.map(*fps)) == [lib.sum_fp9(*r) for r in zip(*(x.tolist()
                                                                         for x in fps))]


def test_pointer_parameters_and_results(ffi, lib):
    points = ffi.new("struct point[3]", [(1, 2), (3, 4), (5, 6)])
    ptrs = ffi.new("struct point *[]", [points + i for i in range(3)])
    assert list(lib.point_x.map(ptrs)) == [1, 3, 5]
    assert list(lib.point_sum.map(ptrs, np.array([1, 2, 3], dtype=np.int32))) == [3, 14, 33]
    # a single pointer used in every call
    assert list(lib.point_sum.map(points + 1, np.arange(3, dtype=np.int32))) == [0, 7, 14]
    ints = ffi.new("int[4]", [10, 20, 30, 40])
    iptrs = ffi.new("int *[]", [ints, ints + 2])
    nexts = lib.int_next.map(iptrs)
    assert ffi.typeof(nexts).cname == "int *[]"
    assert [p[0] for p in nexts] == [20, 40]
    assert list(lib.deref.map(nexts)) == [20, 40]
    voids = ffi.new("void *[]", [ffi.cast("void *", ints + 3)])
    assert list(lib.deref.map(voids)) == [40]  # void * items for an int * parameter


def test_void_function_returns_none_and_calls_in_order(ffi, lib):
    lib.reset_record()
    assert lib.record.map(np.array([4, 5, 6], dtype=np.int32)) is None
    assert recorded(lib) == [4, 5, 6]


def test_function_without_parameters_takes_its_count_from_out(ffi, lib):
    out = ffi.new("int[3]")
    first = lib.next_id()
    assert lib.next_id.map(out=out) is out
    assert list(out) == [first + 1, first + 2, first + 3]


def test_empty_arrays(ffi, lib, m):
    assert len(m.sin.map(np.array([]))) == 0
    lib.reset_record()
    assert lib.record.map(ffi.new("int[]", 0)) is None
    assert recorded(lib) == []


def test_out_cdata_array_and_mask_mode(ffi, lib):
    out = ffi.new("int[3]")
    assert lib.scale.map(np.array([1, 2, 3], dtype=np.int32), 2, out=out) is out
    assert list(out) == [2, 4, 6]
    r, mask = lib.scale.map(np.array([1, 2], dtype=np.int32), 5, errors="mask")
    assert list(r) == [5, 10]
    assert ffi.typeof(mask).cname == "_Bool[]" and list(mask) == [False, False]
    r = lib.scale.map(np.array([1, 2], dtype=np.int32), 5, errors="ignore")
    assert list(r) == [5, 10]
    none, mask = lib.record.map(np.array([1], dtype=np.int32), errors="mask")
    assert none is None and list(mask) == [False]


def test_function_pointers_and_keeping_the_gil(ffi, lib, batched_library):
    fp = ffi.cast("int(*)(int, int)", ffi.addressof(lib, "scale"))
    assert list(fp.map(np.array([1, 2], dtype=np.int32), 4)) == [4, 8]
    kept = ffi.dlopen(batched_library, release_gil=False)
    assert list(kept.scale.map(np.array([3], dtype=np.int32), 3)) == [9]


def test_callback_as_the_function(ffi):
    seen = []

    @ffi.callback("int(int)")
    def twice(x):
        seen.append(x)
        return 2 * x

    assert list(twice.map(np.array([1, 2, 3], dtype=np.int32))) == [2, 4, 6]
    assert seen == [1, 2, 3]


# ------------------------------------------------------------------ range checks


def test_out_of_range_item_raises_with_index_before_any_call(ffi, lib):
    lib.reset_record()
    with pytest.raises(OverflowError) as e:
        lib.record.map(np.array([1, 2, 2**40, 3], dtype=np.int64))
    assert e.value.index == 2
    assert "argument 0" in str(e.value) and "item 2" in str(e.value)
    assert "1099511627776 does not fit 'int'" in str(e.value)
    assert recorded(lib) == []  # nothing was called
    with pytest.raises(OverflowError) as e:
        lib.u8_inc.map(np.array([1, -1], dtype=np.int8))
    assert e.value.index == 1 and "-1 does not fit 'unsigned char'" in str(e.value)
    with pytest.raises(OverflowError) as e:
        lib.from_bool.map(np.array([0, 1, 2], dtype=np.int32))
    assert e.value.index == 2
    with pytest.raises(OverflowError) as e:
        lib.mul64.map(np.array([2**63], dtype=np.uint64), 1)
    assert e.value.index == 0
    with pytest.raises(OverflowError):  # a single value, checked as a call checks it
        lib.scale.map(np.array([1], dtype=np.int32), 2**31)
    with pytest.raises(OverflowError) as e:  # a 0-d array: no index
        lib.scale.map(np.array([1], dtype=np.int32), np.array(2**40))
    assert not hasattr(e.value, "index")


# ------------------------------------------------------------------ bad input


def test_wrong_lengths(lib, m):
    with pytest.raises(ValueError) as e:
        m.pow.map(np.arange(3.0), np.arange(4.0))
    assert str(e.value).startswith("pow.map(): argument 1 ('y') has 4 items, argument 0 ('x') "
                                   "has 3")
    with pytest.raises(ValueError, match="out= has 2 items, the arguments 3"):
        m.sin.map(np.arange(3.0), out=np.zeros(2))


def test_messages_name_the_argument_and_its_parameter(ffi, lib, m):
    # A library function is a plain cdata (type(lib.f) is ffi.CData, as in cffi), yet its
    # messages name the function and the parameter, as a wrapped one's do; a function
    # pointer made by ffi.cast has no names: its messages give the index and the type.
    with pytest.raises(OverflowError) as e:
        m.ldexp.map(np.arange(2.0), np.array([1, 2**40]))
    assert str(e.value) == ("ldexp.map(): argument 1 (parameter 'e' of type 'int'), item 1: "
                            "integer 1099511627776 does not fit 'int'")
    assert type(m.ldexp) is ffi.CData
    with pytest.raises(TypeError) as e:
        m.sin.map(np.arange(2, dtype=np.int8).astype(">f8"))
    assert str(e.value).startswith("sin.map(): argument 0 (parameter 'x' of type 'double'): ")
    with pytest.raises(TypeError) as e:
        m.pow.map(np.arange(2.0))
    assert str(e.value).startswith("pow.map(): ")
    bare = type(ffi)()
    bare.cdef("double ldexp(double, int);")  # unnamed parameters: the function's name only
    with pytest.raises(OverflowError) as e:
        bare.dlopen("libm.so.6").ldexp.map(np.arange(2.0), np.array([1, 2**40]))
    assert str(e.value) == ("ldexp.map(): argument 1 (parameter of type 'int'), item 1: "
                            "integer 1099511627776 does not fit 'int'")
    own = type(ffi)()
    own.cdef(LIBM_CDEF)
    own.wrap("ldexp", errors=None)
    with pytest.raises(OverflowError) as e:
        own.dlopen("libm.so.6").ldexp.map(np.arange(2.0), np.array([1, 2**40]))
    assert str(e.value) == ("ldexp.map(): argument 1 (parameter 'e' of type 'int'), item 1: "
                            "integer 1099511627776 does not fit 'int'")
    unnamed = ffi.cast("double(*)(double, int)", ffi.addressof(m, "ldexp"))
    with pytest.raises(TypeError) as e:
        unnamed.map(np.arange(2.0), np.arange(2.0))
    assert str(e.value).startswith("map(): argument 1 (parameter of type 'int'): a buffer of "
                                   "format 'd': double items cannot be passed as 'int'")


def test_wrong_buffer_formats(lib, m):
    with pytest.raises(TypeError, match=r"argument 0 .*'int'.*double items cannot be passed"):
        lib.scale.map(np.arange(3.0), 1)
    with pytest.raises(TypeError, match="format '>d'"):
        m.sin.map(np.arange(3.0).astype(">f8"))
    with pytest.raises(TypeError, match="format 'e'"):
        m.sin.map(np.arange(3.0).astype(np.float16))
    with pytest.raises(TypeError, match="format 'O'"):
        m.sin.map(np.array([1.0, None]))
    with pytest.raises(TypeError, match="format 'g'"):
        m.sin.map(np.arange(3.0).astype(np.longdouble))
    with pytest.raises(TypeError, match="format"):
        m.sin.map(np.zeros(2, dtype=[("a", "f8"), ("b", "i4")]))
    with pytest.raises(ValueError, match="2 dimensions"):
        m.sin.map(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="a list"):
        m.sin.map([1.0, 2.0])
    with pytest.raises(TypeError, match="argument 1 .*: must be real number, not str"):
        m.pow.map(np.arange(2.0), "x")


def test_wrong_cdata_arrays(ffi, lib, m):
    with pytest.raises(TypeError, match="double items cannot be passed as 'int'"):
        lib.scale.map(ffi.new("double[]", 2), 1)
    with pytest.raises(TypeError, match="struct point"):
        m.sin.map(ffi.new("struct point[2]"))
    with pytest.raises(TypeError, match="has no pointer items"):
        lib.point_x.map(ffi.new("struct point[2]"))
    with pytest.raises(TypeError, match="items are not 'struct point \\*' pointers"):
        lib.point_x.map(ffi.new("int *[2]"))
    with pytest.raises(TypeError, match="pointer items cannot be passed"):
        m.sin.map(ffi.new("double *[2]"))
    released = ffi.new("double[]", 3)
    ffi.release(released)
    with pytest.raises(ValueError):
        m.sin.map(released)


def test_wrong_out(ffi, lib, m):
    with pytest.raises(TypeError, match="out= is a cdata 'int\\[3\\]', the results are 'double'"):
        m.sin.map(np.arange(3.0), out=ffi.new("int[3]"))
    with pytest.raises(TypeError, match="format 'f'"):
        m.sin.map(np.arange(3.0), out=np.zeros(3, dtype=np.float32))
    with pytest.raises(TypeError, match="2-dimensional"):
        m.sin.map(np.arange(4.0), out=np.zeros((2, 2)))
    with pytest.raises(BufferError):  # read-only
        m.sin.map(np.arange(1.0), out=b"\0" * 8)
    with pytest.raises(TypeError, match="out= must be a cdata array"):
        m.sin.map(np.arange(3.0), out=[0, 0, 0])
    with pytest.raises(TypeError, match="returns void"):
        lib.record.map(np.arange(3, dtype=np.int32), out=np.zeros(3, dtype=np.int32))
    with pytest.raises(TypeError, match="pointers go into a cdata array"):
        lib.int_next.map(ffi.new("int *[1]"), out=np.zeros(1, dtype=np.uint64))


def test_unsupported_functions(ffi, lib):
    with pytest.raises(TypeError, match="parameters are integers, enums"):
        lib.point_by_value.map(ffi.new("struct point[1]"))
    with pytest.raises(TypeError, match="returns 'struct point'"):
        lib.make_point.map(np.arange(2, dtype=np.int32))
    with pytest.raises(TypeError, match="'long double'"):
        lib.ld_half.map(np.arange(2.0))
    with pytest.raises(TypeError, match="'char'"):
        lib.char_code.map(b"ab")
    with pytest.raises(TypeError, match="variadic"):
        lib.sum_var.map(np.arange(2, dtype=np.int32))


def test_null_function_pointer(ffi):
    null = ffi.cast("int(*)(int)", 0)
    with pytest.raises(RuntimeError, match="NULL function pointer"):
        null.map(np.arange(3, dtype=np.int32))


def test_bytes_for_a_char_pointer_is_one_value_for_every_call(module):
    ffi = module.FFI()
    ffi.cdef("size_t strlen(const char *s); int strncmp(const char *a, const char *b, size_t n);")
    libc = ffi.dlopen(None)
    n = np.array([0, 1, 2, 3], dtype=np.uint64)
    assert list(libc.strncmp.map(b"abc", b"abd", n)) == [libc.strncmp(b"abc", b"abd", int(k))
                                                         for k in n]
    assert list(libc.strlen.map(b"hello", out=ffi.new("size_t[2]"))) == [5, 5]


def test_bad_call_shapes(lib, m):
    with pytest.raises(TypeError, match="takes 2 arguments .* 1 given"):
        m.pow.map(np.arange(2.0))
    with pytest.raises(ValueError, match="errors must be 'raise', 'mask' or 'ignore', not 'x'"):
        m.sin.map(np.arange(2.0), errors="x")
    with pytest.raises(TypeError, match="unexpected keyword argument 'outt'"):
        m.sin.map(np.arange(2.0), outt=None)
    with pytest.raises(TypeError, match="how many calls"):
        m.pow.map(1.0, 2.0)
    with pytest.raises(TypeError, match="how many calls"):
        lib.next_id.map()


# ------------------------------------------------------------------ other modes


def _load_module(name, path):
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_out_of_line_abi_module(module, batched_library, tmp_path):
    builder = module.FFI()
    builder.cdef("int scale(int x, int k);")
    builder.set_source("_batched_ool", None)
    mod = _load_module("_batched_ool", builder.compile(tmpdir=str(tmp_path)))
    lib = mod.ffi.dlopen(batched_library)
    assert list(lib.scale.map(np.arange(4, dtype=np.int32), 3)) == [0, 3, 6, 9]


def test_api_mode_through_the_function_address(module, tmp_path, cc):
    """API-mode lib.f is a builtin function (as in cffi): its address, a function
    pointer cdata, has map."""
    builder = module.FFI()
    builder.cdef("int triple(int x); double shift(double x, int k);")
    builder.set_source("_batched_api", "static int triple(int x) { return x < 0 ? -1 : 3 * x; }\n"
                       "static double shift(double x, int k) { return x + k; }")
    mod = _load_module("_batched_api", builder.compile(tmpdir=str(tmp_path)))
    ffi, lib = mod.ffi, mod.lib
    triple = ffi.addressof(lib, "triple")
    assert list(triple.map(np.arange(4, dtype=np.int32))) == [lib.triple(i) for i in range(4)]
    x = np.linspace(0, 1, 5)
    r = ffi.addressof(lib, "shift").map(x, np.arange(5, dtype=np.int16))
    assert list(r) == [lib.shift(a, b) for a, b in zip(x.tolist(), range(5))]
    # a wrapped API-mode function is a function cdata: map directly, with its policy
    ffi.wrap("triple", errors=ffi.errors("result < 0", raises=ValueError))
    assert list(lib.triple.map(np.arange(3, dtype=np.int32))) == [0, 3, 6]
    with pytest.raises(ValueError) as e:
        lib.triple.map(np.array([1, -2, 3], dtype=np.int32))
    assert e.value.index == 1


# ------------------------------------------------------------------ error policies (ffi.wrap)


def ints(*values):
    return np.array(values, dtype=np.int32)


def test_policy_raise_stops_at_the_first_failure(ffi, batched_library):
    ffi.wrap("checked_record", errors="minus1_errno")
    lib = ffi.dlopen(batched_library)
    lib.reset_record()
    with pytest.raises(OSError) as e:
        lib.checked_record.map(ints(1, 2, -3, 4, -5))
    assert e.value.index == 2
    assert e.value.errno == errno.EDOM  # read right after that item's call
    assert e.value.func == "checked_record" and e.value.result == -1
    assert recorded(lib) == [1, 2, -3]  # nothing called after the failure


def test_policy_mask_and_ignore(ffi, batched_library):
    ffi.wrap("checked_record", errors="minus1_errno")
    lib = ffi.dlopen(batched_library)
    lib.reset_record()
    r, mask = lib.checked_record.map(ints(1, -2, 3, -4), errors="mask")
    assert list(r) == [2, -1, 6, -1]
    assert list(mask) == [False, True, False, True]
    assert recorded(lib) == [1, -2, 3, -4]
    assert list(lib.checked_record.map(ints(-1, 5), errors="ignore")) == [-1, 10]


def test_policy_message_is_read_per_item_before_the_next_call(ffi, batched_library):
    class Negative(Exception):
        pass

    ffi.wrap("checked_record", errors=ffi.errors("result < 0", message="last_error()",
                                                 raises=Negative))
    lib = ffi.dlopen(batched_library)
    with pytest.raises(Negative) as e:
        # the call of item 2 overwrites the message of item 1: it was read before
        lib.checked_record.map(ints(0, -7, 9))
    assert e.value.index == 1
    assert e.value.message == "negative input -7"
    assert e.value.code == -1


def test_policy_through_libffi_and_many_items(ffi, batched_library, call_path):
    ffi.wrap("checked_record", errors="minus1_errno")
    lib = ffi.dlopen(batched_library)
    x = np.arange(3000, dtype=np.int32)
    x[2500] = -1
    lib.reset_record()
    with pytest.raises(OSError) as e:
        lib.checked_record.map(x)
    assert e.value.index == 2500 and lib.recorded_count() == 2501
    r, mask = lib.checked_record.map(x, errors="mask")
    assert np.flatnonzero(np.array(list(mask))).tolist() == [2500]
    assert list(r)[:3] == [0, 2, 4] and list(r)[2500] == -1


def test_outs_become_arrays(ffi, batched_library):
    ffi.wrap("divide", errors="minus1_errno", out=["q", "r"])
    lib = ffi.dlopen(batched_library)
    q, r = lib.divide.map(ints(7, 9, -8), ints(2, 3, 3))
    assert ffi.typeof(q).cname == "int[]" and ffi.typeof(r).cname == "double[]"
    assert [tuple(x) for x in zip(q, r)] == [lib.divide(7, 2), lib.divide(9, 3),
                                             lib.divide(-8, 3)]
    with pytest.raises(OSError) as e:
        lib.divide.map(ints(1, 2, 3), ints(1, 0, 1))
    assert e.value.index == 1
    (q, r), mask = lib.divide.map(ints(1, 2, 3), ints(1, 0, 1), errors="mask")
    assert list(mask) == [False, True, False] and q[0] == 1 and q[2] == 3
    with pytest.raises(TypeError, match="returns its outs"):
        lib.divide.map(ints(1), ints(1), out=ffi.new("int[1]"))


def test_unchecked_outs_come_after_the_results(ffi, batched_library):
    ffi.wrap("divide", out=["q", "r"])
    lib = ffi.dlopen(batched_library)
    res, q, r = lib.divide.map(ints(7, 1), 2)
    assert list(res) == [0, 0] and list(q) == [3, 0] and list(r) == [0.5, 0.5]


def test_inout_takes_initial_values_and_returns_the_new_ones(ffi, batched_library):
    ffi.wrap("accumulate", out={"total": "inout"})
    lib = ffi.dlopen(batched_library)
    parity, totals = lib.accumulate.map(ints(1, 2, 3), np.array([10, 20, 30], dtype=np.int64))
    assert list(totals) == [11, 22, 33] and list(parity) == [1, 0, 1]
    parity, totals = lib.accumulate.map(ints(1, 2), 100)  # one initial value for every call
    assert list(totals) == [101, 102]
    with pytest.raises(OverflowError) as e:
        lib.accumulate.map(ints(1, 2), np.array([0, 2**63], dtype=np.uint64))
    assert e.value.index == 1


def test_defaults_are_evaluated_once(ffi, batched_library):
    ffi.wrap("scale", default={"k": "3 * 2"})
    lib = ffi.dlopen(batched_library)
    assert list(lib.scale.map(ints(1, 2, 3))) == [6, 12, 18] == [lib.scale(i) for i in (1, 2, 3)]


def test_eintr_is_retried_after_the_signal_handlers(ffi, batched_library):
    ffi.wrap("interrupt_once", errors=ffi.errors("result == -1", "errno", raises=OSError,
                                                 retry_eintr=True))
    lib = ffi.dlopen(batched_library)
    lib.reset_record()
    lib.reset_interrupted()
    assert list(lib.interrupt_once.map(ints(1, 2, 3, 4))) == [1, 2, 3, 4]
    assert recorded(lib) == [1, 2, 3, 3, 4]  # item 2 called again


def test_wrapped_shapes_map_refuses(ffi, batched_library):
    ffi.wrap("greet", text="return")
    lib = ffi.dlopen(batched_library)
    with pytest.raises(TypeError, match="result is text"):
        lib.greet.map(ints(1))
    with pytest.raises(TypeError, match="wrapped takes 2 arguments .* 3 given"):
        ffi.wrap("divide", out=["q", "r"])
        ffi.dlopen(batched_library).divide.map(ints(1), ints(1), ints(1))
