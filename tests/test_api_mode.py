"""API mode: set_source() with C source, compile() into a real extension module, and the
module's ffi and lib (functions, macros, static inline functions, constants).

Each module is built with setuptools and the system compiler into a temporary folder and
imported from there. Conversions are the core's: the same bad value gives the same
error through an API-mode function as through the ABI-mode call of the same function.
"""

import importlib.util
import os

import pytest

import cffix
from cffix import FFI

pytestmark = pytest.mark.usefixtures("cc")  # every test needs a C compiler


def build(tmp_path, name, cdef, source, **kwds):
    ffi = FFI()
    ffi.cdef(cdef)
    ffi.set_source(name, source, **kwds)
    path = ffi.compile(tmpdir=str(tmp_path))
    return load(name, path), ffi


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MATH_CDEF = """
double hypot(double, double);
double frexp(double, int *);
float sqrtf(float);
size_t strlen(const char *);
int abs(int);
"""
MATH_SOURCE = "#include <math.h>\n#include <string.h>\n#include <stdlib.h>\n"


@pytest.fixture(scope="module")
def mathmod(tmp_path_factory):
    module, _ = build(tmp_path_factory.mktemp("api"), "_api_math", MATH_CDEF, MATH_SOURCE,
                      libraries=["m"])
    return module


def test_libm_and_libc_functions(mathmod):
    lib, ffi = mathmod.lib, mathmod.ffi
    assert lib.hypot(3, 4) == 5.0
    assert lib.sqrtf(2.25) == 1.5
    assert lib.strlen(b"hello") == 5
    assert lib.abs(-7) == 7
    exponent = ffi.new("int *")
    assert lib.frexp(8.0, exponent) == 0.5 and exponent[0] == 4
    assert isinstance(ffi, cffix.FFI)
    assert ffi.typeof("int *") is ffi.typeof("int*")


def test_same_errors_as_abi_mode(mathmod):
    """One converter set: API-mode wrappers and ABI-mode calls agree on every value."""
    abi = FFI()
    abi.cdef(MATH_CDEF)
    libc = abi.dlopen(None)
    libm = abi.dlopen("libm.so.6")
    cases = [("abs", libc, [5, -5, 2**31, -2**31 - 1, 1.5, "1", None, True, abi.cast("int", 3)]),
             ("hypot", libm, [1, 1.5, "x", None, 2**80, abi.cast("double", 2.0)]),
             ("strlen", libc, [b"abc", "abc", 3, [1, 2]])]  # (NULL would crash in C)
    for name, abilib, values in cases:
        nargs = {"abs": 1, "hypot": 2, "strlen": 1}[name]
        for v in values:
            args = (v,) * nargs
            outcomes = []
            for fn in (getattr(mathmod.lib, name), getattr(abilib, name)):
                try:
                    outcomes.append(("ok", fn(*args)))
                except Exception as e:  # noqa: BLE001 - compared below
                    outcomes.append(("error", type(e), str(e)))
            assert outcomes[0] == outcomes[1], (name, v, outcomes)


