"""Helpers shared by the test files (the shared fixtures are in conftest.py).

MODULE_UNDER_TEST  "cffix", or what CFFIX_TEST_MODULE names: with CFFIX_TEST_MODULE=cffi the
                   tests that use the `module` and `ffi` fixtures run against cffi, a check
                   of the tests themselves
cffix_only         marks a test of a cffix improvement over cffi: expected to fail (xfail,
                   not strict) when the module under test is cffi
crashes_cffi       marks a test that cffi cannot survive (it crashes or hangs where cffix
                   raises): not run when the module under test is cffi
run_child          runs code in a fresh interpreter, for what may crash
compile_module     ffi.compile() an API-mode module into a folder and imports it
Arena              alloc/free functions for ffi.new_allocator that record their calls
"""

import os
import subprocess
import sys
import textwrap

import pytest

MODULE_UNDER_TEST = os.environ.get("CFFIX_TEST_MODULE", "cffix")

cffix_only = pytest.mark.xfail(MODULE_UNDER_TEST == "cffi", strict=False,
                               reason="a cffix improvement over cffi")

crashes_cffi = pytest.mark.skipif(MODULE_UNDER_TEST == "cffi",
                                  reason="cffi crashes or hangs here, where cffix raises")


def compile_module(name, cdef, source, tmpdir):
    """An FFI of `cdef` with set_source(name, source), compiled into tmpdir and imported.
    Give its C functions names of their own: a shared object's global function is
    interposed by one of the same name that another test loaded before."""
    import importlib.util

    from cffix import FFI

    ffi = FFI()
    ffi.cdef(cdef)
    ffi.set_source(name, textwrap.dedent(source))
    path = ffi.compile(tmpdir=str(tmpdir))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_child(code, cdef="", module_name=MODULE_UNDER_TEST, timeout=60):
    """Run `code` in a fresh interpreter, where a crash cannot take the test run down.

    The code sees `ffi` (an FFI of `module_name` with `cdef` declared) and `attempt(fn)`
    (fn()'s result, or the name of the exception it raised). Returns (exit code, stdout
    lines, stderr).

        rc, lines, _ = run_child('p = ffi.new("int *"); ffi.release(p)\\n'
                                 'print(attempt(lambda: p[0]))')
        assert (rc, lines) == (0, ["ValueError"])
    """
    prelude = (f"import sys\nimport {module_name} as _m\n"
               f"ffi = _m.FFI()\nffi.cdef({cdef!r})\n"
               "def attempt(fn):\n"
               "    try:\n"
               "        return fn()\n"
               "    except Exception as e:\n"
               "        return type(e).__name__\n")
    proc = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout.splitlines(), proc.stderr


class Arena:
    """alloc/free backed by ffi.new storage, recording every call.

        arena = Arena(ffi)
        p = ffi.new_allocator(arena.alloc, arena.free)("int[4]")
        assert arena.sizes == [16] and arena.blocks[0] is not None
    """

    def __init__(self, ffi, fill=b"\0"):
        self.ffi, self.fill = ffi, fill
        self.sizes, self.blocks, self.freed = [], [], []

    def alloc(self, n):
        self.sizes.append(n)
        block = self.ffi.new("char[]", self.fill * n)  # n + 1 bytes
        self.blocks.append(block)
        return block

    def free(self, p):
        self.freed.append(p)
