"""ABI mode: ffi.dlopen / ffi.dlclose and the Lib object.

libc and libm from the system; tests/clib/globals.c compiled by the tests into a shared
library for global variables, addressof, asm labels and symbols that are missing.
"""

import ctypes
import ctypes.util
import gc
import os
import pathlib
import subprocess
import sys
import threading

import pytest

import cffix

GLOBALS_CDEF = """
    struct point { int x, y; };
    extern int counter;
    extern int numbers[5];
    extern int open_numbers[];
    extern struct point origin;
    extern const int answer;
    extern const char *greeting;
    extern double ratio;
    extern int (*callback_ptr)(int);
    int add(int, int);
    int get_counter(void);
    void bump_counter(void);
    int sum_numbers(void);
    int point_sum(const struct point *);
    int call_callback(int);
    int negate(int);
    #define SEVEN 7
    #define BIG 0xFFFFFFFFFFFFFFFF
    enum color { RED, GREEN = 5, BLUE };
"""


@pytest.fixture(scope="session")
def globals_path(build_clib):
    """tests/clib/globals.c built as a shared library (once per session)."""
    return build_clib("globals", ["-O1"])


@pytest.fixture
def glib(globals_path):
    """(ffi, lib) for the globals library; the variables are reset to their C values."""
    ffi = cffix.FFI()
    ffi.cdef(GLOBALS_CDEF)
    lib = ffi.dlopen(globals_path)
    yield ffi, lib
    ffi2 = cffix.FFI()
    ffi2.cdef(GLOBALS_CDEF)
    fresh = ffi2.dlopen(globals_path)  # the same mapping: put the C values back
    fresh.counter = 42
    fresh.numbers = [1, 2, 3, 4, 5]
    fresh.origin = (3, 4)
    fresh.ratio = 0.5
    fresh.callback_ptr = ffi2.cast("int(*)(int)", 0)


def _libm_full_path():
    """libm's absolute path: the soname from find_library, in the usual directories,
    else the mapping of the loaded library in /proc/self/maps (Linux)."""
    soname = ctypes.util.find_library("m")
    if soname is None:
        pytest.skip("no libm")
    if os.path.isabs(soname):
        return soname
    dirs = ["/lib64", "/usr/lib64", "/lib", "/usr/lib"]
    multiarch = getattr(sys.implementation, "_multiarch", None)
    if multiarch:
        dirs[:0] = [f"/lib/{multiarch}", f"/usr/lib/{multiarch}"]
    for d in dirs:
        path = os.path.join(d, soname)
        if os.path.isfile(path):
            return path
    ctypes.CDLL(soname)
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1]
                if os.path.basename(path) == soname:
                    return path
    except OSError:
        pass
    pytest.skip("cannot locate libm's file")


# ---------------------------------------------------------------- loading


def test_dlopen_none_is_libc(ffi):
    ffi.cdef("size_t strlen(const char *);")
    lib = ffi.dlopen(None)
    assert lib.strlen(b"hello") == 5
    assert repr(lib) == "<Lib object for '<None>'>"


def test_dlopen_c_by_name(ffi):
    ffi.cdef("size_t strlen(const char *); int abs(int);")
    lib = ffi.dlopen("c")
    assert lib.abs(-3) == 3
    assert lib.strlen(b"abc") == 3


def test_dlopen_m_by_name(ffi):
    ffi.cdef("double sqrt(double); double cos(double);")
    lib = ffi.dlopen("m")
    assert lib.sqrt(16.0) == 4.0
    assert lib.cos(0.0) == 1.0
    # the name reported is the file find_library() located, as in cffi
    assert repr(lib) == f"<Lib object for '{ctypes.util.find_library('m')}'>"


def test_dlopen_m_by_full_path(ffi):
    path = _libm_full_path()
    ffi.cdef("double sqrt(double);")
    lib = ffi.dlopen(path)
    assert lib.sqrt(2.25) == 1.5
    assert repr(lib) == f"<Lib object for '{path}'>"


def test_dlopen_path_object(ffi, globals_path):
    # a cffix extension: os.PathLike names (cffi takes str only)
    ffi.cdef("int add(int, int);")
    lib = ffi.dlopen(pathlib.Path(globals_path))
    assert lib.add(2, 3) == 5


