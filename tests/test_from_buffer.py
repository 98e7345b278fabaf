"""ffi.from_buffer: a cdata over a Python buffer (bytes, bytearray, array, memoryview,
numpy), which it locks until released or collected.

cffi's behaviour is the spec (some cases are compared with cffi itself, the oracle); where
cffi reads or writes past the end of memory of known size, or crashes, cffix raises
instead, and these tests say so.
"""

import array
import gc
import weakref

import pytest

CDEF = """
    struct s { int a; struct { int x, y; } in; int arr[4]; };
"""


def test_from_buffer_default_type_is_char_array(ffi):
    ba = bytearray(b"xyz")
    for _ in range(3):  # the default "char[]" resolves the same way each time
        p = ffi.from_buffer(ba)
        assert ffi.typeof(p) is ffi.typeof("char[]") and len(p) == 3 and p[1] == b"y"
    ffi.cdef("typedef int later_t;")  # a new declaration clears the type caches
    p = ffi.from_buffer(ba)
    assert ffi.typeof(p) is ffi.typeof("char[]") and len(p) == 3
    assert ffi.typeof(ffi.from_buffer(python_buffer=ba)) is ffi.typeof("char[]")


def test_from_buffer_bytearray(ffi):
    ba = bytearray(b"0123456789")
    c = ffi.from_buffer(ba)
    assert repr(c) == "<cdata 'char[]' buffer len 10 from 'bytearray' object>"
    assert len(c) == 10 and c[0] == b"0"
    assert ffi.typeof(c) is ffi.typeof("char[]")
    c[0] = b"X"
    assert ba[0:1] == b"X"


def test_from_buffer_is_a_cdata(ffi):
    c = ffi.from_buffer(b"abc")
    assert isinstance(c, ffi.CData)
    assert ffi.string(c) == b"abc"
    assert int(ffi.cast("intptr_t", c + 1)) == int(ffi.cast("intptr_t", c)) + 1
    assert weakref.ref(c)() is c


def test_from_buffer_bytes_is_readable(ffi):
    c = ffi.from_buffer(b"abc")
    assert repr(c) == "<cdata 'char[]' buffer len 3 from 'bytes' object>"
    assert c[2] == b"c"


def test_from_buffer_array_types(ffi):
    c = ffi.from_buffer("int[]", array.array("i", [1, 2, 3]))
    assert repr(c) == "<cdata 'int[]' buffer len 3 from 'array.array' object>"
    assert list(c) == [1, 2, 3]
    assert len(ffi.from_buffer("int[]", bytearray(7))) == 1  # rounded down
    assert len(ffi.from_buffer("int[]", bytearray(3))) == 0
    assert len(ffi.from_buffer("char[]", array.array("i", [1, 2, 3]))) == 12
    assert len(ffi.from_buffer("struct s[]", bytearray(100))) == 100 // ffi.sizeof("struct s")


def test_from_buffer_fixed_length_array(ffi):
    c = ffi.from_buffer("int[2]", bytearray(10))
    assert repr(c) == "<cdata 'int[2]' buffer len 2 from 'bytearray' object>"
    with pytest.raises(ValueError, match="buffer is too small \\(10 bytes\\) for 'int\\[3\\]' "
                                         "\\(12 bytes\\)"):
        ffi.from_buffer("int[3]", bytearray(10))


def test_from_buffer_pointer_types(ffi):
    ba = bytearray(8)
    e = ffi.from_buffer("int *", ba)
    assert repr(e) == "<cdata 'int *' buffer from 'bytearray' object>"
    e[1] = 5
    assert ba[4] == 5
    assert repr(ffi.from_buffer("void *", ba)) == "<cdata 'void *' buffer from 'bytearray' object>"


def test_from_buffer_non_pointer_type_is_type_error(ffi):
    with pytest.raises(TypeError, match="expected a pointer or array ctype, got 'int'"):
        ffi.from_buffer("int", bytearray(10))
    with pytest.raises(TypeError, match="got 'struct s'"):
        ffi.from_buffer("struct s", bytearray(10))


def test_from_buffer_non_buffer_is_type_error(ffi):
    with pytest.raises(TypeError, match="cannot return the address of a unicode object"):
        ffi.from_buffer("abc")
    with pytest.raises(TypeError, match="bytes-like object is required"):
        ffi.from_buffer(5)
    with pytest.raises(TypeError, match="bytes-like object is required"):
        ffi.from_buffer(ffi.new("int[3]"))


def test_from_buffer_non_contiguous_is_buffer_error(ffi):
    with pytest.raises(BufferError, match="contiguous"):
        ffi.from_buffer(memoryview(bytearray(16))[::2])


