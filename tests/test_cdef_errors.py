"""cdef's errors: CDefError (or FFIError for conflicting redeclarations) naming the line
and column and showing the text; a close name suggested for an unknown type; a clean
error for nesting too deep, garbage, huge lines; earlier declarations kept.
"""

import re

import pytest

import cffix
from cffix import FFI

from cdef_helpers import cdef, cdef_error, error_text


@pytest.mark.parametrize("source, fragment, line, column", [
    ("int x;\n/* never closed", "unterminated comment", 2, 1),
    ("int a;\n#include <stdio.h>\n", "'#include' is not supported", 2, 1),
    ("#if 1\nint x;\n#endif\n", "'#if' is not supported", 1, 1),
    ("#define F(x) x\n", "function-like macro 'F(...)'", 1, 9),
    ("#define\n", "expected a macro name", 1, 8),
    ("#define X\n", "has no value", 1, 9),
    ("int x\n", "expected ';'", 1, 6),
    ("int x y;", "found 'y'", 1, 7),
    ("int f(int;", "',' or ')'", 1, 10),
    ("struct s { int a; ", "expected '}'", 1, 18),
    ("int;", "does not declare anything", 1, 1),
    ("void x;", "declared void", 1, 6),
    ("int f(void x);", "has type void", 1, 7),
    ("int a[-1];", "array size is negative", 1, 7),
    ("int a[*];", "variable-length", 1, 7),
    ("struct s { int x : 33; };", "33 bits", 1, 16),
    ("struct s { float f : 3; };", "integer type", 1, 18),
    ("struct s { int x : -1; };", "negative width", 1, 20),
    ("struct s { int a[]; int b; };", "must be the last field", 1, 16),
    ("struct s { void v; };", "type void", 1, 17),
    ("struct s { int f(int); };", "is a function", 1, 16),
    ("typedef int f_t(int); f_t arr[3];", "array of functions", 1, 30),
    ("typedef int a_t[2]; a_t g(void);", "returning an array", 1, 26),
    ("int x; typedef int int;", "'int int'", 1, 20),
    ("int x; typedef int;", "does not declare anything", 1, 8),
    ("struct { int a; } x; int f(void) = 0;", "unsupported initializer", 1, 34),
    ('char c = "s";', "unsupported initializer", 1, 10),
    ("int x; long __int128 y;", "'__int128' is not supported", 1, 13),
    ("_Atomic int x;", "'_Atomic' is not supported", 1, 1),
    ("int x; typeof(x = 1) y;", "assignment is not allowed", 1, 17),
    ("typeof(nope) x;", "typeof: unknown name 'nope'", 1, 8),
    ("typeof(({ 1; })) x;", "statement expressions are not supported in typeof", 1, 9),
    ("typedef int v4 __attribute__((vector_size(16)));", "vector types", 1, 31),
    ("typedef int t __attribute__((mode(TI)));", "mode(TI)", 1, 35),
    ("typedef float t __attribute__((mode(SF)));", "unsupported mode 'SF'", 1, 37),
    ("struct s { int a : 3 } x;", "';'", 1, 22),
    ("enum e { };", "empty enum", 1, 10),
    ("enum e { A = };", "expected an expression", 1, 14),
    ("enum e { 1 };", "enumerator name", 1, 10),
    ("int a[1.5];", "floating-point constant", 1, 7),
    ("int a[N];", "unknown constant 'N'", 1, 7),
    ("int x = 'ab';", "multi-character", 1, 9),
    ("int é;", "non-ASCII character 'é'", 1, 5),
    ("/* é */ int x y;", "found 'y'", 1, 15),
    ("int x;\n\x01", "unexpected character '\\x01'", 2, 1),
    ("int x\0;", "unexpected character '\\x00'", 1, 6),
    ("\ufeffint x;", "non-ASCII", 1, 1),
    ("int x; @", "unexpected character '@'", 1, 8),
    ("int x; `", "unexpected character '`'", 1, 8),
    ("int x;\n#define S \"unterminated\n", "unterminated string literal", 2, 11),
    ("#define C 'x\n", "unterminated character constant", 1, 11),
    ("#define C ''\n", "empty character constant", 1, 11),
    ("#define C '\\q'\n", "'\\q'", 1, 12),
    ("#define X 1.5.2\n", "invalid floating-point constant", 1, 11),
    ("#define X 08\n", "08", 1, 11),
    ("#define X 12abc\n", "12abc", 1, 11),
    ("int f(int x, ...);\nint g(, int);", "expected a parameter type", 2, 7),
    ("int f(int, ..., int);", "')' after '...'", 1, 15),
    ("static_assert(0, \"\\xff\");", "static assertion failed: \\xff", 1, 1),
])
def test_errors_name_line_column_and_text(source, fragment, line, column):
    message = cdef_error(source, fragment, line=line, column=column)
    shown, caret = message.rsplit(f"column {column}: ", 1)[1].split("\n")[:2]
    assert shown.strip() and shown.strip() in source
    # The caret stands under the column (the prefix is blanked, tabs kept).
    assert caret.strip() == "^" and caret.index("^") == len(f"line {line}, column {column}: ") + column - 1


