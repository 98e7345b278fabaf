"""API mode: the lib object and its function objects, as cffi's.

lib.f is a function object (not a cdata) that converts to its C function pointer wherever
one is expected (arguments, array items, ffi.cast to a function pointer, `void *` or an
integer), with ffi.typeof(lib.f) its function type and cffi's __name__, __module__,
__doc__. The pointer is a C function of the cdef's signature calling the C function, so
C++ modules, overloaded names (<cmath>'s sin) and function-like macros have one too.
lib is module-like: __name__, __all__, __dict__, __loader__, __spec__, __class__, and
`from module.lib import name`. ffi.addressof(lib, "arr") of a global array is a pointer
to the array; of a `const` function pointer, the function pointer itself. A type string
naming a struct or union tag that no cdef declares is an ffi.error in the module's ffi, as
in cffi (cffi.FFI and cffix's FFI declare it opaque, as C does).
"""

import importlib.util
import sys
import types

import pytest

from cffix import FFI

pytestmark = pytest.mark.usefixtures("cc")

CDEF = """
    struct s { int x; };
    struct s add1(struct s); struct s add2(struct s);
    int mycall(struct s(*)(struct s)); int mycall2(void *);
    double sin(double);
    void *nothing();
    int square(int);
    extern long total, totals[2];
    static const int THE_CONSTANT;
    #define SEVEN 7
    int (*const tripler)(int);
"""
SOURCE = r"""
#include <math.h>
struct s { int x; };
static struct s add1(struct s a) { struct s r; r.x = a.x + 1; return r; }
static struct s add2(struct s a) { struct s r; r.x = a.x + 2; return r; }
static int mycall(struct s(*cb)(struct s)) { struct s a; a.x = 100; return cb(a).x; }
static int mycall2(void *cb) {
    struct s a; a.x = 200;
    return ((struct s(*)(struct s))cb)(a).x;
}
static void *nothing(void) { return 0; }
#define square(x) ((x) * (x))
long total, totals[2];
#define THE_CONSTANT (-45)
#define SEVEN 7
static int triple(int x) { return 3 * x; }
#define tripler triple
"""


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module
    return module


@pytest.fixture(scope="module", params=[".c", ".cpp"])
def mod(request, tmp_path_factory):
    ext = request.param
    name = "_api_lib_objects_" + ext[1:]
    ffi = FFI()
    ffi.cdef(CDEF)
    source = SOURCE if ext == ".c" else 'extern "C" {\n' + SOURCE + "\n}"
    ffi.set_source(name, source, source_extension=ext, libraries=["m"])
    return load(name, ffi.compile(tmpdir=str(tmp_path_factory.mktemp("lib_objects"))))


def test_function_objects_convert_to_function_pointers(mod):
    ffi, lib = mod.ffi, mod.lib
    assert not isinstance(lib.add1, ffi.CData)
    s = ffi.new("struct s *", [42])[0]
    assert lib.add1(s).x == 43
    assert lib.mycall(lib.add1) == 101 and lib.mycall(lib.add2) == 102
    assert lib.mycall2(lib.add1) == 201
    table = ffi.new("struct s(*[2])(struct s)")
    table[0] = lib.add1
    table[1] = lib.add2
    assert table[1](s).x == 44
    p = ffi.cast("void *", lib.add1)
    assert ffi.cast("struct s(*)(struct s)", p)(s).x == 43
    q = ffi.cast("intptr_t", lib.add2)
    assert ffi.cast("struct s(*)(struct s)", q)(s).x == 44
    items = ffi.new("void *[]", [lib.add1, lib.add2])
    assert ffi.cast("struct s(*)(struct s)", items[1])(s).x == 44
    assert ffi.typeof(lib.add1) is ffi.typeof("struct s(*)(struct s)")
    with pytest.raises(TypeError, match="pointer to same type"):
        lib.mycall(lib.sin)  # another function type
    with pytest.raises(TypeError):
        lib.add1(s, keyword=1)


def test_function_objects_have_cffis_names(mod):
    ffi, lib = mod.ffi, mod.lib
    name = mod.__name__
    assert ffi.typeof(lib.sin).cname == "double(*)(double)"
    assert lib.sin.__name__ == "sin" and lib.sin.__module__ == name
    assert lib.sin.__doc__ == f"double sin(double);\n\nCFFI C function from {name}.lib"
    assert ffi.typeof(lib.nothing).cname == "void *(*)()"
    assert lib.nothing.__doc__ == f"void *nothing();\n\nCFFI C function from {name}.lib"
    with pytest.raises(TypeError):
        ffi.typeof(type(lib).__dir__.__get__(lib))


def test_addressof_functions_macros_and_overloads(mod):
    """<cmath>'s sin is overloaded in C++, square is a function-like macro: both have a
    function pointer of the cdef's type."""
    ffi, lib = mod.ffi, mod.lib
    sin = ffi.addressof(lib, "sin")
    assert isinstance(sin, ffi.CData) and ffi.typeof(sin) is ffi.typeof(lib.sin)
    assert sin(0.0) == 0.0
    assert ffi.addressof(lib, "square")(9) == 81
    # a `const` function pointer is a value: its address is the function pointer
    assert lib.tripler(5) == 15
    assert ffi.addressof(lib, "tripler")(6) == 18


def test_addressof_global_array_is_a_pointer_to_it(mod):
    ffi, lib = mod.ffi, mod.lib
    lib.totals[1] = 500
    p = ffi.addressof(lib, "totals")
    assert ffi.typeof(p) is ffi.typeof("long(*)[2]")
    assert p[0] == lib.totals and p[0][1] == 500
    assert ffi.typeof(lib.totals) is ffi.typeof(p).item
    assert ffi.typeof(ffi.addressof(lib, "total")) is ffi.typeof("long *")
    with pytest.raises(AttributeError):
        ffi.addressof(lib, "SEVEN")


def test_lib_is_module_like(mod):
    lib, name = mod.lib, mod.__name__
    assert sys.modules[name + ".lib"] is lib
    assert lib.__name__ == name + ".lib"
    assert lib.__loader__ is None and lib.__spec__ is None
    assert lib.__class__ is types.ModuleType
    assert lib.__all__ == ["SEVEN", "THE_CONSTANT", "add1", "add2", "mycall", "mycall2",
                           "nothing", "sin", "square", "tripler"]
    namespace = {}
    exec(f"from {name}.lib import SEVEN, square", namespace)
    assert namespace["SEVEN"] == 7 and namespace["square"](3) == 9


def test_lib_dict_is_a_new_dict_of_every_name(mod):
    ffi, lib = mod.ffi, mod.lib
    d = lib.__dict__
    assert sorted(d) == dir(lib)
    assert d["add1"] is lib.add1 and d["SEVEN"] == 7 and d["THE_CONSTANT"] == -45
    assert ffi.typeof(d["total"]) is ffi.typeof("long *")  # not the value
    d["add1"] = "??"
    assert lib.add1 is not "??" and lib.__dict__["add1"] is lib.add1


def test_undeclared_tags_are_an_error_in_the_modules_ffi(mod):
    ffi = mod.ffi
    for text in ["struct baz *", "struct baz **", "union baz *"]:
        with pytest.raises(ffi.error, match="undefined struct/union name") as info:
            ffi.new(text)
        assert str(info.value).splitlines()[1:] == [text, text.index("baz") * " " + "^"]
    assert ffi.new("struct s *").x == 0  # declared tags work
    builder = FFI()
    assert builder.typeof("struct baz *").item.cname == "struct baz"  # opaque, as in C
