"""API mode: array lengths the C compiler gives, at any nesting level.

`int a[...]`, `int a[...][...]`, `int a[][...]`, `int a[10][...]` as globals, struct
members and typedefs: the cdef leaves each `[...]` length to the compiler, the module
asks it (sizeof of each array level) and the core builds the real array types at
import. Before compilation (ABI mode, type strings) such a type is refused by name.
"""

import importlib.util

import pytest

import cffix
from cffix import FFI

pytestmark = pytest.mark.usefixtures("cc")

CDEF = """
extern int g2[...][...];
extern int g_open[][...];
extern int g_fixed[10][...];
extern short g3[...][2][...];
struct nested { int a[...][...]; ...; };
struct open_tail { int n; int a[][...]; ...; };
typedef int vec_t[...];
typedef int mat_t[...][...];
typedef int vmat_t[][...];
int get2(int, int);
"""

SOURCE = """
int g2[10][8];
int g_open[4][6];
int g_fixed[10][5];
short g3[3][2][7];
struct nested { int x; int a[5][8]; int y; };
struct open_tail { int n; int a[][7]; };
typedef int vec_t[50];
typedef int mat_t[6][7];
typedef int vmat_t[][8];
int get2(int i, int j) { return g2[i][j]; }
"""


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", params=[".c", ".cpp"])
def mod(request, tmp_path_factory):
    ext = request.param
    name = "_api_dots_arrays" + ("_cxx" if ext == ".cpp" else "")
    ffi = FFI()
    ffi.cdef(CDEF)
    ffi.set_source(name, SOURCE, source_extension=ext)
    return load(name, ffi.compile(tmpdir=str(tmp_path_factory.mktemp("dots" + ext[1:]))))


def test_global_of_nested_dots_lengths(mod):
    ffi, lib = mod.ffi, mod.lib
    assert ffi.typeof(lib.g2) is ffi.typeof("int[10][8]")
    lib.g2[9][7] = 123456
    assert lib.get2(9, 7) == 123456
    with pytest.raises(IndexError):
        lib.g2[0][8]
    with pytest.raises(IndexError):
        lib.g2[10][0]
    assert ffi.typeof(lib.g3) is ffi.typeof("short[3][2][7]")


def test_global_of_unknown_outer_length_is_a_pointer(mod):
    ffi, lib = mod.ffi, mod.lib
    assert ffi.typeof(lib.g_open) is ffi.typeof("int(*)[6]")
    lib.g_open[3][5] = -7
    assert lib.g_open[3][5] == -7
    with pytest.raises(IndexError):
        lib.g_open[0][6]


def test_global_of_fixed_outer_and_dots_inner_length(mod):
    ffi, lib = mod.ffi, mod.lib
    assert ffi.typeof(lib.g_fixed) is ffi.typeof("int[10][5]")


def test_struct_member_of_nested_dots_lengths(mod):
    ffi = mod.ffi
    assert ffi.sizeof("struct nested") == 42 * ffi.sizeof("int")
    assert ffi.offsetof("struct nested", "a") == ffi.sizeof("int")
    s = ffi.new("struct nested *")
    assert ffi.typeof(s.a) is ffi.typeof("int[5][8]")
    s.a[4][7] = 5
    assert s.a[4][7] == 5
    with pytest.raises(IndexError):
        s.a[5][0]
    with pytest.raises(IndexError):
        s.a[4][8]


def test_struct_flexible_member_of_dots_item_length(mod):
    ffi = mod.ffi
    s = ffi.new("struct open_tail *", {"a": [[1] * 7, [2] * 7]})
    assert ffi.typeof(s.a) is ffi.typeof("int[][7]")
    assert s.a[1][6] == 2
    with pytest.raises(IndexError):
        s.a[0][7]


def test_typedefs_of_dots_lengths(mod):
    ffi = mod.ffi
    assert ffi.typeof("vec_t") is ffi.typeof("int[50]")
    assert ffi.typeof("mat_t") is ffi.typeof("int[6][7]")
    assert len(ffi.new("mat_t")[5]) == 7
    assert ffi.typeof("vmat_t") is ffi.typeof("int[][8]")
    assert ffi.sizeof(ffi.new("vmat_t", 4)[3]) == 8 * ffi.sizeof("int")


def test_before_compilation_the_types_are_refused_by_name():
    ffi = FFI()
    ffi.cdef("typedef int mat_t[...][...]; struct s { int a[...][...]; };")
    with pytest.raises(cffix.CDefError, match="'mat_t' is an array whose length '...'"):
        ffi.typeof("mat_t")
    with pytest.raises(cffix.CDefError, match="'mat_t'"):
        ffi.typeof("mat_t *")
    with pytest.raises(cffix.CDefError, match="an array of arrays of length '...'"):
        ffi.typeof("int[...][...]")
    with pytest.raises(cffix.VerificationMissing):
        ffi.sizeof("struct s")
    # an array of arrays of unknown length is still no C type
    with pytest.raises(cffix.CDefError, match="known size"):
        ffi.typeof("int[][]")


