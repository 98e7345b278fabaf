"""The C type model: interning, reprs, CType attributes, type queries, redeclarations.

Where cffi's behaviour is the spec, the test compares with cffi itself (the oracle_ffi)."""

import gc
import weakref

import pytest

import cffix
from cffix import FFI

CDEF = """
    struct s { int a; union { int b; float c; }; struct { int d:3, :0, e:5; }; char f[]; };
    typedef struct { int x; } pt;
    enum e { A = -1, B = 5, C };
    typedef int (*fp)(int, ...);
    typedef int arr[3][4];
    struct fwd;
    typedef int (*fnarr[4])(void);
    enum big { BIG = 0xffffffff };
    enum neg { N = -1, M = 0x7fffffff };
    enum huge { H = 0x100000000 };
    union u { int i; double d; char c[3]; };
"""

TYPE_STRINGS = [
    "int", "int*", "int**", "int*[3]", "int(*)[5]", "int[3][4]", "int(*)(int,double)",
    "int(*)()", "int(*)(void)", "fp", "arr", "char*(*)(int(*)(int))", "struct s",
    "struct s*", "pt", "pt*", "enum e", "struct fwd*", "fnarr", "void", "void*",
    "const int*", "int*const", "unsigned", "long double", "_Bool", "bool", "wchar_t",
    "size_t", "int32_t", "FILE*", "int[]", "int*[]", "int(*[3])(int)", "char32_t",
    "long long unsigned int", "fp*", "fp[2]", "fp*[2]", "int(**)(int)", "union u",
    "unsigned short int", "signed char", "short", "char16_t", "uint_fast16_t", "ssize_t",
    "enum big", "enum neg", "enum huge", "double(*(*)(int))(float)",
]


@pytest.mark.parametrize("text", TYPE_STRINGS)
def test_repr_kind_and_size_match_cffi(ffi, oracle_ffi, text):
    mine, theirs = ffi.typeof(text), oracle_ffi.typeof(text)
    assert repr(mine) == repr(theirs)
    assert mine.kind == theirs.kind
    assert mine.cname == theirs.cname
    for query in (ffi.sizeof, ffi.alignof):
        try:
            expected = (oracle_ffi.sizeof if query == ffi.sizeof else oracle_ffi.alignof)(text)
        except Exception as exc:  # cffi refuses: so must we, with the same type
            with pytest.raises(type(exc)):
                query(text)
        else:
            assert query(text) == expected


def test_interning_makes_identity_equality(ffi):
    assert ffi.typeof("int *") is ffi.typeof("int*")
    assert ffi.typeof("int[3][4]").item is ffi.typeof("int[4]")
    assert ffi.typeof("arr") is ffi.typeof("int[3][4]")
    assert ffi.typeof("fp") is ffi.typeof("int(*)(int, ...)")
    # Primitives and derived types are shared between FFIs; structs are not.
    other = FFI()
    other.cdef("struct s { int a; };")
    assert other.typeof("unsigned long **") is ffi.typeof("unsigned long**")
    assert other.typeof("struct s") is not ffi.typeof("struct s")
    assert ffi.typeof("bool") is ffi.typeof("_Bool")


@pytest.mark.parametrize("count", [0, 1, 7, 8, 9, 22, 23, 24, 40, 100])
def test_function_types_of_any_arity_are_interned(count):
    # Short parameter lists are keyed and collected on the stack, long ones on the heap:
    # both must intern alike and give cffi's cname.
    ffi = FFI()
    params = ", ".join(("int", "double", "char *", "struct t *")[i % 4] for i in range(count))
    ffi.cdef(f"struct t; typedef long (*f_t)({params});\nlong f({params});")
    text = f"long(*)({params or 'void'})"
    t = ffi.typeof(text)
    assert t is ffi.typeof("f_t") is ffi.typeof(f"long (*)({params})")
    assert t.cname == f"long(*)({params})"
    assert len(t.args) == count and not t.ellipsis
    dots = ffi.typeof(f"long(*)({params}, ...)") if count else ffi.typeof("long(*)(...)")
    assert dots is not t and dots.ellipsis and dots.args == t.args
    # One parameter more or less, or another result: another type.
    assert ffi.typeof(f"long(*)({params}{', ' if count else ''}int)") is not t
    assert ffi.typeof(f"int(*)({params})") is not t


def test_dead_function_type_is_made_again():
    text = "short(*)(" + ", ".join(["unsigned short"] * 30) + ")"
    ref = weakref.ref(FFI().typeof(text))
    gc.collect()
    assert ref() is None
    ffi = FFI()
    t = ffi.typeof(text)
    assert t.cname == text and ffi.typeof(text) is t


