"""Without a C compiler (issue 14, "Install without a compiler").

A wheel of cffix installs and runs where there is no compiler and no libffi-dev: ABI mode
(cdef, dlopen, calls, callbacks) needs neither. API mode (compile(), verify()) builds C,
and when the compiler it runs is missing it says which one and how to install it, instead
of setuptools' bare "No such file or directory". .ci/wheels.sh runs this file in a Debian
root that has no compiler at all; here, the compiler is hidden by an empty PATH.
"""

import shlex
import sysconfig

import pytest

import cffix
from cffix import FFI


@pytest.fixture
def no_compiler_on_path(monkeypatch, tmp_path):
    """PATH holds an empty folder and CC is unset: no compiler can be found or run."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("CC", raising=False)


def configured_compiler():
    return shlex.split(sysconfig.get_config_var("CC") or "cc")[0]


def api_mode_ffi(name):
    ffi = FFI()
    ffi.cdef("int add(int, int);")
    ffi.set_source(name, "static int add(int a, int b) { return a + b; }")
    return ffi


def test_api_mode_compile_names_the_missing_compiler(no_compiler_on_path, tmp_path):
    ffi = api_mode_ffi("_nocc_compile")
    with pytest.raises(cffix.VerificationError) as info:
        ffi.compile(tmpdir=str(tmp_path))
    message = str(info.value)
    assert message.startswith("building '_nocc_compile' failed: no C compiler found: ")
    assert repr(configured_compiler()) in message
    assert "from Python's build configuration" in message
    assert "apt-get install gcc python3-dev" in message
    assert "set CC" in message
    # The C source is written all the same: it can be compiled on another machine.
    assert (tmp_path / "_nocc_compile.c").read_text().count("add") >= 1


def test_compiler_named_by_cc_is_the_one_reported(monkeypatch, tmp_path):
    monkeypatch.setenv("CC", "no-such-cc-for-cffix --some-flag")
    ffi = api_mode_ffi("_nocc_named")
    with pytest.raises(cffix.VerificationError,
                       match=r"no C compiler found: .* 'no-such-cc-for-cffix' \(from \$CC\)"):
        ffi.compile(tmpdir=str(tmp_path))


def test_verify_names_the_missing_compiler(no_compiler_on_path, tmp_path):
    ffi = FFI()
    ffi.cdef("int twice(int);")
    with pytest.raises(cffix.VerificationError, match="no C compiler found: .*apt-get install"):
        ffi.verify("static int twice(int x) { return 2 * x; }", tmpdir=str(tmp_path))


def test_a_failure_with_a_compiler_keeps_the_compiler_message(cc, tmp_path):
    # A real compiler that rejects the source: its error, not "no C compiler found".
    ffi = FFI()
    ffi.cdef("int f(void);")
    ffi.set_source("_nocc_broken", "int f(void) { return this is not C; }")
    with pytest.raises(cffix.VerificationError) as info:
        ffi.compile(tmpdir=str(tmp_path))
    assert "no C compiler found" not in str(info.value)
    assert "building '_nocc_broken' failed" in str(info.value)


def test_missing_python_headers_are_named(cc, monkeypatch, tmp_path):
    from cffix import builder

    monkeypatch.setenv("CC", cc)
    real_get_paths = sysconfig.get_paths
    monkeypatch.setattr(sysconfig, "get_paths",
                        lambda *a, **k: {**real_get_paths(*a, **k), "include": str(tmp_path)})
    message = builder._missing_build_tool()
    assert message == (f"Python's C headers are missing (no Python.h in {tmp_path}): API mode "
                       "compiles against them: install them (Debian/Ubuntu: apt-get install "
                       "gcc python3-dev; Fedora: dnf install gcc python3-devel; Alpine: apk "
                       "add gcc musl-dev python3-dev)")


def test_a_module_already_built_needs_no_compiler(cc, monkeypatch, tmp_path):
    ffi = api_mode_ffi("_nocc_prebuilt")
    first = ffi.compile(tmpdir=str(tmp_path))
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("CC", raising=False)
    # Up to date (same C source): setuptools builds nothing, so no compiler is asked for.
    assert api_mode_ffi("_nocc_prebuilt").compile(tmpdir=str(tmp_path)) == first


def test_abi_mode_needs_no_compiler(no_compiler_on_path):
    # Calls through a fast thunk and through libffi, a callback, a struct, errno: all in a
    # process that could not start a compiler.
    ffi = FFI()
    ffi.cdef("""
        double cos(double);
        void qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
        int snprintf(char *buf, size_t n, const char *fmt, ...);
        struct tm { int tm_sec, tm_min, tm_hour, tm_mday, tm_mon, tm_year, tm_wday,
                    tm_yday, tm_isdst; long tm_gmtoff; const char *tm_zone; };
        long mktime(struct tm *);
        struct tm *gmtime_r(const long *, struct tm *);
        int close(int);
    """)
    libc = ffi.dlopen(None)
    libm = ffi.dlopen("libm.so.6")  # sonames: find_library() may want a compiler
    assert libm.cos(0.0) == 1.0

    @ffi.callback("int(const void *, const void *)")
    def descending(a, b):
        x, y = ffi.cast("int *", a)[0], ffi.cast("int *", b)[0]
        return (x < y) - (x > y)

    numbers = ffi.new("int[]", [3, 1, 4, 1, 5, 9, 2, 6])
    libc.qsort(numbers, 8, ffi.sizeof("int"), descending)
    assert list(numbers) == [9, 6, 5, 4, 3, 2, 1, 1]

    buf = ffi.new("char[32]")
    assert libc.snprintf(buf, 32, b"%d-%s", ffi.cast("int", 42), b"x") == 4
    assert ffi.string(buf) == b"42-x"

    t = ffi.new("struct tm *")
    seconds = ffi.new("long *", 86400 * 365)
    assert libc.gmtime_r(seconds, t) == t
    assert (t.tm_year, t.tm_yday) == (71, 0)

    ffi.errno = 0
    assert libc.close(-1) == -1
    assert ffi.errno == 9  # EBADF


def test_zlib_through_abi_mode_needs_no_compiler(no_compiler_on_path):
    ffi = FFI()
    ffi.cdef("unsigned long crc32(unsigned long crc, const unsigned char *buf, unsigned len);")
    z = ffi.dlopen("libz.so.1")  # zlib1g: in every Debian root, no zlib1g-dev needed
    assert z.crc32(0, b"hello", 5) == 0x3610A686
