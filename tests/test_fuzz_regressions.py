"""Inputs the fuzzers found (fuzz/, README "Reliability"), each with what cffix must do
with it now: raise a clean exception, never SystemError, MemoryError or a crash.
"""

import subprocess
import sys

import pytest

from cffix import FFI, CDefError

# An unknown type name followed by a character the lexer refuses. To word its error the
# parser looks one token ahead and keeps the name if that lookahead fails; GCC 12 at -O3
# built the lookahead token in place, so that a failed lookahead left it half-written
# (no text), and the error's position was computed from a null pointer: SystemError
# ("basic_string: construction from null"), MemoryError, or a crash, depending on the heap
# (csrc/parse/parser.cpp, Parser::peek_or). Found by fuzz/python/fuzz_surface.py typeof
# (the first two) and by the replay of fuzz_lexer's and fuzz_cdef's corpora through the
# wheel (the others); the clang-built libFuzzer harnesses did not see it.
UNKNOWN_NAME_THEN_BAD_CHARACTER = [
    ("a\x08", "a"),
    ("wwwwwwwwwwgww\x11\x08\x08\x08wwwwq9", "wwwwwwwwwwgww"),
    ("\n    st__\x00\x00\x00\x00\x00;\udcca\n", "st__"),
    ("typed\xa6f char *p9;", "typed"),
]


@pytest.mark.parametrize("text, name", UNKNOWN_NAME_THEN_BAD_CHARACTER)
def test_typeof_of_unknown_name_then_bad_character(text, name):
    with pytest.raises(CDefError) as info:
        FFI().typeof(text)
    assert info.value.__notes__[0] == f"unknown type name '{name}'"
    assert str(info.value).startswith("cannot parse ")


@pytest.mark.parametrize("text, name", UNKNOWN_NAME_THEN_BAD_CHARACTER)
def test_cdef_of_unknown_name_then_bad_character(text, name):
    with pytest.raises(CDefError) as info:
        FFI().cdef(text)
    assert info.value.__notes__[0] == f"unknown type name '{name}'"
    assert f"before: {name}" in str(info.value)


# fuzz_cdef's corpus entry that crashed the interpreter (SIGSEGV) when replayed after
# others through the wheel: the same half-written token (`typed\xa6f` on line 2). Run in a
# child so that a regression fails this test instead of killing the run.
CRASHING_CDEF = (
    "\n        typedef int *******p7; typed\xa6f char *********p9;\n"
    "      616int ***, char (*(*)[4])[5]));\n"
    "        sstruct outer { itruct s { int *(**m6)[2][3]; int (*(*m7[2])(int))[3][4]; };\n"
    "        int *(*(*f>>n(int))(long **, int (*)[2][3nt kind; union {_Float64xloat f;]))[ }; "
    "struct { short lo, hi5];; \n }; }  ; "
)


def test_cdef_that_crashed_raises_cdef_error_in_a_child():
    code = (
        "import sys\nfrom cffix import FFI, CDefError\n"
        "text = sys.stdin.read()\n"
        "for _ in range(200):\n"
        "    try:\n        FFI().cdef(text)\n    except CDefError as e:\n"
        "        assert e.__notes__[0] == \"unknown type name 'typed'\", e.__notes__\n"
        "    else:\n        sys.exit('no CDefError')\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], input=CRASHING_CDEF, text=True,
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


# Left-nested chains (`1+1+...`, `a[0][0]...`, `s.next->next...`, `1,1,...`) are parsed by
# a loop but make a tree as deep as they are long, which was freed (and, for typeof, typed)
# recursively: two million links overflowed the C stack in a policy expression (ffi.errors)
# as in a typeof operand. Each link now counts against the nesting limit. In a child, so
# that a regression fails this test instead of killing the run.
def test_long_expression_chains_are_refused_in_a_child():
    code = (
        "from cffix import FFI, CDefError\n"
        "ffi = FFI()\n"
        "ffi.cdef('extern int arr[2]; struct S { struct S *next; }; extern struct S s;')\n"
        "for text in ('arr' + '[0]' * 2000000, 's' + '.next->next' * 500000,\n"
        "             '+'.join(['1'] * 2000000), ','.join(['1'] * 2000000)):\n"
        "    try:\n        ffi.cdef('typeof(' + text + ') x;')\n"
        "    except CDefError as e:\n        assert 'nested too deeply' in str(e), str(e)\n"
        "    else:\n        raise SystemExit('accepted')\n"
        "try:\n    ffi.errors(fails='result == ' + '+'.join(['1'] * 2000000))\n"
        "except CDefError as e:\n    assert 'nested too deeply' in str(e), str(e)\n"
        "else:\n    raise SystemExit('accepted')\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], text=True, capture_output=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


# fuzz_cdef (CI, 2026-12-05): a struct body that defines its own tag again. With
# override=True the inner definition replaced the scope's entry, which held the last
# reference to the type the outer redefinition was comparing with: a use after free
# (csrc/types/scope.cpp, Scope::resolve_record). C calls it "nested redefinition".
NESTED_REDEFINITION = ("struct p { char a; int b; short c; }; struct q { char a; struct p "
                       "{ char a; int b; short c; }; struct q { char a; double doubble; } b;; };")


@pytest.mark.parametrize("override", [False, True])
def test_nested_redefinition_of_a_tag_is_a_cdef_error(override):
    ffi = FFI()
    ffi.cdef("struct q { char a; };")
    for _ in range(2):
        with pytest.raises(CDefError, match="nested redefinition of 'struct q'"):
            ffi.cdef(NESTED_REDEFINITION, override=override)
    assert ffi.sizeof("struct q") == 1  # the earlier definition stands
    with pytest.raises(CDefError, match="nested redefinition of 'union u'"):
        FFI().cdef("union u { int a; union u { int b; } c; };")


def test_an_identical_tag_redefined_inside_another_body_is_fine():
    ffi = FFI()
    ffi.cdef("struct p { int a; }; struct q { struct p { int a; } x; int b; };")
    assert ffi.sizeof("struct q") == 2 * ffi.sizeof("int")


# fuzz_lexer (CI, 2026-12-05): `#pragma pack` whose line continues (a backslash before
# the newline) got a position from the line after the continuation, with a negative
# column; so did a multi-line #define in header mode. Their errors point at the pragma.
def test_a_continued_pragma_pack_has_its_own_position():
    with pytest.raises(CDefError) as info:
        FFI().cdef("int x;\n#pragma pack( \\\n   3)\nint y;")
    notes = "\n".join(info.value.__notes__)
    assert "line 2, column 13" in notes, notes
