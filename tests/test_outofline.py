"""Out-of-line ABI mode: set_source(name, None) + compile() / emit_python_code() write a
Python module holding a ready ``ffi``; importing it gives the builder's declarations.

Each test generates modules into its own tmp_path, imports them from there and checks
the imported ffi against the builder's: types, sizes, layouts, enums, constants.
"""

import ast
import importlib
import os
import pathlib
import sys
import warnings

import pytest

import cffix
from cffix import builder as cffix_builder


@pytest.fixture
def load(tmp_path, monkeypatch):
    """load(name) imports a module generated under tmp_path (fresh, by its dotted name)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)

    def load(name):
        importlib.invalidate_caches()
        return importlib.import_module(name)

    yield load
    for name in set(sys.modules) - before:
        if name.startswith(("_ool", "oolpkg")):
            del sys.modules[name]


def make_builder(module_name, *cdefs, includes=()):
    """An FFI with include()s, then cdef()s: each a str or (text, options dict)."""
    ffi = cffix.FFI()
    for other in includes:
        ffi.include(other)
    for item in cdefs:
        text, options = (item, {}) if isinstance(item, str) else item
        ffi.cdef(text, **options)
    ffi.set_source(module_name, None)
    return ffi


def describe(ffi, cdecl):
    """What a type string means to `ffi`, as plain data: kind, cname, size, align, fields
    with their offsets and bitfield positions, enum values, function signature."""
    try:
        t = ffi.typeof(cdecl)
    except (cffix.CDefError, cffix.FFIError, cffix.VerificationMissing) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}  # the same error on both sides
    out = {"kind": t.kind, "cname": t.cname}
    try:
        out["size"], out["align"] = ffi.sizeof(t), ffi.alignof(t)
    except (cffix.FFIError, cffix.VerificationMissing, ValueError, TypeError) as exc:
        out["size"] = type(exc).__name__
    if t.kind in ("struct", "union"):
        try:
            out["fields"] = [(name, f.type.cname, f.offset, f.bitshift, f.bitsize, f.flags)
                             for name, f in t.fields or ()]
        except (cffix.FFIError, cffix.VerificationMissing) as exc:
            out["fields"] = type(exc).__name__
    elif t.kind == "enum":
        out["values"] = sorted(t.relements.items())
    elif t.kind == "function":  # function pointers, as in cffi
        out["signature"] = ([a.cname for a in t.args], t.result.cname, t.ellipsis)
    return out


def all_types(ffi, extra=()):
    """describe() of every typedef, struct and union `ffi` lists, and of `extra`."""
    typedefs, structs, unions = ffi.list_types()
    names = list(typedefs) + [f"struct {s}" for s in structs] + [f"union {u}" for u in unions]
    return {name: describe(ffi, name) for name in names + list(extra)}


def check_same(builder, module, extra=()):
    assert module.ffi.list_types() == builder.list_types()
    assert all_types(module.ffi, extra) == all_types(builder, extra)


# ---------------------------------------------------------------- round trip


LIBRARY_CDEF = """
    typedef unsigned int uint_t;
    struct header {
        unsigned int version : 4;
        unsigned int length : 12;
        signed int delta : 5;
        unsigned char kind;
        uint_t checksum;
    };
    union value { int i; double d; char bytes[8]; };
    struct node { struct node *next; union value v; struct header h[2]; };
    typedef struct { float x, y; } vec2;
    typedef int (*visit_fn)(struct node *, void *);
    typedef void (*log_fn)(const char *fmt, ...);
    enum color { RED, GREEN = 5, BLUE, NEG = -3 };
    typedef enum { SMALL = 1, LARGE = 1000000 } size_class;
    #define MAX_NODES 128
    #define MASK 0xff00
    #define NEGATIVE -17
    int walk(struct node *, visit_fn, void *);
    int logf(const char *fmt, ...);
    extern int counter;
