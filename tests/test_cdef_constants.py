"""Integer constants in cdef: #define, constant expressions (checked against the C
compiler), `static const` initializers converted to their type as C does, and the
expressions and initializers refused.

Where cffi accepts the same text it is the oracle (the `cffi_oracle` fixture): both parse
it and their CTypes are compared.
"""

import pytest

import cffix
from cffix import FFI, FFIError

from cdef_helpers import cdef, cdef_error, dlopen_self, oracle_cdef


# -------------------------------------------------------------- #define and constants

def test_define_integer_and_dots():
    ffi = cdef("""
        #define A 42
        #define B (A * 2 + 1)
        #define C -1
        #define D 0xFFFFFFFFFFFFFFFF
        #define E ...
        #define F sizeof(long)
        #define G 'x'
    """)
    lib = dlopen_self(ffi)
    assert (lib.A, lib.B, lib.C, lib.D, lib.F, lib.G) == (42, 85, -1, 2**64 - 1, 8, 120)
    with pytest.raises(cffix.VerificationMissing):
        lib.E


def test_define_like_cffi(cffi_oracle):
    source = "#define A 42\n#define B -17\n#define C 0x10\n#define D 017\n#define E 5L\n"
    ours, theirs = dlopen_self(cdef(source)), oracle_cdef(cffi_oracle, source).dlopen(None)
    for name in "ABCDE":
        assert getattr(ours, name) == getattr(theirs, name), name


# Evaluated by cffix and by the C compiler; the values must agree.
CONSTANT_EXPRESSIONS = [
    "1 + 2 * 3", "(1 + 2) * 3", "7 / 2", "-7 / 2", "-7 % 3", "7 % -3", "100 - 1 - 2",
    "1 << 10", "1u << 31", "-16 >> 2", "0xf0 >> 4", "0x0f & 0x3c", "0x0f | 0x30",
    "0x0f ^ 0xff", "~0", "~0u", "~0ul", "!0", "!5", "3 && 0", "3 || 0", "0 && 1 / 0",
    "1 || 1 / 0", "1 ? 2 : 1 / 0", "1 == 1", "1 != 1", "2 < 3", "3 > 2", "2 <= 2", "3 >= 4",
    "1 ? 10 : 20", "0 ? 10 : 20", "1 ? -1 : 0u", "-1 < 0u", "-1 > 0u", "-1L < 0u",
    "-(-5)", "+3", "- -3", "-(3)", "!!7", "~-1",
    "(unsigned char)300", "(signed char)200", "(short)70000", "(unsigned short)-1",
    "(int)4294967295u", "(long)-1", "(unsigned long)-1", "(unsigned long long)-1",
    "(_Bool)5", "(char)-1", "(unsigned)(-1) >> 1", "(long long)1 << 40",
    "sizeof(int)", "sizeof(long)", "sizeof(char *)", "sizeof(long double)",
    "sizeof(int[10])", "sizeof(short) * 3", "sizeof(int (*)(void))", "sizeof 1",
    "sizeof(1 + 1L)", "_Alignof(double)", "_Alignof(char)",
    "'a'", "'\\n'", "'\\x41'", "'\\0'", "'\\377'", "'\\''", "L'a'", "u'b'", "U'c'",
    "0x7fffffff", "0x80000000", "2147483648", "4294967295", "4294967296", "0777", "0",
    "0b1011", "0B11", "10u", "10l", "10ul", "10lu", "10ll", "10ull", "10LLU", "10uLL",
    "0xffffffffffffffff", "9223372036854775807", "-9223372036854775807 - 1",
    "18446744073709551615u", "0x7fffffffffffffff + 0", "1000000 * 1000000L",
    "(1u << 31) >> 31", "-1 / 2u", "(0x7fffffff * 2u) + 3",
]


def test_constant_expressions_match_the_c_compiler(compile_and_run):
    exprs = list(dict.fromkeys(CONSTANT_EXPRESSIONS))
    defines = "".join(f"#define E{i} ({e})\n" for i, e in enumerate(exprs))
    prints = "".join(
        f'    if ((E{i}) < 0) printf("%lld\\n", (long long)(E{i}));\n'
        f'    else printf("%llu\\n", (unsigned long long)(E{i}));\n' for i in range(len(exprs)))
    program = f"#include <stdio.h>\n#include <stddef.h>\n{defines}int main(void) {{\n{prints}}}\n"
    expected = [int(v) for v in compile_and_run(program, flags=["-w"]).split()]
    lib = dlopen_self(cdef(defines))
    got = [getattr(lib, f"E{i}") for i in range(len(exprs))]
    mismatches = [(e, g, x) for e, g, x in zip(exprs, got, expected) if g != x]
    assert not mismatches


