"""ffi.verify(): cffi's older API mode, on set_source() + compile() (issue 11).

The module is built from the FFI's cdefs and the given source, named by their hash,
reused while they stay the same, and the FFI then shares the module's types: a cdata it
makes passes to the module's functions, and `...` declarations are completed by the
compiler.
"""

import os

import pytest

import cffix
from cffix import FFI

pytestmark = pytest.mark.usefixtures("cc")

SOURCE = """
struct s { char pad; int b; long more; };
static int get_b(struct s *p) { return p->b; }
static int twice(int x) { return 2 * x; }
#define K 77
"""


def test_verify_builds_loads_and_shares_types(tmp_path):
    ffi = FFI()
    ffi.cdef("struct s { int b; ...; }; int get_b(struct s *); int twice(int);\n#define K ...")
    lib = ffi.verify(SOURCE, tmpdir=str(tmp_path))
    assert lib.twice(21) == 42 and lib.K == 77
    assert ffi.sizeof("struct s") == 16 and ffi.offsetof("struct s", "b") == 4
    p = ffi.new("struct s *", {"b": 5})  # this ffi's type is the module's
    assert lib.get_b(p) == 5
    assert ffi.typeof(p) is ffi.typeof("struct s *")
    # Same cdefs and source: the same module, not rebuilt.
    built = sorted(os.listdir(tmp_path))
    assert ffi.verify(SOURCE, tmpdir=str(tmp_path)) is lib
    assert sorted(os.listdir(tmp_path)) == built


def test_verify_does_not_reuse_a_module_of_another_cffix_build(tmp_path, monkeypatch):
    # A module built by another build of cffix's core (another C API version) would fail
    # to import: the name hashes the core's build too, so a new module is built instead.
    from cffix import builder

    def names():
        return {n for n in os.listdir(tmp_path) if n.startswith("_cffix_verify_")
                and n.endswith(".c")}

    ffi = FFI()
    ffi.cdef("int twice(int);")
    assert ffi.verify(SOURCE, tmpdir=str(tmp_path)).twice(2) == 4
    first = names()
    other_core = tmp_path / "other_core.so"
    other_core.write_bytes(b"another build")
    monkeypatch.setattr(builder._core, "__file__", str(other_core))
    ffi = FFI()
    ffi.cdef("int twice(int);")
    assert ffi.verify(SOURCE, tmpdir=str(tmp_path)).twice(3) == 6
    assert len(first) == 1 and len(names()) == 2


def test_verify_module_name_keywords_and_default_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("CFFI_TMPDIR", str(tmp_path))
    ffi = FFI()
    ffi.cdef("double hypot(double, double);")
    lib = ffi.verify("#include <math.h>", modulename="_cffix_verify_named", libraries=["m"],
                     tag="t", flags=0)
    assert lib.hypot(3, 4) == 5.0
    assert any(name.startswith("_cffix_verify_named") for name in os.listdir(tmp_path))


def test_verify_keeps_the_ffis_own_set_source(tmp_path):
    ffi = FFI()
    ffi.cdef("int twice(int);")
    ffi.set_source("_kept_name", SOURCE)
    lib = ffi.verify(SOURCE, tmpdir=str(tmp_path / "v"))
    assert lib.twice(4) == 8
    path = ffi.compile(tmpdir=str(tmp_path / "c"))  # set_source() still names the module
    assert os.path.basename(path).startswith("_kept_name")


def test_verify_bad_inputs(tmp_path):
    ffi = FFI()
    ffi.cdef("int twice(int);")
    with pytest.raises(TypeError, match="'source' must be a str"):
        ffi.verify(42, tmpdir=str(tmp_path))
    with pytest.raises(TypeError, match="unexpected keyword"):
        ffi.verify(SOURCE, tmpdir=str(tmp_path), no_such_option=1)
    with pytest.raises(cffix.VerificationError, match="'twice' is declared in the cdef"):
        ffi.verify("", tmpdir=str(tmp_path))
    # After the failures the FFI still works and can verify.
    assert ffi.verify(SOURCE, tmpdir=str(tmp_path)).twice(5) == 10
    with pytest.raises(TypeError, match="expected an FFI object"):
        ffi._cffix_use_types_of(42)


def test_char_bitfields_hold_bytes_as_in_cffi():
    # A plain `char` bit field holds 0..255 (cffi's char is a byte) on every platform.
    ffi = FFI()
    ffi.cdef("struct c { char b:8; char c:3; };")
    p = ffi.new("struct c *")
    p.b, p.c = 200, 7
    assert (p.b, p.c) == (200, 7)
    assert ffi.buffer(p)[0] == bytes([200])
    with pytest.raises(OverflowError, match="0 <= x <= 255"):
        p.b = 256
    with pytest.raises(OverflowError):
        p.b = -1