"""


def test_roundtrip_types_sizes_enums(tmp_path, load):
    builder = make_builder("_ool_lib", LIBRARY_CDEF)
    path = builder.compile(tmpdir=tmp_path)
    assert path == os.path.join(str(tmp_path), "_ool_lib.py")
    module = load("_ool_lib")
    assert isinstance(module.ffi, cffix.FFI)
    check_same(builder, module, extra=["enum color", "size_class", "visit_fn", "log_fn"])
    ffi = module.ffi
    assert ffi.typeof("enum color").relements == {"RED": 0, "GREEN": 5, "BLUE": 6, "NEG": -3}
    assert ffi.offsetof("struct node", "h") == builder.offsetof("struct node", "h")
    assert ffi.typeof("log_fn").ellipsis is True


def test_roundtrip_constants(tmp_path, load):
    builder = make_builder("_ool_consts", LIBRARY_CDEF)
    builder.compile(tmpdir=tmp_path)
    lib = load("_ool_consts").ffi.dlopen(None)
    assert (lib.MAX_NODES, lib.MASK, lib.NEGATIVE) == (128, 0xFF00, -17)
    assert (lib.RED, lib.GREEN, lib.BLUE, lib.NEG, lib.LARGE) == (0, 5, 6, -3, 1000000)


def test_emit_python_code_is_what_compile_writes(tmp_path, load):
    builder = make_builder("_ool_emit", LIBRARY_CDEF)
    target = tmp_path / "_ool_emit.py"
    assert builder.emit_python_code(target) is None  # a pathlib.Path is accepted
    emitted = target.read_bytes()
    target.unlink()
    assert builder.compile(tmpdir=str(tmp_path)) == str(target)
    assert target.read_bytes() == emitted
    check_same(builder, load("_ool_emit"), extra=["enum color"])


def test_call_through_dlopen(tmp_path, load):
    """The generated ffi loads a library: strlen from the C library of the process."""
    builder = make_builder("_ool_strlen", "size_t strlen(const char *);")
    builder.compile(tmpdir=tmp_path)
    ffi = load("_ool_strlen").ffi
    assert ffi.dlopen(None).strlen(b"abc") == 3


# ---------------------------------------------------------------- every cdef form


FORMS = {
    "bitfields": ["struct bits { unsigned a : 1; unsigned b : 7; int c : 3; "
                  "unsigned long long d : 40; unsigned : 0; char e; };"],
    "packed": [("struct p { char a; int b; short c; }; struct q { char a; double b; };",
                {"packed": True})],
    "pack2": [("struct p { char a; int b; double c; };", {"pack": 2}),
              "struct unpacked { char a; int b; };"],
    "override": ["typedef int handle_t; struct s { int a; };",
                 ("typedef long handle_t; struct s { double a, b; };", {"override": True})],
    "defines": ["#define A 1\n#define B 0x10\n#define C -5\n#define D 077\n#define E (1 << 4)\n"
                "struct uses { char buf[B]; };"],
    "enums": ["enum e { X, Y = 10, Z }; typedef enum { P = -1, Q = 0x7fffffff } anon_e; "
              "struct has_enum { enum e field; };"],
    "function_pointers": ["typedef int (*cb_t)(int, double); typedef void (*v_t)(void); "
                          "typedef char *(*ret_fp_t(int))(void); "
                          "struct ops { cb_t cb; int (*inline_cb)(const char *, ...); };"],
    "extern_python": ['extern "Python" int on_event(int, void *);\n'
                      'extern "Python+C" void on_done(void);\n'
                      'extern "Python" { int first(int); int second(int); }\n'
                      "struct after { int x; };"],
    "variadic": ["int printf(const char *, ...); int snprintf(char *, size_t, const char *, "
                 "...); typedef int (*vfn_t)(int, ...);"],
    "gnu_attributes": ["struct __attribute__((packed)) gp { char a; int b; }; "
                       "struct al { char c; } __attribute__((aligned(16))); "
                       "typedef int aligned_int __attribute__((aligned(8))); "
                       "int fmt(const char *, ...) __attribute__((format(printf, 1, 2))); "
                       "struct after { aligned_int i; struct gp g; struct al a; };"],
    "partial_struct": ["struct opaque; struct partial { int a; ...; }; "
                       "typedef struct opaque *handle;"],
    "arrays_and_qualifiers": ["struct arr { const char *names[4]; volatile int v; "
                              "double m[2][3]; int tail[]; }; "
                              "typedef const unsigned char key_t[32];"],
    "anonymous_members": ["struct outer { int kind; union { int i; float f; }; "
                          "struct { short lo, hi; }; };"],
    "odd_text": ['/* a comment with """ and \\ and a tab\there */\n'
                 "#define LONG_LINE \\\n  42\n"
                 "struct odd { int x; }; // trailing comment ending with a quote \"\n"],
    "crlf_and_unicode": ["/* caf\u00e9 \u2603 */\r\nstruct crlf { int a; };\r\n"
                         "typedef struct crlf crlf_t;\r\n"],
    "many_calls": [f"struct s{i} {{ int v[{i + 1}]; }};" for i in range(30)],
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_cdef_form_survives(form, tmp_path, load):
    name = f"_ool_form_{form}"
    builder = make_builder(name, *FORMS[form])
    builder.compile(tmpdir=tmp_path)
    module = load(name)
    extra = []
    if form == "enums":
        extra = ["enum e", "anon_e"]
    check_same(builder, module, extra)


