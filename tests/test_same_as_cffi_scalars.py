"""Scalars behave as in cffi: integers of every width at and past their limits, _Bool,
floats, complex, char and wide chars, enums; conversions with int(), float(), bool(),
comparisons and hashes; objects with __int__ / __index__ / __float__.

The harness (tests/cdata_oracle.py): each entry is run with cffix and with cffi, and the
normalized results, or the exception types, must be equal.
"""

import pytest

import cdata_oracle
from cdata_oracle import Corpus, assert_same_as_cffi
from support import MODULE_UNDER_TEST

CDEF = cdata_oracle.CDEF  # declared by the `ffi` and `oracle_ffi` fixtures

CORPUS = Corpus()
ops = CORPUS.add


# Integer primitives on LP64 Linux: (type, signed, size in bytes).
INTEGERS = [
    ("signed char", True, 1), ("unsigned char", False, 1),
    ("short", True, 2), ("unsigned short", False, 2),
    ("int", True, 4), ("unsigned int", False, 4),
    ("long", True, 8), ("unsigned long", False, 8),
    ("long long", True, 8), ("unsigned long long", False, 8),
    ("int8_t", True, 1), ("uint8_t", False, 1), ("int16_t", True, 2),
    ("uint16_t", False, 2), ("int32_t", True, 4), ("uint32_t", False, 4),
    ("int64_t", True, 8), ("uint64_t", False, 8), ("size_t", False, 8),
    ("ssize_t", True, 8), ("intptr_t", True, 8), ("uintptr_t", False, 8),
]


for _t, _signed, _size in INTEGERS:
    _lo = -(1 << (8 * _size - 1)) if _signed else 0
    _hi = (1 << (8 * _size - 1)) - 1 if _signed else (1 << (8 * _size)) - 1
    ops(f"int {_t}",
        f'ffi.new("{_t} *")[0]',
        f'ffi.new("{_t} *", {_hi})[0]',
        f'ffi.new("{_t} *", {_lo})[0]',
        f'ffi.new("{_t} *", {_hi + 1})',
        f'ffi.new("{_t} *", {_lo - 1})',
        f'ffi.new("{_t} *", 1.5)',
        f'ffi.new("{_t} *", "1")',
        f'ffi.new("{_t} *", None)',
        f'ffi.new("{_t} *", b"\\x01")',
        f'ffi.cast("{_t}", {_hi + 1})',
        f'ffi.cast("{_t}", -1)',
        f'int(ffi.cast("{_t}", {_hi}))',
        f'ffi.new("{_t}[]", [{_lo}, {_hi}])[1]',
        )


ops("int widths",
    'ffi.new("int *", 2**40)',
    'ffi.new("int *", True)[0]',
    'ffi.new("int *", 3.0)',
    'ffi.new("int *", [1])',
    'ffi.new("long *", -2**63)[0]',
    'ffi.new("unsigned long long *", 2**64 - 1)[0]',
    'ffi.new("unsigned long long *", 2**64)',
    'ffi.new("long long *", 2**100)',
    'ffi.cast("unsigned char", 300)',
    'ffi.cast("signed char", 200)',
    'ffi.cast("short", 2**40 + 5)',
    'ffi.cast("int", -1.7)',
    'ffi.cast("int", float("nan"))',
    'ffi.cast("int", float("inf"))',
    'ffi.cast("char", float("-inf"))',
    'ffi.cast("unsigned long long", float("nan"))',
    'ffi.cast("int *", float("nan"))',
    'ffi.cast("_Bool", float("nan"))',
    'ffi.cast("_Bool", 10**200)',  # an int's truth, not its low 64 bits (which are 0)
    'ffi.cast("_Bool", 10**40000)',
    'ffi.cast("_Bool", -2**64)',
    'ffi.cast("_Bool", -1)',
    'ffi.cast("int", ffi.cast("double", float("nan")))',
    'ffi.cast("unsigned char", -1.5)',
    'ffi.cast("int", 3.0)',
    'ffi.cast("int", b"A")',
    'ffi.cast("int", "A")',
    'ffi.cast("int", "AB")',
    'ffi.cast("int", None)',
    'ffi.cast("int", [])',
    'ffi.cast("long", ffi.cast("char", b"z"))',
    'ffi.cast("int", ffi.cast("double", -7.9))',
    'ffi.cast("unsigned int", ffi.cast("signed char", -1))',
    'ffi.cast("long long", ffi.cast("unsigned int", 2**32 - 1))',
    'ffi.cast("int", ffi.NULL)',
    'ffi.cast("long", ffi.cast("int *", 4096))',
    'ffi.cast("int", ffi.new("struct point *")[0])',
    )


