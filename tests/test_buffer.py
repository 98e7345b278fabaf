"""ffi.buffer: the bytes of a cdata as a writable buffer object (slicing, item and slice
assignment, memoryview, comparison), never past the end of memory of known size.

cffi's behaviour is the spec (some cases are compared with cffi itself, the oracle); where
cffi reads or writes past the end of memory of known size, or crashes, cffix raises
instead, and these tests say so.
"""

import gc

import pytest

CDEF = """
    struct s { int a; struct { int x, y; } in; int arr[4]; };
    typedef int (*fn_t)(int);
"""


class np_index:
    """An int-like object with __index__ only."""

    def __init__(self, value):
        self.value = value

    def __index__(self):
        return self.value


def test_buffer_is_a_type(ffi):
    b = ffi.buffer(ffi.new("char[]", b"hi"))
    assert isinstance(b, ffi.buffer)
    assert type(b).__name__ == "buffer"
    with pytest.raises(TypeError):
        class Sub(ffi.buffer):
            pass


def test_buffer_repr(ffi):
    b = ffi.buffer(ffi.new("char[]", b"hi"))
    assert repr(b).startswith("<cffix.buffer object at 0x")
    assert str(b) == repr(b)


def test_buffer_default_size(ffi):
    assert len(ffi.buffer(ffi.new("char[]", b"hello"))) == 6
    assert len(ffi.buffer(ffi.new("int[4]"))) == 16
    assert len(ffi.buffer(ffi.new("int *"))) == 4
    assert len(ffi.buffer(ffi.new("struct s *"))) == ffi.sizeof("struct s")
    assert len(ffi.buffer(ffi.new("struct s *").arr)) == 16
    assert len(ffi.buffer(ffi.new("int[]", [1, 2, 3])[1:3])) == 8
    assert len(ffi.buffer(ffi.cast("int *", 1234))) == 4
    assert len(ffi.buffer(ffi.new("char[]", 0))) == 0


def test_buffer_explicit_size(ffi):
    p = ffi.new("int[4]")
    assert len(ffi.buffer(p, 2)) == 2
    assert len(ffi.buffer(p, size=3)) == 3
    assert len(ffi.buffer(p, -1)) == 16
    assert len(ffi.buffer(ffi.cast("void *", 1234), 5)) == 5


def test_buffer_call_forms(ffi):
    # ffi.buffer is a type called without an argument tuple (vectorcall); its __new__
    # and the keyword forms take the same arguments.
    p = ffi.new("int[4]")
    assert len(ffi.buffer(cdata=p)) == 16
    assert len(ffi.buffer(p, size=np_index(5))) == 5
    assert len(ffi.buffer(size=6, cdata=p)) == 6
    assert len(ffi.buffer.__new__(ffi.buffer, p)) == 16
    assert len(ffi.buffer.__new__(ffi.buffer, p, size=7)) == 7
    assert len(ffi.buffer.__new__(ffi.buffer, cdata=p, size=8)) == 8


def test_buffer_attribute_is_the_type_however_read(ffi):
    import cffix

    p = ffi.new("int[4]")
    assert ffi.buffer is cffix.FFI.buffer is getattr(ffi, "buffer")
    assert isinstance(ffi.buffer, type) and ffi.buffer.__name__ == "buffer"
    make = ffi.buffer  # read first, called later: the type itself
    assert type(make(p)) is ffi.buffer and len(make(p, 4)) == 4

    class MyFFI(cffix.FFI):
        pass

    sub = MyFFI()
    assert sub.buffer is ffi.buffer and len(sub.buffer(p, size=3)) == 3
    # The class attribute called with an ffi first, as a method would be.
    method = vars(cffix.FFI)["buffer"]
    assert len(method(ffi, p, 2)) == 2 and len(method(ffi, cdata=p)) == 16
    with pytest.raises(TypeError):
        method()


def test_buffer_reference_cycle_is_collected(ffi):
    # buffer -> ffi.gc cdata -> destructor -> buffer: the collector must see the buffer.
    import gc
    import weakref

    destroyed = []

    def make_cycle():
        p = ffi.gc(ffi.new("int[4]"), lambda cd: destroyed.append(len(holder)))
        holder = [ffi.buffer(p)]
        return weakref.ref(p)

    ref = make_cycle()
    gc.collect()
    assert ref() is None and destroyed == [1]


