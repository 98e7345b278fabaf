"""`import _cffi_backend` in the child run of cffi's tests: cffix's FFI class, RTLD_* flags."""

from cffix.compat import backend_namespace

globals().update(backend_namespace())
del backend_namespace
