"""typeof(expression) in declarations, checked against gcc.

Each expression is declared as `typedef __typeof__(EXPR) tN;` in a cdef; a C program
then asks gcc whether the type cffix gave is the one gcc gives (`__builtin_types_
compatible_p(__typeof__(EXPR), <cffix's type>)`, which tells long from long long and
int from unsigned int) and prints gcc's sizeof and alignment of it. Expressions gcc
accepts and cffix refuses, or the other way round, are tested apart, with the message.
"""
import re
import textwrap

import pytest

import cffix
from cffix import FFI
from support import compile_module

# Valid in C and in a cdef: what the expressions name.
PRELUDE = """
struct S { int a; char c[5]; struct S *next; unsigned bf : 3; unsigned long wide : 40;
           double d; short h; union { int ui; float uf; }; unsigned long w32 : 32;
           long sw : 40; int i32b : 32; unsigned u32b : 32; };
union U { int i; double d; };
enum E { E1 = 1, E2 = 0x80000000 };
enum F { F1 = -1, F2 = 7 };
enum G { G1 = 0x100000000 };
extern struct S s; extern struct S *ps; extern union U u;
extern int arr[10]; extern int grid[3][4]; extern short sh; extern unsigned short ush;
extern char ch; extern signed char sch; extern unsigned char uch; extern _Bool flag;
extern long lg; extern unsigned long ulg; extern long long ll; extern unsigned long long ull;
extern unsigned int ui; extern float fl; extern double db; extern long double ld;
extern int32_t i32; extern uint64_t u64; extern size_t sz; extern int16_t i16;
extern void *vp; extern char *cp; extern enum E ev; extern enum F fv;
extern float _Complex fc; extern double _Complex dc;
int f(int, char *); double g(void); struct S get_s(void); struct S *get_ps(int);
extern int (*fp)(int); extern int (*fps[2])(int); extern int *(*pick)(int **, long);
static const long CL = 5;
"""

EXPRESSIONS = [
    # names
    "s", "ps", "u", "arr", "grid", "sh", "ch", "flag", "ll", "i32", "u64", "sz", "vp",
    "cp", "ev", "fc", "f", "g", "fp", "fps", "pick", "CL", "(arr)", "((s))",
    # enumerators: int when the value fits, else the enum's type
    "E1", "E2", "F1", "G1",
    # literals
    "1", "-1", "2147483647", "2147483648", "0x7fffffff", "0x80000000", "0xffffffff",
    "4294967296", "1u", "1U", "1l", "1L", "1ul", "1LU", "1ll", "1ULL", "0x8000000000000000",
    "077", "0", "'a'", "'\\n'", "1.0", "1.5f", "1.5F", "2.0L", "1e3", ".5", "0x1p3",
    '"abc"', '""', '"a" "bc"', '"\\x41\\n"',
    # unary operators
    "-sh", "+ch", "~uch", "!arr", "!db", "-fl", "-ld", "~ull", "-ui", "+flag", "-ev",
    "*ps", "*arr", "*grid", "**grid", "&s", "&arr", "&grid[1]", "&arr[2]", "&f", "*f",
    "**f", "&fp", "*fp", "&s.c", "&*ps", "&ps->next", "&u.d", "-fc", "+dc",
    # binary arithmetic: integer promotions, usual arithmetic conversions
    "sh + sh", "ch * uch", "ush - ush", "ui + 1", "ui + -1", "lg + ui", "ulg + lg",
    "ll + ulg", "ull * ll", "ll + lg", "i32 + lg", "u64 + ll", "sz - 1", "sz * ll",
    "flag + flag", "ev + 1", "fv * 2", "ch / 2", "sh % 3", "ui % lg", "fl * 2", "fl + db",
    "1.0f + 1", "db / ld", "ld + ll", "fc * fl", "fc + db", "dc * 2", "ui << 1L",
    "sh >> 2", "ull << 1", "ch & 1", "ush | ui", "lg ^ ull",
    # bit-fields: by their width (gcc); a bit-field wider than int has a type of its own
    "s.bf + 0", "s.bf * 2u", "-s.bf", "s.w32 + 0", "s.i32b + 0", "s.u32b + 0",
    "s.wide + 0UL", "s.wide * 1L", "s.sw + 1L", "s.sw + 1UL", "s.wide + ll",
    # pointer arithmetic
    "arr + 1", "1 + arr", "ps + 2", "ps - 1", "&arr[3] - arr", "ps - ps", "cp + sz",
    "grid + 1", "grid[1] + 1", "vp + 1",
    # comparisons and logical operators
    "sh < ll", "db == 1", "ps != 0", "arr == &arr[1]", "fp == 0", "1 && db", "ps || 0",
    "!ps", "ll >= ull",
    # member access, subscript, call
    "s.a", "s.c", "s.next", "s.d", "s.h", "s.ui", "s.uf", "ps->c", "ps->next->next->d",
    "u.d", "s.c[1]", "arr[1]", "1[arr]", "grid[1]", "grid[1][2]", "ps[0]", "ps[1].c",
    "fps[1]", "f(1, 0)", "g()", "get_s()", "get_s().c", "get_ps(1)->h", "fp(3)",
    "(*fp)(3)", "fps[0](1)", "(**fps)(1)", "pick(0, 1)", "*pick(0, 1)",
    "((struct S *)0)->c", "((struct S *)0)->d", "(&s)->a",
    # casts
    "(char)1", "(unsigned long)s.a", "(void *)ps", "(struct S *)vp", "(double)1",
    "(long long)sh + 1", "(int (*)(int))0", "(char *)0", "(enum E)1", "(_Bool)2",
    "(int32_t)ll", "(void)0",
    # sizeof, _Alignof
    "sizeof s", "sizeof(int)", "sizeof arr[0]", "sizeof(struct S *)", "_Alignof(double)",
    "__alignof__(s)", "sizeof(typeof(s.c))",
    # conditional, comma, parentheses
    "1 ? sh : ch", "1 ? ll : ui", "1 ? db : 1", "1 ? ps : 0", "1 ? 0 : ps",
    "1 ? vp : ps", "1 ? ps : vp", "1 ? s : s", "1 ? arr : arr", "1 ? fp : fp",
    "1 ? f : f", "1 ? (void)0 : (void)1", "1 ? ps : (void *)0", "1 ? cp : (void *)0",
    "(1, sh)", "(sh, arr)", "(0, s)", "(1, f)", "(((ll)))", "ps ? 1u : 2l",
]