def test_unknown_type_name_suggests_a_close_name():
    cdef_error("struct point { int x; };\n\ntypedef int foo;\nint f(fo0);",
               "unknown type name 'fo0'", "did you mean 'foo' declared at line 3?",
               line=4, column=7)
    cdef_error("struct point { int x; };\n\npoint *p;",
               "unknown type name 'point'", "did you mean 'struct point' declared at line 1?",
               line=3, column=1)
    cdef_error("uint32 x;", "did you mean 'uint32_t'?", line=1, column=1)
    message = cdef_error("zzzzzz x;", "unknown type name 'zzzzzz'")
    assert "did you mean" not in message


def test_typeof_errors_name_the_position():
    ffi = FFI()
    with pytest.raises(cffix.CDefError) as info:
        ffi.typeof("int ,")
    assert "column 5" in error_text(info.value)
    with pytest.raises(cffix.CDefError) as info:
        ffi.typeof("struct s *(*)(nope)")
    assert "unknown type name 'nope'" in error_text(info.value)
    with pytest.raises(cffix.CDefError, match="#define"):
        ffi.typeof("#define X 1\nint")


@pytest.mark.parametrize("source, error", [
    ("typedef int T; typedef long T;", cffix.FFIError),
    ("int v; long v;", cffix.FFIError),
    ("extern int v; extern int *v;", cffix.FFIError),
    ("int f(int); long f(int);", cffix.FFIError),
    ('int f(int) __asm__("a"); int f(int) __asm__("b");', cffix.FFIError),
    ("#define X 1\n#define X 2\n", cffix.FFIError),
    ("struct s { int a; }; struct s { long a; };", cffix.CDefError),
    ("union u { int a; }; union u { char a; };", cffix.CDefError),
    ("enum e { A }; enum e { B };", cffix.CDefError),
])
def test_conflicting_redefinitions(source, error):
    with pytest.raises(error) as info:
        cdef(source)
    assert "declaration" in str(info.value)
    if error is cffix.FFIError:
        assert "override=True" in str(info.value)
    else:
        # cffi's text, then cffix's position in the notes
        assert str(info.value).startswith("<cdef source string>:1: duplicate declaration of ")
        assert re.search(r"line 1, column \d+: ", error_text(info.value))
    cdef(source, override=True)  # override=True accepts the new definition


def test_errors_keep_earlier_declarations():
    ffi = FFI()
    with pytest.raises(cffix.CDefError):
        ffi.cdef("typedef int good_t; struct ok { int a; }; bad_t x;")
    assert ffi.sizeof("good_t") == 4 and ffi.sizeof("struct ok") == 4


DEEP = 10_000


DEEP_SOURCES = [
    "#define X " + "(" * DEEP + "1" + ")" * DEEP + "\n",
    "#define X " + "- " * DEEP + "1\n",
    "#define X " + "!" * DEEP + "1\n",
    "#define X " + "(int)" * DEEP + "1\n",
    "#define X " + "1 ? " * DEEP + "1" + " : 0" * DEEP + "\n",
    "#define X " + "sizeof " * DEEP + "1\n",
    "int " + "(" * DEEP + "x" + ")" * DEEP + ";",
    "int " + "*" * DEEP + "x;",
    "int x" + "[1]" * DEEP + ";",
    "int f" + "(int (*)" * DEEP + "(void)" + ")" * DEEP + ";",
    "struct a { " * DEEP + "int x;" + " } f;" * DEEP,
    'extern "C" { ' * DEEP + "int x;" + " }" * DEEP,
    "typedef int t[" + "(" * DEEP + "1" + ")" * DEEP + "];",
]


@pytest.mark.parametrize("source", DEEP_SOURCES, ids=[s[:12] for s in DEEP_SOURCES])
def test_deep_nesting_is_a_clean_error(source):
    message = cdef_error(source, "nested too deeply")
    assert len(message) < 1000  # the source line is shown as an excerpt


def test_deep_nesting_in_a_type_string():
    ffi = FFI()
    with pytest.raises(cffix.CDefError, match="nested too deeply"):
        ffi.typeof("int" + "(*" * DEEP + ")" * DEEP)
    with pytest.raises(cffix.CDefError, match="nested too deeply"):
        ffi.typeof("char[" + "(" * DEEP + "1" + ")" * DEEP + "]")


def test_huge_error_line_is_excerpted():
    message = cdef_error("int x; " * 100_000 + "int y z;", "found 'z'", line=1)
    assert len(message) < 1000


def test_garbage_input_is_a_clean_error():
    for source in ["\x00" * 10, "\x80\x81\x82", "}{", ")", "int int int", "struct struct",
                   "# 12 \"file\"\nint x;\n#pragma once\n#line 5\n" + "\x7f",
                   "'", '"', "/", "*", "...", "typedef", "extern", 'extern "', "enum {",
                   "int (*)(int);", "int f(int) int;", "= 5;", "int x = = 5;"]:
        with pytest.raises(cffix.CDefError):
            FFI().cdef(source)


def test_lone_surrogate_is_a_clean_error():
    cdef_error("int \udc80;", "non-ASCII character", line=1, column=5)


def test_lone_surrogate_in_a_type_string_is_a_clean_error():
    with pytest.raises(cffix.CDefError, match="non-ASCII"):
        FFI().typeof("int \udc80")
