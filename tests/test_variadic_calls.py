"""ABI-mode calls (tests/clib/calls.c) of variadic functions: the variadic part takes
cdata of the types C promotes to, printf-style formatting, many arguments, and a cif for
each tuple of types.

Each test runs twice in cffix: through the fast register thunks and through libffi
(`cffix._core._force_libffi(True)`), which must agree.

Set CFFIX_TEST_MODULE=cffi to run the same tests with cffi (a check of the harness; the
tests marked cffix_only are then expected to fail).
"""

import pytest

import clib_calls
from support import cffix_only

CDEF = clib_calls.CDEF  # declared by the `ffi` fixture

pytestmark = pytest.mark.usefixtures("call_path")  # every test: the thunks, then libffi


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
