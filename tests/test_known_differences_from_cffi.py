"""Where cffix intentionally differs from cffi (mostly: it raises where cffi reads or
writes past the end of memory, uses freed memory or crashes). These operations are not
in the same-as-cffi corpus; each difference has its test `test_known_<name>`, which
asserts cffix's behaviour (test_every_known_difference_has_a_test checks this). Those
that would write out of bounds or crash a library that does not guard against them run
in a child process.

With CFFIX_TEST_MODULE=cffi they are expected to fail (xfail, not strict: cffi's
out-of-bounds reads can happen to give the right answer).
"""

import pytest

from cdata_oracle import CDEF
from support import MODULE_UNDER_TEST, run_child


KNOWN_DIFFERENCES = {
    "buffer_past_owned_end": "ffi.buffer(p, n) with n past the end of owned memory raises "
                             "(cffi makes a buffer that reads and writes past the end)",
    "memmove_past_end": "ffi.memmove with n past the end of owned memory or of a Python "
                        "buffer raises (cffi writes past the end)",
    "string_past_owned_end": "ffi.string on owned memory stops at its end "
                             "(cffi reads on until a null)",
    "unpack_past_owned_end": "ffi.unpack(p, n) with n past the end of owned memory raises "
                             "(cffi reads past the end)",
    "buffer_delitem": "del ffi.buffer(p)[i] raises TypeError (cffi crashes)",
    "buffer_of_null": "ffi.buffer of a NULL pointer with a non-zero size raises RuntimeError "
                      "(cffi makes a buffer whose use crashes)",
    "cdata_slice_delete": "del array[a:b] raises TypeError (cffi crashes)",
    "null_array": "an array cast from 0 (`ffi.cast('int[4]', 0)`) and a NULL pointer raise "
                  "RuntimeError when indexed, iterated or written (cffi crashes); casting to "
                  "an array of unknown length is refused, as in cffi",
    "addressof_array_out_of_range": "ffi.addressof(array, i) with i outside the array raises "
                                    "IndexError (cffi returns a wild pointer)",
    "float_complex_repr": "the ctype of `float _Complex` / `double _Complex` keeps that name "
                          "(cffi prints `_cffi_float_complex_t` / `_cffi_double_complex_t`)",
    "empty_struct_size": "an empty struct has size 0, as gcc gives it (cffi says 1)",
    "gc_array_keeps_length": "ffi.gc over an array of unknown length keeps its length "
                             "(cffi's result has a garbage length)",
    "access_after_release": "reading or writing through a released object, or through a "
                            "view made before the release, raises (cffi: use after free)",
    "mutating_initializer": "an item whose __int__ empties the initializer list while new() "
                            "converts it cannot make new() read freed items (cffi crashes)",
    "call_after_dlclose": "calling a function fetched from a library before ffi.dlclose() "
                          "raises ValueError (cffi jumps into the unmapped library)",
    "derived_keeps_owner": "a pointer derived from an owner's memory (p + n, ffi.cast, "
                           "ffi.addressof) keeps the owner alive, so an ffi.gc destructor runs "
                           "when the last such pointer goes (cffi: at once, the pointer "
                           "left dangling)",
    "derived_access_after_release": "reading or writing through a pointer derived from an "
                                    "owner after ffi.release(owner) raises (cffi: use after "
                                    "free)",
    "derived_out_of_bounds": "indexes, slices, fields, unpack, buffer and memmove through "
                             "pointers derived from known memory, from_buffer pointers, ffi.gc "
                             "cdata and handles raise past that memory (cffi reads and "
                             "writes past it)",
    "release_with_buffer_export": "ffi.release(p) while a memoryview of ffi.buffer(p) lives "
                                  "marks p released but frees its memory when the view goes "
                                  "(cffi frees it at once: the view then writes freed memory)",
}


def test_every_known_difference_has_a_test():
    names = {n[len("test_known_"):] for n in globals() if n.startswith("test_known_")}
    assert names == set(KNOWN_DIFFERENCES)


