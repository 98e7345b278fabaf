"""`python -m cffix stubgen`: .pyi stubs of API-mode and out-of-line modules, checked by
mypy --strict and basedpyright (pyright's engine, its JavaScript and node bundled in the
PyPI wheels: it runs offline) on the stubs and on user files using them.

A user file that uses the module correctly must type-check (and run); one that misuses
it must be reported, line by line, by both checkers. The checkers come from the `test`
extra (pyproject.toml): where they are missing the checks skip, except in CI (CI=true),
where that is a failure.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from cffix import FFI, stubgen
from cffix.stubgen import input_type, output_type

# --------------------------------------------------------------- the type mapping


def test_scalar_types_map_to_python_types():
    ffi = FFI()
    assert input_type(ffi.typeof("int")) == "int"
    assert input_type(ffi.typeof("unsigned long long")) == "int"
    assert input_type(ffi.typeof("int8_t")) == "int"
    assert input_type(ffi.typeof("double")) == "float"
    assert input_type(ffi.typeof("float")) == "float"
    assert input_type(ffi.typeof("_Bool")) == "bool"
    assert input_type(ffi.typeof("char")) == "bytes"
    assert input_type(ffi.typeof("wchar_t")) == "str"
    assert input_type(ffi.typeof("double _Complex")) == "complex"
    assert output_type(ffi.typeof("void")) == "None"
    assert output_type(ffi.typeof("long double")) == "CData"
    assert input_type(ffi.typeof("long double")) == "float"


def test_pointer_struct_and_enum_types():
    ffi = FFI()
    ffi.cdef("struct s { int a; }; enum e { A }; typedef int (*cb_t)(int);")
    assert input_type(ffi.typeof("char *")) == "bytes | CData"
    assert input_type(ffi.typeof("const char *")) == "bytes | CData"
    assert input_type(ffi.typeof("void *")) == "bytes | CData"
    assert input_type(ffi.typeof("unsigned char *")) == "bytes | CData"
    assert input_type(ffi.typeof("wchar_t *")) == "str | CData"
    assert input_type(ffi.typeof("int *")) == "CData"
    assert input_type(ffi.typeof("struct s")) == "CData"
    assert input_type(ffi.typeof("cb_t")) == "CData"
    assert input_type(ffi.typeof("enum e")) == "int"
    assert output_type(ffi.typeof("char *")) == "CData"
    assert output_type(ffi.typeof("struct s")) == "CData"


def _stub_of(cdef, wrap=None, api_mode=True):
    ffi = FFI()
    ffi.cdef(cdef)
    for names, kwds in wrap or ():
        ffi.wrap(names, **kwds)
    return stubgen.stub_text(ffi, "_m", api_mode, "a test")


def test_function_signatures_are_positional_only_with_c_names():
    text = _stub_of("int add(int a, int b); double hypot(double, double); void nop(void);"
                    "int printf(const char *fmt, ...); int kw(int lambda, int self);")
    assert "    def add(a: int, b: int, /) -> int: ..." in text
    assert "    def hypot(arg0: float, arg1: float, /) -> float: ..." in text
    assert "    def nop() -> None: ..." in text
    assert "    def printf(fmt: bytes | CData, /, *args: CData) -> int: ..." in text
    # Python keywords and self are no parameter names
    assert "    def kw(arg0: int, arg1: int, /) -> int: ..." in text
    assert text.count("@staticmethod") == 5


def test_constants_and_globals():
    text = _stub_of("#define N 3\nenum e { A, B }; int counter; const int LIMIT;"
                    "static const double PI; struct s { int a; }; struct s origin;")
    for line in ("    N: Final[int]", "    A: Final[int]", "    B: Final[int]",
                 "    counter: int", "    LIMIT: Final[int]", "    PI: Final[float]",
                 "    origin: CData"):
        assert line in text.splitlines(), line


def test_python_keywords_and_the_stubs_own_names_are_left_untyped():
    text = _stub_of("int lambda(int); int from;\n#define CData 1\nint Final(void); int ok;")
    for name in ("lambda", "from", "CData", "Final"):
        assert (f"    # {name}: a name Python or this stub reserves: untyped, reached as "
                f"getattr(lib, {name!r})") in text.splitlines()
    assert "    ok: int" in text.splitlines()
    compile(text, "_m.pyi", "exec")  # still valid Python


def test_wrapped_shapes():
    text = _stub_of(
        "int divmod(int a, int b, int *q, int *r); int get(int id, const char **name);"
        "const char *greeting(void); struct t; struct t *t_new(int); void t_free(struct t *);"
        "int open_t(const char *path, struct t **out); void fill(int *n);"
        "int bump(int *counter); int sized(char *buf, int n);",
        wrap=[("divmod", dict(out=["q", "r"])),
              ("get", dict(out="name", text="name", errors="nonzero")),
              ("greeting", dict(text="return")),
              ("t_new", dict(owned={"return": "t_free"})),
              ("open_t", dict(out="out", owned={"out": "t_free"}, errors="nonzero")),
              ("fill", dict(out="n")),
              ("bump", dict(out={"counter": "inout"}, errors="minus1_errno")),
              ("sized", dict(default={"n": "16"}))])
    # unchecked: the result leads the outs; checked: the outs alone
    assert "def divmod(a: int, b: int, /) -> tuple[int, int, int]: ..." in text
    assert "def get(id: int, /) -> str | None: ..." in text
    assert "def greeting() -> str | None: ..." in text
    assert "def t_new(arg0: int, /) -> CData: ..." in text
    assert "def open_t(path: bytes | CData, /) -> CData: ..." in text
    assert "def fill() -> int: ..." in text  # a void function: its out alone
    assert "def bump(counter: int, /) -> int: ..." in text  # an inout: given and returned
    assert "def sized(buf: bytes | CData, /) -> int: ..." in text


def test_cdef_attributes_give_the_wrapped_shape():
    text = _stub_of("[[cffix::text]] const char *name_of(int id);"
                    "int size_of(int h, [[cffix::out]] long *n);")
    assert "def name_of(id: int, /) -> str | None: ..." in text
    assert "def size_of(h: int, /) -> tuple[int, int]: ..." in text


def test_out_of_line_stub_types_dlopen():
    text = _stub_of("int abs(int);", api_mode=False)
    assert "class _FFI(cffix.FFI):" in text
    assert ") -> _Lib: ..." in text
    assert "ffi: _FFI" in text and "lib:" not in text


# --------------------------------------------------------------- the command, the checkers

API_CDEF = """
struct point { int x, y; };
typedef struct point point_t;
enum color { RED, GREEN = 5 };
double hypot(double, double);
int square(int x);
size_t count_chars(const char *s, char c);
struct point make_point(int x, int y);
point_t *point_new(int x, int y);
void point_free(point_t *p);
_Bool is_origin(const point_t *p);
void nothing(void);
int divmod(int a, int b, int *q, int *r);
int get_name(int id, const char **name);
const char *greeting(void);
int counter;
const int LIMIT;
#define ANSWER 42
"""
API_SOURCE = r"""
#include <math.h>
#include <stdlib.h>
struct point { int x, y; };
typedef struct point point_t;
enum color { RED, GREEN = 5 };
static int square(int x) { return x * x; }
static size_t count_chars(const char *s, char c) {
    size_t n = 0;
    for (; *s; s++) n += *s == c;
    return n;
}
static struct point make_point(int x, int y) { struct point p = {x, y}; return p; }
static point_t *point_new(int x, int y) {
    point_t *p = malloc(sizeof *p);
    p->x = x; p->y = y;
    return p;
}
static void point_free(point_t *p) { free(p); }
static _Bool is_origin(const point_t *p) { return p->x == 0 && p->y == 0; }
static void nothing(void) {}
static int divmod(int a, int b, int *q, int *r) { *q = a / b; *r = a % b; return 0; }
static int get_name(int id, const char **name) { *name = id ? "one" : "zero"; return id > 1; }
static const char *greeting(void) { return "hi"; }
int counter = 0;
static const int LIMIT = 10;
#define ANSWER 42
"""
BUILD_SCRIPT = f'''
from cffix import FFI
ffibuilder = FFI()
ffibuilder.cdef({API_CDEF!r})
ffibuilder.wrap("divmod", out=["q", "r"])
ffibuilder.wrap("get_name", out="name", text="name", errors="nonzero")
ffibuilder.wrap("greeting", text="return")
ffibuilder.wrap("point_new", owned={{"return": "point_free"}})
ffibuilder.set_source("_stub_api", {API_SOURCE!r}, libraries=["m"])
if __name__ == "__main__":
    ffibuilder.compile()
'''

API_GOOD = """
from _stub_api import ffi, lib

