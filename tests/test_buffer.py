"""Raw memory from Python: ffi.string, ffi.unpack, ffi.buffer, ffi.from_buffer,
ffi.memmove, ffi.addressof.

cffi's behaviour is the spec (some cases are compared with cffi itself, the oracle);
where cffi reads or writes past the end of memory of known size, or crashes, cffix
raises instead, and these tests say so."""

import array
import gc
import weakref

import pytest

CDEF = """
    struct s { int a; struct { int x, y; } in; int arr[4]; };
    struct b { int x:3; int y; };
    struct fl { int n; int d[]; };
    struct opaque;
    union u { int i; char c; };
    enum e { A = 1, B = 2 };
    enum neg { N = -1, M = 5 };
    typedef int (*fn_t)(int);
"""


# ---------------------------------------------------------------- ffi.string


def test_string_char_array_stops_at_nul(ffi):
    assert ffi.string(ffi.new("char[]", b"hello")) == b"hello"
    assert ffi.string(ffi.new("char[10]", b"ab\0cd")) == b"ab"


def test_string_maxlen(ffi):
    p = ffi.new("char[]", b"hello")
    assert ffi.string(p, 3) == b"hel"
    assert ffi.string(p, maxlen=0) == b""
    assert ffi.string(p, 100) == b"hello"
    assert ffi.string(p, -5) == b"hello"  # negative: no limit, as cffi


def test_string_maxlen_must_be_an_integer(ffi):
    with pytest.raises(TypeError):
        ffi.string(ffi.new("char[]", b"abc"), 1.5)


def test_string_array_without_nul_stops_at_length(ffi):
    assert ffi.string(ffi.new("char[5]", b"hello")) == b"hello"


def test_string_through_a_pointer(ffi):
    a = ffi.new("char[]", b"hey")
    assert ffi.string(ffi.cast("char *", a)) == b"hey"
    assert ffi.string(a + 1) == b"ey"


def test_string_of_owned_pointer_stops_at_its_memory(ffi):
    # Safer than cffi: ffi.new("char *") owns one byte; no strlen() past it.
    assert ffi.string(ffi.new("char *", b"x")) == b"x"


def test_string_of_slice_stops_at_slice_end(ffi):
    a = ffi.new("char[]", b"hello")
    assert ffi.string(a[1:4]) == b"ell"


def test_string_one_byte_integers_are_chars(ffi):
    assert ffi.string(ffi.new("unsigned char[]", [65, 66, 0, 67])) == b"AB"
    assert ffi.string(ffi.new("int8_t[]", [65, 0])) == b"A"
    assert ffi.string(ffi.cast("unsigned char", 42)) == b"*"


def test_string_wide_arrays(ffi):
    text = "h\xe9\u20ac\U0001d11e"
    assert ffi.string(ffi.new("wchar_t[]", text)) == text
    assert ffi.string(ffi.new("char32_t[]", text)) == text
    assert ffi.string(ffi.new("wchar_t[]", "abc"), 2) == "ab"


def test_string_char16_decodes_surrogate_pairs(ffi):
    units = array.array("H", [0x68, 0xD834, 0xDD1E, 0])
    p = ffi.from_buffer("char16_t[]", units)
    assert ffi.string(p) == "h\U0001d11e"
    assert ffi.string(p, 2) == "h\ud834"  # a pair cut by maxlen stays a lone surrogate


def test_string_char16_keeps_lone_surrogates(ffi):
    p = ffi.from_buffer("char16_t[]", array.array("H", [0xDC00, 0xD800, 0x41, 0]))
    assert ffi.string(p) == "\udc00\ud800A"


def test_string_char32_out_of_range_is_value_error(ffi):
    # cffi raises SystemError here.
    p = ffi.from_buffer("char32_t[]", array.array("I", [0x110000, 0]))
    with pytest.raises(ValueError, match="out of range"):
        ffi.string(p)


def test_string_of_primitive_chars(ffi):
    assert ffi.string(ffi.cast("char", 65)) == b"A"
    assert ffi.string(ffi.cast("char", 0)) == b"\0"
    assert ffi.string(ffi.cast("wchar_t", 0x20AC)) == "\u20ac"
    assert ffi.string(ffi.cast("char16_t", 0x20AC)) == "\u20ac"
    assert ffi.string(ffi.cast("char32_t", 0x1F600)) == "\U0001f600"


def test_string_of_enum(ffi):
    assert ffi.string(ffi.cast("enum e", 1)) == "A"
    assert ffi.string(ffi.cast("enum e", 5)) == "5"
    assert ffi.string(ffi.cast("enum neg", -1)) == "N"
    assert ffi.string(ffi.cast("enum neg", -7)) == "-7"


@pytest.mark.parametrize("cdecl", ["int", "_Bool", "double", "long long", "uint16_t"])
def test_string_of_other_primitives_is_type_error(ffi, cdecl):
    with pytest.raises(TypeError, match=f"string\\(\\): unexpected cdata '{cdecl}'"):
        ffi.string(ffi.cast(cdecl, 1))


@pytest.mark.parametrize("cdecl", ["int[3]", "int *", "struct s *", "void *", "char * *",
                                   "_Bool[2]"])
def test_string_of_other_pointers_is_type_error(ffi, cdecl):
    value = ffi.new(cdecl) if cdecl != "void *" else ffi.cast(cdecl, 0)
    with pytest.raises(TypeError, match="unexpected cdata"):
        ffi.string(value)


def test_string_of_struct_is_type_error(ffi):
    with pytest.raises(TypeError, match="unexpected cdata 'struct s'"):
        ffi.string(ffi.new("struct s *")[0])


def test_string_of_non_cdata_is_type_error(ffi):
    with pytest.raises(TypeError, match="must be a cdata, not bytes"):
        ffi.string(b"abc")


def test_string_of_null_is_runtime_error(ffi):
    with pytest.raises(RuntimeError, match="cannot use string\\(\\) on <cdata 'char \\*' NULL>"):
        ffi.string(ffi.cast("char *", 0))
    with pytest.raises(RuntimeError):
        ffi.string(ffi.cast("wchar_t *", 0))


def test_string_of_released_cdata_is_value_error(ffi):
    p = ffi.new("char[]", b"abc")
    ffi.release(p)
    with pytest.raises(ValueError, match="released"):
        ffi.string(p)


def test_string_keyword_arguments(ffi):
    assert ffi.string(cdata=ffi.new("char[]", b"abc"), maxlen=2) == b"ab"
    with pytest.raises(TypeError):
        ffi.string(ffi.new("char[]", b"abc"), nope=1)
    with pytest.raises(TypeError):
        ffi.string()


def test_string_matches_cffi(ffi, oracle_ffi):
    cases = [("char[]", b"hello", ()), ("char[10]", b"hello", (3,)),
             ("wchar_t[]", "h\u20ac", ()), ("char32_t[]", "ab", (1,))]
    for cdecl, init, args in cases:
        assert ffi.string(ffi.new(cdecl, init), *args) == \
            oracle_ffi.string(oracle_ffi.new(cdecl, init), *args)
    for value in (1, 2, 7):
        assert ffi.string(ffi.cast("enum e", value)) == \
            oracle_ffi.string(oracle_ffi.cast("enum e", value))


# ---------------------------------------------------------------- ffi.unpack


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


# ---------------------------------------------------------------- ffi.buffer


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


# ---------------------------------------------------------------- ffi.from_buffer


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


# ---------------------------------------------------------------- ffi.memmove


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


# ---------------------------------------------------------------- ffi.addressof


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