known = pytest.mark.xfail(MODULE_UNDER_TEST == "cffi", strict=False,
                          reason="asserts cffix's safer behaviour, which cffi lacks")


def isolated_lines(code):
    """The output lines of `code` run in a child process (support.run_child) with `ffi`
    (CDEF declared); fails the test if the child crashed."""
    rc, lines, err = run_child(code, CDEF)
    assert rc == 0, f"child exited with {rc}:\n{lines}\n{err}"
    return lines


@known
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_known_buffer_past_owned_end(ffi):
    p = ffi.new("int *")
    with pytest.raises(ValueError, match="past the end"):
        ffi.buffer(p, 100)
    a = ffi.new("char[]", 8)
    with pytest.raises(ValueError, match="past the end"):
        ffi.buffer(a, 9)
    s = ffi.new("struct point *")
    with pytest.raises(ValueError, match="past the end"):
        ffi.buffer(s, 9)
    assert len(ffi.buffer(a, 8)) == 8
    assert len(ffi.buffer(s, 8)) == 8
    assert len(ffi.buffer(p, 3)) == 3


@known
def test_known_memmove_past_end():
    lines = isolated_lines("""
        a = ffi.new("char[4]")
        src = ffi.new("char[2]", b"xy")
        print(attempt(lambda: ffi.memmove(a, b"abcdefgh", 8)))       # dest too small
        print(attempt(lambda: ffi.memmove(a, src, 4)))               # src too small
        print(attempt(lambda: ffi.memmove(a, bytearray(2), 3)))      # Python src too small
        print(attempt(lambda: ffi.memmove(bytearray(2), a, 4)))      # Python dest too small
        print(attempt(lambda: ffi.memmove(ffi.new("int *"), b"12345678", 8)))
        ffi.memmove(a, b"abcd", 4)
        print(ffi.unpack(a, 4))
    """)
    assert lines == ["ValueError"] * 5 + ["b'abcd'"]


@known
def test_known_string_past_owned_end(ffi):
    # A 'char *' over the first byte of b"xyz": the memory after it is readable and not
    # null, so a string() that ignores the known size returns b"xyz".
    data = memoryview(b"xyz")[0:1]
    p = ffi.from_buffer("char *", data)
    assert ffi.string(p) == b"x"
    # One owned char, no room for a terminator: string() stops at its end, whatever the
    # maxlen (as it stops at the end of a char[N] without a null).
    for maxlen in (-1, 1, 2, 1000):
        assert ffi.string(ffi.new("char *", b"x"), maxlen) == b"x", maxlen
    assert ffi.string(ffi.new("wchar_t *", "y")) == "y"


@known
def test_known_unpack_past_owned_end(ffi):
    a = ffi.new("int[3]", [1, 2, 3])
    assert ffi.unpack(a, 3) == [1, 2, 3]
    with pytest.raises(IndexError, match="past the end"):
        ffi.unpack(a, 4)
    c = ffi.new("char[]", b"ab")
    with pytest.raises(IndexError, match="past the end"):
        ffi.unpack(c, 10)
    p = ffi.new("int *", 7)
    with pytest.raises(IndexError, match="past the end"):
        ffi.unpack(p, 2)
    w = ffi.new("wchar_t[2]", "ab")
    with pytest.raises(IndexError, match="past the end"):
        ffi.unpack(w, 3)
    q = ffi.from_buffer("char *", memoryview(b"xyz")[0:1])
    with pytest.raises(IndexError, match="past the end"):
        ffi.unpack(q, 3)


@known
def test_known_buffer_of_null():
    lines = isolated_lines("""
        print(attempt(lambda: ffi.buffer(ffi.cast("int *", 0))))
        print(len(ffi.buffer(ffi.cast("int *", 0), 0)))
    """)
    assert lines == ["RuntimeError", "0"]