q_r: tuple[int, int, int] = lib.divmod(7, 2)
assert q_r == (0, 3, 1)
name: str | None = lib.get_name(1)
assert name == "one"
hello: str | None = lib.greeting()
assert hello == "hi"
p = lib.point_new(1, 2)
assert isinstance(p, ffi.CData)
x: int = int(p.x)
assert x == 1
point = lib.make_point(3, 4)
assert point.y == 4
n: int = lib.count_chars(b"abca", b"a")
assert n == 2
h: float = lib.hypot(3.0, 4.0)
assert h == 5.0
assert lib.is_origin(lib.point_new(0, 0)) is True
lib.counter = 5
limit: int = lib.LIMIT + lib.ANSWER + lib.GREEN + lib.RED
assert limit == 57
nothing: None = lib.nothing()
size: int = ffi.sizeof("struct point")
assert size == 8
print("ran")
"""
# line number -> what both checkers must report there
API_BAD = """
from _stub_api import lib

lib.square("3")
lib.divmod(7, 2, 3)
s: str = lib.square(2)
lib.no_such_function()
lib.LIMIT = 3
lib.counter = "x"
lib.count_chars("text", b"a")
n: int = lib.greeting()
"""
API_BAD_LINES = [4, 5, 6, 7, 8, 9, 10, 11]

OOL_CDEF = """
typedef struct { int quot; int rem; } div_t;
div_t div(int, int);
int abs(int x);
size_t strlen(const char *s);
char *getenv(const char *name);
#define ANSWER 42
"""
OOL_GOOD = """
from _stub_ool import ffi

