"""ffi.string: a char or wide-char array, pointer or scalar as bytes or str (stopping at the
null, the known length or maxlen); an enum as its name.

cffi's behaviour is the spec (some cases are compared with cffi itself, the oracle); where
cffi reads or writes past the end of memory of known size, or crashes, cffix raises
instead, and these tests say so.
"""

import array

import pytest

CDEF = """
    struct s { int a; struct { int x, y; } in; int arr[4]; };
    enum e { A = 1, B = 2 };
    enum neg { N = -1, M = 5 };
"""


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