def test_pack_and_packed_layouts_are_replayed(tmp_path, load):
    builder = make_builder("_ool_packs", *FORMS["pack2"])
    builder.compile(tmpdir=tmp_path)
    ffi = load("_ool_packs").ffi
    assert ffi.sizeof("struct p") == 14 and ffi.alignof("struct p") == 2
    assert ffi.sizeof("struct unpacked") == 8  # pack= applies to its own cdef() only
    text = (tmp_path / "_ool_packs.py").read_text()
    assert ", pack=2)" in text


def test_override_is_replayed(tmp_path, load):
    builder = make_builder("_ool_override", *FORMS["override"])
    builder.compile(tmpdir=tmp_path)
    ffi = load("_ool_override").ffi
    assert ffi.typeof("handle_t") is ffi.typeof("long")
    assert ffi.sizeof("struct s") == 16


def test_odd_text_is_kept_exactly(tmp_path, load):
    texts = [
        'a """ b', "ends with a quote \"", "back\\slash", "tab\tand\nnewline", "\r\n",
        "trailing backslash \\", "\\\n", "\x00\x01", "\u2028 line separator", "'''",
        "\n  leading newline", "", "unicode caf\u00e9 \U0001f600", 'r"""x"""', '"',
        "\\N{BULLET} not an escape", "\\x41",
    ]
    for text in texts:
        literal = cffix_builder._string_literal(text)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no invalid-escape warnings either
            assert ast.literal_eval(literal) == text, literal
            namespace = {}
            exec(compile(f"x = {literal}\n", "<test>", "exec"), namespace)
        assert namespace["x"] == text, literal


# ---------------------------------------------------------------- include


def test_include_imports_the_other_generated_module(tmp_path, load):
    base = make_builder("_ool_base", "typedef int myint_t; struct point { myint_t x, y; };"
                        "\n#define BASE_CONST 7\n")
    main = make_builder("_ool_main", "struct segment { struct point a, b; myint_t tag; };",
                        includes=[base])
    base.compile(tmpdir=tmp_path)
    main.compile(tmpdir=tmp_path)
    text = (tmp_path / "_ool_main.py").read_text()
    assert "from _ool_base import ffi as _ffi0\n" in text
    assert "ffi.include(_ffi0)\n" in text
    module = load("_ool_main")
    assert module._ffi0 is load("_ool_base").ffi
    ffi = module.ffi
    assert ffi.sizeof("struct segment") == main.sizeof("struct segment") == 20
    assert ffi.typeof("myint_t") is ffi.typeof("int")
    check_same(main, module)


def test_include_order_and_packages(tmp_path, load):
    """include() between cdef()s is replayed in place; dotted names import from packages;
    an include of an include works through the chain."""
    a = make_builder("oolpkg.sub._a", "typedef short a_t;")
    b = make_builder("oolpkg._b", "struct b { a_t x; };", includes=[a])
    c = cffix.FFI()
    c.cdef("struct before { int z; };")
    c.include(b)
    c.cdef("struct c { struct b inner; a_t y; };")
    c.include(a)  # already visible through b: one import, two include() calls
    c.set_source("_ool_c", None)
    assert a.compile(tmpdir=tmp_path) == os.path.join(str(tmp_path), "oolpkg", "sub", "_a.py")
    b.compile(tmpdir=tmp_path)
    c.compile(tmpdir=tmp_path)
    text = (tmp_path / "_ool_c.py").read_text()
    body = text[text.index("ffi = cffix.FFI()"):]
    assert body.index("struct before") < body.index("ffi.include(_ffi0)") < body.index("struct c")
    assert "from oolpkg._b import ffi as _ffi0\n" in text
    assert "from oolpkg.sub._a import ffi as _ffi1\n" in text
    module = load("_ool_c")
    assert module.ffi.sizeof("struct c") == c.sizeof("struct c") == 4
    check_same(c, module)


