"""Two more `...` forms of cffi's cdef: `typedef ... *t;` (a pointer to a type the cdef
does not describe) and `enum e { A, B = ..., C };` (values the C compiler gives).
"""

import importlib.util

import pytest

import cffix
from cffix import FFI

C_SOURCE = r"""
#include <stdint.h>
typedef struct _token_s *token_p;
token_p next_token(token_p arg) { return arg ? (token_p)0x12347 : (token_p)0x12345; }
token_p g_token = (token_p)0x42;
enum ee { EE1 = 10, EE2, EE3 = -10, EE4 };
enum ee2 { EE5 = -1234 - 5, EE6 };
"""


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def mod(cc, tmp_path_factory):
    ffi = FFI()
    ffi.cdef("""
        typedef ... *token_p;
        token_p next_token(token_p);
        extern token_p g_token;
        enum ee { EE1, EE2 = ..., EE3 };
        enum ee2 { EE5 = ..., EE6 = ..., ... };
    """)
    ffi.set_source("_dots_pointer_enum", C_SOURCE)
    return load("_dots_pointer_enum", ffi.compile(tmpdir=str(tmp_path_factory.mktemp("dp"))))


def test_typedef_dots_pointer_is_a_named_pointer_type():
    ffi = FFI()
    ffi.cdef("typedef ... *token_p; typedef ... *token_p;")  # identical redeclaration
    t = ffi.typeof("token_p")
    assert t.kind == "pointer" and t.cname == "token_p"
    assert ffi.sizeof("token_p") == ffi.sizeof("void *")
    assert ffi.typeof("token_p *").item is t
    p = ffi.cast("token_p", 0x1234)
    assert int(ffi.cast("intptr_t", p)) == 0x1234
    with pytest.raises(TypeError):
        p[0]  # what it points to is unknown
    q = ffi.new("token_p[2]", [p, ffi.NULL])
    assert q[0] == p


def test_typedef_dots_pointer_in_api_mode(mod):
    ffi, lib = mod.ffi, mod.lib
    p = lib.next_token(ffi.NULL)
    assert ffi.typeof(p) is ffi.typeof("token_p")
    assert int(ffi.cast("intptr_t", p)) == 0x12345
    assert int(ffi.cast("intptr_t", lib.next_token(p))) == 0x12347
    assert int(ffi.cast("intptr_t", lib.g_token)) == 0x42


def test_only_one_pointer_level_to_dots():
    ffi = FFI()
    with pytest.raises(cffix.CDefError):
        ffi.cdef("typedef ... **token_pp;")


def test_enum_value_dots_takes_the_compilers_values(mod):
    ffi, lib = mod.ffi, mod.lib
    assert (lib.EE1, lib.EE2, lib.EE3) == (10, 11, -10)
    assert ffi.string(ffi.cast("enum ee", 11)) == "EE2"
    assert ffi.string(ffi.cast("enum ee2", -1239)) == "EE5"
    assert lib.EE6 == -1238


def test_enum_value_dots_is_partial_before_compilation():
    ffi = FFI()
    ffi.cdef("enum ee { EE1, EE2 = ..., EE3 };")
    with pytest.raises(cffix.VerificationMissing):
        ffi.cast("enum ee", "EE1")
    lib = ffi.dlopen(None)
    with pytest.raises(cffix.VerificationMissing):
        lib.EE1


def test_enum_value_dots_is_not_a_constant_for_later_expressions():
    ffi = FFI()
    with pytest.raises(cffix.CDefError):
        ffi.cdef("enum ee { EE1 = ..., EE2 = EE1 + 1 };")
