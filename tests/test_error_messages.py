"""The message convention (issue 11): where cffi raises the same error, str(exc) is
exactly cffi's text; cffix's own message, the line and column, the source line with a
caret under the column and the hint are the exception's notes (PEP 678 __notes__).

Each case states cffi's text literally, and is compared with the real cffi when it is
installed and gives that text too (some of cffi's parse errors are pycparser's, whose
wording changes between its versions: cffi's test suite, the spec, pins the older one).
"""

import re
import sys
import traceback

import pytest

import cffix
from cdef_helpers import error_text

try:
    import cffi
except ImportError:  # the oracle is optional; the literal texts are checked regardless
    cffi = None


def raised(module, action):
    try:
        action(module.FFI())
    except Exception as e:
        return e
    raise AssertionError("no exception")


def cdef_of(source):
    return lambda ffi: ffi.cdef(source)


# (action, exception type, cffi's text, cffix's message in the notes, line, column)
CASES = [
    (cdef_of("int f(int;"), cffix.CDefError,
     'cannot parse "int f(int;"\n<cdef source string>:1:10: before: ;',
     "expected ',' or ')' in the parameter list, found ';'", 1, 10),
    (cdef_of("int x;\n  foo bar;"), cffix.CDefError,
     'cannot parse "foo bar;"\n<cdef source string>:2:7: before: bar',
     "unknown type name 'foo'", 2, 3),
    (cdef_of("int x"), cffix.CDefError,
     "parse error\n<cdef source string>: At end of input",
     "unexpected end of input, expected ';' after declaration", 1, 6),
    (cdef_of("#define FOO 1.5"), cffix.CDefError,
     "only supports one of the following syntax:\n"
     "  #define FOO ...     (literally dot-dot-dot)\n"
     "  #define FOO NUMBER  (with NUMBER an integer constant, decimal/hex/octal)\n"
     "got:\n  #define FOO 1.5",
     "unsupported value '1.5' for #define FOO", 1, 13),
    (cdef_of("void f(foobarbazzz);"), cffix.CDefError,
     "<cdef source string>:1: f arg 1: unknown type 'foobarbazzz' (if you meant to use the "
     "old C syntax of giving untyped arguments, it is not supported)",
     "unknown type name 'foobarbazzz'", 1, 8),
    (cdef_of("int f(void) { return 0; }"), cffix.CDefError,
     "<cdef source string>:1: unexpected <FuncDef>: this construct is valid C but not "
     "valid in cdef()", "function bodies are not supported in cdef", 1, 13),
    (cdef_of("struct s { int a; };\nstruct s { long a; };"), cffix.CDefError,
     "<cdef source string>:2: duplicate declaration of struct s", None, 2, 1),
    (lambda ffi: ffi.typeof("foobarbazunknown"), cffix.CDefError,
     "unknown identifier 'foobarbazunknown'", "unknown type name 'foobarbazunknown'", 1, 1),
]


@pytest.mark.parametrize("action, error, text, own, line, column", CASES)
def test_message_is_cffis_text_and_notes_carry_cffixs_detail(action, error, text, own, line,
                                                             column):
    e = raised(cffix, action)
    assert type(e) is error
    assert str(e) == e.args[0] == text
    notes = e.__notes__
    if own is not None:
        assert notes[0].startswith(own)
    where, caret = notes[-1].split("\n")
    prefix = f"line {line}, column {column}: "
    assert where.startswith(prefix)
    assert caret == " " * (len(prefix) + column - 1) + "^"
    if cffi is not None:
        theirs = raised(cffi, action)
        assert type(theirs).__name__ == error.__name__
        if str(theirs) != text:  # another pycparser's words: at least cffi's first line
            assert str(theirs).split("\n")[0] == text.split("\n")[0] or "parse" in str(theirs)


def test_tracebacks_show_the_notes_after_the_message():
    e = raised(cffix, cdef_of("int x;\n  foo bar;"))
    shown = "".join(traceback.format_exception(e))
    if sys.version_info >= (3, 11):
        assert shown.endswith('cannot parse "foo bar;"\n<cdef source string>:2:7: before: bar\n'
                              "unknown type name 'foo'\n"
                              "line 2, column 3:   foo bar;\n"
                              "                    ^\n")


