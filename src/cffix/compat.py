"""cffix under cffi's module names: ``install_as_cffi()`` and the modules it installs.

    import cffix
    cffix.install_as_cffi()
    import cffi                  # cffix's FFI and exception classes
    ffi = cffi.FFI()

An unchanged program that does ``import cffi`` (or ``import _cffi_backend``, whose
``FFI`` is the class of cffi's out-of-line modules' ``ffi``) then runs on cffix; the
installed cffi, if any, stays installed and is simply not imported. Only cffi's public
names are provided: ``cffi.model``, ``cffi.recompiler`` and the other internals are not.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from . import _core
from .api import FFI

# The cffi release whose public API cffix follows (cffi's tests compare versions).
CFFI_VERSION = "2.0.0"
CFFI_VERSION_INFO = (2, 0, 0)

CFFI_PUBLIC_NAMES = ("FFI", "CDefError", "FFIError", "VerificationError",
                     "VerificationMissing", "PkgConfigError")


def cffi_namespace() -> "dict[str, Any]":
    """The public names of the ``cffi`` module, bound to cffix's objects.

        cffi_namespace()["FFI"] is cffix.FFI   # True
    """
    namespace = {name: getattr(_core, name) for name in CFFI_PUBLIC_NAMES if name != "FFI"}
    namespace["FFI"] = FFI
    namespace["__version__"] = CFFI_VERSION
    namespace["__version_info__"] = CFFI_VERSION_INFO
    namespace["__cffix__"] = True  # tells the shim from the real cffi
    return namespace


class BackendFFI(FFI):
    """``_cffi_backend.FFI``: the class of the ``ffi`` of cffi's compiled modules, which a
    program may also make directly (``_cffi_backend.FFI()``). It is cffix's FFI with
    that class's stricter manners: no constructor argument, no attributes of the user's
    own, and a type string's errors (and an unknown size) raised as ``ffi.error`` too
    (still a ``CDefError``/``ValueError``); a struct or union tag that no cdef declared is
    an error instead of an opaque type.

        ffi = _cffi_backend.FFI()
        ffi.cast("int(int)", 0)   # ffi.error: a function type, not a pointer to one
    """

    __slots__ = ()

    def __new__(cls, *args: object, **kwargs: object) -> "BackendFFI":
        self = super().__new__(cls)
        self._cffix_api_style()  # also for subclasses with an __init__ of their own
        return self

    def __init__(self) -> None:
        super().__init__()

    # Its own instances take no attribute (a subclass's have a __dict__, as in cffi).
    def __setattr__(self, name: str, value: object) -> None:
        if type(self) is BackendFFI and not hasattr(BackendFFI, name):  # errno is settable
            raise AttributeError(f"'FFI' object has no attribute {name!r}")
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        if type(self) is BackendFFI:
            raise AttributeError(f"'FFI' object attribute {name!r} cannot be deleted")
        super().__delattr__(name)


BackendFFI.__name__ = BackendFFI.__qualname__ = "FFI"
BackendFFI.__module__ = "_cffi_backend"


def backend_namespace() -> "dict[str, Any]":
    """The public names of ``_cffi_backend``: its FFI class (BackendFFI), CType, RTLD_* flags.

        backend_namespace()["RTLD_NOW"] == os.RTLD_NOW   # True
    """
    namespace = {"FFI": BackendFFI, "CType": _core.CType, "CField": _core.CField,
                 "__version__": CFFI_VERSION, "__cffix__": True}
    for name in dir(FFI):
        if name.startswith("RTLD_"):
            namespace[name] = getattr(FFI, name)
    return namespace


def install_as_cffi() -> None:
    """Make ``import cffi`` and ``import _cffi_backend`` give cffix, in this process.

        import cffix
        cffix.install_as_cffi()
        import cffi
        assert cffi.FFI is cffix.FFI

    Call it before anything imports cffi: if the real cffi (or its backend) is already
    imported, its objects are in use and RuntimeError is raised. Calling it twice is
    harmless.
    """
    for name, fill in (("cffi", cffi_namespace), ("_cffi_backend", backend_namespace)):
        present = sys.modules.get(name)
        if present is not None:
            if getattr(present, "__cffix__", False):
                continue
            raise RuntimeError(f"install_as_cffi(): the real {name!r} is already imported "
                               f"({getattr(present, '__file__', present)!r}); call "
                               "install_as_cffi() before anything imports it")
        module = types.ModuleType(name, f"cffix installed as {name} (cffix.install_as_cffi)")
        module.__dict__.update(fill())
        sys.modules[name] = module