def test_include_of_an_ffi_without_set_source(tmp_path):
    plain = cffix.FFI()
    plain.cdef("typedef int plain_t;")
    main = make_builder("_ool_bad_include", "plain_t f(void);", includes=[plain])
    with pytest.raises(cffix.VerificationError, match="not prepared with set_source"):
        main.compile(tmpdir=tmp_path)
    assert not (tmp_path / "_ool_bad_include.py").exists()


def test_include_of_itself_by_name(tmp_path):
    other = make_builder("_ool_same", "typedef int t;")
    main = make_builder("_ool_same", "t f(void);", includes=[other])
    with pytest.raises(cffix.VerificationError, match="same module name"):
        main.compile(tmpdir=tmp_path)


# ---------------------------------------------------------------- the generated text


def test_generated_module_header_and_imports(tmp_path):
    base = make_builder("_ool_hb", "typedef int t;")
    main = make_builder("_ool_hm", LIBRARY_CDEF, includes=[base])
    text = pathlib.Path(main.compile(tmpdir=tmp_path)).read_text()
    first = text.splitlines()[0]
    assert "generated by cffix" in first and cffix.__version__ in first
    assert "Do not edit" in text.splitlines()[1]
    imports = []
    for node in ast.parse(text).body:
        if isinstance(node, ast.Import):
            imports += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            imports.append(node.module)
    assert imports == ["cffix", "_ool_hb"]
    assert "ffi = cffix.FFI()\n" in text
    assert "struct node { struct node *next;" in text  # the cdef text, readable


def test_output_is_deterministic(tmp_path):
    def build():
        base = make_builder("_ool_db", "typedef int t;")
        return make_builder("_ool_dm", *FORMS["odd_text"], (LIBRARY_CDEF, {"pack": 4}),
                            *FORMS["override"], includes=[base])

    first, second = build(), build()
    first.emit_python_code(tmp_path / "one.py")
    second.emit_python_code(tmp_path / "two.py")
    assert (tmp_path / "one.py").read_bytes() == (tmp_path / "two.py").read_bytes()
    assert cffix_builder.python_source(first) == cffix_builder.python_source(second)


def test_unchanged_file_is_not_rewritten(tmp_path, capsys):
    builder = make_builder("_ool_same_bytes", "typedef int t;")
    path = pathlib.Path(builder.compile(tmpdir=tmp_path, verbose=True))
    assert capsys.readouterr().out == f"generating {path}\n"
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    assert builder.compile(tmpdir=tmp_path, verbose=True) == str(path)
    assert capsys.readouterr().out == f"generating {path}\n(already up-to-date)\n"
    assert path.stat().st_mtime_ns == 1_000_000_000
    builder.cdef("typedef long u;")  # changed history: written again
    builder.compile(tmpdir=tmp_path)
    assert path.stat().st_mtime_ns != 1_000_000_000
    assert capsys.readouterr().out == ""  # verbose=False prints nothing
    assert [p.name for p in tmp_path.iterdir()] == ["_ool_same_bytes.py"]  # no temp files


def test_cdef_keyword_arguments_are_recorded(tmp_path, load):
    ffi = cffix.FFI()
    ffi.cdef(csource="struct k { char a; int b; };", pack=1)
    ffi.cdef("struct l { char a; int b; };", packed=True)
    ffi.set_source("_ool_kw", None)
    ffi.compile(tmpdir=tmp_path)
    module = load("_ool_kw")
    assert module.ffi.sizeof("struct k") == module.ffi.sizeof("struct l") == 5


# ---------------------------------------------------------------- set_source, bad inputs


