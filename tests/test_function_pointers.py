"""Function pointers in ABI mode (tests/clib/calls.c): a library's functions as cdata,
calls through cast addresses, pointers returned and held in structs, passed as arguments
(Python callbacks too), NULL, and calling what is not a function.

Each test runs twice in cffix: through the fast register thunks and through libffi
(`cffix._core._force_libffi(True)`), which must agree.

Set CFFIX_TEST_MODULE=cffi to run the same tests with cffi (a check of the harness; the
tests marked cffix_only are then expected to fail).
"""

import re

import pytest

import clib_calls

CDEF = clib_calls.CDEF  # declared by the `ffi` fixture

pytestmark = pytest.mark.usefixtures("call_path")  # every test: the thunks, then libffi


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
