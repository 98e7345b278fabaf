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

API mode (``set_source(name, "C source")``): compile() writes a C extension module
(csrc/gen/ generates it: the C source verbatim, a METH_FASTCALL wrapper per function,
the integer constants as the compiler sees them, the compiler's facts for what the cdef
leaves to it with ``...``, and compile-time comparisons of the cdef's layouts and
signatures with the source's) and builds it with setuptools, with cffix's public header
(cffix_api.h) on the include path. A build that fails on those comparisons raises
VerificationError with one sentence per disagreement, read from the compiler's output:

    ffibuilder.cdef("double hypot(double, double); int twice(int);")
    ffibuilder.set_source("_mymod", "#include <math.h>\n#define twice(x) ((x) * 2)",
                          libraries=["m"])
    ffibuilder.compile()                      # builds ./_mymod.<ext suffix>

    from _mymod import ffi, lib
    lib.hypot(3, 4), lib.twice(21)            # (5.0, 42)

extern "Python" functions are C functions of the module that call what
``ffi.def_extern()`` attached (see FFI.def_extern). The module's cdef text runs at the
first use of its declarations, not at import; its include() calls import the included
modules.

The FFI class (api.py) records the history in ``ffi._cffix_state`` (not the instance
``__dict__``); this module is imported only when one of its functions is used, so
``import cffix`` stays cheap.
"""

from __future__ import annotations

import os
import re
import sys
from typing import TYPE_CHECKING, Any

from . import _core

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._core import FFI

# Keys in ffi._cffix_state (written by api.py's cdef/include wrappers and here).
HISTORY = "_cffix_history"  # [("cdef", text, override, packed, pack) | ("include", ffi)
#                              | ("failed", error message), the first failure only
#                              | ("macros", [(name, C literal)]): a header's floating and
#                                string macros (_macros.py), for out-of-line modules]
SOURCE = "_cffix_source"  # (module_name, source, source_extension, kwds)
# set_source(..., release_gil=False): API-mode wrappers keep the GIL during calls (cffix's
# opt-out, as dlopen(..., release_gil=False) in ABI mode).
RELEASE_GIL = "_cffix_release_gil"


# The setuptools Extension keywords set_source() passes on in API mode.
EXTENSION_KEYWORDS = frozenset({
    "sources", "include_dirs", "define_macros", "undef_macros", "library_dirs", "libraries",
    "runtime_library_dirs", "extra_objects", "extra_compile_args", "extra_link_args",
    "export_symbols", "swig_opts", "depends", "language", "optional", "py_limited_api",
})


# ---------------------------------------------------------------- set_source


def set_source(ffi: FFI, module_name: str, source: str | None, source_extension: str = ".c",
               kwds: dict[str, Any] | None = None) -> None:
    """FFI.set_source(): remember the module to generate (see api.FFI.set_source)."""
    state = ffi._cffix_state
    if SOURCE in state:
        raise ValueError("set_source() cannot be called several times per ffi object")
    if not isinstance(module_name, str):
        raise TypeError(f"'module_name' must be a string, not {type(module_name).__name__}")
    _check_module_name(module_name)
    if source is not None and not isinstance(source, str):
        raise TypeError(
            "set_source(): 'source' must be a str of C source (API mode) or None "
            f"(out-of-line ABI mode), not {type(source).__name__}")
    if not isinstance(source_extension, str):
        raise TypeError("'source_extension' must be a str, not "
                        f"{type(source_extension).__name__}")
    kwds = dict(kwds or {})
    release_gil = kwds.pop("release_gil", True)
    if not isinstance(release_gil, bool):
        raise TypeError(f"set_source(): 'release_gil' must be True or False, not "
                        f"{type(release_gil).__name__}")
    if source is not None:
        unknown = sorted(set(kwds) - EXTENSION_KEYWORDS)
        if unknown:
            raise TypeError(f"set_source() got unexpected keyword argument(s) {unknown}: "
                            f"expected setuptools Extension keywords "
                            f"({', '.join(sorted(EXTENSION_KEYWORDS))})")
    # In ABI mode the extra keywords (libraries=, include_dirs=, ...) only matter to a C
    # compiler: accepted and ignored, as cffi does.
    state[SOURCE] = (module_name, source, source_extension, kwds)
    state[RELEASE_GIL] = release_gil


def set_source_pkgconfig(ffi: FFI, module_name: str, pkgconfig_libs: list[str], source: str,
                         source_extension: str = ".c",
                         kwds: dict[str, Any] | None = None) -> None:
    """FFI.set_source_pkgconfig(): set_source() with the compiler and linker flags that
    pkg-config gives for `pkgconfig_libs`, added to the keywords given."""
    if isinstance(pkgconfig_libs, str) or not all(
            isinstance(name, str) for name in pkgconfig_libs):
        raise TypeError("set_source_pkgconfig(): 'pkgconfig_libs' must be a list of str "
                        f"(pkg-config package names), not {pkgconfig_libs!r}")
    if not pkgconfig_libs:
        raise ValueError("set_source_pkgconfig(): 'pkgconfig_libs' is empty")
    kwds = dict(kwds or {})
    for key, values in _pkgconfig_flags(list(pkgconfig_libs)).items():
        kwds[key] = [*kwds.get(key, []), *values]
    set_source(ffi, module_name, source, source_extension, kwds)


def _pkgconfig(args: list[str]) -> list[str]:
    import subprocess

    try:
        proc = subprocess.run(["pkg-config", *args], capture_output=True, text=True,
                              timeout=60)
    except FileNotFoundError as e:
        raise _core.PkgConfigError(
            "pkg-config is not installed (Debian/Ubuntu: apt-get install pkg-config)") from e
    except (OSError, subprocess.SubprocessError) as e:
        raise _core.PkgConfigError(f"running pkg-config failed: {e}") from e
    if proc.returncode != 0:
        raise _core.PkgConfigError(proc.stderr.strip() or
                                   f"pkg-config {' '.join(args)} failed")
    return proc.stdout.split()


def _pkgconfig_flags(names: list[str]) -> dict[str, Any]:
    """The setuptools Extension keywords pkg-config gives for `names`."""
    _pkgconfig(["--print-errors", "--exists", *names])  # names the missing package
    flags: dict[str, Any] = {
        "include_dirs": [f[2:] for f in _pkgconfig(["--cflags-only-I", *names])],
        "library_dirs": [f[2:] for f in _pkgconfig(["--libs-only-L", *names])],
        "libraries": [f[2:] for f in _pkgconfig(["--libs-only-l", *names])],
        "extra_compile_args": _pkgconfig(["--cflags-only-other", *names]),
        "extra_link_args": _pkgconfig(["--libs-only-other", *names]),
    }
    macros: list[tuple[str, str | None]] = []
    for flag in list(flags["extra_compile_args"]):
        if flag.startswith("-D"):
            name, _, value = flag[2:].partition("=")
            macros.append((name, value or None))
            flags["extra_compile_args"].remove(flag)
    flags["define_macros"] = macros
    return {key: value for key, value in flags.items() if value}


def _check_module_name(name: str) -> None:
    import keyword

    parts = name.split(".")
    if not all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        raise ValueError(
            f"set_source(): {name!r} is not a module name: expected a dotted Python name "
            "such as '_mymod' or 'mypackage._mymod'")


def _module_name(ffi: FFI, method: str) -> str:
    """The out-of-line module name given to set_source(); errors as cffi for the rest."""
    source = ffi._cffix_state.get(SOURCE)
    if source is None:
        raise ValueError(f"set_source() must be called before {method}()")
    name: str = source[0]
    return name


# ---------------------------------------------------------------- the generated module


def _refuse_compiler_only_declarations(ffi: FFI) -> None:
    """An out-of-line ABI module cannot hold what only a C compiler knows ('...' values,
    sizes, lengths): refused with cffi's exceptions (and its text for macros)."""
    for kind, name in ffi._abi_unknowns():
        if kind == "macro":
            raise _core.VerificationError(
                f"macro {name}: cannot use the syntax '...' in '#define {name} ...' when "
                "using the ABI mode")
        if kind == "length":
            # cffi's out-of-line format holds array lengths up to 2**31-1: refused as cffi
            # refuses them, so a module generated here loads wherever cffi's would.
            raise OverflowError(f"cannot emit {name!r}: limited to 2**31-1 (an array length "
                                "in an out-of-line ABI module)")
        if kind == "enum":
            raise _core.VerificationMissing(
                f"{name}: an enum with '...' needs a C compiler for its values: use API mode "
                "(set_source() with C source)")
        what = {"typedef": f"typedef {name} (declared 'typedef int... {name};')",
                "global": f"global {name} (an array length '[...]')"}[kind]
        raise _core.VerificationError(
            f"cannot emit to Python: the size of {what} is only known to a C compiler: use "
            "API mode (set_source() with C source)")


def python_source(ffi: FFI) -> str:
    """The text of the module set_source() named: deterministic (same history -> same
    text), using only cffix's public API."""
    module_name = _module_name(ffi, "emit_python_code")
    history = ffi._cffix_state.get(HISTORY, ())
    for entry in history:
        if entry[0] == "failed":
            raise _core.VerificationError(
                f"cannot generate {module_name!r}: a cdef() call on this FFI failed "
                f"({entry[1]}), and the declarations it made before the error cannot be "
                "reproduced. Fix that cdef() (or use a fresh FFI) and generate again.")
    _refuse_compiler_only_declarations(ffi)

    aliases: dict[str, str] = {}  # included module name -> its alias in the generated module
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
            if other_source[1] is not None:
                raise _core.VerificationError(
                    f"cannot generate {module_name!r}: this out-of-line ABI module includes "
                    f"the FFI of {other_name!r}, an API-mode module (C source): its types "
                    "may have layouts only the C compiler knows. Include an FFI prepared "
                    "with set_source(name, None), or make this module an API-mode one too.")
            if other_name == module_name:
                raise _core.VerificationError(
                    f"cannot generate {module_name!r}: it includes an FFI that was given "
                    "the same module name")
            alias = aliases.get(other_name)
            if alias is None:
                alias = aliases[other_name] = f"_ffi{len(aliases)}"
                imports.append(f"from {other_name} import ffi as {alias}\n")
            body.append(f"ffi.include({alias})\n")
        elif entry[0] == "macros":  # a header's floating and string macros (_macros.py)
            body.append(f"ffi._convert_macros({entry[1]!r})\n")
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
        # As cffi's generated modules do, its dlopen() libs raise ffi.error for a declared
        # symbol the library lacks (cffi.FFI's own: AttributeError, KeyError).
        "ffi._out_of_line_abi = True\n",
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


def _emit(method: str, filename: Any, text: str) -> None:
    """Write `text` to `filename` (a path: unless unchanged) or to a text file object."""
    if isinstance(filename, (str, os.PathLike)):
        _write_if_changed(os.fspath(filename), text)
    elif callable(getattr(filename, "write", None)):
        filename.write(text)
    else:
        raise TypeError(f"{method}(): 'filename' must be a str, a path or a file object "
                        f"with write(), not {type(filename).__name__}")


def emit_python_code(ffi: FFI, filename: Any) -> None:
    """FFI.emit_python_code(): write the out-of-line module to `filename` (a path or a
    text file object)."""
    _module_name(ffi, "emit_python_code")
    _emit("emit_python_code", filename, python_source(ffi))


def _is_api_mode(ffi: FFI) -> bool:
    source = ffi._cffix_state.get(SOURCE)
    return source is not None and source[1] is not None


def c_source(ffi: FFI) -> str:
    """The C text of the API-mode module set_source() named: deterministic."""
    from . import __version__

    module_name, preamble, _, _ = ffi._cffix_state[SOURCE]
    cdefs: list[tuple[Any, ...]] = []
    for entry in ffi._cffix_state.get(HISTORY, ()):
        if entry[0] == "failed":
            raise _core.VerificationError(
                f"cannot generate {module_name!r}: a cdef() call on this FFI failed "
                f"({entry[1]}). Fix that cdef() (or use a fresh FFI) and generate again.")
        if entry[0] == "include":  # the module imports the other one's ffi (and lib)
            other_source = entry[1]._cffix_state.get(SOURCE)
            if other_source is None:
                raise _core.VerificationError(
                    f"cannot generate {module_name!r}: this FFI includes another FFI "
                    f"({entry[1]!r}) that was not prepared with set_source(): give it its "
                    "own module (API mode, or out-of-line ABI mode with set_source(name, "
                    "None)), which the module generated here imports")
            if other_source[0] == module_name:
                raise _core.VerificationError(
                    f"cannot generate {module_name!r}: it includes an FFI that was given "
                    "the same module name")
            cdefs.append(("include", other_source[0]))
            continue
        if entry[0] == "macros":  # the module reads these from C (gen/module_source.cpp)
            continue
        _, text, override, packed, pack = entry
        cdefs.append((text, bool(override), bool(packed), int(pack or 0)))
    from . import wrappers

    return ffi._api_module_source(module_name, preamble, cdefs, __version__,
                                  ffi._cffix_state.get(RELEASE_GIL, True),
                                  wrappers.dump_rules(ffi))


def _c_path(ffi: FFI, tmpdir: str | os.PathLike[str]) -> str:
    module_name, _, source_extension, _ = ffi._cffix_state[SOURCE]
    path: str = os.path.join(os.fspath(tmpdir), *module_name.split(".")) + source_extension
    return path


def _write_c_source(ffi: FFI, tmpdir: str | os.PathLike[str], verbose: bool) -> str:
    """Writes the module's C source under `tmpdir` (unless unchanged); returns its path."""
    c_path = _c_path(ffi, tmpdir)
    os.makedirs(os.path.dirname(c_path) or ".", exist_ok=True)
    changed = _write_if_changed(c_path, c_source(ffi))
    if verbose:
        print(f"generating {c_path}" + ("" if changed else " (already up-to-date)"))
    return c_path


def compile(ffi: FFI, tmpdir: str | os.PathLike[str] = ".", verbose: bool = False,
            target: str | None = None, debug: bool | None = None) -> str:
    """FFI.compile(): ABI mode writes <tmpdir>/<module path>.py; API mode writes the C
    file there and builds the extension next to it. Returns the written/built path."""
    if _is_api_mode(ffi):
        return _compile_extension(ffi, tmpdir, verbose, target, debug)
    return _compile_python(ffi, tmpdir, verbose)


def _compile_extension(ffi: FFI, tmpdir: str | os.PathLike[str], verbose: bool,
                       target: str | None, debug: bool | None) -> str:
    if not isinstance(tmpdir, (str, os.PathLike)):
        raise TypeError(f"compile(): 'tmpdir' must be a str or path, not "
                        f"{type(tmpdir).__name__}")
    c_path = _write_c_source(ffi, tmpdir, verbose)
    extension = _extension(ffi, c_path)
    built = _build_extension(extension, os.fspath(tmpdir), verbose, debug)
    if target is not None:
        import sysconfig

        name = target.replace("*", sysconfig.get_config_var("EXT_SUFFIX").lstrip(".")) \
            if "*" in target else target
        wanted = os.path.join(os.path.dirname(built), name)
        if wanted != built:
            os.replace(built, wanted)
            built = wanted
    return built


def _extension(ffi: FFI, c_path: str) -> Any:
    try:
        from setuptools import Extension
    except ImportError as e:  # Python 3.12+ venvs come without it
        raise _core.VerificationError(
            "compile() in API mode builds the module with setuptools, which is not "
            "installed: pip install setuptools") from e
    from . import get_include

    module_name, _, _, kwds = ffi._cffix_state[SOURCE]
    kwds = dict(kwds)
    # Normalized as cffi does ('dir/../x.c' compiles even when 'dir' does not exist).
    kwds["sources"] = [c_path, *(os.path.normpath(src) for src in kwds.get("sources", []))]
    kwds["include_dirs"] = [get_include(), *kwds.get("include_dirs", [])]
    return Extension(module_name, **kwds)


def _build_ext_placing_objects(tmpdir: str) -> type:
    """setuptools' build_ext whose object files go where cffi's do (cffi chdir()s into
    tmpdir; cffix does not change the process's directory): next to a source inside
    `tmpdir` (the generated '<tmpdir>/pkg/mod.c' gives '<tmpdir>/pkg/mod.o'), and for
    another source under `tmpdir` by its path made relative, as setuptools does."""
    from setuptools.command.build_ext import build_ext

    root = os.path.abspath(tmpdir)

    class BuildExt(build_ext):
        def build_extension(self, ext: Any) -> Any:
            compiler = self.compiler
            made_relative = compiler.object_filenames

            def object_filenames(sources: list[str], strip_dir: bool = False,
                                 output_dir: str = "") -> list[str]:
                names = made_relative(sources, strip_dir, output_dir)
                for i, source in enumerate(sources):
                    inside = os.path.relpath(os.path.abspath(source), root)
                    if not strip_dir and not inside.startswith(os.pardir):
                        names[i] = os.path.join(
                            output_dir or "", os.path.splitext(inside)[0] + compiler.obj_extension)
                result: list[str] = names
                return result

            compiler.object_filenames = object_filenames
            try:
                return super().build_extension(ext)
            finally:
                del compiler.object_filenames

    return BuildExt


def _build_extension(extension: Any, tmpdir: str, verbose: bool, debug: bool | None) -> str:
    """Builds `extension` into `tmpdir` with setuptools' build_ext (which rebuilds only
    when a source is newer than the module). Returns the module's path."""
    from setuptools import Distribution

    dist = Distribution({"ext_modules": [extension], "script_name": "cffix-build"})
    dist.cmdclass["build_ext"] = _build_ext_placing_objects(tmpdir)
    cmd = dist.get_command_obj("build_ext")
    cmd.build_lib = tmpdir
    cmd.build_temp = tmpdir
    cmd.inplace = False
    if debug is not None:
        cmd.debug = bool(debug)
    cmd.ensure_finalized()
    cmd.verbose = bool(verbose)
    error, output = _run_capturing_output(cmd.run)
    if output:  # the compiler's own lines (warnings) are shown as before
        sys.stderr.write(output)
    if error is not None:
        message = f"building '{extension.name}' failed: {type(error).__name__}: {error}"
        mismatches = _disagreements(extension.sources[0], output)
        if mismatches:
            message = (f"building '{extension.name}' failed: the cdef and the C source "
                       "disagree:\n  " + "\n  ".join(mismatches))
        raise _core.VerificationError(message) from error
    built: str = os.path.abspath(cmd.get_ext_fullpath(extension.name))  # absolute, as in cffi
    return built


def _run_capturing_output(run: Callable[[], object]) -> tuple[Exception | None, str]:
    """Calls run() with file descriptors 1 and 2 (the compiler's output) sent to a
    temporary file: returns (the exception raised or None, the text written)."""
    import tempfile

    sys.stdout.flush()
    sys.stderr.flush()
    error: Exception | None = None
    with tempfile.TemporaryFile() as capture:
        saved = os.dup(1), os.dup(2)
        try:
            os.dup2(capture.fileno(), 1)
            os.dup2(capture.fileno(), 2)
            try:
                run()
            except Exception as e:  # reported with the output below
                error = e
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        capture.seek(0)
        output = capture.read().decode("utf-8", "replace")
    return error, output


_ERROR_LINE = re.compile(r"^(.*?):(\d+):\d+: (?:fatal )?error: (.*)$")
_CHECK_COMMENT = re.compile(r"/\* cffix-check: (.*?) \*/")
_QUOTED = re.compile(r"[\u2018'\"]([^\u2019'\"]+)[\u2019'\"]")


def _disagreements(c_path: str, output: str) -> list[str]:
    """The compiler's errors on the generated file's checks, as sentences naming the
    declaration and both facts (see gen/module_source.cpp: each check's line carries a
    "cffix-check" comment)."""
    try:
        with open(c_path, encoding="utf-8") as f:
            source = f.read().splitlines()
    except OSError:
        return []
    found = []
    for line in output.splitlines():
        m = _ERROR_LINE.match(line)
        if not m or os.path.basename(m.group(1)) != os.path.basename(c_path):
            continue
        number, text = int(m.group(2)), m.group(3)
        check = _CHECK_COMMENT.search(source[number - 1]) if number <= len(source) else None
        names = _QUOTED.findall(text)
        if "undeclared" in text or "implicit declaration" in text:
            sentence = (f"'{names[0]}' is declared in the cdef but not in the C source"
                        if names else text)
        elif "incomplete type" in text or "undefined type" in text:
            sentence = (f"'{names[-1]}' is defined in the cdef but not in the C source"
                        if names else text)
        elif check:
            what = check.group(1)
            if what.endswith(" signature"):
                sentence = (f"{what[:-len(' signature')]}: the cdef declares {names[0]}, C "
                            f"{names[1]}" if len(names) >= 2 else f"{what}: {text}")
            else:
                sizes = re.findall(r"\[(\d+)\]", text)
                sentence = (f"{what}: {sizes[1]} in the cdef, {sizes[0]} in C"
                            if len(sizes) >= 2 else f"{what}: {text}")
        else:
            continue
        if sentence not in found:
            found.append(sentence)
    return found


def _compile_python(ffi: FFI, tmpdir: Any, verbose: bool) -> str:
    """Out-of-line ABI mode: write <tmpdir>/<module path>.py; return that path."""
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


def verify(ffi: FFI, source: str, tmpdir: str | None, kwargs: dict[str, Any]) -> Any:
    """FFI.verify() (see api.FFI.verify): set_source() + compile() + import, on this FFI's
    history, under a name hashed from everything that makes the module."""
    import hashlib
    import importlib.util

    from . import __version__

    if not isinstance(source, str):
        raise TypeError(f"verify(): 'source' must be a str of C source, not "
                        f"{type(source).__name__}")
    kwds = dict(kwargs)
    module_name = kwds.pop("modulename", None)
    tag = kwds.pop("tag", "")
    for ignored in ("flags", "ext_package", "force_generic_engine", "relative_to"):
        kwds.pop(ignored, None)  # cffi's verifier options without a meaning here
    source_extension = kwds.pop("source_extension", ".c")
    if tmpdir is None:
        tmpdir = os.environ.get("CFFI_TMPDIR") or _caller_pycache()
    history = []
    for entry in ffi._cffix_state.get(HISTORY, ()):
        if entry[0] == "include":
            other = entry[1]._cffix_state.get(SOURCE)
            history.append(("include", other[0] if other else id(entry[1])))
        else:
            history.append(entry)
    if module_name is None:
        # The build of cffix's core too (size and mtime of _core): a module built by another
        # build (an older C API version) is never reused.
        core = os.stat(_core.__file__)
        key = repr((history, source, source_extension, sorted(kwds.items(), key=repr), tag,
                    __version__, sys.version, sys.platform, core.st_size, core.st_mtime_ns))
        module_name = "_cffix_verify_" + hashlib.sha256(key.encode("utf-8", "surrogatepass")
                                                        ).hexdigest()[:20]
    module = sys.modules.get(module_name)
    if module is None or not hasattr(module, "lib"):
        state = ffi._cffix_state
        saved = {k: state.pop(k) for k in (SOURCE, RELEASE_GIL) if k in state}
        try:
            set_source(ffi, module_name, source, source_extension, kwds)
            path = compile(ffi, tmpdir)
        finally:
            for k in (SOURCE, RELEASE_GIL):
                state.pop(k, None)
            state.update(saved)
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None  # a path ending in an ext suffix
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[module_name] = module
    ffi._cffix_use_types_of(module.ffi)
    return module.lib


def _caller_pycache() -> str:
    """The __pycache__ folder next to the file of verify()'s caller (as cffi's default)."""
    frame = sys._getframe(3)  # _caller_pycache <- builder.verify <- FFI.verify <- caller
    filename = frame.f_code.co_filename if frame is not None else ""
    directory = os.path.dirname(os.path.abspath(filename)) if os.path.exists(filename) \
        else os.getcwd()
    return os.path.join(directory, "__pycache__")


def emit_c_code(ffi: FFI, filename: Any) -> None:
    """FFI.emit_c_code(): write the API-mode module's C source to `filename` (a path or a
    text file object)."""
    _module_name(ffi, "emit_c_code")
    if _is_api_mode(ffi):
        _emit("emit_c_code", filename, c_source(ffi))
        return
    raise TypeError("emit_c_code() is only for C extension modules (API mode), not for "
                    "dlopen()-style pure Python modules: use emit_python_code()")


def distutils_extension(ffi: FFI, tmpdir: str = "build", verbose: bool = True) -> Any:
    """FFI.distutils_extension(): write the C source under `tmpdir` and return the
    setuptools Extension that builds it."""
    _module_name(ffi, "distutils_extension")
    if _is_api_mode(ffi):
        return _extension(ffi, _write_c_source(ffi, tmpdir, verbose))
    raise TypeError("distutils_extension() is only for C extension modules (API mode), not "
                    "for dlopen()-style pure Python modules: use compile() or "
                    "emit_python_code()")
