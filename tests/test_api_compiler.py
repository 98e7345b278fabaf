"""API mode: what the C compiler resolves and checks (issue 10, "What the compiler
resolves").

`...` declarations are completed from the compiler's facts (struct layouts with `...;`,
`typedef int... t;`, `typedef float... t;`, enums with `...`, `T a[...]` globals and
fields, `#define X ...`), against real headers (libc's `struct stat`, zlib's `z_stream`)
and test sources; variadic functions are called at the address the module hands over.
A cdef that disagrees with the source (an offset, a size, a signature, a missing name)
is a build-time VerificationError naming the declaration and both facts, never a wrong
layout at run time (a constant's value is compared when lib reads it, as in cffi).
"""

import ctypes
import importlib.util
import os

import pytest

import cffix
from cffix import FFI

pytestmark = pytest.mark.usefixtures("cc")


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(tmp_path, name, cdef, source, **kwds):
    ffi = FFI()
    ffi.cdef(cdef)
    ffi.set_source(name, source, **kwds)
    return load(name, ffi.compile(tmpdir=str(tmp_path)))


def build_error(tmp_path, name, cdef, source):
    ffi = FFI()
    ffi.cdef(cdef)
    ffi.set_source(name, source)
    with pytest.raises(cffix.VerificationError) as info:
        ffi.compile(tmpdir=str(tmp_path))
    return str(info.value)


SOURCE = r"""
#include <stddef.h>
typedef unsigned short small_t;
typedef long long big_t;
typedef double real_t;
typedef float short_real_t;
enum color { RED = 10, GREEN = -2, BLUE = 70000 };
typedef enum { ONE = 1, HUGE = 0x7fffffffffffLL } wide_t;
int table[13];
struct point { char tag; double x; int extra; double y; };
struct holder { int before; struct point p; char after; };
struct sized { char c; int items[7]; short tail; };
struct with_anon { int a; union { long l; char c[3]; }; int z; };
typedef struct { char name[10]; int id; } record_t;
static int twice(small_t x) { return 2 * x; }
static big_t neg(big_t x) { return -x; }
static real_t half(real_t x) { return x / 2; }
static short_real_t third(short_real_t x) { return x / 3; }
static double point_sum(struct point p) { return p.x + p.y; }
static struct point make_point(double x, double y) {
    struct point p = {'p', x, 99, y};
    return p;
}
static int sum_items(struct sized *s) {
    int t = 0;
    for (int i = 0; i < 7; ++i) t += s->items[i];
    return t + s->tail;
}
static size_t offset_of_y(void) { return offsetof(struct point, y); }
#include <stdio.h>
#include <stdarg.h>
static int join(char *out, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsprintf(out, fmt, ap);
    va_end(ap);
    return n;
}
#define VERSION_CODE 4321
double g_real = 1.5;
struct point g_point;
const int g_const = 3;
char *g_text = "text";
_Bool g_flag = 1;
static unsigned char mix(signed char a, unsigned short b, long long c, float d, _Bool e,
                         char f, struct point *g, void *h) {
    return (unsigned char)(a + b + c + d + e + f + (g != 0) + (h != 0));
}
"""

CDEF = """
typedef int... small_t;
typedef int... big_t;
typedef float... real_t;
typedef float... short_real_t;
enum color { RED, GREEN, BLUE, ... };
typedef enum { ONE, HUGE, ... } wide_t;
int table[...];
struct point { double x; double y; ...; };
struct holder { struct point p; ...; };
struct sized { int items[...]; short tail; ...; };
struct with_anon { union { long l; char c[3]; }; int z; ...; };
typedef struct { int id; ...; } record_t;
int twice(small_t);
big_t neg(big_t);
real_t half(real_t);
short_real_t third(short_real_t);
double point_sum(struct point);
struct point make_point(double, double);
int sum_items(struct sized *);
size_t offset_of_y(void);
int join(char *, const char *, ...);
int snprintf(char *, size_t, const char *, ...);
#define VERSION_CODE ...
double g_real;
struct point g_point;
const int g_const;
char *g_text;
_Bool g_flag;
unsigned char mix(signed char, unsigned short, long long, float, _Bool, char,
                  struct point *, void *);
"""


