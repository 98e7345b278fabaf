"""ABI-mode calls: tests/clib/calls.c built as a shared library, loaded with ffi.dlopen.

Every primitive type at its limits as argument and result, pointers in and out,
structs by value both ways, many-argument functions (register and stack), variadic
calls, errno, function pointers, the GIL policy, and bad arguments (type, range, count).

Each test runs twice in cffix: through the fast register thunks and through libffi
(`cffix._core._force_libffi(True)`), which must agree. Expected values are computed in
Python from the C rules (limits from the type widths, weighted sums in the C order of
evaluation).

Set CFFIX_TEST_MODULE=cffi to run the same tests with cffi (a check of the harness; the
tests marked cffix_only are then expected to fail).
"""

import ctypes
import math
import re
import struct
import sys
import threading
import time

import pytest

from support import cffix_only

pytestmark = pytest.mark.usefixtures("call_path")  # every test: the thunks, then libffi

# (C type, function suffix in calls.c)
PRIMITIVES = [
    ("char", "char"), ("signed char", "schar"), ("unsigned char", "uchar"),
    ("short", "short"), ("unsigned short", "ushort"), ("int", "int"),
    ("unsigned int", "uint"), ("long", "long"), ("unsigned long", "ulong"),
    ("long long", "llong"), ("unsigned long long", "ullong"),
    ("int8_t", "int8"), ("uint8_t", "uint8"), ("int16_t", "int16"), ("uint16_t", "uint16"),
    ("int32_t", "int32"), ("uint32_t", "uint32"), ("int64_t", "int64"),
    ("uint64_t", "uint64"), ("size_t", "size"), ("intptr_t", "intptr"),
    ("uintptr_t", "uintptr"), ("ptrdiff_t", "ptrdiff"), ("_Bool", "bool"),
    ("wchar_t", "wchar"), ("char16_t", "char16"), ("char32_t", "char32"),
    ("float", "float"), ("double", "double"), ("long double", "ldouble"),
]

CDEF = "".join(
    f"{t} id_{n}({t}); {t} min_{n}(void); {t} max_{n}(void); "
    f"int is_min_{n}({t}); int is_max_{n}({t});\n" for t, n in PRIMITIVES) + r"""
unsigned char low_byte(unsigned long x);
signed char low_byte_signed(unsigned long x);
unsigned short low_half(unsigned long x);
int low_int(unsigned long x);
_Bool is_nonzero(unsigned long x);
long long narrow_mix(signed char a, unsigned char b, short c, unsigned short d, int e,
                     unsigned int f);
long double ldouble_third(void);
int ldouble_is_third(long double x);
long double ldouble_mul(long double a, long double b);
double ldouble_to_double(long double x);
int first_register(int x);
float float_half(float x);
float float_sum(float a, float b);
double float_widen(float x);
float float_narrow(double x);
int double_bits_equal(double x, unsigned long long bits);
enum color { RED, GREEN = 5, BLUE = -1, HUGE_COLOR = 0x7fffffff };
enum color next_color(enum color c);
int color_value(enum color c);

int add(int a, int b);
void noop(void);
double add_double(double a, double b);
double weighted_double(double a, double b);
unsigned long sum_bytes(const char *buf, size_t n);

int *numbers(void);
const char *greeting(void);
void *null_pointer(void);
int is_null(const void *p);
int *ptr_id(int *p);
int *ptr_advance(int *p, ptrdiff_t n);
ptrdiff_t ptr_distance(const char *a, const char *b);
uintptr_t address_of(const void *p);
size_t my_strlen(const char *s);
int count_char(const char *s, char c);
long sum_ints(const int *a, size_t n);
double sum_doubles(const double *a, int n);
size_t wide_length(const wchar_t *s);
void set_int(int *out, int v);
int divide(int a, int b, int *quotient, int *remainder);
void fill_ints(int *a, int n, int start);
void set_string(const char **out);
void double_in_place(double *a, int n);
void copy_upper(char *dst, const char *src);
long sum5arrays(const int *a, const int *b, const int *c, const int *d, const int *e, int n);
int char_is_signed(void);

struct ii { int a, b; };
struct dd { double x, y; };
struct ff3 { float x, y, z; };
struct mixed { char c; double d; int i; };
struct big { long a[8]; };
struct nested { struct ii p; struct dd q; char tag; };
struct tiny { char a, b, c; };
struct huge { long a[80]; };
struct ii make_ii(int a, int b);
int ii_weighted(struct ii s);
struct ii ii_swap(struct ii s);
int ii_pointer_weighted(const struct ii *s);
struct dd make_dd(double x, double y);
double dd_weighted(struct dd s);
struct dd dd_scale(struct dd s, double k);
struct ff3 make_ff3(float x, float y, float z);
double ff3_weighted(struct ff3 s);
struct mixed make_mixed(char c, double d, int i);
double mixed_weighted(struct mixed m);
struct big make_big(long start);
long big_weighted(struct big b);
struct nested make_nested(int a, int b, double x, double y, char tag);
double nested_weighted(struct nested n);
struct tiny make_tiny(char a, char b, char c);
int tiny_weighted(struct tiny t);
struct huge make_huge(long start);
long huge_weighted(struct huge h);
double struct_among(int k, struct dd s, double w, struct ii t, int m);

double mix6(int a, double b, long c, float d, unsigned char e, double f);
long long sum10(int a, long b, short c, unsigned d, long long e, signed char f, int g, long h,
                unsigned short i, long long j);
double mixed10(int a, double b, int c, double d, int e, double f, int g, double h, int i,
               long j);
double sum9d(double a, double b, double c, double d, double e, double f, double g, double h,
             double i);
double full_registers(long a, long b, long c, long d, long e, long f, double g, double h,
                      double i, double j, double k, double l, double m, double n);
double float_double_mix(float a, double b, float c, double d, float e);

int sum_va(int n, ...);
long long sum_ll_va(int n, ...);
double sum_double_va(int n, ...);
int format_into(char *buf, size_t size, const char *fmt, ...);

int set_errno(int e);
int get_errno(void);
int sleep_ms(int ms);
long counter_change_during(long *counter, int ms);
long wait_for_change(long *counter, int timeout_ms);

typedef int (*binop)(int, int);
int apply(binop f, int a, int b);
int apply_or(binop f, int a, int b, int fallback);
int fold(binop f, const int *xs, int n, int start);
binop get_binop(char which);
struct ops { const char *name; binop op; double (*dop)(double, double); };
void get_ops(struct ops *out);
"""


def f32(x):
    """x rounded to a C float, as a Python float."""
    return struct.unpack("f", struct.pack("f", x))[0]