def test_a_hint_stays_in_cffixs_message():
    e = raised(cffix, cdef_of("typedef int foo;\nfo0 x;"))
    assert str(e).startswith('cannot parse "fo0 x;"')
    assert "did you mean 'foo' declared at line 1?" in e.__notes__[0]


@pytest.mark.parametrize("marker", ['# 42 "foo.h"', '#line 42 "foo.h"', '# 42 "foo.h" 1 3'])
def test_line_markers_give_file_and_line_to_cffis_text(marker):
    e = raised(cffix, cdef_of(f"int a;\n{marker}\nint b;\n  some syntax error;"))
    assert str(e) == "parse error\nfoo.h:43:8: before: syntax"
    # cffix's own position stays the physical one, with the marker's next to it
    assert e.__notes__[-1].startswith("line 4, column 3 (foo.h:43): ")


def test_a_commented_out_line_marker_is_ignored():
    e = raised(cffix, cdef_of('/*\n# 9 "no.h"\n*/\n#line 7\n  some syntax error;'))
    # cffi quotes the line of its text that has the marked number: there is no line 7
    assert str(e) == "parse error\n<cdef source string>:7:8: before: syntax"
    e = raised(cffix, cdef_of('int a;\n#line 1\n  some syntax error;'))
    assert str(e) == 'cannot parse "int a;"\n<cdef source string>:1:8: before: syntax'


def test_an_error_without_a_cffi_equivalent_keeps_cffixs_message():
    e = raised(cffix, cdef_of("int x;\n#include <stdio.h>\n"))
    assert str(e) == ("preprocessor directive '#include' is not supported: pass "
                      "preprocessed text (gcc -E) or declarations only")
    assert e.__notes__ == ["line 2, column 1: #include <stdio.h>\n" + " " * 18 + "^"]
    assert "line 2, column 1" in error_text(e)


def test_carets_keep_tabs_and_count_characters():
    e = raised(cffix, cdef_of("\t\u00e9t\u00e9 x;"))  # a non-ASCII character is refused
    where, caret = e.__notes__[-1].split("\n")
    assert where.startswith("line 1, column 2: \t")
    assert caret == " " * len("line 1, column 2: ") + "\t^"


def test_a_libffi_refusal_has_cffis_text_and_names_the_argument_in_a_note():
    ffi = cffix.FFI()
    ffi.cdef("typedef union { int a; float b; } Data; typedef void (*f_t)(int, Data);")
    with pytest.raises(NotImplementedError) as info:
        ffi.cast("f_t", 123)(1, ffi.new("Data *")[0])
    assert str(info.value) == (
        "ctype 'Data' not supported as argument by libffi.  Unions are only supported as "
        "argument if the function is 'API mode' and non-variadic (i.e. declared inside "
        "ffibuilder.cdef()+ffibuilder.set_source() and not taking a final '...' argument)")
    assert info.value.__notes__ == ["'void(*)(int, Data)': argument 2: 'Data' is a union "
                                    "(libffi has no unions)"]


def test_a_refused_callback_type_has_cffis_text():
    ffi = cffix.FFI()
    ffi.cdef("struct b { int x:1; };")
    with pytest.raises(NotImplementedError) as info:
        ffi.callback("struct b(*)(void)", lambda: None)
    assert str(info.value) == ("struct b(*)(): callback with unsupported argument or return "
                               "type or with '...'")
    assert re.search(r"the result: 'struct b' has bit fields", info.value.__notes__[-1])


def test_anonymous_structs_are_numbered_as_cffi_does():
    ffi = cffix.FFI()
    ffi.cdef("typedef struct { int a; } t_t; typedef struct { int b; } *p_t;"
             "typedef struct { int c; } **pp_t;")
    names = [ffi.typeof(n).cname for n in ("t_t", "p_t", "pp_t")]
    assert names == ["t_t", "struct $1 *", "struct $2 * *"]
    if cffi is not None:
        theirs = cffi.FFI()
        theirs.cdef("typedef struct { int a; } t_t; typedef struct { int b; } *p_t;"
                    "typedef struct { int c; } **pp_t;")
        assert names == [theirs.typeof(n).cname for n in ("t_t", "p_t", "pp_t")]