def _cdef_text(exprs):
    return PRELUDE + "".join(f"typedef __typeof__({e}) t{i};\n" for i, e in enumerate(exprs))


def _cffix_facts(ffi, i):
    """(cname, is a function type itself) of t<i>."""
    pointer = ffi.typeof(f"t{i} *")
    try:
        t = ffi.typeof(f"t{i}")
    except cffix.CDefError:  # a function type: `t *` is cffi's function (pointer) type
        return pointer.cname, True
    return t.cname, False


def _c_check(ffi, exprs):
    lines = []
    for i, e in enumerate(exprs):
        cname, function = _cffix_facts(ffi, i)
        if function:  # compare pointers to it; a function has no size
            lines.append(f'printf("%d 0 0\\n", __builtin_types_compatible_p('
                         f'__typeof__({e}) *, {cname}));')
        elif cname == "void":
            lines.append(f'printf("%d 0 0\\n", __builtin_types_compatible_p('
                         f'__typeof__({e}), void));')
        else:
            lines.append(f'printf("%d %zu %zu\\n", __builtin_types_compatible_p('
                         f'__typeof__({e}), {cname}), sizeof(__typeof__({e})), '
                         f'_Alignof(__typeof__({e})));')
    body = "\n    ".join(lines)
    return ("#include <stdio.h>\n#include <stddef.h>\n#include <stdint.h>\n" + PRELUDE +
            f"\nint main(void) {{\n    {body}\n    return 0;\n}}\n")


def test_expression_types_are_gccs(compile_and_run):
    ffi = FFI()
    ffi.cdef(_cdef_text(EXPRESSIONS))
    out = compile_and_run(_c_check(ffi, EXPRESSIONS), flags=["-w"]).splitlines()
    assert len(out) == len(EXPRESSIONS)
    wrong = []
    for i, (e, line) in enumerate(zip(EXPRESSIONS, out)):
        compatible, size, align = (int(v) for v in line.split())
        cname, function = _cffix_facts(ffi, i)
        if function or cname == "void":
            ours = (1, 0, 0)
        else:
            ours = (1, ffi.sizeof(f"t{i}"), ffi.alignof(f"t{i}"))
        if (compatible, size, align) != ours:
            wrong.append((e, cname, (compatible, size, align), ours))
    assert wrong == []


def test_some_types_exactly():
    # gcc's compatibility cannot tell these apart from their neighbours; cffix's names can
    ffi = FFI()
    exprs = ["arr", "f", "&f", "fp", "*fp", "E1", "E2", "G1", "'a'", '"abc"', "ps - ps",
             "sizeof s", "i32", "i32 + 0", "sh + sh", "sz", "sz + 0", "CL", "1 ? s : s",
             "ps->c", "(1, arr)", "&arr", "g", "s.c[0]"]
    ffi.cdef(_cdef_text(exprs))
    got = [_cffix_facts(ffi, i) for i in range(len(exprs))]
    assert got == [
        ("int[10]", False), ("int(*)(int, char *)", True), ("int(*)(int, char *)", False),
        ("int(*)(int)", False), ("int(*)(int)", True), ("int", False), ("enum E", False),
        ("enum G", False), ("int", False), ("char[4]", False), ("ptrdiff_t", False),
        ("size_t", False), ("int32_t", False), ("int", False), ("int", False),
        ("size_t", False), ("unsigned long", False), ("long", False), ("struct S", False),
        ("char[5]", False), ("int *", False), ("int(*)[10]", False),
        ("double(*)()", True), ("char", False)]