@pytest.fixture(scope="module")
def mod(tmp_path_factory):
    return build(tmp_path_factory.mktemp("compiler"), "_api_compiler", CDEF, SOURCE)


class CPoint(ctypes.Structure):
    _fields_ = [("tag", ctypes.c_char), ("x", ctypes.c_double), ("extra", ctypes.c_int),
                ("y", ctypes.c_double)]


def test_partial_struct_layout_is_the_compilers(mod):
    ffi, lib = mod.ffi, mod.lib
    assert ffi.sizeof("struct point") == ctypes.sizeof(CPoint)
    assert ffi.alignof("struct point") == ctypes.alignment(CPoint)
    assert ffi.offsetof("struct point", "x") == CPoint.x.offset
    assert ffi.offsetof("struct point", "y") == CPoint.y.offset == lib.offset_of_y()
    assert [name for name, _ in ffi.typeof("struct point").fields] == ["x", "y"]
    p = ffi.new("struct point *", {"x": 1.5, "y": 2.0})
    assert lib.point_sum(p[0]) == 3.5
    q = lib.make_point(4.0, 5.0)
    assert (q.x, q.y) == (4.0, 5.0)
    assert ffi.typeof(q) is ffi.typeof("struct point")


def test_struct_holding_a_partial_struct(mod):
    ffi = mod.ffi
    assert ffi.offsetof("struct holder", "p") == 8  # after `int before`, at double alignment
    assert ffi.sizeof("struct holder") == 8 + ctypes.sizeof(CPoint) + 8
    h = ffi.new("struct holder *")
    h.p.y = 7.0
    assert h.p.y == 7.0


def test_dots_array_field_gets_the_compilers_length(mod):
    ffi, lib = mod.ffi, mod.lib
    assert ffi.typeof("struct sized").fields[0][1].type is ffi.typeof("int[7]")
    assert ffi.offsetof("struct sized", "items") == 4
    assert ffi.offsetof("struct sized", "tail") == 32
    s = ffi.new("struct sized *", {"items": list(range(7)), "tail": 100})
    assert lib.sum_items(s) == 121
    with pytest.raises(IndexError):
        s.items[7]


def test_anonymous_member_in_a_partial_struct(mod):
    ffi = mod.ffi
    assert ffi.offsetof("struct with_anon", "l") == 8
    assert ffi.offsetof("struct with_anon", "c") == 8
    assert ffi.offsetof("struct with_anon", "z") == 16
    assert ffi.sizeof("struct with_anon") == 24


def test_partial_typedef_struct(mod):
    ffi = mod.ffi
    assert ffi.offsetof("record_t", "id") == 12
    assert ffi.sizeof("record_t") == 16


def test_dots_integer_and_float_typedefs(mod):
    ffi, lib = mod.ffi, mod.lib
    assert ffi.typeof("small_t") is ffi.typeof("uint16_t")
    assert ffi.typeof("big_t") is ffi.typeof("int64_t")
    assert ffi.typeof("real_t") is ffi.typeof("double")
    assert ffi.typeof("short_real_t") is ffi.typeof("float")
    assert lib.twice(21) == 42
    assert lib.neg(-2**62) == 2**62
    assert lib.half(3) == 1.5
    assert lib.third(3.0) == 1.0
    with pytest.raises(OverflowError):
        lib.twice(70000)  # the compiler's size: 2 bytes, unsigned
    with pytest.raises(OverflowError):
        lib.twice(-1)
    with pytest.raises(TypeError):
        lib.twice("1")
    assert ffi.new("small_t *", 65535)[0] == 65535


