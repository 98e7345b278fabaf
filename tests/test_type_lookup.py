"""Lookups with a fast path by string identity in front of a dict: the FFI's type
strings (a few entries by identity, then a dict by value) and struct field names (an
identity scan of small records, then a dict). Results must not depend on which string
object is used."""

import gc
import sys

import pytest

import cffix


def test_same_string_object_follows_override():
    ffi = cffix.FFI()
    text = "".join(["my", "_t"])  # one object, built at run time
    ffi.cdef("typedef int my_t;")
    assert ffi.sizeof(text) == 4 and ffi.typeof(text) is ffi.typeof("int")
    ffi.cdef("typedef double my_t;", override=True)
    assert ffi.sizeof(text) == 8 and ffi.typeof(text) is ffi.typeof("double")
    assert ffi.new(text + " *")[0] == 0.0


def test_equal_strings_of_different_objects_agree():
    ffi = cffix.FFI()
    texts = ["".join(["int", "[", str(n), "]"]) for n in range(1, 40)]
    for _ in range(3):  # more strings than cache entries, looked up in turn
        for n, text in enumerate(texts, 1):
            assert len(ffi.new(text)) == n
            assert ffi.typeof(str(text)).length == n


def test_dead_strings_do_not_confuse_the_cache():
    # A string freed and another allocated at its address must not hit the old entry.
    ffi = cffix.FFI()
    for n in range(1, 200):
        text = "int[%d]" % n
        assert ffi.sizeof(text) == 4 * n
        del text
        if n % 50 == 0:
            gc.collect()


def test_cache_holds_the_string_not_forever_more_than_a_few():
    ffi = cffix.FFI()
    text = "".join(["long", " *"])
    before = sys.getrefcount(text)
    ffi.typeof(text)
    assert sys.getrefcount(text) - before <= 2  # the dict key and at most one entry
    for n in range(64):  # other strings push it out of the identity entries
        ffi.typeof("char[%d]" % (n + 1))
    del ffi
    gc.collect()
    assert sys.getrefcount(text) == before


def test_unknown_type_string_raises_each_time():
    ffi = cffix.FFI()
    text = "".join(["nope", "_t"])
    for _ in range(3):
        with pytest.raises(cffix.CDefError):
            ffi.new(text + " *")
        with pytest.raises(cffix.CDefError):
            ffi.typeof(text)
    ffi.cdef("typedef char nope_t;")
    assert ffi.sizeof(text) == 1


def test_ctype_kept_alive_by_the_cache_is_collectable_with_the_ffi():
    import weakref

    ffi = cffix.FFI()
    ffi.cdef("struct s { int a; };")
    ref = weakref.ref(ffi)
    t = ffi.typeof("struct s *")
    ffi.new("struct s *")
    del ffi
    gc.collect()
    assert ref() is None
    assert t.kind == "pointer"


# ---------------------------------------------------------------- field names


def test_field_names_built_at_run_time_find_the_field():
    ffi = cffix.FFI()
    ffi.cdef("struct point { int x, y; };")
    p = ffi.new("struct point *", [3, 4])
    for name, value in (("x", 3), ("y", 4)):
        dynamic = "".join([name])  # maybe another object than the interned name
        built = "%s" % (name + "_")[:-1]
        assert getattr(p, dynamic) == value and getattr(p, built) == value
        setattr(p, built, value + 10)
        assert getattr(p, name) == value + 10
    with pytest.raises(AttributeError):
        getattr(p, "".join(["z"]))


class Name(str):
    """A str subclass with the same value (and hash) as a field name."""


def test_field_name_str_subclass():
    ffi = cffix.FFI()
    ffi.cdef("struct point { int x, y; };")
    p = ffi.new("struct point *", [3, 4])
    assert getattr(p, Name("y")) == 4
    assert ffi.offsetof("struct point", Name("y")) == 4


def test_large_record_fields_by_any_string():
    ffi = cffix.FFI()
    names = ["f%d" % i for i in range(40)]
    ffi.cdef("struct big { %s };" % " ".join("int %s;" % n for n in names))
    p = ffi.new("struct big *", list(range(40)))
    for i, n in enumerate(names):
        assert getattr(p, n) == i and getattr(p, "".join(["f", str(i)])) == i
    with pytest.raises(AttributeError):
        p.f40


def test_anonymous_members_fields_found_in_order():
    ffi = cffix.FFI()
    ffi.cdef("struct s { int a; union { int b; float c; }; struct { char d, e; }; };")
    p = ffi.new("struct s *")
    p.a, p.b, p.d, p.e = 1, 2, b"d", b"e"
    assert (p.a, p.b, p.d, p.e) == (1, 2, b"d", b"e")
    assert ffi.offsetof("struct s", "e") == ffi.offsetof("struct s", "d") + 1
