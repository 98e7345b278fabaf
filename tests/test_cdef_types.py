"""The cdef language's types through the public API, one test per declaration form:
primitives and their spellings, pointers, arrays, qualifiers, function types, structs
and unions (bitfields, anonymous members, flexible arrays, forward declarations),
enums, typedefs.

Where cffi accepts the same text it is the oracle (the `cffi_oracle` fixture): both parse
it and their CTypes are compared.
"""

import warnings

import pytest

import cffix

from cdef_helpers import assert_like_cffi, cdef, cdef_error, dlopen_self, oracle_cdef


# ------------------------------------------------------------------------- primitives

PRIMITIVES = [
    "char", "signed char", "unsigned char", "short", "unsigned short", "int", "unsigned int",
    "long", "unsigned long", "long long", "unsigned long long", "float", "double",
    "long double", "_Bool", "bool", "wchar_t", "char16_t", "char32_t",
    "int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t", "int64_t", "uint64_t",
    "int_least8_t", "uint_least8_t", "int_least16_t", "uint_least16_t", "int_least32_t",
    "uint_least32_t", "int_least64_t", "uint_least64_t", "int_fast8_t", "uint_fast8_t",
    "int_fast16_t", "uint_fast16_t", "int_fast32_t", "uint_fast32_t", "int_fast64_t",
    "uint_fast64_t", "intmax_t", "uintmax_t",
    "size_t", "ssize_t", "ptrdiff_t", "intptr_t", "uintptr_t",
]


def test_every_primitive_like_cffi(cffi_oracle):
    source = "".join(f"typedef {name} t{i};\n" for i, name in enumerate(PRIMITIVES))
    source += "struct all {\n" + "".join(
        f"    char pad{i}; {name} m{i};\n" for i, name in enumerate(PRIMITIVES)) + "};\n"
    names = [f"t{i}" for i in range(len(PRIMITIVES))] + ["struct all"] + PRIMITIVES
    ffi = assert_like_cffi(cffi_oracle, source, *names)
    assert ffi.typeof("t0") is ffi.typeof("char")  # a typedef is its type


def test_complex_primitives():
    # cffi 2.0 names them '_cffi_float_complex_t'...; cffix keeps the C spelling.
    ffi = cdef("typedef float _Complex fc; typedef double _Complex dc;"
               "struct s { char c; double _Complex z; };")
    assert (ffi.typeof("fc").cname, ffi.sizeof("fc"), ffi.alignof("fc")) == ("float _Complex", 8, 4)
    assert (ffi.typeof("dc").cname, ffi.sizeof("dc"), ffi.alignof("dc")) == ("double _Complex", 16, 8)
    assert ffi.offsetof("struct s", "z") == 8


@pytest.mark.parametrize("spelling, canonical", [
    ("long unsigned int", "unsigned long"),
    ("int long unsigned", "unsigned long"),
    ("unsigned long int", "unsigned long"),
    ("long int", "long"),
    ("int long", "long"),
    ("signed", "int"),
    ("signed int", "int"),
    ("unsigned", "unsigned int"),
    ("short int", "short"),
    ("int short signed", "short"),
    ("signed short", "short"),
    ("unsigned short int", "unsigned short"),
    ("short unsigned", "unsigned short"),
    ("long long int unsigned", "unsigned long long"),
    ("long int long", "long long"),
    ("signed long long", "long long"),
    ("char signed", "signed char"),
    ("char unsigned", "unsigned char"),
    ("double long", "long double"),
    ("_Complex float", "float _Complex"),
    ("_Complex double", "double _Complex"),
    ("_Complex", "double _Complex"),
    ("__signed__ char", "signed char"),
    ("const unsigned volatile", "unsigned int"),
])
def test_specifiers_in_any_order(spelling, canonical):
    ffi = cdef(f"typedef {spelling} t; struct s {{ {spelling} m; }};")
    assert ffi.typeof("t") is ffi.typeof(canonical)
    assert ffi.typeof("struct s").fields[0][1].type is ffi.typeof(canonical)
    assert ffi.typeof(spelling) is ffi.typeof(canonical)


@pytest.mark.parametrize("spelling", [
    "signed unsigned", "long long long", "short long", "char int", "double float",
    "int int", "void int", "_Bool int", "signed float", "unsigned double", "short char",
    "long float", "long long double", "long double _Complex",
])
def test_invalid_specifier_combinations(spelling):
    cdef_error(f"typedef {spelling} t;", spelling.split()[0], line=1)


