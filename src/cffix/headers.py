"""Real headers in: ffi.cdef_header() and ffi.cdef(src, preprocess=True).

One run of the system preprocessor (``cc -E -dD``) gives the declarations, the macros and
the line markers; cffix's parser declares what the named headers (and their library's
own header tree) declare, skipping and reporting what it cannot represent, declaration
by declaration. See README, "Headers".

The report interface (HeaderReport) is shared with the macro converter
(``_macros.convert_macros(ffi, macros, report)``), which calls ``report.converted(name,
value)`` for each macro it turned into a constant and ``report.skipped_macro(name,
reason)`` for the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from ._core import FFI


class HeaderReport:
    """What one cdef_header() call declared, and what it left out and why.

        report = ffi.cdef_header("zlib.h")
        report.kept[:3]        # [('function', 'zlibVersion'), ...]
        report.skipped         # [(name, reason, 'file:line'), ...]
        print(report.summary())

    Attributes (lists keep the header's order):
      headers          the headers as named
      files            the header files the preprocessor read (line markers), in order
      own_files        those whose declarations are exported ("own")
      kept             (kind, name): own declarations declared (kind: function,
                       variable, constant, typedef, struct, union, enum)
      skipped          (name, reason, where): own declarations cffix cannot represent
      skipped_other    (name, reason, where): the same for declarations of other headers
                       (only what own declarations use of them matters)
      renamed          {name: symbol}: functions and globals bound through an __asm__ label
      inline           {name: header}: inline functions (no symbol in ABI mode)
      macros           {name: value}: macros converted into constants
      skipped_macros   (name, reason): macros left out
      from_cache       True when the preprocessor output came from the cache
      replay           the cdef text recorded for set_source() (what was declared)
    """

    def __init__(self, headers: "tuple[str, ...]" = ()) -> None:
        self.headers = tuple(headers)
        self.files: "list[str]" = []
        self.own_files: "list[str]" = []
        self.kept: "list[tuple[str, str]]" = []
        self.skipped: "list[tuple[str, str, str]]" = []
        self.skipped_other: "list[tuple[str, str, str]]" = []
        self.renamed: "dict[str, str]" = {}
        self.inline: "dict[str, str]" = {}
        self.macros: "dict[str, Any]" = {}
        self.skipped_macros: "list[tuple[str, str]]" = []
        self.from_cache = False
        self.replay = ""

    # The macro converter's interface (cffix._macros).
    def converted(self, name: str, value: "Any") -> None:
        """A macro became the constant ``name`` with ``value``."""
        self.macros[name] = value

    def skipped_macro(self, name: str, reason: str) -> None:
        """A macro was not converted, for ``reason``."""
        self.skipped_macros.append((name, reason))

    def summary(self) -> str:
        """A few readable lines: counts, then each skipped own declaration."""
        kinds: "dict[str, int]" = {}
        for kind, _ in self.kept:
            kinds[kind] = kinds.get(kind, 0) + 1
        counts = ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in sorted(kinds.items()))
        lines = [f"cdef_header({', '.join(map(repr, self.headers))}): kept {len(self.kept)} "
                 f"({counts or 'nothing'}); skipped {len(self.skipped)}; "
                 f"{len(self.renamed)} renamed by __asm__; {len(self.inline)} inline; "
                 f"macros: {len(self.macros)} converted, {len(self.skipped_macros)} skipped"
                 + (" (preprocessor output from the cache)" if self.from_cache else "")]
        for name, reason, where in self.skipped:
            lines.append(f"  skipped {name} ({where}): {reason}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<HeaderReport {', '.join(self.headers)}: kept={len(self.kept)} "
                f"skipped={len(self.skipped)} renamed={len(self.renamed)} "
                f"inline={len(self.inline)} macros={len(self.macros)} "
                f"skipped_macros={len(self.skipped_macros)}>")

    def __str__(self) -> str:
        return self.summary()


# ---------------------------------------------------------------------------------------
# The driver

_CACHE_FORMAT = 1
def _error(message: str) -> Exception:
    from . import _core

    return _core.CDefError(message)


def find_compiler(cc: "str | Sequence[str] | None" = None) -> "list[str]":
    """The preprocessor command: ``cc`` (a command line), else $CC, else cc, gcc, clang."""
    import os
    import shlex
    import shutil

    if cc is None:
        cc = os.environ.get("CC") or None
    if cc is not None:
        cmd = shlex.split(cc) if isinstance(cc, str) else list(cc)
        if not cmd or not shutil.which(cmd[0]):
            raise _error(f"cannot run the C compiler {cc!r} (cc= or $CC): not found; headers "
                         "are read through its preprocessor")
        return cmd
    for name in ("cc", "gcc", "clang"):
        if shutil.which(name):
            return [name]
    raise _error("no C compiler found (tried $CC, cc, gcc, clang): cdef_header() runs the "
                 "system preprocessor; install one (Debian/Ubuntu: apt-get install gcc; "
                 "Fedora: dnf install gcc; macOS: xcode-select --install) or pass cc=")


def _flags(include_dirs: "Sequence[str]", defines: "Mapping[str, Any]",
           undefines: "Sequence[str]", pkg_config: "str | Sequence[str] | None",
           cflags: "Sequence[str]") -> "list[str]":
    flags = [f"-I{d}" for d in include_dirs]
    for name, value in dict(defines).items():
        flags.append(f"-D{name}" if value is None else f"-D{name}={value}")
    flags += [f"-U{name}" for name in undefines]
    if pkg_config:
        from . import builder

        names = [pkg_config] if isinstance(pkg_config, str) else list(pkg_config)
        builder._pkgconfig(["--print-errors", "--exists", *names])
        flags += builder._pkgconfig(["--cflags", *names])
    flags += list(cflags)
    return flags


def _user_dirs(flags: "Sequence[str]") -> "set[str]":
    import os

    dirs, take = [], False
    for flag in flags:
        if take:
            dirs.append(flag)
            take = False
        elif flag in ("-I", "-isystem", "-iquote", "-idirafter"):
            take = True
        elif flag.startswith("-I"):
            dirs.append(flag[2:])
        elif flag.startswith("-isystem"):
            dirs.append(flag[8:])
    return {os.path.normpath(os.path.abspath(d)) for d in dirs}


def _stat(path: str) -> "list[int] | None":
    import os

    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size]


def _cache_dir() -> str:
    import os

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "cffix", "headers")


def _cache_key(cmd: "list[str]", flags: "list[str]", source: str) -> str:
    import hashlib
    import json
    import os
    import shutil

    from . import __version__

    compiler = shutil.which(cmd[0]) or cmd[0]
    real = os.path.realpath(compiler)
    env = {k: os.environ.get(k) for k in ("CPATH", "C_INCLUDE_PATH", "GCC_EXEC_PREFIX",
                                          "COMPILER_PATH", "SOURCE_DATE_EPOCH")}
    blob = json.dumps([_CACHE_FORMAT, __version__, cmd, real, _stat(real), flags, source,
                       os.getcwd(), env])
    return hashlib.sha256(blob.encode()).hexdigest()


def _cache_load(key: str) -> "tuple[str, list[str]] | None":
    import json
    import os

    path = os.path.join(_cache_dir(), key[:2], key + ".json")
    try:
        with open(path, encoding="utf-8") as f:
            entry = json.load(f)
    except (OSError, ValueError):
        return None
    try:
        if any(_stat(p) != s for p, s in entry["files"]):  # a header changed: run again
            return None
        return entry["output"], entry["search_dirs"]
    except (KeyError, TypeError, ValueError):
        return None


def _cache_store(key: str, output: str, search_dirs: "list[str]",
                 files: "list[str]") -> None:
    import json
    import os
    import tempfile

    directory = os.path.join(_cache_dir(), key[:2])
    try:
        os.makedirs(directory, exist_ok=True)
        entry = {"files": [[p, _stat(p)] for p in files], "output": output,
                 "search_dirs": search_dirs}
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(entry, f)
        os.replace(tmp, os.path.join(directory, key + ".json"))
    except OSError:
        pass  # a read-only home: no cache, same result


def _search_dirs(stderr: str) -> "list[str]":
    import os

    dirs, inside = [], False
    for line in stderr.splitlines():
        if line.startswith("#include ") and "search starts here" in line:
            inside = True
        elif line.startswith("End of search list"):
            inside = False
        elif inside and line.startswith(" "):
            d = line.strip().removesuffix(" (framework directory)")
            dirs.append(os.path.normpath(os.path.abspath(d)))
    return dirs


def _run_preprocessor(cmd: "list[str]", flags: "list[str]", source: str,
                      what: str) -> "tuple[str, list[str]]":
    import subprocess

    full = [*cmd, "-E", "-dD", "-v", "-x", "c", *flags, "-"]
    try:
        proc = subprocess.run(full, input=source, capture_output=True, text=True,
                              errors="replace", timeout=300)
    except OSError as e:
        raise _error(f"running the preprocessor failed ({' '.join(full)}): {e}") from e
    if proc.returncode != 0:
        errors = [line for line in proc.stderr.splitlines()
                  if "error:" in line or "No such file" in line] or proc.stderr.splitlines()[-5:]
        hint = ""
        if any("No such file" in line for line in errors):
            hint = ("\n  is the library's -dev package installed, or does it need "
                    "include_dirs= or pkg_config=?")
        raise _error(f"preprocessing {what} failed (" + " ".join(full) + "):\n  " +
                     "\n  ".join(errors) + hint)
    return proc.stdout, _search_dirs(proc.stderr)


def preprocess(source: str, cc: "str | Sequence[str] | None" = None,
               flags: "Sequence[str]" = (), what: str = "the source"
               ) -> "tuple[str, list[str], bool]":
    """(output of ``cc -E -dD``, search dirs, from_cache) for the C text ``source``."""
    import os

    cmd = find_compiler(cc)
    flags = list(flags)
    use_cache = os.environ.get("CFFIX_HEADER_CACHE", "1") != "0"
    key = _cache_key(cmd, flags, source) if use_cache else None
    if key:
        hit = _cache_load(key)
        if hit:
            return hit[0], hit[1], True
    output, search_dirs = _run_preprocessor(cmd, flags, source, what)
    if key:
        from . import _core

        files = sorted({_unquote(m[2]) for m in _core.FFI._line_markers(output)
                        if not m[2].startswith("<")})
        _cache_store(key, output, search_dirs, files)
    return output, search_dirs, False


class _Preprocessed:
    """The stretches of lines of each file in the preprocessor's output (own or not),
    from its line markers; the parser takes the output as it is (header mode: it hands
    the #define lines back as macros)."""

    # Folders of a library's private parts (glibc's bits/): they belong to the header that
    # includes them (math.h declares cos in bits/mathcalls.h).
    PRIVATE = ("/bits/",)

    def __init__(self, output: str, search_dirs: "list[str]", user_dirs: "set[str]",
                 library_dirs: "set[str]") -> None:
        from . import _core

        self.named: "list[str]" = []  # files <stdin> includes directly: the headers named
        # Inclusion frames: (file, parent frame); a frame's own-ness is known once the
        # named headers are (after the walk): own file, or a private file of an own frame.
        frames = [("<stdin>", -1)]
        stack = [0]
        segments = []  # (first physical line, file, presumed line of that line, frame)
        for line, presumed, file, flags in _core.FFI._line_markers(output):
            if "\\" in file:
                file = _unquote(file)
            top = stack[-1]
            if " 1" in flags:  # entering an #include
                if frames[top][0] == "<stdin>" and file not in self.named:
                    self.named.append(file)
                frames.append((file, top))
                stack.append(len(frames) - 1)
            elif " 2" in flags and len(stack) > 1:  # back in the includer
                stack.pop()
            elif frames[top][0] != file:  # <built-in>, <command-line>
                frames.append((file, frames[top][1]))
                stack[-1] = len(frames) - 1
            segments.append((line + 1, file, presumed, stack[-1]))
        self.text = output
        self.nlines = output.count("\n") + 1
        self.is_own_file = is_own = _own_predicate(self.named, search_dirs, user_dirs,
                                                   library_dirs)
        own: "list[bool]" = []
        for file, parent in frames:  # parents come first
            private = parent >= 0 and own[parent] and any(p in file for p in self.PRIVATE)
            own.append(is_own(file) or private)
        self.segments = [(first, f, presumed, own[frame]) for first, f, presumed, frame
                         in segments]
        self.starts = [s[0] for s in self.segments]
        files: "dict[str, None]" = {}
        own_files: "dict[str, None]" = {}
        for _, f, _, o in self.segments:
            if not f.startswith("<"):
                files[f] = None
                if o:
                    own_files[f] = None
        self.files, self.own_files = list(files), list(own_files)

    def where(self, physical: int) -> "tuple[str, bool]":
        """('file:line', own) of a physical line of the text."""
        import bisect

        i = bisect.bisect_right(self.starts, physical) - 1
        if i < 0:
            return f"<stdin>:{physical}", True
        first, file, presumed, own = self.segments[i]
        return f"{file}:{presumed + physical - first}", own

    def file_line(self, physical: int) -> "tuple[str, int]":
        """(file, line) of a physical line of the text."""
        import bisect

        i = bisect.bisect_right(self.starts, physical) - 1
        if i < 0:
            return "<stdin>", physical
        first, file, presumed, _ = self.segments[i]
        return file, presumed + physical - first

    def own_lines(self) -> "list[tuple[int, int]]":
        """Sorted physical line ranges [first, last] of own text."""
        ranges: "list[tuple[int, int]]" = []
        for k, (first, _, _, own) in enumerate(self.segments):
            last = self.segments[k + 1][0] - 2 if k + 1 < len(self.segments) else self.nlines
            if own and last >= first:
                if ranges and ranges[-1][1] >= first - 2:
                    ranges[-1] = (ranges[-1][0], last)
                else:
                    ranges.append((first, last))
        return ranges


class _HelpersUnreported:
    """The report, minus the function-like macros given only to expand the others
    (UINT32_C in LZMA_VERSION): they are no constants of the library."""

    def __init__(self, report: HeaderReport, helpers: "set[str]") -> None:
        self.report, self.helpers = report, helpers

    def converted(self, name: str, value: Any) -> None:
        self.report.converted(name, value)

    def skipped_macro(self, name: str, reason: str) -> None:
        if name not in self.helpers:
            self.report.skipped_macro(name, reason)


def _unquote(name: str) -> str:
    return name.replace('\\"', '"').replace("\\\\", "\\") if "\\" in name else name


def _own_predicate(named: "list[str]", search_dirs: "list[str]", user_dirs: "set[str]",
                   library_dirs: "set[str]") -> "Callable[[str], bool]":
    """Whether a file (as line markers name it) belongs to the named headers' own tree."""
    import os

    files = {"<stdin>"}
    prefix_list: "list[str]" = [d + os.sep for d in library_dirs]
    for name in named:
        path = os.path.normpath(os.path.abspath(name))
        files.add(path)
        found = [d for d in search_dirs if path.startswith(d + os.sep)]
        if not found:  # named by its path: its folder
            prefix_list.append(os.path.dirname(path) + os.sep)
            continue
        base = max(found, key=len)
        rel = path[len(base) + 1:]
        folder = os.path.dirname(rel)
        if folder:  # <openssl/ssl.h>: openssl/ under every search dir (multiarch too)
            top = folder.split(os.sep)[0]
            prefix_list += [os.path.join(d, top) + os.sep for d in search_dirs]
        elif base in user_dirs:  # <glib.h> found through -I/usr/include/glib-2.0
            prefix_list.append(base + os.sep)
        else:  # <uv.h> in /usr/include: itself and a folder uv/ beside it
            stem = os.path.splitext(rel)[0]
            prefix_list += [os.path.join(d, stem) + os.sep for d in search_dirs]
    prefixes = tuple(prefix_list)
    cache: "dict[str, bool]" = {}

    def is_own(file: str) -> bool:
        own = cache.get(file)
        if own is None:
            if file.startswith("<"):
                own = file == "<stdin>"
            else:
                path = os.path.normpath(os.path.abspath(file))
                own = path in files or path.startswith(prefixes)
            cache[file] = own
        return own

    return is_own


def _name_filter(only: Any, exclude: Any) -> "Callable[[str], bool] | None":
    import re

    def matcher(spec: Any) -> "Callable[[str], Any] | None":
        if spec is None:
            return None
        if callable(spec):
            return spec  # type: ignore[no-any-return]
        patterns = [spec] if isinstance(spec, str) else list(spec)
        rx = re.compile("|".join(f"(?:{p})" for p in patterns))
        return lambda name: rx.match(name) is not None

    only_m, exclude_m = matcher(only), matcher(exclude)
    if only_m is None and exclude_m is None:
        return None
    return lambda name: ((only_m is None or bool(only_m(name))) and
                         not (exclude_m is not None and exclude_m(name)))


def _include_line(header: str) -> str:
    import os

    if os.path.isabs(header) or header.startswith(("./", "../")):
        return f'#include "{os.path.abspath(header)}"\n'
    return f"#include <{header}>\n"


def declare(ffi: Any, source: str, headers: "Sequence[str]", *,
            include_dirs: "Sequence[str]" = (), defines: "Mapping[str, Any] | None" = None,
            undefines: "Sequence[str]" = (), pkg_config: "str | Sequence[str] | None" = None,
            cc: "str | Sequence[str] | None" = None, cflags: "Sequence[str]" = (),
            only: Any = None, exclude: Any = None, macros: "str | None" = "own",
            strict: bool = False, override: bool = False, packed: bool = False,
            pack: "int | None" = None) -> HeaderReport:
    """The work of cdef_header() and cdef(preprocess=True): returns a HeaderReport."""
    if macros not in ("own", "all", None, False):
        raise ValueError(f"macros must be 'own', 'all' or None, not {macros!r}")
    flags = _flags(include_dirs, defines or {}, undefines, pkg_config, cflags)
    output, search_dirs, from_cache = preprocess(source, cc, flags, ", ".join(headers))
    # The include folders pkg-config gives are the library's own (glib's glibconfig.h).
    library_dirs = _user_dirs(_flags((), {}, (), pkg_config, ())) if pkg_config else set()
    pre = _Preprocessed(output, search_dirs, _user_dirs(flags), library_dirs)
    report = HeaderReport(tuple(headers))
    report.from_cache = from_cache
    report.files = pre.files
    report.own_files = pre.own_files
    keep = _name_filter(only, exclude)
    kept, skipped, renamed, inline, replay, macro_list = ffi._cdef_header(
        pre.text, pre.own_lines(), keep, bool(override), bool(packed), int(pack or 0))
    seen = set()
    for item in kept:
        if item not in seen:
            seen.add(item)
            report.kept.append(item)
    for name, reason, line in skipped:
        where, own = pre.where(line)
        if own and keep is not None and name and not keep(name):
            own = False
        (report.skipped if own else report.skipped_other).append((name or "?", reason, where))
    report.renamed = dict(renamed)
    report.inline = dict(inline)
    report.replay = replay
    ffi._cffix_state.setdefault("_cffix_history", []).append(
        ("cdef", replay, bool(override), bool(packed), None if pack is None else int(pack)))
    if macros:
        import bisect

        from . import _macros

        starts, segments, bisect_right = pre.starts, pre.segments, bisect.bisect_right
        chosen = []
        helpers: "set[str]" = set()  # function-like macros of other headers: used, not reported
        for name, body, line, own in macro_list:
            bare, function_like, _ = name.partition("(")  # a function-like one: F(a, b)
            if (macros == "own" and not own) or (keep is not None and not keep(bare)):
                if not function_like:
                    continue
                helpers.update((name, bare))  # (reported by either spelling)
            i = bisect_right(starts, line) - 1
            if i >= 0:
                first, file, presumed, _ = segments[i]
                line = presumed + line - first
            else:
                file = "<stdin>"
            if macros == "all" and file == "<built-in>":
                continue
            chosen.append((name, body, file, line))
        _macros.convert_macros(ffi, chosen, _HelpersUnreported(report, helpers))
    if strict and report.skipped:
        raise _error("cdef_header(strict=True): " + report.summary())
    return report