FLT_MAX = struct.unpack("f", b"\xff\xff\x7f\x7f")[0]
SIZEOF = {"char": 1, "short": ctypes.sizeof(ctypes.c_short), "int": ctypes.sizeof(ctypes.c_int),
          "long": ctypes.sizeof(ctypes.c_long), "long long": ctypes.sizeof(ctypes.c_longlong),
          "size_t": ctypes.sizeof(ctypes.c_size_t), "pointer": ctypes.sizeof(ctypes.c_void_p)}

# (suffix, bits, signed) of the integer types whose values are Python ints.
INTEGERS = [
    ("schar", 8, True), ("uchar", 8, False),
    ("short", 8 * SIZEOF["short"], True), ("ushort", 8 * SIZEOF["short"], False),
    ("int", 8 * SIZEOF["int"], True), ("uint", 8 * SIZEOF["int"], False),
    ("long", 8 * SIZEOF["long"], True), ("ulong", 8 * SIZEOF["long"], False),
    ("llong", 8 * SIZEOF["long long"], True), ("ullong", 8 * SIZEOF["long long"], False),
    ("int8", 8, True), ("uint8", 8, False), ("int16", 16, True), ("uint16", 16, False),
    ("int32", 32, True), ("uint32", 32, False), ("int64", 64, True), ("uint64", 64, False),
    ("size", 8 * SIZEOF["size_t"], False), ("intptr", 8 * SIZEOF["pointer"], True),
    ("uintptr", 8 * SIZEOF["pointer"], False), ("ptrdiff", 8 * SIZEOF["pointer"], True),
]


def limits(bits, signed):
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


# ------------------------------------------------------------------------------ fixtures

@pytest.fixture(scope="session")
def calls_library(build_clib):
    """tests/clib/calls.c as a shared library; results are compared exactly: no a*b+c
    contracted into an fma."""
    return build_clib("calls", ["-O2", "-ffp-contract=off"])


@pytest.fixture
def lib(ffi, calls_library):
    return ffi.dlopen(calls_library)


@pytest.fixture
def lib_keeping_gil(ffi, calls_library):
    return ffi.dlopen(calls_library, release_gil=False)


# ------------------------------------------------------------------------------ primitives