def test_macros_static_inline_structs_and_constants(tmp_path):
    module, _ = build(tmp_path, "_api_macros", """
        int twice(int);
        struct pair { int a; double b; };
        struct pair mkpair(int a, double b);
        double pair_sum(struct pair);
        int sum(int *p, int n);
        #define ANSWER 42
        #define BIG 0xffffffffffffffff
        #define NEG -5
        enum color { RED, GREEN = 10, BLUE };
        int color_value(enum color);
        char first(const char *);
        _Bool is_odd(int);
    """, r"""
        #define twice(x) ((x) * 2)
        #define ANSWER 42
        #define BIG 0xffffffffffffffffULL
        #define NEG (-5)
        struct pair { int a; double b; };
        enum color { RED, GREEN = 10, BLUE };
        static struct pair mkpair(int a, double b) { struct pair p = {a, b}; return p; }
        static double pair_sum(struct pair p) { return p.a + p.b; }
        static inline int sum(int *p, int n) { int s = 0; while (n--) s += *p++; return s; }
        static int color_value(enum color c) { return (int)c; }
        static char first(const char *s) { return s[0]; }
        static _Bool is_odd(int x) { return x & 1; }
    """)
    lib, ffi = module.lib, module.ffi
    assert lib.twice(21) == 42
    p = lib.mkpair(3, 0.5)
    assert repr(p) == f"<cdata 'struct pair' owning {ffi.sizeof('struct pair')} bytes>"
    assert (p.a, p.b) == (3, 0.5)
    assert lib.pair_sum(p) == 3.5
    assert lib.pair_sum({"a": 1, "b": 0.25}) == 1.25
    assert lib.sum([1, 2, 3], 3) == 6  # a list through a temporary array
    assert lib.sum(ffi.new("int[]", [4, 5]), 2) == 9
    assert (lib.ANSWER, lib.BIG, lib.NEG) == (42, 2**64 - 1, -5)
    assert (lib.RED, lib.GREEN, lib.BLUE) == (0, 10, 11)
    assert lib.color_value(lib.BLUE) == 11
    assert lib.first(b"xyz") == b"x"
    assert lib.is_odd(3) is True
    with pytest.raises(TypeError, match=r"twice\(\) takes exactly one argument \(0 given\)"):
        lib.twice()
    with pytest.raises(TypeError, match="an integer is required for 'int'"):
        lib.twice("x")
    with pytest.raises(OverflowError):
        lib.twice(2**31)


def test_errno_is_ffi_errno(tmp_path):
    module, _ = build(tmp_path, "_api_errno", "int set_errno(int);",
                      "#include <errno.h>\nstatic int set_errno(int e) { errno = e; return -1; }")
    module.ffi.errno = 0
    assert module.lib.set_errno(33) == -1
    assert module.ffi.errno == 33


def test_constant_that_differs_from_the_source_raises_at_its_read(tmp_path):
    # As in cffi: the module builds, the rest of it works, and reading the constant
    # raises ffi.error with both values (C's in hex too when positive).
    cdef = """
        #define ANSWER 41
        #define BIG 42
        #define NEG -5
        static const int SC = 042;
        #define GOOD 7
        enum e { E0, E1 };
        int twice(int);
    """
    source = """
        #define ANSWER 42
        #define BIG 9223372036854775809ULL
        #define NEG (-6)
        #define SC (-6912)
        #define GOOD 7
        enum e { E0 = -1, E1 = 5 };
        static int twice(int x) { return 2 * x; }
    """
    module, _ = build(tmp_path, "_api_bad_const", cdef, source)
    lib = module.lib
    expected = {"ANSWER": "42 (0x2a)", "BIG": "9223372036854775809 (0x8000000000000001)",
                "NEG": "-6", "SC": "-6912"}
    for name, c_value in expected.items():
        with pytest.raises(module.ffi.error) as e:
            getattr(lib, name)
        assert str(e.value) == (f"the C compiler says '{name}' is equal to {c_value}, but the "
                                "cdef disagrees")
    assert lib.GOOD == 7 and lib.twice(21) == 42
    assert (lib.E0, lib.E1) == (-1, 5)  # enumerators are C's, as in cffi


def test_signature_that_differs_from_the_source_fails_the_build(tmp_path):
    ffi = FFI()
    ffi.cdef("int f(int *);")
    ffi.set_source("_api_bad_sig", "static int f(double *p) { return (int)*p; }")
    with pytest.raises(cffix.VerificationError, match="building '_api_bad_sig' failed"):
        ffi.compile(tmpdir=str(tmp_path))


def test_missing_name_fails_the_build(tmp_path):
    ffi = FFI()
    ffi.cdef("int not_in_the_source(int);")
    ffi.set_source("_api_missing", "")
    with pytest.raises(cffix.VerificationError):
        ffi.compile(tmpdir=str(tmp_path))


