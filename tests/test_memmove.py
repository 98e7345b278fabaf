"""ffi.memmove(dest, src, n) between cdata and Python buffers, overlapping or not; never
past the end of either.

cffi's behaviour is the spec (some cases are compared with cffi itself, the oracle); where
cffi reads or writes past the end of memory of known size, or crashes, cffix raises
instead, and these tests say so.
"""

import array

import pytest

CDEF = """
    struct s { int a; struct { int x, y; } in; int arr[4]; };
    typedef int (*fn_t)(int);
"""


def test_memmove_bytes_into_cdata(ffi):
    a = ffi.new("char[]", b"hello")
    assert ffi.memmove(a, b"HE", 2) is None
    assert ffi.string(a) == b"HEllo"


def test_memmove_cdata_into_bytearray(ffi):
    ba = bytearray(b"abcdef")
    ffi.memmove(ba, ffi.new("char[]", b"XY"), 3)
    assert ba == bytearray(b"XY\0def")


def test_memmove_overlapping(ffi):
    a = ffi.new("char[]", b"hello")
    ffi.memmove(a + 1, a, 3)
    assert ffi.string(a) == b"hhelo"


def test_memmove_between_cdata_of_other_types(ffi):
    i4 = ffi.new("int[4]")
    ffi.memmove(i4, array.array("i", [1, 2]), 8)
    ffi.memmove(i4 + 2, ffi.new("short[]", [3, 4]), 4)
    assert list(i4) == [1, 2, 3 + (4 << 16), 0]


def test_memmove_into_buffer_object(ffi):
    a = ffi.new("char[]", b"hello")
    ffi.memmove(ffi.buffer(a), b"zz", 2)
    assert ffi.string(a) == b"zzllo"


def test_memmove_keywords(ffi):
    a = ffi.new("char[]", b"hello")
    ffi.memmove(dest=a, src=b"ab", n=2)
    assert ffi.string(a) == b"abllo"
    with pytest.raises(TypeError):
        ffi.memmove(a, b"ab")


def test_memmove_zero_bytes_with_null(ffi):
    # n == 0 touches no memory: NULL is fine on either side (n > 0 is a RuntimeError).
    a = ffi.new("char[]", b"hello")
    assert ffi.memmove(ffi.cast("char *", 0), a, 0) is None
    assert ffi.memmove(a, ffi.cast("char *", 0), 0) is None
    assert ffi.memmove(ffi.NULL, b"", 0) is None
    assert ffi.unpack(a, 6) == b"hello\0"


def test_memmove_null_with_bytes_is_runtime_error(ffi):
    with pytest.raises(RuntimeError, match="NULL"):
        ffi.memmove(ffi.cast("char *", 0), b"ab", 2)


def test_memmove_negative_size_is_value_error(ffi):
    with pytest.raises(ValueError, match="negative size"):
        ffi.memmove(ffi.new("char[]", b"hello"), b"HE", -1)


def test_memmove_size_must_be_an_integer(ffi):
    with pytest.raises(TypeError):
        ffi.memmove(ffi.new("char[4]"), b"ab", 2.0)
    with pytest.raises(OverflowError):
        ffi.memmove(ffi.new("char[4]"), b"ab", 2**64)


def test_memmove_past_source_end_is_value_error(ffi):
    # cffi reads past the end of the bytes object.
    with pytest.raises(ValueError, match="past the end of src"):
        ffi.memmove(ffi.new("char[]", b"hello"), b"HE", 3)
    with pytest.raises(ValueError, match="past the end of src \\(cdata 'int \\*'"):
        ffi.memmove(ffi.new("char[8]"), ffi.new("int *"), 5)


def test_memmove_past_dest_end_is_value_error(ffi):
    with pytest.raises(ValueError, match="past the end of dest \\(cdata 'char\\[4\\]'"):
        ffi.memmove(ffi.new("char[4]"), b"12345", 5)
    with pytest.raises(ValueError, match="past the end of dest \\('bytearray'"):
        ffi.memmove(bytearray(2), b"123", 3)


def test_memmove_readonly_dest_is_buffer_error(ffi):
    with pytest.raises(BufferError, match="not writable"):
        ffi.memmove(b"xxx", ffi.new("char[]", b"ab"), 2)


def test_memmove_wrong_types_are_type_errors(ffi):
    a = ffi.new("char[]", b"hello")
    with pytest.raises(TypeError, match="bytes-like object is required, not 'str'"):
        ffi.memmove(a, "xx", 2)
    with pytest.raises(TypeError):
        ffi.memmove(a, 5, 2)
    with pytest.raises(TypeError):
        ffi.memmove(5, a, 2)
    with pytest.raises(TypeError):
        ffi.memmove(a, [1, 2], 2)
    with pytest.raises(TypeError, match="dest: expected a pointer or array ctype, got 'int'"):
        ffi.memmove(ffi.cast("int", 5), a, 1)
    with pytest.raises(TypeError, match="src: .*got 'struct s'"):
        ffi.memmove(a, ffi.new("struct s *")[0], 2)
    with pytest.raises(TypeError):
        ffi.memmove(ffi.cast("fn_t", 0), b"", 0)


def test_memmove_non_contiguous_is_buffer_error(ffi):
    a = ffi.new("char[]", b"hello")
    with pytest.raises(BufferError):
        ffi.memmove(a, memoryview(bytearray(8))[::2], 2)
    with pytest.raises(BufferError):
        ffi.memmove(memoryview(bytearray(8))[::2], a, 2)


def test_memmove_released_is_value_error(ffi):
    a = ffi.new("char[4]")
    ffi.release(a)
    with pytest.raises(ValueError, match="released"):
        ffi.memmove(a, b"ab", 2)
    with pytest.raises(ValueError, match="released"):
        ffi.memmove(bytearray(4), a, 2)
