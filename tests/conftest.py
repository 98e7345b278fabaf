"""Shared fixtures.

cc               the C compiler's path (session); skips the test if there is none
compile_and_run  compile_and_run(c_source, flags=(), libraries=()) -> the program's stdout
build_clib       build_clib("calls", flags=(), libraries=()) -> the path of tests/clib/calls.c
                 built as a shared library (once per session)
cffi_oracle      the cffi module, the reference for differential tests; skips without it
module           the module under test: cffix, or what CFFIX_TEST_MODULE names (cffi, to
                 check the harness); imported, never skipped: a broken import fails
ffi              a fresh FFI of the module under test, with the test file's CDEF declared
                 if it has one
oracle_ffi       a cffi FFI with the test file's CDEF declared (one per file); skips without
                 cffi
calls_library    tests/clib/calls.c built (session); lib: it loaded by `ffi`, for the files
                 whose CDEF is clib_calls.CDEF; lib_keeping_gil: the same with
                 release_gil=False
unraisable       the sys.unraisablehook reports made during the test, in order
call_path        "thunk" or "libffi": runs a test twice, the second time with every call
                 forced through libffi (cffix._core._force_libffi); a file whose every test
                 does so says `pytestmark = pytest.mark.usefixtures("call_path")`
"""

import hashlib
import importlib
import os
import shlex
import shutil
import subprocess
import sys

import pytest

# The helper modules that assert: their assertions get pytest's messages too.
pytest.register_assert_rewrite("cdata_oracle", "cdef_helpers")

from support import MODULE_UNDER_TEST  # noqa: E402 - after the rewrite registration

_HELLO = "int main(void) { return 0; }\n"
CLIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clib")


def _find_c_compiler():
    """$CC (its first word), else cc, gcc, clang: the first that compiles a program."""
    names = []
    if os.environ.get("CC"):
        names.append(shlex.split(os.environ["CC"])[0])
    names += ["cc", "gcc", "clang"]
    for name in names:
        path = shutil.which(name)
        if path and _compiles(path):
            return path
    return None


