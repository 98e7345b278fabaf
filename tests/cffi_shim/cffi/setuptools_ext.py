"""cffi's setuptools keyword, setup(cffi_modules=[...]): the real cffi's entry point names
cffi.setuptools_ext:cffi_modules, which resolves here in a process running the shim."""

from cffix.setuptools_ext import cffix_modules as cffi_modules  # noqa: F401
