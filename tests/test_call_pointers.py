"""ABI-mode calls (tests/clib/calls.c) with pointers: results, out-parameters, arrays and
temporary arrays from lists, bytes for `char *`, None for NULL, and the pointers refused.

Each test runs twice in cffix: through the fast register thunks and through libffi
(`cffix._core._force_libffi(True)`), which must agree.

Set CFFIX_TEST_MODULE=cffi to run the same tests with cffi (a check of the harness; the
tests marked cffix_only are then expected to fail).
"""

import pytest

import clib_calls
from support import cffix_only

CDEF = clib_calls.CDEF  # declared by the `ffi` fixture

pytestmark = pytest.mark.usefixtures("call_path")  # every test: the thunks, then libffi


def test_pointer_results(ffi, lib):
    p = lib.numbers()
    assert ffi.typeof(p) is ffi.typeof("int *")
    assert [p[i] for i in range(4)] == [10, 20, 30, 40]
    s = lib.greeting()
    assert ffi.typeof(s) is ffi.typeof("char *")
    assert ffi.string(s) == b"hello, world"
    n = lib.null_pointer()
    assert n == ffi.NULL
    assert repr(n) == "<cdata 'void *' NULL>"


def test_pointers_in_and_out(ffi, lib):
    a = ffi.new("int[5]", [1, 2, 3, 4, 5])
    assert lib.ptr_id(a) == a
    q = lib.ptr_advance(a, 3)
    assert q[0] == 4 and q - a == 3
    assert lib.ptr_advance(q, -3) == a
    s = ffi.new("char[]", b"abcdef")
    assert lib.ptr_distance(s, s + 4) == 4
    assert lib.address_of(a) == int(ffi.cast("uintptr_t", a))
    assert lib.is_null(ffi.NULL) == 1
    assert lib.is_null(a) == 0
    assert lib.ptr_id(ffi.NULL) == ffi.NULL


@cffix_only
def test_none_is_null(ffi, lib):
    assert lib.is_null(None) == 1
    assert lib.ptr_id(None) == ffi.NULL
    assert lib.divide(1, 0, None, None) == -1


def test_void_pointer_takes_any_data_pointer(ffi, lib):
    for p in (ffi.new("int *"), ffi.new("double[3]"), ffi.new("struct ii *"), lib.greeting()):
        assert lib.address_of(p) == int(ffi.cast("uintptr_t", p))
    assert lib.address_of(b"x") != 0


def test_bytes_for_char_pointer(lib):
    assert lib.my_strlen(b"hello") == 5
    assert lib.my_strlen(b"") == 0
    assert lib.my_strlen(b"a\x00b") == 1
    assert lib.count_char(b"banana", b"a") == 3
    data = bytes(range(256)) * 4
    assert lib.sum_bytes(data, len(data)) == sum(data)


@pytest.mark.parametrize("bad", ["text", bytearray(b"x"), memoryview(b"x"), 5, 1.5])
def test_char_pointer_wrong_type(lib, bad):
    with pytest.raises(TypeError):
        lib.my_strlen(bad)


def test_char_pointer_takes_char_arrays(ffi, lib):
    assert lib.my_strlen(ffi.new("char[]", b"hello")) == 5
    assert lib.my_strlen(ffi.cast("void *", lib.greeting())) == 12
    assert lib.sum_bytes(ffi.from_buffer(bytearray(b"\x02\x03")), 2) == 5


def test_char_pointer_takes_signed_and_unsigned_char_arrays(ffi, lib):
    # cffi lets 'char *', 'signed char *' and 'unsigned char *' stand for one another.
    assert lib.my_strlen(ffi.new("unsigned char[]", b"hello")) == 5
    assert lib.my_strlen(ffi.new("signed char[]", b"hello")) == 5


def test_list_for_int_pointer_is_a_temporary_array(ffi, lib):
    assert lib.sum_ints([1, 2, 3], 3) == 6
    assert lib.sum_ints((10, -20), 2) == -10
    assert lib.sum_ints([], 0) == 0
    big = list(range(10_000))
    assert lib.sum_ints(big, len(big)) == sum(big)
    assert lib.sum_doubles([1, 2.5, -0.25], 3) == 3.25
    with pytest.raises(OverflowError):
        lib.sum_ints([1, 1 << 31], 2)
    with pytest.raises(TypeError):
        lib.sum_ints([1, 1.5], 2)
    with pytest.raises(TypeError):
        lib.sum_doubles([1, "x"], 2)


def test_many_temporary_arrays_in_one_call(lib):
    xs = [[i + k for i in range(3)] for k in range(5)]
    expected = sum(xs[0][i] + 2 * xs[1][i] + 3 * xs[2][i] + 4 * xs[3][i] + 5 * xs[4][i]
                   for i in range(3))
    assert lib.sum5arrays(*xs, 3) == expected