@pytest.mark.parametrize("name", ["", "bad-name", "a..b", ".a", "a.", "class", "x.def.y",
                                  "1abc", "a b"])
def test_set_source_bad_module_names(name):
    with pytest.raises(ValueError, match="not a module name"):
        cffix.FFI().set_source(name, None)


def test_set_source_bad_types():
    ffi = cffix.FFI()
    with pytest.raises(TypeError, match="'module_name' must be a string"):
        ffi.set_source(b"_m", None)
    with pytest.raises(TypeError, match="'module_name' must be a string"):
        ffi.set_source(3, None)
    with pytest.raises(TypeError, match="'source' must be a str"):
        ffi.set_source("_m", b"int x;")
    with pytest.raises(TypeError):
        ffi.set_source("_m")


def test_set_source_twice():
    ffi = cffix.FFI()
    ffi.set_source("_ool_once", None, libraries=["m"])  # compiler options: ignored here
    with pytest.raises(ValueError, match="cannot be called several times"):
        ffi.set_source("_ool_other", None)


@pytest.mark.parametrize("method", ["compile", "emit_python_code", "emit_c_code",
                                    "distutils_extension"])
def test_methods_before_set_source(method, tmp_path):
    ffi = cffix.FFI()
    ffi.cdef("int x;")
    args = [str(tmp_path / "out.py")] if method.startswith("emit") else []
    with pytest.raises(ValueError, match=rf"set_source\(\) must be called before {method}\(\)"):
        getattr(ffi, method)(*args)
    assert list(tmp_path.iterdir()) == []


def test_api_mode_only_methods_in_abi_mode(tmp_path):
    ffi = make_builder("_ool_abi", "int x;")
    with pytest.raises(TypeError, match="only for C extension modules"):
        ffi.emit_c_code(str(tmp_path / "x.c"))
    with pytest.raises(TypeError, match="only for C extension modules"):
        ffi.distutils_extension()


def test_bad_paths(tmp_path):
    ffi = make_builder("_ool_paths", "int x;")
    with pytest.raises(TypeError, match="'filename' must be a str, a path or a file object"):
        ffi.emit_python_code(3)
    with pytest.raises(TypeError, match="'tmpdir' must be a str or path"):
        ffi.compile(tmpdir=None)
    with pytest.raises(FileNotFoundError):
        ffi.emit_python_code(tmp_path / "missing" / "x.py")
    (tmp_path / "a_file").write_text("")
    with pytest.raises(OSError):
        ffi.compile(tmpdir=tmp_path / "a_file")
    # A directory that does not exist yet is created, as cffi does.
    path = ffi.compile(tmpdir=tmp_path / "new" / "dir", target="ignored.so", debug=True)
    assert path == str(tmp_path / "new" / "dir" / "_ool_paths.py")
    assert os.path.isfile(path)