def test_emit_c_code_is_deterministic_and_compile_does_not_rebuild(tmp_path):
    def builder():
        ffi = FFI()
        ffi.cdef("int twice(int); int half(int);\n#define K 3\n")
        ffi.set_source("_api_same", "#define twice(x) ((x)*2)\n#define half(x) ((x)/2)\n"
                                    "#define K 3")
        return ffi

    builder().emit_c_code(str(tmp_path / "a.c"))
    builder().emit_c_code(str(tmp_path / "b.c"))
    assert (tmp_path / "a.c").read_bytes() == (tmp_path / "b.c").read_bytes()
    path = builder().compile(tmpdir=str(tmp_path))
    mtime = os.stat(path).st_mtime_ns
    c_mtime = os.stat(tmp_path / "_api_same.c").st_mtime_ns
    assert builder().compile(tmpdir=str(tmp_path)) == path
    assert os.stat(path).st_mtime_ns == mtime  # not rebuilt
    assert os.stat(tmp_path / "_api_same.c").st_mtime_ns == c_mtime  # not rewritten
    assert load("_api_same", path).lib.half(8) == 4


def test_package_module_and_target(tmp_path):
    ffi = FFI()
    ffi.cdef("int twice(int);")
    ffi.set_source("pkg._api_pkg", "#define twice(x) ((x)*2)")
    path = ffi.compile(tmpdir=str(tmp_path), target="_api_pkg.*")
    assert os.path.dirname(path) == str(tmp_path / "pkg")
    assert os.path.basename(path).startswith("_api_pkg.")
    assert (tmp_path / "pkg" / "_api_pkg.c").exists()
    assert load("pkg._api_pkg", path).lib.twice(4) == 8


def test_distutils_extension(tmp_path):
    ffi = FFI()
    ffi.cdef("int twice(int);")
    ffi.set_source("_api_ext", "#define twice(x) ((x)*2)", libraries=["m"])
    ext = ffi.distutils_extension(tmpdir=str(tmp_path), verbose=False)
    assert ext.name == "_api_ext"
    assert ext.sources[0] == os.path.join(str(tmp_path), "_api_ext.c")
    assert cffix.get_include() in ext.include_dirs
    assert ext.libraries == ["m"]


def test_release_gil_false_keeps_the_gil(tmp_path):
    """set_source(..., release_gil=False): the wrappers keep the GIL (PyGILState_Check in
    the called C code says so), and errno is still ffi.errno."""
    source = ("#include <errno.h>\n"
              "static int holds_gil(void) { errno = 7; return PyGILState_Check(); }")
    kept, _ = build(tmp_path, "_api_gil_kept", "int holds_gil(void);", source,
                    release_gil=False)
    released, _ = build(tmp_path, "_api_gil_released", "int holds_gil(void);", source)
    assert kept.lib.holds_gil() == 1
    assert kept.ffi.errno == 7
    assert released.lib.holds_gil() == 0
    with pytest.raises(TypeError, match="release_gil"):
        FFI().set_source("_api_gil_bad", "", release_gil="no")


def test_function_objects_have_a_type_and_an_address(tmp_path):
    """As in cffi: ffi.typeof(lib.f) is the function's type, ffi.addressof(lib, "f") a
    function pointer of the cdef's type that calls the C function (a function-like macro
    too)."""
    module, _ = build(tmp_path, "_api_fn_address", "double hypot(double, double);\n"
                      "int triple(int);\nint square(int);",
                      "#include <math.h>\n#define square(x) ((x) * (x))\n"
                      "static int triple(int x) { return 3 * x; }", libraries=["m"])
    ffi, lib = module.ffi, module.lib
    assert ffi.typeof(lib.hypot) is ffi.typeof("double(*)(double, double)")
    assert ffi.typeof(lib.square) is ffi.typeof("int(*)(int)")
    pointer = ffi.addressof(lib, "triple")
    assert ffi.typeof(pointer) is ffi.typeof("int(*)(int)") and pointer(5) == 15
    assert ffi.addressof(lib, "hypot")(3, 4) == 5.0
    assert ffi.addressof(lib, "square")(9) == 81
    with pytest.raises(TypeError, match="expected a str, ctype or cdata object"):
        ffi.typeof(len)
    with pytest.raises(AttributeError):
        ffi.addressof(lib, "no_such_function")


def test_set_source_bad_keywords():
    ffi = FFI()
    with pytest.raises(TypeError, match="unexpected keyword argument.*'librarys'"):
        ffi.set_source("_api_kw", "", librarys=["m"])
    ffi.set_source("_api_kw", "", libraries=["m"])  # the failed call recorded nothing