def test_dlopen_keywords_and_flags(ffi, globals_path):
    ffi.cdef("int add(int, int);")
    lib = ffi.dlopen(name=globals_path, flags=ffi.RTLD_LAZY | ffi.RTLD_LOCAL)
    assert lib.add(1, 1) == 2
    lib = ffi.dlopen(globals_path, ffi.RTLD_NOW | ffi.RTLD_GLOBAL)
    assert lib.add(1, 2) == 3


def test_rtld_constants():
    for name in ["RTLD_LAZY", "RTLD_NOW", "RTLD_GLOBAL", "RTLD_LOCAL", "RTLD_NODELETE",
                 "RTLD_NOLOAD", "RTLD_DEEPBIND"]:
        if hasattr(os, name):
            assert getattr(cffix.FFI, name) == getattr(os, name), name
            assert getattr(cffix.FFI(), name) == getattr(os, name), name


def test_rtld_constants_match_cffi(cffi_oracle):
    for name in dir(cffi_oracle.FFI):
        if name.startswith("RTLD_"):
            assert getattr(cffix.FFI, name) == getattr(cffi_oracle.FFI, name), name


@pytest.mark.skipif(not hasattr(os, "RTLD_NOLOAD"), reason="no RTLD_NOLOAD")
def test_rtld_noload(ffi, tmp_path, cc):
    src = tmp_path / "never.c"
    src.write_text("int never_loaded(void) { return 1; }\n")
    so = tmp_path / "libnever.so"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(so), str(src)], check=True)
    ffi.cdef("int never_loaded(void);")
    with pytest.raises(OSError):
        ffi.dlopen(str(so), ffi.RTLD_NOW | ffi.RTLD_NOLOAD)
    assert ffi.dlopen(str(so)).never_loaded() == 1
    again = ffi.dlopen(str(so), ffi.RTLD_NOW | ffi.RTLD_NOLOAD)  # loaded now
    assert again.never_loaded() == 1


def test_dlopen_void_pointer_handle(ffi, globals_path):
    ffi.cdef("int add(int, int);")
    handle = ctypes.CDLL(globals_path)._handle
    lib = ffi.dlopen(ffi.cast("void *", handle))
    assert lib.add(20, 22) == 42
    assert repr(lib) == f"<Lib object for '{hex(handle)}'>"
    ffi.dlclose(lib)  # does not close the caller's handle
    again = ffi.dlopen(ffi.cast("void *", handle))
    assert again.add(1, 2) == 3


def test_dlopen_bad_handles(ffi):
    with pytest.raises(RuntimeError, match=r"cannot call dlopen\(NULL\)"):
        ffi.dlopen(ffi.NULL)
    with pytest.raises(TypeError, match="not 'int \\*'"):
        ffi.dlopen(ffi.cast("int *", 1))
    with pytest.raises(TypeError):
        ffi.dlopen(ffi.new("int *"))


def test_release_gil_option(ffi, globals_path):
    ffi.cdef("int add(int, int);")
    lib = ffi.dlopen(globals_path, release_gil=False)
    assert lib.add(3, 4) == 7
    lib = ffi.dlopen(globals_path, 0, release_gil=True)
    assert lib.add(3, 5) == 8
    with pytest.raises(TypeError):
        ffi.dlopen(globals_path, 0, False)  # keyword-only


# ---------------------------------------------------------------- loading errors


def test_dlopen_missing_file(ffi, tmp_path):
    path = str(tmp_path / "nothere.so")
    with pytest.raises(OSError) as info:
        ffi.dlopen(path)
    message = str(info.value)
    assert message.startswith(f"cannot load library '{path}': ")
    assert "find_library() did not manage to locate a library called" in message


def test_dlopen_missing_name(ffi):
    with pytest.raises(OSError, match="ctypes.util.find_library\\(\\) did not manage to locate "
                                      "a library called 'cffix_no_such_library'"):
        ffi.dlopen("cffix_no_such_library")


def test_dlopen_not_a_library(ffi, tmp_path):
    bad = tmp_path / "bad.so"
    bad.write_text("not an ELF file")
    with pytest.raises(OSError, match="cannot load library"):
        ffi.dlopen(str(bad))


def test_dlopen_error_messages_match_cffi(ffi, cffi_oracle, tmp_path):
    path = str(tmp_path / "nothere.so")
    for name in [path, "cffix_no_such_library"]:
        with pytest.raises(OSError) as ours:
            ffi.dlopen(name)
        with pytest.raises(OSError) as theirs:
            cffi_oracle.FFI().dlopen(name)
        assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("name", [3, 1.5, b"m", ["m"], object()])
