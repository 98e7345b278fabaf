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


# cffix.FFI is the C++ type itself, with the Python-written methods installed into it
# (api.py): not a Python subclass, whose instances make every ffi.new(...) slower.
def test_ffi_is_the_engine_type():
    assert cffix.FFI is cffix._core.FFI
    assert cffix.FFI.__name__ == "FFI" and cffix.FFI.__module__ == "cffix"
    assert "entry point of cffix" in cffix.FFI.__doc__
    for name in ("cdef", "include", "init_once", "set_source", "compile", "emit_python_code"):
        assert getattr(cffix.FFI, name).__qualname__ == "FFI." + name


def test_ffi_accepts_user_attributes():
    ffi = cffix.FFI()
    assert ffi.__dict__ == {}
    ffi.my_lib = 42
    assert ffi.my_lib == 42 and ffi.__dict__ == {"my_lib": 42}
    ffi.cdef("struct point { int x, y; };")  # still works with a filled instance dict
    assert ffi.new("struct point *").x == 0
    del ffi.my_lib
    assert not hasattr(ffi, "my_lib")


def test_ffi_keeps_its_own_state_out_of_the_instance_dict():
    ffi = cffix.FFI()
    ffi.cdef("typedef int a_t;")
    ffi.include(cffix.FFI())
    assert ffi.init_once(lambda: 5, "tag") == 5
    assert ffi.__dict__ == {}
    history = ffi._cffix_state["_cffix_history"]
    assert [entry[0] for entry in history] == ["cdef", "include"]


def test_ffi_subclass_works_and_super_reaches_the_wrappers():
    calls = []

    class MyFFI(cffix.FFI):
        def cdef(self, csource, *args, **kwargs):
            calls.append(csource)
            return super().cdef(csource, *args, **kwargs)

    ffi = MyFFI()
    ffi.cdef("typedef short s_t;")
    assert calls == ["typedef short s_t;"] and ffi.sizeof("s_t") == 2
    assert ffi.new("s_t *")[0] == 0
    assert [e[0] for e in ffi._cffix_state["_cffix_history"]] == ["cdef"]
    ffi.extra = 1
    assert ffi.extra == 1


def test_reloading_the_api_module_keeps_cdef_working():
    import importlib

    import cffix.api

    importlib.reload(cffix.api)
    ffi = cffix.FFI()
    ffi.cdef("typedef long l_t;")
    assert ffi.sizeof("l_t") == 8
    assert [e[0] for e in ffi._cffix_state["_cffix_history"]] == ["cdef"]
