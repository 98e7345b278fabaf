"""The C API that API-mode modules reach the core through: the capsule
cffix._core._C_API and the public header cffix_api.h (cffix.get_include()).

A probe extension (tests/clib/capi_probe.c), compiled here with the system compiler as C99
with -Wall -Wextra -Werror, imports the table and converts values through it; each result
is compared with what the same value gives through ffi.new / item access, so the
generated modules and the runtime share one converter set.
"""

import importlib.util
import os
import subprocess
import sys
import sysconfig

import pytest

import cffix
from cffix import FFI

CLIB = os.path.join(os.path.dirname(__file__), "clib")


@pytest.fixture(scope="module")
def probe(cc, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("capi")
    target = out_dir / ("capi_probe" + sysconfig.get_config_var("EXT_SUFFIX"))
    cmd = [cc, "-std=c99", "-shared", "-fPIC", "-O1", "-Wall", "-Wextra", "-Werror",
           "-Wno-unused-function", "-I", sysconfig.get_paths()["include"],
           "-I", cffix.get_include(), "-o", str(target), os.path.join(CLIB, "capi_probe.c")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        pytest.fail(f"capi_probe.c failed to compile:\n{proc.stderr}", pytrace=False)
    spec = importlib.util.spec_from_file_location("capi_probe", target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def ffi():
    f = FFI()
    f.cdef("struct pair { int a; double b; };")
    return f


def test_header_is_installed_with_the_package():
    path = os.path.join(cffix.get_include(), "cffix_api.h")
    assert os.path.isfile(path)
    with open(path) as f:
        assert "#define CFFIX_API_VERSION" in f.read()


def test_capsule_is_exported():
    assert type(cffix._core._C_API).__name__ == "PyCapsule"
    assert "cffix._core._C_API" in repr(cffix._core._C_API)


def outcome(fn):
    try:
        return ("ok", fn())
    except Exception as e:  # noqa: BLE001 - the exception is the outcome compared
        return ("error", type(e), str(e))


def item_assignment(ffi, cdecl, value):
    p = ffi.new(cdecl + " *")
    p[0] = value
    return p[0]


@pytest.mark.parametrize("cdecl,values", [
    ("int", [0, -5, 2**31 - 1, 2**31, "x", 1.5, None]),
    ("unsigned char", [0, 255, 256, -1, b"a"]),
    ("double", [1.5, 3, "x", None]),
    ("char", [b"a", b"ab", 65]),
    ("_Bool", [True, 0, 2]),
    ("wchar_t", ["a", "ab"]),
])
def test_to_c_and_from_c_are_the_core_converters(probe, ffi, cdecl, values):
    for value in values:
        expected = outcome(lambda: item_assignment(ffi, cdecl, value))
        assert outcome(lambda: probe.roundtrip(ffi, cdecl, value)) == expected, value


def test_fast_integer_and_its_general_path(probe, ffi):
    assert probe.int_arg(ffi, "int", 7) == (True, 7)
    assert probe.int_arg(ffi, "int", -2**31) == (True, -2**31)
    assert probe.int_arg(ffi, "unsigned short", 65535) == (True, 65535)
    # not an exact int in range: the general path decides, with the core's errors
    assert probe.int_arg(ffi, "int", True) == (False, 1)
    assert probe.int_arg(ffi, "long long", ffi.cast("int", 9)) == (False, 9)
    with pytest.raises(OverflowError, match="does not fit 'int'"):
        probe.int_arg(ffi, "int", 2**31)
    with pytest.raises(TypeError):
        probe.int_arg(ffi, "int", "7")


def test_pointer_arguments_take_the_call_rules(probe, ffi):
    array = ffi.new("int[]", [1, 2, 3])
    assert probe.sum_ints(ffi, array, 3) == 6  # the fast companion
    assert probe.sum_ints(ffi, [4, 5, 6], 3) == 15  # a temporary array (call rule)
    assert probe.sum_ints(ffi, None, 3) == 0  # NULL
    before = cffix.live_cdata()
    for _ in range(100):
        probe.sum_ints(ffi, list(range(10)), 10)
    assert cffix.live_cdata() == before  # the temporaries were released
    with pytest.raises(TypeError):
        probe.sum_ints(ffi, ffi.new("long[]", 3), 3)
    released = ffi.new("int[]", 3)
    ffi.release(released)
    with pytest.raises(ValueError):
        probe.sum_ints(ffi, released, 3)


def test_struct_results_are_boxed_as_calls_box_them(probe, ffi):
    p = ffi.new("struct pair *", [3, 0.5])
    raw = bytes(ffi.buffer(p))
    r = probe.struct_result(ffi, "struct pair", raw)
    assert repr(r) == f"<cdata 'struct pair' owning {ffi.sizeof('struct pair')} bytes>"
    assert (r.a, r.b) == (3, 0.5)


def test_saved_errno_is_ffi_errno(probe, ffi):
    ffi.errno = 17
    assert probe.saved_errno() == 17
    ffi.errno = 0
    assert probe.saved_errno() == 0


def test_bad_type_strings_raise_the_parser_errors(probe, ffi):
    with pytest.raises(cffix.CDefError):
        probe.roundtrip(ffi, "int int", 1)
    with pytest.raises(cffix.CDefError, match="unknown type name"):
        probe.roundtrip(ffi, "nope_t", 1)
    with pytest.raises(TypeError):
        probe.roundtrip("not an ffi", "int", 1)


def test_another_versions_module_gets_an_import_error_naming_both(probe):
    probe.import_as(probe_api_version(), "this cffix")  # the same version: fine
    with pytest.raises(ImportError) as info:
        probe.import_as(999, "cffix 9.9.9")
    message = str(info.value)
    assert "cffix 9.9.9 (C API version 999)" in message
    assert f"cffix {cffix.__version__} (C API version {probe_api_version()})" in message
    assert "capi_probe" in message


def test_a_module_of_the_table_before_extern_python_is_refused(probe):
    # Version 3 appended the extern "Python" entries, version 4 lib_keep_gil: a module of
    # an earlier table gets an ImportError, not a table it reads wrongly.
    assert probe_api_version() == 4
    for version in (1, 2, 3):
        with pytest.raises(ImportError, match=f"C API version {version}"):
            probe.import_as(version, "cffix 0.1.0")


def probe_api_version():
    with open(os.path.join(cffix.get_include(), "cffix_api.h")) as f:
        for line in f:
            if line.startswith("#define CFFIX_API_VERSION"):
                return int(line.split()[2])
    raise AssertionError("no CFFIX_API_VERSION in the header")
