"""ABI-mode calls into real system libraries: libc, libm, zlib and sqlite3.

Each library is declared with only the functions used and loaded with ffi.dlopen; results
are checked against Python's own implementation of the same thing (len, math, zlib,
os.getpid, errno). A library that is not installed skips its tests. Like the tests of
calls (tests/test_call_*.py), each test runs through the fast thunks and through libffi.

Set CFFIX_TEST_MODULE=cffi to run the same tests with cffi.
"""

import ctypes.util
import errno
import math
import os
import random
import struct
import zlib

import pytest


pytestmark = pytest.mark.usefixtures("call_path")  # the thunks, then libffi


def open_library(module, cdef, short_name):
    """(ffi, lib) for the system library `short_name` ('z', 'm'...); skips if missing."""
    ffi = module.FFI()
    ffi.cdef(cdef)
    if short_name is None:
        return ffi, ffi.dlopen(None)
    path = ctypes.util.find_library(short_name)
    if path is None:
        pytest.skip(f"lib{short_name} is not installed")
    return ffi, ffi.dlopen(path)


# ------------------------------------------------------------------------------ libc

LIBC_CDEF = """
    size_t strlen(const char *s);
    void qsort(void *base, size_t nmemb, size_t size,
               int (*compar)(const void *, const void *));
    int snprintf(char *str, size_t size, const char *format, ...);
    int open(const char *pathname, int flags, ...);
    int close(int fd);
    int getpid(void);
    char *strerror(int errnum);
"""


@pytest.fixture(scope="module")
def libc(module):
    return open_library(module, LIBC_CDEF, None)


def test_strlen(libc):
    ffi, lib = libc
    for s in (b"", b"a", b"hello world", b"x" * 100_000, "h\xe9llo".encode()):
        assert lib.strlen(s) == len(s)
    assert lib.strlen(ffi.new("char[]", b"abc\x00def")) == 3


def test_qsort_with_a_python_comparator(libc):
    ffi, lib = libc
    values = [random.Random(7).randint(-(1 << 31), (1 << 31) - 1) for _ in range(500)]
    array = ffi.new("int[]", values)

    @ffi.callback("int(const void *, const void *)")
    def compare(a, b):
        x = ffi.cast("const int *", a)[0]
        y = ffi.cast("const int *", b)[0]
        return (x > y) - (x < y)

    lib.qsort(array, len(values), ffi.sizeof("int"), compare)
    assert list(array) == sorted(values)


def test_snprintf(libc):
    ffi, lib = libc
    buf = ffi.new("char[100]")
    n = lib.snprintf(buf, 100, b"%s=%d (%.2f) %c %lu", ffi.new("char[]", b"answer"),
                     ffi.cast("int", 42), ffi.cast("double", math.pi), ffi.cast("char", b"!"),
                     ffi.cast("unsigned long", (1 << 64) - 1))
    expected = b"answer=42 (3.14) ! 18446744073709551615"
    assert ffi.string(buf) == expected
    assert n == len(expected)
    small = ffi.new("char[4]")
    assert lib.snprintf(small, 4, b"%d", ffi.cast("int", 123456)) == 6
    assert ffi.string(small) == b"123"


def test_errno_from_open_of_a_missing_file(libc, tmp_path):
    ffi, lib = libc
    ffi.errno = 0
    missing = str(tmp_path / "does-not-exist").encode()
    assert lib.open(missing, os.O_RDONLY) == -1
    assert ffi.errno == errno.ENOENT
    assert ffi.string(lib.strerror(errno.ENOENT)).decode() == os.strerror(errno.ENOENT)
    present = tmp_path / "present"
    present.write_bytes(b"x")
    fd = lib.open(str(present).encode(), os.O_RDONLY)
    assert fd >= 0
    assert lib.close(fd) == 0
    assert lib.close(fd) == -1
    assert ffi.errno == errno.EBADF


def test_open_with_mode_in_the_variadic_part(libc, tmp_path):
    ffi, lib = libc
    path = tmp_path / "created"
    fd = lib.open(str(path).encode(), os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                  ffi.cast("unsigned int", 0o600))
    assert fd >= 0
    lib.close(fd)
    assert path.stat().st_mode & 0o777 == 0o600


