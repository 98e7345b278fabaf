"""`import cffi` in the child run of cffi's tests: cffix's public names (cffix.compat)."""

from cffix.compat import cffi_namespace

globals().update(cffi_namespace())
del cffi_namespace