def test_str_for_wchar_pointer(lib):
    assert lib.wide_length("h\xe9llo \u20ac\U0001f600") == 8
    assert lib.wide_length(["a", "b", "\x00"]) == 2


def test_list_for_void_pointer_is_type_error(lib):
    # No array of 'void' can be built: a TypeError as for any other bad argument.
    with pytest.raises(TypeError):
        lib.address_of([1, 2])


def test_arrays_passed_as_pointers(ffi, lib):
    a = ffi.new("int[]", [5, 6, 7])
    assert lib.sum_ints(a, 3) == 18
    assert lib.sum_ints(a + 1, 2) == 13
    assert lib.sum_ints(ffi.new("int[4]", [1, 2, 3, 4]), 4) == 10
    m = ffi.new("int[2][3]", [[1, 2, 3], [4, 5, 6]])
    assert lib.sum_ints(m[1], 3) == 15
    d = ffi.new("double[2]", [0.5, 0.25])
    assert lib.sum_doubles(d, 2) == 0.75


@pytest.mark.parametrize("make", ['ffi.new("long[2]")', 'ffi.new("unsigned int[2]")',
                                  'ffi.new("struct ii *")', 'ffi.new("double *")',
                                  "lib.add", 'b"abcd"', "5"])
def test_incompatible_pointer_is_type_error(ffi, lib, make):
    with pytest.raises(TypeError):
        lib.sum_ints(eval(make), 1)


def test_out_parameters(ffi, lib):
    p = ffi.new("int *")
    lib.set_int(p, -7)
    assert p[0] == -7
    q, r = ffi.new("int *"), ffi.new("int *")
    assert lib.divide(17, 5, q, r) == 0
    assert (q[0], r[0]) == (3, 2)
    assert lib.divide(-17, 5, q, r) == 0
    assert (q[0], r[0]) == (-3, -2)  # C truncates towards zero
    a = ffi.new("int[6]")
    lib.fill_ints(a, 6, 100)
    assert list(a) == [100, 101, 102, 103, 104, 105]
    s = ffi.new("const char **")
    lib.set_string(s)
    assert ffi.string(s[0]) == b"hello, world"
    d = ffi.new("double[]", [1.5, -2.0, 0.25])
    lib.double_in_place(d, 3)
    assert list(d) == [3.0, -4.0, 0.5]
    buf = ffi.new("char[32]")
    lib.copy_upper(buf, b"Hello, abc!")
    assert ffi.string(buf) == b"HELLO, ABC!"


@cffix_only
def test_released_cdata_argument_is_an_error(ffi, lib):
    a = ffi.new("int[3]", [1, 2, 3])
    ffi.release(a)
    with pytest.raises(ValueError):
        lib.sum_ints(a, 3)
    s = ffi.new("struct ii *", [1, 2])
    view = s[0]
    ffi.release(s)
    with pytest.raises(ValueError):
        lib.ii_weighted(view)
    with ffi.new("int *") as p:
        lib.set_int(p, 1)
    with pytest.raises(ValueError):
        lib.set_int(p, 2)


def test_array_and_function_parameters_decay_to_pointers(module, calls_library):
    ffi = module.FFI()
    ffi.cdef("long sum_ints(const int a[], size_t n);"
             "int apply(int f(int, int), int a, int b); int add(int, int);")
    lib = ffi.dlopen(calls_library)
    assert lib.sum_ints([1, 2, 3], 3) == 6
    assert lib.sum_ints(ffi.new("int[2]", [4, 5]), 2) == 9
    assert lib.apply(lib.add, 2, 3) == 5


@pytest.mark.parametrize("fname,args", [("sum_ints", (b"abcd", 1)), ("ptr_id", (b"x",))])
def test_bytes_only_for_char_like_pointers(lib, fname, args):
    """bytes pass as `char *` (and `void *`), never as a pointer to wider items."""
    with pytest.raises(TypeError):
        getattr(lib, fname)(*args)


@cffix_only
def test_bytes_and_none_for_pointers_in_the_fast_path(lib):
    assert lib.my_strlen(b"plain") == 5
    assert lib.sum_bytes(b"\x01\x02", 2) == 3
    assert lib.sum_ints(None, 0) == 0


# ---------------------------------------------------------------- Python files for FILE *

STDIO = """
    int fputs(const char *, FILE *);
    int fgetc(FILE *);
    char *fgets(char *, int, FILE *);
    FILE *fdopen(int, const char *);
    int fclose(FILE *);
"""


@pytest.fixture
def libc(module):
    ffi = module.FFI()
    ffi.cdef(STDIO)
    return ffi, ffi.dlopen(None)