def test_from_buffer_memoryviews(ffi):
    assert len(ffi.from_buffer("int[]", memoryview(b"12345678"))) == 2
    assert len(ffi.from_buffer(memoryview(bytearray(16)).cast("i"))) == 16
    assert len(ffi.from_buffer("int[]", memoryview(bytearray(16)).cast("B", (4, 4)))) == 4


def test_from_buffer_cffix_buffer(ffi):
    p = ffi.new("int[3]", [1, 2, 3])
    c = ffi.from_buffer("int[]", ffi.buffer(p))
    assert repr(c) == "<cdata 'int[]' buffer len 3 from 'cffix.buffer' object>"
    assert list(c) == [1, 2, 3]


def test_from_buffer_numpy(ffi):
    np = pytest.importorskip("numpy")
    a = np.arange(4, dtype=np.int32)
    c = ffi.from_buffer("int[]", a)
    assert list(c) == [0, 1, 2, 3]
    c[2] = 10
    assert a[2] == 10
    with pytest.raises(ValueError, match="not C-contiguous"):  # numpy's own error, as cffi
        ffi.from_buffer(a[::2])


def test_from_buffer_require_writable(ffi):
    assert len(ffi.from_buffer(bytearray(3), require_writable=True)) == 3
    with pytest.raises(BufferError, match="not writable"):
        ffi.from_buffer(b"abc", require_writable=True)
    with pytest.raises(BufferError):
        ffi.from_buffer("char[]", b"abc", True)
    with pytest.raises(BufferError):
        ffi.from_buffer(memoryview(bytearray(3)).toreadonly(), require_writable=True)


def test_from_buffer_arguments(ffi):
    assert len(ffi.from_buffer("char[]", python_buffer=bytearray(3))) == 3
    assert len(ffi.from_buffer(cdecl="char[]", python_buffer=bytearray(3))) == 3
    assert len(ffi.from_buffer(python_buffer=bytearray(3))) == 3
    with pytest.raises(TypeError):
        ffi.from_buffer()
    with pytest.raises(TypeError):
        ffi.from_buffer("char[]", b"abc", True, 5)
    with pytest.raises(TypeError):
        ffi.from_buffer(b"abc", False)  # two positional: (cdecl, python_buffer), as cffi


def test_from_buffer_locks_the_source(ffi):
    ba = bytearray(b"abc")
    c = ffi.from_buffer(ba)
    with pytest.raises(BufferError):
        ba.append(1)
    del c
    ba.append(1)  # unlocked once collected
    assert ba == bytearray(b"abc\x01")


def test_from_buffer_release_unlocks(ffi):
    ba = bytearray(b"abc")
    c = ffi.from_buffer(ba)
    ffi.release(c)
    assert repr(c) == "<cdata 'char[]' buffer RELEASED>"
    ba.append(1)
    assert ba == bytearray(b"abc\x01")
    assert ffi.release(c) is None  # twice is fine
    assert repr(c) == "<cdata 'char[]' buffer RELEASED>"


def test_from_buffer_with_statement_unlocks(ffi):
    ba = bytearray(b"abc")
    with ffi.from_buffer(ba) as c:
        assert c[0] == b"a"
    assert repr(c) == "<cdata 'char[]' buffer RELEASED>"
    ba.append(1)
    assert ba == bytearray(b"abc\x01")


def test_from_buffer_access_after_release_is_value_error(ffi):
    # cffi still reads the (maybe reallocated) memory.
    ba = bytearray(b"abc")
    c = ffi.from_buffer(ba)
    view = c[0:2]
    ffi.release(c)
    with pytest.raises(ValueError, match="released"):
        c[0]
    with pytest.raises(ValueError, match="released"):
        view[0]
    with pytest.raises(ValueError, match="released"):
        ffi.buffer(c)


def test_from_buffer_keeps_source_alive(ffi):
    class Data(bytearray):
        pass

    c = ffi.from_buffer(Data(b"xyz"))
    gc.collect()
    assert ffi.string(c) == b"xyz"


def test_from_buffer_cycle_is_collected(ffi):
    class Data(bytearray):
        pass

    d = Data(b"xyz")
    d.cdata = ffi.from_buffer(d)
    d.buf = ffi.buffer(d.cdata)
    ref = weakref.ref(d)
    del d
    gc.collect()
    assert ref() is None


def test_from_buffer_matches_cffi(ffi, oracle_ffi):
    for args in [(bytearray(b"0123456789"),), ("int[]", bytearray(10)), ("int *", b"abcd"),
                 ("char[2]", b"abc")]:
        assert repr(ffi.from_buffer(*args)) == repr(oracle_ffi.from_buffer(*args))
