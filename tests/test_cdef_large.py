"""Large cdefs: the types a cdef makes stay out of the cyclic GC while their FFI holds them
(types::track_for_gc), so the first use after a cdef of a big header costs what it
touches; and that changes nothing a program can see.

What is checked here:
  * a collection right after a big cdef scans none of its types (gc.get_objects() of the
    young generation does not list them), and the types all work;
  * types and their cycles (struct s { struct s *next; }) are still freed once the FFI is
    gone, by the GC when they form a cycle, and stay usable while a cdata or the user
    holds them (types, fields, layouts unchanged);
  * override=True lets the replaced struct go, cycle and all;
  * on real preprocessed headers (sqlite3.h, openssl/ssl.h when installed; `cc -E -P`) the
    sizes, alignments and field offsets are the same as those of the same cdef in an FFI
    whose types were all made before (the eager path), and errors of bad declarations are
    raised by cdef() itself, as before.
"""

import gc
import re
import shutil
import subprocess
import sysconfig
import weakref

import pytest

import cffix

CC = shutil.which("cc") or shutil.which("gcc")


def preprocessed(header):
    """The text of `#include <header>` after `cc -E -P`, or None when the header is not
    installed (or no compiler is)."""
    if not CC:
        return None
    proc = subprocess.run([CC, "-E", "-P", "-"], input=f"#include <{header}>\n",
                          capture_output=True, text=True)
    return proc.stdout if proc.returncode == 0 else None


def synthetic_cdef(n_structs=300, n_functions=1500):
    """Plain C with cycles: each struct links to itself and to its neighbour."""
    out = [f"struct s{i};" for i in range(n_structs)]
    for i in range(n_structs):
        out.append(f"struct s{i} {{ int a; double b; struct s{i} *self; "
                   f"struct s{(i + 1) % n_structs} *next; "
                   f"int (*cb)(struct s{i} *, void *); char name[{8 + i % 5}]; }};")
        out.append(f"typedef struct s{i} s{i}_t;")
    for n in range(n_functions):
        out.append(f"int fn{n}(struct s{n % n_structs} *p, const char *name, long n{n});")
    return "\n".join(out) + "\n"


def test_a_collection_after_a_big_cdef_scans_none_of_its_types():
    gc.collect()
    ffi = cffix.FFI()
    ffi.cdef(synthetic_cdef())
    for name in ("struct s7", "s7_t", "struct s8 *", "int(*)(struct s3 *, void *)"):
        assert not gc.is_tracked(ffi.typeof(name))
    assert ffi.sizeof("struct s7") == ffi.sizeof("s7_t") > 0
    assert ffi.typeof("struct s7").fields[3][1].type is ffi.typeof("struct s8 *")
    assert ffi.typeof("int(*)(struct s3 *, void *)") is ffi.typeof("struct s3").fields[4][1].type


def test_self_referential_structs_are_freed_with_their_ffi():
    gc.collect()
    ffi = cffix.FFI()
    ffi.cdef("struct node { int v; struct node *next; struct node *(*f)(struct node *); };"
             "struct a { struct b *b; }; struct b { struct a *a; struct a inner; };")
    refs = [weakref.ref(ffi.typeof(name)) for name in ("struct node", "struct a", "struct b")]
    p = ffi.new("struct node *", {"v": 5})
    assert p.next == ffi.NULL and p.v == 5
    del ffi, p
    gc.collect()
    assert [r() for r in refs] == [None, None, None]


def test_types_outlive_the_ffi_while_held():
    ffi = cffix.FFI()
    ffi.cdef("struct node { int v; struct node *next; };")
    p = ffi.new("struct node *", {"v": 7})
    q = ffi.new("struct node *", {"v": 8})
    p.next = q
    t = ffi.typeof("struct node")
    ref = weakref.ref(t)
    assert not gc.is_tracked(t)
    del ffi, t
    gc.collect()
    assert ref() is not None  # p's type
    assert gc.is_tracked(ref())  # its scope let it go: the GC sees its cycle now
    assert p.next.v == 8 and ffi_free_typeof(p) == "struct node *"
    assert [name for name, _ in ref().fields] == ["v", "next"]
    del p, q
    gc.collect()
    assert ref() is None