ops("bool",
    'ffi.new("_Bool *", True)[0]',
    'ffi.new("_Bool *", 1)[0]',
    'ffi.new("_Bool *", 0)[0]',
    'ffi.new("_Bool *", 2)',
    'ffi.new("_Bool *", -1)',
    'ffi.new("_Bool *", 1.0)',
    'ffi.new("_Bool *", None)',
    'ffi.new("_Bool *", "1")',
    'ffi.cast("_Bool", 2)',
    'ffi.cast("_Bool", 0)',
    'ffi.cast("_Bool", 0.5)',
    'int(ffi.cast("_Bool", 1))',
    'bool(ffi.cast("_Bool", 1))',
    'ffi.new("_Bool[]", [1, 0, True])[2]',
    )


ops("float",
    'ffi.new("float *", 1.5)[0]',
    'ffi.new("float *", 0.1)[0]',
    'ffi.new("float *", 3)[0]',
    'ffi.new("float *", 1e300)[0]',
    'ffi.new("float *", -1e300)[0]',
    'ffi.new("float *", "1")',
    'ffi.new("float *", None)',
    'ffi.new("float *", b"1")',
    'ffi.new("float *", 2**1024)',
    'ffi.new("double *", 0.1)[0]',
    'ffi.new("double *", 2**53 + 1)[0]',
    'ffi.new("double *", 2**1024)',
    'ffi.new("double *", True)[0]',
    'ffi.new("double *", float("inf"))[0]',
    'math.isnan(ffi.new("double *", float("nan"))[0])',
    'ffi.new("double *", [1.0])',
    'ffi.new("double *", "x")',
    'ffi.new("double *", 1j)',
    'ffi.cast("float", 0.1)',
    'ffi.cast("double", 1.5)',
    'ffi.cast("double", -0.0)',
    'ffi.cast("float", 2**200)',
    'ffi.cast("float", b"A")',
    'ffi.cast("double", "x")',
    'ffi.cast("double", None)',
    'ffi.cast("double", ffi.cast("int", -3))',
    'ffi.cast("float", ffi.cast("double", 1e300))',
    # floats beyond int64_t (C's conversion is undefined there): truncated, then wrapped
    'ffi.cast("int64_t", 1e19)',
    'ffi.cast("uint64_t", 2.0**64 + 4096)',
    'ffi.cast("uint64_t", -1e19)',
    'ffi.cast("int", -1e300)',
    'ffi.cast("int64_t", -2.0**63)',
    'ffi.cast("uint64_t", 2.0**63)',
    'ffi.cast("double", ffi.NULL)',
    'ffi.new("long double *", 1.5)',
    'ffi.new("long double *", 1.5)[0]',
    'float(ffi.new("long double *", 2.25)[0])',
    'ffi.new("long double *", "x")',
    'ffi.cast("long double", 1.5)',
    'ffi.cast("long double", 7)',
    'float(ffi.cast("long double", -0.5))',
    'int(ffi.cast("long double", 9.75))',
    'ffi.cast("double", ffi.cast("long double", 2.5))',
    'ffi.new("double[]", [1, 2.5, -3])[2]',
    )


