"""Pinned libraries: ffi.dlopen(name, sha256=, soname=, version=) and `python -m cffix pin`.

sha256 and soname are checked on the open file before anything is loaded, and that file is
what gets loaded; version is a C expression over the library's probe functions, evaluated
once it is loaded. Against libz and libsqlite3 of the system, and tests/clib/pinned.c,
whose constructor writes a line into a marker file: a failed check must leave it empty.
(A cffix extension: cffi has no such arguments.)
"""

import ctypes.util
import hashlib
import os
import shutil
import subprocess
import sys

import pytest

import cffix
from cffix import CDefError, LibraryMismatch
from cdef_helpers import error_text

PROBES_CDEF = """
    #define PINNED_MINIMUM 3
    enum pinned_level { LEVEL_LOW = 1, LEVEL_HIGH = 9 };
    int pinned_version(void);
    int pinned_counting_probe(void);
    int pinned_probe_calls(void);
    unsigned long long pinned_big(void);
    double pinned_ratio(void);
    int pinned_add(int a, int b);
    int printf(const char *format, ...);
    int pinned_missing(void);
"""

WRONG = "0" * 64


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture
def marker(tmp_path, monkeypatch):
    """The file the test library's constructor appends to: read() -> its lines."""
    path = tmp_path / "marker"
    monkeypatch.setenv("CFFIX_PINNED_MARKER", str(path))

    class Marker:
        def read(self):
            return path.read_text().splitlines() if path.exists() else []

    return Marker()


@pytest.fixture
def pinned_lib(build_clib):
    """pinned_lib(version, soname='libpinned.so.1'): a build of tests/clib/pinned.c (one
    per distinct arguments and session; soname=None builds one without DT_SONAME)."""

    def build(version, soname="libpinned.so.1"):
        flags = [f"-DPINNED_VERSION={version}"]
        if soname is not None:
            flags.append(f"-Wl,-soname,{soname}")
        return build_clib("pinned", flags)

    return build


@pytest.fixture
def probes_ffi():
    ffi = cffix.FFI()
    ffi.cdef(PROBES_CDEF)
    return ffi


def system_library(short_name):
    """(ffi, path) for a system library; skips when it is not installed."""
    if ctypes.util.find_library(short_name) is None:
        pytest.skip(f"lib{short_name} is not installed")
    return cffix._core.describe_library(short_name)["path"]


# ------------------------------------------------------------------------------ sha256


def test_right_digest_loads_libz():
    path = system_library("z")
    ffi = cffix.FFI()
    ffi.cdef("const char *zlibVersion(void);")
    lib = ffi.dlopen(path, sha256=sha256_of(path))
    assert ffi.string(lib.zlibVersion()).startswith(b"1.")
    assert repr(lib) == f"<Lib object for '{path}'>"  # the file, not /proc/self/fd


def test_short_name_is_resolved_to_the_file_the_loader_uses():
    path = system_library("z")
    assert os.path.basename(path).startswith("libz.so")
    assert os.path.isabs(path) and os.path.isfile(path)
    ffi = cffix.FFI()
    ffi.cdef("unsigned long crc32(unsigned long crc, const unsigned char *buf, unsigned len);")
    for name in ("z", os.path.basename(path)):
        lib = ffi.dlopen(name, sha256=sha256_of(path))
        assert lib.crc32(0, b"hello", 5) == 0x3610A686
        assert repr(lib) == f"<Lib object for '{path}'>"


def test_digest_is_case_insensitive():
    path = system_library("sqlite3")
    ffi = cffix.FFI()
    ffi.cdef("int sqlite3_libversion_number(void);")
    lib = ffi.dlopen(path, sha256=sha256_of(path).upper())
    assert lib.sqlite3_libversion_number() > 3000000


def test_wrong_digest_raises_library_mismatch():
    path = system_library("z")
    ffi = cffix.FFI()
    with pytest.raises(LibraryMismatch) as info:
        ffi.dlopen(path, sha256=WRONG)
    message = str(info.value)
    assert message == f"library '{path}' has sha256 {sha256_of(path)}, expected {WRONG}"
    assert isinstance(info.value, OSError)  # `except OSError` fallbacks still work


