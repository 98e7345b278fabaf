"""cffi compatibility fixes found by running cffi's own suite (test_cffi_suite.py): each
has its own test here, so that it holds without the download."""

import gc
import os
import weakref

import pytest

import cffix
from cdef_helpers import error_text
from support import run_child


def test_ffi_error_is_ffierror():
    ffi = cffix.FFI()
    assert ffi.error is cffix.FFIError
    assert cffix.FFI.error is cffix.FFIError


def test_ffi_error_catches_a_missing_symbol_of_a_closed_library():
    ffi = cffix.FFI()
    ffi.cdef("int abs(int);")
    lib = ffi.dlopen(None)
    ffi.dlclose(lib)
    with pytest.raises((ffi.error, ValueError)):
        lib.abs(1)


def test_integer_const_reads_defines_and_enumerators():
    ffi = cffix.FFI()
    ffi.cdef("#define FOO 42\n#define BIG 0xffffffffffffffff\nenum e { A = -3, B };")
    assert ffi.integer_const("FOO") == 42
    assert ffi.integer_const("BIG") == 2**64 - 1
    assert ffi.integer_const("A") == -3
    assert ffi.integer_const("B") == -2


def test_integer_const_of_an_included_ffi():
    base = cffix.FFI()
    base.cdef("#define FOO 7")
    ffi = cffix.FFI()
    ffi.include(base)
    assert ffi.integer_const("FOO") == 7


def test_integer_const_unknown_name_is_ffi_error():
    ffi = cffix.FFI()
    ffi.cdef("int f(int);")
    with pytest.raises(ffi.error, match="integer constant 'nope' not found"):
        ffi.integer_const("nope")
    with pytest.raises(ffi.error, match="integer constant 'f' not found"):
        ffi.integer_const("f")  # a function, not a constant


def test_integer_const_with_dots_is_verification_missing():
    ffi = cffix.FFI()
    ffi.cdef("#define FOO ...")
    with pytest.raises(cffix.VerificationMissing):
        ffi.integer_const("FOO")


def test_integer_const_wants_a_str():
    with pytest.raises(TypeError, match="expects a str, got int"):
        cffix.FFI().integer_const(42)


def test_alignof_a_cdata_is_the_alignment_of_its_type():
    ffi = cffix.FFI()
    assert ffi.alignof(ffi.new("int[41]")) == 4
    assert ffi.alignof(ffi.new("int[]", 41)) == 4
    assert ffi.alignof(ffi.new("double *")) == ffi.alignof("double *")
    assert ffi.alignof(ffi.cast("short", 3)) == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"pack": 3}, "'pack' must be a power of two, not 3"),
    ({"pack": -2}, "'pack' must be a power of two, not -2"),
    ({"packed": 2}, "'packed' must be False or True, not 2"),
    ({"packed": True, "pack": 1}, "cannot give both 'pack' and 'packed'"),
])
def test_cdef_pack_and_packed_are_checked(kwargs, message):
    ffi = cffix.FFI()
    with pytest.raises(ValueError) as info:
        ffi.cdef("struct s { char a; int b; };", **kwargs)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("kwargs, size", [({"pack": 2}, 6), ({"packed": True}, 5),
                                          ({"pack": 0}, 8), ({"packed": False}, 8)])
def test_cdef_valid_pack_values_still_work(kwargs, size):
    ffi = cffix.FFI()
    ffi.cdef("struct s { char a; int b; };", **kwargs)
    assert ffi.sizeof("struct s") == size


def test_ffi_keeps_its_libraries_alive():
    ffi = cffix.FFI()
    ffi.cdef("int abs(int);")
    lib = ffi.dlopen(None)
    lib_ref = weakref.ref(lib)
    func = lib.abs
    del lib
    gc.collect()
    assert lib_ref() is not None  # kept by ffi, as in cffi
    assert func(-3) == 3


def test_dlclose_lets_the_library_go():
    ffi = cffix.FFI()
    lib = ffi.dlopen(None)
    lib_ref = weakref.ref(lib)
    ffi.dlclose(lib)
    del lib
    gc.collect()
    assert lib_ref() is None


def test_an_ffi_and_its_libraries_are_collected_together():
    ffi = cffix.FFI()
    lib = ffi.dlopen(None)
    refs = weakref.ref(ffi), weakref.ref(lib)
    del ffi, lib
    gc.collect()
    assert [r() for r in refs] == [None, None]


def test_dlopen_keeps_the_c_messages_for_bad_arguments():
    ffi = cffix.FFI()
    with pytest.raises(TypeError, match="dlopen"):
        ffi.dlopen()


