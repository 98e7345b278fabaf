"""Structs and unions behave as in cffi: initializers (lists, dicts, cdata), field access
and assignment, nested and anonymous members, bitfields, flexible array members, pointer
fields, function pointers.

The harness (tests/cdata_oracle.py): each entry is run with cffix and with cffi, and the
normalized results, or the exception types, must be equal.
"""

import pytest

import cdata_oracle
import cffix
from cdata_oracle import Corpus, assert_same_as_cffi

CDEF = cdata_oracle.CDEF  # declared by the `ffi` and `oracle_ffi` fixtures

CORPUS = Corpus()
ops = CORPUS.add


ops("structs",
    'ffi.new("struct s *", [1, 2.5])',
    'ffi.new("struct s *", [1, 2.5])[0]',
    'ffi.new("struct s *", [1, 2.5])[0].b',
    'ffi.new("struct s *", [1, 2.5]).a',
    'ffi.new("struct s *", {"a": 1, "b": 2.5}).b',
    'ffi.new("struct s *", {"b": 2.5}).a',
    'ffi.new("struct s *", {"c": 1})',
    'ffi.new("struct s *", [1, 2.5, 3])',
    'ffi.new("struct s *", [1, "x"])',
    'ffi.new("struct s *", ["x"])',
    'ffi.new("struct s *", 5)',
    'ffi.new("struct s *", "ab")',
    'ffi.new("struct s *", None)',
    'ffi.new("struct s *", [])',
    'ffi.new("struct s *", {})',
    'ffi.new("struct s *", {1: 2})',
    'ffi.new("struct point *", (1, 2)).y',
    'ffi.new("struct point *", [1])[0].y',
    'ffi.new("struct point *", {"x": 1, "y": 2.5})',
    'ffi.new("struct point *", [None])',
    'ffi.new("struct point *", [1, 2]).z',
    'p = ffi.new("struct point *"); p.z = 1',
    'p = ffi.new("struct point *"); p.x = 2**31',
    'p = ffi.new("struct point *"); p.x = -2**31; p.x',
    'p = ffi.new("struct point *"); p.x = 1.5',
    'p = ffi.new("struct point *"); p.x = "1"',
    'p = ffi.new("struct point *"); p.x = None',
    'p = ffi.new("struct point *"); p.x = ffi.cast("int", 7); p.x',
    'p = ffi.new("struct point *"); p.x = ffi.cast("char", 7)',
    'p = ffi.new("struct point *"); p.x = ffi.cast("long", 7); p.x',
    'p = ffi.new("struct point *"); del p.x',
    'p = ffi.new("struct s *"); p.b = 1; p.b',
    'p = ffi.new("struct s *"); p.b = "x"',
    'p = ffi.new("struct s *"); p.b = 2**1024',
    'p = ffi.new("struct point *", [1, 2]); p[0].y = 9; p.y',
    'p = ffi.new("struct point *", [1, 2]); s = p[0]; s.x = 3; (p.x, s.x)',
    'p = ffi.new("struct point *"); p[0] = [5, 6]; (p.x, p.y)',
    'p = ffi.new("struct point *"); p[0] = {"y": 6}; (p.x, p.y)',
    'p = ffi.new("struct point *", [1, 2]); q = ffi.new("struct point *"); q[0] = p[0]; (q.x, q.y)',
    'p = ffi.new("struct point *", [1, 2]); q = ffi.new("struct point *", p[0]); p.x = 7; q.x',
    'ffi.new("struct point *", ffi.new("struct s *")[0])',
    'ffi.new("struct point *", ffi.new("struct point *"))',
    'p = ffi.new("struct point *"); p[0] = ffi.new("struct s *")[0]',
    'p = ffi.new("struct point *"); p[0] = 5',
    'p = ffi.new("struct point *"); p[1]',
    'sorted(dir(ffi.new("struct point *")))',
    'sorted(dir(ffi.new("struct point *")[0]))',
    'sorted(dir(ffi.new("struct anon *")))',
    'sorted(dir(ffi.new("struct nested *").p))',
    'sorted(dir(ffi.new("union u *")))',
    'ffi.new("struct point *")[0] == ffi.new("struct point *")[0]',
    'p = ffi.new("struct point *"); p[0] == p[0]',
    'p = ffi.new("struct point *"); p[0] != p[0]',
    'p = ffi.new("struct point *"); p == p',
    'p = ffi.new("struct point *"); p[0] == p',
    'p = ffi.new("struct point *"); hash(p[0]) == hash(p[0])',
    'len(ffi.new("struct point *")[0])',
    'list(ffi.new("struct point *")[0])',
    'ffi.new("struct point *")[0] + 1',
    'ffi.new("struct point *")[0].x',
    'ffi.new("struct point *")[0][0]',
    'getattr(ffi.new("struct point *"), "y")',
    'hasattr(ffi.new("struct point *"), "zz")',
    'p = ffi.new("struct point *"); setattr(p, "y", 3); p.y',
    'ffi.cast("struct point", 0)',
    'ffi.cast("struct point *", ffi.new("struct s *")).x',
    'q = ffi.new("struct s *", [3]); ffi.cast("struct point *", q).x',
    'ffi.new("mixed_t *", {"c": b"q", "ll": -5}).ll',
    'ffi.new("mixed_t *", {"c": 1})',
    'ffi.new("mixed_t *", {"sh": 2**15})',
    'ffi.new("mixed_t *", {"sh": -2**15}).sh',
    )


