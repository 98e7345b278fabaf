"""_Float128 where no standard floating type has its format (x86-64: long double is x87
extended). It is a primitive of its own with the compiler's size and alignment (16, 16):
a struct field, an array item, a pointer target, in ffi.new / sizeof / alignof / offsetof /
buffer. Read as a value it gives a cdata '_Float128' (as cffi does for long double: a
Python float would lose precision); float() and int() of it convert, and Python floats
convert to it exactly (ints through a double, as for long double). ABI mode refuses to
pass one by value (it travels in an SSE register, which libffi cannot describe), in calls
and in callbacks; API mode passes it through the generated C. Where long double is
binary128 (AArch64), _Float128 is long double (tests/test_cdef_declarations.py)."""
import pytest

import cffix
from cffix import FFI
from support import compile_module

LAYOUT_CDEF = """
struct q1 { char c; _Float128 q; int i; };
struct q2 { _Float128 a[3]; short s; };
struct q3 { int i; struct q1 inner; char tail; };
union q4 { _Float128 q; char bytes[20]; };
struct q5 { char c; __float128 g; };
typedef _Float128 quad_t2[2];
struct q6 { char c; quad_t2 pair; _Float128 *p; };
"""
LAYOUT_FACTS = [("struct q1", ["c", "q", "i"]), ("struct q2", ["a", "s"]),
                ("struct q3", ["i", "inner", "tail"]), ("union q4", ["q", "bytes"]),
                ("struct q5", ["c", "g"]), ("struct q6", ["c", "pair", "p"])]


@pytest.fixture(scope="module")
def distinct(cc, tmp_path_factory):
    """Whether _Float128 is a type of its own here (long double is not binary128)."""
    import subprocess
    d = tmp_path_factory.mktemp("ldbl")
    (d / "m.c").write_text('#include <float.h>\n#include <stdio.h>\n'
                           'int main(void) { printf("%d", LDBL_MANT_DIG); }')
    subprocess.run([cc, "-o", str(d / "m"), str(d / "m.c")], check=True)
    mant = int(subprocess.run([str(d / "m")], capture_output=True, text=True).stdout)
    if mant == 113:
        pytest.skip("long double is binary128 here: _Float128 is long double")
    return True


def c_layout_program(cdef, facts):
    lines = []
    for name, fields in facts:
        lines.append(f'printf("%zu %zu\\n", sizeof({name}), _Alignof({name}));')
        for f in fields:
            lines.append(f'printf("%zu\\n", offsetof({name}, {f}));')
    body = "\n    ".join(lines)
    return ("#include <stdio.h>\n#include <stddef.h>\n" + cdef +
            f"\nint main(void) {{\n    printf(\"%zu %zu\\n\", sizeof(_Float128), "
            f"_Alignof(_Float128));\n    {body}\n}}\n")


def cffix_layout(ffi, facts):
    out = [ffi.sizeof("_Float128"), ffi.alignof("_Float128")]
    for name, fields in facts:
        out += [ffi.sizeof(name), ffi.alignof(name)]
        out += [ffi.offsetof(name, f) for f in fields]
    return out


def test_layout_is_the_compilers(distinct, compile_and_run):
    ffi = FFI()
    ffi.cdef(LAYOUT_CDEF)
    compiled = [int(v) for v in compile_and_run(c_layout_program(LAYOUT_CDEF,
                                                                  LAYOUT_FACTS)).split()]
    assert cffix_layout(ffi, LAYOUT_FACTS) == compiled
    assert compiled[:2] == [16, 16]
    assert ffi.typeof("_Float128").kind == "primitive"
    assert ffi.typeof("__float128") is ffi.typeof("_Float128")  # gcc's name for it
    assert ffi.typeof("_Float128") is not ffi.typeof("long double")
    assert FFI().sizeof("_Float128[4]") == 64  # a type string needs no cdef


def test_values_convert_exactly_and_match_the_c_bits(distinct, compile_and_run):
    ffi = FFI()
    ffi.cdef("struct q1 { char c; _Float128 q; int i; };")
    c_bits = compile_and_run(
        "#include <stdio.h>\n#include <string.h>\n"
        "int main(void) { _Float128 v[3] = {1.5, 0.1, -2}; unsigned char b[48];\n"
        "  memcpy(b, v, 48); for (int i = 0; i < 48; i++) printf(\"%02x\", b[i]); }")
    a = ffi.new("_Float128[3]", [1.5, 0.1, -2])
    assert bytes(ffi.buffer(a)).hex() == c_bits
    assert [float(x) for x in a] == [1.5, 0.1, -2.0]
    item = a[1]
    assert repr(item) == "<cdata '_Float128' 1.000000E-01>"
    assert ffi.typeof(item) is ffi.typeof("_Float128")
    assert int(a[2]) == -2 and bool(a[2]) and not bool(ffi.new("_Float128 *")[0])
    a[0] = a[2]  # a cdata '_Float128' copies its 16 bytes
    assert float(a[0]) == -2.0
    a[0] = ffi.cast("long double", 0.25)
    assert float(a[0]) == 0.25
    s = ffi.new("struct q1 *", {"c": b"x", "q": 3, "i": 7})
    assert float(s.q) == 3.0 and s.i == 7
    assert float(ffi.cast("_Float128", 2**52 + 1)) == 2**52 + 1
    assert ffi.cast("double", ffi.cast("_Float128", 2.25)) == 2.25
    assert float(ffi.cast("long double", ffi.cast("_Float128", 0.5))) == 0.5
    assert ffi.cast("int", ffi.cast("_Float128", 9.75)) == 9