def test_dlopen_bad_name_type(ffi, name):
    with pytest.raises(TypeError, match="name must be a file name, None, or an already-opened "
                                        "'void \\*' handle"):
        ffi.dlopen(name)


def test_dlopen_bad_arguments(ffi):
    with pytest.raises(TypeError):
        ffi.dlopen()
    with pytest.raises(TypeError):
        ffi.dlopen("m", "x")
    with pytest.raises(TypeError):
        ffi.dlopen("m", 1.0)
    with pytest.raises(TypeError):
        ffi.dlopen("m", 0, bogus=1)
    with pytest.raises(TypeError):
        ffi.dlopen("m", 0, flags=0)
    with pytest.raises(ValueError):
        ffi.dlopen("m\0x")


def test_dlclose_not_a_library(ffi):
    for obj in [3, None, ffi, ffi.NULL]:
        with pytest.raises(TypeError, match="dlclose\\(\\) expects a library"):
            ffi.dlclose(obj)


# ---------------------------------------------------------------- functions


def test_function_is_cached(glib):
    ffi, lib = glib
    f = lib.add
    assert lib.add is f
    assert lib.__dict__["add"] is f
    assert repr(f).startswith("<cdata 'int(*)(int, int)' 0x")
    assert ffi.typeof(f) is ffi.typeof("int(*)(int, int)")
    assert f(40, 2) == 42


def test_functions_are_cdata_of_type_ffi_cdata(glib):
    """As in cffi: type(lib.f) is ffi.CData itself (a plain cdata of function type, with a
    call path of its own); other cdata of that type are not callable."""
    ffi, lib = glib
    f = lib.add
    assert type(f) is ffi.CData and isinstance(f, ffi.CData)
    assert f(1, 2) == 3 and f(2, 3) == 5  # the general entry, then the specialized one
    variadic = cffix.FFI()
    variadic.cdef("int snprintf(char *, size_t, const char *, ...);")
    snprintf = variadic.dlopen(None).snprintf
    assert type(snprintf) is variadic.CData
    buf = variadic.new("char[16]")
    assert snprintf(buf, 16, b"%d-%s", variadic.cast("int", 7), b"x") == 3
    assert variadic.string(buf) == b"7-x"
    p = ffi.cast("int *", 0)
    assert type(p) is ffi.CData
    with pytest.raises(TypeError, match="cdata 'int \\*' is not callable"):
        p()
    with pytest.raises(TypeError, match="keyword"):
        f(1, b=2)
    del f
    gc.collect()
    assert lib.add(20, 22) == 42


def test_function_first_access_from_threads(glib):
    _, lib = glib
    results = []
    barrier = threading.Barrier(4)

    def worker():
        barrier.wait()
        results.append(lib.point_sum)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r is results[0] for r in results)


def test_missing_function(ffi, globals_path):
    ffi.cdef("int no_such_function(int);")
    lib = ffi.dlopen(globals_path)
    with pytest.raises(AttributeError) as info:
        lib.no_such_function
    message = str(info.value)
    assert "'no_such_function'" in message
    assert f"library '{globals_path}'" in message
    assert not hasattr(lib, "no_such_function")


def test_asm_label_function(ffi, globals_path):
    ffi.cdef('int twice(int) __asm__("real_twice");')
    lib = ffi.dlopen(globals_path)
    assert lib.twice(21) == 42
    assert "twice" in dir(lib)


def test_asm_label_missing(ffi, globals_path):
    ffi.cdef('int twice(int) __asm__("no_real_twice");')
    lib = ffi.dlopen(globals_path)
    with pytest.raises(AttributeError, match="'twice' \\(asm label 'no_real_twice'\\) not found"):
        lib.twice


def test_asm_label_glibc_rename(ffi):
    # glibc's <stdio.h> renames sscanf to __isoc99_sscanf: a cdef can say so
    ffi.cdef('int sscanf(const char *, const char *, ...) __asm__("__isoc99_sscanf");')
    lib = ffi.dlopen(None)
    p = ffi.new("int *")
    assert lib.sscanf(b"17", b"%d", p) == 1
    assert p[0] == 17


def test_extern_python_not_in_dlopen_lib(ffi, globals_path):
    ffi.cdef('extern "Python" int py_callback(int); int add(int, int);')
    lib = ffi.dlopen(globals_path)
    with pytest.raises(AttributeError, match="extern \"Python\""):
        lib.py_callback
    assert "py_callback" not in dir(lib)


