"""The public FFI class.

The methods that must be fast (cdef, typeof, sizeof, alignof, offsetof, getctype,
list_types, include) are implemented in C++ by ``cffix._core.FFI``; this subclass adds
the Python-level surface. Keep this module cheap to import: it is on the path of
``import cffix``.
"""

from . import _core


class FFI(_core.FFI):
    """The entry point of cffix, as ``cffi.FFI``.

        from cffix import FFI
        ffi = FFI()
        ffi.cdef("typedef struct { double x, y; } point_t;")
        ffi.offsetof("point_t", "y")   # 8

    ``FFI(backend=None)``: the backend argument is accepted and ignored, as in cffi.
    """

    __slots__ = ("__dict__",)
