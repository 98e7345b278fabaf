"""Build-time side of the FFI: set_source(), emit_python_code(), compile().

Out-of-line ABI mode, as in cffi: a build script declares the C interface once and
writes a Python module holding a ready ``ffi``; programs import it and ``dlopen`` the
library, without re-declaring anything and without a C compiler:

    # build_mymod.py
    from cffix import FFI
    ffibuilder = FFI()
    ffibuilder.cdef("size_t strlen(const char *);")
    ffibuilder.set_source("_mymod", None)
    ffibuilder.compile()                      # writes ./_mymod.py

    # the program
    from _mymod import ffi
    lib = ffi.dlopen(None)

The generated module replays the builder's history: every ``include()`` and ``cdef()``
call, in order, with its options (override, packed, pack). cffix's parser is fast
enough (a few microseconds per declaration) that replaying the C text at import is
cheaper than any serialized form would be to load, and it keeps the generated module
readable and independent of cffix's internals: it uses only the public API.

API mode (``set_source(name, "C source")``, a compiled extension module) is not
implemented yet; it raises APIModeNotImplemented.

The FFI class (api.py) records the history in ``ffi._cffix_state`` (not the instance
``__dict__``); this module is imported only when one of its functions is used, so
``import cffix`` stays cheap.
"""

from __future__ import annotations

import os

from . import _core

# Keys in ffi._cffix_state (written by api.py's cdef/include wrappers and here).
HISTORY = "_cffix_history"  # [("cdef", text, override, packed, pack) | ("include", ffi)
#                              | ("failed", text, error message)]
SOURCE = "_cffix_source"  # (module_name, source, source_extension, kwds)


class APIModeNotImplemented(_core.VerificationError, NotImplementedError):
    """set_source() was given C source: API mode is not implemented in this version.

    Both a VerificationError (what build scripts catch around cffi's compile()) and a
    NotImplementedError (what it is).
    """


# ---------------------------------------------------------------- set_source


def set_source(ffi, module_name, source, source_extension=".c", kwds=None) -> None:
    """FFI.set_source(): remember the module to generate (see api.FFI.set_source)."""
    state = ffi._cffix_state
    if SOURCE in state:
        raise ValueError("set_source() cannot be called several times per ffi object")
    if not isinstance(module_name, str):
        raise TypeError(f"'module_name' must be a string, not {type(module_name).__name__}")
    _check_module_name(module_name)
    if source is not None:
        if not isinstance(source, str):
            raise TypeError(
                "set_source(): 'source' must be a str of C source (API mode) or None "
                f"(out-of-line ABI mode), not {type(source).__name__}")
        from . import __version__

        raise APIModeNotImplemented(
            f"set_source({module_name!r}, <C source>): API mode (a compiled C extension "
            f"module) is not implemented in cffix {__version__} yet. Use out-of-line ABI "
            f"mode instead: set_source({module_name!r}, None) writes a pure Python module "
            f"{module_name}.py holding the ffi, and the program calls "
            f"ffi.dlopen('libname') to load the C library. The cdef() must then describe "
            f"the library exactly (no '...' for a compiler to fill in), and any C code "
            f"given here must be compiled into a shared library by other means.")
    if not isinstance(source_extension, str):
        raise TypeError("'source_extension' must be a str, not "
                        f"{type(source_extension).__name__}")
    # Extra keywords (libraries=, include_dirs=, ...) only matter to a C compiler:
    # accepted and ignored in ABI mode, as cffi does.
    state[SOURCE] = (module_name, None, source_extension, dict(kwds or {}))


def _check_module_name(name: str) -> None:
    import keyword

    parts = name.split(".")
    if not all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        raise ValueError(
            f"set_source(): {name!r} is not a module name: expected a dotted Python name "
            "such as '_mymod' or 'mypackage._mymod'")


def _module_name(ffi, method: str) -> str:
    """The out-of-line module name given to set_source(); errors as cffi for the rest."""
    source = ffi._cffix_state.get(SOURCE)
    if source is None:
        raise ValueError(f"set_source() must be called before {method}()")
    return source[0]


# ---------------------------------------------------------------- the generated module


