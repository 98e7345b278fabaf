"""The cffix command line.

    python -m cffix pin z sqlite3                 # the values to pin libraries to, to paste
    python -m cffix stubgen _mymod -o typings     # .pyi stubs of a generated module
    python -m cffix check api.cdef                # what a cdef declares: layouts, signatures
    python -m cffix layout "struct tm" --header time.h   # cffix's layout next to cc's

Exit status: 0 success; 1 what the command looks for failed (a cdef error for check, a
layout mismatch for layout, a stub that cannot be made); 2 bad usage or input (argparse's
own errors too).
"""

import argparse
import sys

from . import _core


def _pin(names: "list[str]") -> int:
    """Print, for each library, its resolved path, sha256 and DT_SONAME, then a dlopen()
    line that pins it to them. Nothing is loaded. Returns the exit status."""
    status = 0
    for i, name in enumerate(names):
        try:
            facts = _core.describe_library(name)
        except OSError as exc:
            print(f"cffix pin: {name}: {exc}", file=sys.stderr)
            status = 1
            continue
        if i:
            print()
        pins = f"sha256={facts['sha256']!r}"
        if facts["soname"] is not None:
            pins += f", soname={facts['soname']!r}"
        print(f"# {name}")
        print(f"#   path:   {facts['path']}")
        print(f"#   sha256: {facts['sha256']}")
        print(f"#   soname: {facts['soname'] if facts['soname'] is not None else '(none)'}")
        print(f"lib = ffi.dlopen({name!r}, {pins})")
    return status