def test_names_outlive_the_text_they_were_parsed_from():
    # Parse trees only view the text; whatever a scope keeps (tags declared by a type
    # string, member and parameter names) must be its own copy.
    ffi = FFI()
    for i in range(50):
        text = "".join(["struct ", "tag", str(i), " *(*)(int p", str(i), ", long)"])
        ffi.typeof(text)
        del text
        source = "".join(["struct m", str(i), " { int first_", str(i), "; char f", str(i),
                          "[3]; }; typedef struct tag", str(i), " t", str(i), ";"])
        ffi.cdef(source)
        del source
    gc.collect()
    for i in range(50):
        assert ffi.typeof(f"struct tag{i} *").cname == f"struct tag{i} *"
        assert ffi.typeof(f"t{i}") is ffi.typeof(f"struct tag{i}")
        assert [n for n, _ in ffi.typeof(f"struct m{i}").fields] == [f"first_{i}", f"f{i}"]


def test_typeof_of_ctype_returns_it(ffi):
    t = ffi.typeof("struct s *")
    assert ffi.typeof(t) is t
    assert ffi.sizeof(t) == ffi.sizeof("void *")


def test_unreferenced_types_are_collected():
    ffi = FFI()
    ref = weakref.ref(ffi.typeof("double[98765]"))
    ffi = None
    gc.collect()
    assert ref() is None


def test_struct_cycle_is_collected():
    ffi = FFI()
    ffi.cdef("struct node { struct node *next; int v; };")
    ref = weakref.ref(ffi.typeof("struct node"))
    assert ffi.typeof("struct node").fields[0][1].type.item is ref()
    ffi = None
    gc.collect()
    assert ref() is None


def test_fields_match_cffi(ffi, oracle_ffi):
    for name in ("struct s", "pt", "union u"):
        mine = ffi.typeof(name).fields
        theirs = oracle_ffi.typeof(name).fields
        assert [n for n, _ in mine] == [n for n, _ in theirs]
        for (_, a), (_, b) in zip(mine, theirs):
            assert repr(a.type) == repr(b.type)
            assert (a.offset, a.bitshift, a.bitsize, a.flags) == (
                b.offset, b.bitshift, b.bitsize, b.flags)
    assert ffi.typeof("struct fwd").fields is None


def test_attributes_by_kind(ffi):
    f = ffi.typeof("fp")
    assert f.args == (ffi.typeof("int"),)
    assert f.result is ffi.typeof("int")
    assert f.ellipsis is True
    assert isinstance(f.abi, int)
    a = ffi.typeof("arr")
    assert a.length == 3 and a.item is ffi.typeof("int[4]")
    assert ffi.typeof("int[]").length is None
    assert ffi.typeof("int *").item is ffi.typeof("int")
    e = ffi.typeof("enum e")
    assert e.elements == {-1: "A", 5: "B", 6: "C"}
    assert e.relements == {"A": -1, "B": 5, "C": 6}
    with pytest.raises(AttributeError):
        ffi.typeof("int").item
    with pytest.raises(AttributeError):
        ffi.typeof("int *").fields
    with pytest.raises(AttributeError):
        ffi.typeof("struct s").args
    assert set(dir(ffi.typeof("struct s"))) == {"kind", "cname", "fields"}
    assert "relements" in dir(e)


def test_getctype_matches_cffi(ffi, oracle_ffi):
    cases = [("int[5]", "*x"), ("int*", "x"), ("fp", "y"), ("int", ""), ("struct s", "[3]"),
             ("int*", "[2]"), ("int", "  x  "), ("fp", "*z"), ("int(*)[5]", "p")]
    for cdecl, repl in cases:
        assert ffi.getctype(cdecl, repl) == oracle_ffi.getctype(cdecl, repl), (cdecl, repl)
    assert ffi.getctype("int") == "int"
    assert ffi.getctype(ffi.typeof("int*"), replace_with="p") == "int * p"


def test_list_types_matches_cffi(ffi, oracle_ffi):
    assert ffi.list_types() == oracle_ffi.list_types()


def test_offsetof(ffi, oracle_ffi):
    assert ffi.offsetof("struct s", "b") == oracle_ffi.offsetof("struct s", "b")
    assert ffi.offsetof("arr", 1) == 16
    assert ffi.offsetof("arr", 1, 2) == 24
    ffi.cdef("struct outer { int pad; struct { short a[4]; } in; };")
    assert ffi.offsetof("struct outer", "in", "a", 3) == 4 + 6
    assert ffi.offsetof("struct outer *", "in") == 4
    with pytest.raises(KeyError):
        ffi.offsetof("struct s", "nope")
    with pytest.raises(TypeError):
        ffi.offsetof("struct s", "d")  # a bitfield
    with pytest.raises(TypeError):
        ffi.offsetof("int", "x")
    with pytest.raises(TypeError):
        ffi.offsetof("arr", "x")
    with pytest.raises(TypeError):
        ffi.offsetof("struct s")
    with pytest.raises(IndexError):
        ffi.offsetof("arr", 4)


