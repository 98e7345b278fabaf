"""cffi.ffiplatform's two build helpers that test_re_python.py uses to build a plain C
library as a shared object: a setuptools Extension, and build_ext run on it."""

import os


def get_extension(srcfilename, modname, sources=(), **kwds):
    from setuptools import Extension

    return Extension(name=modname, sources=[srcfilename, *sources], **kwds)


def compile(tmpdir, ext, compiler_verbose=0, debug=None):
    """Build `ext` with setuptools into `tmpdir`: the absolute path of the built file."""
    from setuptools import Distribution

    dist = Distribution({"ext_modules": [ext]})
    cmd = dist.get_command_obj("build_ext")
    cmd.build_lib = tmpdir
    cmd.build_temp = tmpdir
    cmd.inplace = False
    if debug is not None:
        cmd.debug = bool(debug)
    cmd.ensure_finalized()
    cmd.run()
    return os.path.abspath(cmd.get_ext_fullpath(ext.name))
