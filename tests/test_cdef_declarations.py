"""The cdef language's declarations through the public API: global variables, extern
"Python" and "C" blocks, redeclarations and override=True, pack options, GNU extensions
(attributes, modes, asm labels, __extension__, _Static_assert), WINAPI, _FloatN types,
and inline function bodies (skipped).

Where cffi accepts the same text it is the oracle (the `cffi_oracle` fixture): both parse
it and their CTypes are compared.
"""

import pytest

import cffix
from cffix import FFI

from cdef_helpers import cdef, cdef_error, dlopen_self, oracle_cdef


# -------------------------------------------------------------- declarations, globals

def test_global_variables():
    ffi = cdef("extern char **environ; extern int a, *b, c[3], (*d)(int); static int e;")
    lib = dlopen_self(ffi)
    assert set(dir(lib)) >= {"environ", "a", "b", "c", "d", "e"}
    assert b"=" in ffi.string(lib.environ[0])


def test_extern_python_blocks():
    ffi = cdef("""
        extern "Python" int cb(int);
        extern "Python+C" { int cb2(int, int); typedef int cb_t(int); }
        extern "Python" { void cb3(void); }
        extern "C" { int plain(int); }
        extern "C" int plain2(int);
    """)
    assert ffi.typeof("cb_t *") is ffi.typeof("int(*)(int)")
    names = dir(dlopen_self(ffi))
    assert "plain" in names and "plain2" in names and "cb" not in names


def test_linkage_spacing_and_order_do_not_matter():
    ffi = cdef('extern "C +\tPython" int cb(int); extern " Python " int cb2(void);')
    assert "cb" not in dir(dlopen_self(ffi))  # both extern "Python": API mode defines them
    cdef_error('extern "C + C" int f(void);', 'unsupported linkage "C+C"', line=1, column=8)


def test_extern_python_declares_functions_only():
    cdef_error('extern "Python" int x;', 'extern "Python"', line=1, column=21)
    cdef_error('extern "Python" { int *p; }', 'extern "Python"', line=1, column=24)
    cdef_error('extern "C++" int f(void);', 'unsupported linkage "C++"', line=1, column=8)


def test_identical_redeclarations_are_accepted():
    ffi = cdef("""
        typedef int T; typedef int T;
        struct s { int a; }; struct s { int a; };
        union u { int a; char b; }; union u { int a; char b; };
        enum e { A, B }; enum e { A, B };
        typedef struct { int x; } anon_t; typedef struct { int x; } anon_t;
        int f(int); int f(int named); extern int f(int);
        extern int v; extern int v;
        #define X 1
        #define X 1
        static const int C = 5; static const int C = 5;
    """)
    assert ffi.sizeof("struct s") == 4
    ffi.cdef("typedef int T; struct s { int a; }; int f(int);")  # in a later cdef too
    assert ffi.typeof("T") is ffi.typeof("int") and ffi.sizeof("struct s") == 4


def test_redeclaration_that_only_adds_an_asm_label():
    ffi = cdef('int my_strlen(const char *); int my_strlen(const char *) __asm__("strlen");')
    assert dlopen_self(ffi).my_strlen(b"hello") == 5


def test_override_replaces_declarations():
    ffi = cdef("typedef int T; struct s { int a; }; int f(int);\n#define X 1\n")
    ffi.cdef("typedef long T; struct s { long a, b; }; long f(long);\n#define X 2\n",
             override=True)
    assert ffi.sizeof("T") == ffi.sizeof("long")
    assert ffi.sizeof("struct s") == 2 * ffi.sizeof("long")
    assert dlopen_self(ffi).X == 2


def test_packed_and_pack_options():
    source = "struct s { char a; int b; }; struct t { char a; double b; };"
    assert cdef(source).sizeof("struct s") == 8
    assert cdef(source, packed=True).sizeof("struct s") == 5
    assert cdef(source, pack=2).sizeof("struct s") == 6
    assert cdef(source, pack=4).sizeof("struct t") == 12
    assert cdef(source, pack=1).sizeof("struct t") == 9


# --------------------------------------------------------------------- GNU extensions

def test_packed_and_aligned_attributes():
    ffi = cdef("""
        struct __attribute__((packed)) p1 { char a; int b; };
        struct p2 { char a; int b; } __attribute__((__packed__));
        struct a16 { char a; } __attribute__((aligned(16)));
        struct m { char a; int b __attribute__((aligned(8))); };
        typedef int aligned_int __attribute__((aligned(8)));
        struct uses { char c; aligned_int x; };
        struct pm { char a; int b __attribute__((packed)); };
    """)
    assert ffi.sizeof("struct p1") == ffi.sizeof("struct p2") == 5
    assert (ffi.sizeof("struct a16"), ffi.alignof("struct a16")) == (16, 16)
    assert (ffi.offsetof("struct m", "b"), ffi.sizeof("struct m")) == (8, 16)
    assert ffi.offsetof("struct uses", "x") == 8
    assert ffi.offsetof("struct pm", "b") == 1