def test_include_between_modules(tmp_path, monkeypatch):
    """ffi.include() of an API-mode module's and of an out-of-line ABI module's FFI: the
    module imports both, shares their types (the same ctype objects), and its lib also
    gives the included lib's names."""
    monkeypatch.syspath_prepend(str(tmp_path))
    base = FFI()
    base.cdef("struct pt { int x, y; ...; };\nint norm1(struct pt *);\n#define BASE_K 7")
    base.set_source("_api_inc_base", "struct pt { int y; int x; };\n"
                    "static int norm1(struct pt *p) { return p->x + p->y; }\n#define BASE_K 7")
    base.compile(tmpdir=str(tmp_path))
    abi = FFI()
    abi.cdef("typedef int handle_t;")
    abi.set_source("_api_inc_abi", None)
    abi.compile(tmpdir=str(tmp_path))
    top = FFI()
    top.include(base)
    top.include(abi)
    top.cdef("int sum_x(struct pt *, handle_t);\nint norm1_twice(struct pt *);")
    top.set_source("_api_inc_top", "struct pt { int y; int x; };\ntypedef int handle_t;\n"
                   "static int norm1(struct pt *p) { return p->x + p->y; }\n"
                   "static int sum_x(struct pt *p, handle_t h) { return p->x + h; }\n"
                   "static int norm1_twice(struct pt *p) { return 2 * norm1(p); }")
    top.compile(tmpdir=str(tmp_path))
    import _api_inc_base
    import _api_inc_top
    ffi, lib = _api_inc_top.ffi, _api_inc_top.lib
    assert ffi.typeof("struct pt") is _api_inc_base.ffi.typeof("struct pt")
    assert ffi.offsetof("struct pt", "x") == 4  # the compiler's layout, from the base
    p = ffi.new("struct pt *", {"x": 3, "y": 4})
    assert lib.sum_x(p, 10) == 13
    assert lib.norm1_twice(p) == 14
    assert lib.norm1(p) == 7 and lib.BASE_K == 7  # the base's lib, through this one
    assert _api_inc_base.lib.norm1(p) == 7
    with pytest.raises(AttributeError):
        lib.no_such_name
    assert ffi.typeof("handle_t") is ffi.typeof("int")


def test_include_of_an_ffi_without_a_module_is_refused(tmp_path):
    base = FFI()
    base.cdef("typedef int myint;")
    ffi = FFI()
    ffi.include(base)
    ffi.cdef("myint twice(myint);")
    ffi.set_source("_api_incl", "typedef int myint;\n#define twice(x) ((x)*2)")
    with pytest.raises(cffix.VerificationError, match="not prepared with set_source"):
        ffi.compile(tmpdir=str(tmp_path))


def test_modules_are_independent_of_each_other(tmp_path, mathmod):
    module, _ = build(tmp_path, "_api_other", "int abs(int);", "#include <stdlib.h>")
    assert module.ffi is not mathmod.ffi
    assert module.lib.abs(-1) == mathmod.lib.abs(-1) == 1


def test_global_variables_read_and_written_through_the_core(tmp_path):
    module, _ = build(tmp_path, "_api_globals", """
        int counter;
        double ratio;
        int table[3];
        struct point { int x, y; };
        struct point origin;
        const char *name;
        const int fixed;
        int get_counter(void);
    """, r"""
        /* static: a library of the tests loaded with RTLD_GLOBAL (test_dlopen.py) also
           exports 'counter' and 'ratio', which would interpose on exported ones */
        static int counter = 5;
        static double ratio = 0.25;
        static int table[3] = {1, 2, 3};
        struct point { int x, y; };
        static struct point origin = {7, 8};
        static const char *name = "cffix";
        static const int fixed = 99;
        static int get_counter(void) { return counter; }
    """)
    lib, ffi = module.lib, module.ffi
    assert repr(lib) == "<Lib object for '_api_globals'>"
    assert (lib.counter, lib.ratio, list(lib.table)) == (5, 0.25, [1, 2, 3])
    lib.counter = 41
    assert lib.get_counter() == 41  # C sees the write
    lib.table[1] = 20
    assert list(lib.table) == [1, 20, 3]
    assert (lib.origin.x, lib.origin.y) == (7, 8)
    lib.origin.y = 9
    assert lib.origin.y == 9
    assert ffi.string(lib.name) == b"cffix"
    assert lib.fixed == 99
    with pytest.raises(AttributeError, match="const"):
        lib.fixed = 1
    p = ffi.addressof(lib, "counter")
    assert ffi.typeof(p) is ffi.typeof("int *") and p[0] == 41
    with pytest.raises(TypeError):
        lib.counter = "x"
    with pytest.raises(AttributeError):
        lib.no_such_thing
    assert {"counter", "table", "get_counter"} <= set(dir(lib))