ops("nested",
    'n = ffi.new("struct nested *", {"p": {"x": 1, "y": 2}, "arr": [1, 2, 3], "name": b"abc"}); (n.p.y, n.arr[2], ffi.string(n.name))',
    'ffi.new("struct nested *", [[1, 2], [4, 5, 6], b"xy"]).p.x',
    'ffi.new("struct nested *", [[1, 2], [1, 2, 3, 4]])',
    'ffi.new("struct nested *", {"name": b"123456789"})',
    'ffi.string(ffi.new("struct nested *", {"name": b"12345678"}).name)',
    'ffi.new("struct nested *", {"name": "abc"})',
    'ffi.new("struct nested *", {"p": ffi.new("struct point *", [1, 2])[0]}).p.y',
    'ffi.new("struct nested *", {"p": ffi.new("struct point *", [1, 2])})',
    'ffi.new("struct nested *", {"p": 5})',
    'ffi.new("struct nested *", {"arr": 5})',
    'ffi.new("struct nested *").p',
    'ffi.new("struct nested *").arr',
    'ffi.new("struct nested *").name',
    'ffi.new("struct nested *")[0].p',
    'len(ffi.new("struct nested *").arr)',
    'n = ffi.new("struct nested *"); n.p.x = 4; n.p.x',
    'n = ffi.new("struct nested *"); n.p = [5, 6]; (n.p.x, n.p.y)',
    'n = ffi.new("struct nested *"); n.p = {"y": 6}; n.p.y',
    'n = ffi.new("struct nested *"); n.p = ffi.new("struct point *", [7, 8])[0]; n.p.y',
    'n = ffi.new("struct nested *"); n.p = ffi.new("struct point *", [7, 8])',
    'n = ffi.new("struct nested *"); n.p = 5',
    'n = ffi.new("struct nested *"); n.arr = [4, 5, 6]; list(n.arr)',
    'n = ffi.new("struct nested *"); n.arr = [4, 5]; list(n.arr)',
    'n = ffi.new("struct nested *"); n.arr = [4, 5, 6, 7]',
    'n = ffi.new("struct nested *"); n.arr = ffi.new("int[3]", [1, 2, 3]); list(n.arr)',
    'n = ffi.new("struct nested *"); n.arr = 5',
    'n = ffi.new("struct nested *"); n.arr[3]',
    'n = ffi.new("struct nested *"); n.name = b"toolongname"',
    'n = ffi.new("struct nested *"); n.name = b"12345678"; ffi.string(n.name)',
    'n = ffi.new("struct nested *"); n.name = b"ab"; ffi.string(n.name)',
    'n = ffi.new("struct nested *", {"name": b"abcdef"}); n.name = b"xy"; ffi.unpack(n.name, 8)',
    'n = ffi.new("struct nested *"); n.name = "ab"',
    'n = ffi.new("struct nested *"); n.name[7] = b"z"; n.name[7]',
    'n = ffi.new("struct nested *"); addr(n.arr) - addr(n)',
    'n = ffi.new("struct nested *"); addr(ffi.addressof(n.p, "y")) - addr(n)',
    'n = ffi.new("struct nested *"); n.p == n.p',
    'n = ffi.new("struct nested *"); ffi.addressof(n.p) == ffi.addressof(n.p)',
    'n = ffi.new("struct nested *"); ffi.addressof(n.p) == n',
    'n = ffi.new("struct nested *"); ffi.typeof(n.name)',
    )