def test_typeof_declares_usable_things(compile_and_run):
    # typeof in members, variables, parameters, array bounds and nested type names
    source = PRELUDE + textwrap.dedent("""
        struct T { __typeof__(s.c) name; __typeof__(ll * 2) n; __typeof__(&s) self;
                   typeof(arr[0]) vals[sizeof(typeof(s.c))]; typeof(fl + db) x; };
        typeof(*ps) one_more;
        typeof(f) *callback;
        int use(typeof(s.next) p, __typeof__(arr) a);
        typedef int use_t(typeof(s.next) p, __typeof__(arr) a);
        typedef typeof(f) *callback_t;
        typedef typeof(typeof(sh + 1) *) pint;
    """)
    ffi = FFI()
    ffi.cdef(source)
    assert ffi.typeof("pint") is ffi.typeof("int *")
    assert ffi.typeof("callback_t") is ffi.typeof("int(*)(int, char *)")
    # parameters adjust as C says: the array parameter is a pointer
    assert ffi.typeof("use_t *") is ffi.typeof("int(*)(struct S *, int *)")
    assert {"one_more", "callback", "use"} <= set(dir(ffi.dlopen(None)))
    fields = ["name", "n", "self", "vals", "x"]
    out = compile_and_run(
        "#include <stdio.h>\n#include <stddef.h>\n#include <stdint.h>\n" + source +
        "\nint main(void) { printf(\"%zu %zu" + " %zu" * len(fields) + "\\n\", "
        "sizeof(struct T), _Alignof(struct T), " +
        ", ".join(f"offsetof(struct T, {f})" for f in fields) + "); }", flags=["-w"])
    assert [int(v) for v in out.split()] == [
        ffi.sizeof("struct T"), ffi.alignof("struct T"),
        *(ffi.offsetof("struct T", f) for f in fields)]
    t = ffi.typeof("struct T")
    assert [ft.type.cname for _, ft in t.fields] == [
        "char[5]", "long long", "struct S *", "int[5]", "double"]


@pytest.mark.parametrize("source, fragment", [
    ("typeof(s.bf) x;", "typeof: applied to a bit-field"),
    ("typeof(&s.bf) x;", "cannot take the address of a bit-field"),
    ("typeof(s.wide + 0) x;", "gcc's 40-bit type of a bit-field, which C has no name for"),
    ("typeof(-s.sw) x;", "which C has no name for"),
    ("typeof(nope) x;", "unknown name 'nope'"),
    ("typedef int T2; typeof(T2 + 1) x;", "found"),
    ("typeof(s.zz) x;", "'struct S' has no member 'zz'"),
    ("typeof(ps.a) x;", "'.a' of 'struct S *', which is not a struct or union"),
    ("typeof(s->a) x;", "'->a' of 'struct S', which is not a pointer"),
    ("typeof(s + 1) x;", "invalid operands to '+': 'struct S' and 'int'"),
    ("typeof(ps + ps) x;", "invalid operands to '+'"),
    ("typeof(db % 2) x;", "invalid operands to '%'"),
    ("typeof(db << 1) x;", "invalid operands to '<<'"),
    ("typeof(~db) x;", "'~' of 'double'"),
    ("typeof(*sh) x;", "'*' of 'short', which is not a pointer"),
    ("typeof(&1) x;", "'&' of a value that is not an object"),
    ("typeof(sh(1)) x;", "calling 'short', which is not a function"),
    ("typeof(sh[1]) x;", "subscript of 'short' by 'int'"),
    ("typeof(1 ? s : 1) x;", "'?:' of 'struct S' and 'int', which have no common type"),
    ("typeof(1 ? s : u) x;", "no common type"),
    ("typeof((struct S)s) x;", "cast to 'struct S', which is not a scalar type"),
    ("typeof(ld + (_Float128)1) x;", "have no common type"),
    ("typeof(s.a = 1) x;", "assignment is not allowed"),
    ("typeof(s.a++) x;", "'++' is not allowed"),
    ("typeof(--s.a) x;", "'--' is not allowed"),
    ("typeof(({ 1; })) x;", "statement expressions are not supported in typeof"),
    ("typeof((int[2]){1, 2}) x;", "compound literals are not supported in typeof"),
    ('typeof(L"wide") x;', "wide string literals are not supported in typeof"),
    ("typeof() x;", "a type name or an expression expected in 'typeof()'"),
    ("typeof(1 x;", "expected ')' closing 'typeof('"),
    ("typeof(s.) x;", "expected a member name after '.'"),
    ("typeof(arr[1) x;", "']' closing the subscript"),
    ("#define N 3\ntypeof(N) x;", "'N' is a #define constant: its C type is not known"),
    ("typeof(struct S) x; typeof(x.q) y;", "has no member 'q'"),
    ("struct Inc; extern struct Inc inc; typeof(inc.a) x;", "which is incomplete"),
    ("typeof(" + "(" * 300 + "1" + ")" * 300 + ") x;", "nested too deeply"),
    ("typeof(" + "- " * 300 + "1) x;", "nested too deeply"),
    ("typeof(" + "typeof(" * 300 + "1" + ")" * 300 + ") x;", "nested too deeply"),
    ("typeof(" + "typeof(" * 100000 + "int" + ")" * 100000 + ") x;", "nested too deeply"),
    ("typeof(" + "(int)" * 100000 + "1) x;", "nested too deeply"),
])
def test_unsupported_or_wrong_expressions_are_clear_errors(source, fragment):
    ffi = FFI()
    ffi.cdef(PRELUDE)
    if "_Float128" in source and ffi.typeof("_Float128") is ffi.typeof("long double"):
        pytest.skip("_Float128 is long double here (AArch64): they mix")
    with pytest.raises(cffix.CDefError) as info:
        ffi.cdef(source)
    assert fragment in str(info.value) + "\n".join(getattr(info.value, "__notes__", []))
    # the notes name line and column
    assert re.search(r"line \d+, column \d+", "\n".join(info.value.__notes__))