def test_setting_a_function(glib):
    _, lib = glib
    with pytest.raises(AttributeError, match="cannot write to function or constant 'add'"):
        lib.add = 3
    with pytest.raises(AttributeError, match="cannot write to function or constant 'SEVEN'"):
        lib.SEVEN = 3


# ---------------------------------------------------------------- constants


def test_constants(glib):
    _, lib = glib
    assert lib.SEVEN == 7
    assert lib.BIG == 2**64 - 1
    assert (lib.RED, lib.GREEN, lib.BLUE) == (0, 5, 6)
    assert type(lib.RED) is int
    assert lib.__dict__["SEVEN"] == 7  # cached


def test_partial_constants(ffi, globals_path):
    ffi.cdef("#define LATER ...\nenum partial { P1, P2, ... };")
    lib = ffi.dlopen(globals_path)
    with pytest.raises(cffix.VerificationMissing, match="'LATER'"):
        lib.LATER
    with pytest.raises(cffix.VerificationMissing, match="enum partial"):
        lib.P1


def test_constants_match_cffi(glib, cffi_oracle, globals_path):
    _, lib = glib
    offi = cffi_oracle.FFI()
    offi.cdef(GLOBALS_CDEF)
    olib = offi.dlopen(globals_path)
    for name in ["SEVEN", "BIG", "RED", "GREEN", "BLUE"]:
        assert getattr(lib, name) == getattr(olib, name), name


# ---------------------------------------------------------------- global variables


def test_int_variable(glib):
    _, lib = glib
    assert lib.counter == 42
    lib.counter = 7
    assert lib.get_counter() == 7
    lib.bump_counter()
    assert lib.counter == 8  # read again: not cached
    assert "counter" not in lib.__dict__


def test_variable_conversion_errors(glib):
    _, lib = glib
    with pytest.raises(TypeError):
        lib.counter = "x"
    with pytest.raises(OverflowError):
        lib.counter = 2**40
    assert lib.counter == 42


def test_double_and_pointer_variables(glib):
    ffi, lib = glib
    assert lib.ratio == 0.5
    lib.ratio = 2.5
    assert lib.ratio == 2.5
    assert ffi.typeof(lib.greeting) is ffi.typeof("char *")
    assert ffi.string(lib.greeting) == b"hello"


def test_array_variable(glib):
    ffi, lib = glib
    a = lib.numbers
    assert ffi.typeof(a) is ffi.typeof("int[5]")
    assert list(a) == [1, 2, 3, 4, 5]
    a[0] = 10  # a view on the library's memory
    assert lib.sum_numbers() == 24
    lib.numbers = [0, 0, 0, 0, 1]
    assert lib.sum_numbers() == 1
    with pytest.raises(IndexError):
        lib.numbers = [0] * 6


def test_open_array_variable(glib):
    ffi, lib = glib
    p = lib.open_numbers  # `int x[]`: a pointer to the first item, as in cffi
    assert ffi.typeof(p) is ffi.typeof("int *")
    assert [p[0], p[1], p[2]] == [10, 20, 30]


def test_struct_variable(glib):
    ffi, lib = glib
    s = lib.origin
    assert ffi.typeof(s) is ffi.typeof("struct point")
    assert repr(s).startswith("<cdata 'struct point &' 0x")
    assert (s.x, s.y) == (3, 4)
    s.x = 10
    assert lib.point_sum(ffi.addressof(lib, "origin")) == 14
    lib.origin = (1, 2)
    assert (s.x, s.y) == (1, 2)
    lib.origin = {"y": 5}
    assert (s.x, s.y) == (1, 5)


def test_struct_view_keeps_library_alive(globals_path):
    ffi = cffix.FFI()
    ffi.cdef(GLOBALS_CDEF)
    s = ffi.dlopen(globals_path).origin
    gc.collect()
    assert (s.x, s.y) == (3, 4)


def test_const_variable(glib):
    _, lib = glib
    assert lib.answer == 42  # cffi cannot read const globals from a dlopen() library
    with pytest.raises(AttributeError, match="cannot write to const global variable 'answer'"):
        lib.answer = 1
    assert lib.answer == 42