@pytest.mark.parametrize("kind", [set, frozenset, list, tuple])
def test_a_set_of_digests(kind):
    path = system_library("sqlite3")
    ffi = cffix.FFI()
    ffi.cdef("int sqlite3_libversion_number(void);")
    lib = ffi.dlopen(path, sha256=kind([WRONG, sha256_of(path), "1" * 64]))
    assert lib.sqlite3_libversion_number() > 3000000
    with pytest.raises(LibraryMismatch) as info:
        ffi.dlopen(path, sha256=kind(["f" * 64, WRONG, "A" * 64]))
    assert str(info.value).endswith(f", expected one of {WRONG}, {'a' * 64}, {'f' * 64}")


def test_wrong_digest_never_runs_the_constructor(pinned_lib, marker):
    path = pinned_lib(101)
    ffi = cffix.FFI()
    ffi.cdef("int pinned_version(void);")
    with pytest.raises(LibraryMismatch):
        ffi.dlopen(path, sha256=WRONG)
    assert marker.read() == []
    # The control: the right digest loads it, and the constructor runs then.
    lib = ffi.dlopen(path, sha256=sha256_of(path))
    assert marker.read() == ["loaded 101"]
    assert lib.pinned_version() == 101


def test_file_replaced_after_pin_is_refused(pinned_lib, tmp_path, marker):
    good, other = pinned_lib(102), pinned_lib(103)
    target = tmp_path / "libvictim.so"
    shutil.copy(good, target)
    digest = sha256_of(target)
    os.replace(shutil.copy(other, tmp_path / "replacement.so"), target)
    with pytest.raises(LibraryMismatch, match=f"expected {digest}"):
        cffix.FFI().dlopen(str(target), sha256=digest)
    assert marker.read() == []


def test_descriptor_numbers_reused_between_loads_load_each_file(pinned_lib, probes_ffi):
    # Each load goes through /proc/self/fd/N, and N is free again afterwards: a second
    # library must not be mistaken for the first one loaded under the same name.
    libs = []
    for version in (111, 112, 113):
        path = pinned_lib(version)
        libs.append(probes_ffi.dlopen(path, sha256=sha256_of(path)))
    assert [lib.pinned_version() for lib in libs] == [111, 112, 113]


def test_file_name_found_through_ld_library_path(pinned_lib, tmp_path, monkeypatch):
    path = pinned_lib(104)
    shutil.copy(path, tmp_path / "libpinned_search.so")
    monkeypatch.setenv("LD_LIBRARY_PATH", f"/nonexistent:{tmp_path}")
    ffi = cffix.FFI()
    ffi.cdef("int pinned_version(void);")
    lib = ffi.dlopen("libpinned_search.so", sha256=sha256_of(path))
    assert lib.pinned_version() == 104
    assert repr(lib) == f"<Lib object for '{tmp_path}/libpinned_search.so'>"


def test_pathlike_name(pinned_lib, tmp_path):
    import pathlib

    path = pathlib.Path(pinned_lib(105))
    lib = cffix.FFI().dlopen(path, sha256=sha256_of(path))
    assert repr(lib) == f"<Lib object for '{path}'>"


def test_flags_and_release_gil_still_apply(pinned_lib):
    path = pinned_lib(106)
    ffi = cffix.FFI()
    ffi.cdef("int pinned_add(int a, int b);")
    lib = ffi.dlopen(path, ffi.RTLD_LAZY | ffi.RTLD_LOCAL, release_gil=False,
                     sha256=sha256_of(path))
    assert lib.pinned_add(2, 3) == 5


# ------------------------------------------------------------------------------ soname


def test_soname_of_system_libraries():
    ffi = cffix.FFI()
    ffi.cdef("int sqlite3_libversion_number(void);")
    system_library("sqlite3")
    lib = ffi.dlopen("sqlite3", soname="libsqlite3.so.0")
    assert lib.sqlite3_libversion_number() > 3000000
    path = system_library("z")
    with pytest.raises(LibraryMismatch) as info:
        ffi.dlopen("z", soname="libz.so.2")
    assert str(info.value) == (f"library '{path}' has DT_SONAME 'libz.so.1', "
                               "expected DT_SONAME 'libz.so.2'")


