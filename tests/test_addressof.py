"""ffi.addressof: the address of a struct, a field path or an array item (and pointer
arithmetic far from zero); never out of an array's range.

cffi's behaviour is the spec (some cases are compared with cffi itself, the oracle); where
cffi reads or writes past the end of memory of known size, or crashes, cffix raises
instead, and these tests say so.
"""

import gc

import pytest

CDEF = """
    struct s { int a; struct { int x, y; } in; int arr[4]; };
    struct b { int x:3; int y; };
    struct opaque;
    union u { int i; char c; };
"""


def test_addressof_struct(ffi):
    p = ffi.new("struct s *")
    q = ffi.addressof(p[0])
    assert ffi.typeof(q) is ffi.typeof("struct s *")
    assert q == p
    assert repr(q) == repr(ffi.cast("struct s *", p))  # "<cdata 'struct s *' 0x...>"
    assert ffi.typeof(ffi.addressof(ffi.new("union u *")[0])) is ffi.typeof("union u *")


def test_addressof_fields(ffi):
    p = ffi.new("struct s *")
    s = p[0]
    a = ffi.addressof(s, "a")
    assert ffi.typeof(a) is ffi.typeof("int *") and a == ffi.cast("int *", p)
    y = ffi.addressof(s, "in", "y")
    offset = int(ffi.cast("intptr_t", y)) - int(ffi.cast("intptr_t", p))
    assert offset == ffi.offsetof("struct s", "in") + 4
    y[0] = 9
    assert getattr(p, "in").y == 9
    arr = ffi.addressof(s, "arr")
    assert ffi.typeof(arr) is ffi.typeof("int(*)[4]")


def test_addressof_field_through_pointer(ffi):
    p = ffi.new("struct s *")
    assert ffi.addressof(p, "a") == ffi.cast("int *", p)
    assert ffi.addressof(p, 0, "a") == ffi.cast("int *", p)


def test_addressof_array_items(ffi):
    a = ffi.new("int[4]", [10, 11, 12, 13])
    assert ffi.addressof(a, 2)[0] == 12
    assert ffi.addressof(a, 4) == a + 4  # one past the end is valid C
    assert ffi.addressof(a, True)[0] == 11
    assert ffi.typeof(ffi.addressof(a)) is ffi.typeof("int(*)[4]")
    m = ffi.new("int[2][3]")
    assert ffi.typeof(ffi.addressof(m, 1)) is ffi.typeof("int(*)[3]")
    assert ffi.addressof(m, 1, 2) == ffi.cast("int *", m) + 5
    s = ffi.new("struct s[3]")
    assert ffi.addressof(s, 1, "arr", 2) == ffi.cast("int *", ffi.addressof(s[1], "arr")) + 2


def test_addressof_pointer_index(ffi):
    p = ffi.new("struct s *")
    assert ffi.addressof(p, 0) == p
    assert ffi.addressof(p, 1) == p + 1
    raw = ffi.cast("int *", 0)
    assert ffi.addressof(raw, 1) == ffi.cast("int *", 4)  # unknown memory: no check


def test_pointer_arithmetic_far_offsets_wrap_like_addresses(ffi):
    # Offsets whose byte distance does not fit in 64 bits: computed as addresses (wrapping,
    # as cffi's C does), never as signed overflow (undefined behaviour, seen by UBSan).
    raw = ffi.cast("int *", 0)
    assert raw + 2**62 == raw  # 4 * 2**62 == 2**64
    assert int(ffi.cast("intptr_t", raw - (2**63 - 1))) == 4
    assert raw - (-2**63) == raw  # negating -2**63 would overflow
    assert int(ffi.cast("uintptr_t", raw[2**62:2**62 + 1])) == 0
    far = ffi.cast("char *", 2**63 + 8)
    assert far - ffi.cast("char *", 0) == -(2**63) + 8
    with pytest.raises(OverflowError):
        raw + 2**63


def test_addressof_offsetof_overflow_is_overflow_error(ffi):
    with pytest.raises(OverflowError):
        ffi.addressof(ffi.cast("int *", 0), 2**62)
    with pytest.raises(OverflowError):
        ffi.addressof(ffi.cast("struct s *", 0), 2**62, "a")
    with pytest.raises(OverflowError):
        ffi.offsetof("int *", 2**62)
    n = (2**63 - 1) // ffi.sizeof("struct s")
    with pytest.raises(OverflowError):  # the product fits, the field offset does not
        ffi.offsetof("struct s *", n, "arr")