@pytest.mark.parametrize("expr, fragment", [
    ("1 / 0", "division by zero"),
    ("1 % 0", "division by zero"),
    ("UNKNOWN + 1", "unknown constant 'UNKNOWN'"),
    ("1.5", "1.5"),
    ("2 * 1.5", "floating-point constant '1.5'"),
    ('"text"', '"text"'),
    ("0x7fffffffffffffff * 0x7fffffffffffffff * 4", "overflow"),
    ("-0x7fffffffffffffffffffffff * 0x7fffffffffff", "too large"),
    ("1 << -1", "negative shift"),
    ("1 << 200", "shift count too large"),
    ("(1 + 2", "')'"),
    ("1 +", "expected an expression"),
    ("(float)1", "cast to 'float'"),
    ("(int *)1", "non-integer"),
    ("int", "expected an expression"),
    ("99999999999999999999", "too large"),
    ("0x", "0x"),
    ("09", "09"),
    ("'ab'", "multi-character"),
    ("x = 1", "unknown constant 'x'"),
])
def test_bad_constant_expressions(expr, fragment):
    cdef_error(f"int a;\n#define BAD {expr}\n", fragment, "#define BAD", line=2)


def test_sizeof_of_incomplete_type_in_a_constant():
    # The error of ffi.sizeof("struct opaque"), raised by cdef (cffi: FFIError).
    with pytest.raises(ValueError, match="ctype 'struct opaque' is of unknown size"):
        FFI().cdef("struct opaque; typedef char t[sizeof(struct opaque)];")


def test_struct_containing_itself():
    with pytest.raises(cffix.CDefError, match="contains itself"):
        FFI().cdef("struct s x; struct s { struct s self; };")


# -------------------------------------------------------------- initialized constants

def test_static_const_initializers_are_integer_constants():
    ffi = cdef("""
        static const int X = 42;
        const int Y = 5;
        static const long NEG = -7, TWICE = NEG * 2;
        extern const unsigned short HEX = 0x10;
        static const int FROM_ENUM = sizeof(int) + 1;
        typedef char arr_t[TWICE + 20];
    """)
    lib = dlopen_self(ffi)
    assert (lib.X, lib.Y, lib.NEG, lib.TWICE, lib.HEX, lib.FROM_ENUM) == (42, 5, -7, -14, 16, 5)
    assert ffi.typeof("arr_t").length == 6


def test_static_const_like_cffi(cffi_oracle):
    source = "static const int X = 42; const int Y = -5; static const long long Z = 1;"
    ours, theirs = dlopen_self(cdef(source)), oracle_cdef(cffi_oracle, source).dlopen(None)
    assert [ours.X, ours.Y, ours.Z] == [theirs.X, theirs.Y, theirs.Z]


# cffi keeps the literal (300); cffix converts it to the declared type as C does.
INITIALIZER_CONVERSIONS = [
    ("unsigned char", "300"), ("signed char", "200"), ("char", "-1"), ("unsigned", "-1"),
    ("unsigned short", "-2"), ("int", "0x7fffffff"), ("long long", "-1"),
    ("unsigned long long", "-1"), ("_Bool", "7"), ("uint8_t", "257"), ("int16_t", "40000"),
    ("size_t", "-1"), ("enum e", "B + 1"), ("my_uint", "-1"),
]


def test_initializers_convert_like_the_c_compiler(compile_and_run):
    decls = "enum e { A, B = 7 };\ntypedef unsigned int my_uint;\n" + "".join(
        f"static const {t} V{i} = {v};\n" for i, (t, v) in enumerate(INITIALIZER_CONVERSIONS))
    prints = "".join(
        f'    if (V{i} < 0) printf("%lld\\n", (long long)V{i});\n'
        f'    else printf("%llu\\n", (unsigned long long)V{i});\n'
        for i in range(len(INITIALIZER_CONVERSIONS)))
    program = (f"#include <stdio.h>\n#include <stdint.h>\n#include <stddef.h>\n"
               f"#include <stdbool.h>\n{decls}int main(void) {{\n{prints}}}\n")
    expected = [int(v) for v in compile_and_run(program, flags=["-w"]).split()]
    lib = dlopen_self(cdef(decls))
    assert [getattr(lib, f"V{i}") for i in range(len(INITIALIZER_CONVERSIONS))] == expected