def test_soname_mismatch_never_runs_the_constructor(pinned_lib, marker):
    path = pinned_lib(121, soname="libpinned.so.7")
    with pytest.raises(LibraryMismatch, match="has DT_SONAME 'libpinned.so.7', expected "
                                              "DT_SONAME 'libpinned.so.8'"):
        cffix.FFI().dlopen(path, soname="libpinned.so.8")
    assert marker.read() == []
    cffix.FFI().dlopen(path, soname="libpinned.so.7")
    assert marker.read() == ["loaded 121"]


def test_library_without_soname(pinned_lib):
    path = pinned_lib(122, soname=None)
    with pytest.raises(LibraryMismatch, match="has no DT_SONAME, expected DT_SONAME 'libx.so'"):
        cffix.FFI().dlopen(path, soname="libx.so")


def test_digest_and_soname_together(pinned_lib):
    path = pinned_lib(123)
    lib = cffix.FFI().dlopen(path, sha256=sha256_of(path), soname="libpinned.so.1")
    assert "pinned" in repr(lib)
    with pytest.raises(LibraryMismatch, match="sha256"):  # the digest is checked first
        cffix.FFI().dlopen(path, sha256=WRONG, soname="nope")


# ------------------------------------------------------------------------------ version


def test_version_of_sqlite3():
    system_library("sqlite3")
    ffi = cffix.FFI()
    ffi.cdef("int sqlite3_libversion_number(void); int sqlite3_threadsafe(void);")
    lib = ffi.dlopen("sqlite3", version="sqlite3_libversion_number() >= 3007000")
    actual = lib.sqlite3_libversion_number()
    with pytest.raises(LibraryMismatch) as info:
        ffi.dlopen("sqlite3", version="sqlite3_libversion_number() >= 99000000")
    assert str(info.value).endswith(
        "fails the version check 'sqlite3_libversion_number() >= 99000000' "
        f"(sqlite3_libversion_number() = {actual})")


@pytest.mark.parametrize("expression, expected", [
    ("pinned_version() == 131", True),
    ("pinned_version() >= PINNED_MINIMUM && pinned_version() < 200", True),
    ("pinned_version() / 100 == 1 && !(pinned_version() % 2 == 0)", True),
    ("(pinned_version() - 31) * 2 == 200 || 0", True),
    ("LEVEL_HIGH > pinned_version()", False),
    ("pinned_big() == 18446744073709551615ULL", True),
    ("pinned_version() != 131", False),
    ("pinned_version() > 131 ? 1 : 0", False),
    ("1", True),
    ("0", False),
])
def test_version_expressions(pinned_lib, probes_ffi, expression, expected):
    path = pinned_lib(131)
    if expected:
        assert probes_ffi.dlopen(path, version=expression).pinned_version() == 131
    else:
        with pytest.raises(LibraryMismatch, match="fails the version check"):
            probes_ffi.dlopen(path, version=expression)


def test_version_message_names_every_probe_called(pinned_lib, probes_ffi):
    path = pinned_lib(132)
    with pytest.raises(LibraryMismatch) as info:
        probes_ffi.dlopen(path, version="pinned_version() > 200 || pinned_big() < 5")
    assert str(info.value) == (
        f"library '{path}' fails the version check 'pinned_version() > 200 || "
        "pinned_big() < 5' (pinned_version() = 132, pinned_big() = 18446744073709551615)")
    with pytest.raises(LibraryMismatch, match=r"\(no probe was called\)"):
        probes_ffi.dlopen(path, version="PINNED_MINIMUM > 5")


def test_version_probes_skipped_as_c_skips_them(pinned_lib, probes_ffi):
    path = pinned_lib(133)
    lib = probes_ffi.dlopen(path, version="pinned_version() == 133 || pinned_counting_probe()")
    assert lib.pinned_probe_calls() == 0
    lib = probes_ffi.dlopen(path, version="pinned_counting_probe() && pinned_counting_probe()")
    assert lib.pinned_probe_calls() == 2
    # The check before loading does not divide by the unknown value.
    probes_ffi.dlopen(path, version="100 / pinned_version() == 0")