def python_source(ffi) -> str:
    """The text of the module set_source() named: deterministic (same history -> same
    text), using only cffix's public API."""
    module_name = _module_name(ffi, "emit_python_code")
    history = ffi._cffix_state.get(HISTORY, ())
    for entry in history:
        if entry[0] == "failed":
            raise _core.VerificationError(
                f"cannot generate {module_name!r}: a cdef() call on this FFI failed "
                f"({entry[2]}), and the declarations it made before the error cannot be "
                "reproduced. Fix that cdef() (or use a fresh FFI) and generate again.")

    aliases = {}  # included module name -> its alias in the generated module
    imports = []
    body = []
    for entry in history:
        if entry[0] == "include":
            other = entry[1]
            other_source = other._cffix_state.get(SOURCE)
            if other_source is None:
                raise _core.VerificationError(
                    f"cannot generate {module_name!r}: this FFI includes another FFI "
                    f"({other!r}) that was not prepared with set_source(). Give it its own "
                    "out-of-line module, set_source('_othermod', None), and generate that "
                    "one too: the module generated here imports it.")
            other_name = other_source[0]
            if other_name == module_name:
                raise _core.VerificationError(
                    f"cannot generate {module_name!r}: it includes an FFI that was given "
                    "the same module name")
            alias = aliases.get(other_name)
            if alias is None:
                alias = aliases[other_name] = f"_ffi{len(aliases)}"
                imports.append(f"from {other_name} import ffi as {alias}\n")
            body.append(f"ffi.include({alias})\n")
        else:
            _, text, override, packed, pack = entry
            options = ""
            if override:
                options += ", override=True"
            if packed:
                options += ", packed=True"
            if pack is not None:
                options += f", pack={pack}"
            body.append(f"ffi.cdef({_string_literal(text)}{options})\n")

    from . import __version__

    return "".join([
        f"# {module_name}: generated by cffix {__version__} (out-of-line ABI mode).\n",
        "# Do not edit: change the build script that called set_source() and run it again.\n",
        "# Use: from " + module_name + " import ffi; lib = ffi.dlopen('library name')\n",
        "import cffix\n",
        *imports,
        "\n",
        "ffi = cffix.FFI()\n",
        *body,
    ])


def _string_literal(text: str) -> str:
    """A Python literal for `text`: readable ("...", or triple-quoted across lines) when
    that reproduces the text exactly, else repr() (control characters, carriage returns)."""
    import ast

    if all(c.isprintable() or c in "\n\t" for c in text):
        if "\n" not in text and '"' not in text and "\\" not in text:
            return f'"{text}"'
        # A backslash-newline after the opening quotes starts the text on the next line
        # without adding a newline (not in a raw string, where it would stay).
        # Backslashes: only the raw form (no escape sequences, no invalid-escape warning).
        lead = "\\\n" if "\n" in text and not text.startswith("\n") else ""
        candidates = [f'r"""{text}"""'] if "\\" in text else [f'"""{lead}{text}"""']
        for candidate in candidates:
            try:
                if ast.literal_eval(candidate) == text:
                    return candidate
            except (SyntaxError, ValueError):
                pass
    return repr(text)


def _write_if_changed(path: str, text: str) -> bool:
    """Write `text` to `path` unless it already holds exactly that (its mtime then stays,
    so build tools see nothing new). Atomic: a reader sees the old file or the new one."""
    data = text.encode("utf-8")
    try:
        with open(path, "rb") as f:
            if f.read() == data:
                return False
    except OSError:
        pass
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:  # default permissions (umask), unlike mkstemp's 0600
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return True


# ---------------------------------------------------------------- FFI methods


def emit_python_code(ffi, filename) -> None:
    """FFI.emit_python_code(): write the out-of-line module to `filename`."""
    _module_name(ffi, "emit_python_code")
    if not isinstance(filename, (str, os.PathLike)):
        raise TypeError(f"emit_python_code(): 'filename' must be a str or path, not "
                        f"{type(filename).__name__}")
    _write_if_changed(os.fspath(filename), python_source(ffi))


def compile(ffi, tmpdir=".", verbose=False, target=None, debug=None) -> str:
    """FFI.compile(): write <tmpdir>/<module path>.py; return that path."""
    module_name = _module_name(ffi, "compile")
    # target= and debug= only concern a compiled extension module: ignored, as cffi does.
    if not isinstance(tmpdir, (str, os.PathLike)):
        raise TypeError(f"compile(): 'tmpdir' must be a str or path, not "
                        f"{type(tmpdir).__name__}")
    *packages, base = module_name.split(".")
    directory = os.path.join(os.fspath(tmpdir), *packages)
    path = os.path.join(directory, base + ".py")
    text = python_source(ffi)
    if verbose:
        print(f"generating {path}")
    os.makedirs(directory, exist_ok=True)
    if not _write_if_changed(path, text) and verbose:
        print("(already up-to-date)")
    return path


def emit_c_code(ffi, filename) -> None:
    """FFI.emit_c_code(): only for API mode, which is not there yet."""
    _module_name(ffi, "emit_c_code")
    raise TypeError("emit_c_code() is only for C extension modules (API mode), not for "
                    "dlopen()-style pure Python modules: use emit_python_code()")


def distutils_extension(ffi, tmpdir="build", verbose=True):
    """FFI.distutils_extension(): only for API mode, which is not there yet."""
    _module_name(ffi, "distutils_extension")
    raise TypeError("distutils_extension() is only for C extension modules (API mode), not "
                    "for dlopen()-style pure Python modules: use compile() or "
                    "emit_python_code()")