@known
def test_known_null_array():
    lines = isolated_lines("""
        a = ffi.cast("int[4]", 0)
        print(repr(a), len(a))
        print(attempt(lambda: a[0]), attempt(lambda: list(a)), attempt(lambda: a[0:2][1]))
        print(attempt(lambda: a.__setitem__(0, 1)), attempt(lambda: a.__setitem__(slice(0, 2), [1, 2])))
        print(attempt(lambda: ffi.cast("char[4]", 0)[3]))
        p = ffi.cast("int *", 0)
        print(attempt(lambda: p[0:1][0]), attempt(lambda: p.__setitem__(slice(0, 2), [1, 2])))
        print(attempt(lambda: ffi.cast("int[]", 0)))
    """)
    assert lines == ["<cdata 'int[4]' NULL> 4", "RuntimeError RuntimeError RuntimeError",
                     "RuntimeError RuntimeError", "RuntimeError", "RuntimeError RuntimeError",
                     "TypeError"]


@known
def test_known_buffer_delitem():
    lines = isolated_lines("""
        b = ffi.buffer(ffi.new("char[]", b"abc"))
        print(attempt(lambda: b.__delitem__(0)))
        print(attempt(lambda: b.__delitem__(slice(0, 1))))
        print(bytes(b))
    """)
    assert lines == ["TypeError", "TypeError", r"b'abc\x00'"]


@known
def test_known_cdata_slice_delete():
    lines = isolated_lines("""
        a = ffi.new("int[5]", [1, 2, 3, 4, 5])
        print(attempt(lambda: a.__delitem__(slice(0, 2))))
        print(attempt(lambda: a.__delitem__(0)))
        print(list(a))
    """)
    assert lines == ["TypeError", "TypeError", "[1, 2, 3, 4, 5]"]


@known
def test_known_addressof_array_out_of_range(ffi):
    # As in C, the address one past the last item may be formed (it is `a + len(a)`);
    # anything beyond, or before the start, raises.
    a = ffi.new("int[5]")
    assert ffi.addressof(a, 4) == a + 4
    assert ffi.addressof(a, 5) == a + 5
    for bad in (6, 7, -1, 2**40):
        with pytest.raises(IndexError):
            ffi.addressof(a, bad)
    n = ffi.new("struct nested *")
    with pytest.raises(IndexError):
        ffi.addressof(n[0], "arr", 4)
    m = ffi.new("int[2][3]")
    with pytest.raises(IndexError):
        ffi.addressof(m, 1, 4)
    with pytest.raises(IndexError):
        ffi.addressof(m, 3)


@known
def test_known_float_complex_repr(ffi):
    assert repr(ffi.typeof("float _Complex")) == "<ctype 'float _Complex'>"
    assert repr(ffi.cast("float _Complex", 1)) == "<cdata 'float _Complex' (1+0j)>"
    assert repr(ffi.cast("double _Complex", 1 + 2j)) == "<cdata 'double _Complex' (1+2j)>"
    assert repr(ffi.new("double _Complex *")) == "<cdata 'double _Complex *' owning 16 bytes>"
    assert complex(ffi.cast("float _Complex", 0.5j)) == 0.5j


@known
def test_known_empty_struct_size(ffi):
    f = type(ffi)()
    f.cdef("struct empty { };")
    assert f.sizeof("struct empty") == 0
    p = f.new("struct empty *")
    assert f.sizeof(p[0]) == 0
    assert len(f.buffer(p)) == 0


@known
def test_known_gc_array_keeps_length(ffi):
    calls = []
    p = ffi.gc(ffi.new("int[]", [1, 2, 3]), calls.append)
    assert len(p) == 3
    assert list(p) == [1, 2, 3]
    with pytest.raises(IndexError):
        p[3]
    assert repr(p).startswith("<cdata 'int[]' ")
    del p
    assert len(calls) == 1