def test_partial_enums_take_the_compilers_values(mod):
    ffi, lib = mod.ffi, mod.lib
    assert (lib.RED, lib.GREEN, lib.BLUE) == (10, -2, 70000)
    assert ffi.sizeof("enum color") == 4
    assert ffi.cast("enum color", 10) == ffi.cast("enum color", lib.RED)
    assert repr(ffi.cast("enum color", -2)) == "<cdata 'enum color' -2: GREEN>"
    assert lib.HUGE == 0x7fffffffffff
    assert ffi.sizeof("wide_t") == 8


def test_dots_global_array_length(mod):
    ffi, lib = mod.ffi, mod.lib
    assert ffi.typeof(lib.table) is ffi.typeof("int[13]")
    assert len(lib.table) == 13
    lib.table[12] = 5
    assert lib.table[12] == 5
    with pytest.raises(IndexError):
        lib.table[13]


def test_dots_define(mod):
    assert mod.lib.VERSION_CODE == 4321


def test_variadic_functions(mod):
    ffi, lib = mod.ffi, mod.lib
    out = ffi.new("char[64]")
    assert lib.join(out, b"%d-%s-%.1f", ffi.cast("int", 7), b"x", ffi.cast("double", 2.5)) == 7
    assert ffi.string(out) == b"7-x-2.5"
    assert lib.snprintf(out, 64, b"%ld", ffi.cast("long", -3)) == 2
    assert ffi.string(out) == b"-3"
    assert ffi.typeof(lib.join) is ffi.typeof("int(*)(char *, char *, ...)")
    with pytest.raises(TypeError):
        lib.join(out, b"%d", 5)  # variadic arguments must be cdata, as in ABI mode


def test_globals_and_every_argument_kind(mod):
    ffi, lib = mod.ffi, mod.lib
    assert lib.g_real == 1.5 and lib.g_const == 3 and lib.g_flag is True
    assert ffi.string(lib.g_text) == b"text"
    lib.g_point.y = 2.5
    assert lib.g_point.y == 2.5
    assert lib.mix(1, 2, 3, 4.0, True, b"\x05", ffi.NULL, ffi.NULL) == 16


