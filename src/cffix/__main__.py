"""The cffix command line.

    python -m cffix pin z sqlite3    # the values to pin each library to, ready to paste
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


def main(argv: "list[str] | None" = None) -> int:
    """Run the command line with `argv` (sys.argv[1:] by default); the exit status."""
    parser = argparse.ArgumentParser(prog="python -m cffix", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    pin = commands.add_parser(
        "pin", help="print the sha256 and DT_SONAME to pin a library to in ffi.dlopen()",
        description="Find each library as a pinned ffi.dlopen() finds it (without loading "
                    "it) and print its path, sha256 and DT_SONAME, with a dlopen() line to "
                    "paste.")
    pin.add_argument("libraries", nargs="+", metavar="LIB",
                     help="a short name ('z'), a file name ('libz.so.1') or a path")
    args = parser.parse_args(argv)
    return _pin(args.libraries)


if __name__ == "__main__":
    sys.exit(main())
