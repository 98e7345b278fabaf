"""API mode: extern "Python" and extern "Python+C" functions with ffi.def_extern().

Real modules are built here with setuptools and the system compiler: each extern "Python"
declaration becomes a C function of that signature, which C code of the module (the
set_source() preamble, another source file for "Python+C", a thread created in C) calls,
and which calls the Python function def_extern() attached. Every argument and result kind
goes through C and back, and cffi builds the same module as the oracle: each value the
Python function receives and returns, and each error it reports, must be cffi's.
"""

import importlib.util
import sys
import threading

import pytest

import cffix
from cffix import FFI

pytestmark = pytest.mark.usefixtures("cc")  # every test needs a C compiler


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(ffi_class, tmp_path, name, cdef, source, **kwds):
    builder = ffi_class()
    builder.cdef(cdef)
    builder.set_source(name, source, **kwds)
    return load(name, builder.compile(tmpdir=str(tmp_path)))


# ---------------------------------------------------------------- every kind, against cffi

# (suffix, C type, arguments C passes, results the Python function returns; "echo"
# returns the argument it received)
INTS = ["echo", 0, 1.5, None, True, "7"]
KINDS = [
    ("i8", "int8_t", [0, -128, 127], INTS + [127, 128, -129]),
    ("u8", "uint8_t", [0, 255], INTS + [255, 256, -1]),
    ("i16", "int16_t", [-32768, 32767], INTS + [-32769]),
    ("u16", "uint16_t", [65535], INTS + [65536]),
    ("i32", "int32_t", [-2**31, 2**31 - 1], INTS + [2**31]),
    ("u32", "uint32_t", [2**32 - 1], INTS + [2**32, -1]),
    ("i64", "int64_t", [-2**63, 2**63 - 1], INTS + [2**63, -2**63]),
    ("u64", "uint64_t", [0, 2**64 - 1], INTS + [2**64 - 1, 2**64, -1]),
    ("schar", "signed char", [-5], INTS),
    ("uchar", "unsigned char", [200], INTS),
    ("short", "short", [-300], INTS),
    ("ushort", "unsigned short", [60000], INTS),
    ("int", "int", [-7, 7], INTS + [2**40]),
    ("uint", "unsigned int", [4000000000], INTS),
    ("long", "long", [-2**40], INTS),
    ("ulong", "unsigned long", [2**63], INTS),
    ("llong", "long long", [-2**62], INTS),
    ("ullong", "unsigned long long", [2**64 - 1], INTS),
    ("size", "size_t", [12345], INTS),
    ("bool", "_Bool", [True, False], ["echo", 0, 1, 2, -1, None, 1.5]),
    ("char", "char", [b"a", b"\xff"], ["echo", b"z", b"zz", 65, "a", None]),
    ("wchar", "wchar_t", ["a", "\u1234"], ["echo", "b", "bb", 66, b"c"]),
    ("float", "float", [1.5, -0.25, 1e300], ["echo", 2, 2.5, "x", None, 2**1100, True]),
    ("double", "double", [1.5, -1e300], ["echo", 2, 2.5, "x", None, 2**1100]),
    ("ldouble", "long double", [1.5], ["echo", 2.5, 3, "x"]),
    ("color", "enum color", [0, 5, -1], ["echo", 5, 2**40, 1.5, None]),
    ("intp", "int *", ["NULL", ("int *", 0x1000)],
     ["echo", ("int *", 0x2000), ("char *", 0x3000), ("void *", 0x4000), None, 0, b"ab"]),
    ("charp", "char *", ["NULL", ("char *", 0x1000)],
     ["echo", ("char *", 0x2000), ("int *", 0x3000), b"ab", None]),
    ("voidp", "void *", ["NULL", ("void *", 0x1000)],
     ["echo", ("int *", 0x2000), ("void *", 0x3000), None, 5]),
    ("fnptr", "intfn_t", ["NULL", ("intfn_t", 0x1000)],
     ["echo", ("intfn_t", 0x2000), ("void *", 0x3000), None]),
    ("pt", "struct pt", [("struct pt", [1, 2])],
     ["echo", {"x": 5, "y": 6}, [7, 8], "bad", None, 0]),
    ("big", "struct big", [("struct big", [[1, 2, 3, 4, 5]])],
     ["echo", {"v": [9, 8, 7, 6, 5]}, [[1, 2, 3, 4, 5]], "bad"]),
    ("num", "union num", [("union num", [3])], ["echo", {"f": 1.5}, [4], "bad"]),
]

