"""What source text cdef takes: huge (90,000 declarations), nested up to its limit,
many names a hash could confuse, Unicode in comments and literals, line markers and
pragmas, CRLF and continuation lines, cdef from several threads.
"""

import pytest

import cffix
from cffix import FFI

from cdef_helpers import cdef, cdef_error, dlopen_self


def test_moderate_nesting_is_fine():
    ffi = cdef("#define X " + "(" * 150 + "7" + ")" * 150 + "\n"
               "typedef int " + "*" * 150 + "p;")
    assert dlopen_self(ffi).X == 7
    assert ffi.typeof("p") is ffi.typeof("int" + "*" * 150)


def test_huge_cdef():
    # About 5 MB of simple declarations: accepted, and (see bench/) fast.
    count = 90_000
    source = "".join(f"typedef int t{i}; int f{i}(t{i}, const char *);\n#define C{i} {i}\n"
                     for i in range(count))
    assert len(source) > 5_000_000
    ffi = cdef(source)
    assert len(ffi.list_types()[0]) == count
    assert ffi.typeof(f"t{count - 1}") is ffi.typeof("int")
    names = dir(dlopen_self(ffi))
    assert f"f{count - 1}" in names and f"C{count - 1}" in names


def similar_names():
    """Identifiers of every length from 1 to 40, and each one with a single character
    changed at every position: names a hash could easily confuse."""
    names = set()
    for n in range(1, 41):
        base = "x" * n
        names.add(base)
        names.update(base[:i] + "y" + base[i + 1:] for i in range(n))
    return sorted(names)


def test_many_similar_names_are_told_apart():
    names = similar_names()
    ffi = cdef("\n".join(
        f"typedef char t_{name}[{k + 1}]; struct s_{name} {{ char c[{k + 2}]; }};\n"
        f"#define C_{name} {k}\nint f_{name}(char (*)[{k + 3}]);"
        for k, name in enumerate(names)))
    lib = dlopen_self(ffi)
    for k, name in enumerate(names):
        assert ffi.sizeof(f"t_{name}") == k + 1
        assert ffi.sizeof(f"struct s_{name}") == k + 2
        assert getattr(lib, f"C_{name}") == k
        assert ffi.typeof(f"t_{name}") is ffi.typeof(f"char[{k + 1}]")
    assert {f"f_{name}" for name in names} <= set(dir(lib))
    # Redeclarations: the same text is accepted, another one needs override=True.
    ffi.cdef("\n".join(f"typedef char t_{name}[{k + 1}];" for k, name in enumerate(names)))
    with pytest.raises(cffix.FFIError):
        ffi.cdef(f"typedef int t_{names[7]};")
    ffi.cdef("\n".join(f"typedef short t_{name};" for name in names[::3]), override=True)
    for k, name in enumerate(names):
        assert ffi.sizeof(f"t_{name}") == (2 if k % 3 == 0 else k + 1)


def test_cdef_in_threads_and_trees_freed_elsewhere():
    # Parse trees come from per-thread free lists; a tree may die in another thread than
    # the one that parsed it (here: the FFIs, whose scopes hold types, die in the main one).
    import threading
    results = []

    def work(i):
        for _ in range(20):
            ffi = FFI()
            ffi.cdef(f"struct s{i} {{ int a[{i + 1}]; struct {{ char c; }} in; }};"
                     f"typedef struct s{i} t{i}; int f{i}(t{i} *, int (*)(t{i}));")
        results.append((i, ffi.sizeof(f"t{i}"), ffi))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted((i, n) for i, n, _ in results) == [(i, 4 * (i + 1) + 4) for i in range(6)]
    results.clear()
    ffi = cdef("struct again { int x; char y[3]; };")
    assert ffi.sizeof("struct again") == 8


def test_unicode_in_comments_and_literals():
    ffi = cdef("/* café, 中文 */ struct s { int x; }; // ünïcode\n"
               "#define C 'a' /* é */\n")
    assert ffi.sizeof("struct s") == 4
    # An error message never cuts a character in two (nor carries invalid UTF-8).
    for pad in range(4):
        message = cdef_error("/*" + "é" * 200 + "*/" + " " * pad + " int x y; /*" +
                             "é" * 200 + "*/", "found 'y'")
        message.encode("utf-8")


def test_line_markers_and_pragmas_are_skipped():
    ffi = cdef('# 1 "header.h"\n# 5 "header.h" 2 3\n#pragma pack()\n#line 7 "x.h"\n'
               "#\nint x;\n  #  define N 3\ntypedef char t[N];\n")
    assert ffi.typeof("t").length == 3


def test_crlf_and_continuation_lines():
    ffi = cdef("#define LONG_VALUE \\\n  (1 + \\\r\n 2)\r\ntypedef char t[LONG_VALUE];\r\n")
    assert ffi.typeof("t").length == 3