@known
def test_known_access_after_release():
    lines = isolated_lines("""
        p = ffi.new("int *", 5)
        ffi.release(p)
        print(attempt(lambda: p[0]))
        print(attempt(lambda: p.__setitem__(0, 1)))

        s = ffi.new("struct point *", [1, 2])
        view = s[0]
        ffi.release(s)
        print(attempt(lambda: view.x))
        print(attempt(lambda: setattr(view, "y", 3)))
        print(attempt(lambda: s.x))

        n = ffi.new("struct nested *")
        inner = n.p
        arr = n.arr
        ffi.release(n)
        print(attempt(lambda: inner.y))
        print(attempt(lambda: arr[1]))
        print(attempt(lambda: ffi.buffer(n)[:]))
        print(attempt(lambda: ffi.memmove(n, b"x", 1)))
        print(attempt(lambda: ffi.unpack(n.arr, 3)))

        a = ffi.new("char[]", b"abc")
        ffi.release(a)
        print(attempt(lambda: ffi.string(a)))
        print(attempt(lambda: list(a)))

        x = bytearray(b"abc")
        c = ffi.from_buffer(x)
        ffi.release(c)
        print(attempt(lambda: c[0]))
    """)
    assert lines == ["ValueError"] * 13


@known
def test_known_mutating_initializer():
    lines = isolated_lines("""
        import gc
        lst = []

        class Evil:
            def __int__(self):
                lst.clear()
                gc.collect()
                return 1
            __index__ = __int__

        class Big:
            def __int__(self):
                return 12345
            __index__ = __int__

        for shape in ("int[]", "int[200]", "long[]"):
            lst[:] = [Evil()] + [Big() for _ in range(100)]
            p = ffi.new(shape, lst)
            print(len(p), p[0], sorted(set(p[1:len(p)])))
    """)
    # The length is taken before the conversion; the items the list no longer has are
    # never read: zero, as past the end of a short initializer.
    assert lines == ["101 1 [0]", "200 1 [0]", "101 1 [0]"]


@known
def test_known_call_after_dlclose(build_clib):
    path = build_clib("stress", flags=["-pthread"])
    lines = isolated_lines(f"""
        ffi.cdef("int add_one(int x);")
        lib = ffi.dlopen({path!r})
        f = lib.add_one
        print(f(1))
        ffi.dlclose(lib)
        print(attempt(lambda: f(1)))
    """)
    assert lines == ["2", "ValueError"]


@known
def test_known_derived_keeps_owner(ffi):
    calls = []
    p = ffi.gc(ffi.cast("int *", 64), lambda q: calls.append(1))
    q = p + 0
    del p
    assert calls == []
    del q
    assert calls == [1]


@known
def test_known_derived_access_after_release():
    lines = isolated_lines("""
        p = ffi.new("int[]", 1000)
        q, c, a = p + 1, ffi.cast("char *", p), ffi.addressof(p, 5)
        ffi.release(p)
        print(attempt(lambda: q[0]), attempt(lambda: c[0]), attempt(lambda: a.__setitem__(0, 1)))
    """)
    assert lines == ["ValueError ValueError ValueError"]


@known
def test_known_derived_out_of_bounds():
    lines = isolated_lines("""
        def f(x): pass
        print(attempt(lambda: (ffi.new("int[4]") + 3).__setitem__(1000, 7)))
        print(attempt(lambda: ffi.unpack(ffi.new("int[4]") + 2, 100)))
        print(attempt(lambda: ffi.cast("int *", ffi.new("char[4]"))[4]))
        print(attempt(lambda: ffi.from_buffer("int *", bytearray(8))[7]))
        print(attempt(lambda: ffi.unpack(ffi.gc(ffi.new("int *"), f), 8)))
        print(attempt(lambda: ffi.buffer(ffi.new_handle([1]), 4096)))
    """)
    assert lines == ["IndexError"] * 5 + ["ValueError"]


@known
def test_known_release_with_buffer_export():
    lines = isolated_lines("""
        import cffix
        p = ffi.new("char[]", 100000)
        mv = memoryview(ffi.buffer(p))
        ffi.release(p)
        mv[0:4] = b"abcd"
        print(attempt(lambda: p[0]), bytes(mv[0:4]), cffix.live_cdata()[1] >= 100000)
        mv.release()
        print(cffix.live_cdata()[1] < 100000)
    """)
    assert lines == ["ValueError b'abcd' True", "True"]