# ------------------------------------------------------- pointers, arrays, qualifiers

def test_pointers_and_qualifiers_like_cffi(cffi_oracle):
    assert_like_cffi(cffi_oracle, """
        typedef const int *a; typedef int const *b; typedef int *const c;
        typedef const int *const d; typedef volatile int *e; typedef int *restrict f;
        typedef const char *const *g; typedef void *h; typedef void **i; typedef int ***j;
    """, "a", "b", "c", "d", "e", "f", "g", "h", "i", "j")


def test_long_declarator_chains_like_cffi(cffi_oracle):
    # Declarators of 1 to 9 derivations, nested levels of each size, some with parameter
    # lists: the derivations of one declarator are kept inline up to a few, then on the heap.
    assert_like_cffi(cffi_oracle, """
        typedef int *******p7; typedef char *********p9;
        typedef int a5[1][2][3][4][5]; typedef int *a4p[2][3][4][5];
        typedef int (*(*(*(*f4)(int))(long))(char))(short);
        typedef int *(*(*x6)[3])(int, int (*)(int *(*)[2][3]));
        typedef int **(**y8[2])(void **(*)(int ***, char (*(*)[4])[5]));
        struct s { int *(**m6)[2][3]; int (*(*m7[2])(int))[3][4]; };
        int *(*(*fn(int))(long **, int (*)[2][3]))[5];
    """, "p7", "p9", "a5", "a4p", "f4", "x6", "y8", "struct s")


def test_gnu_qualifier_spellings():
    ffi = cdef("typedef int *__restrict a; typedef int *__restrict__ b; typedef __const int *c;"
               "typedef int *__volatile__ d; typedef __signed__ char e;")
    for name in "abcd":
        assert ffi.typeof(name) is ffi.typeof("int *")
    assert ffi.typeof("e") is ffi.typeof("signed char")


def test_arrays_like_cffi(cffi_oracle):
    assert_like_cffi(cffi_oracle, """
        typedef int a[5]; typedef int b[]; typedef int c[2][3]; typedef int *d[4];
        typedef int (*e)[4]; typedef char f[0]; typedef char g[0x10]; typedef int (*h)[];
        struct s { int x[3]; char y[2][5]; };
    """, "a", "b", "c", "d", "e", "f", "g", "h", "struct s")


def test_array_sizes_from_constant_expressions():
    ffi = cdef("""
        #define N 4
        enum { M = N * 2 };
        struct s { int a; char b; };
        typedef char a[sizeof(long) * 2];
        typedef char b[N + M];
        typedef char c[sizeof(struct s) + 1];
        typedef int d[sizeof(int[3]) / sizeof(int)];
        typedef char e[(1 << 4) | 1];
    """)
    assert [ffi.typeof(n).length for n in "abcde"] == [16, 12, 9, 3, 17]


def test_array_of_unknown_and_dots_length():
    ffi = cdef("typedef int open_t[]; struct s { int n; int a[...]; }; extern int g[...];")
    assert ffi.typeof("open_t").length is None
    with pytest.raises(cffix.VerificationMissing):
        ffi.sizeof("struct s")  # its layout is for the C compiler to say (API mode)


# -------------------------------------------------------------------------- functions

def test_function_types_like_cffi(cffi_oracle):
    assert_like_cffi(cffi_oracle, """
        typedef int fn_t(int, char *);
        typedef int (*fp)(int, ...);
        typedef void (*vp)(void);
        typedef int (*noargs)();
        typedef int (*afp[4])(void);
        typedef int (*(*ret)(int))(double);
        typedef void (*(*sig)(int, void (*)(int)))(int);
        typedef int (*adjust)(int[], int[3], int (int), const char *const);
        typedef struct { int x; } pt;
        typedef pt (*by_value)(pt, pt *);
    """, "fp", "vp", "noargs", "afp", "ret", "sig", "adjust", "fn_t *", "by_value")


def test_function_type_is_not_a_pointer_type():
    ffi = cdef("typedef int fn_t(int);")
    with pytest.raises(cffix.CDefError, match="function type"):
        ffi.typeof("fn_t")
    assert ffi.typeof("fn_t *") is ffi.typeof("int(*)(int)")


def test_function_returning_a_function_pointer():
    ffi = cdef("void (*signal(int, void (*)(int)))(int);")
    handler = ffi.typeof("void(*)(int)")
    sig = ffi.typeof("void (*(*)(int, void (*)(int)))(int)")
    assert sig.kind == "function"
    assert sig.args == (ffi.typeof("int"), handler)
    assert sig.result is handler
    assert "signal" in dir(dlopen_self(ffi))


