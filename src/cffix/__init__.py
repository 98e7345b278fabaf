"""cffix: call C libraries from Python with cffi's API and a C++ engine.

    from cffix import FFI
    ffi = FFI()
    ffi.cdef("struct point { int x, y; };")
    ffi.sizeof("struct point")   # 8
"""

from ._core import (
    CData,
    CDefError,
    CField,
    CType,
    FFIError,
    LibraryMismatch,
    PkgConfigError,
    VerificationError,
    VerificationMissing,
    live_cdata,
)
from .api import FFI
from .compat import install_as_cffi
from .wrappers import CallError, ErrorPolicy

__version__ = "0.1.0"
__version_info__ = tuple(int(part) for part in __version__.split("."))


def get_include() -> str:
    """The folder of cffix's public C header, cffix_api.h (the C API that API-mode
    modules reach the core through).

        Extension(..., include_dirs=[cffix.get_include()])
    """
    import os

    return os.path.join(os.path.dirname(__file__), "include")


__all__ = [
    "FFI",
    "CDefError",
    "FFIError",
    "CallError",
    "ErrorPolicy",
    "LibraryMismatch",
    "VerificationError",
    "VerificationMissing",
    "PkgConfigError",
    "CType",
    "CData",
    "CField",
    "live_cdata",
    "get_include",
    "install_as_cffi",
    "__version__",
]
