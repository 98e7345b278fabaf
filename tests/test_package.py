"""The package's surface: names, version, exception classes, FFI construction."""

import importlib.metadata
import itertools

import pytest

import cffix

ERROR_NAMES = ["FFIError", "CDefError", "VerificationError", "VerificationMissing",
               "PkgConfigError"]

# cffi 2.0: each of these derives directly from Exception, none from another.
EXPECTED_BASES = {name: (Exception,) for name in ERROR_NAMES}


def test_version_is_a_string():
    assert isinstance(cffix.__version__, str)
    assert cffix.__version__


def test_version_matches_the_installed_distribution():
    assert cffix.__version__ == importlib.metadata.version("cffix")


def test_ffi_is_a_class():
    assert isinstance(cffix.FFI, type)


@pytest.mark.parametrize("name", ERROR_NAMES)
def test_error_classes_exist(name):
    cls = getattr(cffix, name)
    assert isinstance(cls, type)
    assert issubclass(cls, Exception)
    assert cls.__bases__ == EXPECTED_BASES[name]


@pytest.mark.parametrize("name", ERROR_NAMES)
def test_error_classes_can_be_raised_and_caught(name):
    cls = getattr(cffix, name)
    with pytest.raises(cls, match="boom"):
        raise cls("boom")
    with pytest.raises(Exception):
        raise cls("boom")


@pytest.mark.parametrize("sub,base", list(itertools.permutations(ERROR_NAMES, 2)))
def test_error_hierarchy_matches_cffi(sub, base, cffi_oracle):
    expected = issubclass(getattr(cffi_oracle, sub), getattr(cffi_oracle, base))
    assert issubclass(getattr(cffix, sub), getattr(cffix, base)) == expected


@pytest.mark.parametrize("name", ERROR_NAMES)
def test_error_bases_match_cffi(name, cffi_oracle):
    ours = [c.__name__ for c in getattr(cffix, name).__mro__]
    theirs = [c.__name__ for c in getattr(cffi_oracle, name).__mro__]
    assert ours == theirs


def test_ffi_default_construction():
    assert isinstance(cffix.FFI(), cffix.FFI)


def test_ffi_backend_none():
    assert isinstance(cffix.FFI(backend=None), cffix.FFI)


def test_ffi_instances_are_independent():
    a, b = cffix.FFI(), cffix.FFI()
    a.cdef("typedef int only_in_a;")
    assert a.sizeof("only_in_a") == 4
    with pytest.raises(cffix.CDefError, match="only_in_a"):
        b.typeof("only_in_a")


def test_smoke_cdef_and_type_queries(ffi):
    ffi.cdef("struct point { int x, y; };")
    assert ffi.sizeof("struct point") == 8
    assert ffi.alignof("struct point") == 4
    assert ffi.offsetof("struct point", "y") == 4
    assert ffi.typeof("struct point").kind == "struct"
    assert ffi.typeof("int *").kind == "pointer"