@pytest.mark.parametrize("name,bits,signed", INTEGERS)
def test_integer_limits_both_ways(lib, name, bits, signed):
    lo, hi = limits(bits, signed)
    fn = lambda prefix: getattr(lib, prefix + name)  # noqa: E731
    assert fn("min_")() == lo
    assert fn("max_")() == hi
    assert fn("id_")(lo) == lo
    assert fn("id_")(hi) == hi
    assert fn("id_")(0) == 0
    assert fn("is_min_")(lo) == 1
    assert fn("is_max_")(hi) == 1
    assert fn("is_max_")(hi - 1) == 0
    assert fn("is_min_")(lo + 1) == 0
    for v in (lo, hi, lo + 1, hi - 1, (lo + hi) // 2, 1):
        assert fn("id_")(v) == v
        assert type(fn("id_")(v)) is int


@pytest.mark.parametrize("name,bits,signed", INTEGERS)
def test_integer_out_of_range_is_overflow_error(lib, name, bits, signed):
    lo, hi = limits(bits, signed)
    for v in (hi + 1, lo - 1, hi * 4 + 3, -(1 << 200)):
        with pytest.raises(OverflowError):
            getattr(lib, "id_" + name)(v)


@pytest.mark.parametrize("name,bits,signed", INTEGERS)
@pytest.mark.parametrize("bad", [1.0, "1", b"1", None, [1], 1j])
def test_integer_wrong_type_is_type_error(lib, name, bits, signed, bad):
    with pytest.raises(TypeError):
        getattr(lib, "id_" + name)(bad)


@cffix_only
def test_wrong_type_message_names_c_type_and_python_type(lib):
    with pytest.raises(TypeError) as e:
        lib.add("1", 2)
    assert "'int'" in str(e.value) and "str" in str(e.value)
    with pytest.raises(TypeError) as e:
        lib.id_ushort(2.5)
    assert "'unsigned short'" in str(e.value) and "float" in str(e.value)


def test_int_arguments_accept_bool(lib):
    assert lib.id_int(True) == 1
    assert lib.id_ulong(False) == 0


def test_int_arguments_accept_objects_with_int(lib):
    # As cffi: anything with __int__ except floats (Decimal, Fraction, numpy integers).
    import decimal
    import fractions

    assert lib.id_int(decimal.Decimal(42)) == 42
    assert lib.id_long(fractions.Fraction(-7, 1)) == -7
    with pytest.raises(OverflowError):
        lib.id_uchar(decimal.Decimal(256))


def test_char_limits(lib):
    if lib.char_is_signed():
        lo, hi = b"\x80", b"\x7f"
    else:
        lo, hi = b"\x00", b"\xff"
    assert lib.min_char() == lo
    assert lib.max_char() == hi
    for c in (b"\x00", b"\x7f", b"\x80", b"\xff", b"A"):
        assert lib.id_char(c) == c
    assert lib.is_min_char(lo) == 1 and lib.is_max_char(hi) == 1


@pytest.mark.parametrize("bad", [65, 0, "A", b"", b"AB", None, bytearray(b"A")])
def test_char_wrong_argument_is_type_error(lib, bad):
    with pytest.raises(TypeError):
        lib.id_char(bad)


def test_bool_both_ways(lib):
    assert lib.id_bool(True) is True
    assert lib.id_bool(False) is False
    assert lib.id_bool(1) is True
    assert lib.min_bool() is False and lib.max_bool() is True
    assert lib.is_max_bool(True) == 1 and lib.is_min_bool(0) == 1
    assert lib.is_nonzero(1 << 40) is True  # only the result's own byte counts
    assert lib.is_nonzero(0) is False


@pytest.mark.parametrize("bad", [2, -1, 256])
def test_bool_out_of_range_is_overflow_error(lib, bad):
    with pytest.raises(OverflowError):
        lib.id_bool(bad)


def test_bool_float_is_type_error(lib):
    with pytest.raises(TypeError):
        lib.id_bool(1.0)


@pytest.mark.parametrize("name,top", [("wchar", "\U0010ffff"), ("char16", "\uffff"),
                                      ("char32", "\U0010ffff")])
def test_wide_chars_both_ways(lib, name, top):
    fn = lambda prefix: getattr(lib, prefix + name)  # noqa: E731
    assert fn("min_")() == "\x00"
    assert fn("max_")() == top
    for c in ("\x00", "A", "\xe9", "\u20ac", top):
        assert fn("id_")(c) == c
    assert fn("is_max_")(top) == 1
    assert fn("is_min_")("\x00") == 1


@pytest.mark.parametrize("name", ["wchar", "char16", "char32"])
@pytest.mark.parametrize("bad", [65, "", "AB", b"A", None])
def test_wide_chars_wrong_argument_is_type_error(lib, name, bad):
    with pytest.raises(TypeError):
        getattr(lib, "id_" + name)(bad)


def test_char16_rejects_characters_outside_the_bmp(lib):
    # As ffi.new("char16_t *", c), and as cffi: a TypeError (it needs two units).
    with pytest.raises(TypeError):
        lib.id_char16("\U00010000")


def test_narrow_results_ignore_the_rest_of_the_register(lib):
    assert lib.low_byte(0x1234) == 0x34
    assert lib.low_byte((1 << 64) - 1) == 0xFF
    assert lib.low_byte_signed(0x1280) == -128
    assert lib.low_byte_signed(0xFF7F) == 127
    assert lib.low_half(0x12345678) == 0x5678
    assert lib.low_int(0x1_8000_0000) == -(1 << 31)
    assert lib.low_int(0xFFFF_FFFF_0000_0005) == 5


def test_narrow_arguments_are_extended(lib):
    args = (-128, 255, -32768, 65535, -(1 << 31), (1 << 32) - 1)
    a, b, c, d, e, f = args
    expected = a + b * 1000 + c * 1000000 + d * 100000000000 + e + f * 3
    assert lib.narrow_mix(*args) == expected
    assert lib.narrow_mix(-1, 1, -1, 1, -1, 1) == -1 + 1000 - 1000000 + 100000000000 - 1 + 3


@pytest.mark.parametrize("ctype,value,expected", [
    ("signed char", -128, -128), ("signed char", -1, -1), ("int8_t", -5, -5),
    ("short", -32768, -32768), ("int16_t", -2, -2),
    ("unsigned char", 255, 255), ("uint8_t", 200, 200), ("unsigned short", 65535, 65535),
    ("_Bool", True, 1), ("char16_t", "\uffff", 0xFFFF),
])
def test_narrow_arguments_fill_the_register(ffi, lib, ctype, value, expected):
    fn = ffi.cast(f"int(*)({ctype})", lib.first_register)
    assert fn(value) == expected


@cffix_only
def test_char_argument_fills_the_register(ffi, lib):
    fn = ffi.cast("int(*)(char)", lib.first_register)
    expected = -128 if lib.char_is_signed() else 128
    assert fn(b"\x80") == expected
    assert fn(b"\x7f") == 127


def test_float_limits(lib):
    assert lib.max_float() == FLT_MAX
    assert lib.min_float() == -FLT_MAX
    assert lib.id_float(FLT_MAX) == FLT_MAX
    assert lib.is_max_float(FLT_MAX) == 1
    assert lib.is_min_float(-FLT_MAX) == 1
    tiny = f32(1.4e-45)  # the smallest denormal float
    assert tiny > 0 and lib.id_float(tiny) == tiny
    for x in (0.1, 1 / 3, 1e-40, 123456789.0, -2.5):
        assert lib.id_float(x) == f32(x)
        assert lib.float_narrow(x) == f32(x)
        assert lib.float_widen(x) == f32(x)
    assert lib.id_float(math.inf) == math.inf
    assert lib.id_float(-math.inf) == -math.inf
    assert math.isnan(lib.id_float(math.nan))
    assert math.copysign(1.0, lib.id_float(-0.0)) == -1.0
    assert type(lib.id_float(1.5)) is float


def test_float_too_large_becomes_infinity_as_in_c(lib):
    assert lib.id_float(1e39) == math.inf
    assert lib.id_float(-1e39) == -math.inf


def test_float_arithmetic(lib):
    assert lib.float_half(3.0) == 1.5
    assert lib.float_half(FLT_MAX) == f32(FLT_MAX / 2)
    for a, b in ((0.1, 0.2), (1e30, 1e-30), (FLT_MAX, FLT_MAX), (-3.75, 1.25)):
        assert lib.float_sum(a, b) == f32(f32(a) + f32(b))


def test_double_limits(lib):
    big = sys.float_info.max
    assert lib.max_double() == big and lib.min_double() == -big
    for x in (big, -big, sys.float_info.min, 5e-324, -5e-324, math.pi, 0.0, 1e300,
              math.inf, -math.inf):
        assert lib.id_double(x) == x
    assert lib.is_max_double(big) == 1 and lib.is_min_double(-big) == 1
    assert lib.is_max_double(math.nextafter(big, 0)) == 0
    assert math.isnan(lib.id_double(math.nan))
    assert math.copysign(1.0, lib.id_double(-0.0)) == -1.0
    assert lib.double_bits_equal(-0.0, 0x8000000000000000) == 1
    assert lib.double_bits_equal(5e-324, 1) == 1
    assert lib.id_double(7) == 7.0 and type(lib.id_double(7)) is float
    assert lib.id_double(1 << 60) == float(1 << 60)


@pytest.mark.parametrize("fn", ["id_double", "id_float"])
def test_double_wrong_argument(lib, fn):
    with pytest.raises(TypeError):
        getattr(lib, fn)("1.0")
    with pytest.raises(TypeError):
        getattr(lib, fn)(None)
    with pytest.raises(OverflowError):
        getattr(lib, fn)(1 << 1024)


def test_long_double_keeps_its_precision(ffi, lib):
    third = lib.ldouble_third()
    assert ffi.typeof(third) is ffi.typeof("long double")
    assert lib.ldouble_is_third(third) == 1
    assert lib.ldouble_is_third(1 / 3) == (ffi.sizeof("long double") == 8)
    assert lib.ldouble_to_double(third) == 1 / 3
    assert lib.is_max_ldouble(lib.max_ldouble()) == 1
    assert lib.is_min_ldouble(lib.min_ldouble()) == 1
    assert lib.is_max_ldouble(lib.id_ldouble(lib.max_ldouble())) == 1
    assert float(lib.id_ldouble(1.5)) == 1.5
    assert float(lib.ldouble_mul(2.5, 4)) == 10.0
    assert float(lib.ldouble_mul(lib.max_ldouble(), 2)) == math.inf


def test_enum_arguments_and_results(lib):
    assert lib.next_color(lib.RED) == lib.GREEN == 5
    assert lib.next_color(lib.GREEN) == lib.BLUE == -1
    assert lib.next_color(lib.BLUE) == lib.RED == 0
    assert lib.color_value(lib.HUGE_COLOR) == 0x7FFFFFFF
    assert lib.color_value(-1) == -1
    with pytest.raises(OverflowError):
        lib.color_value(1 << 31)


# ------------------------------------------------------------------------------ pointers

def test_pointer_results(ffi, lib):
    p = lib.numbers()
    assert ffi.typeof(p) is ffi.typeof("int *")
    assert [p[i] for i in range(4)] == [10, 20, 30, 40]
    s = lib.greeting()
    assert ffi.typeof(s) is ffi.typeof("char *")
    assert ffi.string(s) == b"hello, world"
    n = lib.null_pointer()
    assert n == ffi.NULL
    assert repr(n) == "<cdata 'void *' NULL>"


def test_pointers_in_and_out(ffi, lib):
    a = ffi.new("int[5]", [1, 2, 3, 4, 5])
    assert lib.ptr_id(a) == a
    q = lib.ptr_advance(a, 3)
    assert q[0] == 4 and q - a == 3
    assert lib.ptr_advance(q, -3) == a
    s = ffi.new("char[]", b"abcdef")
    assert lib.ptr_distance(s, s + 4) == 4
    assert lib.address_of(a) == int(ffi.cast("uintptr_t", a))
    assert lib.is_null(ffi.NULL) == 1
    assert lib.is_null(a) == 0
    assert lib.ptr_id(ffi.NULL) == ffi.NULL


@cffix_only
def test_none_is_null(ffi, lib):
    assert lib.is_null(None) == 1
    assert lib.ptr_id(None) == ffi.NULL
    assert lib.divide(1, 0, None, None) == -1


def test_void_pointer_takes_any_data_pointer(ffi, lib):
    for p in (ffi.new("int *"), ffi.new("double[3]"), ffi.new("struct ii *"), lib.greeting()):
        assert lib.address_of(p) == int(ffi.cast("uintptr_t", p))
    assert lib.address_of(b"x") != 0


def test_bytes_for_char_pointer(lib):
    assert lib.my_strlen(b"hello") == 5
    assert lib.my_strlen(b"") == 0
    assert lib.my_strlen(b"a\x00b") == 1
    assert lib.count_char(b"banana", b"a") == 3
    data = bytes(range(256)) * 4
    assert lib.sum_bytes(data, len(data)) == sum(data)


@pytest.mark.parametrize("bad", ["text", bytearray(b"x"), memoryview(b"x"), 5, 1.5])
def test_char_pointer_wrong_type(lib, bad):
    with pytest.raises(TypeError):
        lib.my_strlen(bad)


def test_char_pointer_takes_char_arrays(ffi, lib):
    assert lib.my_strlen(ffi.new("char[]", b"hello")) == 5
    assert lib.my_strlen(ffi.cast("void *", lib.greeting())) == 12
    assert lib.sum_bytes(ffi.from_buffer(bytearray(b"\x02\x03")), 2) == 5


def test_char_pointer_takes_signed_and_unsigned_char_arrays(ffi, lib):
    # cffi lets 'char *', 'signed char *' and 'unsigned char *' stand for one another.
    assert lib.my_strlen(ffi.new("unsigned char[]", b"hello")) == 5
    assert lib.my_strlen(ffi.new("signed char[]", b"hello")) == 5


def test_list_for_int_pointer_is_a_temporary_array(ffi, lib):
    assert lib.sum_ints([1, 2, 3], 3) == 6
    assert lib.sum_ints((10, -20), 2) == -10
    assert lib.sum_ints([], 0) == 0
    big = list(range(10_000))
    assert lib.sum_ints(big, len(big)) == sum(big)
    assert lib.sum_doubles([1, 2.5, -0.25], 3) == 3.25
    with pytest.raises(OverflowError):
        lib.sum_ints([1, 1 << 31], 2)
    with pytest.raises(TypeError):
        lib.sum_ints([1, 1.5], 2)
    with pytest.raises(TypeError):
        lib.sum_doubles([1, "x"], 2)


def test_many_temporary_arrays_in_one_call(lib):
    xs = [[i + k for i in range(3)] for k in range(5)]
    expected = sum(xs[0][i] + 2 * xs[1][i] + 3 * xs[2][i] + 4 * xs[3][i] + 5 * xs[4][i]
                   for i in range(3))
    assert lib.sum5arrays(*xs, 3) == expected


def test_str_for_wchar_pointer(lib):
    assert lib.wide_length("h\xe9llo \u20ac\U0001f600") == 8
    assert lib.wide_length(["a", "b", "\x00"]) == 2


def test_list_for_void_pointer_is_type_error(lib):
    # No array of 'void' can be built: a TypeError as for any other bad argument.
    with pytest.raises(TypeError):
        lib.address_of([1, 2])


def test_arrays_passed_as_pointers(ffi, lib):
    a = ffi.new("int[]", [5, 6, 7])
    assert lib.sum_ints(a, 3) == 18
    assert lib.sum_ints(a + 1, 2) == 13
    assert lib.sum_ints(ffi.new("int[4]", [1, 2, 3, 4]), 4) == 10
    m = ffi.new("int[2][3]", [[1, 2, 3], [4, 5, 6]])
    assert lib.sum_ints(m[1], 3) == 15
    d = ffi.new("double[2]", [0.5, 0.25])
    assert lib.sum_doubles(d, 2) == 0.75


@pytest.mark.parametrize("make", ['ffi.new("long[2]")', 'ffi.new("unsigned int[2]")',
                                  'ffi.new("struct ii *")', 'ffi.new("double *")',
                                  "lib.add", 'b"abcd"', "5"])
def test_incompatible_pointer_is_type_error(ffi, lib, make):
    with pytest.raises(TypeError):
        lib.sum_ints(eval(make), 1)


def test_out_parameters(ffi, lib):
    p = ffi.new("int *")
    lib.set_int(p, -7)
    assert p[0] == -7
    q, r = ffi.new("int *"), ffi.new("int *")
    assert lib.divide(17, 5, q, r) == 0
    assert (q[0], r[0]) == (3, 2)
    assert lib.divide(-17, 5, q, r) == 0
    assert (q[0], r[0]) == (-3, -2)  # C truncates towards zero
    a = ffi.new("int[6]")
    lib.fill_ints(a, 6, 100)
    assert list(a) == [100, 101, 102, 103, 104, 105]
    s = ffi.new("const char **")
    lib.set_string(s)
    assert ffi.string(s[0]) == b"hello, world"
    d = ffi.new("double[]", [1.5, -2.0, 0.25])
    lib.double_in_place(d, 3)
    assert list(d) == [3.0, -4.0, 0.5]
    buf = ffi.new("char[32]")
    lib.copy_upper(buf, b"Hello, abc!")
    assert ffi.string(buf) == b"HELLO, ABC!"


@cffix_only
def test_released_cdata_argument_is_an_error(ffi, lib):
    a = ffi.new("int[3]", [1, 2, 3])
    ffi.release(a)
    with pytest.raises(ValueError):
        lib.sum_ints(a, 3)
    s = ffi.new("struct ii *", [1, 2])
    view = s[0]
    ffi.release(s)
    with pytest.raises(ValueError):
        lib.ii_weighted(view)
    with ffi.new("int *") as p:
        lib.set_int(p, 1)
    with pytest.raises(ValueError):
        lib.set_int(p, 2)


# ------------------------------------------------------------------------------ structs

def test_struct_returned_by_value_is_an_owned_copy(ffi, lib):
    r = lib.make_ii(-(1 << 31), (1 << 31) - 1)
    assert repr(r) == "<cdata 'struct ii' owning 8 bytes>"
    assert ffi.typeof(r) is ffi.typeof("struct ii")
    assert (r.a, r.b) == (-(1 << 31), (1 << 31) - 1)
    r2 = lib.make_ii(1, 2)
    assert (r.a, r.b) == (-(1 << 31), (1 << 31) - 1)  # not a shared buffer
    r.a = 7
    r.b = 1
    assert lib.ii_weighted(r) == 17
    assert lib.ii_weighted(r2) == 21
    s = lib.ii_swap(r2)
    assert (s.a, s.b) == (2, 1) and (r2.a, r2.b) == (1, 2)
    big = lib.make_big(10)
    assert repr(big) == f"<cdata 'struct big' owning {8 * SIZEOF['long']} bytes>"
    assert list(big.a) == list(range(10, 18))
    huge = lib.make_huge(-40)
    assert repr(huge) == f"<cdata 'struct huge' owning {80 * SIZEOF['long']} bytes>"
    assert list(huge.a) == list(range(-40, 40))
    del r2
    assert list(big.a) == list(range(10, 18))


def test_struct_argument_from_dict_list_and_cdata(ffi, lib):
    assert lib.ii_weighted({"a": 3, "b": 4}) == 43
    assert lib.ii_weighted([3, 4]) == 43
    assert lib.ii_weighted(lib.make_ii(3, 4)) == 43
    p = ffi.new("struct ii *", [5, 6])
    assert lib.ii_weighted(p[0]) == 65
    assert lib.ii_pointer_weighted(p) == 65
    assert lib.ii_pointer_weighted([[3, 4]]) == 43
    assert lib.ii_pointer_weighted([{"a": 3, "b": 4}]) == 43


@cffix_only
def test_struct_argument_missing_fields_are_zero(lib):
    # cffi leaves them uninitialized (whatever the previous call left on its stack).
    assert lib.ii_weighted({"a": 3, "b": 4}) == 43
    assert lib.ii_weighted({"b": 4}) == 40
    assert lib.ii_weighted([3, 4]) == 43
    assert lib.ii_weighted((3,)) == 3
    assert lib.ii_weighted([]) == 0


@pytest.mark.parametrize("bad,error", [
    ("5", TypeError), ("None", TypeError), ('ffi.new("struct ii *", [1, 2])', TypeError),
    ('ffi.new("struct dd *")[0]', TypeError), ("[1, 2, 3]", ValueError),
    ("{'zz': 1}", KeyError), ("{'a': 1 << 31}", OverflowError), ("[1.5, 2]", TypeError),
])
def test_struct_argument_errors(ffi, lib, bad, error):
    with pytest.raises(error):
        lib.ii_weighted(eval(bad))


def test_struct_pointer_argument_rejects_a_struct_value(ffi, lib):
    with pytest.raises(TypeError):
        lib.ii_pointer_weighted(ffi.new("struct ii *", [1, 2])[0])
    with pytest.raises(TypeError):
        lib.ii_pointer_weighted({"a": 1, "b": 2})


def test_struct_of_doubles(lib):
    r = lib.make_dd(1.5, -2.25)
    assert (r.x, r.y) == (1.5, -2.25)
    assert lib.dd_weighted(r) == 1.5 + 10 * -2.25
    assert lib.dd_weighted({"x": 1e308, "y": 0.0}) == 1e308
    s = lib.dd_scale([1.0, 2.0], 0.5)
    assert (s.x, s.y) == (0.5, 1.0)


def test_struct_of_three_floats(lib):
    r = lib.make_ff3(0.5, 0.1, -3.0)
    assert (r.x, r.y, r.z) == (0.5, f32(0.1), -3.0)
    assert lib.ff3_weighted(r) == 0.5 + 10.0 * f32(0.1) + 100.0 * -3.0
    assert lib.ff3_weighted([1, 2, 3]) == 321.0


def test_mixed_struct(lib):
    r = lib.make_mixed(b"\x7f", -0.5, -(1 << 31))
    assert (r.c, r.d, r.i) == (b"\x7f", -0.5, -(1 << 31))
    assert lib.mixed_weighted(r) == 127 + 10 * -0.5 + 100.0 * -(1 << 31)
    assert lib.mixed_weighted({"c": b"A", "d": 2.0, "i": 3}) == 65 + 20.0 + 300.0


def test_large_structs(lib):
    assert lib.big_weighted(lib.make_big(-3)) == sum((-3 + i) * (i + 1) for i in range(8))
    assert lib.big_weighted({"a": list(range(8))}) == sum(i * (i + 1) for i in range(8))
    limit = (1 << (8 * SIZEOF["long"] - 1)) - 1
    b = lib.make_big(limit - 7)
    assert b.a[7] == limit
    assert lib.huge_weighted(lib.make_huge(5)) == sum((5 + i) * (i + 1) for i in range(80))
    assert lib.huge_weighted([list(range(80))]) == sum(i * (i + 1) for i in range(80))


def test_nested_and_tiny_structs(lib):
    n = lib.make_nested(1, -2, 0.5, 0.25, b"x")
    assert (n.p.a, n.p.b, n.q.x, n.q.y, n.tag) == (1, -2, 0.5, 0.25, b"x")
    expected = 1 + 10.0 * -2 + 100.0 * 0.5 + 1000.0 * 0.25 + 10000.0 * ord("x")
    assert lib.nested_weighted(n) == expected
    assert lib.nested_weighted({"p": {"a": 1, "b": -2}, "q": [0.5, 0.25], "tag": b"x"}) == expected
    t = lib.make_tiny(b"a", b"b", b"c")
    assert repr(t) == "<cdata 'struct tiny' owning 3 bytes>"
    assert (t.a, t.b, t.c) == (b"a", b"b", b"c")
    assert lib.tiny_weighted(t) == 97 + 2 * 98 + 3 * 99


def test_structs_among_other_arguments(lib):
    got = lib.struct_among(3, [0.5, 0.25], 7.0, {"a": -1, "b": 2}, 9)
    assert got == 3 + 10 * 0.5 + 100 * 0.25 + 1000 * 7.0 + 10000.0 * -1 + 100000.0 * 2 + 1e6 * 9


def test_array_and_function_parameters_decay_to_pointers(module, calls_library):
    ffi = module.FFI()
    ffi.cdef("long sum_ints(const int a[], size_t n);"
             "int apply(int f(int, int), int a, int b); int add(int, int);")
    lib = ffi.dlopen(calls_library)
    assert lib.sum_ints([1, 2, 3], 3) == 6
    assert lib.sum_ints(ffi.new("int[2]", [4, 5]), 2) == 9
    assert lib.apply(lib.add, 2, 3) == 5


@pytest.mark.parametrize("decl,call", [
    ("union u { int i; float f; }; int id_int(union u);", "lib.id_int([1])"),
    ("struct bf { int a : 3; }; int id_int(struct bf);", "lib.id_int([1])"),
    ("union u { int i; float f; }; union u min_int(void);", "lib.min_int()"),
])
def test_unions_and_bitfields_by_value_are_not_implemented(module, calls_library, decl, call):
    ffi = module.FFI()
    ffi.cdef(decl)
    lib = ffi.dlopen(calls_library)
    with pytest.raises(NotImplementedError):
        eval(call)


@cffix_only
@pytest.mark.parametrize("decl,call,message", [
    ("struct p { char c; int i; }; int id_int(struct p);", "lib.id_int([1, 2])",
     r"'int\(\*\)\(struct p\)': argument 1: 'struct p' has a layout libffi cannot express"),
    ("struct a { char c __attribute__((aligned(16))); }; struct a min_int(void);",
     "lib.min_int()", r"the result: 'struct a' has a layout libffi cannot express"),
    ("struct s { int n; int rest[]; }; int id_int(struct s);", "lib.id_int([1])",
     r"argument 1: 'struct s' has a flexible array member"),
    ("union u { int i; float f; }; int id_int(union u);", "lib.id_int([1])",
     r"argument 1: 'union u' is a union"),
])
def test_by_value_layouts_libffi_cannot_express_are_refused(module, calls_library, decl,
                                                           call, message):
    """Calls and callbacks refuse the same layouts, with the reason: passing them through
    libffi would put them in the wrong registers."""
    ffi = module.FFI()
    ffi.cdef(decl, packed=decl.startswith("struct p"))
    lib = ffi.dlopen(calls_library)
    with pytest.raises(NotImplementedError, match=message):
        eval(call)


def test_incomplete_struct_result_is_type_error(module, calls_library):
    ffi = module.FFI()
    ffi.cdef("struct opaque; struct opaque noop(void);")
    lib = ffi.dlopen(calls_library)
    with pytest.raises(TypeError):
        lib.noop()


# ------------------------------------------------------------------------------ many arguments

def test_six_mixed_arguments(lib):
    args = (-(1 << 31), 2.5, -(1 << 40), f32(0.1), 255, 1e10)
    a, b, c, d, e, f = args
    assert lib.mix6(*args) == a + 2.0 * b + 3.0 * c + 4.0 * d + 5.0 * e + 6.0 * f
    with pytest.raises(OverflowError):
        lib.mix6(1, 2.0, 3, 4.0, 256, 6.0)
    with pytest.raises(TypeError):
        lib.mix6(1, 2.0, 3.5, 4.0, 5, 6.0)


def test_ten_integer_arguments(lib):
    args = (-(1 << 31), 1 << 40, -32768, (1 << 32) - 1, -(1 << 60), -128, (1 << 31) - 1,
            -(1 << 40), 65535, 1 << 59)
    expected = sum(w * v for w, v in zip(range(1, 11), args))
    assert lib.sum10(*args) == expected
    assert lib.sum10(*range(10)) == sum(w * v for w, v in zip(range(1, 11), range(10)))
    with pytest.raises(OverflowError):
        lib.sum10(*args[:9], 1 << 63)


def test_ten_mixed_arguments(lib):
    args = (-7, 0.5, 1 << 30, -0.25, -(1 << 31), 1e100, 3, -1.5, 9, -(1 << 50))
    expected = args[0]
    for w, v in zip(range(2, 11), args[1:]):
        expected += float(w) * v
    assert lib.mixed10(*args) == expected


def test_nine_doubles(lib):
    args = [0.5 * k - 1 for k in range(9)]
    expected = args[0]
    for w, v in zip(range(2, 10), args[1:]):
        expected += float(w) * v
    assert lib.sum9d(*args) == expected
    args = [math.pi * k for k in range(1, 10)]
    expected = args[0]
    for w, v in zip(range(2, 10), args[1:]):
        expected += float(w) * v
    assert lib.sum9d(*args) == expected


def test_every_argument_register(lib):
    args = list(range(-3, 3)) + [0.5 * k for k in range(8)]
    expected = args[0]
    for w, v in zip(range(2, 15), args[1:]):
        expected += float(w) * v
    assert lib.full_registers(*args) == expected


def test_floats_between_doubles(lib):
    args = (0.1, 0.2, 0.3, 0.4, 0.5)
    a, b, c, d, e = f32(0.1), 0.2, f32(0.3), 0.4, 0.5
    assert lib.float_double_mix(*args) == a + 2.0 * b + 3.0 * c + 4.0 * d + 5.0 * e


# ------------------------------------------------------------------------------ argument count

@pytest.mark.parametrize("fn,args,pattern", [
    ("add", (1,), r"expects 2 arguments, got 1"),
    ("add", (1, 2, 3), r"expects 2 arguments, got 3"),
    ("noop", (1,), r"expects 0 arguments, got 1"),
    ("sum10", tuple(range(9)), r"expects 10 arguments, got 9"),
    ("sum_va", (), r"expects at least 1 arguments, got 0"),
    ("format_into", (None, 0), r"expects at least 3 arguments, got 2"),
])
def test_wrong_argument_count(lib, fn, args, pattern):
    with pytest.raises(TypeError, match=pattern):
        getattr(lib, fn)(*args)


def test_keyword_arguments_are_refused(lib):
    with pytest.raises(TypeError):
        lib.add(a=1, b=2)
    with pytest.raises(TypeError):
        lib.add(1, b=2)


# ------------------------------------------------------------------------------ variadic

def test_variadic_int_arguments(ffi, lib):
    assert lib.sum_va(0) == 0
    assert lib.sum_va(3, ffi.cast("int", 1), ffi.cast("int", -2), ffi.cast("int", 3)) == 2
    assert lib.sum_va(1, ffi.cast("int", (1 << 31) - 1)) == (1 << 31) - 1
    assert lib.sum_va(20, *[ffi.cast("int", i) for i in range(20)]) == 190


def test_variadic_small_integers_are_promoted_to_int(ffi, lib):
    assert lib.sum_va(1, ffi.cast("char", b"A")) == 65
    assert lib.sum_va(1, ffi.cast("signed char", -5)) == -5
    assert lib.sum_va(1, ffi.cast("unsigned char", 255)) == 255
    assert lib.sum_va(1, ffi.cast("short", -32768)) == -32768
    assert lib.sum_va(1, ffi.cast("unsigned short", 65535)) == 65535
    assert lib.sum_va(1, ffi.cast("_Bool", 1)) == 1
    assert lib.sum_va(1, ffi.cast("enum color", 5)) == 5


def test_variadic_long_long_arguments(ffi, lib):
    values = [1 << 40, -1, -(1 << 62), (1 << 62) // 3]
    got = lib.sum_ll_va(len(values), *[ffi.cast("long long", v) for v in values])
    assert got == sum(v * (i + 1) for i, v in enumerate(values))


def test_variadic_doubles(ffi, lib):
    values = [float(i) - 5.5 for i in range(12)]  # more than the floating registers
    expected = 0.0
    for i, v in enumerate(values):
        expected += v * (i + 1)
    assert lib.sum_double_va(12, *[ffi.cast("double", v) for v in values]) == expected


@cffix_only
def test_variadic_float_is_promoted_to_double(ffi, lib):
    got = lib.sum_double_va(2, ffi.cast("float", 1.5), ffi.cast("double", 2.25))
    assert got == 1.5 + 2 * 2.25
    buf = ffi.new("char[32]")
    lib.format_into(buf, 32, b"%.2f", ffi.cast("float", 0.5))
    assert ffi.string(buf) == b"0.50"


@pytest.mark.parametrize("bad", ["1", "1.5", "None", "[1]", "'x'"])
def test_variadic_part_needs_cdata(ffi, lib, bad):
    with pytest.raises(TypeError, match="variadic"):
        lib.sum_va(1, eval(bad))


def test_variadic_format(ffi, lib):
    buf = ffi.new("char[128]")
    n = lib.format_into(buf, 128, b"%s|%d|%.3f|%c|%lld|%u|%zu",
                        ffi.new("char[]", b"str"), ffi.cast("int", -7), ffi.cast("double", 2.5),
                        ffi.cast("char", b"Z"), ffi.cast("long long", -(1 << 63)),
                        ffi.cast("unsigned int", (1 << 32) - 1), ffi.cast("size_t", 12345))
    expected = b"str|-7|2.500|Z|-9223372036854775808|4294967295|12345"
    assert ffi.string(buf) == expected and n == len(expected)
    assert lib.format_into(buf, 128, b"no arguments") == 12
    assert lib.format_into(ffi.NULL, 0, b"%d", ffi.cast("int", 123456)) == 6
    p = ffi.new("int *")
    lib.format_into(buf, 128, b"%p", p)
    assert int(ffi.string(buf), 16) == int(ffi.cast("uintptr_t", p))


def test_variadic_many_arguments(ffi, lib):
    assert lib.sum_va(1000, *[ffi.cast("int", i) for i in range(1000)]) == 499500


def test_variadic_long_double(ffi, lib):
    buf = ffi.new("char[64]")
    assert lib.format_into(buf, 64, b"%.3Lf", ffi.cast("long double", 2.5)) == 5
    assert ffi.string(buf) == b"2.500"


def test_variadic_calls_with_changing_types(ffi, lib):
    # Each tuple of argument types gets its own cif: alternate them.
    buf = ffi.new("char[64]")
    for i in range(3):
        lib.format_into(buf, 64, b"%d", ffi.cast("int", i))
        assert ffi.string(buf) == str(i).encode()
        lib.format_into(buf, 64, b"%.1f", ffi.cast("double", i + 0.5))
        assert ffi.string(buf) == f"{i + 0.5:.1f}".encode()
        lib.format_into(buf, 64, b"%ld/%d", ffi.cast("long", -i), ffi.cast("int", i))
        assert ffi.string(buf) == f"{-i}/{i}".encode()


# ------------------------------------------------------------------------------ errno

def test_errno_after_a_failing_call(ffi, lib):
    assert lib.set_errno(42) == -1
    assert ffi.errno == 42
    assert lib.set_errno(0) == -1
    assert ffi.errno == 0


def test_errno_set_from_python_is_seen_by_c(ffi, lib):
    ffi.errno = 17
    assert lib.get_errno() == 17
    lib.add(1, 2)  # a call that leaves errno alone keeps the value
    assert ffi.errno == 17
    ffi.errno = 0


def test_errno_is_per_thread(ffi, lib):
    n = 4
    barrier = threading.Barrier(n)
    results = {}

    def worker(k):
        lib.set_errno(100 + k)
        barrier.wait()  # every thread has set its errno before any reads it back
        results[k] = (ffi.errno, lib.get_errno())

    ffi.errno = 3
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {k: (100 + k, 100 + k) for k in range(n)}
    assert ffi.errno == 3
    ffi.errno = 0


@cffix_only
def test_errno_with_the_gil_kept(ffi, lib_keeping_gil):
    assert lib_keeping_gil.set_errno(33) == -1
    assert ffi.errno == 33
    ffi.errno = 5
    assert lib_keeping_gil.get_errno() == 5
    ffi.errno = 0


# ------------------------------------------------------------------------------ function pointers

def test_function_repr_and_type(ffi, lib):
    assert re.fullmatch(r"<cdata 'int\(\*\)\(int, int\)' 0x[0-9a-f]+>", repr(lib.add))
    assert ffi.typeof(lib.add) is ffi.typeof("int(*)(int, int)")
    assert lib.add is lib.add  # cached in the library


def test_call_through_cast_address(ffi, lib):
    address = int(ffi.cast("uintptr_t", lib.add))
    fp = ffi.cast("int(*)(int, int)", address)
    assert fp(2, 3) == 5
    assert fp((1 << 31) - 1, -(1 << 31)) == -1
    with pytest.raises(OverflowError):
        fp(1 << 31, 0)
    with pytest.raises(TypeError):
        fp(1)
    dp = ffi.cast("double(*)(double, double)", lib.address_of(lib.weighted_double))
    assert dp(1.0, 0.25) == 1.5
    vp = ffi.cast("int(*)(int, ...)", lib.sum_va)
    assert vp(2, ffi.cast("int", 5), ffi.cast("int", 6)) == 11


def test_function_pointer_results_and_struct_fields(ffi, lib):
    assert lib.get_binop(b"-")(7, 3) == 4
    assert lib.get_binop(b"*")(6, 7) == 42
    ops = ffi.new("struct ops *")
    lib.get_ops(ops)
    assert ffi.string(ops.name) == b"add"
    assert ops.op(2, 3) == 5
    assert ops.dop(1.5, 2.0) == 3.5
    table = ffi.new("struct ops[1]")
    lib.get_ops(table)
    assert table[0].op(4, 5) == 9


def test_function_cdata_as_argument(ffi, lib):
    assert lib.apply(lib.add, 2, 3) == 5
    assert lib.apply(lib.get_binop(b"*"), 6, 7) == 42
    assert lib.apply(ffi.cast("binop", lib.add), 1, 2) == 3
    assert lib.fold(lib.add, [1, 2, 3], 3, 10) == 16
    with pytest.raises(TypeError):
        lib.apply(lib.add_double, 1, 2)
    with pytest.raises(TypeError):
        lib.apply(5, 1, 2)


def test_null_for_a_function_pointer_parameter(ffi, lib):
    assert lib.apply_or(lib.add, 2, 3, -1) == 5
    assert lib.apply_or(ffi.NULL, 2, 3, -1) == -1
    assert lib.apply_or(ffi.cast("binop", 0), 2, 3, -1) == -1


def test_calling_null_is_runtime_error(ffi, lib):
    null = lib.get_binop(b"?")
    assert null == ffi.NULL
    with pytest.raises(RuntimeError):
        null(1, 2)
    with pytest.raises(RuntimeError):
        ffi.cast("int(*)(int, int)", 0)(1, 2)
    with pytest.raises(RuntimeError):
        ffi.cast("void(*)(void)", ffi.NULL)()
    ops = ffi.new("struct ops *")
    with pytest.raises(RuntimeError):
        ops.op(1, 2)


def test_calling_a_non_function_cdata_is_type_error(ffi):
    with pytest.raises(TypeError):
        ffi.new("int *")(1)
    with pytest.raises(TypeError):
        ffi.cast("void *", 0)()


def test_python_callback_as_argument(ffi, lib):
    seen = []

    def multiply(a, b):
        seen.append((a, b))
        return a * b

    cb = ffi.callback("int(int, int)", multiply)
    assert lib.apply(cb, 6, 7) == 42
    assert lib.fold(cb, [2, 3, 4], 3, 1) == 24
    assert seen == [(6, 7), (1, 2), (2, 3), (6, 4)]


# ------------------------------------------------------------------------------ the GIL

def _ticking(ffi):
    """A thread that increments counter[0] in Python for as long as it can run."""
    counter = ffi.new("long *")
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            counter[0] += 1

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while counter[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert counter[0] > 0, "the ticking thread never ran"
    return counter, stop, thread


def test_gil_is_released_during_calls(ffi, lib):
    counter, stop, thread = _ticking(ffi)
    try:
        assert lib.wait_for_change(counter, 10_000) > 0
        fp = ffi.cast("long(*)(long *, int)", lib.wait_for_change)
        assert fp(counter, 10_000) > 0
        assert lib.sleep_ms(5) == 5
    finally:
        stop.set()
        thread.join()


@cffix_only
def test_gil_is_kept_with_release_gil_false(ffi, lib_keeping_gil):
    counter, stop, thread = _ticking(ffi)
    try:
        assert lib_keeping_gil.counter_change_during(counter, 50) == 0
    finally:
        stop.set()
        thread.join()


def test_calls_from_many_threads(ffi, lib):
    errors = []

    def worker(k):
        try:
            for i in range(2000):
                assert lib.add(k, i) == k + i
                assert lib.ii_weighted([k, i]) == k + 10 * i
                assert lib.sum_va(1, ffi.cast("int", i)) == i
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_variadic_cif_cache_with_many_type_tuples(ffi, lib):
    """Every tuple of variadic types keeps its own cif; many tuples, met again in another
    order, each still formats right (the cache is scanned by hash, then by types)."""
    kinds = [("int", "%d", 7), ("long", "%ld", -(1 << 40)), ("double", "%.2f", 0.25),
             ("unsigned int", "%u", (1 << 32) - 1)]
    tuples = [(a, b, c) for a in kinds for b in kinds for c in kinds]  # 64 tuples
    buf = ffi.new("char[128]")
    for round_ in range(2):
        for tup in (tuples if round_ == 0 else reversed(tuples)):
            fmt = "|".join(spec for _, spec, _ in tup).encode()
            args = [ffi.cast(t, v) for t, _, v in tup]
            n = lib.format_into(buf, 128, fmt, *args)
            want = ("|".join(spec % v for _, spec, v in tup)).encode()
            assert ffi.string(buf) == want and n == len(want)


@cffix_only
def test_variadic_array_argument_passes_as_pointer_to_item(ffi, lib):
    buf = ffi.new("char[64]")
    for _ in range(3):  # the pointer type made for the array each call
        text = ffi.new("char[]", b"array")
        lib.format_into(buf, 64, b"%s-%s", text, b"bytes")
        assert ffi.string(buf) == b"array-bytes"


@pytest.mark.parametrize("fname,args", [("sum_ints", (b"abcd", 1)), ("ptr_id", (b"x",))])
def test_bytes_only_for_char_like_pointers(lib, fname, args):
    """bytes pass as `char *` (and `void *`), never as a pointer to wider items."""
    with pytest.raises(TypeError):
        getattr(lib, fname)(*args)


@cffix_only
def test_bytes_and_none_for_pointers_in_the_fast_path(lib):
    assert lib.my_strlen(b"plain") == 5
    assert lib.sum_bytes(b"\x01\x02", 2) == 3
    assert lib.sum_ints(None, 0) == 0


@cffix_only
def test_every_input_after_the_first_call(ffi, calls_library):
    """From its second call a function takes an entry specialized for its argument count;
    every other input must still reach the general path and its errors."""
    lib = ffi.dlopen(calls_library)  # fresh function objects
    for _ in range(3):
        assert lib.add(2, 3) == 5
        assert lib.noop() is None
        assert lib.sum_ints([1, 2, 3], 3) == 6  # a list: the general path
        assert lib.sum_ints(ffi.new("int[]", [4, 5]), 2) == 9
        assert lib.dd_weighted({"x": 1.0, "y": 2.0}) == 21.0
        assert lib.dd_weighted(ffi.new("struct dd *", [1.0, 2.0])[0]) == 21.0
        assert lib.mix6(1, 2.0, 3, 4.0, 5, 6.0) == lib.mix6(True, 2, 3, 4, 5, 6)
        assert lib.add(2**31 - 1, -(2**31)) == -1
        with pytest.raises(OverflowError):
            lib.add(2**31, 0)
        with pytest.raises(TypeError, match=r"expects 2 arguments, got 3"):
            lib.add(1, 2, 3)
        with pytest.raises(TypeError, match=r"expects 0 arguments, got 1"):
            lib.noop(1)
        with pytest.raises(TypeError):
            lib.add(1, b=2)
        with pytest.raises(TypeError):
            lib.add("1", 2)
        with pytest.raises(TypeError):
            lib.dd_weighted(1.0)
        p = ffi.new("int[]", [1])
        ffi.release(p)
        with pytest.raises(ValueError, match="released"):
            lib.sum_ints(p, 1)
