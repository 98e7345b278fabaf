"""Type-string errors of `_cffi_backend.FFI()` (cffix.compat.BackendFFI) and of the ffi of
API-mode modules in the words of cffi's C type-string parser, which is the one that raises
there: str(exc) is its message, the text (control and non-ASCII bytes as '?') and a caret
under the offending token; cffix's own message and position are the notes. cffi.FFI-like
FFIs (cffix.FFI) keep pycparser's texts (test_error_messages.py).

Each case states cffi 2.0.0's text literally, and is compared with the real
`_cffi_backend` too when cffi is installed.
"""

import importlib.util

import pytest

import cffix
from cffix.compat import BackendFFI

try:
    import _cffi_backend
except ImportError:  # the oracle is optional; the literal texts are checked regardless
    _cffi_backend = None


def _caret(text, column):
    return f"\n{text}\n{' ' * column}^"


CASES = [
    ("", "identifier expected" + _caret("", 0)),
    ("struct struct", "struct or union name expected" + _caret("struct struct", 7)),
    ("struct never_heard_of_s",
     "undefined struct/union name" + _caret("struct never_heard_of_s", 7)),
    ("union x", "undefined struct/union name" + _caret("union x", 6)),
    ("enum", "enum name expected" + _caret("enum", 4)),
    ("enum foo", "undefined enum name" + _caret("enum foo", 5)),
    ("\t\n\x01\x1f~\x7f\x80\xff", "identifier expected" + _caret("  ??~?????", 2)),
    ("X" * 600, "undefined type name"),  # over 500 bytes: the message alone
    ("foo_t", "undefined type name" + _caret("foo_t", 0)),
    ("int(*)(int)x", "unexpected symbol" + _caret("int(*)(int)x", 11)),
    ("int(*foo)(int)x", "unexpected symbol" + _caret("int(*foo)(int)x", 14)),
    ("int x y", "unexpected symbol" + _caret("int x y", 6)),
    ("int[3]]", "unexpected symbol" + _caret("int[3]]", 6)),
    ("unsigned char char",
     "unexpected symbol" + _caret("unsigned char char", 14)),
    ("int[", "expected a positive integer constant" + _caret("int[", 4)),
    ("int[-5]", "expected a positive integer constant" + _caret("int[-5]", 4)),
    ("int[N]", "expected a positive integer constant" + _caret("int[N]", 4)),
    ("int[08]", "invalid number" + _caret("int[08]", 4)),
    ("int[0x]", "invalid number" + _caret("int[0x]", 4)),
    ("int[1e]", "invalid number" + _caret("int[1e]", 4)),
    ("int[99999999999999999999999]",
     "number too large" + _caret("int[99999999999999999999999]", 4)),
    ("int[9223372036854775808]", "number too large" + _caret("int[9223372036854775808]", 4)),
    ("int[5", "expected ']'" + _caret("int[5", 5)),
    ("int *x[3", "expected ']'" + _caret("int *x[3", 8)),
    ("unsigned double", "invalid combination of types" + _caret("unsigned double", 9)),
    ("long long long", "'long long long' is too long" + _caret("long long long", 10)),
    ("short long", "'long' after 'short'" + _caret("short long", 6)),
    ("signed unsigned", "multiple 'signed' or 'unsigned'" + _caret("signed unsigned", 7)),
    ("int _Complex", "_Complex type combination unsupported" + _caret("int _Complex", 4)),
    ("long double _Complex",
     "_Complex type combination unsupported" + _caret("long double _Complex", 12)),
    ("int (", "identifier expected" + _caret("int (", 5)),
    ("int (*", "expected ')'" + _caret("int (*", 6)),
    ("int (*)(int,", "identifier expected" + _caret("int (*)(int,", 12)),
    ("int (*)(int, ...", "expected ')'" + _caret("int (*)(int, ...", 16)),
    ("int (int (*)[", "expected a positive integer constant" + _caret("int (int (*)[", 13)),
    ("const", "identifier expected" + _caret("const", 5)),
    ("*", "identifier expected" + _caret("*", 0)),
    ("int 3", "unexpected symbol" + _caret("int 3", 4)),
    ("$1", "undefined type name" + _caret("$1", 0)),
]


def _raised(ffi, type_string):
    with pytest.raises(ffi.error) as info:
        ffi.cast(type_string, 0)
    return info.value


@pytest.mark.parametrize("type_string,text", CASES)
def test_backend_ffi_gives_the_texts_of_cffis_c_parser(type_string, text):
    e = _raised(BackendFFI(), type_string)
    assert str(e) == text
    assert isinstance(e, cffix.FFIError)
    if _cffi_backend is not None:
        assert str(_raised(_cffi_backend.FFI(), type_string)) == text


def test_cffixs_own_message_and_position_are_the_notes():
    e = _raised(BackendFFI(), "int(*)(int)x")
    assert isinstance(e, cffix.CDefError)  # still cffix's class for a bad declaration
    notes = "\n".join(e.__notes__)
    assert "unexpected 'x' after the type name" in notes
    assert "column 12" in notes


def test_a_cffi_ffi_keeps_pycparsers_texts():
    with pytest.raises(cffix.CDefError) as info:
        cffix.FFI().cast("int(*)(int)x", 0)
    assert str(info.value).startswith('cannot parse "int(*)(int)x"')
    assert not isinstance(info.value, cffix.FFIError)


def test_errors_cffis_parser_does_not_have_keep_cffixs_text():
    # cffi's C parser accepts `int(void x)` and fails later with another error: cffix's
    # message stands (still ffi.error).
    e = _raised(BackendFFI(), "int(void x)")
    assert "has type void" in str(e)


API_CDEF = """
    struct s { int a; };
    union u { int b; };
    enum e { E1 = 5, EN = -1 };
    #define N 3
    typedef int t;
"""


@pytest.fixture(scope="module")
def api_ffi(tmp_path_factory, cc):
    tmp = tmp_path_factory.mktemp("api_type_errors")
    builder = cffix.FFI()
    builder.cdef(API_CDEF)
    builder.set_source("_api_type_string_errors", API_CDEF)
    path = builder.compile(tmpdir=str(tmp))
    spec = importlib.util.spec_from_file_location("_api_type_string_errors", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ffi


@pytest.mark.parametrize("type_string,text", [
    ("union s", "wrong kind of tag: struct vs union" + _caret("union s", 6)),
    ("struct u", "wrong kind of tag: struct vs union" + _caret("struct u", 7)),
    ("int[EN]", "expected a positive integer constant" + _caret("int[EN]", 4)),
    ("int[t]", "expected a positive integer constant" + _caret("int[t]", 4)),
    ("enum f", "undefined enum name" + _caret("enum f", 5)),
    ("t x y", "unexpected symbol" + _caret("t x y", 4)),
    ("u", "undefined type name" + _caret("u", 0)),
])
def test_an_api_mode_ffi_looks_names_up_in_its_cdef(api_ffi, type_string, text):
    assert str(_raised(api_ffi, type_string)) == text


def test_an_api_mode_ffi_accepts_what_its_cdef_declares(api_ffi):
    assert api_ffi.sizeof("int[E1]") == 5 * api_ffi.sizeof("int")
    assert api_ffi.sizeof("int[N]") == 3 * api_ffi.sizeof("int")
    assert api_ffi.sizeof("t[2]") == 2 * api_ffi.sizeof("int")
    assert api_ffi.typeof("enum e").kind == "enum"
    assert api_ffi.typeof("struct s *").item.cname == "struct s"
