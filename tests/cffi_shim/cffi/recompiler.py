"""cffi.recompiler's helpers that cffi's tests call, mapped onto cffix's public build API.

    recompile(ffi, "_mod", "C source", tmpdir=d)   # ffi.set_source + ffi.compile
    make_c_source(ffi, "_mod", "C source", path)  # ffi.set_source + ffi.emit_c_code
    make_py_source(ffi, "_mod", path)             # ffi.set_source(None) + emit_python_code

cffi's tests call them on an ffi that may already have had set_source() (their verify()
helpers call both): the name and source given here replace it, as in cffi, where these
helpers never look at the ffi's own set_source(). Recompiler (cffi's type-table builder)
is cffi's internal model: the tests that use it are excluded by the runner.
"""

import io
import os

from . import _assign_source

NativeIO = io.StringIO


def recompile(ffi, module_name, preamble, tmpdir=".", call_c_compiler=True, c_file=None,
              source_extension=".c", extradir=None, compiler_verbose=1, target=None,
              debug=None, uses_ffiplatform=True, **kwds):
    """Generate and (call_c_compiler=True) build the module: the built file's path;
    with call_c_compiler=False, the C file is written to `c_file` and True returned."""
    _assign_source(ffi, module_name, preamble, source_extension, kwds)
    if not call_c_compiler:
        if c_file is None:
            c_file = os.path.join(tmpdir, *module_name.split(".")) + source_extension
        ffi.emit_c_code(c_file)
        return True
    return ffi.compile(tmpdir=tmpdir, verbose=bool(compiler_verbose), target=target,
                       debug=debug)


def make_c_source(ffi, module_name, preamble, target_c_file, verbose=False):
    _assign_source(ffi, module_name, preamble, ".c", {})
    ffi.emit_c_code(target_c_file)
    return True


def make_py_source(ffi, module_name, target_py_file, verbose=False):
    _assign_source(ffi, module_name, None, ".c", {})
    ffi.emit_python_code(target_py_file)
    return True


class Recompiler:
    def __init__(self, *args, **kwds):
        raise NotImplementedError("cffi's Recompiler (its type table) is cffi-internal")