def test_a_length_the_c_source_does_not_have_fails_the_build(tmp_path):
    ffi = FFI()
    ffi.cdef("extern int g[...][...];")
    ffi.set_source("_api_dots_arrays_flat", "int g[12];")
    with pytest.raises(cffix.VerificationError):
        ffi.compile(tmpdir=str(tmp_path))


def test_typedefs_of_dots_lengths_held_in_structs_and_passed(cc, tmp_path):
    """A `typedef int t[...];` member makes its struct one the compiler lays out; a
    parameter of it is a pointer to its items, as C adjusts it."""
    ffi = FFI()
    ffi.cdef("""
        typedef int foo_t[...];
        typedef int mat_t[...][...];
        struct s { foo_t a; foo_t *b; int tail; };
        struct sm { mat_t a; mat_t *b; };
        int last_item(foo_t a);
    """)
    ffi.set_source("_api_dots_typedef_usage", """
        typedef int foo_t[50];
        typedef int mat_t[6][7];
        struct s { foo_t a; foo_t *b; int tail; };
        struct sm { mat_t a; mat_t *b; };
        static int last_item(foo_t a) { return a[49]; }
    """)
    mod = load("_api_dots_typedef_usage", ffi.compile(tmpdir=str(tmp_path)))
    ffi, lib = mod.ffi, mod.lib
    assert ffi.typeof(ffi.new("struct s *").a) is ffi.typeof("int[50]")
    assert ffi.offsetof("struct s", "tail") == ffi.offsetof("struct s", "b") + ffi.sizeof("void *")
    p = ffi.new("struct s *")
    p.a[49] = 321
    p.b = ffi.addressof(p, "a")
    assert p.b[0][49] == 321
    assert lib.last_item(p.a) == 321
    m = ffi.new("struct sm *")
    assert ffi.typeof(m.a) is ffi.typeof("int[6][7]")
    m.a[5][6] = -321
    m.b = ffi.addressof(m, "a")
    assert m.b[0][5][6] == -321


@pytest.mark.parametrize("extension", [".c", ".cpp"])
def test_functions_take_typedefs_of_dots_lengths_by_value_and_by_pointer(tmp_path, extension):
    # `mat_t a` is a pointer to mat_t's item (C adjusts it), `mat_t *b` a pointer to the
    # whole array: the generated C names them through the typedef, the core takes the
    # types of the parameters as the compiler's lengths made them.
    ffi = FFI()
    ffi.cdef("""
        typedef int vec_t[...];
        typedef int mat_t[...][...];
        int sum_vec(vec_t a, vec_t *b, vec_t **c);
        int corner(mat_t a, mat_t *b, mat_t **c);
    """)
    name = "_api_dots_typedef_params" + extension.replace(".", "_")
    ffi.set_source(name, """
        typedef int vec_t[50];
        typedef int mat_t[6][7];
        static int sum_vec(vec_t a, vec_t *b, vec_t **c) {
            return (a ? a[49] : 0) + (b ? (*b)[48] : 0) + (c ? (**c)[47] : 0);
        }
        static int corner(mat_t a, mat_t *b, mat_t **c) {
            return (a ? a[5][6] : 0) + (b ? (*b)[4][5] : 0) + (c ? (**c)[3][4] : 0);
        }
    """, source_extension=extension)
    module = load(name, ffi.compile(tmpdir=str(tmp_path)))
    ffi, lib = module.ffi, module.lib
    ftype = ffi.typeof(lib.corner)
    assert [a.cname for a in ftype.args] == ["int(*)[7]", "int(*)[6][7]", "int(* *)[6][7]"]
    v = ffi.new("vec_t *")
    v[0][49], v[0][48], v[0][47] = 1, 20, 300
    pv = ffi.new("vec_t **", v)
    assert lib.sum_vec(v[0], v, pv) == 321
    assert lib.sum_vec(ffi.NULL, ffi.NULL, pv) == 300
    m = ffi.new("mat_t *")
    m[0][5][6], m[0][4][5], m[0][3][4] = 1, 20, 300
    pm = ffi.new("mat_t **", m)
    assert lib.corner(m[0], m, pm) == 321
    with pytest.raises(TypeError):  # the lengths are checked: an int[6][8] is no mat_t
        lib.corner(ffi.NULL, ffi.new("int[6][8]"), ffi.NULL)
