"""The public FFI class.

The methods that must be fast (cdef, typeof, sizeof, alignof, offsetof, getctype,
list_types, include) are implemented in C++ by ``cffix._core.FFI``; this subclass adds
the Python-level surface. Keep this module cheap to import: it is on the path of
``import cffix``.
"""

from . import _core

TYPE_CHECKING = False  # typing stays unimported at run time: `import cffix` is cheap
if TYPE_CHECKING:
    from collections.abc import Callable, Hashable
    from typing import Any


class FFI(_core.FFI):
    """The entry point of cffix, as ``cffi.FFI``.

        from cffix import FFI
        ffi = FFI()
        ffi.cdef("typedef struct { double x, y; } point_t;")
        ffi.offsetof("point_t", "y")   # 8

    ``FFI(backend=None)``: the backend argument is accepted and ignored, as in cffi.
    """

    __slots__ = ("__dict__",)

    def init_once(self, func: "Callable[[], Any]", tag: "Hashable") -> "Any":
        """Call ``func()`` the first time a given ``tag`` is seen on this FFI, and return
        its result then and on every later call with that tag, from any thread.

            lib_state = ffi.init_once(lambda: lib.setup(), "setup")

        Concurrent callers with the same tag wait for the first one. If ``func`` raises,
        the exception propagates and nothing is stored: the next caller runs it again.
        A recursive call for the same tag from within ``func`` raises RuntimeError (it
        would deadlock).
        """
        entries = self.__dict__.get("_cffix_init_once")
        if entries is None:
            entries = self.__dict__.setdefault("_cffix_init_once", {})
        entry = entries.get(tag)
        if entry is None:
            entry = entries.setdefault(tag, _OnceEntry())
        if entry.done:
            return entry.result
        from _thread import get_ident

        me = get_ident()
        if entry.running_in == me:
            raise RuntimeError(f"init_once(): recursive call for tag {tag!r}")
        with entry.lock:
            if entry.done:
                return entry.result
            entry.running_in = me
            try:
                result = func()
            finally:
                entry.running_in = None
            entry.result = result
            entry.done = True
        return result


class _OnceEntry:
    """The state of one init_once tag: done/result once func() returned."""

    __slots__ = ("done", "result", "lock", "running_in")

    def __init__(self) -> None:
        from _thread import allocate_lock

        self.done = False
        self.result = None
        self.lock = allocate_lock()
        self.running_in = None