def test_buffer_of_owned_memory_outlives_its_names(ffi):
    b = ffi.buffer(ffi.new("char[]", b"abc"))
    import gc

    gc.collect()
    assert b[:] == b"abc\0"


def test_buffer_bad_arguments(ffi):
    p = ffi.new("int[4]")
    with pytest.raises(TypeError, match="missing required argument 'cdata'"):
        ffi.buffer()
    with pytest.raises(TypeError, match="missing required argument 'cdata'"):
        ffi.buffer(size=3)
    with pytest.raises(TypeError, match="at most 2 arguments"):
        ffi.buffer(p, 1, 2)
    with pytest.raises(TypeError, match="unexpected keyword argument 'length'"):
        ffi.buffer(p, length=3)
    with pytest.raises(TypeError, match="multiple values for argument 'cdata'"):
        ffi.buffer(p, cdata=p)
    with pytest.raises(TypeError):
        ffi.buffer(p, None)
    with pytest.raises(TypeError):
        ffi.buffer(p, "3")
    with pytest.raises(OverflowError):
        ffi.buffer(p, 2**70)
    with pytest.raises(TypeError, match="must be a cdata"):
        ffi.buffer.__new__(ffi.buffer, b"abc")


def test_buffer_size_past_known_end_is_value_error(ffi):
    # cffi only warns, then lets you read and write past the end.
    with pytest.raises(ValueError, match="past the end"):
        ffi.buffer(ffi.new("int[4]"), 17)
    with pytest.raises(ValueError):
        ffi.buffer(ffi.new("int *"), 5)


def test_buffer_size_must_be_an_integer(ffi):
    with pytest.raises(TypeError):
        ffi.buffer(ffi.new("int[4]"), 2.0)


def test_buffer_of_non_pointer_is_type_error(ffi):
    with pytest.raises(TypeError, match="expected a pointer or array cdata, got 'int'"):
        ffi.buffer(ffi.cast("int", 4))
    with pytest.raises(TypeError, match="got 'struct s'"):
        ffi.buffer(ffi.new("struct s *")[0])
    with pytest.raises(TypeError, match="got 'int\\(\\*\\)\\(int\\)'"):
        ffi.buffer(ffi.cast("fn_t", 1000))
    with pytest.raises(TypeError, match="must be a cdata"):
        ffi.buffer(b"abc")


def test_buffer_of_unknown_size_is_type_error(ffi):
    with pytest.raises(TypeError, match="don't know the size pointed to by 'void \\*'"):
        ffi.buffer(ffi.cast("void *", 1234))


def test_buffer_of_null_is_runtime_error(ffi):
    # cffi makes a buffer over address 0.
    with pytest.raises(RuntimeError, match="NULL"):
        ffi.buffer(ffi.cast("int *", 0))
    with pytest.raises(RuntimeError, match="NULL"):
        ffi.buffer(ffi.cast("char *", 0), 1)


def test_buffer_of_null_with_size_zero_is_empty(ffi):
    b = ffi.buffer(ffi.cast("int *", 0), 0)
    assert len(b) == 0 and b[:] == b"" and bytes(memoryview(b)) == b""


def test_buffer_of_released_cdata_is_value_error(ffi):
    p = ffi.new("char[]", b"abc")
    ffi.release(p)
    with pytest.raises(ValueError, match="released"):
        ffi.buffer(p)


def test_buffer_access_after_release_is_value_error(ffi):
    p = ffi.new("char[]", b"abc")
    b = ffi.buffer(p)
    ffi.release(p)
    with pytest.raises(ValueError, match="released"):
        b[0]
    with pytest.raises(ValueError):
        b[:]
    with pytest.raises(ValueError):
        b[0] = b"x"
    with pytest.raises(ValueError):
        memoryview(b)


def test_buffer_read(ffi):
    b = ffi.buffer(ffi.new("char[]", b"hello"))
    assert bytes(b) == b"hello\0"
    assert b[:] == b"hello\0"
    assert b[0] == b"h"  # bytes of length 1, as cffi
    assert b[-1] == b"\0"
    assert b[1:3] == b"el"
    assert b[4:1] == b""
    assert b[1:100] == b"ello\0"
    assert list(b)[:2] == [b"h", b"e"]
    assert b"l" in b