def test_install_as_cffi_maps_cffi_and_backend_to_cffix():
    rc, lines, err = run_child("""
        import sys, os
        import cffix
        cffix.install_as_cffi()
        cffix.install_as_cffi()  # twice is harmless
        import cffi, _cffi_backend
        assert cffi.FFI is cffix.FFI and _cffi_backend.FFI is cffix.compat.BackendFFI
        assert issubclass(_cffi_backend.FFI, cffix.FFI)
        for name in ("CDefError", "FFIError", "VerificationError", "VerificationMissing",
                     "PkgConfigError"):
            assert getattr(cffi, name) is getattr(cffix, name), name
        assert cffi.__version_info__ >= (2, 0, 0)
        assert _cffi_backend.RTLD_NOW == os.RTLD_NOW
        ffi = cffi.FFI()
        ffi.cdef("int abs(int);")
        print(ffi.dlopen(None).abs(-5))
    """, module_name="cffix")
    assert (rc, lines) == (0, ["5"]), err


def test_install_as_cffi_refuses_when_the_real_cffi_is_imported():
    rc, lines, err = run_child("""
        import types
        sys.modules["cffi"] = types.ModuleType("cffi")  # stands for the real cffi
        import cffix
        try:
            cffix.install_as_cffi()
        except RuntimeError as e:
            print("RuntimeError", e)
    """, module_name="cffix")
    assert rc == 0, err
    assert lines[0].startswith(
        "RuntimeError install_as_cffi(): the real 'cffi' is already imported"), lines


def test_install_as_cffi_is_exported():
    assert "install_as_cffi" in cffix.__all__
    assert os.path.basename(cffix.install_as_cffi.__code__.co_filename) == "compat.py"


@pytest.mark.parametrize("keyword, body", [("struct", "{ int a; }"), ("union", "{ int a; }"),
                                           ("enum", "{ V0, V1 }")])
def test_one_anonymous_body_with_several_typedef_declarators_is_one_type(keyword, body):
    ffi = cffix.FFI()
    ffi.cdef(f"typedef {keyword} {body} foo_t, *foo_p, foo_a[2];")
    assert ffi.typeof("foo_p").item is ffi.typeof("foo_t")
    assert ffi.typeof("foo_a").item is ffi.typeof("foo_t")
    assert ffi.getctype("foo_p") == "foo_t *"


def test_a_pointer_typedef_of_an_anonymous_struct_accepts_its_pointers():
    ffi = cffix.FFI()
    ffi.cdef("typedef struct { int a; } foo_t, *foo_p;")
    f = ffi.new("foo_t *", [12345])
    ps = ffi.new("foo_p[]", [f])
    assert ps[0].a == 12345


@pytest.mark.parametrize("text, cname", [
    ("int(*callback)(bool is_valid)", "int(*)(_Bool)"),
    ("int (*foo)(int)", "int(*)(int)"),
    ("int *p", "int *"),
    ("int x[3]", "int[3]"),
    ("char *(*table[4])(void)", "char *(*[4])()"),
])
def test_a_name_in_a_type_string_is_ignored(text, cname):
    ffi = cffix.FFI()
    assert ffi.typeof(text).cname == cname
    assert ffi.typeof(text) is ffi.typeof(cname)


def test_a_named_function_type_string_is_still_a_function_type():
    ffi = cffix.FFI()
    with pytest.raises(cffix.CDefError, match="is a function type, not a pointer-to-function"):
        ffi.typeof("int foobar(int)")


def test_a_typedef_name_in_parentheses_is_still_a_parameter_list():
    ffi = cffix.FFI()
    ffi.cdef("typedef int foo_t;")
    assert ffi.typeof("int(*)(foo_t)").cname == "int(*)(int)"
    with pytest.raises(cffix.CDefError, match="function type"):
        ffi.typeof("int(foo_t)")


def test_a_name_in_a_cast_inside_a_cdef_expression_is_still_an_error():
    ffi = cffix.FFI()
    with pytest.raises(cffix.CDefError):
        ffi.cdef("#define X ((int x)3)")


def test_a_lone_typedef_of_void_as_parameter_list_means_no_parameters():
    ffi = cffix.FFI()
    ffi.cdef("typedef void void_t1; typedef void_t1 void_t;"
             "typedef int (*func_t)(void_t); int g(const void_t);")
    assert ffi.typeof("func_t").args == ()
    assert ffi.typeof("func_t") is ffi.typeof("int(*)(void)")
    assert ffi.typeof("int(*)(void_t)") is ffi.typeof("int(*)(void)")


@pytest.mark.parametrize("source, column", [("int h(void_t x);", 7), ("int k(void_t, int);", 7),
                                            ("int m(int, void_t);", 12),
                                            ("int n(void_t, ...);", 7)])