def test_arrays_of_function_pointers():
    ffi = cdef("typedef int (*table_t[3])(int, int); extern int (*handlers[2])(void);")
    table = ffi.typeof("table_t")
    assert (table.kind, table.length) == ("array", 3)
    assert table.item is ffi.typeof("int(*)(int, int)")
    assert ffi.sizeof(table) == 3 * ffi.sizeof("void *")


def test_variadic_functions():
    ffi = cdef("int printf(const char *fmt, ...); int f(int, ...);")
    fn = ffi.typeof("int(*)(const char *, ...)")
    assert fn.ellipsis and fn.args == (ffi.typeof("char *"),)
    assert not ffi.typeof("int(*)(int)").ellipsis
    assert "printf" in dir(dlopen_self(ffi))


def test_empty_parameter_list_means_void_and_parameter_names_are_ignored():
    ffi = cdef("int f(); int g(void); int h(int count, char *name);")
    assert ffi.typeof("int(*)()") is ffi.typeof("int(*)(void)")
    assert ffi.typeof("int(*)(int x, char *y)") is ffi.typeof("int(*)(int, char *)")


def test_parameter_adjustments():
    ffi = cdef("typedef void (*f)(int a[10], int b[], void cb(int), int m[static 4]);")
    assert ffi.typeof("f").args == (ffi.typeof("int *"),) * 2 + (
        ffi.typeof("void(*)(int)"), ffi.typeof("int *"))


def test_calling_conventions():
    ffi = cdef("""
        int __stdcall a(int); int __cdecl b(int); int (__stdcall *c)(int);
        typedef int (__cdecl *d)(int); int __fastcall e(int);
        int __attribute__((stdcall)) f(int);
    """)
    assert ffi.typeof("d").args == (ffi.typeof("int"),)
    assert {"a", "b", "c", "e", "f"} <= set(dir(dlopen_self(ffi)))


# ----------------------------------------------------------------- structs and unions

def test_structs_and_unions_like_cffi(cffi_oracle):
    assert_like_cffi(cffi_oracle, """
        struct s { int a; char b; double c; };
        union u { int a; char b[6]; };
        struct n { struct s inner; union u uu; struct n *next; };
        struct m { char a, *b, c[3]; };
        typedef struct { int x; } anon_t;
    """, "struct s", "union u", "struct n", "struct m", "anon_t")


def test_nested_anonymous_members_like_cffi(cffi_oracle):
    ffi = assert_like_cffi(cffi_oracle, """
        struct s { int a; union { int b; float c; }; struct { char d; struct { short e; }; }; };
    """, "struct s")
    assert [name for name, _ in ffi.typeof("struct s").fields] == ["a", "b", "c", "d", "e"]
    assert ffi.offsetof("struct s", "e") == 10


def test_bitfields_like_cffi(cffi_oracle):
    assert_like_cffi(cffi_oracle, """
        struct b { int a : 3; unsigned int b : 5; int : 0; char c : 2; long long d : 40;
                   unsigned e : 1, f : 31; };
    """, "struct b")


def test_flexible_array_member_like_cffi(cffi_oracle):
    ffi = assert_like_cffi(cffi_oracle, "struct f { int n; char data[]; };", "struct f")
    assert ffi.sizeof("struct f") == 4
    assert ffi.typeof("struct f").fields[1][1].type.length is None


def test_forward_declarations():
    ffi = cdef("""
        struct fwd;
        typedef struct fwd fwd_t;
        struct uses { struct fwd *p; fwd_t *q; };
        struct fwd { int x; };
        union later; typedef union later later_t;
    """)
    assert ffi.sizeof("fwd_t") == ffi.sizeof("struct fwd") == 4
    assert ffi.typeof("struct uses").fields[1][1].type.item is ffi.typeof("struct fwd")
    with pytest.raises(ValueError):
        ffi.sizeof("later_t")  # still opaque
    assert ffi.list_types() == (["fwd_t", "later_t"], ["fwd", "uses"], ["later"])


def test_struct_used_before_its_members_are_complete():
    ffi = cdef("struct a { struct b *next; }; struct b { struct a value; int n; };")
    assert ffi.sizeof("struct b") == 16