def test_function_pointer_variable(glib):
    ffi, lib = glib
    assert lib.callback_ptr == ffi.NULL
    assert lib.call_callback(5) == -1
    lib.callback_ptr = lib.negate
    assert lib.callback_ptr == lib.negate
    assert lib.call_callback(5) == -5
    lib.callback_ptr = ffi.cast("int(*)(int)", 0)
    assert lib.call_callback(5) == -1


def test_missing_variable(ffi, globals_path):
    ffi.cdef("extern int no_such_variable;")
    lib = ffi.dlopen(globals_path)
    with pytest.raises(AttributeError) as info:
        lib.no_such_variable
    assert "variable 'no_such_variable' not found" in str(info.value)
    assert globals_path in str(info.value)
    with pytest.raises(AttributeError):
        lib.no_such_variable = 1


def test_asm_label_variable(ffi, globals_path):
    ffi.cdef('extern int renamed __asm__("counter");')
    lib = ffi.dlopen(globals_path)
    assert lib.renamed == 42


def test_partial_struct_variable(ffi, globals_path):
    ffi.cdef("struct point { int x; ...; }; extern struct point origin;")
    lib = ffi.dlopen(globals_path)
    with pytest.raises(cffix.VerificationMissing):
        lib.origin


def test_variables_match_cffi(glib, cffi_oracle, globals_path):
    ffi, lib = glib
    offi = cffi_oracle.FFI()
    offi.cdef(GLOBALS_CDEF.replace("extern const int answer;", ""))
    olib = offi.dlopen(globals_path)
    for name in ["counter", "numbers", "open_numbers", "origin", "greeting", "ratio"]:
        ours, theirs = getattr(lib, name), getattr(olib, name)
        if isinstance(theirs, offi.CData):
            assert repr(ffi.typeof(ours)).replace("cffix", "") == \
                repr(offi.typeof(theirs)).replace("cffi", "")
            assert str(ours).split(" 0x")[0] == str(theirs).split(" 0x")[0]
            if offi.typeof(theirs).kind == "struct":
                ours, theirs = ffi.addressof(ours), offi.addressof(theirs)
            assert int(ffi.cast("uintptr_t", ours)) == int(offi.cast("uintptr_t", theirs))
        else:
            assert ours == theirs


# ---------------------------------------------------------------- addressof


def test_addressof_variables(glib):
    ffi, lib = glib
    p = ffi.addressof(lib, "counter")
    assert ffi.typeof(p) is ffi.typeof("int *")
    assert p[0] == 42
    p[0] = 99
    assert lib.counter == 99
    a = ffi.addressof(lib, "numbers")
    assert ffi.typeof(a) is ffi.typeof("int[5]")
    assert ffi.typeof(ffi.addressof(lib, "origin")) is ffi.typeof("struct point *")
    assert ffi.typeof(ffi.addressof(lib, "open_numbers")) is ffi.typeof("int *")
    assert ffi.addressof(lib, "counter") == ffi.addressof(lib, "counter")


def test_addressof_function(glib):
    ffi, lib = glib
    assert ffi.addressof(lib, "add") is lib.add


def test_addressof_matches_cffi(glib, cffi_oracle, globals_path):
    ffi, lib = glib
    offi = cffi_oracle.FFI()
    offi.cdef(GLOBALS_CDEF.replace("extern const int answer;", ""))
    olib = offi.dlopen(globals_path)
    for name in ["counter", "numbers", "open_numbers", "origin", "add"]:
        ours, theirs = ffi.addressof(lib, name), offi.addressof(olib, name)
        assert str(ours).split(" 0x")[0] == str(theirs).split(" 0x")[0]
        assert int(ffi.cast("uintptr_t", ours)) == int(offi.cast("uintptr_t", theirs))


def test_addressof_errors(glib):
    ffi, lib = glib
    with pytest.raises(AttributeError, match="no function or global variable named 'SEVEN'"):
        ffi.addressof(lib, "SEVEN")
    with pytest.raises(AttributeError, match="'nothing'"):
        ffi.addressof(lib, "nothing")
    # a const global is a value (as in cffi): a pointer would let a write reach read-only
    # memory
    with pytest.raises(AttributeError, match="^cannot take the address of the constant 'answer'$"):
        ffi.addressof(lib, "answer")
    with pytest.raises(TypeError):
        ffi.addressof(lib, 3)
    with pytest.raises(TypeError):
        ffi.addressof(lib)
    with pytest.raises(TypeError):
        ffi.addressof(lib, "counter", 0)


# ---------------------------------------------------------------- dir, undeclared names


