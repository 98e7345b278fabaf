"""Types looked up by their C text (ffi.typeof, new, sizeof...): the same type whatever
str object spells it, the latest declaration after override=True, unknown names raising
each time, and nothing kept alive by the lookups (a fast path by string identity sits in
front of a dict by value)."""

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