@pytest.mark.parametrize("compiler", ["gcc", "clang"])
def test_generated_c_compiles_without_warnings(tmp_path, compiler):
    """-Wall -Wextra -Werror, with both compilers (.ci/run installs clang)."""
    import shutil
    import subprocess
    import sysconfig

    if shutil.which(compiler) is None:
        message = f"{compiler} is not installed (apt-get install {compiler})"
        if os.environ.get("CI"):  # .ci/run installs it: missing there is a failure
            pytest.fail(message)
        pytest.skip(message)
    ffi = FFI()
    ffi.cdef(CDEF)
    ffi.set_source("_api_warnings", SOURCE)
    c_file = tmp_path / "_api_warnings.c"
    ffi.emit_c_code(str(c_file))
    result = subprocess.run(
        [compiler, "-Wall", "-Wextra", "-Werror", "-c", str(c_file), "-o",
         str(tmp_path / "out.o"), "-I", cffix.get_include(),
         "-I", sysconfig.get_paths()["include"]],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


CXX_SOURCE = SOURCE.replace("_Bool", "bool").replace(
    'char *g_text = "text";', 'char g_buf[] = "text";\nchar *g_text = g_buf;') + r"""
template <typename T> static T twice_of(T x) { return x + x; }
static double twice_double(double x) { return twice_of(x); }
static const char *ident(const char *s) { return s; }
"""
CXX_CDEF = CDEF + """
double twice_double(double);
const char *ident(const char *);
extern "Python" int on_value(int, const char *);
"""


def test_cxx_module(tmp_path):
    """source_extension=".cpp": the module is C++ (a template in the source), and works
    as a C one does."""
    mod = build(tmp_path, "_api_cxx", CXX_CDEF, CXX_SOURCE, source_extension=".cpp")
    ffi, lib = mod.ffi, mod.lib
    assert lib.twice_double(1.25) == 2.5
    assert ffi.string(lib.ident(b"abc")) == b"abc"
    assert lib.twice(21) == 42 and lib.RED == 10
    assert ffi.offsetof("struct point", "y") == CPoint.y.offset
    assert lib.mix(1, 2, 3, 4.0, True, b"\x05", ffi.NULL, ffi.NULL) == 16


@pytest.mark.parametrize("compiler", ["g++", "clang++"])
def test_generated_cxx_compiles_without_warnings(tmp_path, compiler):
    import shutil
    import subprocess
    import sysconfig

    if shutil.which(compiler) is None:
        message = f"{compiler} is not installed"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    ffi = FFI()
    ffi.cdef(CXX_CDEF)
    ffi.set_source("_api_cxx_warnings", CXX_SOURCE, source_extension=".cpp")
    source = tmp_path / "_api_cxx_warnings.cpp"
    ffi.emit_c_code(str(source))
    result = subprocess.run(
        [compiler, "-Wall", "-Wextra", "-Werror", "-c", str(source),
         "-o", str(tmp_path / "out.o"), "-I", cffix.get_include(),
         "-I", sysconfig.get_paths()["include"]],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_real_headers_struct_stat_and_z_stream(tmp_path):
    mod = build(tmp_path, "_api_headers", """
        struct stat { long st_size; ...; };
        int stat(const char *, struct stat *);
        typedef struct { unsigned char *next_in; unsigned int avail_in;
                         unsigned char *next_out; unsigned int avail_out;
                         char *msg; ...; } z_stream;
        #define Z_OK ...
        #define ZLIB_VERNUM ...
        int deflateInit_(z_stream *, int, const char *, int);
        int deflateEnd(z_stream *);
        const char *zlibVersion(void);
    """, "#include <sys/stat.h>\n#include <zlib.h>\n", libraries=["z"])
    ffi, lib = mod.ffi, mod.lib
    st = ffi.new("struct stat *")
    assert lib.stat(__file__.encode(), st) == 0
    assert st.st_size == os.stat(__file__).st_size
    import zlib
    stream = ffi.new("z_stream *")
    assert lib.deflateInit_(stream, 6, lib.zlibVersion(), ffi.sizeof("z_stream")) == lib.Z_OK
    assert lib.deflateEnd(stream) == lib.Z_OK
    assert ffi.string(lib.zlibVersion()).decode() == zlib.ZLIB_RUNTIME_VERSION


def test_real_header_sqlite3_with_extern_python_rows(tmp_path):
    """<sqlite3.h>: opaque types, macros as constants (`#define SQLITE_OK ...`), a
    function pointer argument fed with an extern "Python" function, strings back."""
    mod = build(tmp_path, "_api_sqlite", """
        typedef struct sqlite3 sqlite3;
        #define SQLITE_OK ...
        #define SQLITE_VERSION_NUMBER ...
        int sqlite3_open(const char *, sqlite3 **);
        int sqlite3_close(sqlite3 *);
        int sqlite3_exec(sqlite3 *, const char *,
                         int (*)(void *, int, char **, char **), void *, char **);
        const char *sqlite3_libversion(void);
        int sqlite3_libversion_number(void);
        extern "Python" int on_row(void *, int, char **, char **);
    """, "#include <sqlite3.h>\n", libraries=["sqlite3"])
    ffi, lib = mod.ffi, mod.lib
    rows = []

    @ffi.def_extern()
    def on_row(context, ncolumns, values, names):
        rows.append(tuple(ffi.string(values[i]).decode() for i in range(ncolumns)))
        return 0

    assert lib.sqlite3_libversion_number() == lib.SQLITE_VERSION_NUMBER
    db = ffi.new("sqlite3 **")
    assert lib.sqlite3_open(b":memory:", db) == lib.SQLITE_OK
    try:
        sql = (b"create table t(a, b); insert into t values (1, 'x'), (2, 'y');"
               b"select a, b from t order by a;")
        assert lib.sqlite3_exec(db[0], sql, lib.on_row, ffi.NULL, ffi.NULL) == lib.SQLITE_OK
    finally:
        lib.sqlite3_close(db[0])
    assert rows == [("1", "x"), ("2", "y")]
    import sqlite3
    assert ffi.string(lib.sqlite3_libversion()).decode() == sqlite3.sqlite_version


def test_qualifiers_below_a_pointer_as_written(tmp_path):
    """`const char **` parameters and results and a comparator taking `const void *`:
    the wrapper's locals keep the cdef's qualifiers, which C does not convert away."""
    mod = build(tmp_path, "_api_qualifiers", """
        void qsort(void *, size_t, size_t, int (*)(const void *, const void *));
        long strtol(const char *, char **, int);
        const char **names(void);
        int count(const char **);
        extern "Python" int by_value(const void *, const void *);
    """, "#include <stdlib.h>\n"
         "static const char *list[] = {\"a\", \"b\", 0};\n"
         "static const char **names(void) { return list; }\n"
         "static int count(const char **p) { int n = 0; while (p[n]) ++n; return n; }\n")
    ffi, lib = mod.ffi, mod.lib

    @ffi.def_extern()
    def by_value(a, b):
        x, y = ffi.cast("int *", a)[0], ffi.cast("int *", b)[0]
        return (x > y) - (x < y)

    items = ffi.new("int[]", [5, 3, 9, 1])
    lib.qsort(items, 4, ffi.sizeof("int"), lib.by_value)
    assert list(items) == [1, 3, 5, 9]
    assert lib.count(lib.names()) == 2
    end = ffi.new("char **")
    assert lib.strtol(b"42x", end, 10) == 42 and ffi.string(end[0]) == b"x"


# ------------------------------------------------------------- every mismatch class

@pytest.mark.parametrize("cdef,source,expected", [
    # (a layout the cdef states wrongly is refused at the type's first use, as in cffi:
    # test_api_layout_errors.py)
    ("struct w { long *z; };", "struct w { int *z; };",
     ["struct w field z pointee size: 8 in the cdef, 4 in C"]),
    # (as cffi's generated C checks the type of a field that is no integer)
    ("struct c { char b; };", "struct c { short b; };",
     ["struct c field b size: 1 in the cdef, 2 in C"]),
    ("struct a { int x[5]; };", "struct a { int x[6]; };",
     ["struct a field x size: 20 in the cdef, 24 in C"]),
    ("struct p { int x; ...; };", "struct p { char c; long x; };",
     ["struct p field x size: 4 in the cdef, 8 in C"]),
    # (integer and float types may be approximate, as cffi documents: not compared)
    ("struct p { int a; }; void f(struct p);",
     "struct p { int a; }; static int f(struct p x) { return x.a; }",
     ["function f: the cdef declares void (*)(struct p), C int (*)(struct p)"]),
    # an integer field where C has a float of the same size (or the reverse)
    ("struct f { int x; };", "struct f { float x; };",
     ["struct f field x kind (1: integer, 2: floating-point): 1 in the cdef, 2 in C"]),
    ("struct g { double x; ...; };", "struct g { char c; long long x; };",
     ["struct g field x kind (1: integer, 2: floating-point): 2 in the cdef, 1 in C"]),
    # (a constant's value is compared when lib reads it, as in cffi: test_api_mode.py)
    ("int g(int);", "", ["'g' is declared in the cdef but not in the C source"]),
    ("struct nope { int a; };", "",
     ["'struct nope' is defined in the cdef but not in the C source"]),
    ("struct q { int a; ...; };", "",
     ["'struct q' is defined in the cdef but not in the C source"]),
    ("int *ptr(void);", "static long *ptr(void) { return 0; }", []),  # the call's check
])
def test_mismatches_fail_the_build_naming_both_facts(tmp_path, cdef, source, expected):
    message = build_error(tmp_path, "_api_mismatch", cdef, source)
    assert "failed" in message
    for fact in expected:
        assert fact in message


def test_const_globals_are_values_as_in_cffi(tmp_path):
    """`static const T x;` (and `const T x;`) is a value: a macro works too."""
    mod = build(tmp_path, "_api_consts", """
        static const double PI_D; static const int ANSWER; static const char *const NAME;
        static const float FL; const int arr[3]; struct pt { int x, y; };
        static const struct pt ORIGIN;
    """, "#define PI_D 3.25\nstatic const int ANSWER = 42;\n#define NAME \"nm\"\n"
         "#define FL 1.5f\nconst int arr[3] = {1, 2, 3};\nstruct pt { int x, y; };\n"
         "static const struct pt ORIGIN = {5, 6};")
    ffi, lib = mod.ffi, mod.lib
    assert (lib.PI_D, lib.ANSWER, lib.FL) == (3.25, 42, 1.5)
    assert ffi.string(lib.NAME) == b"nm"
    assert list(lib.arr) == [1, 2, 3]
    assert (lib.ORIGIN.x, lib.ORIGIN.y) == (5, 6)
    with pytest.raises(AttributeError, match="const"):
        lib.PI_D = 3.0
    with pytest.raises(AttributeError, match="const"):
        lib.ANSWER = 1


def test_signature_check_skips_function_like_macros(tmp_path):
    mod = build(tmp_path, "_api_macro_fn", "int square(int);",
                "#define square(x) ((x) * (x))")
    assert mod.lib.square(9) == 81


def test_bitfields_in_a_struct_the_compiler_completes_are_refused_at_cdef():
    # (offsetof cannot name a bitfield: the compiler cannot say where it is; as in cffi)
    for cdef in ["struct b { int x : 3, y : 2; ...; };", "struct c { int a[...]; int y : 3; };"]:
        with pytest.raises(NotImplementedError, match="using both bitfields and '...;'"):
            FFI().cdef(cdef)


@pytest.mark.parametrize("cdef,message", [
    ("struct { int x; ...; } *anon_p;", "anonymous struct"),
])
def test_what_the_compiler_cannot_complete_is_refused_by_name(tmp_path, cdef, message):
    ffi = FFI()
    ffi.cdef(cdef)
    ffi.set_source("_api_refused_dots", "")
    with pytest.raises(cffix.VerificationError, match=message):
        ffi.emit_c_code(str(tmp_path / "x.c"))


def test_abi_mode_still_refuses_what_only_the_compiler_knows():
    ffi = FFI()
    ffi.cdef("typedef int... t; t f(t); t g; struct s { int a; ...; }; int h[...];")
    with pytest.raises(NotImplementedError, match="integer type 't'"):
        ffi.typeof("t *")
    lib = ffi.dlopen(None)
    with pytest.raises(NotImplementedError, match="can only be used after compilation"):
        lib.f
    with pytest.raises(NotImplementedError):
        lib.g
    with pytest.raises(cffix.VerificationMissing):
        ffi.new("struct s *")


@pytest.mark.parametrize("cdef,message", [
    ("struct a { struct b b; };",
     "struct a: field 'a.b' is of an opaque type (not declared in cdef())"),
    ("struct b; union a { int x; struct b b[2]; };",
     "union a: field 'a.b' is of an opaque type (not declared in cdef())"),
    ("typedef ... t; struct a { t b[]; };",
     "struct a: field 'a.b' is of an opaque type (not declared in cdef())"),
    ("struct a foo(int);", "function foo: 'struct a' is used as result type, but is opaque"),
])
def test_opaque_types_by_value_are_refused_before_compiling(tmp_path, cdef, message):
    # cffi's TypeError and text, before the compiler runs (the source is not even C).
    ffi = FFI()
    ffi.cdef(cdef)
    ffi.set_source("_api_opaque", "this is not C")
    with pytest.raises(TypeError) as e:
        ffi.compile(tmpdir=str(tmp_path))
    assert str(e.value) == message


def test_static_const_of_a_dots_integer_type(tmp_path):
    """`static const t x = -20;` with `typedef int... t;`: the value as written, compared
    with C's when lib reads it, converted to t once the compiler said what t is."""
    mod = build(tmp_path, "_api_dots_const", """
        typedef unsigned long... bar_t;
        typedef int... foo_t;
        static const bar_t mu = -20;
        static const foo_t nu = 20;
    """, "typedef short bar_t; typedef unsigned long long foo_t;\n"
         "static const bar_t mu = -20; static const foo_t nu = 20;",
                source_extension=".cpp")  # (C++: a static const is a constant expression)
    assert mod.lib.mu == -20 and mod.lib.nu == 20
    assert mod.ffi.sizeof("bar_t") == 2
    bad = build(tmp_path, "_api_dots_const_bad", """
        typedef int... bar_t;
        static const bar_t mu = -21;
    """, "typedef short bar_t;\n#define mu ((bar_t)-20)")
    with pytest.raises(bad.ffi.error, match="the C compiler says 'mu' is equal to -20, but the "
                                            "cdef disagrees"):
        bad.lib.mu


def test_array_without_length_inside_a_partial_struct(tmp_path):
    """`int a[]; int y; ...;`: in a struct the compiler lays out, a `[]` member need not
    be last; its items are those the struct's memory holds from its offset on."""
    mod = build(tmp_path, "_api_open_member", """
        struct foo_s { int a[]; int y; ...; };
        int item14(struct foo_s *);
    """, "struct foo_s { int x; int a[17]; int y; };\n"
         "int item14(struct foo_s *f) { return f->a[14]; }\n")
    ffi, lib = mod.ffi, mod.lib
    assert ffi.sizeof("struct foo_s") == 19 * ffi.sizeof("int")
    s = ffi.new("struct foo_s *")
    assert ffi.typeof(s.a) is ffi.typeof("int[]")
    assert len(s.a) == 18
    s.a[14] = 4242
    assert lib.item14(s) == 4242
    s.a[17] = -521  # the memory of y, as C would write it
    assert s.y == -521
    with pytest.raises(IndexError):
        ffi.new("struct foo_s *", {"a": list(range(19))})  # past the struct's memory
    with pytest.raises(cffix.CDefError, match="must be the last field"):
        FFI().cdef("struct bar_s { int a[]; int y; };")  # without '...': as C says


def test_anonymous_partial_struct_member(tmp_path):
    """An anonymous struct with '...' inside a struct: its fields are placed through the
    holder, which C can name."""
    mod = build(tmp_path, "_api_anonymous_partial", """
        struct foo_s { struct { char b; short s; ...; }; union { char c, d; }; int z; ...; };
    """, "struct foo_s { int a, padding; struct { char x, b; short s; int y; }; "
         "union { char c, d; }; int z; };")
    ffi = mod.ffi
    assert ffi.sizeof("struct foo_s") == 24
    assert ffi.offsetof("struct foo_s", "b") == 9
    assert ffi.offsetof("struct foo_s", "s") == 10
    assert ffi.offsetof("struct foo_s", "c") == 16
    assert ffi.offsetof("struct foo_s", "z") == 20
    p = ffi.new("struct foo_s *", {"b": b"B", "s": -3, "d": b"D"})
    assert (p.b, p.s, p.c) == (b"B", -3, b"D")


@pytest.mark.parametrize("cdef,source,message", [
    ("struct a; struct a f(void);", "struct a { int x; }; struct a f(void) { struct a r = {1}; "
     "return r; }", "function f: 'struct a' is used as result type, but is opaque"),
    ("typedef ... t; t f(void);", "typedef struct { int x; } t; t f(void) { t r = {1}; "
     "return r; }", "function f: 't' is used as result type, but is opaque"),
    ('typedef ... t; extern "Python" int cb(t);', "typedef struct { int x; } t;",
     "function cb: 't' is used as argument type, but is opaque"),
])
def test_opaque_struct_by_value_is_refused_at_build(tmp_path, cdef, source, message):
    """The core cannot convert a struct of unknown size (the call crashed): a TypeError
    with cffi's text, when the module is generated."""
    ffi = FFI()
    ffi.cdef(cdef)
    ffi.set_source("_api_opaque_result", source)
    with pytest.raises(TypeError) as info:
        ffi.compile(tmpdir=str(tmp_path))
    assert str(info.value) == message


def test_one_enumerator_in_two_enums_fails_the_build(tmp_path):
    ffi = FFI()
    ffi.cdef("enum e1 { A1, ... }; enum e2 { A1, ... };")
    ffi.set_source("_api_duplicate_enumerator", "enum e1 { A1 }; enum e2 { B1 };")
    with pytest.raises(cffix.VerificationError,
                       match="enum e2: duplicate declaration of const 'A1'"):
        ffi.compile(tmpdir=str(tmp_path))


def test_globals_of_an_opaque_type_give_only_their_address(tmp_path):
    """`typedef ... t; extern t g;`: the value has no size cffix knows; its address does."""
    mod = build(tmp_path, "_api_opaque_globals", """
        typedef ... opaque_t;
        extern opaque_t globvar;
        const opaque_t CONSTANT;
    """, 'typedef char opaque_t[6]; opaque_t globvar = "hello"; const opaque_t CONSTANT = "x";')
    ffi, lib = mod.ffi, mod.lib
    with pytest.raises(TypeError, match="^cdata 'opaque_t' is opaque$"):
        lib.globvar
    with pytest.raises(TypeError, match="^'opaque_t' is opaque$"):
        lib.globvar = []
    with pytest.raises(ffi.error, match="constant 'CONSTANT' is of type 'opaque_t', whose "
                                        "size is not known"):
        lib.CONSTANT
    p = ffi.addressof(lib, "globvar")
    assert ffi.typeof(p) is ffi.typeof("opaque_t *")
    assert ffi.string(ffi.cast("char *", p)) == b"hello"


@pytest.mark.parametrize("c_type,message", [
    ("unsigned long", "primitive floating-point type with an unexpected size (or not a "
                      "float type at all)"),
    ("int", "primitive floating-point type with an unexpected size (or not a float type "
            "at all)"),
])
def test_dots_float_typedef_that_is_no_float_in_c(tmp_path, c_type, message):
    """`typedef double... t;` where C's t is an integer: its uses raise ffi.error (cffi's
    text), instead of converting an integer as a double."""
    mod = build(tmp_path, "_api_bad_float_" + c_type.replace(" ", "_"),
                "typedef double... foo_t; foo_t neg(foo_t); int other(int);",
                f"typedef {c_type} foo_t; foo_t neg(foo_t x) {{ return -x; }}\n"
                "int other(int x) { return x + 1; }")
    ffi, lib = mod.ffi, mod.lib
    with pytest.raises(ffi.error) as info:
        lib.neg
    assert str(info.value) == message
    with pytest.raises(ffi.error):
        ffi.sizeof("foo_t")
    assert lib.other(1) == 2  # the rest of the module works


def test_zero_length_array_member_through_libffi(tmp_path):
    """`int x[0]` adds no bytes: such a struct goes by value through libffi (a variadic
    function) when the rest of its members have its layout; else NotImplementedError."""
    mod = build(tmp_path, "_api_zero_length", """
        struct foo { int a; int x[0]; };
        struct bar { char c; double x[0]; };
        struct foo f(void);
        struct foo g(int, ...);
        struct bar h(int, ...);
    """, "struct foo { int a; int x[0]; }; struct bar { char c; double x[0]; };\n"
         "struct foo f(void) { struct foo s = { 42 }; return s; }\n"
         "struct foo g(int a, ...) { return f(); }\n"
         "struct bar h(int a, ...) { struct bar b = { 'z' }; return b; }\n")
    lib = mod.lib
    assert lib.f().a == 42
    assert lib.g(0).a == 42
    with pytest.raises(NotImplementedError, match="layout libffi cannot express"):
        lib.h(0)
