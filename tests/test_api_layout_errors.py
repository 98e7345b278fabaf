"""API mode: a struct whose cdef states a layout (no `...;`) that the C compiler
disagrees with. As in cffi, the module builds and imports, and the first use of the type
that needs its layout raises `ffi.error` with cffi's text (field sizes first, then field
offsets, the total size, the alignment); the type stays unusable, every later use raises
again, and so does every type holding it by value. The number kind of a field and the
pointee of a number pointer are still compared at build time (test_api_compiler.py).
"""

import importlib.util

import pytest

import cffix


def _build(tmp_path, name, cdef, source):
    ffi = cffix.FFI()
    ffi.cdef(cdef)
    ffi.set_source(name, source)
    path = ffi.compile(tmpdir=str(tmp_path))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _text(name, what, cdef, compiler):
    return (f"{name}: {what} (cdef says {cdef}, but C compiler says {compiler}). fix it or "
            f'use "...;" as the last field in the cdef for {name} to make it flexible')


OFFSET = _text("struct foo_s", "wrong offset for field 'b'", 0, 4)


@pytest.fixture(scope="module")
def swapped(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("layout"), "_api_layout_swapped", """
        struct foo_s { int b; short a; };
        struct holder { struct foo_s f; int k; };
        struct fine { int x; double y; };
        int get_b(struct foo_s *p);
        int by_value(struct foo_s v);
    """, """
        struct foo_s { short a; int b; };
        struct holder { struct foo_s f; int k; };
        struct fine { int x; double y; };
        static int get_b(struct foo_s *p) { return p->b; }
        static int by_value(struct foo_s v) { return v.b; }
    """)


def test_the_module_imports_and_the_first_use_raises_cffis_error(swapped):
    ffi = swapped.ffi
    with pytest.raises(ffi.error) as info:
        ffi.new("struct foo_s *", [])
    assert str(info.value) == OFFSET
    assert isinstance(info.value, cffix.FFIError)


@pytest.mark.parametrize("use", [
    lambda ffi, lib: ffi.new("struct foo_s *"),
    lambda ffi, lib: ffi.sizeof("struct foo_s"),
    lambda ffi, lib: ffi.alignof("struct foo_s"),
    lambda ffi, lib: ffi.offsetof("struct foo_s", "b"),
    lambda ffi, lib: ffi.new("struct foo_s[2]"),
    lambda ffi, lib: ffi.cast("struct foo_s *", 0x1000).b,
    lambda ffi, lib: ffi.new("struct holder *"),
    lambda ffi, lib: ffi.sizeof("struct holder"),
])
def test_every_use_of_the_layout_raises_again(swapped, use):
    ffi, lib = swapped.ffi, swapped.lib
    for _ in range(2):
        with pytest.raises(ffi.error) as info:
            use(ffi, lib)
        assert str(info.value) == OFFSET


def test_indexing_a_pointer_to_it_or_passing_it_by_value_is_refused(swapped):
    ffi, lib = swapped.ffi, swapped.lib
    with pytest.raises(TypeError, match="unknown size"):
        ffi.cast("struct foo_s *", 0x1000)[0]
    with pytest.raises(TypeError, match="unknown size"):
        lib.by_value(42)


def test_what_needs_no_layout_still_works(swapped):
    ffi, lib = swapped.ffi, swapped.lib
    assert ffi.typeof("struct foo_s").cname == "struct foo_s"
    p = ffi.cast("struct foo_s *", 0)
    assert p == ffi.NULL
    assert ffi.sizeof("struct fine") == ffi.sizeof("double") * 2
    f = ffi.new("struct fine *", [1, 2.5])
    assert (f.x, f.y) == (1, 2.5)
    with pytest.raises(ffi.error):  # a pointer is passed, but nothing reads through it
        lib.get_b(ffi.new("struct foo_s *"))


@pytest.mark.parametrize("cdef,source,text", [
    ("struct t { char x; int y; long *z; };",
     "struct t { char x; int y; long *z; char extra; };",
     _text("struct t", "wrong total size", 16, 24)),
    ("struct t { char x; int y; long *z; };",
     "struct t { char x; short pad; short y; long *z; };",
     _text("struct t", "wrong size for field 'y'", 4, 2)),
    ("struct t { char x; int y; long *z; };",
     "struct t { int y; char x; long *z; };",
     _text("struct t", "wrong offset for field 'x'", 0, 4)),
    ("struct t { char c[8]; };", "struct t { long long c; };",
     _text("struct t", "wrong total alignment", 1, 8)),
])
def test_each_disagreement_in_cffis_words(tmp_path, cdef, source, text):
    ffi = _build(tmp_path, "_api_layout_" + str(abs(hash(source))), cdef, source).ffi
    with pytest.raises(ffi.error) as info:
        ffi.new("struct t *")
    assert str(info.value) == text


def test_a_right_layout_is_used_as_before(tmp_path):
    mod = _build(tmp_path, "_api_layout_right", """
        struct r { char x; int y; long *z; };
        int get_y(struct r *p);
    """, """
        struct r { char x; int y; long *z; };
        static int get_y(struct r *p) { return p->y; }
    """)
    p = mod.ffi.new("struct r *", {"x": b"a", "y": 42})
    assert mod.lib.get_y(p) == 42
    assert mod.ffi.offsetof("struct r", "z") == 8