def test_const_global_without_initializer_is_a_variable():
    ffi = cdef("static const int X; extern const char *const greeting;")
    assert {"X", "greeting"} <= set(dir(dlopen_self(ffi)))


@pytest.mark.parametrize("source, fragment", [
    ("static const int X = 1.5;", "floating-point constant '1.5'"),
    ("static const int X = {1};", "unsupported initializer '{'"),
    ("static const char X = \"t\";", "unsupported initializer '\"t\"'"),
    ("static const int X = Y;", "unknown constant 'Y'"),
    ("static const int X = 1 / 0;", "division by zero"),
    ("static const int X = 4 5;", "unexpected '5'"),
    ("typedef long L; static const L X = 2.0;", "floating-point constant '2.0'"),
    ("int f(void) = 3;", "unsupported initializer for 'f'"),
])
def test_integer_constants_need_an_integer_expression(source, fragment):
    cdef_error(source, fragment, "integer constant expression")


NON_INTEGER_CONSTANTS = [
    ("static const float baz = 42.5;", "baz"),
    ("static const double X = 1;", "X"),
    ("static const double X = -1e3 * 2;", "X"),
    ("static const long double X = 2.5L;", "X"),
    ("static const char *const S = \"text\";", "S"),
    ("static const int *const P = 0;", "P"),
    ("struct s { int a; }; static const struct s X = { .a = (1, 2) };", "X"),
    ("static const double A = 1, B = 2.5, C;", "B"),
]


@pytest.mark.parametrize("source, name", NON_INTEGER_CONSTANTS)
def test_non_integer_constants_raise_at_access_like_cffi(cffi_oracle, source, name):
    # cffi accepts these and raises NotImplementedError when a dlopen() library is asked
    # for the value, which only the compiler knows (API mode).
    ffi = cdef(source)
    lib = dlopen_self(ffi)
    assert name in dir(lib)
    with pytest.raises(NotImplementedError) as ours:
        getattr(lib, name)
    with pytest.raises(NotImplementedError) as theirs:
        getattr(oracle_cdef(cffi_oracle, source).dlopen(None), name)
    assert str(ours.value).splitlines()[0] == str(theirs.value)
    with pytest.raises((NotImplementedError, AttributeError)):
        setattr(lib, name, 0)
    with pytest.raises(NotImplementedError):
        ffi.addressof(lib, name)


@pytest.mark.parametrize("source, name", [
    ("static const char *S = \"text\";", "S"),
    ("static int *P = 0;", "P"),
    ("static const int A[2] = {1, 2};", "A"),
    ("double D = 1.5;", "D"),
])
def test_initialized_non_const_globals_are_variables_like_cffi(cffi_oracle, source, name):
    # Not const itself: a global variable, looked up in the library like any other (which
    # has no symbol for a static one); the initializer is not kept. cffi raises KeyError.
    lib = dlopen_self(cdef(source))
    with pytest.raises(AttributeError, match=f"variable '{name}' not found in library"):
        getattr(lib, name)
    with pytest.raises(KeyError, match=f"variable '{name}' not found in library"):
        getattr(oracle_cdef(cffi_oracle, source).dlopen(None), name)


def test_non_integer_constant_keeps_its_type():
    ffi = cdef("static const double X = 1.5; static const float Y = 2;")
    with pytest.raises(FFIError, match="multiple declarations"):
        ffi.cdef("static const float X = 1.5;")
    ffi.cdef("static const double X = 3.5;")  # the same declaration: the value is not kept


@pytest.mark.parametrize("source, fragment", [
    ("static const double X = (1, 2;", "expected ';' after the initializer"),
    ("static const double X = (1, 2)];", "unbalanced ']' in an initializer"),
    ("static const double X = {1, 2)};", "unbalanced ')' in an initializer"),
    ("static const double X = 1", "expected ';' after the initializer"),
])
def test_non_integer_initializers_must_balance(source, fragment):
    cdef_error(source, fragment)


def test_typedef_initializer_is_an_error():
    cdef_error("typedef int T = 4;", "a typedef cannot have an initializer", line=1, column=15)


def test_conflicting_initialized_constants():
    with pytest.raises(cffix.FFIError, match="multiple declarations of constant X"):
        cdef("static const int X = 1; static const int X = 2;")