def test_global_of_another_type_fails_the_build(tmp_path):
    ffi = FFI()
    ffi.cdef("long counter;")
    ffi.set_source("_api_bad_global", "int counter = 1;")
    with pytest.raises(cffix.VerificationError, match="building '_api_bad_global' failed"):
        ffi.compile(tmpdir=str(tmp_path))


def test_set_source_pkgconfig_builds_against_zlib(tmp_path):
    ffi = FFI()
    ffi.cdef("const char *zlibVersion(void); unsigned long crc32(unsigned long, "
             "const unsigned char *, unsigned int);")
    ffi.set_source_pkgconfig("_api_zlib", ["zlib"], "#include <zlib.h>")
    module = load("_api_zlib", ffi.compile(tmpdir=str(tmp_path)))
    assert module.ffi.string(module.lib.zlibVersion()).startswith(b"1.")
    assert module.lib.crc32(0, b"hello, world", 12) == 0xffab723a


def test_set_source_pkgconfig_bad_inputs():
    with pytest.raises(cffix.PkgConfigError, match="no_such_package_xyz"):
        FFI().set_source_pkgconfig("_api_pc", ["no_such_package_xyz"], "")
    with pytest.raises(TypeError, match="list of str"):
        FFI().set_source_pkgconfig("_api_pc", "zlib", "")
    with pytest.raises(ValueError, match="empty"):
        FFI().set_source_pkgconfig("_api_pc", [], "")
    ffi = FFI()
    with pytest.raises(cffix.PkgConfigError):
        ffi.set_source_pkgconfig("_api_pc", ["no_such_package_xyz"], "")
    ffi.set_source("_api_pc", "")  # the failed call recorded nothing


# ---------------------------------------------------------------- found by cffi's suite


def test_global_that_is_a_macro_is_read_through_it_at_each_access(tmp_path):
    # `#define my_value (*get_my_value())`: its address is asked at each access, never at
    # import (get_my_value is NULL then), as cffi does; a NULL address is ffi.error.
    mod, _ = build(tmp_path, "_api_macro_global",
                   "extern int my_value; extern int *(*get_my_value)(void);",
                   "int *(*get_my_value)(void);\n#define my_value (*get_my_value())")
    ffi, lib = mod.ffi, mod.lib
    values = ffi.new("int[3]", [10, 20, 30])
    calls = iter(range(3))

    @ffi.callback("int *(*)(void)")
    def next_value():
        return values + next(calls)

    lib.get_my_value = next_value
    assert lib.my_value == 10
    assert ffi.addressof(lib, "my_value") == values + 1
    lib.my_value = 99
    assert values[2] == 99

    @ffi.callback("int *(*)(void)")
    def null_value():
        return ffi.NULL

    lib.get_my_value = null_value
    with pytest.raises(ffi.error, match="global variable 'my_value' is at address NULL"):
        lib.my_value


def test_global_macro_compiles_as_cpp_without_running_at_load(tmp_path):
    # In C++ a static table initialised with &(*get_my_value()) would run at load time.
    mod, _ = build(tmp_path, "_api_macro_global_cpp", "extern int my_value;",
                   'extern "C" { static int* get(void) { static int v = 5; return &v; } }\n'
                   "#define my_value (*get())", source_extension=".cpp")
    assert mod.lib.my_value == 5


def test_integer_and_float_signatures_may_be_approximate(tmp_path):
    # cffi documents that `void f(int)` may declare C's `void f(long)`: the call converts.
    mod, _ = build(tmp_path, "_api_approx", "float sin(double); int twice(short);",
                   "#include <math.h>\nstatic long twice(long x) { return 2 * x; }",
                   libraries=["m"])
    assert abs(mod.lib.sin(1.0) - 0.8414709848) < 1e-6
    assert mod.lib.twice(21) == 42


