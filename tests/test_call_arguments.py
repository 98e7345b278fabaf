"""ABI-mode calls (tests/clib/calls.c): how many arguments: up to 14, filling every
integer and floating register and going on to the stack; the count checked; no keywords;
every input still reaches the general path after a function's first call.

Each test runs twice in cffix: through the fast register thunks and through libffi
(`cffix._core._force_libffi(True)`), which must agree.

Set CFFIX_TEST_MODULE=cffi to run the same tests with cffi (a check of the harness; the
tests marked cffix_only are then expected to fail).
"""

import math

import pytest

import clib_calls
from clib_calls import f32
from support import cffix_only

CDEF = clib_calls.CDEF  # declared by the `ffi` fixture

pytestmark = pytest.mark.usefixtures("call_path")  # every test: the thunks, then libffi


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