def test_unknown_sizes(ffi):
    with pytest.raises(ValueError, match="unknown size"):
        ffi.sizeof("struct fwd")
    with pytest.raises(ValueError, match="unknown alignment"):
        ffi.alignof("struct fwd")
    with pytest.raises(ValueError):
        ffi.sizeof("void")
    with pytest.raises(ValueError):
        ffi.sizeof("int[]")
    assert ffi.alignof("int[]") == 4


def test_bad_arguments(ffi):
    with pytest.raises(TypeError, match="expected a str"):
        ffi.typeof(42)
    with pytest.raises(TypeError):
        ffi.sizeof(None)
    with pytest.raises(TypeError):
        ffi.cdef(b"int x;")
    with pytest.raises(TypeError):
        ffi.cdef("int x;", nonsense=1)
    with pytest.raises(ValueError):
        ffi.cdef("struct q { char c; int i; };", pack=3)
    with pytest.raises(TypeError):
        ffi.getctype("int", 5)
    with pytest.raises(TypeError):
        ffi.include("not an ffi")
    with pytest.raises(TypeError, match="'csource'"):
        ffi.cdef()
    with pytest.raises(TypeError, match="multiple values for argument 'csource'"):
        ffi.cdef("int x;", csource="int y;")
    with pytest.raises(TypeError, match="takes at most 2 arguments"):
        ffi.getctype("int", "x", "y")
    with pytest.raises(TypeError, match="unexpected keyword argument 'nope'"):
        ffi.getctype(cdecl="int", nope=1)
    assert ffi.getctype(cdecl="int", replace_with="x") == "int x"
    with pytest.raises(TypeError, match="missing required argument 'cdecl'"):
        ffi.new()
    with pytest.raises(TypeError, match="takes at most 2 arguments"):
        ffi.new("int *", 1, 2)


def test_bad_type_strings_raise_cdeferror(ffi):
    for bad in ["int(", "foo", "struct", "int[3", "unsigned float", "int*[3]]", "",
                "int x y", "int(int)"]:
        with pytest.raises(cffix.CDefError):
            ffi.typeof(bad)
    with pytest.raises(cffix.CDefError) as info:
        ffi.typeof("int * x y")
    # cffi's text (pycparser's, the type string being line 2 of its wrapper), then cffix's
    assert str(info.value) == 'cannot parse "int * x y"\n<cdef source string>:2:9: before: y'
    assert "line 1, column 9: int * x y" in info.value.__notes__[1]
    # A name in the declarator is ignored, as cffi does (a declaration copied from C).
    assert ffi.typeof("int * foo_t") is ffi.typeof("int *")


def test_anonymous_struct_in_a_type_string_like_cffi(ffi, cffi_oracle):
    # cffi.FFI accepts a struct body in a type string; it declares nothing in either.
    oracle = cffi_oracle.FFI()
    for f in (ffi, oracle):
        assert f.sizeof("struct{int a;}") == f.sizeof("int")
        p = f.new("int[4]", [1, 2, 3, 4])
        assert list(f.new("struct { int i[4]; } *", {"i": p}).i) == [1, 2, 3, 4]
        assert f.sizeof("union { char c; double d; } [3]") == 24
        assert f.typeof("struct{int a;}") is f.typeof("struct{int a;}")
    before = ffi.list_types()
    assert ffi.typeof("struct { struct { short x; } y; } *").item.fields[0][0] == "y"
    assert ffi.list_types() == before


@pytest.mark.parametrize("text", [
    "struct foo { int a; }", "union u { int a; } *", "enum { A, B }", "enum e { A }",
    "struct { struct inner { int x; } y; }", "struct { enum { Q } q; }",
])
def test_a_type_string_declares_no_name(ffi, text):
    before = ffi.list_types()
    with pytest.raises(cffix.CDefError, match="in a type string: declare it with cdef"):
        ffi.typeof(text)
    assert ffi.list_types() == before
    with pytest.raises(cffix.CDefError, match="in a type name"):  # a cdef's cast/sizeof
        ffi.cdef("int a[sizeof(struct { int x; })];")