@pytest.mark.parametrize("mode, size", [("QI", 1), ("HI", 2), ("SI", 4), ("DI", 8),
                                        ("__DI__", 8), ("word", 8), ("__word__", 8),
                                        ("byte", 1), ("pointer", 8)])
def test_mode_attribute_sizes(mode, size):
    ffi = cdef(f"typedef int s_t __attribute__((mode({mode})));"
               f"typedef unsigned int u_t __attribute__((__mode__({mode})));")
    if mode in ("word", "__word__", "pointer"):
        size = ffi.sizeof("void *")
    assert ffi.sizeof("s_t") == ffi.sizeof("u_t") == size
    assert ffi.typeof("s_t") is ffi.typeof(f"int{size * 8}_t")
    assert ffi.typeof("u_t") is ffi.typeof(f"uint{size * 8}_t")


def test_other_attributes_are_ignored():
    ffi = cdef("""
        extern int f(const char *, ...) __attribute__((__format__(__printf__, 1, 2),
            nonnull(1), deprecated("use g"))) __attribute__((__nothrow__, __leaf__));
        __attribute__((visibility("default"))) int g(void);
        struct __attribute__((__may_alias__)) s { int x __attribute__((unused)); };
        int h(int *p __attribute__((unused)));
    """)
    assert ffi.sizeof("struct s") == 4


def test_extension_restrict_inline_noreturn():
    ffi = cdef("""
        __extension__ typedef long long ll_t;
        __extension__ struct e { __extension__ int a; };
        void *memcpy(void *__restrict dst, const void *__restrict__ src, unsigned long n);
        __inline int not_defined(void);
        extern __inline__ int also(void);
        _Noreturn void stop(void); register int r;
        __extension__ enum { V = __extension__ 3 };
    """)
    assert ffi.typeof("ll_t") is ffi.typeof("long long")
    assert dlopen_self(ffi).V == 3


def test_asm_labels():
    ffi = cdef('int my_strlen(const char *) __asm__("strlen");\n'
               'extern int my_abs(int) __asm("" "abs") __attribute__((nothrow));')
    lib = dlopen_self(ffi)
    assert lib.my_strlen(b"hello") == 5
    assert lib.my_abs(-3) == 3


def test_builtin_va_list_and_declspec():
    ffi = cdef("""
        typedef __builtin_va_list va_list;
        int vprintf(const char *, va_list);
        typedef __builtin_va_list __gnuc_va_list;
        __declspec(dllimport) int imported(void);
        struct __declspec(align(8)) d { int x; };
    """)
    assert ffi.typeof("int(*)(const char *, va_list)").args[1] is ffi.typeof("va_list")
    assert ffi.sizeof("struct d") == 4


def test_static_assert():
    ffi = cdef("_Static_assert(sizeof(int) == 4, \"int\"); static_assert(1, \"ok\");"
               "struct s { int a; _Static_assert(sizeof(long) >= 4, \"long\"); };")
    assert [name for name, _ in ffi.typeof("struct s").fields] == ["a"]  # no member added
    cdef_error('\n_Static_assert(sizeof(int) == 8, "need 64-bit int");',
               "static assertion failed: need 64-bit int", line=2, column=1)


# ----------------------------------------------------------------- WINAPI and _FloatN

def test_winapi_is_stdcall_unless_declared():
    ffi = cdef("int WINAPI f(int); int (WINAPI *fp)(int); typedef int (WINAPI *cb_t)(long);")
    assert ffi.typeof("cb_t") is ffi.typeof("int(*)(long)")
    assert ffi.typeof("int (WINAPI *)(int)") is ffi.typeof("int(*)(int)")
    assert {"f", "fp"} <= set(dir(dlopen_self(ffi)))
    # Declared as a type, it is that type; alone it is a name, as in C.
    ffi = cdef("typedef int WINAPI; WINAPI f(WINAPI);")
    assert ffi.typeof("int(*)(WINAPI)") is ffi.typeof("int(*)(int)")
    assert "WINAPI" in dir(dlopen_self(cdef("int WINAPI;")))


def test_winapi_like_cffi(cffi_oracle):
    source = "int WINAPI f(int); typedef int (WINAPI *cb_t)(long, char *);"
    ours, theirs = cdef(source), oracle_cdef(cffi_oracle, source)
    for ffi in (ours, theirs):
        assert ffi.typeof("cb_t").args == (ffi.typeof("long"), ffi.typeof("char *"))


