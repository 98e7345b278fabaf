"""ABI-mode calls (tests/clib/calls.c, loaded with ffi.dlopen) with scalars: every
primitive type at its limits as argument and result, narrow values widened as C does,
floats rounded as C does, and bad arguments (type, range).

Each test runs twice in cffix: through the fast register thunks and through libffi
(`cffix._core._force_libffi(True)`), which must agree.

Set CFFIX_TEST_MODULE=cffi to run the same tests with cffi (a check of the harness; the
tests marked cffix_only are then expected to fail).
"""

import math
import sys

import pytest

import clib_calls
from clib_calls import FLT_MAX, INTEGERS, f32, limits
from support import cffix_only

CDEF = clib_calls.CDEF  # declared by the `ffi` fixture

pytestmark = pytest.mark.usefixtures("call_path")  # every test: the thunks, then libffi


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
    if hasattr(fractions.Fraction, "__int__"):  # CPython 3.11 and later
        assert lib.id_long(fractions.Fraction(-7, 1)) == -7
    else:  # 3.10's Fraction has __trunc__ only: not an integer, for cffi too
        assert sys.version_info < (3, 11)
        with pytest.raises(TypeError, match="an integer is required"):
            lib.id_long(fractions.Fraction(-7, 1))
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