ops("complex",
    'ffi.new("double _Complex *", 1+2j)[0]',
    'ffi.new("float _Complex *", 0.5-1j)[0]',
    'ffi.new("double _Complex *", 3)[0]',
    'ffi.new("double _Complex *", 2.5)[0]',
    'ffi.new("double _Complex *", "1")',
    'complex(ffi.cast("double _Complex", 1+2j))',
    'complex(ffi.cast("float _Complex", 1.5))',
    'complex(ffi.cast("double _Complex", "x"))',
    'ffi.sizeof(ffi.new("float _Complex[2]"))',
    )


ops("char",
    'ffi.new("char *", b"A")[0]',
    'ffi.new("char *")[0]',
    'ffi.new("char *", b"\\xff")[0]',
    'ffi.new("char *", b"AB")',
    'ffi.new("char *", b"")',
    'ffi.new("char *", "A")',
    'ffi.new("char *", 65)',
    'ffi.new("char *", bytearray(b"A"))',
    'ffi.new("char *", None)',
    'ffi.cast("char", 65)',
    'ffi.cast("char", 321)',
    'ffi.cast("char", b"A")',
    'ffi.cast("char", "A")',
    'ffi.cast("char", b"AB")',
    'ffi.cast("char", 1.5)',
    'int(ffi.cast("char", b"A"))',
    'int(ffi.cast("char", b"\\xff"))',
    'float(ffi.cast("char", b"A"))',
    'bool(ffi.cast("char", b"\\x00"))',
    'ffi.cast("char", b"a") == ffi.cast("char", b"a")',
    'ffi.cast("char", b"a") == b"a"',
    'ffi.cast("char", b"a") < ffi.cast("char", b"b")',
    'ffi.cast("unsigned char", b"\\xff")',
    'ffi.new("unsigned char *", b"A")',
    'ffi.new("signed char *", 65)[0]',
    )


for _t in ("wchar_t", "char16_t", "char32_t"):
    ops(_t,
        f'ffi.new("{_t} *", "A")[0]',
        f'ffi.new("{_t} *", "\\xe9")[0]',
        f'ffi.new("{_t} *", "\\u20ac")[0]',
        f'ffi.new("{_t} *", "\\U0001f600")',
        f'ffi.new("{_t} *", "AB")',
        f'ffi.new("{_t} *", "")',
        f'ffi.new("{_t} *", b"A")',
        f'ffi.new("{_t} *", 65)',
        f'ffi.new("{_t} *", None)',
        f'ffi.cast("{_t}", 65)',
        f'ffi.cast("{_t}", "A")',
        f'ffi.cast("{_t}", "AB")',
        f'ffi.cast("{_t}", b"A")',
        f'int(ffi.cast("{_t}", "\\u20ac"))',
        f'ffi.string(ffi.cast("{_t}", "z"))',
        f'len(ffi.new("{_t}[]", "h\\xe9llo"))',
        f'ffi.new("{_t}[]", "h\\xe9llo")[1]',
        f'ffi.string(ffi.new("{_t}[]", "h\\xe9llo"))',
        f'ffi.string(ffi.new("{_t}[]", "h\\xe9llo"), 2)',
        f'ffi.string(ffi.new("{_t}[10]", "ab"))',
        f'ffi.string(ffi.new("{_t}[]", "h\\xe9llo") + 1)',
        f'ffi.string(ffi.new("{_t}[]", "h\\xe9llo") + 1, 3)',
        f'ffi.unpack(ffi.new("{_t}[]", "abc\\x00d"), 5)',
        f'ffi.unpack(ffi.new("{_t}[]", "abc") + 0, 2)',
        f'ffi.new("{_t}[3]", "abcd")',
        f'ffi.new("{_t}[3]", "abc")[2]',
        f'ffi.new("{_t}[]", b"abc")',
        f'ffi.new("{_t}[]", ["a", "b"])[1]',
        f'len(ffi.new("{_t}[]", "\\U0001f600"))',
        f'ffi.string(ffi.new("{_t}[]", "a\\U0001f600b"))',
        )