lib = ffi.dlopen(None)
a: int = lib.abs(-3)
assert a == 3
n: int = lib.strlen(b"four")
assert n == 4
d = lib.div(7, 2)
assert d.quot == 3
answer: int = lib.ANSWER
assert answer == 42
print("ran")
"""
OOL_BAD = """
from _stub_ool import ffi

lib = ffi.dlopen(None)
lib.abs(1.5)
lib.strlen(3)
s: str = lib.getenv(b"HOME")
lib.strlen()
"""
OOL_BAD_LINES = [5, 6, 7, 8]


def run(args, cwd, env=None):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, timeout=600)


def cffix_env(cwd):
    """The environment of a Python process using cffix (the sanitizer run's preloads
    kept: an ASan build of the core needs them), the module folder on the path."""
    return dict(os.environ, PYTHONPATH=str(cwd))


def checker_env(cwd):
    """The environment for the checkers: the sanitizer run's preloads and allocator left
    out (they are for cffix's own processes), the module folder on the path."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_PRELOAD", "PYTHONMALLOC") and not k.endswith("SAN_OPTIONS")}
    env["PYTHONPATH"] = str(cwd)
    env["MYPYPATH"] = str(cwd)
    return env


def _tool(name):
    """The path of a checker installed next to this interpreter (or on PATH)."""
    here = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.exists(here):
        return here
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not installed: CI installs it with the test extra "
                        "(pip install '.[test]')")
        pytest.skip(f"{name} is not installed (pip install '.[test]')")
    return found


@pytest.fixture(scope="module")
def mypy():
    return _tool("mypy")


@pytest.fixture(scope="module")
def pyright():
    return _tool("basedpyright")


def stubgen_cmd(*args, cwd):
    done = run([sys.executable, "-m", "cffix", "stubgen", *args], cwd, cffix_env(cwd))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done


@pytest.fixture(scope="module")
def api_dir(tmp_path_factory, cc):
    """An API-mode module built by its build script, and its stub from that script."""
    d = tmp_path_factory.mktemp("stub_api")
    (d / "build_stub_api.py").write_text(BUILD_SCRIPT)
    built = run([sys.executable, "build_stub_api.py"], d, cffix_env(d))
    assert built.returncode == 0, built.stderr
    done = stubgen_cmd("build_stub_api.py", cwd=d)
    assert done.stdout.strip() == os.path.join(".", "_stub_api.pyi")
    return d