def test_bad_values_are_clear_errors(distinct):
    ffi = FFI()
    p = ffi.new("_Float128 *")
    with pytest.raises(TypeError, match="str"):
        p[0] = "1.5"
    with pytest.raises(TypeError, match="initializer for ctype '_Float128' must be a number, "
                                        "not cdata 'int'"):
        p[0] = ffi.cast("int", 1)
    with pytest.raises(TypeError, match="cannot cast ctype '_Float128' to ctype 'int \\*'"):
        ffi.cast("int *", p[0])
    for bad in ("_Complex _Float128 z;", "unsigned _Float128 u;", "_Float128 long l;"):
        with pytest.raises(cffix.CDefError):
            FFI().cdef(bad)


def test_abi_mode_refuses_it_by_value(distinct, build_clib):
    ffi = FFI()
    ffi.cdef("_Float128 f128_twice(_Float128 x); double f128_to_double(const _Float128 *);"
             "void f128_third(_Float128 *); struct holder { char c; _Float128 q; };")
    lib = ffi.dlopen(build_clib("float128"))
    with pytest.raises(NotImplementedError, match=r"the result: '_Float128' by value is not "
                                                  r"supported.*API mode"):
        lib.f128_twice(1.0)
    # by pointer it works, both ways
    assert lib.f128_to_double(ffi.new("_Float128 *", 0.75)) == 0.75
    out = ffi.new("_Float128 *")
    lib.f128_third(out)
    assert float(out[0]) == 1 / 3
    for sig in ("double(_Float128)", "_Float128(int)", "int(struct holder)"):
        with pytest.raises(NotImplementedError) as info:
            ffi.callback(sig, lambda *args: 0)
        assert "'_Float128' by value is not supported" in "\n".join(info.value.__notes__)
    with pytest.raises(NotImplementedError, match="argument 1: '_Float128' by value"):
        ffi.cast("double(*)(_Float128)", 0)(1.0)


def test_api_mode_passes_it_through_the_generated_c(distinct, tmp_path):
    module = compile_module(
        "_float128_api",
        "_Float128 f128api_twice(_Float128 x); double f128api_as_double(_Float128 x);"
        "_Float128 f128api_third(void); struct Q { char c; _Float128 q; };"
        "double f128api_field(struct Q *);", """
        _Float128 f128api_twice(_Float128 x) { return 2 * x; }
        double f128api_as_double(_Float128 x) { return (double)x; }
        _Float128 f128api_third(void) { return (_Float128)1 / 3; }
        struct Q { char c; _Float128 q; };
        double f128api_field(struct Q *p) { return (double)p->q; }
    """, tmp_path)
    lib, mffi = module.lib, module.ffi
    r = lib.f128api_twice(1.25)
    assert mffi.typeof(r) is mffi.typeof("_Float128") and float(r) == 2.5
    assert lib.f128api_as_double(lib.f128api_third()) == 1 / 3  # all 113 bits in and out
    assert lib.f128api_as_double(0.5) == 0.5
    assert lib.f128api_field(mffi.new("struct Q *", {"q": 4.5})) == 4.5
    with pytest.raises(TypeError):
        lib.f128api_twice("x")


HEADER = """
#include <stddef.h>
typedef _Float128 wide_t;
struct wide_rec { char tag; _Float128 value; wide_t more[2]; short end; };
_Float128 wide_get(const struct wide_rec *, size_t);
"""


def test_header_struct_comes_in_complete(distinct, tmp_path, compile_and_run, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "wide.h").write_text(HEADER)
    facts = [("struct wide_rec", ["tag", "value", "more", "end"])]
    compiled = [int(v) for v in compile_and_run(c_layout_program(HEADER, facts)).split()]
    ffi = FFI()
    report = ffi.cdef_header("wide.h", include_dirs=[str(tmp_path)])
    assert cffix_layout(ffi, facts) == compiled
    assert not [s for s in report.skipped if "wide" in s[0]]
    ffi2 = FFI()
    ffi2.cdef('#include "wide.h"', preprocess=True, include_dirs=[str(tmp_path)])
    assert cffix_layout(ffi2, facts) == compiled
    assert ffi2.typeof("wide_t") is ffi2.typeof("_Float128")
    assert "wide_get" in dir(ffi2.dlopen(None))