def test_function_type_is_not_a_pointer(ffi):
    with pytest.raises(cffix.CDefError, match="function type"):
        ffi.typeof("int(int)")
    ffi.cdef("typedef int fn_t(int);")
    assert ffi.typeof("fn_t *") is ffi.typeof("int(*)(int)")


def test_partial_and_dots_types(ffi):
    ffi.cdef("struct p { int x; ...; }; typedef int... integ_t; typedef float... flt_t;"
             " typedef ... opq_t; enum pe { PA, PB, ... };")
    with pytest.raises(cffix.VerificationMissing):
        ffi.typeof("struct p")
    with pytest.raises(cffix.VerificationMissing):
        ffi.typeof("enum pe")
    assert ffi.typeof("struct p *").kind == "pointer"
    with pytest.raises(NotImplementedError, match="integer type 'integ_t'"):
        ffi.typeof("integ_t")
    with pytest.raises(NotImplementedError, match="float type 'flt_t'"):
        ffi.sizeof("flt_t")
    with pytest.raises(ValueError, match="unknown size"):
        ffi.sizeof("opq_t")
    assert ffi.typeof("opq_t").fields is None
    assert ffi.typeof("opq_t *").kind == "pointer"


def test_redeclarations(ffi):
    ffi.cdef("int x; int x; typedef int t; typedef int t; struct r { int a; };"
             "struct r { int a; }; typedef struct { int x; } pt;")
    with pytest.raises(cffix.FFIError, match="multiple declarations of variable x"):
        ffi.cdef("long x;")
    with pytest.raises(cffix.FFIError, match="typedef t"):
        ffi.cdef("typedef long t;")
    with pytest.raises(cffix.CDefError, match="duplicate declaration of struct r"):
        ffi.cdef("struct r { int b; };")
    assert ffi.sizeof("t") == 4
    ffi.cdef("typedef long t;", override=True)
    assert ffi.sizeof("t") == ffi.sizeof("long")  # the typeof cache follows overrides
    ffi.cdef("struct r { double b; };", override=True)
    assert ffi.sizeof("struct r") == 8


def test_forward_declared_struct_completed_later(ffi):
    ffi.cdef("struct later; typedef struct later later_t;")
    p = ffi.typeof("later_t *")
    with pytest.raises(ValueError):
        ffi.sizeof("later_t")
    ffi.cdef("struct later { long a, b; };")
    assert ffi.sizeof("later_t") == 2 * ffi.sizeof("long")
    assert ffi.typeof("later_t *") is p


def test_struct_member_declared_later_in_same_cdef():
    ffi = FFI()
    ffi.cdef("struct a { struct b x; int y; }; struct b { double d; };")
    assert ffi.sizeof("struct a") == 16
    ffi.cdef("struct c { struct never x; }; struct never;")
    with pytest.raises(cffix.CDefError, match="incomplete type"):
        ffi.sizeof("struct c")


def test_enum_sizes(ffi, oracle_ffi):
    for name in ("enum e", "enum big", "enum neg", "enum huge"):
        assert ffi.sizeof(name) == oracle_ffi.sizeof(name)


def test_packed_and_pack_options():
    ffi = FFI()
    ffi.cdef("struct p1 { char c; int i; };", packed=True)
    ffi.cdef("struct p2 { char c; double d; };", pack=2)
    ffi.cdef("struct p3 { char c; int i; };")
    assert ffi.sizeof("struct p1") == 5
    assert ffi.offsetof("struct p2", "d") == 2 and ffi.alignof("struct p2") == 2
    assert ffi.sizeof("struct p3") == 8


def test_include_shares_types():
    base = FFI()
    base.cdef("typedef struct { int x, y; } point_t;\n#define NPOINTS 4\n")
    ffi = FFI()
    ffi.include(base)
    ffi.cdef("struct poly { point_t pts[NPOINTS]; };")
    assert ffi.typeof("point_t") is base.typeof("point_t")
    assert ffi.sizeof("struct poly") == 32


def test_include_cycle_is_refused():
    # Lookups search included FFIs recursively: a cycle recursed until the C stack overflowed.
    a, b, c = FFI(), FFI(), FFI()
    a.cdef("typedef int a_t;")
    b.include(a)
    c.include(b)
    for including, included in ((a, b), (a, c)):
        with pytest.raises(ValueError, match="includes it"):
            including.include(included)
    with pytest.raises(cffix.CDefError):
        a.typeof("unknown_t")
    assert c.typeof("a_t") is a.typeof("int")
    c.include(a)  # already reachable through b: no cycle, allowed
    assert c.typeof("a_t") is a.typeof("int")


def test_ffi_backend_argument_ignored():
    assert FFI(backend=None).sizeof("int") == 4
    assert FFI(None).sizeof("char") == 1
