"""The public FFI class.

``cffix.FFI`` is the C++ type ``cffix._core.FFI`` itself: the methods that must be fast
(new, cast, typeof, string, ...) are C++. The Python-level surface written here (cdef and
include wrappers that record each call for out-of-line modules; set_source/compile/emit_*,
which live in builder.py, imported on first use; init_once) is copied into that type at
import by ``_core.add_ffi_methods``, rather than living in a Python subclass: CPython
3.11 specializes a call like ``ffi.new(...)`` only when the instance's type is exactly
the type defining the C method, and a subclass made each such call about 400 machine
instructions (a third of ``ffi.new``) slower. Per-FFI state of this code lives in
``ffi._cffix_state`` (a dict), not in the instance ``__dict__``, which stays free for
users' attributes. Keep this module cheap to import: it is on the path of ``import cffix``.
"""

from . import _core, wrappers

TYPE_CHECKING = False  # typing stays unimported at run time: `import cffix` is cheap
if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Hashable, Mapping, Sequence
    from typing import Any


if TYPE_CHECKING:
    def _as_ffi(methods: "_PythonMethods") -> "FFI":
        """The methods below run with self an FFI (they are installed into the type)."""
else:
    def _as_ffi(methods):
        return methods


# The C methods the Python ones below wrap, taken before add_ffi_methods replaces them
# (kept in _core, so that a second execution of this module, importlib.reload, finds them).
_c_cdef = _core.__dict__.setdefault("_c_cdef", _core.FFI.cdef)
_c_include = _core.__dict__.setdefault("_c_include", _core.FFI.include)
_c_dlopen = _core.__dict__.setdefault("_c_dlopen", _core.FFI.dlopen)
_c_dlclose = _core.__dict__.setdefault("_c_dlclose", _core.FFI.dlclose)