ops("wchar_t", 'ffi.new("wchar_t *", "\\U0001f600")[0]')


ops("char16_t",
    'ffi.string(ffi.new("char16_t[]", "a\\U0001f600b"), 2)',
    'ffi.cast("char16_t", 0x1F600)',
    'ffi.new("char16_t[]", "\\U0001f600")[0]',
    )


ops("char32_t", 'ffi.new("char32_t *", "\\U0001f600")[0]')


ops("int/float/bool",
    'int(ffi.cast("int", 5))',
    'int(ffi.cast("float", 2.7))',
    'int(ffi.cast("double", -2.7))',
    'float(ffi.cast("int", 3))',
    'float(ffi.cast("unsigned long long", 2**64 - 1))',
    'float(ffi.cast("float", 0.1))',
    'bool(ffi.cast("int", 0))',
    'bool(ffi.cast("int", 7))',
    'bool(ffi.cast("double", 0.0))',
    'bool(ffi.cast("double", -0.0))',
    'bool(ffi.cast("float", 0.5))',
    'bool(ffi.NULL)',
    'bool(ffi.cast("void *", 1))',
    'bool(ffi.cast("int *", 0))',
    'bool(ffi.new("int *"))',
    'bool(ffi.new("int[0]"))',
    'bool(ffi.new("struct point *")[0])',
    'bool(ffi.cast("cmp_fn", 0))',
    'int(ffi.cast("void *", 5))',
    'float(ffi.cast("void *", 5))',
    'int(ffi.new("int[3]"))',
    'int(ffi.new("struct point *")[0])',
    'float(ffi.new("struct point *")[0])',
    'int(ffi.cast("enum color", 5))',
    'float(ffi.cast("enum color", 5))',
    'int(ffi.cast("cmp_fn", 8))',
    'ffi.cast("int", 5).__index__()',
    '[10, 20, 30][ffi.cast("int", 2)]',
    '[10, 20, 30][ffi.cast("double", 2)]',
    'range(5)[ffi.cast("unsigned char", 3)]',
    'hex(ffi.cast("int", 255))',
    'ffi.cast("int", 7) + 1',
    'ffi.cast("int", 7) * 2',
    '-ffi.cast("int", 7)',
    'abs(ffi.cast("int", -7))',
    'ffi.cast("double", 1.5) + 1',
    )


ops("compare/hash primitives",
    'ffi.cast("int", 5) == 5',
    'ffi.cast("int", 5) != 5',
    'ffi.cast("int", 5) == 5.0',
    'ffi.cast("int", 5) == ffi.cast("long", 5)',
    'ffi.cast("int", 5) == ffi.cast("double", 5.0)',
    'ffi.cast("int", -1) == ffi.cast("unsigned int", -1)',
    'ffi.cast("int", 5) < 6',
    'ffi.cast("int", 8) < 9.5',
    'ffi.cast("int", 5) >= ffi.cast("int", 5)',
    'ffi.cast("float", 8) == 8',
    'ffi.cast("float", 0.1) == 0.1',
    'ffi.cast("int", 5) == "5"',
    'ffi.cast("int", 5) == None',
    'ffi.cast("int", 5) < "x"',
    'ffi.cast("int", 8) < ffi.cast("int *", 9)',
    'ffi.cast("enum color", 5) == 5',
    'ffi.cast("enum color", 5) == ffi.cast("int", 5)',
    'ffi.cast("_Bool", 1) == True',
    'hash(ffi.cast("int", 5))',
    'hash(ffi.cast("int", -1))',
    'hash(ffi.cast("int", 5)) == hash(ffi.cast("long", 5))',
    'hash(ffi.cast("float", 1.5)) == hash(1.5)',
    'hash(ffi.cast("double", 2.0)) == hash(2)',
    'hash(ffi.cast("unsigned long long", 2**64 - 1)) == hash(2**64 - 1)',
    'hash(ffi.cast("char", b"a")) == hash(ffi.cast("char", b"a"))',
    'len({ffi.cast("int", 1), ffi.cast("int", 1), ffi.cast("long", 1), 1})',
    )