def test_partial_struct():
    ffi = cdef("struct p { int known; ...; }; typedef struct { ...; } opaque_t;")
    with pytest.raises(cffix.VerificationMissing):
        ffi.typeof("struct p")
    with pytest.raises(cffix.VerificationMissing):
        ffi.sizeof("opaque_t")


def test_struct_tags_declared_inside_a_struct_are_global():
    ffi = cdef("struct outer { struct inner { int a; } in; enum { X = 3 } e; int b; };")
    assert ffi.sizeof("struct inner") == 4
    assert dlopen_self(ffi).X == 3


def test_list_types_like_cffi(cffi_oracle):
    source = """
        typedef struct s s_t; union u; typedef union u u_t; typedef int i_t;
        struct { int x; } anon_var; typedef struct { int y; } named_t;
        struct s { int a; }; enum e { E1 }; typedef enum e e_t;
    """
    assert cdef(source).list_types() == oracle_cdef(cffi_oracle, source).list_types()


# ------------------------------------------------------------------------------ enums

def test_enums_like_cffi(cffi_oracle):
    assert_like_cffi(cffi_oracle, """
        enum e { A, B = 10, C, D = -3, E = 1 << 4, F = (10 + 11) * 2, G = 'a', H = 0x10 | 3 };
        enum big { X = 0xffffffff }; enum neg { Y = -1, Z = 0x7fffffff };
        enum huge { W = 0x100000000 }; typedef enum { RED, GREEN } color;
    """, "enum e", "enum big", "enum neg", "enum huge", "color")


def test_enum_values_from_earlier_enumerators_and_defines():
    ffi = cdef("""
        #define BASE 100
        enum first { ONE = 1, TWO };
        enum second { S0 = BASE, S1 = S0 + TWO, S2 = sizeof(int) * S1, S3, S4 = S3 - BASE };
        typedef char arr_t[S4];
    """)
    assert ffi.typeof("enum second").relements == {
        "S0": 100, "S1": 102, "S2": 408, "S3": 409, "S4": 309}
    assert ffi.typeof("arr_t").length == 309
    lib = dlopen_self(ffi)
    assert (lib.TWO, lib.S3) == (2, 409)


def test_enum_with_dots():
    ffi = cdef("enum e { A, B, ... }; enum f { ... };")
    with pytest.raises(cffix.VerificationMissing):
        ffi.typeof("enum e")
    with pytest.raises(cffix.VerificationMissing):
        dlopen_self(ffi).A


def test_enumerator_attributes_and_trailing_comma():
    ffi = cdef("enum e { A __attribute__((deprecated)) = 4, B, };")
    assert ffi.typeof("enum e").relements == {"A": 4, "B": 5}


GUESS_WARNING = ("'enum foo' has no values explicitly defined; guessing that it is "
                 "equivalent to 'unsigned int'")


@pytest.mark.parametrize("use", [
    lambda ffi: int(ffi.cast("enum foo", -1)),
    lambda ffi: ffi.sizeof("enum foo"),
    lambda ffi: ffi.new("enum foo[2]", [7, 0xffffffff])[1],
    lambda ffi: ffi.sizeof("struct holds"),
    lambda ffi: ffi.alignof("enum foo"),
])
def test_opaque_enum_is_taken_as_unsigned_int_like_cffi(cffi_oracle, use):
    # `enum foo;` without values: where its size is needed, cffi takes it as 'unsigned int'
    # with a warning (once), and so does cffix.
    source = "enum foo; struct holds { char c; enum foo e; };"
    results = []
    for ffi in (cdef(source), oracle_cdef(cffi_oracle, source)):
        with warnings.catch_warnings(record=True) as log:
            warnings.simplefilter("always")
            results.append((use(ffi), use(ffi)))
        assert [str(w.message) for w in log] == [GUESS_WARNING], ffi
        assert ffi.typeof("enum foo").kind == "enum"
        assert ffi.sizeof("enum foo") == 4
    assert results[0] == results[1]


def test_opaque_enum_guessed_stays_unsigned_int():
    ffi = cdef("enum foo;")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the warning as an error: nothing is guessed
        with pytest.raises(UserWarning, match="guessing that it is equivalent"):
            ffi.cast("enum foo", 1)
        with pytest.raises(UserWarning):
            ffi.new("enum foo *")
    with pytest.warns(UserWarning, match="guessing"):
        p = ffi.new("enum foo *", 5)
    assert repr(ffi.cast("enum foo", 3)) == "<cdata 'enum foo' 3>"
    # A later definition would change the layout of memory allocated with the guess.
    with pytest.raises(cffix.CDefError, match="it was used before .*'unsigned int'"):
        ffi.cdef("enum foo { A, B = 5000000000 };")
    ffi.cdef("enum foo { A, B = 5000000000 };", override=True)  # a new type
    assert ffi.sizeof("enum foo") == 8 and p[0] == 5 and ffi.sizeof(ffi.typeof(p).item) == 4