def test_getpid(libc):
    ffi, lib = libc
    assert lib.getpid() == os.getpid()


# ------------------------------------------------------------------------------ libm

LIBM_CDEF = """
    double sin(double x);
    double frexp(double x, int *exp);
    double pow(double x, double y);
    float sqrtf(float x);
"""


@pytest.fixture(scope="module")
def libm(module):
    return open_library(module, LIBM_CDEF, "m")


def test_sin(libm):
    ffi, lib = libm
    for x in (0.0, 0.5, 1.0, math.pi / 2, -3.0, 1e6):
        assert lib.sin(x) == math.sin(x)
    assert math.isnan(lib.sin(math.inf))


def test_frexp_out_parameter(libm):
    ffi, lib = libm
    exp = ffi.new("int *")
    for x in (1.0, 0.3, 1024.0, -5e-300, 1e308):
        mantissa = lib.frexp(x, exp)
        assert (mantissa, exp[0]) == math.frexp(x)


def test_pow(libm):
    ffi, lib = libm
    for x, y in ((2.0, 10.0), (2.0, 0.5), (10.0, -3.0), (0.0, 0.0), (-8.0, 3.0)):
        assert lib.pow(x, y) == math.pow(x, y)
    assert lib.pow(2, 1024) == math.inf


def test_float_function(libm):
    ffi, lib = libm
    assert lib.sqrtf(2.25) == 1.5
    # IEEE square roots are correctly rounded: sqrtf(2) is sqrt(2) rounded to a float.
    assert lib.sqrtf(2.0) == struct.unpack("f", struct.pack("f", math.sqrt(2.0)))[0]


# ------------------------------------------------------------------------------ zlib

ZLIB_CDEF = """
    typedef unsigned char Bytef;
    typedef unsigned long uLong;
    typedef uLong uLongf;
    typedef unsigned int uInt;
    int compress(Bytef *dest, uLongf *destLen, const Bytef *source, uLong sourceLen);
    int uncompress(Bytef *dest, uLongf *destLen, const Bytef *source, uLong sourceLen);
    uLong compressBound(uLong sourceLen);
    uLong crc32(uLong crc, const Bytef *buf, uInt len);
    const char *zlibVersion(void);
    #define Z_OK 0
    #define Z_BUF_ERROR -5
"""


@pytest.fixture(scope="module")
def libz(module):
    return open_library(module, ZLIB_CDEF, "z")


def _compress(ffi, lib, data):
    bound = lib.compressBound(len(data))
    dest = ffi.new("Bytef[]", bound)
    dest_len = ffi.new("uLongf *", bound)
    assert lib.compress(dest, dest_len, data, len(data)) == lib.Z_OK
    return ffi.buffer(dest, dest_len[0])[:]


def test_zlib_round_trip(libz):
    ffi, lib = libz
    data = b"".join(b"line %d of some repetitive text\n" % i for i in range(2000))
    packed = _compress(ffi, lib, data)
    assert len(packed) < len(data)
    assert zlib.decompress(packed) == data  # Python's zlib reads what C wrote
    out = ffi.new("Bytef[]", len(data))
    out_len = ffi.new("uLongf *", len(data))
    assert lib.uncompress(out, out_len, packed, len(packed)) == lib.Z_OK
    assert out_len[0] == len(data)
    assert ffi.buffer(out, out_len[0])[:] == data
    python_packed = zlib.compress(data)
    out_len[0] = len(data)
    assert lib.uncompress(out, out_len, python_packed, len(python_packed)) == lib.Z_OK
    assert ffi.buffer(out, out_len[0])[:] == data


def test_zlib_too_small_buffer(libz):
    ffi, lib = libz
    data = bytes(range(256)) * 10
    packed = _compress(ffi, lib, data)
    out = ffi.new("Bytef[]", 10)
    out_len = ffi.new("uLongf *", 10)
    assert lib.uncompress(out, out_len, packed, len(packed)) == lib.Z_BUF_ERROR


def test_crc32(libz):
    ffi, lib = libz
    for data in (b"", b"a", b"hello world", bytes(range(256)) * 100):
        assert lib.crc32(0, data, len(data)) == zlib.crc32(data)
    running = 0
    for part in (b"abc", b"def", b"ghi"):
        running = lib.crc32(running, part, len(part))
    assert running == zlib.crc32(b"abcdefghi")
    buf = ffi.from_buffer(bytearray(b"from a buffer"))
    assert lib.crc32(0, buf, len(buf)) == zlib.crc32(b"from a buffer")