def test_failed_version_closes_the_library(pinned_lib, probes_ffi):
    path = pinned_lib(134)
    with pytest.raises(LibraryMismatch):
        probes_ffi.dlopen(path, version="pinned_version() == 1")
    # Not loaded any more: RTLD_NOLOAD finds nothing.
    with pytest.raises(OSError):
        probes_ffi.dlopen(path, probes_ffi.RTLD_NOLOAD | probes_ffi.RTLD_NOW)


def test_probe_missing_from_the_library(pinned_lib, probes_ffi):
    path = pinned_lib(135)
    with pytest.raises(AttributeError, match="pinned_missing"):
        probes_ffi.dlopen(path, version="pinned_missing() > 0")


@pytest.mark.parametrize("expression, message", [
    ("pinned_version() >=", "unexpected end of input, expected an expression\n"
                            "line 1, column 20: pinned_version() >="),
    ("pinned_version() 3", "unexpected '3' after the expression\n"
                           "line 1, column 18: pinned_version() 3"),
    ("1 +\n  nothing_here()", "'nothing_here' is not a function declared in the cdef: a "
                              "version expression may call only those\n"
                              "line 2, column 3:   nothing_here()"),
    ("pinned_add() > 0", "'pinned_add' takes arguments (declared as 'int(*)(int, int)'): a "
                         "version probe must take none"),
    ("printf() > 0", "'printf' takes arguments"),
    ("pinned_ratio() > 0", "'pinned_ratio' returns 'double': a version probe must return "
                           "an integer"),
    ("pinned_version(1) > 0", "'pinned_version()' takes no arguments here"),
    ("pinned_version > 0", "unknown constant 'pinned_version'"),
    ("UNKNOWN_CONSTANT", "unknown constant 'UNKNOWN_CONSTANT'"),
    ('pinned_version() == "1"', "string literal '\"1\"' is not allowed"),
    ("pinned_version() > 1.5", "floating-point constant '1.5' is not allowed"),
])
def test_bad_version_expressions_fail_before_loading(pinned_lib, probes_ffi, marker,
                                                     expression, message):
    path = pinned_lib(141)
    with pytest.raises(CDefError) as info:
        probes_ffi.dlopen(path, version=expression)
    # cffi has no version expressions: the message is cffix's, the position in the notes
    assert message in error_text(info.value)
    assert marker.read() == []


def test_version_does_not_change_constant_expressions_of_cdef():
    # Calls stay refused where the cdef parser evaluates constants.
    with pytest.raises(CDefError, match="unknown constant 'f'"):
        cffix.FFI().cdef("int f(void); int a[f()];")


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("kwargs, error, message", [
    ({"sha256": 5}, TypeError, "takes a hex digest (str) or a set, list or tuple of them, "
                               "not int"),
    ({"sha256": b"0" * 64}, TypeError, "not bytes"),
    ({"sha256": {"a": 1}}, TypeError, "not dict"),
    ({"sha256": [WRONG, 5]}, TypeError, "a digest must be a str of 64 hex digits, not int"),
    ({"sha256": "abc"}, ValueError, "'abc' is not a SHA-256 digest (64 hex digits)"),
    ({"sha256": "g" * 64}, ValueError, "is not a SHA-256 digest"),
    ({"sha256": "0" * 65}, ValueError, "is not a SHA-256 digest"),
    ({"sha256": set()}, ValueError, "the collection of digests is empty"),
    ({"sha256": []}, ValueError, "the collection of digests is empty"),
    ({"soname": 1}, TypeError, "dlopen(soname=...) must be a str, not int"),
    ({"soname": ""}, ValueError, "dlopen(soname=...) must be a non-empty str without NUL"),
    ({"soname": "a\0b"}, ValueError, "without NUL"),
    ({"version": 3}, TypeError, "dlopen(version=...) must be a str, not int"),
    ({"version": ""}, ValueError, "dlopen(version=...) must be a non-empty str"),
])
def test_bad_pins(pinned_lib, marker, kwargs, error, message):
    with pytest.raises(error) as info:
        cffix.FFI().dlopen(pinned_lib(151), **kwargs)
    assert message in str(info.value)
    assert marker.read() == []