def test_addressof_index_out_of_range_is_index_error(ffi):
    # cffi returns pointers anywhere here.
    a = ffi.new("int[4]")
    with pytest.raises(IndexError, match="out of range"):
        ffi.addressof(a, 5)
    with pytest.raises(IndexError):
        ffi.addressof(a, -1)
    with pytest.raises(IndexError):
        ffi.addressof(ffi.new("struct s *")[0], "arr", 5)
    with pytest.raises(IndexError):
        ffi.addressof(ffi.new("char[]", b"hello")[1:3], 3)
    with pytest.raises(IndexError):
        ffi.addressof(ffi.new("struct s *"), 2)  # owns one struct
    with pytest.raises(IndexError):
        ffi.addressof(ffi.new("int[2][3]"), 1, 4)


def test_addressof_keeps_owner_alive(ffi):
    p = ffi.new("struct s *", [5, [6, 7]])
    r = ffi.addressof(p[0], "in")
    del p
    gc.collect()
    assert r.x == 6 and r[0].y == 7
    assert repr(r).startswith("<cdata 'struct ")


def test_addressof_result_bounds_further_operations(ffi):
    a = ffi.new("int[4]")
    q = ffi.addressof(a, 1)
    assert len(ffi.buffer(q, 12)) == 12
    with pytest.raises(ValueError, match="past the end"):
        ffi.buffer(q, 13)
    with pytest.raises(IndexError):
        ffi.unpack(q, 4)
    assert ffi.unpack(q, 3) == [0, 0, 0]


def test_addressof_released_is_value_error(ffi):
    p = ffi.new("struct s *")
    s = p[0]
    ffi.release(p)
    with pytest.raises(ValueError, match="released"):
        ffi.addressof(s)


def test_addressof_pointer_without_path_is_type_error(ffi):
    with pytest.raises(TypeError, match="addressof\\(pointer\\)"):
        ffi.addressof(ffi.new("struct s *"))


def test_addressof_primitive_is_type_error(ffi):
    with pytest.raises(TypeError, match="expected a cdata struct/union/array/pointer object"):
        ffi.addressof(ffi.cast("int", 5))


def test_addressof_non_cdata_is_type_error(ffi):
    with pytest.raises(TypeError, match="expected a 'cdata' object"):
        ffi.addressof(5)
    with pytest.raises(TypeError):
        ffi.addressof()


def test_addressof_bad_path_items(ffi):
    s = ffi.new("struct s *")[0]
    with pytest.raises(KeyError):
        ffi.addressof(s, "nope")
    with pytest.raises(TypeError, match="with an integer argument"):
        ffi.addressof(s, 5)
    with pytest.raises(TypeError, match="with a field name argument"):
        ffi.addressof(s, "a", "b")
    with pytest.raises(TypeError, match="field name or array index expected"):
        ffi.addressof(s, 1.5)
    with pytest.raises(TypeError, match="field name or array index expected"):
        ffi.addressof(s, b"a")
    with pytest.raises(TypeError, match="with a field name argument"):
        ffi.addressof(ffi.new("int[4]"), "x")
    with pytest.raises(TypeError, match="with an integer argument"):
        ffi.addressof(ffi.new("struct s[2]"), 0, 0)
    with pytest.raises(TypeError, match="with an integer argument"):
        ffi.addressof(ffi.cast("void *", 0), 0)
    with pytest.raises(TypeError, match="with an integer argument"):
        ffi.addressof(ffi.cast("struct opaque *", 0), 0)


def test_addressof_bitfield_is_type_error(ffi):
    b = ffi.new("struct b *")[0]
    with pytest.raises(TypeError, match="not supported for bitfields"):
        ffi.addressof(b, "x")
    assert ffi.addressof(b, "y") is not None


def test_addressof_matches_cffi_offsets(ffi, oracle_ffi):
    for path in [("a",), ("in",), ("in", "y"), ("arr",), ("arr", 3)]:
        ours_p = ffi.new("struct s *")
        theirs_p = oracle_ffi.new("struct s *")
        ours = ffi.addressof(ours_p[0], *path)
        theirs = oracle_ffi.addressof(theirs_p[0], *path)
        assert str(ffi.typeof(ours).cname) == str(oracle_ffi.typeof(theirs).cname)
        assert (int(ffi.cast("intptr_t", ours)) - int(ffi.cast("intptr_t", ours_p)) ==
                int(oracle_ffi.cast("intptr_t", theirs)) - int(oracle_ffi.cast("intptr_t", theirs_p)))
