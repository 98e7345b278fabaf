"""cffix: call C libraries from Python with cffi's API and a C++ engine.

    from cffix import FFI
    ffi = FFI()
    ffi.cdef("struct point { int x, y; };")
    ffi.sizeof("struct point")   # 8
"""

from ._core import (
    CDefError,
    CField,
    CType,
    FFIError,
    PkgConfigError,
    VerificationError,
    VerificationMissing,
    live_cdata,
)
from .api import FFI

__version__ = "0.1.0"
__version_info__ = (0, 1, 0)

__all__ = [
    "FFI",
    "CDefError",
    "FFIError",
    "VerificationError",
    "VerificationMissing",
    "PkgConfigError",
    "CType",
    "CField",
    "live_cdata",
    "__version__",
]