def test_none_means_not_pinned(pinned_lib):
    lib = cffix.FFI().dlopen(pinned_lib(152), sha256=None, soname=None, version=None)
    assert "pinned" in repr(lib)


def test_pins_need_a_file_name():
    ffi = cffix.FFI()
    with pytest.raises(TypeError, match="name must be a file name, not None"):
        ffi.dlopen(None, soname="libc.so.6")
    handle = ffi.cast("void *", 1)
    with pytest.raises(TypeError, match="name must be a file name, not a handle"):
        ffi.dlopen(handle, sha256=WRONG)


def test_files_that_cannot_be_pinned(tmp_path):
    ffi = cffix.FFI()
    with pytest.raises(FileNotFoundError):
        ffi.dlopen(str(tmp_path / "missing.so"), sha256=WRONG)
    text = tmp_path / "text.so"
    text.write_text("not a library")
    with pytest.raises(OSError, match="not an ELF file"):
        ffi.dlopen(str(text), sha256=sha256_of(text))
    with pytest.raises(OSError, match="not a regular file"):
        ffi.dlopen(str(tmp_path) + "/", soname="x")
    with pytest.raises(OSError, match="did not manage to locate a library called "
                                      "'cffix_no_such_library'"):
        ffi.dlopen("cffix_no_such_library", soname="x")
    with pytest.raises(OSError, match="cannot find library 'libcffix_no_such.so.3'"):
        ffi.dlopen("libcffix_no_such.so.3", soname="x")
    with pytest.raises(ValueError, match="embedded null character"):
        ffi.dlopen("lib\0z.so", soname="x")


def test_library_mismatch_is_exported():
    assert cffix.LibraryMismatch is cffix._core.LibraryMismatch
    assert issubclass(cffix.LibraryMismatch, OSError)
    assert "LibraryMismatch" in cffix.__all__


# ------------------------------------------------------------------------------ the CLI


def run_pin(*names):
    return subprocess.run([sys.executable, "-m", "cffix", "pin", *names],
                          capture_output=True, text=True, timeout=60)


def test_cli_pin_prints_a_line_to_paste(pinned_lib, marker):
    path = pinned_lib(161, soname="libpinned.so.4")
    proc = run_pin(path)
    assert proc.returncode == 0, proc.stderr
    digest = sha256_of(path)
    assert proc.stdout.splitlines() == [
        f"# {path}",
        f"#   path:   {path}",
        f"#   sha256: {digest}",
        "#   soname: libpinned.so.4",
        f"lib = ffi.dlopen({path!r}, sha256={digest!r}, soname='libpinned.so.4')",
    ]
    assert marker.read() == []  # nothing was loaded
    ffi = cffix.FFI()
    ffi.cdef("int pinned_version(void);")
    namespace = {"ffi": ffi}
    exec(proc.stdout, namespace)
    assert namespace["lib"].pinned_version() == 161


def test_cli_pin_system_libraries_and_errors(pinned_lib):
    path = system_library("z")
    no_soname = pinned_lib(162, soname=None)
    proc = run_pin("z", "cffix_no_such_library", no_soname)
    assert proc.returncode == 1
    assert f"#   path:   {path}" in proc.stdout
    assert f"lib = ffi.dlopen('z', sha256={sha256_of(path)!r}, soname='libz.so.1')" in \
        proc.stdout
    assert "#   soname: (none)" in proc.stdout
    assert f"lib = ffi.dlopen({no_soname!r}, sha256={sha256_of(no_soname)!r})" in proc.stdout
    assert proc.stderr == ("cffix pin: cffix_no_such_library: ctypes.util.find_library() did "
                           "not manage to locate a library called 'cffix_no_such_library'\n")


def test_cli_usage():
    proc = subprocess.run([sys.executable, "-m", "cffix"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert "usage: python -m cffix" in proc.stderr
    assert run_pin().returncode == 2


def test_describe_library_takes_a_str():
    with pytest.raises(TypeError, match="expected a library name"):
        cffix._core.describe_library(b"z")