ops("enums",
    'ffi.cast("enum color", 5)',
    'ffi.cast("enum color", 0)',
    'ffi.cast("enum color", -2)',
    'ffi.cast("enum color", 7)',
    'ffi.cast("enum color", 2**40)',
    'ffi.cast("enum color", "GREEN")',
    'ffi.cast("enum color", 1.5)',
    'ffi.cast("enum big", 0xffffffff)',
    'ffi.cast("enum big", -1)',
    'int(ffi.cast("enum color", -2))',
    'ffi.string(ffi.cast("enum color", 5))',
    'ffi.string(ffi.cast("enum color", -2))',
    'ffi.string(ffi.cast("enum color", 7))',
    'ffi.string(ffi.cast("enum big", 0xffffffff))',
    'ffi.string(ffi.cast("enum color", 5), 1)',
    'ffi.new("enum color *", 5)[0]',
    'ffi.new("enum color *", 7)[0]',
    'ffi.new("enum color *", "BLUE")',
    'ffi.new("enum color *", "PURPLE")',
    'ffi.new("enum color *", 2**31)',
    'ffi.new("enum color *", None)',
    'ffi.new("enum color[]", [5, -2])[1]',
    'ffi.new("enum color[]", [5, -2])',
    'p = ffi.new("enum color *"); p[0] = 5; p[0]',
    'p = ffi.new("enum color *"); p[0] = "GREEN"',
    'ffi.cast("enum color", 5) == ffi.cast("enum color", 5)',
    'ffi.cast("enum color", 5) < 6',
    'hash(ffi.cast("enum color", 5)) == hash(5)',
    'bool(ffi.cast("enum color", 0))',
    'ffi.cast("int", ffi.cast("enum color", -2))',
    'ffi.cast("enum color", ffi.cast("int", 5))',
    )


ops("number protocols",
    # Values go through __int__ (as cffi), indices and lengths through __index__.
    'class I:\n    def __index__(self): return 2\nffi.new("int *", I())',
    'class I:\n    def __index__(self): return 2\nffi.new("int[5]", [0, 10, 20, 30, 40])[I()]',
    'class I:\n    def __index__(self): return 2\nlen(ffi.new("char[]", I()))',
    'class J:\n    def __int__(self): return 8\nffi.new("int *", J())[0]',
    'class J:\n    def __int__(self): return 8\nffi.cast("int", J())',
    'class J:\n    def __int__(self): return 8\nffi.new("int[]", [J(), 1])[0]',
    'class J:\n    def __int__(self): return 8\nffi.new("int[5]")[J()]',
    'class J:\n    def __int__(self): return 2**40\nffi.new("int *", J())',
    'class J:\n    def __int__(self): return "x"\nffi.new("int *", J())',
    'class J:\n    def __int__(self): raise ValueError("no")\nffi.new("int *", J())',
    'class F:\n    def __float__(self): return 0.5\nffi.new("double *", F())[0]',
    'import fractions; ffi.new("double *", fractions.Fraction(1, 4))[0]',
    'import decimal; ffi.new("int *", decimal.Decimal(3))',
    )


@CORPUS.parametrize
def test_same_as_cffi(src, ffi, oracle_ffi):
    assert_same_as_cffi(ffi, oracle_ffi, src)


# Not a corpus entry: int() converts what __int__ returns (with a DeprecationWarning), so
# the results compare equal; the type __int__ returns does not.
def test_int_of_a_bool_cdata_is_an_int(ffi):
    for value in (0, 1):
        result = ffi.cast("_Bool", value).__int__()
        assert type(result) is int and result == value