KINDS_TYPES = """
typedef enum { RED, GREEN = 5, BLUE = -1 } enum_color_t;
enum color { C_RED, C_GREEN = 5, C_BLUE = -1 };
struct pt { int x, y; };
struct big { long v[5]; };
union num { int i; float f; };
typedef int (*intfn_t)(int);
"""


def kinds_cdef():
    lines = [KINDS_TYPES]
    for suffix, ctype, _, _ in KINDS:
        lines.append(f'extern "Python" {ctype} cb_{suffix}({ctype});')
        lines.append(f"{ctype} drive_{suffix}({ctype});")
    return "\n".join(lines)


def kinds_source():
    lines = ["#include <stdint.h>", "#include <stddef.h>", "#include <wchar.h>", KINDS_TYPES]
    for suffix, ctype, _, _ in KINDS:
        # (cffi asks the source to declare the functions it uses)
        lines.append(f"static {ctype} cb_{suffix}({ctype});")
        lines.append(f"static {ctype} drive_{suffix}({ctype} x) {{ return cb_{suffix}(x); }}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def kinds(tmp_path_factory, cffi_oracle):
    """The same module built by cffix and by cffi: {"cffix": module, "cffi": module}."""
    out = {}
    for label, ffi_class, flags in (("cffix", FFI, ["-Wall", "-Wextra", "-Werror"]),
                                    ("cffi", cffi_oracle.FFI, [])):
        out[label] = build(ffi_class, tmp_path_factory.mktemp(label), f"_xp_kinds_{label}",
                           kinds_cdef(), kinds_source(), extra_compile_args=flags)
    return out


def make(ffi, spec):
    """A C argument or result described in KINDS, for this ffi."""
    if spec == "NULL":
        return ffi.NULL
    if isinstance(spec, tuple):
        ctype, init = spec
        if isinstance(init, int):
            return ffi.cast(ctype, init)
        return ffi.new(ctype + " *", init)[0]
    return spec


def plain(ffi, value):
    """`value` as plain Python data, comparable between cffi and cffix."""
    if not isinstance(value, ffi.CData):
        return (type(value).__name__, value)
    t = ffi.typeof(value)
    if t.kind in ("struct", "union"):
        return (t.cname, [(name, plain(ffi, getattr(value, name))) for name, _ in t.fields])
    if t.kind == "array":
        return (t.cname, [plain(ffi, item) for item in value])
    if t.kind == "primitive":  # long double
        return (t.cname, float(value))
    return (t.cname, int(ffi.cast("intptr_t", value)))


def outcome(module, suffix, argument, result):
    """What happens when C passes `argument` to cb_<suffix> and its Python function returns
    `result`: (what it received, what C got back, the reported exception types)."""
    ffi, lib = module.ffi, module.lib
    received, reports = [], []

    def python_function(x):
        received.append(plain(ffi, x))
        return x if result == "echo" else make(ffi, result)

    ffi.def_extern(name=f"cb_{suffix}")(python_function)
    saved, sys.unraisablehook = sys.unraisablehook, reports.append
    try:
        got = getattr(lib, f"drive_{suffix}")(make(ffi, argument))
    finally:
        sys.unraisablehook = saved
    return received, plain(ffi, got), [r.exc_type.__name__ for r in reports]


@pytest.mark.parametrize("suffix,ctype,arguments,results", KINDS, ids=[k[0] for k in KINDS])
def test_every_kind_as_cffi(kinds, suffix, ctype, arguments, results):
    for argument in arguments:
        for result in results:
            mine = outcome(kinds["cffix"], suffix, argument, result)
            theirs = outcome(kinds["cffi"], suffix, argument, result)
            assert mine == theirs, (ctype, argument, result)


def test_struct_result_members_not_given_are_zero(kinds):
    # (cffi leaves them as the stack had them)
    ffi, lib = kinds["cffix"].ffi, kinds["cffix"].lib
    ffi.def_extern(name="cb_pt")(lambda p: [7])
    got = lib.drive_pt(ffi.new("struct pt *", [1, 2])[0])
    assert (got.x, got.y) == (7, 0)


def test_struct_argument_is_an_owned_copy(kinds):
    ffi, lib = kinds["cffix"].ffi, kinds["cffix"].lib
    kept = []

    @ffi.def_extern()
    def cb_pt(p):
        kept.append(p)
        return p

    lib.drive_pt(ffi.new("struct pt *", [3, 4])[0])
    assert (kept[0].x, kept[0].y) == (3, 4)  # still valid after C's frame is gone
    assert "owning" in repr(kept[0])


# ---------------------------------------------------------------- behaviour

SOURCE = r"""
#include <errno.h>
#include <pthread.h>

struct job { int n; long sum; };

static void *run_job(void *arg) {
    struct job *j = (struct job *)arg;
    int i;
    for (i = 0; i < j->n; i++) j->sum += add(i, 1);
    return NULL;
}

/* Threads Python did not create, each calling add() n times. */
static long in_threads(int nthreads, int n) {
    pthread_t threads[16];
    struct job jobs[16];
    long total = 0;
    int k;
    if (nthreads > 16) nthreads = 16;
    for (k = 0; k < nthreads; k++) {
        jobs[k].n = n;
        jobs[k].sum = 0;
        pthread_create(&threads[k], NULL, run_job, &jobs[k]);
    }
    for (k = 0; k < nthreads; k++) {
        pthread_join(threads[k], NULL);
        total += jobs[k].sum;
    }
    return total;
}

static long loop(int n) {
    long s = 0;
    int i;
    for (i = 0; i < n; i++) s += add(i, i);
    return s;
}

static int apply(int (*f)(int, int), int a, int b) { return f(a, b); }

static int errno_through(int value) {
    int seen;
    errno = value;
    seen = with_errno(value);
    return seen * 1000 + errno;
}

static void notify_twice(int x) { notify(x); notify(x + 1); }

static int call_unattached(int x) { return never_attached(x); }

/* The source declares them with its own qualifiers: the definitions must agree. */
static int takes_const(const char *, const int *const);
static int call_takes_const(void) {
    int v = 5;
    int (*f)(const char *, const int *const) = takes_const;
    return f("hi", &v);
}

typedef const char *cstr_t;
static cstr_t name_of(cstr_t, const cstr_t);
static int call_name_of(void) { return name_of("abc", "xyz")[0]; }

int twice_from_other_file(int);
"""

CDEF = """
extern "Python" int add(int, int);
extern "Python" { void notify(int); int with_errno(int); }
extern "Python" int never_attached(int);
extern "Python" int takes_const(const char *, const int *const);
typedef const char *cstr_t;
extern "Python" cstr_t name_of(cstr_t, const cstr_t);
extern "Python+C" int from_other_file(int);
long in_threads(int, int);
long loop(int);
int apply(int (*)(int, int), int, int);
int errno_through(int);
void notify_twice(int);
int call_unattached(int);
int call_takes_const(void);
int call_name_of(void);
int twice_from_other_file(int);
"""

OTHER_FILE = r"""
/* Another C file of the same extension: "Python+C" makes the function visible here. */
int from_other_file(int);
int twice_from_other_file(int x) { return 2 * from_other_file(x); }
"""


@pytest.fixture(scope="module")
def mod(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("xp")
    other = tmp / "other_file.c"
    other.write_text(OTHER_FILE)
    return build(FFI, tmp, "_xp_behaviour", CDEF, SOURCE, sources=[str(other)],
                 extra_compile_args=["-pthread", "-Wall", "-Wextra", "-Werror"],
                 extra_link_args=["-pthread"])


@pytest.fixture
def unraisable(monkeypatch):
    reports = []
    monkeypatch.setattr(sys, "unraisablehook", reports.append)
    return reports


def test_lib_holds_the_function_pointer(mod):
    ffi, lib = mod.ffi, mod.lib
    assert ffi.typeof(lib.add) is ffi.typeof("int(*)(int, int)")
    assert repr(lib.add).startswith("<cdata 'int(*)(int, int)' 0x")
    assert ffi.addressof(lib, "add") == lib.add
    assert {"add", "notify", "with_errno", "from_other_file", "loop"} <= set(dir(lib))


def test_called_from_c_in_a_loop(mod):
    ffi, lib = mod.ffi, mod.lib

    @ffi.def_extern()
    def add(a, b):
        return a + b

    assert lib.loop(1000) == sum(2 * i for i in range(1000))
    assert lib.add(20, 22) == 42  # the cdata calls the C function, which calls add()
    assert lib.apply(lib.add, 3, 4) == 7  # passed to C as a callback


def test_def_extern_returns_the_function_and_a_redefinition_replaces_it(mod):
    ffi, lib = mod.ffi, mod.lib

    def first(a, b):
        return 1

    def second(a, b):
        return 2

    assert ffi.def_extern(name="add")(first) is first
    assert lib.apply(lib.add, 0, 0) == 1
    assert ffi.def_extern("add")(second) is second  # the name by position
    assert lib.apply(lib.add, 0, 0) == 2


def test_from_threads_python_did_not_create(mod):
    ffi, lib = mod.ffi, mod.lib
    idents = set()

    @ffi.def_extern()
    def add(a, b):
        idents.add(threading.get_ident())
        return a + b

    assert lib.in_threads(8, 300) == 8 * sum(i + 1 for i in range(300))
    assert threading.get_ident() not in idents and len(idents) >= 1


def test_exception_in_a_foreign_thread(mod, unraisable):
    ffi, lib = mod.ffi, mod.lib

    @ffi.def_extern(name="add", error=-1)
    def failing(a, b):
        raise ValueError(a)

    assert lib.in_threads(2, 3) == -6
    assert [r.exc_type for r in unraisable] == [ValueError] * 6


def test_exception_gives_the_error_value_and_a_report(mod, unraisable):
    ffi, lib = mod.ffi, mod.lib

    @ffi.def_extern(name="add", error=-7)
    def failing(a, b):
        raise KeyError(a)

    assert lib.loop(3) == -21
    assert [r.exc_type for r in unraisable] == [KeyError] * 3
    assert unraisable[0].err_msg.startswith("Exception ignored from cffi callback <function")
    assert "failing" in unraisable[0].err_msg
    assert unraisable[0].exc_traceback is not None


def test_default_error_value_is_zero(mod, unraisable):
    ffi, lib = mod.ffi, mod.lib
    ffi.def_extern(name="add")(lambda a, b: 1 / 0)
    assert lib.apply(lib.add, 1, 2) == 0
    assert [r.exc_type for r in unraisable] == [ZeroDivisionError]


def test_result_that_does_not_convert(mod, unraisable):
    ffi, lib = mod.ffi, mod.lib
    ffi.def_extern(name="add", error=-3)(lambda a, b: "three")
    assert lib.apply(lib.add, 1, 2) == -3
    assert [r.exc_type for r in unraisable] == [TypeError]
    assert unraisable[0].err_msg.endswith(", trying to convert the result back to C")


def test_void_function_must_return_none(mod, unraisable):
    ffi, lib = mod.ffi, mod.lib
    seen = []

    @ffi.def_extern()
    def notify(x):
        seen.append(x)
        return x

    lib.notify_twice(5)
    assert seen == [5, 6]
    assert [r.exc_type for r in unraisable] == [TypeError, TypeError]
    assert "must return None" in str(unraisable[0].exc_value)


def test_onerror_gives_the_result(mod, unraisable):
    ffi, lib = mod.ffi, mod.lib
    handled = []

    def onerror(exc_type, exc_value, tb):
        handled.append((exc_type, str(exc_value), tb is not None))
        return 100

    @ffi.def_extern(name="add", error=-1, onerror=onerror)
    def failing(a, b):
        raise ValueError("nope")

    assert lib.apply(lib.add, 1, 2) == 100
    assert handled == [(ValueError, "nope", True)] and unraisable == []


def test_onerror_returning_none_gives_the_error_value(mod, unraisable):
    ffi, lib = mod.ffi, mod.lib
    ffi.def_extern(name="add", error=-1, onerror=lambda *exc: None)(lambda a, b: 1 / 0)
    assert lib.apply(lib.add, 1, 2) == -1
    assert unraisable == []


def test_onerror_that_fails_is_reported(mod, unraisable):
    ffi, lib = mod.ffi, mod.lib

    def onerror(*exc):
        raise RuntimeError("in onerror")

    ffi.def_extern(name="add", error=-2, onerror=onerror)(lambda a, b: 1 / 0)
    assert lib.apply(lib.add, 1, 2) == -2
    assert [r.exc_type for r in unraisable] == [ZeroDivisionError, RuntimeError]
    assert "'onerror'" in unraisable[1].err_msg


def test_onerror_sees_conversion_errors(mod, unraisable):
    ffi, lib = mod.ffi, mod.lib
    seen = []
    ffi.def_extern(name="add", onerror=lambda t, v, tb: seen.append(t) or 9)(
        lambda a, b: 2**40)
    assert lib.apply(lib.add, 1, 2) == 9
    assert seen == [OverflowError] and unraisable == []


def test_errno_goes_both_ways(mod):
    ffi, lib = mod.ffi, mod.lib
    seen = []

    @ffi.def_extern()
    def with_errno(x):
        seen.append(ffi.errno)  # C's errno when it called
        ffi.errno = x + 1  # C's errno when it gets the result
        return x

    assert lib.errno_through(42) == 42 * 1000 + 43
    assert seen == [42]


def test_called_before_def_extern(mod, capfd):
    lib = mod.lib
    assert lib.call_unattached(5) == 0
    assert lib.never_attached(5) == 0
    err = capfd.readouterr().err
    message = ('extern "Python": function _xp_behaviour.never_attached() called, but no code '
               "was attached to it yet with @ffi.def_extern().  Returning 0.")
    assert err.count(message) == 2


def test_python_plus_c_is_called_from_another_file(mod):
    ffi, lib = mod.ffi, mod.lib

    @ffi.def_extern()
    def from_other_file(x):
        return x * 10

    assert lib.twice_from_other_file(4) == 80


def test_qualifiers_agree_with_the_source(mod):
    ffi, lib = mod.ffi, mod.lib
    seen = []

    @ffi.def_extern()
    def takes_const(s, p):
        seen.append((ffi.string(s), p[0]))
        return 3

    @ffi.def_extern()
    def name_of(a, b):
        return b

    assert lib.call_takes_const() == 3 and seen == [(b"hi", 5)]
    assert lib.call_name_of() == ord("x")


def test_no_leaks(mod):
    ffi, lib = mod.ffi, mod.lib
    result = 10**6 + 7  # not one of the interpreter's cached small ints
    calls = []

    def add(a, b):
        calls.append(1)
        return result

    ffi.def_extern()(add)
    before = (sys.getrefcount(add), sys.getrefcount(result), cffix.live_cdata())
    lib.loop(1000)
    assert (sys.getrefcount(add), sys.getrefcount(result), cffix.live_cdata()) == before
    assert len(calls) == 1000


# ---------------------------------------------------------------- bad inputs


def test_unknown_names_are_ffi_errors(mod):
    ffi = mod.ffi
    for name in ("nope", "loop"):  # nothing, and a function that is not extern "Python"
        with pytest.raises(ffi.error, match=f"ffi.def_extern\\('{name}'\\): no 'extern "
                           "\"Python\"' function with this name"):
            ffi.def_extern(name=name)(lambda: None)
    with pytest.raises(cffix.FFIError):

        @ffi.def_extern()
        def not_declared():
            pass


def test_bad_arguments(mod):
    ffi = mod.ffi
    decorator = ffi.def_extern(name=42)  # checked when applied, as in cffi
    with pytest.raises(TypeError, match="'name' must be a str or None, not int"):
        decorator(lambda a, b: 0)
    with pytest.raises(TypeError, match="expected a callable object, not int"):
        ffi.def_extern(name="add")(42)
    with pytest.raises(TypeError, match="expected a callable object for 'onerror', not int"):
        ffi.def_extern(name="add", onerror=3)(lambda a, b: 0)
    with pytest.raises(TypeError):
        ffi.def_extern(name="add", error="x")(lambda a, b: 0)
    with pytest.raises(OverflowError):
        ffi.def_extern(name="add", error=2**40)(lambda a, b: 0)
    with pytest.raises(TypeError, match="returns void: it takes no error value"):
        ffi.def_extern(name="notify", error=5)(lambda x: None)
    with pytest.raises(TypeError):
        ffi.def_extern("add", 1, None, 4)
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        ffi.def_extern(foo=1)
    decorator = ffi.def_extern("add")
    with pytest.raises(TypeError):
        decorator()
    with pytest.raises(TypeError):
        decorator(lambda a, b: 0, 2)


def test_a_callable_without_a_name_needs_name(mod):
    ffi, lib = mod.ffi, mod.lib

    class Adder:
        def __call__(self, a, b):
            return a * b

    with pytest.raises(AttributeError):
        ffi.def_extern()(Adder())
    adder = Adder()
    assert ffi.def_extern("add")(adder) is adder
    assert lib.apply(lib.add, 6, 7) == 42


def test_a_bad_attachment_keeps_the_previous_one(mod):
    ffi, lib = mod.ffi, mod.lib
    ffi.def_extern(name="add")(lambda a, b: a - b)
    with pytest.raises(OverflowError):
        ffi.def_extern(name="add", error=2**40)(lambda a, b: 0)
    assert lib.apply(lib.add, 5, 3) == 2


def test_only_api_mode_ffis_have_def_extern():
    ffi = FFI()
    ffi.cdef('extern "Python" int cb(int);')
    with pytest.raises(ValueError, match="only available on API-mode FFI objects"):
        ffi.def_extern()
    ffi.set_source("_xp_never_built", "")  # a builder is no module's ffi either
    with pytest.raises(ValueError, match="only available on API-mode FFI objects"):
        ffi.def_extern(name="cb")


def test_variadic_is_refused_by_name(tmp_path):
    ffi = FFI()
    ffi.cdef('extern "Python" int cb(int, ...);')
    ffi.set_source("_xp_variadic", "")
    with pytest.raises(cffix.VerificationError, match="extern \"Python\" function 'cb'.*variadic"):
        ffi.compile(tmpdir=str(tmp_path))


def test_declared_before_the_source_when_it_needs_nothing_from_it(tmp_path):
    ffi = FFI()
    ffi.cdef('struct s { int a; };\n'
             'extern "Python" int plain(const char *, double);\n'
             'extern "Python+C" void *exported(void *);\n'
             'extern "Python" int uses_s(struct s *);')
    ffi.set_source("_xp_declared", "struct s { int a; };")
    path = tmp_path / "_xp_declared.c"
    ffi.emit_c_code(str(path))
    text = path.read_text()
    preamble = text.index("struct s { int a; };")
    plain = text.index("static int plain(char const *_cffix_a0, double _cffix_a1);")
    exported = text.index("void *exported(void *_cffix_a0);")
    assert plain < preamble and exported < preamble
    assert text.index("static int uses_s(") > preamble  # struct s comes from the source


def test_included_module_keeps_its_own(tmp_path, monkeypatch):
    """ffi.include() of a module with extern "Python" functions: the including module's lib
    gives them (the included module's addresses), but def_extern() attaches only to a
    module's own functions, as in cffi."""
    monkeypatch.syspath_prepend(str(tmp_path))
    base = FFI()
    base.cdef('extern "Python" int base_cb(int);\nint call_base_cb(int);')
    base.set_source("_xp_inc_base", "static int call_base_cb(int x) { return base_cb(x); }")
    base.compile(tmpdir=str(tmp_path))
    top = FFI()
    top.include(base)
    top.cdef('extern "Python" int top_cb(int);\nint call_top_cb(int);')
    top.set_source("_xp_inc_top", "static int call_top_cb(int x) { return top_cb(x) + 1; }")
    top.compile(tmpdir=str(tmp_path))
    import _xp_inc_base
    import _xp_inc_top

    ffi, lib = _xp_inc_top.ffi, _xp_inc_top.lib
    assert lib.base_cb == _xp_inc_base.lib.base_cb
    with pytest.raises(ffi.error, match="no 'extern \"Python\"' function with this name"):
        ffi.def_extern(name="base_cb")(lambda x: x)
    _xp_inc_base.ffi.def_extern(name="base_cb")(lambda x: x * 3)
    ffi.def_extern(name="top_cb")(lambda x: x * 5)
    assert (lib.call_base_cb(2), lib.call_top_cb(2)) == (6, 11)