def test_zlib_version(libz):
    ffi, lib = libz
    version = ffi.string(lib.zlibVersion()).decode()
    assert version.split(".")[0] == zlib.ZLIB_RUNTIME_VERSION.split(".")[0]


# ------------------------------------------------------------------------------ sqlite3

SQLITE_CDEF = """
    typedef struct sqlite3 sqlite3;
    int sqlite3_open(const char *filename, sqlite3 **ppDb);
    int sqlite3_close(sqlite3 *db);
    int sqlite3_exec(sqlite3 *db, const char *sql,
                     int (*callback)(void *, int, char **, char **),
                     void *arg, char **errmsg);
    void sqlite3_free(void *p);
    const char *sqlite3_libversion(void);
    #define SQLITE_OK 0
    #define SQLITE_ERROR 1
    #define SQLITE_ABORT 4
"""


@pytest.fixture(scope="module")
def sqlite(module):
    return open_library(module, SQLITE_CDEF, "sqlite3")


@pytest.fixture
def db(sqlite):
    ffi, lib = sqlite
    pdb = ffi.new("sqlite3 **")
    assert lib.sqlite3_open(b":memory:", pdb) == lib.SQLITE_OK
    assert pdb[0] != ffi.NULL
    yield pdb[0]
    assert lib.sqlite3_close(pdb[0]) == lib.SQLITE_OK


def _exec(ffi, lib, db, sql, callback=None):
    errmsg = ffi.new("char **")
    rc = lib.sqlite3_exec(db, sql, callback or ffi.NULL, ffi.NULL, errmsg)
    message = None
    if errmsg[0] != ffi.NULL:
        message = ffi.string(errmsg[0]).decode()
        lib.sqlite3_free(errmsg[0])
    return rc, message


def test_sqlite_create_insert_and_query(sqlite, db):
    ffi, lib = sqlite
    rc, message = _exec(ffi, lib, db, b"CREATE TABLE t (id INTEGER, name TEXT, score REAL);"
                        b"INSERT INTO t VALUES (1, 'ada', 9.5), (2, 'bob', NULL),"
                        b" (3, 'c\xc3\xa9line', -1.25);")
    assert (rc, message) == (lib.SQLITE_OK, None)
    rows = []

    @ffi.callback("int(void *, int, char **, char **)")
    def collect(arg, ncolumns, values, names):
        rows.append({ffi.string(names[i]).decode():
                     None if values[i] == ffi.NULL else ffi.string(values[i]).decode()
                     for i in range(ncolumns)})
        return 0

    rc, message = _exec(ffi, lib, db, b"SELECT id, name, score FROM t ORDER BY id", collect)
    assert (rc, message) == (lib.SQLITE_OK, None)
    assert rows == [
        {"id": "1", "name": "ada", "score": "9.5"},
        {"id": "2", "name": "bob", "score": None},
        {"id": "3", "name": "c\xe9line", "score": "-1.25"},
    ]


def test_sqlite_callback_can_abort(sqlite, db):
    ffi, lib = sqlite
    _exec(ffi, lib, db, b"CREATE TABLE n (v INTEGER); INSERT INTO n VALUES (1), (2), (3);")
    seen = []

    @ffi.callback("int(void *, int, char **, char **)")
    def first_only(arg, ncolumns, values, names):
        seen.append(ffi.string(values[0]))
        return 1  # non-zero: stop

    rc, message = _exec(ffi, lib, db, b"SELECT v FROM n ORDER BY v", first_only)
    assert rc == lib.SQLITE_ABORT
    assert seen == [b"1"]


def test_sqlite_error_message(sqlite, db):
    ffi, lib = sqlite
    rc, message = _exec(ffi, lib, db, b"SELEKT 1")
    assert rc == lib.SQLITE_ERROR
    assert "syntax error" in message


def test_sqlite_version(sqlite):
    import sqlite3

    ffi, lib = sqlite
    version = ffi.string(lib.sqlite3_libversion()).decode()
    assert version.split(".")[0] == sqlite3.sqlite_version.split(".")[0]