ops("bitfields",
    'b = ffi.new("struct bits *", [7, -8, 1, -1]); (b.u, b.s, b.c, b.z)',
    'b = ffi.new("struct bits *", [0, 0, 0, 1]); b.z',
    'ffi.new("struct bits *", [8])',
    'ffi.new("struct bits *", [-1])',
    'ffi.new("struct bits *", [0, 8])',
    'ffi.new("struct bits *", [0, -9])',
    'ffi.new("struct bits *", [0, 0, 2])',
    'ffi.new("struct bits *", [0, 0, 0, -2])',
    'ffi.new("struct bits *", [0, 0, 0, 2])',
    'ffi.new("struct bits *", {"s": 7, "u": 5}).s',
    'ffi.new("struct bits *", [1.5])',
    'b = ffi.new("struct bits *"); b.u = 7; b.u',
    'b = ffi.new("struct bits *"); b.u = 8',
    'b = ffi.new("struct bits *"); b.u = -1',
    'b = ffi.new("struct bits *"); b.s = 7; b.s',
    'b = ffi.new("struct bits *"); b.s = -8; b.s',
    'b = ffi.new("struct bits *"); b.s = 8',
    'b = ffi.new("struct bits *"); b.s = -9',
    'b = ffi.new("struct bits *"); b.c = 1; b.c',
    'b = ffi.new("struct bits *"); b.c = 2',
    'b = ffi.new("struct bits *"); b.z = -1; b.z',
    'b = ffi.new("struct bits *"); b.z = 1; b.z',
    'b = ffi.new("struct bits *"); b.z = 2',
    'b = ffi.new("struct bits *"); b.u = "x"',
    'b = ffi.new("struct bits *"); b.u = 1.0',
    'b = ffi.new("struct bits *"); b.u = 2**70',
    'b = ffi.new("struct bits *"); b.u = 5; b.s = -3; b.c = 1; b.z = -1; bytes(ffi.buffer(b))',
    'b = ffi.new("struct bits *", [5, -3, 1, -1]); b.s = 2; (b.u, b.s, b.c, b.z)',
    'b = ffi.new("struct bits *", [5, -3, 1, -1]); b.u = 0; (b.u, b.s, b.c, b.z)',
    'b = ffi.new("struct bits *"); b.u = 9',
    'b = ffi.new("struct bits *"); catch(lambda: setattr(b, "u", 9)), b.u',
    'b = ffi.new("struct bits *"); ffi.buffer(b)[0:4] = b"\\xff\\xff\\xff\\xff"; (b.u, b.s, b.c, b.z)',
    'ffi.addressof(ffi.new("struct bits *")[0], "u")',
    'ffi.sizeof(ffi.new("struct bits *")[0])',
    )