@pytest.fixture(scope="module")
def ool_dir(tmp_path_factory):
    """An out-of-line module (emit_python_code) and its stub from the module."""
    d = tmp_path_factory.mktemp("stub_ool")
    ffi = FFI()
    ffi.cdef(OOL_CDEF)
    ffi.set_source("_stub_ool", None)
    ffi.emit_python_code(str(d / "_stub_ool.py"))
    stubgen_cmd("_stub_ool", "-o", str(d), cwd=d)
    return d


def test_stub_from_a_build_script_equals_the_stub_from_the_module(api_dir, tmp_path):
    stubgen_cmd("_stub_api", "-o", str(tmp_path), cwd=api_dir)
    from_script = (api_dir / "_stub_api.pyi").read_text().splitlines()
    from_module = (tmp_path / "_stub_api.pyi").read_text().splitlines()
    # only the line naming where it came from differs
    assert [a for a, b in zip(from_script, from_module) if a != b] == [
        "# From build_stub_api.py. Do not edit: generate them again when the cdef changes."]
    assert "    def divmod(a: int, b: int, /) -> tuple[int, int, int]: ..." in from_module


def test_good_user_files_run(api_dir, ool_dir):
    for d, source in ((api_dir, API_GOOD), (ool_dir, OOL_GOOD)):
        (d / "use_good.py").write_text(source)
        done = run([sys.executable, "use_good.py"], d, cffix_env(d))
        assert done.returncode == 0, done.stderr
        assert done.stdout == "ran\n"


def _mypy(mypy, d, *files):
    return run([mypy, "--strict", "--no-incremental", "--cache-dir", os.devnull, *files], d,
               checker_env(d))


def error_lines(output, filename):
    """The line numbers of the errors a checker reported in `filename`."""
    lines = set()
    for line in output.splitlines():
        line = line.strip()
        for prefix in (filename + ":", os.sep + filename + ":"):
            at = line.find(prefix)
            if at >= 0 and " error" in line:
                lines.add(int(line[at + len(prefix):].split(":")[0]))
    return sorted(lines)