def test_a_typedef_of_void_elsewhere_in_a_parameter_list_is_still_an_error(source, column):
    ffi = cffix.FFI()
    ffi.cdef("typedef void void_t;")
    with pytest.raises(cffix.CDefError) as info:
        ffi.cdef(source)
    assert f"has type void\nline 1, column {column}:" in error_text(info.value)


def test_list_types_lists_the_types_of_included_ffis_once():
    base = cffix.FFI()
    base.cdef("typedef signed char schar_t; struct sint_t { int x; }; union u { int a; };"
              "typedef struct { int y; } anon_t;")
    middle = cffix.FFI()
    middle.include(base)
    middle.cdef("typedef int own_t; struct sint_t; struct z { int q; };")
    top = cffix.FFI()
    top.include(middle)
    expected = (["anon_t", "own_t", "schar_t"], ["sint_t", "z"], ["u"])
    assert middle.list_types() == top.list_types() == expected
    assert base.list_types() == (["anon_t", "schar_t"], ["sint_t"], ["u"])


def test_a_line_comment_ending_in_a_backslash_continues_on_the_next_line():
    ffi = cffix.FFI()
    ffi.cdef("double // blah \\\n      more comments\nx(void);\n"
             "int // a \\\r\n  b\ny(void);\n")
    lib = ffi.dlopen(None)
    assert "x" in dir(lib) and "y" in dir(lib)
    assert "more" not in dir(lib) and "b" not in dir(lib)


def test_a_spliced_line_comment_counts_its_lines():
    ffi = cffix.FFI()
    with pytest.raises(cffix.CDefError) as info:
        ffi.cdef("int a; // one \\\n two\nnonsense_t b;")
    assert "line 3, column 1" in error_text(info.value)


def test_a_spliced_line_comment_in_a_define_comments_the_next_line_out():
    ffi = cffix.FFI()
    ffi.cdef("#define A 1 // c \\\n  int not_declared(void);\nint f(void);")
    lib = ffi.dlopen(None)
    assert ffi.integer_const("A") == 1
    assert "f" in dir(lib) and "not_declared" not in dir(lib)


@pytest.mark.parametrize("source, first, second", [
    ("struct s { int a; int a; };", "line 1, column 16", "line 1, column 23"),
    ("struct t { int a;\n  struct { int b; int a; }; };", "line 1, column 16", "line 2, column 23"),
    ("union u { struct { int x; }; struct { int x; }; };", "line 1, column 24",
     "line 1, column 43"),
    ("struct v { int a; union { struct { char a; }; }; };", "line 1, column 16",
     "line 1, column 41"),
])
def test_two_members_of_one_name_are_a_cdef_error(source, first, second):
    # gcc rejects them ("duplicate member"); cffi accepts them silently.
    ffi = cffix.FFI()
    with pytest.raises(cffix.CDefError) as info:
        ffi.cdef(source)
    message = error_text(info.value)
    assert message.startswith("duplicate member '")
    assert f"(the first one is at {first})" in message
    assert f"\n{second}:" in message


def test_members_of_one_name_in_different_records_are_fine():
    ffi = cffix.FFI()
    ffi.cdef("struct in { int a; }; struct n { struct in a; int b; struct { int c; }; "
             "union { int d; float e; }; int :3; int :4; };")
    assert [name for name, _ in ffi.typeof("struct n").fields] == ["a", "b", "c", "d", "e"]


@pytest.mark.parametrize("sources, what, here, earlier", [
    (["typedef int x_t;\ntypedef long x_t;"], "typedef x_t", "line 2, column 14",
     "line 1, column 13"),
    (["int f(int);", "\n long f(int);"], "function f", "line 2, column 7",
     "line 1, column 5 of an earlier cdef()"),
    (["int v;", "long v;"], "variable v", "line 1, column 6",
     "line 1, column 5 of an earlier cdef()"),
    (["#define X 1\n#define X 2"], "constant X", "line 2, column 9", "line 1, column 9"),
    (["enum e { A };", "enum e2 { A = 3 };"], "constant A", "line 1, column 11",
     "line 1, column 10 of an earlier cdef()"),
])
def test_a_redeclaration_names_both_positions_after_cffis_message(sources, what, here,
                                                                  earlier):
    ffi = cffix.FFI()
    with pytest.raises(cffix.FFIError) as info:
        for source in sources:
            ffi.cdef(source)
    assert str(info.value) == (
        f"multiple declarations of {what} (for interactive usage, try cdef(xx, "
        f"override=True))\n  {here}: this declaration; the earlier one is at {earlier}")


def test_a_redeclaration_with_override_replaces_without_error():
    ffi = cffix.FFI()
    ffi.cdef("typedef int x_t;")
    ffi.cdef("typedef long x_t;", override=True)
    assert ffi.typeof("x_t") is ffi.typeof("long")