def test_an_unnameable_argument_type_is_refused_in_cffis_words(tmp_path):
    ffi = cffix.FFI()
    ffi.cdef("typedef struct { int x; } **sp; void foo(sp);")
    ffi.set_source("_unnameable", "typedef struct { int x; } **sp; void foo(sp x) { }")
    with pytest.raises(cffix.VerificationError) as info:
        ffi.emit_c_code(str(tmp_path / "_unnameable.c"))
    assert str(info.value) == ("cannot generate 'struct $1 * *' in argument of foo: unknown "
                               "type name")


@pytest.mark.parametrize("type_string,also,text", [
    ("int[-5]", ValueError, "negative array length"),
    ("int[10][]", ValueError, "array item of unknown size: 'int[]'"),
    ("int(*)(int)[5]", TypeError, "invalid result type: 'int[5]'"),
])
def test_type_string_errors_are_also_cffis_exception_class(type_string, also, text):
    # A CDefError (cffix's class, with the position in the notes) that is also the class
    # cffi raises for the same type string, so `except` clauses written for either work.
    e = raised(cffix, lambda ffi: ffi.cast(type_string, 0))
    assert isinstance(e, cffix.CDefError) and isinstance(e, also)
    assert type(e).__name__ == "CDefError" and str(e) == text
    assert e.__notes__
    if cffi is not None:
        oracle = raised(cffi, lambda ffi: ffi.cast(type_string, 0))
        assert isinstance(oracle, also) and str(oracle) == text


def test_an_api_mode_ffi_reports_type_string_errors_as_ffi_error_too(tmp_path, cc):
    # As the ffi of cffi's API-mode modules (its ffi.error), still a CDefError.
    import importlib.util

    builder = cffix.FFI()
    builder.cdef("int twice(int);")
    builder.set_source("_msg_api_errors", "static int twice(int x) { return 2 * x; }")
    path = builder.compile(tmpdir=str(tmp_path))
    spec = importlib.util.spec_from_file_location("_msg_api_errors", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ffi = module.ffi
    for bad in ("int(int)", "int[-5]", "no_such_t"):
        with pytest.raises(ffi.error) as e:
            ffi.cast(bad, 0)
        assert isinstance(e.value, cffix.CDefError)
    with pytest.raises(ValueError):  # and the class of the error itself, as above
        ffi.cast("int[-5]", 0)
    plain = cffix.FFI()  # a cffi.FFI-like ffi: CDefError only, as cffi.FFI
    with pytest.raises(cffix.CDefError) as e:
        plain.cast("int(int)", 0)
    assert not isinstance(e.value, cffix.FFIError)


def test_the_backend_ffi_class_has_cffis_manners():
    # _cffi_backend.FFI (what install_as_cffi() puts there): no argument, no attributes of
    # one's own (a subclass's instances take them), type string errors as ffi.error.
    from cffix.compat import BackendFFI, backend_namespace

    assert backend_namespace()["FFI"] is BackendFFI and BackendFFI.__name__ == "FFI"
    with pytest.raises(TypeError):
        BackendFFI(42)
    ffi = BackendFFI()
    with pytest.raises(AttributeError):
        ffi.no_such_name = 42
    with pytest.raises(AttributeError):
        del ffi.no_such_name
    ffi.errno = 7
    assert ffi.errno == 7
    for bad in ("int[]", ):
        with pytest.raises(ffi.error):
            ffi.sizeof(bad)
    with pytest.raises(ffi.error) as e:
        ffi.typeof("int(void)")
    assert str(e.value) == "the type 'int()' is a function type, not a pointer-to-function type"
    with pytest.raises(ffi.error):
        ffi.typeof("struct never_declared")
    assert BackendFFI().new("int *", 5)[0] == 5

    class Sub(BackendFFI):
        def __init__(self, x):
            self.x = x

    sub = Sub(3)
    assert sub.x == 3
    with pytest.raises(ffi.error):  # the manners hold without BackendFFI.__init__ too
        sub.cast("int(int)", 0)
