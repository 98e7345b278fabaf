"""ABI-mode calls (tests/clib/calls.c) with structs by value: results are owned copies,
arguments from dicts, lists and cdata, every register class (ints, doubles, floats,
mixed, large, nested, tiny), and the layouts refused with their reason.
(tests/test_struct_abi.py checks generated shapes against the C compiler.)

Each test runs twice in cffix: through the fast register thunks and through libffi
(`cffix._core._force_libffi(True)`), which must agree.

Set CFFIX_TEST_MODULE=cffi to run the same tests with cffi (a check of the harness; the
tests marked cffix_only are then expected to fail).
"""

import re

import pytest

import clib_calls
from clib_calls import SIZEOF, f32
from support import cffix_only

CDEF = clib_calls.CDEF  # declared by the `ffi` fixture

pytestmark = pytest.mark.usefixtures("call_path")  # every test: the thunks, then libffi


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


def test_a_callee_writing_its_struct_leaves_the_callers_alone(ffi, lib):
    """C passes a copy: on AArch64, where a struct over 16 bytes goes by the address of
    the caller's copy, the callee's writes must land in a copy cffix made, never in the
    cdata (from the fast path's room for copies, or, for a struct too large for it, the
    general path's buffer)."""
    big = lib.make_big(1)
    assert lib.big_scribble(big) == sum(range(1, 9))
    assert list(big.a) == list(range(1, 9))
    p = ffi.new("struct big *", [list(range(8))])
    assert lib.big_scribble(p[0]) == sum(range(8))
    assert list(p.a) == list(range(8))
    huge = lib.make_huge(2)
    assert lib.huge_scribble(huge) == sum(range(2, 82))
    assert list(huge.a) == list(range(2, 82))


def test_results_through_memory(ffi, lib):
    """Structs over 16 bytes come back through memory: a 64-byte one and a 16-aligned one
    holding a long double (the thunks pass their buffer's address, aligned for it)."""
    big = lib.make_big(-4)
    assert ffi.sizeof(big) == 8 * SIZEOF["long"] and list(big.a) == list(range(-4, 4))
    r = lib.make_ldtag(7)
    assert (float(r.x), r.tag) == (3.5, 7)
    assert ffi.alignof("struct ldtag") == ffi.alignof("long double")


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
@pytest.mark.parametrize("decl,call,message,cffi_text", [
    ("struct p { char c; int i; }; int id_int(struct p);", "lib.id_int([1, 2])",
     r"'int\(\*\)\(struct p\)': argument 1: 'struct p' has a layout libffi cannot express",
     "ctype 'struct p' not supported as argument.  It is a 'packed' structure, with a "
     "different layout than expected by libffi.  Such structs are only supported as argument "
     "if the function is 'API mode' and non-variadic"),
    ("struct a { char c __attribute__((aligned(16))); }; struct a min_int(void);",
     "lib.min_int()", r"the result: 'struct a' has a layout libffi cannot express", None),
    ("struct s { int n; int rest[]; }; int id_int(struct s);", "lib.id_int([1])",
     r"argument 1: 'struct s' has a flexible array member",
     "ctype 'struct s' not supported as argument.  It is a struct with a zero-length array, "
     "which libffi does not support."),
    ("union u { int i; float f; }; int id_int(union u);", "lib.id_int([1])",
     r"argument 1: 'union u' is a union",
     "ctype 'union u' not supported as argument by libffi.  Unions are only supported as "
     "argument if the function is 'API mode' and non-variadic (i.e. declared inside "
     "ffibuilder.cdef()+ffibuilder.set_source() and not taking a final '...' argument)"),
])
def test_by_value_layouts_libffi_cannot_express_are_refused(module, calls_library, decl,
                                                           call, message, cffi_text):
    """Calls and callbacks refuse the same layouts, with the reason: passing them through
    libffi would put them in the wrong registers. The message is cffi's where cffi refuses
    the type too; cffix's reason, naming the function and the argument, is a note."""
    ffi = module.FFI()
    ffi.cdef(decl, packed=decl.startswith("struct p"))
    lib = ffi.dlopen(calls_library)
    with pytest.raises(NotImplementedError) as info:
        eval(call)
    notes = getattr(info.value, "__notes__", [])
    if cffi_text is None:
        assert re.search(message, str(info.value)) and not notes
    else:
        assert str(info.value).startswith(cffi_text)
        assert re.search(message, notes[0])


def test_incomplete_struct_result_is_type_error(module, calls_library):
    ffi = module.FFI()
    ffi.cdef("struct opaque; struct opaque noop(void);")
    lib = ffi.dlopen(calls_library)
    with pytest.raises(TypeError):
        lib.noop()