def _compiles(cc):
    try:
        proc = subprocess.run([cc, "-x", "c", "-o", os.devnull, "-"], input=_HELLO,
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


_found_compiler = []


def _find_c_compiler_once():
    if not _found_compiler:
        _found_compiler.append(_find_c_compiler())
    return _found_compiler[0]


@pytest.fixture(scope="session")
def cc():
    path = _find_c_compiler_once()
    if path is None:
        pytest.skip("no working C compiler (set CC, or install gcc)")
    return path


@pytest.fixture(scope="session")
def compile_and_run(cc, tmp_path_factory):
    """Compile a C program with the system compiler in a temp dir, run it, return stdout.

    The same source (with the same flags) is compiled once per session. A program
    that does not compile, or exits non-zero, fails the test with the compiler's or
    the program's output.

        def test_sizeof_long(compile_and_run):
            out = compile_and_run('#include <stdio.h>\\n'
                                  'int main(void) { printf("%zu", sizeof(long)); }')
            assert int(out) == 8
    """
    workdir = tmp_path_factory.mktemp("cprog")
    built = {}

    def run(c_source, flags=(), libraries=(), timeout=60):
        key = hashlib.sha256(repr((c_source, tuple(flags), tuple(libraries))).encode())
        exe = built.get(key.hexdigest())
        if exe is None:
            stem = workdir / f"prog_{key.hexdigest()[:16]}"
            src = stem.with_suffix(".c")
            src.write_text(c_source)
            cmd = [cc, *flags, "-o", str(stem), str(src), *(f"-l{lib}" for lib in libraries)]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
            if proc.returncode != 0:
                pytest.fail(f"C program failed to compile ({shlex.join(cmd)}):\n"
                            f"{proc.stderr}\n--- source ---\n{c_source}", pytrace=False)
            exe = built[key.hexdigest()] = str(stem)
        proc = subprocess.run([exe], capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            pytest.fail(f"C program exited with {proc.returncode}:\n{proc.stdout}"
                        f"{proc.stderr}\n--- source ---\n{c_source}", pytrace=False)
        return proc.stdout

    return run


# A folder for tests/clib's shared libraries that outlives the session: with a compiler
# they are built there (once per session each); without one (the wheel check's Debian
# root, .ci/wheels.sh) the ones built there before are used, under names that hash the
# build's arguments. Fill it with `CFFIX_TEST_CLIB_DIR=DIR python -m pytest --setup-only
# FILES` on a machine with a compiler.
CLIB_DIR_VARIABLE = "CFFIX_TEST_CLIB_DIR"


@pytest.fixture(scope="session")
def build_clib(request, tmp_path_factory):
    """build_clib(name, flags=(), libraries=()): tests/clib/<name>.c compiled into a shared
    library (once per session for the same arguments); returns its path. A file that does
    not compile fails the test with the compiler's output. Without a compiler: the build
    kept in $CFFIX_TEST_CLIB_DIR if there is one, else the test is skipped."""
    kept = os.environ.get(CLIB_DIR_VARIABLE)
    workdir = None
    built = {}

    def build(name, flags=(), libraries=()):
        nonlocal workdir
        key = (name, tuple(flags), tuple(libraries))
        if key in built:
            return built[key]
        if kept:
            digest = hashlib.sha256(repr(key).encode()).hexdigest()[:16]
            out = os.path.join(kept, f"lib{name}-{digest}.so")
            if _find_c_compiler_once() is None:
                if not os.path.exists(out):
                    pytest.fail(f"no C compiler, and tests/clib/{name}.c {list(flags)} was "
                                f"not built in {CLIB_DIR_VARIABLE}={kept} (expected {out})",
                                pytrace=False)
                built[key] = out
                return out
            os.makedirs(kept, exist_ok=True)
        else:
            if workdir is None:
                workdir = tmp_path_factory.mktemp("clib")
            out = str(workdir / f"lib{name}_{len(built)}.so")
        cc = request.getfixturevalue("cc")  # skips the test when there is no compiler
        cmd = [cc, "-shared", "-fPIC", *flags, "-o", out,
               os.path.join(CLIB, f"{name}.c"), *(f"-l{lib}" for lib in libraries)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            pytest.fail(f"tests/clib/{name}.c does not compile ({shlex.join(cmd)}):\n"
                        f"{proc.stderr}", pytrace=False)
        built[key] = out
        return out

    return build


@pytest.fixture(scope="session")
def cffi_oracle():
    """The real cffi, to compare behaviour with; skips if it is not installed."""
    return pytest.importorskip("cffi")


@pytest.fixture(scope="session")
def module():
    """cffix (or the module CFFIX_TEST_MODULE names). An import error fails the tests."""
    return importlib.import_module(MODULE_UNDER_TEST)


@pytest.fixture
def ffi(module, request):
    """A fresh FFI of the module under test, with the test file's CDEF declared if any."""
    f = module.FFI()
    cdef = getattr(request.module, "CDEF", None)
    if cdef is not None:
        f.cdef(cdef)
    return f


@pytest.fixture(scope="module")
def oracle_ffi(cffi_oracle, request):
    """A cffi FFI with the test file's CDEF declared, shared by the file's tests (cffi's
    cdef is slow): the tests must not change it."""
    f = cffi_oracle.FFI()
    cdef = getattr(request.module, "CDEF", None)
    if cdef is not None:
        f.cdef(cdef)
    return f


@pytest.fixture(scope="session")
def calls_library(build_clib):
    """tests/clib/calls.c as a shared library; results are compared exactly: no a*b+c
    contracted into an fma."""
    return build_clib("calls", ["-O2", "-ffp-contract=off"])


@pytest.fixture
def lib(ffi, calls_library):
    """tests/clib/calls.c loaded by `ffi` (whose CDEF is clib_calls.CDEF)."""
    return ffi.dlopen(calls_library)


@pytest.fixture
def lib_keeping_gil(ffi, calls_library):
    """tests/clib/calls.c loaded by `ffi` with release_gil=False."""
    return ffi.dlopen(calls_library, release_gil=False)


@pytest.fixture
def unraisable(monkeypatch):
    """The sys.unraisablehook reports (exc_type, exc_value, err_msg...) made during the
    test, in order."""
    reports = []
    monkeypatch.setattr(sys, "unraisablehook", reports.append)
    return reports


@pytest.fixture(params=["thunk", "libffi"])
def call_path(request, module):
    """Runs the test with the fast thunks, then with every call forced through libffi.

    Under CFFIX_TEST_MODULE=cffi (the same tests against cffi) there is no such switch: the
    libffi run is skipped."""
    if MODULE_UNDER_TEST != "cffix":
        if request.param == "libffi":
            pytest.skip(f"{MODULE_UNDER_TEST} has no _force_libffi switch")
        yield request.param
        return
    force = module._core._force_libffi
    previous = force(request.param == "libffi")
    try:
        yield request.param
    finally:
        force(previous)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "stress: bounded-time thread and load tests (tests/test_stress.py; "
        "STRESS_SECONDS sets their length, -m 'not stress' leaves them out)")
