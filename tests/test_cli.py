"""The command line, `python -m cffix COMMAND`, run as a user runs it (a subprocess):
`check` (what a cdef declares, errors with line and column), `layout` (cffix's layout of
a type next to the C compiler's), `--help` on every command, exit statuses, and bad
input giving one clear message without a traceback. (`stubgen`: test_stubs.py; `pin`:
test_pinned_libraries.py.)
"""

import os
import subprocess
import sys

import pytest

from cffix import FFI
from cffix.describe import declarator, function_signature


def cffix_cli(*args, stdin=None, cwd=None, env=None):
    done = subprocess.run([sys.executable, "-m", "cffix", *args], input=stdin,
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.mark.parametrize("command", [[], ["pin"], ["stubgen"], ["check"], ["layout"]])
def test_help_on_every_command(command):
    done = cffix_cli(*command, "--help")
    assert done.returncode == 0
    assert done.stdout.startswith("usage: python -m cffix")
    if command:
        assert f"python -m cffix {command[0]}" in done.stdout
    else:
        for name in ("pin", "stubgen", "check", "layout", "Exit status"):
            assert name in done.stdout


def test_no_command_or_an_unknown_one_is_a_usage_error():
    done = cffix_cli()
    assert done.returncode == 2 and "required" in done.stderr
    done = cffix_cli("frobnicate")
    assert done.returncode == 2 and "invalid choice: 'frobnicate'" in done.stderr


# ---------------------------------------------------------------- check

CDEF = """\
struct point { int x, y; };
struct rec { char tag; double value; struct point at[2]; unsigned flags : 3; };
union number { int i; double d; };
struct opaque;
typedef struct point point_t;
typedef struct { int a; } anon_t;
typedef int (*compare_t)(const void *, const void *);
enum color { RED, GREEN = 5, BLUE };
int add(int a, int b);
size_t count(const char *s, ...);
int (*pick(int which))(int);
extern int counter;
#define LIMIT 100
"""


def test_check_prints_layouts_signatures_and_constants(tmp_path):
    path = tmp_path / "api.cdef"
    path.write_text(CDEF)
    done = cffix_cli("check", str(path))
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    at = out.index("struct rec: size 40, align 8")
    assert out[at + 1:at + 6] == [
        "  offset  size  field",
        "       0     1  char tag",
        "       8     8  double value",
        "      16    16  struct point at[2]",
        "      32     4  unsigned int flags : 3 (bits 0..2)",
    ]
    assert "union number: size 8, align 8" in out
    assert "struct opaque: opaque (declared, never defined)" in out
    assert "typedef struct point point_t;" in out
    assert "typedef struct { ... } anon_t;" in out
    assert "typedef int(*compare_t)(void *, void *);" in out
    assert "enum color (4 bytes): RED = 0, GREEN = 5, BLUE = 6" in out
    assert "function int add(int a, int b);" in out
    assert "function size_t count(char *s, ...);" in out
    assert "function int(*pick(int which))(int);" in out
    assert "variable int counter;" in out
    assert "constant LIMIT = 100" in out
    assert not any(line.startswith("constant RED") for line in out)  # listed with its enum


def test_check_layouts_agree_with_ffi(tmp_path):
    ffi = FFI()
    ffi.cdef(CDEF)
    done = cffix_cli("check", "-", stdin=CDEF)
    assert done.returncode == 0
    for name in ("x", "y"):
        offset = ffi.offsetof("struct point", name)
        assert f"{offset:>8}     4  int {name}" in done.stdout.splitlines()


def test_check_reports_line_and_column(tmp_path):
    path = tmp_path / "bad.cdef"
    path.write_text("int ok(void);\nstruct s { int a; };\nint broken(int x,;\n")
    done = cffix_cli("check", str(path))
    assert done.returncode == 1
    assert done.stdout == ""
    assert f"{path}:3:18" in done.stderr
    assert "expected a parameter type, found ';'" in done.stderr
    assert "line 3, column 18: int broken(int x,;" in done.stderr


def test_check_reads_stdin_and_names_it():
    done = cffix_cli("check", "-", stdin="typedef int t;\nt f(u x);\n")
    assert done.returncode == 1
    assert "<stdin>:2:" in done.stderr
    assert "Traceback" not in done.stderr


def test_check_bad_files(tmp_path):
    done = cffix_cli("check", str(tmp_path / "missing.h"))
    assert done.returncode == 2
    assert "missing.h: No such file or directory" in done.stderr
    binary = tmp_path / "binary.h"
    binary.write_bytes(b"\xff\xfe\x00int")
    done = cffix_cli("check", str(binary))
    assert done.returncode == 2 and "not UTF-8 text" in done.stderr


def test_check_header_reads_it_with_cdef_header(tmp_path):
    path = tmp_path / "x.h"
    path.write_text("#define N 3\nint f(void);\n")
    done = cffix_cli("check", "--header", str(path))
    assert done.returncode == 0, done.stderr
    assert "function int f(void);" in done.stdout


def test_declarator_spelling():
    assert declarator("int", "a") == "int a"
    assert declarator("char *", "s") == "char *s"
    assert declarator("int[3][4]", "m") == "int m[3][4]"
    assert declarator("int(*)(int)", "f") == "int(*f)(int)"
    assert declarator("int", "") == "int"
    ffi = FFI()
    function = ffi.typeof("double(*)(double, double)")  # a function pointer's CType
    assert function_signature("hypot", function, ("x", "y")) == "double hypot(double x, double y)"
    assert function_signature("f", ffi.typeof("void(*)(void)")) == "void f(void)"


# ---------------------------------------------------------------- layout

@pytest.mark.usefixtures("cc")
def test_layout_of_struct_tm_next_to_the_compiler():
    done = cffix_cli("layout", "struct tm", "--header", "time.h")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "struct tm (time.h):"
    assert [c.strip() for c in lines[1].split("|")] == ["", "cffix", "cc"]
    rows = {line.split("|")[0].strip(): [c.strip() for c in line.split("|")[1:]]
            for line in lines[2:]}
    assert rows["tm_sec"] == ["@0 size 4", "@0 size 4", "ok"]
    assert rows["tm_year"] == ["@20 size 4", "@20 size 4", "ok"]
    assert rows["sizeof"][0] == rows["sizeof"][1] and rows["sizeof"][2] == "ok"
    assert all(r[-1] == "ok" for r in rows.values())


@pytest.mark.usefixtures("cc")
def test_layout_reports_a_mismatch(tmp_path):
    header = tmp_path / "pair.h"
    header.write_text("struct pair { char a; int b; short c[3]; };\n")
    wrong = tmp_path / "wrong.cdef"  # b declared as a char: offsets and size disagree
    wrong.write_text("struct pair { char a; char b; short c[3]; };\n")
    done = cffix_cli("layout", "struct pair", "--header", str(header), "--cdef", str(wrong))
    assert done.returncode == 1
    rows = {line.split("|")[0].strip(): [c.strip() for c in line.split("|")[1:]]
            for line in done.stdout.splitlines()[2:]}
    assert rows["a"] == ["@0 size 1", "@0 size 1", "ok"]
    assert rows["b"] == ["@1 size 1", "@4 size 4", "MISMATCH"]
    assert rows["c"] == ["@2 size 6", "@8 size 6", "MISMATCH"]
    assert rows["sizeof"] == ["8", "16", "MISMATCH"]
    # the same header as cdef: all agree (the header's text read through `cc -E -P`)
    done = cffix_cli("layout", "struct pair", "--header", str(header))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "MISMATCH" not in done.stdout


@pytest.mark.usefixtures("cc")
def test_layout_bitfields_and_flexible_arrays(tmp_path):
    header = tmp_path / "msg.h"
    header.write_text("struct msg { unsigned kind : 4; unsigned len : 12; char data[]; };\n")
    done = cffix_cli("layout", "struct msg", "--header", str(header))
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {line.split("|")[0].strip(): [c.strip() for c in line.split("|")[1:]]
            for line in done.stdout.splitlines()[2:]}
    assert rows["kind"] == ["bitfield", "-", "not compared"]
    assert rows["data"][2] == "ok"


@pytest.mark.usefixtures("cc")
def test_layout_errors_are_clear(tmp_path):
    done = cffix_cli("layout", "struct nosuch", "--header", "time.h")
    assert done.returncode == 2
    assert "'struct nosuch'" in done.stderr
    done = cffix_cli("layout", "struct tm", "--header", "no/such/header.h")
    assert done.returncode == 2
    assert "preprocessing no/such/header.h failed" in done.stderr
    assert "no/such/header.h" in done.stderr
    done = cffix_cli("layout", "struct tm")
    assert done.returncode == 2 and "--header" in done.stderr
    env = dict(os.environ, CC=str(tmp_path / "no-such-cc"))
    done = cffix_cli("layout", "struct tm", "--header", "time.h", env=env)
    assert done.returncode == 2
    assert "cannot run" in done.stderr and "no-such-cc" in done.stderr


@pytest.mark.parametrize("cdef, message", [
    ("typedef int t; typedef long t;", "FFIError: multiple declarations of typedef t"),
    ("struct a { struct a x; };", "'struct a' contains itself by value"),
    ("int x[100000000000000000000000];", "is too large"),
    ("int f(void) { return 1; }", "function bodies are not supported"),
])
def test_check_declaration_errors_exit_1_without_traceback(cdef, message):
    done = cffix_cli("check", "-", stdin=cdef + "\n")
    assert done.returncode == 1
    assert message in done.stderr
    assert done.stderr.startswith("cffix check: error: ")


def test_check_lists_what_only_a_compiler_completes():
    done = cffix_cli("check", "-", stdin="struct s { int a; ...; };\ntypedef int... t;\n"
                                         "#define Y ...\nstruct s g;\n")
    assert done.returncode == 0, done.stderr
    assert "struct s: no layout without a C compiler (struct s)" in done.stdout
    assert "typedef t: known to a C compiler only" in done.stdout
    assert "constant Y = ... (known to the C compiler)" in done.stdout
    assert "variable struct s g;" in done.stdout


def test_check_hints_at_header_for_a_real_header(tmp_path):
    path = tmp_path / "real.h"
    path.write_text("#include <stddef.h>\nsize_t length(const char *s);\n")
    done = cffix_cli("check", str(path))
    assert done.returncode == 1
    assert f"{path}: preprocessor directive '#include' is not supported" in done.stderr
    assert "line 1, column 1: #include <stddef.h>" in done.stderr
    assert "hint: this is cdef text, where #include and #if are not taken" in done.stderr