def test_failed_cdef_blocks_generation(tmp_path):
    ffi = cffix.FFI()
    ffi.cdef("struct ok { int a; };")
    with pytest.raises(cffix.CDefError):
        ffi.cdef("struct half { int a; }; struct half { int b; };")  # declares half first
    ffi.set_source("_ool_failed", None)
    with pytest.raises(cffix.VerificationError, match="a cdef\\(\\) call on this FFI failed"):
        ffi.compile(tmpdir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_cdef_argument_errors_do_not_block_generation(tmp_path, load):
    ffi = cffix.FFI()
    with pytest.raises(TypeError):
        ffi.cdef(b"int x;")
    ffi.cdef("struct fine { int a; };")
    ffi.set_source("_ool_fine", None)
    ffi.compile(tmpdir=tmp_path)
    assert load("_ool_fine").ffi.sizeof("struct fine") == 4


def test_a_declared_symbol_missing_from_the_library_is_ffi_error(tmp_path, load):
    # As in cffi's generated modules: ffi.error "symbol 'f' not found in library ..."; an
    # FFI made in the program keeps cffi.FFI's AttributeError (KeyError for a variable).
    builder = make_builder("_ool_missing", "int no_such_function(int); extern int no_such_var;")
    builder.compile(tmpdir=tmp_path)
    ffi = load("_ool_missing").ffi
    lib = ffi.dlopen(None)
    for name in ("no_such_function", "no_such_var"):
        with pytest.raises(ffi.error) as info:
            getattr(lib, name)
        assert str(info.value).startswith(f"symbol '{name}' not found in library '<None>': ")
    inline = cffix.FFI()
    inline.cdef("int no_such_function(int);")
    with pytest.raises(AttributeError, match="function/symbol 'no_such_function' not found"):
        inline.dlopen(None).no_such_function


def test_failing_cdefs_on_a_long_lived_ffi_keep_one_record(tmp_path):
    # The history keeps what generation needs: the first failure only, not one record per
    # failed call (a long-lived FFI that keeps failing does not grow without bound).
    ffi = cffix.FFI()
    for i in range(1000):
        with pytest.raises(cffix.CDefError):
            ffi.cdef(f"struct s{i} {{ int a; int a; }};")
    history = ffi._cffix_state["_cffix_history"]
    assert [entry[0] for entry in history] == ["failed"]
    assert "duplicate member" in history[0][1]
    ffi.set_source("_ool_failed_many", None)
    with pytest.raises(cffix.VerificationError, match="duplicate member"):
        ffi.compile(tmpdir=tmp_path)


@pytest.mark.parametrize("cdef,exception,text", [
    ("#define FOO ...", cffix.VerificationError,
     "macro FOO: cannot use the syntax '...' in '#define FOO ...' when using the ABI mode"),
    ("enum foo { A, B, ... };", cffix.VerificationMissing, "enum foo: an enum with '...'"),
    ("typedef int... t;", cffix.VerificationError, "cannot emit to Python: the size of typedef t"),
    ("extern int a[...];", cffix.VerificationError, "cannot emit to Python: the size of global a"),
    # Array lengths past cffi's out-of-line limit, wherever the array type is reachable.
    ("typedef int32_t t[3000000000];", OverflowError, "cannot emit '3000000000': limited to 2**31-1"),
    ("extern char a[2147483648];", OverflowError, "cannot emit '2147483648': limited to 2**31-1"),
    ("struct s { int (*p)[4000000000]; };", OverflowError, "cannot emit '4000000000'"),
    ("int f(char (*x)[2147483650]);", OverflowError, "cannot emit '2147483650'"),
])
def test_what_only_a_compiler_knows_is_refused(tmp_path, cdef, exception, text):
    # As cffi: an out-of-line ABI module cannot hold '...' values, sizes or lengths (a
    # partial struct is generated: its uses raise VerificationMissing, as in the FFI).
    ffi = cffix.FFI()
    ffi.cdef(cdef)
    ffi.set_source("_ool_dots", None)
    with pytest.raises(exception) as e:
        ffi.compile(tmpdir=tmp_path)
    assert str(e.value).startswith(text)
    assert list(tmp_path.iterdir()) == []


def test_array_lengths_up_to_cffis_limit_are_generated(tmp_path, load):
    ffi = cffix.FFI()
    ffi.cdef("typedef int32_t t[2147483647]; extern char big[2147483647];")
    ffi.set_source("_ool_long_array", None)
    ffi.compile(tmpdir=tmp_path)
    assert load("_ool_long_array").ffi.typeof("t").length == 2147483647


def test_a_closed_librarys_names_raise_ffi_error_in_an_out_of_line_module(tmp_path, load):
    # cffi's out-of-line modules: ffi.error "library '...' has been closed" (a ValueError
    # too, which cffi.FFI's dlopen() raises: "... has already been closed").
    ffi = cffix.FFI()
    ffi.cdef("int abs(int);")
    ffi.set_source("_ool_closed", None)
    ffi.compile(tmpdir=tmp_path)
    module = load("_ool_closed")
    lib = module.ffi.dlopen(None)
    assert lib.abs(-3) == 3
    module.ffi.dlclose(lib)
    with pytest.raises(module.ffi.error) as e:
        lib.abs
    assert isinstance(e.value, ValueError) and str(e.value).endswith("' has been closed")
    module.ffi.dlclose(lib)  # does not raise
    plain = cffix.FFI()
    plain.cdef("int abs(int);")
    lib = plain.dlopen(None)
    plain.dlclose(lib)
    with pytest.raises(ValueError, match="has already been closed") as e:
        lib.abs
    assert not isinstance(e.value, cffix.FFIError)