ops("unions",
    'ffi.new("union u *")',
    'ffi.new("union u *", [0x41424344]).bytes[0]',
    'ffi.new("union u *", [1, 2])',
    'ffi.new("union u *", {"f": 1.5}).f',
    'ffi.new("union u *", {"f": 1.0}).i',
    'ffi.new("union u *", {"i": 1, "f": 2.0}).i',
    'ffi.new("union u *", {"bytes": b"\\x01\\x02\\x03\\x04"}).i',
    'ffi.new("union u *", {"bytes": [1, 2, 3, 4, 5]})',
    'ffi.new("union u *", 5)',
    'u = ffi.new("union u *"); u.f = 1.0; u.i',
    'u = ffi.new("union u *"); u.i = 0x3f800000; u.f',
    'u = ffi.new("union u *"); u.bytes[3] = 0x40; u.i',
    'u = ffi.new("union u *"); u.i = 2**31',
    'u = ffi.new("union u *"); u[0] = [7]; u.i',
    'u = ffi.new("union u *"); u[0]',
    'ffi.sizeof(ffi.new("union u *")[0])',
    'a = ffi.new("struct anon *", {"ui": 5, "sb": 3}); (a.k, a.ui, a.sa, a.sb)',
    'a = ffi.new("struct anon *", [1, {"ui": 2}, [3, 4]]); (a.k, a.ui, a.sa, a.sb)',
    'a = ffi.new("struct anon *", [1, 2, 3])',
    'a = ffi.new("struct anon *"); a.uf = 1.0; a.ui',
    'a = ffi.new("struct anon *"); a.sb = 2**15',
    'a = ffi.new("struct anon *"); a.sb = -7; a.sb',
    'a = ffi.new("struct anon *"); addr(ffi.addressof(a[0], "sb")) - addr(a)',
    )


ops("flexible arrays",
    'ffi.new("struct flex *", [3, [1, 2, 3]])',
    'ffi.new("struct flex *", [3, [1, 2, 3]]).data',
    'len(ffi.new("struct flex *", [3, [1, 2, 3]]).data)',
    'ffi.new("struct flex *", [3, [1, 2, 3]]).data[2]',
    'ffi.new("struct flex *", [3, [1, 2, 3]]).data[3]',
    'ffi.new("struct flex *", {"data": [4, 5]}).data[1]',
    'ffi.new("struct flex *", 3)',
    'ffi.new("struct flex *")',
    'ffi.new("struct flex *").data',
    'ffi.new("struct flex[]", 2)',
    'p = ffi.new("struct flex *", [2, [1, 2]]); p.data = [7, 8]; list(p.data)',
    'p = ffi.new("struct flex *", [2, [1, 2]]); p.data[1] = 5; p.data[1]',
    )


ops("struct pointers",
    'w = ffi.new("struct with_ptr *"); w.p',
    'w = ffi.new("struct with_ptr *"); w.p = ffi.NULL; w.p',
    'w = ffi.new("struct with_ptr *"); w.p = None',
    'w = ffi.new("struct with_ptr *"); w.p = 0',
    'w = ffi.new("struct with_ptr *"); w.s = b"abc"',
    'w = ffi.new("struct with_ptr *"); w.s = ffi.new("char[]", b"abc")',
    'w = ffi.new("struct with_ptr *"); a = ffi.new("int[3]", [1, 2, 3]); w.p = a; w.p[2]',
    'w = ffi.new("struct with_ptr *"); a = ffi.new("int[3]"); w.p = a; w.p == a',
    'w = ffi.new("struct with_ptr *"); w.p = ffi.new("long *")',
    'w = ffi.new("struct with_ptr *"); w.p = ffi.new("unsigned int *")',
    'w = ffi.new("struct with_ptr *"); w.v = ffi.new("long *"); w.v == ffi.NULL',
    'w = ffi.new("struct with_ptr *"); w.v = 5',
    'w = ffi.new("struct with_ptr *"); w.next = w; w.next.next.next == w',
    'w = ffi.new("struct with_ptr *"); w.next = w[0]',
    'w = ffi.new("struct with_ptr *"); w.next = ffi.new("struct point *")',
    'w = ffi.new("struct with_ptr *"); w.p = ffi.cast("int *", 4096); addr(w.p)',
    'w = ffi.new("struct with_ptr *", [ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL]); w.next',
    'w = ffi.new("struct with_ptr *", {"v": ffi.cast("void *", 16)}); addr(w.v)',
    'w = ffi.new("struct with_ptr *"); ffi.typeof(w.next)',
    'w = ffi.new("struct with_fn *"); w.cb',
    'w = ffi.new("struct with_fn *"); w.cb = ffi.cast("int(*)(int)", 64); addr(w.cb)',
    'w = ffi.new("struct with_fn *"); w.cb = ffi.cast("int(*)(long)", 64)',
    'w = ffi.new("struct with_fn *"); w.cb = ffi.cast("void *", 64)',
    'w = ffi.new("struct with_fn *"); w.cb = 64',
    'w = ffi.new("struct with_fn *"); w.cb = None',
    )


