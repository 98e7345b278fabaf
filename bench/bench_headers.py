"""cdef_header("openssl/ssl.h") end to end, against the preprocessor's own time and cffi.

Measures, keeping the minimum of several runs:

  * ``cc -E -dD`` of the header alone (the floor: cdef_header runs it once),
  * ``FFI().cdef_header(header)`` with the preprocessor cache off (CFFIX_HEADER_CACHE=0):
    the preprocessor, splitting its output, parsing and declaring, macros included,
  * the same with the cache warm (a second process's cost: no preprocessor run),
  * cffi's ``FFI().cdef()`` of the same preprocessed text (``cc -E -P``), when cffi can
    take it at all (it stops at the first construct pycparser or cffi refuses: reported).

It prints a table and the ratio to the preprocessor (the goal is under 3x); it never
asserts anything about timings.

    python3 bench/bench_headers.py [--header openssl/ssl.h] [--repeat N] [--quick]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time


def best_of(repeat, fn):
    best = float("inf")
    result = None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--header", default="openssl/ssl.h")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one run each (a smoke test)")
    args = parser.parse_args()
    if args.quick:
        args.repeat = 1

    import cffix

    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    source = f"#include <{args.header}>\n"

    def preprocess(*flags):
        return subprocess.run([cc, "-E", *flags, "-x", "c", "-"], input=source,
                              capture_output=True, text=True, check=True).stdout

    t_cpp, _ = best_of(args.repeat, lambda: preprocess("-dD"))

    os.environ["CFFIX_HEADER_CACHE"] = "0"
    t_cold, report = best_of(args.repeat, lambda: cffix.FFI().cdef_header(args.header))
    with tempfile.TemporaryDirectory() as cache:
        os.environ["XDG_CACHE_HOME"] = cache
        os.environ["CFFIX_HEADER_CACHE"] = "1"
        cffix.FFI().cdef_header(args.header)  # fills the cache
        t_warm, _ = best_of(args.repeat, lambda: cffix.FFI().cdef_header(args.header))

    rows = [("cc -E -dD alone", t_cpp, ""),
            ("cffix cdef_header (no cache)", t_cold, f"{t_cold / t_cpp:.2f}x the preprocessor"),
            ("cffix cdef_header (cache warm)", t_warm, f"{t_warm / t_cpp:.2f}x the preprocessor")]
    try:
        import cffi
    except ImportError:
        rows.append(("cffi cdef of cc -E -P", None, "cffi is not installed"))
    else:
        text = preprocess("-P")
        try:
            t_cffi, _ = best_of(max(1, args.repeat // 2), lambda: cffi.FFI().cdef(text))
            rows.append(("cffi cdef of cc -E -P", t_cffi, f"{t_cffi / t_cold:.1f}x cffix"))
        except Exception as e:  # noqa: BLE001 - the point is to report what cffi says
            first = str(e).strip().splitlines()[0][:90]
            rows.append(("cffi cdef of cc -E -P", None, f"refused: {type(e).__name__}: {first}"))

    print(f"{args.header}: {len(report.kept)} declarations kept, "
          f"{len(report.macros)} macros converted, {len(report.skipped)} skipped")
    for name, seconds, note in rows:
        shown = f"{seconds * 1000:8.1f} ms" if seconds is not None else "       -   "
        print(f"  {name:34} {shown}  {note}")
    ratio = t_cold / t_cpp
    print(f"end to end / preprocessor: {ratio:.2f}x (goal < 3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