def test_buffer_index_errors(ffi):
    b = ffi.buffer(ffi.new("char[]", b"hello"))
    with pytest.raises(IndexError, match="buffer index out of range"):
        b[6]
    with pytest.raises(IndexError):
        b[-7]
    with pytest.raises(TypeError, match="buffer indices must be integers, not str"):
        b["x"]
    with pytest.raises(TypeError):
        b[1.0]
    with pytest.raises(IndexError):
        b[2**64]
    with pytest.raises(TypeError, match="step != 1"):
        b[::2]


def test_buffer_write_items(ffi):
    p = ffi.new("char[]", b"hello")
    b = ffi.buffer(p)
    b[0] = b"H"
    b[1] = b"E"
    b[-2] = bytearray(b"O")
    assert ffi.string(p) == b"HEllO"


def test_buffer_write_item_errors(ffi):
    b = ffi.buffer(ffi.new("char[]", b"hello"))
    with pytest.raises(TypeError, match="bytes of length 1"):
        b[0] = 65  # as cffi: items are bytes of length 1, not ints
    with pytest.raises(TypeError):
        b[0] = b"HH"
    with pytest.raises(TypeError):
        b[0] = "H"
    with pytest.raises(IndexError, match="assignment index out of range"):
        b[6] = b"x"


def test_buffer_write_slices(ffi):
    p = ffi.new("char[]", b"hello")
    b = ffi.buffer(p)
    b[1:3] = b"EL"
    assert ffi.string(p) == b"hELlo"
    b[1:3] = bytearray(b"el")
    b[-2:] = memoryview(b"X\0")
    assert bytes(b) == b"hellX\0"
    b[3:1] = b""
    b[:] = b"abcde\0"
    assert ffi.string(p) == b"abcde"
    b[0:2] = ffi.new("char[2]", b"zz")
    assert ffi.string(p) == b"zzcde"


def test_buffer_write_slice_errors(ffi):
    b = ffi.buffer(ffi.new("char[]", b"hello"))
    with pytest.raises(ValueError, match="right operand length must match slice length"):
        b[1:3] = b"E"
    with pytest.raises(TypeError):
        b[1:3] = [1, 2]
    with pytest.raises(TypeError):
        b[1:3] = "xy"
    with pytest.raises(TypeError, match="step != 1"):
        b[::2] = b"abc"


def test_buffer_delete_is_type_error(ffi):
    # cffi crashes here.
    b = ffi.buffer(ffi.new("char[]", b"hello"))
    with pytest.raises(TypeError, match="cannot be deleted"):
        del b[0]
    with pytest.raises(TypeError, match="cannot be deleted"):
        del b[1:3]


def test_buffer_memoryview_is_writable(ffi):
    p = ffi.new("int[2]")
    m = memoryview(ffi.buffer(p))
    assert not m.readonly and m.format == "B" and m.itemsize == 1 and len(m) == 8
    m[0:4] = (7).to_bytes(4, "little")
    assert p[0] == 7


def test_buffer_compares_as_bytes(ffi):
    b = ffi.buffer(ffi.new("char[]", b"hello"))
    assert b == b"hello\0"
    assert b == bytearray(b"hello\0")
    assert b != b"hello"
    assert b < b"z" and b > b"a"
    assert (b == "hello") is False
    assert (b == 5) is False
    with pytest.raises(TypeError, match="unhashable"):
        hash(b)


def test_buffer_keeps_cdata_alive(ffi):
    b = ffi.buffer(ffi.new("char[]", b"hello"))
    gc.collect()
    assert b[:] == b"hello\0"


def test_buffer_keywords(ffi):
    p = ffi.new("char[]", b"abc")
    assert len(ffi.buffer(cdata=p, size=2)) == 2
    with pytest.raises(TypeError):
        ffi.buffer(p, nope=2)


def test_buffer_matches_cffi(ffi, oracle_ffi):
    for cdecl, init in [("char[]", b"hello"), ("int[]", [1, 2, 3]), ("short *", 7)]:
        ours, theirs = ffi.buffer(ffi.new(cdecl, init)), oracle_ffi.buffer(oracle_ffi.new(cdecl, init))
        assert bytes(ours) == bytes(theirs)
        assert ours[1:3] == theirs[1:3] and ours[0] == theirs[0]