ops("function pointers",
    'ffi.cast("cmp_fn", 0)',
    'ffi.cast("int(*)(int)", 1234)',
    'addr(ffi.cast("int(*)(int)", 1234))',
    'ffi.cast("int(*)(int)", 8) == ffi.cast("int(*)(int)", 8)',
    'ffi.cast("int(*)(int)", 8) != ffi.cast("int(*)(int)", 9)',
    'ffi.cast("int(*)(int)", 8) == ffi.cast("void *", 8)',
    'ffi.cast("int(*)(int)", 8) < ffi.cast("int(*)(int)", 9)',
    'hash(ffi.cast("int(*)(int)", 8)) == hash(ffi.cast("int(*)(int)", 8))',
    'bool(ffi.cast("cmp_fn", 1))',
    'ffi.cast("int(*)(int)", 8) + 1',
    'ffi.cast("int(*)(int)", 8)[0]',
    'ffi.cast("int(*)(int)", 8).x',
    'len(ffi.cast("int(*)(int)", 8))',
    'ffi.cast("void *", ffi.cast("cmp_fn", 64))',
    'ffi.cast("int(*)(int)", ffi.cast("cmp_fn", 64))',
    'ffi.cast("int(*)(int)", None)',
    'ffi.cast("int(*)(int)", 1.5)',
    'ffi.new("cmp_fn *")[0]',
    'ffi.new("cmp_fn *", ffi.cast("cmp_fn", 5))[0] == ffi.cast("cmp_fn", 5)',
    'ffi.new("cmp_fn *", ffi.cast("void *", 5))',
    'ffi.new("cmp_fn *", 5)',
    'ffi.new("int(*)(int)")',
    'ffi.typeof(ffi.cast("int(*)(int, ...)", 0))',
    'ffi.cast("int(*)(int, ...)", 16)',
    )


@CORPUS.parametrize
def test_same_as_cffi(src, ffi, oracle_ffi):
    assert_same_as_cffi(ffi, oracle_ffi, src)


ANONYMOUS_MEMBERS = """
    union foo_u { struct { int a, b; }; union { int c, d; }; };
    union bar_u { int x; struct { int a, b; }; };
    struct s { int x; union { int c, d; }; struct { int e, f; }; };
    struct t { union { struct { short a, b; }; int c; }; int z; };
"""

ANONYMOUS_INITIALIZERS = [
    ("union foo_u", [5]), ("union foo_u", [123, 456]), ("union foo_u", [0, 0, 0]),
    ("union foo_u", {"d": 14}), ("union foo_u", {"a": -63, "b": 12}),
    ("union foo_u", {"b": 12, "c": 3}), ("union bar_u", [7]), ("union bar_u", [7, 8]),
    ("struct s", [1, 2, 3, 4]), ("struct s", [1, 2, 3, 4, 5]), ("struct s", {"d": 1, "f": 3}),
    ("struct t", [1, 2, 3]), ("struct t", [1, 2, 3, 4]), ("struct t", {"c": 9, "z": 1}),
]