def test_python_file_for_a_FILE_argument_keeps_the_order_of_writes(libc, tmp_path):
    # cffi's ABI-mode feature: a Python file object passed where 'FILE *' is expected.
    ffi, C = libc
    name = tmp_path / "out"
    with open(name, "wb") as f:
        f.write(b"[")
        assert C.fputs(b"hello from C", f) >= 0
        f.write(b"][")
        C.fputs(b"more", f)
        f.write(b"]")
    assert name.read_bytes() == b"[hello from C][more]"
    with open(name, "a") as f:  # text mode, appending
        f.write("<")
        C.fputs(b"appended", f)
        f.write(">")
    assert name.read_bytes() == b"[hello from C][more]<appended>"


@cffix_only
def test_python_file_for_a_FILE_argument_reads_from_its_position(libc, tmp_path):
    # cffix drops the file's read-ahead before the call and leaves the file where C
    # stopped reading (cffi's FILE sees the file's descriptor past Python's read-ahead).
    ffi, C = libc
    name = tmp_path / "in"
    name.write_bytes(b"abcdefgh")
    with open(name, "rb") as f:
        assert f.read(1) == b"a"
        assert C.fgetc(f) == ord("b")
        assert f.read(1) == b"c"
        buf = ffi.new("char[8]")
        C.fgets(buf, 3, f)
        assert ffi.string(buf) == b"de"
        assert f.read() == b"fgh"


def test_FILE_argument_takes_files_with_a_descriptor_only(libc, tmp_path):
    import io

    ffi, C = libc
    with pytest.raises((io.UnsupportedOperation, TypeError)):
        C.fputs(b"x", io.BytesIO())
    for bad in (5, "name", b"bytes"):
        with pytest.raises(TypeError):
            C.fputs(b"x", bad)
    f = open(tmp_path / "closed", "wb")
    f.close()
    with pytest.raises(ValueError):
        C.fputs(b"x", f)
    with open(tmp_path / "ro", "wb"):
        pass
    with open(tmp_path / "ro", "rb") as f:
        assert C.fputs(b"x", f) < 0  # C's own error: the file is open for reading
    assert (tmp_path / "ro").read_bytes() == b""


def test_FILE_cdata_still_passes(libc, tmp_path):
    import os

    ffi, C = libc
    fd = os.open(tmp_path / "raw", os.O_WRONLY | os.O_CREAT)
    fp = C.fdopen(fd, b"w")
    assert ffi.typeof(fp) is ffi.typeof("FILE *")
    C.fputs(b"through a cdata", fp)
    assert C.fclose(fp) == 0
    assert (tmp_path / "raw").read_bytes() == b"through a cdata"


STORED = """
    FILE *kept;
    int fprintf(FILE *, const char *, ...);
"""


def test_a_files_FILE_is_kept_with_the_file_and_may_be_cast(module, tmp_path):
    # cffi's ABI mode: ffi.cast('FILE *', file) gives the file's own FILE (the one its
    # calls get), which C may keep while the file object lives; unbuffered, so what C
    # writes is in the file at once.
    ffi = module.FFI()
    ffi.cdef(STDIO + "int fflush(FILE *);")
    C = ffi.dlopen(None)
    name = tmp_path / "kept"
    with open(name, "wb") as f:
        fp = ffi.cast("FILE *", f)
        assert ffi.typeof(fp) is ffi.typeof("FILE *") and fp != ffi.NULL
        assert ffi.cast("FILE *", f) == fp  # one FILE per file object
        f.write(b"<")
        C.fputs(b"through the cast", fp)  # a cdata: Python's buffer is not flushed here
        assert name.read_bytes() == b"through the cast"
        C.fputs(b"!", f)  # the file itself: flushed first, then the same FILE
        assert name.read_bytes() == b"through the cast<!"
    assert name.read_bytes() == b"through the cast<!"


@cffix_only
def test_casting_a_file_that_takes_no_attribute_is_refused(module, tmp_path):
    import io

    class NoAttributes(io.FileIO):
        def __setattr__(self, name, value):
            if name.startswith("__cffix"):  # what FileIO sets itself is kept
                raise AttributeError(name)
            super().__setattr__(name, value)

    ffi = module.FFI()
    ffi.cdef(STDIO)
    C = ffi.dlopen(None)
    with NoAttributes(tmp_path / "x", "w") as f:
        with pytest.raises(TypeError, match="takes no attribute to keep its FILE"):
            ffi.cast("FILE *", f)
        assert C.fputs(b"per call", f) >= 0  # a call still gets a FILE of its own
    assert (tmp_path / "x").read_bytes() == b"per call"
    for bad in ("name", b"bytes", object()):
        with pytest.raises(TypeError):
            ffi.cast("FILE *", bad)