def test_in_a_header_and_a_type_string(tmp_path, monkeypatch, compile_and_run):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    header = textwrap.dedent("""
        #include <stddef.h>
        struct node { int key; struct node *next; char tag[3]; };
        extern struct node root;
        typedef __typeof__(root.next) node_ptr;
        typedef __typeof__(((struct node *)0)->tag) tag_t;
        struct holder { __typeof__(root.key + 1L) wide; tag_t tags[2]; };
        int visit(__typeof__(&root) n);
    """)
    (tmp_path / "tree.h").write_text(header)
    ffi = FFI()
    report = ffi.cdef_header("tree.h", include_dirs=[str(tmp_path)])
    assert not [s for s in report.skipped if "tree" in str(s)], report.skipped
    assert ffi.typeof("node_ptr") is ffi.typeof("struct node *")
    assert ffi.typeof("tag_t") is ffi.typeof("char[3]")
    out = compile_and_run('#include <stdio.h>\n#include "' + str(tmp_path / "tree.h") + '"\n'
                          'int main(void) { printf("%zu %zu", sizeof(struct holder), '
                          "offsetof(struct holder, tags)); }")
    assert [int(v) for v in out.split()] == [ffi.sizeof("struct holder"),
                                             ffi.offsetof("struct holder", "tags")]
    assert "visit" in dir(ffi.dlopen(None))
    # a type string may name a declared variable too
    assert ffi.typeof("__typeof__(root.tag[0]) *") is ffi.typeof("char *")
    assert ffi.sizeof("typeof(root)") == ffi.sizeof("struct node")


def test_qualifiers_are_dropped_as_in_cffis_types():
    # cffix's types, like cffi's, carry no const/volatile: typeof(x) of `const char *x` is
    # 'char *' (gcc's is 'const char *'), of `const int` 'int'
    ffi = FFI()
    ffi.cdef("extern const char *ccp; extern const volatile int ci;"
             "typedef typeof(ccp) a; typedef typeof(ci) b; typedef typeof(*ccp) c;")
    assert [ffi.typeof(n).cname for n in "abc"] == ["char *", "int", "char"]


def test_api_mode_module_declared_with_typeof(tmp_path, cc):
    module = compile_module(
        "_typeof_api",
        "struct tx_acc { long total; short n; }; extern struct tx_acc tx_acc;"
        "typedef __typeof__(tx_acc.total) total_t;"
        "total_t tx_add(__typeof__(&tx_acc) a, __typeof__(tx_acc.n + 0) v);", """
        struct tx_acc { long total; short n; };
        struct tx_acc tx_acc;
        long tx_add(struct tx_acc *a, int v) { a->n++; return a->total += v; }
    """, tmp_path)
    lib, mffi = module.lib, module.ffi
    assert mffi.typeof("total_t") is mffi.typeof("long")
    assert lib.tx_add(mffi.addressof(lib, "tx_acc"), 5) == 5
    assert lib.tx_add(mffi.addressof(lib, "tx_acc"), 2**31 - 1) == 2**31 + 4  # a long
    assert lib.tx_acc.n == 2