@pytest.mark.parametrize("ctype, init", ANONYMOUS_INITIALIZERS)
def test_union_initializers_set_the_first_member_like_cffi(cffi_oracle, ctype, init):
    # A list initializer of a union sets its first member: every field of it when it is an
    # anonymous struct ('union foo_u *', [123, 456] sets a and b).
    results = []
    for module in (cffix, cffi_oracle):
        ffi = module.FFI()
        ffi.cdef(ANONYMOUS_MEMBERS)
        names = [name for name, _ in ffi.typeof(ctype).fields]
        try:
            p = ffi.new(ctype + " *", init)
        except Exception as exc:  # noqa: BLE001 - the type must be the same
            results.append(type(exc))
            continue
        results.append([(name, getattr(p, name)) for name in names])
    assert results[0] == results[1]


def test_field_flags_like_cffi(cffi_oracle):
    for ctype in ("union foo_u", "union bar_u", "struct s", "struct t"):
        ours, theirs = cffix.FFI(), cffi_oracle.FFI()
        ours.cdef(ANONYMOUS_MEMBERS)
        theirs.cdef(ANONYMOUS_MEMBERS)
        assert ([(n, f.offset, f.flags) for n, f in ours.typeof(ctype).fields] ==
                [(n, f.offset, f.flags) for n, f in theirs.typeof(ctype).fields]), ctype


NESTED_FLEXIBLE = """
    struct foo_s { int len[100]; short data[]; };
    struct bar_s { int abc[100]; struct foo_s tail; };
    struct baz_s { char c; struct bar_s b; };
    struct n_s { int n; short d[]; };
    struct w_s { long x; struct n_s t; };
    struct mid_s { struct n_s t; int after; };
"""


@pytest.mark.parametrize("ctype, init, path, index", [
    ("struct bar_s", [[10], [[20], [3, 4, 5, 6, 7, 8, 9] * 101]], "tail", 706),
    ("struct bar_s", {"tail": {"data": [1, 2, 3]}}, "tail", 2),
    ("struct bar_s", [[10], [[20], 3]], "tail", 2),
    ("struct baz_s", [b"x", [[1], [[2], [1, 2, 3]]]], "b.tail", 2),
    ("struct w_s", [1, [2, [7, 8, 9]]], "t", 2),
    ("struct w_s", {"t": {"n": 2, "d": (7, 8, 9, 10)}}, "t", 3),
])
def test_struct_ending_in_a_struct_with_a_flexible_array_like_cffi(cffi_oracle, ctype, init,
                                                                   path, index):
    # ffi.new() sizes the memory by the items given to the flexible array member of the
    # struct that ends the struct (a GNU extension cffi accepts).
    results = []
    for module in (cffix, cffi_oracle):
        ffi = module.FFI()
        ffi.cdef(NESTED_FLEXIBLE)
        p = ffi.new(ctype + " *", init)
        tail = p
        for name in path.split("."):
            tail = getattr(tail, name)
        items = tail.data if hasattr(tail, "data") else tail.d
        results.append((ffi.sizeof(p[0]), len(ffi.buffer(p)), items[0], items[index]))
    assert results[0] == results[1]


def test_struct_ending_in_a_struct_with_a_flexible_array_is_bounded():
    ffi = cffix.FFI()
    ffi.cdef(NESTED_FLEXIBLE)
    p = ffi.new("struct w_s *", [1, [2, [7, 8, 9]]])
    assert list(p.t.d) == [7, 8, 9]
    with pytest.raises(IndexError):
        p.t.d[3]
    assert len(ffi.new("struct w_s *").t.d) == 2  # the tail padding of struct w_s
    assert len(ffi.new("struct bar_s *").tail.data) == 0
    with pytest.raises(TypeError):
        ffi.new("struct w_s *", [1, [2, "ab"]])
    with pytest.raises(ValueError, match="negative array length"):
        ffi.new("struct w_s *", [1, [2, -1]])
    with pytest.raises(OverflowError):
        ffi.new("struct w_s *", [1, [2, 2**62]])
    # Not the last member: no room is made, and the items are refused (cffi writes them
    # over the next member).
    with pytest.raises(IndexError):
        ffi.new("struct mid_s *", [[1, [1, 2, 3]], 5])