def test_opaque_enum_defined_later_in_the_cdef_is_not_guessed():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ffi = cdef("enum foo; struct s { enum foo e; }; enum foo { A = -1, B };")
        assert ffi.sizeof("struct s") == 4 and ffi.typeof("enum foo").relements == {
            "A": -1, "B": 0}
        assert int(ffi.cast("enum foo", -1)) == -1


def test_types_nested_too_deeply_by_value_are_refused():
    # Chains of structs (or arrays) held by value nest without nesting in the source; past
    # kMaxNesting levels they are refused instead of overflowing the C stack in the code
    # that walks members (completion of forward-declared chains, initializers, calls).
    n = 1200
    backward = "".join(f"struct b{i} {{ {'int' if i == 0 else f'struct b{i - 1}'} m; }};"
                       for i in range(n))
    forward = "".join(f"struct f{i} {{ struct f{i + 1} m; }};" for i in range(n))
    forward += f"struct f{n} {{ int x; }};"
    arrays = "struct fwd; typedef struct fwd a0[1];"
    arrays += "".join(f"typedef a{i} a{i + 1}[1];" for i in range(n)) + "struct fwd { int x; };"
    for source in (backward, forward):
        with pytest.raises(cffix.CDefError, match="nested too deeply"):
            cdef(source)
    ffi = cdef(arrays)
    with pytest.raises(cffix.CDefError, match="nested too deeply"):
        ffi.sizeof(f"a{n}")
    assert ffi.sizeof("a900") == 4
    # Deep but allowed: initializers nest as deep as the type.
    ffi = cdef("".join(f"struct s{i} {{ {'int' if i == 0 else f'struct s{i - 1}'} m; }};"
                       for i in range(900)))
    init = 7
    for _ in range(900):
        init = [init]
    p = ffi.new("struct s899 *", init)  # held: the cast alone need not keep it alive
    assert ffi.cast("int *", p)[0] == 7


def test_enumerator_after_the_largest_constant_value():
    # The implicit value after 2**127 - 1 (the widest constant) must not overflow in the
    # parser (undefined behaviour, seen by UBSan); the enum is refused as too wide.
    top = "(0x4000000000000000 * 0x4000000000000000 - 1) * 8 + 7"
    for source in (f"enum e {{ A = {top}, B }};", f"enum e {{ A = {top}, B, C = B }};"):
        with pytest.raises(OverflowError):
            cdef(source)


# --------------------------------------------------------------------------- typedefs

def test_typedef_chains_and_multiple_declarators():
    ffi = cdef("""
        typedef int i_t, *ip_t, ia_t[3], (*fp_t)(i_t);
        typedef i_t j_t; typedef const j_t cj_t;
        typedef struct tag { int y; } tg, *ptg;
    """)
    assert ffi.typeof("j_t") is ffi.typeof("int")
    assert ffi.typeof("cj_t") is ffi.typeof("int")
    assert ffi.typeof("ip_t") is ffi.typeof("int *")
    assert ffi.typeof("ia_t") is ffi.typeof("int[3]")
    assert ffi.typeof("fp_t") is ffi.typeof("int(*)(int)")
    assert ffi.typeof("ptg").item is ffi.typeof("tg") is ffi.typeof("struct tag")


def test_dots_typedefs_like_cffi(cffi_oracle):
    source = "typedef int... i_t; typedef float... f_t; typedef ... opaque_t;"
    for ffi in (cdef(source), oracle_cdef(cffi_oracle, source)):
        with pytest.raises(NotImplementedError, match="can only be used after compilation"):
            ffi.sizeof("i_t")
        with pytest.raises(NotImplementedError):
            ffi.typeof("f_t")
        assert ffi.typeof("opaque_t").kind == "struct"
        assert ffi.typeof("opaque_t *").cname == "opaque_t *"
        with pytest.raises(ValueError, match="unknown size"):
            ffi.sizeof("opaque_t")


def test_dots_types_only_in_typedefs():
    cdef_error("int... x;", "only allowed in a typedef", line=1, column=1)