@pytest.mark.parametrize("which", ["api", "ool"])
def test_mypy_strict_accepts_the_stubs_and_correct_use(mypy, which, api_dir, ool_dir):
    d, module, good = ((api_dir, "_stub_api", API_GOOD) if which == "api"
                       else (ool_dir, "_stub_ool", OOL_GOOD))
    (d / "use_good.py").write_text(good)
    done = _mypy(mypy, d, f"{module}.pyi", "use_good.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found in 2 source files" in done.stdout


@pytest.mark.parametrize("which", ["api", "ool"])
def test_mypy_reports_misuse(mypy, which, api_dir, ool_dir):
    d, bad, expected = ((api_dir, API_BAD, API_BAD_LINES) if which == "api"
                        else (ool_dir, OOL_BAD, OOL_BAD_LINES))
    (d / "use_bad.py").write_text(bad)
    done = _mypy(mypy, d, "use_bad.py")
    assert done.returncode == 1, done.stdout + done.stderr
    assert error_lines(done.stdout, "use_bad.py") == expected, done.stdout
    if which == "api":
        assert 'Argument 1 to "square" of "_Lib" has incompatible type "str"' in done.stdout
        assert 'Cannot assign to final attribute "LIMIT"' in done.stdout
        assert '"_Lib" has no attribute "no_such_function"' in done.stdout


def _pyright(pyright, d, *files):
    (d / "pyrightconfig.json").write_text(json.dumps({
        "typeCheckingMode": "strict", "pythonVersion": "%d.%d" % sys.version_info[:2]}))
    return run([pyright, "--pythonpath", sys.executable, *files], d, checker_env(d))


@pytest.mark.parametrize("which", ["api", "ool"])
def test_pyright_strict_accepts_the_stubs_and_correct_use(pyright, which, api_dir, ool_dir):
    d, module, good = ((api_dir, "_stub_api", API_GOOD) if which == "api"
                       else (ool_dir, "_stub_ool", OOL_GOOD))
    (d / "use_good.py").write_text(good)
    done = _pyright(pyright, d, f"{module}.pyi", "use_good.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 errors" in done.stdout


@pytest.mark.parametrize("which", ["api", "ool"])
def test_pyright_reports_misuse(pyright, which, api_dir, ool_dir):
    d, bad, expected = ((api_dir, API_BAD, API_BAD_LINES) if which == "api"
                        else (ool_dir, OOL_BAD, OOL_BAD_LINES))
    (d / "use_bad.py").write_text(bad)
    done = _pyright(pyright, d, "use_bad.py")
    assert done.returncode == 1, done.stdout + done.stderr
    assert error_lines(done.stdout, "use_bad.py") == expected, done.stdout
    if which == "api":
        assert '"LIMIT" is declared as Final and cannot be reassigned' in done.stdout


def test_stubgen_errors_are_one_line_without_traceback(tmp_path):
    (tmp_path / "no_builder.py").write_text("x = 1\n")
    (tmp_path / "not_ffi.py").write_text("import os\nffi = os\n")
    (tmp_path / "bad_cdef.py").write_text("import cffix\nffibuilder = cffix.FFI()\n"
                                          "ffibuilder.cdef('int f(int x,;')\n")
    (tmp_path / "raises.py").write_text("raise RuntimeError('no config')\n")
    for target, message in (
            ("bad_cdef.py", "bad_cdef.py: the build script raised CDefError: cannot parse"),
            ("raises", "importing 'raises' raised RuntimeError: no config"),
            ("no_such_module_here", "cannot import 'no_such_module_here'"),
            ("no_builder.py", "defines no 'ffibuilder'"),
            ("no_builder.py:x", "int object, not a cffix.FFI"),
            ("not_ffi", "not a module generated by cffix"),
            ("missing.py", "missing.py: no such file")):
        done = run([sys.executable, "-m", "cffix", "stubgen", target], tmp_path,
                   cffix_env(tmp_path))
        assert done.returncode == 1, (target, done.stderr)
        assert "Traceback" not in done.stderr
        assert message in done.stderr, (target, done.stderr)


def test_what_a_build_script_prints_goes_to_stderr(tmp_path):
    (tmp_path / "build_loud.py").write_text(textwrap.dedent("""
        from cffix import FFI
        print("building...")
        ffibuilder = FFI()
        ffibuilder.cdef("int abs(int);")
        ffibuilder.set_source("_loud", None)
    """))
    done = run([sys.executable, "-m", "cffix", "stubgen", "build_loud.py"], tmp_path,
               cffix_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout == os.path.join(".", "_loud.pyi") + "\n"
    assert done.stderr == "building...\n"


def test_stubgen_needs_set_source(tmp_path):
    (tmp_path / "build_x.py").write_text(textwrap.dedent("""
        from cffix import FFI
        ffibuilder = FFI()
        ffibuilder.cdef("int abs(int);")
    """))
    done = run([sys.executable, "-m", "cffix", "stubgen", "build_x.py"], tmp_path,
               cffix_env(tmp_path))
    assert done.returncode == 1
    assert "set_source() was not called" in done.stderr


def test_dotted_module_names_make_folders(tmp_path):
    (tmp_path / "build_p.py").write_text(textwrap.dedent("""
        from cffix import FFI
        ffibuilder = FFI()
        ffibuilder.cdef("int abs(int);")
        ffibuilder.set_source("pkg.sub._p", None)
    """))
    done = run([sys.executable, "-m", "cffix", "stubgen", "build_p.py", "-o", "out"],
               tmp_path, cffix_env(tmp_path))
    assert done.returncode == 0, done.stderr
    stub = tmp_path / "out" / "pkg" / "sub" / "_p.pyi"
    assert done.stdout.strip() == str(os.path.join("out", "pkg", "sub", "_p.pyi"))
    assert "def abs(arg0: int, /) -> int: ..." in stub.read_text()


def test_declarations_completed_by_the_compiler():
    text = _stub_of("typedef int... t; t f(t); struct s { int a; ...; };"
                    "struct s g(struct s *); enum e { A, ... }; int arr[...];\n#define Y ...\n")
    for line in ("    def f(arg0: int, /) -> int: ...", "    def g(arg0: CData, /) -> CData: ...",
                 "    A: Final[int]", "    Y: Final[int]", "    arr: CData"):
        assert line in text.splitlines(), line