class _PythonMethods:
    """The methods of cffix.FFI written in Python (the class docstring is in C++)."""

    if TYPE_CHECKING:  # what these methods use of the C type they are installed into
        @property
        def _cffix_state(self) -> "dict[str, Any]": ...
        def _set_wrap_rules(self, rules: "Any") -> None: ...

    # cffi's name for the error of a lookup in a library or a declaration (ffi.error).
    error = _core.FFIError

    # ffi.errors(...) makes an error policy; ffi.errors.minus1_errno... are the presets.
    errors = wrappers.ErrorsDescriptor()

    def wrap(self, names: "str | list[str]", errors: "Any" = wrappers._UNSET,
             out: "Any" = wrappers._UNSET, owned: "Any" = wrappers._UNSET,
             adopt_on_error: "Any" = wrappers._UNSET, consumes: "Any" = wrappers._UNSET,
             text: "Any" = wrappers._UNSET, message: "Any" = wrappers._UNSET,
             default: "Any" = wrappers._UNSET) -> None:
        """wrap(names, errors=..., out=..., owned=..., adopt_on_error=..., consumes=..., text=..., message=..., default=...)

        Declare the Pythonic shape of C functions once; it runs in C++ at each call.
        An option not given keeps what earlier wrap() calls said.

            ffi.wrap("sqlite3_open", errors="SQLITE", out="ppDb",
                     owned={"ppDb": "sqlite3_close_v2"}, adopt_on_error=True)
            db = lib.sqlite3_open(b"test.db")     # an owning sqlite3 *, or an exception

        names: a function name, a glob ("sqlite3_*"), "typedef:NAME" (every function
        returning that typedef) or a list of them; a later wrap() refines an earlier one
        (dict options merge, the others are replaced). It applies to libraries loaded
        before or after: their function objects are made again at the next access
        (objects fetched before keep their shape).

        errors: an ffi.errors() policy, a preset or registered name, or None.
        out: parameter(s) that leave the Python signature ({"n": "inout"} keeps one as
        an argument whose new value is returned too). owned: {param | "return": destroy
        function}; adopt_on_error: owned outs of a failed call go to exc.outs. consumes:
        parameter(s) invalidated on success. text: "return" or out names ("bytes:NAME"
        for bytes). message: replaces the policy's message. default: {param: C expr}.
        """
        wrappers.wrap(self, names, errors, out, owned, adopt_on_error, consumes, text,
                      message, default)

    # cdef() and include() are C++ methods; these wrappers also record each successful
    # call (in order, with its options) so that set_source(name, None) + compile() can
    # generate a module replaying them (builder.py).
    def cdef(self, csource: str, override: bool = False, packed: bool = False,
             pack: "int | None" = None, preprocess: bool = False,
             **header_options: "Any") -> "Any":
        """Declare C types, functions, globals and constants, in C syntax.

            ffi.cdef("struct point { int x, y; }; int abs(int);")

        override=True lets later declarations replace earlier ones; packed=True packs
        every struct of this call; pack=N gives them ``#pragma pack(N)`` layout.

        preprocess=True runs the text through the C preprocessor first (#include, #if,
        macros) and declares it as cdef_header() does (the text and the headers it
        includes are "own"); it takes cdef_header()'s keywords and returns its report.

            report = ffi.cdef("#include <zlib.h>\\nint my_helper(z_stream *);", preprocess=True)
        """
        _check_pack(packed, pack)
        if preprocess:
            from . import headers

            if not isinstance(csource, str):
                raise TypeError(f"cdef() argument 'csource' must be a str, not "
                                f"{type(csource).__name__}")
            return headers.declare(self, csource, ("the cdef source",), override=override,
                                   packed=packed, pack=pack, **header_options)
        if header_options:
            raise TypeError(f"cdef() got unexpected keyword argument(s) "
                            f"{', '.join(sorted(header_options))} (they need preprocess=True)")
        history = self._cffix_state.setdefault("_cffix_history", [])
        try:
            _c_cdef(self, csource, override, packed, pack)
        except Exception as exc:
            # It may have declared part of the text: generating a module is refused from
            # now on, which only needs the first failure (an FFI that keeps failing keeps
            # no more).
            if isinstance(csource, str) and "_cffix_failed" not in self._cffix_state:
                self._cffix_state["_cffix_failed"] = True
                history.append(("failed", f"{type(exc).__name__}: {exc}"))
            raise
        history.append(("cdef", csource, bool(override), bool(packed),
                        None if pack is None else int(pack)))
        if "cffix::" in csource:  # [[cffix::...]] attributes: this FFI's functions are wrapped
            self._cffix_enable_wrappers()

    def cdef_header(self, *headers: str, include_dirs: "Sequence[str]" = (),
                    defines: "Mapping[str, str | None] | None" = None,
                    undefines: "Sequence[str]" = (),
                    pkg_config: "str | Sequence[str] | None" = None,
                    cc: "str | Sequence[str] | None" = None, cflags: "Sequence[str]" = (),
                    only: "Any" = None, exclude: "Any" = None, macros: "str | None" = "own",
                    strict: bool = False) -> "Any":
        """Declare what real C headers declare: one run of the system preprocessor
        (``$CC``, else cc/gcc/clang, ``-E -dD``), then cffix's parser. Returns a report.

            report = ffi.cdef_header("zlib.h")
            lib = ffi.dlopen("z")                 # lib.deflate, lib.Z_OK, ...
            report = ffi.cdef_header("glib.h", pkg_config="glib-2.0")

        Only the "own" declarations become lib names: those of the named headers and of
        their library's header tree (openssl/* for <openssl/ssl.h>); the types of every
        header read are declared (sizes and layouts right) and usable by name. ``only`` /
        ``exclude``: a regex (matched at the start of the name), a list of them, or a
        callable, choosing among the own functions, globals and constants. ``macros``:
        "own" (default), "all" or None: which object-like macros become constants. A
        declaration cffix cannot represent is skipped and listed in ``report.skipped``;
        ``strict=True`` makes that a CDefError. ``include_dirs``, ``defines`` ({name:
        value or None}), ``undefines``, ``pkg_config`` (package names: their --cflags)
        and ``cflags`` go to the preprocessor. Its output is cached (XDG_CACHE_HOME/cffix)
        until a header it read changes.
        """
        from . import headers as _headers

        if not headers:
            raise TypeError("cdef_header() needs at least one header name")
        source = "".join(_headers._include_line(h) for h in headers)
        return _headers.declare(self, source, headers, include_dirs=include_dirs,
                                defines=defines, undefines=undefines, pkg_config=pkg_config,
                                cc=cc, cflags=cflags, only=only, exclude=exclude,
                                macros=macros, strict=strict)

    def _cffix_load_wrap_rules(self, text: str) -> None:
        """An API-mode module's import: the builder's wrap rules (not an API)."""
        wrappers.load_rules(self, text)

    def _cffix_enable_wrappers(self) -> None:
        """Installs this FFI's wrap rules (also for [[cffix::...]] alone): not an API."""
        self._set_wrap_rules(wrappers.rules_of(self))

    # dlopen(name, flags=0, *, release_gil=True, sha256=None, soname=None, version=None):
    # the arguments go to the C method as they are, so that its messages on bad arguments
    # stay those of the C method.
    def dlopen(self, *args: "Any", **kwargs: "Any") -> "Any":
        """dlopen(name, flags=0, *, release_gil=True, sha256=None, soname=None, version=None)

        Load a shared library and return it as a Lib object: the functions, global
        variables and constants declared with cdef() are its attributes.

            lib = ffi.dlopen('m')          # a short name, found like ctypes.util.find_library
            libc = ffi.dlopen(None)        # the C library and the program itself

        The FFI keeps the library loaded (as cffi does) until ffi.dlclose(lib) or until
        the FFI itself is collected. release_gil=False keeps the GIL during the calls.

        Pinned libraries: ``sha256`` (a hex digest, or a set of them) and ``soname`` (the
        expected DT_SONAME) are checked on the open file before it is loaded, and that very
        file is loaded; ``version`` is a C expression over probe functions declared in the
        cdef, evaluated once it is loaded. A mismatch raises cffix.LibraryMismatch (an
        OSError). ``python -m cffix pin NAME`` prints the values to pin.

            lib = ffi.dlopen('z', soname='libz.so.1', version='zlibVersion_num() >= 0x1200')
        """
        lib = _c_dlopen(self, *args, **kwargs)
        self._cffix_state.setdefault("_cffix_libraries", []).append(lib)
        return lib

    def dlclose(self, lib: "Any") -> None:
        """Close a library from dlopen(): using its names afterwards raises ValueError,
        and so does calling a function object taken from it before (f = lib.f).

            ffi.dlclose(lib)

        It never waits and never fails because of calls in progress: a call running on
        another thread finishes normally; the library is unloaded once the last function
        object taken from it is gone (at once when there is none).
        """
        _c_dlclose(self, lib)
        libraries = self._cffix_state.get("_cffix_libraries", [])
        for i, kept in enumerate(libraries):
            if kept is lib:
                del libraries[i]
                break

    def include(self, ffi_to_include: "FFI") -> None:
        """Make the types and declarations of another FFI usable here.

            ffi.include(base_ffi)
        """
        _c_include(self, ffi_to_include)
        self._cffix_state.setdefault("_cffix_history", []).append(("include", ffi_to_include))

    def set_source(self, module_name: str, source: "str | None",
                   source_extension: str = ".c", **kwds: "Any") -> None:
        """Name the module that compile() / emit_python_code() will write.

            ffibuilder.set_source("_mymod", None)   # out-of-line ABI mode
            ffibuilder.compile()                    # writes ./_mymod.py
            # later: from _mymod import ffi; lib = ffi.dlopen("libfoo.so")

        ``source=None`` selects out-of-line ABI mode: a pure Python module holding a
        ready ``ffi`` (the cdef()s and include()s of this FFI, replayed at import).
        A C source string selects API mode: compile() builds a C extension module
        (``from _mymod import ffi, lib``) with setuptools; the keywords are the
        setuptools Extension's (libraries=, include_dirs=, ...), ignored in ABI mode,
        and ``release_gil=False``, which makes the module's functions keep the GIL
        during their calls (cffix's opt-out, as ``dlopen(..., release_gil=False)``).

            ffibuilder.set_source("_m", "#include <math.h>", libraries=["m"])
        """
        from . import builder

        builder.set_source(_as_ffi(self), module_name, source, source_extension, kwds)

    def set_source_pkgconfig(self, module_name: str, pkgconfig_libs: "list[str]",
                             source: str, source_extension: str = ".c",
                             **kwds: "Any") -> None:
        """set_source() in API mode, with the include and library flags pkg-config gives
        for the named packages added to ``kwds``. A missing package or pkg-config raises
        PkgConfigError naming it.

            ffibuilder.set_source_pkgconfig("_z", ["zlib"], "#include <zlib.h>")
        """
        from . import builder

        builder.set_source_pkgconfig(_as_ffi(self), module_name, pkgconfig_libs, source,
                                     source_extension, kwds)

    def emit_python_code(self, filename: "str | os.PathLike[str]") -> None:
        """Write the out-of-line module named by set_source(name, None) to ``filename``.

            ffibuilder.emit_python_code("build/_mymod.py")

        The output is deterministic; an unchanged file is not rewritten.
        """
        from . import builder

        builder.emit_python_code(_as_ffi(self), filename)

    def compile(self, tmpdir: "str | os.PathLike[str]" = ".", verbose: bool = False,
                target: "str | None" = None, debug: "bool | None" = None) -> str:
        """Write the module named by set_source() under ``tmpdir`` and return its path.

            ffibuilder.set_source("pkg._mymod", None)
            ffibuilder.compile(tmpdir="build")   # 'build/pkg/_mymod.py'

        Directories are created as needed. In API mode the C file is written there and
        the extension built next to it (setuptools; nothing is rebuilt when nothing
        changed); ``target`` names the built file ('*' for the extension suffix),
        ``debug`` builds with debug information. Both are ignored in ABI mode.
        """
        from . import builder

        return builder.compile(_as_ffi(self), tmpdir, verbose, target, debug)

    def verify(self, source: str = "", tmpdir: "str | None" = None, **kwargs: "Any") -> "Any":
        """cffi's older API mode (deprecated there too): build a module of this FFI's
        cdefs and ``source`` now, load it, and return its ``lib``.

            ffi.cdef("struct s { int b; ...; }; int f(struct s *);")
            lib = ffi.verify('#include "s.h"', libraries=["s"])

        It goes through set_source() and compile(): the module is named by a hash of
        the cdefs, ``source`` and the keywords, built in ``tmpdir`` (default: the
        ``__pycache__`` folder next to the caller's file, or $CFFI_TMPDIR) and reused
        while they stay the same. This FFI then shares the module's types (completed by
        the compiler where the cdef says ``...``). ``kwargs`` are set_source()'s
        (setuptools Extension keywords, ``source_extension``), and cffi's ``modulename``
        (the module's name instead of the hash), ``tag``, ``flags``, ``ext_package`` and
        ``force_generic_engine`` (accepted; ``tag`` enters the hash).
        """
        from . import builder

        return builder.verify(_as_ffi(self), source, tmpdir, kwargs)

    def emit_c_code(self, filename: str) -> None:
        """API mode: write the C source of the module set_source() named.

            ffibuilder.emit_c_code("build/_mymod.c")
        """
        from . import builder

        builder.emit_c_code(_as_ffi(self), filename)

    def distutils_extension(self, tmpdir: str = "build", verbose: bool = True) -> "Any":
        """API mode: write the C source under ``tmpdir`` and return the setuptools
        Extension that builds it.

            setup(ext_modules=[ffibuilder.distutils_extension()])
        """
        from . import builder

        return builder.distutils_extension(_as_ffi(self), tmpdir, verbose)

    def init_once(self, func: "Callable[[], Any]", tag: "Hashable") -> "Any":
        """Call ``func()`` the first time a given ``tag`` is seen on this FFI, and return
        its result then and on every later call with that tag, from any thread.

            lib_state = ffi.init_once(lambda: lib.setup(), "setup")

        Concurrent callers with the same tag wait for the first one. If ``func`` raises,
        the exception propagates and nothing is stored: the next caller runs it again.
        A recursive call for the same tag from within ``func`` raises RuntimeError (it
        would deadlock).
        """
        state = self._cffix_state
        entries = state.get("_cffix_init_once")
        if entries is None:
            entries = state.setdefault("_cffix_init_once", {})
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


def _check_pack(packed: object, pack: "int | None") -> None:
    """cdef()'s packed=/pack= rules, cffi's: a bool, a power of two, not both."""
    if packed not in (False, True):
        raise ValueError(f"'packed' must be False or True, not {packed!r}; "
                         "use 'pack' to give another value")
    if pack is not None and pack != 0:
        if packed:
            raise ValueError("cannot give both 'pack' and 'packed'")
        if not isinstance(pack, int) or pack < 0 or pack & (pack - 1):
            raise ValueError(f"'pack' must be a power of two, not {pack!r}")


def _install() -> None:
    namespace = dict(_PythonMethods.__dict__)
    for value in namespace.values():
        if isinstance(value, type(_install)):
            value.__qualname__ = "FFI." + value.__name__
    _core.add_ffi_methods(namespace)


_install()
FFI = _core.FFI


class _OnceEntry:
    """The state of one init_once tag: done/result once func() returned."""

    __slots__ = ("done", "result", "lock", "running_in")

    def __init__(self) -> None:
        from _thread import allocate_lock

        self.done = False
        self.result = None
        self.lock = allocate_lock()
        self.running_in = None
