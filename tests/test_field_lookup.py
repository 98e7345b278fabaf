"""Struct fields looked up by name (getattr, setattr, offsetof): found whatever str object
spells the name (built at run time, a str subclass), in small and large records and
through anonymous members (an identity scan of small records sits in front of a dict)."""

import pytest

import cffix


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