def ffi_free_typeof(cdata):
    return cffix.FFI().typeof(cdata).cname


def test_override_lets_the_replaced_struct_go():
    gc.collect()
    ffi = cffix.FFI()
    ffi.cdef("struct s { int a; struct s *next; };")
    ref = weakref.ref(ffi.typeof("struct s"))
    ffi.cdef("struct s { long b; };", override=True)
    assert [name for name, _ in ffi.typeof("struct s").fields] == ["b"]  # (caches dropped)
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        # Without the GIL the FFI keeps its dropped type caches until it dies (another
        # thread may still hold a type borrowed from them: object.cpp, drop_type_caches).
        del ffi
    gc.collect()
    assert ref() is None


def test_repeated_ffis_with_cycles_leave_nothing_behind():
    gc.collect()
    text = synthetic_cdef(n_structs=20, n_functions=20)
    before = sum(type(o).__name__ == "CType" for o in gc.get_objects())
    refs = []
    for _ in range(30):
        ffi = cffix.FFI()
        ffi.cdef(text)
        refs.append(weakref.ref(ffi.typeof("struct s3")))
        ffi.new("struct s5 *").self = ffi.NULL
    del ffi
    gc.collect()
    assert all(r() is None for r in refs)
    after = sum(type(o).__name__ == "CType" for o in gc.get_objects())
    assert after <= before


def record_names(text):
    """The struct tags a preprocessed header defines with a body (a cheap scan)."""
    return sorted(set(re.findall(r"\bstruct\s+([A-Za-z_]\w*)\s*\{", text)))


def compiler_layouts(header, names, tmp_path):
    """{name: (sizeof, alignof)} of each `struct name` as the C compiler lays it out."""
    lines = [f"#include <{header}>", "#include <stdio.h>", "int main(void) {"]
    for n in names:
        lines.append(f'    printf("%zu %zu\\n", sizeof(struct {n}), _Alignof(struct {n}));')
    lines += ["    return 0;", "}"]
    src = tmp_path / "layouts.c"
    src.write_text("\n".join(lines) + "\n")
    exe = tmp_path / "layouts"
    subprocess.run([CC, "-w", "-o", str(exe), str(src)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    return {n: tuple(map(int, line.split())) for n, line in zip(names, out.splitlines())}


@pytest.mark.parametrize("header", ["sqlite3.h", "openssl/ssl.h", "zlib.h", "stdio.h"])
def test_real_header_records_untracked_and_laid_out_as_the_compiler_does(header, tmp_path):
    text = preprocessed(header)
    if text is None:
        pytest.skip(f"{header} is not installed here")
    ffi = cffix.FFI()
    ffi.cdef(text)
    complete = []
    for n in record_names(text):
        t = ffi.typeof(f"struct {n}")
        assert not gc.is_tracked(t)
        try:
            ffi.sizeof(t)
        except cffix.FFIError:  # opaque here (declared elsewhere), as in the header
            continue
        complete.append(n)
    assert complete, f"{header}: no complete struct found"
    complete = complete[:300]
    expected = compiler_layouts(header, complete, tmp_path)
    got = {n: (ffi.sizeof(f"struct {n}"), ffi.alignof(f"struct {n}")) for n in complete}
    assert got == expected


def test_bad_declarations_still_fail_at_cdef_time():
    ffi = cffix.FFI()
    text = synthetic_cdef(n_structs=50, n_functions=100)
    with pytest.raises(cffix.CDefError, match="unknown type name 'nosuch_t'"):
        ffi.cdef(text + "int broken(nosuch_t x);\n")
    # what came before the faulty declaration stays declared, as in cffi
    assert ffi.sizeof("struct s49") > 0
    with pytest.raises(cffix.CDefError, match="duplicate declaration of struct s1"):
        ffi.cdef("struct s1 { char other; };")