def test_source_may_use_standard_types_without_including_them(tmp_path):
    mod, _ = build(tmp_path, "_api_stdtypes", "int32_t f(size_t); _Bool g(void);",
                   "static int32_t f(size_t n) { return (int32_t)n + (int32_t)sizeof(ptrdiff_t); }"
                   "\nstatic _Bool g(void) { return 1; }", source_extension=".cpp")
    assert mod.lib.f(1) == 1 + mod.ffi.sizeof("ptrdiff_t")
    assert mod.lib.g() is True


def test_lib_is_importable_as_a_submodule(tmp_path):
    import sys

    mod, _ = build(tmp_path, "_api_sublib", "int inc(int);\n#define ANSWER 42",
                   "static int inc(int x) { return x + 1; }\n#define ANSWER 42")
    assert sys.modules["_api_sublib.lib"] is mod.lib
    namespace = {}
    exec("from _api_sublib.lib import inc, ANSWER", namespace)
    assert namespace["inc"](1) == 2 and namespace["ANSWER"] == 42


def test_emit_code_to_a_file_object(tmp_path):
    import io

    ffi = FFI()
    ffi.cdef("int f(int);")
    ffi.set_source("_api_to_file", "static int f(int x) { return x; }")
    out = io.StringIO()
    ffi.emit_c_code(out)
    assert "_api_to_file" in out.getvalue() and "PyInit__api_to_file" in out.getvalue()
    abi = FFI()
    abi.cdef("int f(int);")
    abi.set_source("_abi_to_file", None)
    out = io.StringIO()
    abi.emit_python_code(out)
    assert 'ffi.cdef("int f(int);")' in out.getvalue()
    with pytest.raises(TypeError, match="file object"):
        abi.emit_python_code(42)


def test_out_of_line_abi_module_cannot_include_an_api_mode_ffi(tmp_path):
    base = FFI()
    base.cdef("struct s { int x; ...; };")
    base.set_source("_api_base_for_abi", "struct s { int y, x; };")
    ffi = FFI()
    ffi.include(base)
    ffi.set_source("_abi_including_api", None)
    with pytest.raises(cffix.VerificationError, match="API-mode module"):
        ffi.emit_python_code(str(tmp_path / "x.py"))


def test_sources_see_cffi_and_cffix_macros(tmp_path):
    # _CFFI_ as under cffi (sources test it to know they are built for a binding), and
    # _CFFIX_ to tell cffix apart; both defined before Python.h.
    source = "".join(f"#ifdef {macro}\n#define SEES{macro} 1\n#else\n#define SEES{macro} 0\n"
                     "#endif\n" for macro in ("_CFFI_", "_CFFIX_"))
    module, _ = build(tmp_path, "_api_macros", "#define SEES_CFFI_ ...\n#define SEES_CFFIX_ ...",
                      source)
    assert (module.lib.SEES_CFFI_, module.lib.SEES_CFFIX_) == (1, 1)


def test_object_files_go_where_cffi_puts_them(tmp_path, monkeypatch):
    # Next to the generated .c ('<tmpdir>/pkg/mod.o'), no 'build' folder, an absolute path
    # back; a source given as 'missing/../x.c' is normalized (as cffi does).
    (tmp_path / "extra.c").write_text("int extra_value = 42;\n")
    monkeypatch.chdir(tmp_path)
    ffi = FFI()
    ffi.cdef("extern int extra_value;")
    ffi.set_source("pkg_objs.mod", "extern int extra_value;",
                   sources=[os.path.join("missing", os.pardir, "extra.c")])
    path = ffi.compile(tmpdir="out")
    assert os.path.isabs(path) and os.path.dirname(path) == str(tmp_path / "out" / "pkg_objs")
    assert sorted(os.listdir(tmp_path / "out")) == ["extra.o", "pkg_objs"]
    assert sorted(p for p in os.listdir(tmp_path / "out" / "pkg_objs") if not p.endswith(".so")) \
        == ["mod.c", "mod.o"]
    assert load("pkg_objs.mod", path).lib.extra_value == 42