def test_float_n_types(compile_and_run):
    ldbl_mant_dig = int(compile_and_run(
        '#include <float.h>\n#include <stdio.h>\n'
        'int main(void) { printf("%d", LDBL_MANT_DIG); }'))
    ffi = cdef("typedef _Float32 f32; typedef _Float64 f64; typedef _Float32x f32x;"
               "typedef _Float64x f64x; typedef _Complex _Float32 c32;"
               "typedef _Float64 _Complex c64; float f(_Float32, _Float64);")
    assert ffi.typeof("f32") is ffi.typeof("float")
    assert ffi.typeof("f64") is ffi.typeof("f32x") is ffi.typeof("double")
    assert ffi.typeof("c32") is ffi.typeof("float _Complex")
    assert ffi.typeof("c64") is ffi.typeof("double _Complex")
    assert ffi.typeof("f64x") is ffi.typeof("long double")  # x87 extended or binary128
    ffi.cdef("_Float128 quad(_Float128);")
    if ldbl_mant_dig == 113:  # long double is IEEE binary128 (AArch64, ...)
        assert ffi.typeof("_Float128") is ffi.typeof("long double")
    else:  # same size, other format (x86-64): a type of its own (tests/test_float128.py)
        assert ffi.typeof("_Float128").kind == "primitive"
        assert ffi.typeof("_Float128") is not ffi.typeof("long double")
        assert ffi.sizeof("_Float128") == ffi.alignof("_Float128") == 16
        assert FFI().typeof("_Float128") is ffi.typeof("_Float128")
    for bad in ("unsigned _Float32 x;", "long _Float64 x;", "_Float32 int x;", "_Float16 x;"):
        cdef_error(bad, line=1)


def test_typeof_of_a_type_name(compile_and_run):
    # gcc's headers write typeof(type): it names that type, with qualifiers around it.
    source = ("struct S { int a; char c; }; typedef __typeof__(struct S *) P;"
              "typedef typeof(unsigned long) ul; typedef __typeof(double (*)(int)) fp;"
              "typedef const typeof(int) cint; typedef typeof(char[3]) a3;"
              "struct T { typeof(struct S) s; typeof(short) h; };")
    ffi = cdef(source)
    assert ffi.typeof("P") is ffi.typeof("struct S *")
    assert ffi.typeof("ul") is ffi.typeof("unsigned long")
    assert ffi.typeof("fp") is ffi.typeof("double(*)(int)")
    assert ffi.typeof("a3") is ffi.typeof("char[3]")
    assert ffi.sizeof("cint") == ffi.sizeof("int")
    out = compile_and_run("#include <stdio.h>\n#include <stddef.h>\n" + source +
                          '\nint main(void) { printf("%zu %zu", sizeof(struct T), '
                          "offsetof(struct T, h)); }")
    assert out.split() == [str(ffi.sizeof("struct T")), str(ffi.offsetof("struct T", "h"))]


@pytest.mark.parametrize("source, fragment", [
    # typeof(expression) is declared (tests/test_typeof_expr.py); these are not
    ("typeof(1 + nope) x;", "typeof: unknown name 'nope'"),
    ("int v; __typeof__(v = 1) w;", "assignment is not allowed"),
    ("typeof() z;", "a type name or an expression expected in 'typeof()'"),
    ("typeof(int x;", "')' closing 'typeof('"),
    ("typeof_unqual(int) u;", "'typeof_unqual' is not supported"),
    ("int typeof(int) t;", "invalid combination of type specifiers"),
])
def test_typeof_errors(source, fragment):
    cdef_error(source, fragment, line=1)


# -------------------------------------------------------- inline function definitions

def test_inline_function_bodies_are_skipped():
    ffi = cdef("""
        static inline int twice(int x) { return 2 * x; }
        static __inline unsigned short swap16(unsigned short v)
        {
            struct { int a; } s = { '}' };
            if (v) { return (v >> 8) | (v << 8); } else { return "{{"[0]; }
        }
        extern __inline __attribute__((__gnu_inline__)) int atoi(const char *s) { return 0; };
        __inline__ int after(void);
        __forceinline void nothing(void) {}
        static inline double numbers(void) { return 1.0f128 + 2i + 1.5q + 0x1p-3 + 7wb; }
    """)
    names = dir(dlopen_self(ffi))
    assert {"twice", "swap16", "atoi", "after", "nothing", "numbers"} <= set(names)
    assert ffi.typeof("unsigned short(*)(unsigned short)").args == (
        ffi.typeof("unsigned short"),)


def test_function_bodies_are_errors_unless_inline():
    message = cdef_error("int f(void)\n{ return 0; }", "function bodies are not supported",
                         line=2, column=1)
    assert "{ return 0; }" in message
    cdef_error("static int f(void) { return 0; }", "function bodies", line=1, column=20)
    cdef_error("typedef inline int f(void) { }", "function bodies")
    cdef_error("inline int a, f(void) { }", "function bodies")
    cdef_error("static inline int f(void) { if (1) { return 0; }",
               "unterminated function body", line=1, column=27)