def test_dir(glib):
    _, lib = glib
    assert dir(lib) == sorted([
        "counter", "numbers", "open_numbers", "origin", "answer", "greeting", "ratio",
        "callback_ptr", "add", "get_counter", "bump_counter", "sum_numbers", "point_sum",
        "call_callback", "negate", "SEVEN", "BIG", "RED", "GREEN", "BLUE",
    ])


def test_undeclared_name(glib, globals_path):
    _, lib = glib
    with pytest.raises(AttributeError) as info:
        lib.real_twice  # in the library, but not declared
    assert "'real_twice'" in str(info.value)
    assert globals_path in str(info.value)
    assert not hasattr(lib, "nothing_at_all")


def test_setting_undeclared_name(glib):
    _, lib = glib
    with pytest.raises(AttributeError, match="'zzz'"):
        lib.zzz = 1
    with pytest.raises(AttributeError):
        del lib.zzz
    with pytest.raises(AttributeError, match="cannot be deleted"):
        del lib.counter
    with pytest.raises(TypeError):
        setattr(lib, 3, 1)


def test_python_attributes(glib):
    _, lib = glib
    assert type(lib).__name__ == "Lib"
    assert lib.__class__ is type(lib)
    assert isinstance(lib.__dict__, dict)


# ---------------------------------------------------------------- include


def test_include(globals_path):
    base = cffix.FFI()
    base.cdef("""
        struct point { int x, y; };
        int add(int, int);
        extern int counter;
        #define BASE_CONST 11
        enum base_enum { BASE_A = 3 };
    """)
    ffi = cffix.FFI()
    ffi.include(base)
    ffi.cdef("int point_sum(const struct point *);")
    lib = ffi.dlopen(globals_path)
    assert lib.add(1, 2) == 3
    assert lib.counter == 42
    assert lib.BASE_CONST == 11
    assert lib.BASE_A == 3
    p = ffi.new("struct point *", (2, 3))
    assert lib.point_sum(p) == 5
    assert {"add", "counter", "BASE_CONST", "BASE_A", "point_sum"} <= set(dir(lib))
    assert ffi.typeof(ffi.addressof(lib, "counter")) is ffi.typeof("int *")


def test_include_own_declarations_win(globals_path):
    base = cffix.FFI()
    base.cdef("#define WHICH 1")
    ffi = cffix.FFI()
    ffi.include(base)
    ffi.cdef("#define WHICH 2")
    assert ffi.dlopen(globals_path).WHICH == 2


# ---------------------------------------------------------------- dlclose


def test_dlclose(glib):
    ffi, lib = glib
    assert lib.add(1, 2) == 3
    assert lib.SEVEN == 7
    ffi.dlclose(lib)
    assert lib.__dict__ == {}
    assert repr(lib).endswith(" (closed)>")
    for name in ["add", "counter", "SEVEN", "get_counter"]:
        with pytest.raises(ValueError, match="has already been closed"):
            getattr(lib, name)
    with pytest.raises(ValueError):
        lib.counter = 1
    with pytest.raises(ValueError):
        ffi.addressof(lib, "counter")
    with pytest.raises(AttributeError):
        lib.undeclared
    ffi.dlclose(lib)  # again: nothing happens, as in cffi
    assert "add" in dir(lib)


def test_dlclose_other_library_still_works(glib, globals_path):
    ffi, lib = glib
    other = ffi.dlopen(globals_path)
    ffi.dlclose(lib)
    assert other.add(2, 2) == 4  # the loader counts references: still mapped


def test_library_used_by_a_destructor_while_its_ffi_cycle_is_collected():
    """An FFI, its library and an ffi.gc destructor that calls into the library, all in
    reference cycles: whatever order the collector clears them in, the destructor finds
    the library working (the FFI's declarations live until the FFI is freed)."""
    import gc

    import cffix

    seen = []
    for i in range(20):
        ffi = cffix.FFI()
        ffi.cdef("int abs(int);")
        lib = ffi.dlopen(None)

        def destroy(p, lib=lib):
            seen.append(lib.abs(-3))  # the first lookup of abs: goes to the declarations

        g = ffi.gc(ffi.new("int *"), destroy)
        outer = []
        inner = [g, outer]
        outer.append(inner)
        if i % 2:
            ffi.keep = outer
        else:
            ffi.keep = inner
        del ffi, lib, destroy, g, outer, inner
        gc.collect()
    assert seen == [3] * 20