def _read_text(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise _UsageError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise _UsageError(f"{path}: not UTF-8 text ({exc.reason})") from None


class _UsageError(Exception):
    """Bad input to a command: exit status 2, one message."""


# What cdef() raises for a bad declaration (CDefError; FFIError for a redeclaration...).
_DECLARATION_ERRORS = (_core.CDefError, _core.FFIError, _core.VerificationError,
                       _core.VerificationMissing, ValueError, TypeError, OverflowError,
                       NotImplementedError)


def _cdef_error(path: str, exc: Exception) -> str:
    """A CDefError as `FILE:LINE:COLUMN: message` lines (its notes: the reason, the line)."""
    where = "<stdin>" if path == "-" else path
    text = str(exc).replace("<cdef source string>", where)
    if not isinstance(exc, _core.CDefError):
        text = f"{type(exc).__name__}: {text}"
    if where not in text:
        text = f"{where}: {text}"
    notes = getattr(exc, "__notes__", None) or []
    return "\n".join([f"cffix check: error: {text}", *notes])


def _check(args: argparse.Namespace) -> int:
    from . import describe
    from .api import FFI

    ffi = FFI()
    if args.header:
        try:
            ffi.cdef_header(args.file, include_dirs=tuple(args.include_dirs))
        except _DECLARATION_ERRORS as exc:
            print(_cdef_error(args.file, exc), file=sys.stderr)
            return 1
    else:
        text = _read_text(args.file)
        try:
            ffi.cdef(text)
        except _DECLARATION_ERRORS as exc:
            print(_cdef_error(args.file, exc), file=sys.stderr)
            if "#include" in text or "#if" in text:
                print("hint: this is cdef text, where #include and #if are not taken: for a "
                      "C header, use --header", file=sys.stderr)
            return 1
    sys.stdout.write(describe.describe(ffi))
    return 0


def _layout(args: argparse.Namespace) -> int:
    from . import describe
    from .api import FFI

    ffi = FFI()
    if args.cdef:
        ffi.cdef(_read_text(args.cdef))
    else:
        describe.load_headers(ffi, args.headers, args.include_dirs)
    text, ok = describe.layout_table(ffi, args.type, args.headers, args.include_dirs)
    sys.stdout.write(text)
    return 0 if ok else 1


def _stubgen(args: argparse.Namespace) -> int:
    from . import stubgen

    status = 0
    for target in args.targets:
        try:
            path = stubgen.write_stub(target, args.output)
        except stubgen.StubError as exc:
            print(f"cffix stubgen: error: {exc}", file=sys.stderr)
            status = 1
            continue
        print(path)
    return status


def _parser() -> argparse.ArgumentParser:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(
        prog="python -m cffix", description=doc.splitlines()[0],
        epilog=doc[doc.index("Exit status"):], formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    pin = commands.add_parser(
        "pin", help="print the sha256 and DT_SONAME to pin a library to in ffi.dlopen()",
        description="Find each library as a pinned ffi.dlopen() finds it (without loading "
                    "it) and print its path, sha256 and DT_SONAME, with a dlopen() line to "
                    "paste.")
    pin.add_argument("libraries", nargs="+", metavar="LIB",
                     help="a short name ('z'), a file name ('libz.so.1') or a path")
    pin.set_defaults(run=lambda args: _pin(args.libraries))

    stub = commands.add_parser(
        "stubgen", help="write .pyi type stubs of an API-mode or out-of-line module",
        description="Write MODULE.pyi, typing the module's `lib` (functions with their "
                    "C types as Python types, constants, globals, the shapes ffi.wrap "
                    "gives) and `ffi` (for an out-of-line module, ffi.dlopen() returns that "
                    "lib). A target is an importable module generated by cffix, or a build "
                    "script (a path ending in .py: its FFI named `ffibuilder`, or "
                    "script.py:NAME), which is run without __name__ == '__main__'. Prints "
                    "the path of each stub written.")
    stub.add_argument("targets", nargs="+", metavar="MODULE_OR_BUILD_SCRIPT")
    stub.add_argument("-o", "--output", default=".", metavar="DIR",
                      help="where to write the stubs (a dotted module name makes folders; "
                           "default: the current folder)")
    stub.set_defaults(run=_stubgen)

    check = commands.add_parser(
        "check", help="parse a cdef and print what it declares",
        description="Parse FILE (cdef text; - reads standard input) and print each struct "
                    "and union with its size, alignment and the offset and size of each "
                    "field, the typedefs, enums, function signatures, global variables and "
                    "constants. A declaration error is printed as FILE:LINE:COLUMN with "
                    "the offending text, exit status 1.")
    check.add_argument("file", metavar="FILE", help="a cdef text file, or - for stdin")
    check.add_argument("--header", action="store_true",
                       help="FILE is a C header, read with ffi.cdef_header()")
    check.add_argument("-I", dest="include_dirs", action="append", default=[],
                       metavar="DIR", help="an include folder (with --header)")
    check.set_defaults(run=_check)

    layout = commands.add_parser(
        "layout", help="print a type's layout next to the C compiler's",
        description="Print the size, alignment and each field's offset and size of TYPE as "
                    "cffix lays it out and as the C compiler does (a program compiled with "
                    "$CC, else cc, including the headers), with ok or MISMATCH on each "
                    "line; exit status 1 on a mismatch. The declarations come from the "
                    "headers (ffi.cdef_header()), or from --cdef FILE.")
    layout.add_argument("type", metavar="TYPE", help='a type: "struct tm", a typedef name...')
    layout.add_argument("--header", dest="headers", action="append", required=True,
                        metavar="HEADER", help="a header the type is declared in (repeatable): "
                                               "a path, or a name as in #include <...>")
    layout.add_argument("-I", dest="include_dirs", action="append", default=[],
                        metavar="DIR", help="an include folder")
    layout.add_argument("--cdef", metavar="FILE",
                        help="take cffix's declarations from this cdef text instead")
    layout.set_defaults(run=_layout)
    return parser


def main(argv: "list[str] | None" = None) -> int:
    """Run the command line with `argv` (sys.argv[1:] by default); the exit status."""
    from . import describe

    args = _parser().parse_args(argv)
    try:
        status: int = args.run(args)
        return status
    except _UsageError as exc:
        print(f"cffix {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except describe.CommandError as exc:
        print(f"cffix {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except _DECLARATION_ERRORS as exc:
        print(f"cffix {args.command}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    except (OSError, ImportError) as exc:
        print(f"cffix {args.command}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
