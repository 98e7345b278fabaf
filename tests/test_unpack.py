"""ffi.unpack(p, n): n items of an array or pointer as bytes, str or a list; never past
the end of memory of known size.

cffi's behaviour is the spec (some cases are compared with cffi itself, the oracle); where
cffi reads or writes past the end of memory of known size, or crashes, cffix raises
instead, and these tests say so.
"""

import array
import gc

import pytest

CDEF = """
    struct s { int a; struct { int x, y; } in; int arr[4]; };
    struct opaque;
    enum e { A = 1, B = 2 };
"""


def test_unpack_chars_gives_bytes(ffi):
    p = ffi.new("char[]", b"hello")
    assert ffi.unpack(p, 3) == b"hel"
    assert ffi.unpack(p, 6) == b"hello\0"
    assert ffi.unpack(p, 0) == b""


def test_unpack_ints_gives_list(ffi):
    assert ffi.unpack(ffi.new("int[]", [1, 2, 3]), 3) == [1, 2, 3]
    assert ffi.unpack(ffi.new("unsigned char[]", [1, 2]), 2) == [1, 2]  # not bytes
    assert ffi.unpack(ffi.new("_Bool[]", [1, 0]), 2) == [True, False]
    assert ffi.unpack(ffi.new("double[]", [1, 2]), 2) == [1.0, 2.0]
    assert ffi.unpack(ffi.new("enum e[2]", [1, 2]), 2) == [1, 2]


def test_unpack_wide_chars_gives_str(ffi):
    assert ffi.unpack(ffi.new("wchar_t[]", "hey"), 3) == "hey"
    assert ffi.unpack(ffi.new("char32_t[]", "hey"), 2) == "he"
    units = array.array("H", [0x68, 0xD834, 0xDD1E])
    assert ffi.unpack(ffi.from_buffer("char16_t[]", units), 3) == "h\U0001d11e"


def test_unpack_pointers_and_structs(ffi):
    ptrs = ffi.unpack(ffi.new("int *[2]"), 2)
    assert [repr(p) for p in ptrs] == ["<cdata 'int *' NULL>"] * 2
    items = ffi.unpack(ffi.new("struct s[2]"), 2)
    assert [ffi.typeof(x) for x in items] == [ffi.typeof("struct s")] * 2
    assert repr(items[0]).startswith("<cdata 'struct s &'")


def test_unpack_struct_items_keep_memory_alive(ffi):
    items = ffi.unpack(ffi.new("struct s[2]", [[7], [8]]), 2)
    gc.collect()
    assert items[1].a == 8


def test_unpack_through_pointer(ffi):
    a = ffi.new("int[]", [1, 2, 3])
    assert ffi.unpack(ffi.cast("int *", a), 3) == [1, 2, 3]
    assert ffi.unpack(a[1:3], 2) == [2, 3]
    assert ffi.unpack(ffi.new("int *", 5), 1) == [5]


def test_unpack_past_known_end_is_index_error(ffi):
    # cffi reads past the end here.
    with pytest.raises(IndexError, match="past the end"):
        ffi.unpack(ffi.new("char[]", b"hello"), 10)
    with pytest.raises(IndexError):
        ffi.unpack(ffi.new("int *", 5), 2)
    with pytest.raises(IndexError):
        ffi.unpack(ffi.new("struct s *").arr, 5)
    with pytest.raises(IndexError):
        ffi.unpack(ffi.new("int[]", [1, 2, 3])[1:3], 3)


def test_unpack_negative_length_is_value_error(ffi):
    with pytest.raises(ValueError, match="'length' cannot be negative"):
        ffi.unpack(ffi.new("char[]", b"hello"), -1)


def test_unpack_length_must_be_an_integer(ffi):
    with pytest.raises(TypeError):
        ffi.unpack(ffi.new("int[3]"), 2.0)
    with pytest.raises(OverflowError):
        ffi.unpack(ffi.new("int[3]"), 2**64)
    with pytest.raises(TypeError, match="length"):
        ffi.unpack(ffi.new("int[3]"))


def test_unpack_non_pointer_is_type_error(ffi):
    with pytest.raises(TypeError, match="expected a pointer or array, got 'int'"):
        ffi.unpack(ffi.cast("int", 0), 0)
    with pytest.raises(TypeError, match="got 'struct s'"):
        ffi.unpack(ffi.new("struct s *")[0], 1)
    with pytest.raises(TypeError, match="must be a cdata"):
        ffi.unpack(b"abc", 1)


def test_unpack_items_of_unknown_size_is_value_error(ffi):
    with pytest.raises(ValueError, match="unknown size"):
        ffi.unpack(ffi.cast("void *", 1000), 2)
    with pytest.raises(ValueError, match="unknown size"):
        ffi.unpack(ffi.cast("struct opaque *", 1000), 2)


def test_unpack_null_is_runtime_error(ffi):
    with pytest.raises(RuntimeError, match="cannot use unpack\\(\\) on <cdata 'int \\*' NULL>"):
        ffi.unpack(ffi.cast("int *", 0), 0)
    with pytest.raises(RuntimeError, match="NULL"):
        ffi.unpack(ffi.NULL, 0)  # NULL first, as cffi, though void has no size


def test_unpack_released_is_value_error(ffi):
    p = ffi.new("int[3]")
    ffi.release(p)
    with pytest.raises(ValueError, match="released"):
        ffi.unpack(p, 1)


def test_unpack_matches_cffi(ffi, oracle_ffi):
    for cdecl, init, n in [("char[]", b"hello", 4), ("int[]", [1, -2, 3], 3),
                           ("wchar_t[]", "h\u20ac", 2), ("float[]", [0.5, 2], 2)]:
        assert ffi.unpack(ffi.new(cdecl, init), n) == oracle_ffi.unpack(oracle_ffi.new(cdecl, init), n)
