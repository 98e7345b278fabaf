"""API mode: the generated C compiles warning-free (-Werror, as cffi's own tests build)
for what a cdef may write that C spells differently from cffix's types (which drop
qualifiers): a function pointer global with const parameters, a parameter written as a
function with const-qualified parameters, anonymous structs that only a typedef names,
const globals through a typedef, arrays of const pointers, and integer constants declared
`static const <integer type> X;` whose value the declared type cannot hold (the value is
C's, as in cffi).
"""

import importlib.util

import pytest

from cffix import FFI

pytestmark = pytest.mark.usefixtures("cc")

WERROR = ["-Werror", "-Wall", "-Wextra", "-Wconversion", "-Wno-unused-parameter"]


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(tmp_path, name, cdef, source, ffi=None, **kwds):
    ffi = ffi or FFI()
    ffi.cdef(cdef)
    ffi.set_source(name, source, extra_compile_args=WERROR, **kwds)
    return load(name, ffi.compile(tmpdir=str(tmp_path)))


@pytest.mark.parametrize("extension", [".c", ".cpp"])
def test_function_pointer_global_with_const_parameters(tmp_path, extension):
    mod = build(tmp_path, "_werror_fnptr" + extension[1:],
                "extern int (*op)(const int a, const int *b, const int c[]);",
                "static int add(const int a, const int *b, const int c[]) "
                "{ return a + *b + c[1]; }\n"
                "int (*op)(const int a, const int *b, const int c[]) = add;",
                source_extension=extension)
    ffi, lib = mod.ffi, mod.lib
    t = ffi.typeof(lib.op)
    assert t.args == (ffi.typeof("int"), ffi.typeof("int *"), ffi.typeof("int *"))
    assert lib.op(1, ffi.new("int *", 2), ffi.new("int[]", [0, 3])) == 6


def test_parameter_written_as_a_function(tmp_path):
    mod = build(tmp_path, "_werror_qsort", """
        void qsort(void *base, size_t nel, size_t width,
                   int compar(const void *, const void *));
        extern "Python" int compare(const void *, const void *);
    """, "#include <stdlib.h>")
    ffi, lib = mod.ffi, mod.lib

    @ffi.def_extern()
    def compare(a, b):
        x, y = ffi.cast("int *", a)[0], ffi.cast("int *", b)[0]
        return (x > y) - (x < y)

    items = ffi.new("int[]", [4, -1, 7, 0])
    lib.qsort(items, 4, ffi.sizeof("int"), lib.compare)
    assert list(items) == [-1, 0, 4, 7]


@pytest.mark.parametrize("extension", [".c", ".cpp"])
def test_anonymous_structs_named_by_typedefs(tmp_path, extension):
    source = ("typedef struct { int x[2]; int y; } *mystruct_p;\n"
              "typedef struct { short a; } pair_t, *pair_p;\n"
              "static mystruct_p bump(mystruct_p p) { p->x[1] += 42; return p; }\n"
              "static pair_t twice(pair_t v, pair_p out) "
              "{ out->a = (short)(v.a * 2); return *out; }\n")
    mod = build(tmp_path, "_werror_anon" + extension[1:], """
        typedef struct { int x[2]; int y; } *mystruct_p;
        typedef struct { short a; } pair_t, *pair_p;
        mystruct_p bump(mystruct_p);
        pair_t twice(pair_t, pair_p);
    """, source, source_extension=extension)
    ffi, lib = mod.ffi, mod.lib
    p = ffi.new("mystruct_p", [[5, 10], -17])
    assert lib.bump(p) == p
    assert (p.x[1], p.y) == (52, -17)
    out = ffi.new("pair_p")
    assert lib.twice([21], out).a == 42 and out.a == 42


def test_anonymous_struct_of_an_included_ffi(tmp_path):
    parent = FFI()
    build(tmp_path, "_werror_parent", "typedef struct { int x; } *named_p;",
          "typedef struct { int x; } *named_p;", ffi=parent)
    ffi = FFI()
    ffi.include(parent)
    mod = build(tmp_path, "_werror_child", "named_p add40(named_p);",
                "typedef struct { int x; } *named_p;\n"
                "static named_p add40(named_p p) { p->x += 40; return p; }", ffi=ffi)
    p = mod.ffi.new("named_p", [2])
    assert mod.lib.add40(p) == p and p.x == 42


def test_const_global_through_a_typedef_is_a_value(tmp_path):
    mod = build(tmp_path, "_werror_const_t", "typedef const int const_t; const_t aaa;",
                "typedef const int const_t;\n#define aaa 42")
    assert mod.lib.aaa == 42
    with pytest.raises(AttributeError):
        mod.lib.aaa = 43


def test_array_of_const_pointers(tmp_path):
    mod = build(tmp_path, "_werror_strs", """
        extern const char *names[...];
        extern const char *fixed[2];
    """, 'const char *names[3] = {"a", "b", "c"};\nconst char *fixed[2] = {"x", "y"};')
    ffi, lib = mod.ffi, mod.lib
    assert repr(ffi.typeof(lib.names)) == "<ctype 'char *[3]'>"
    assert [ffi.string(s) for s in lib.names] == [b"a", b"b", b"c"]
    assert ffi.string(lib.fixed[1]) == b"y"


@pytest.mark.parametrize("literal,value", [
    ("(-9223372036854775807LL-1)", -2**63), ("-32768LL", -2**15), ("65535LL", 2**16 - 1),
    ("4294967296LL", 2**32), ("18446744073709551615ULL", 2**64 - 1)])
def test_integer_const_global_is_the_c_value(tmp_path, literal, value):
    """As in cffi: `static const unsigned short AA;` is an integer constant whose value is
    C's, whatever the declared type."""
    mod = build(tmp_path, "_werror_int_const", "static const unsigned short AA;",
                f"#define AA {literal}")
    assert mod.lib.AA == value and type(mod.lib.AA) is int
    assert "AA" in dir(mod.lib)
    with pytest.raises(AttributeError):
        mod.lib.AA = 1
