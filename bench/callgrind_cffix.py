"""Instructions per cffix operation, counted by callgrind: the CData operations of
bench_cdata.py and the ABI-mode calls of bench_calls.py, for cffix alone, in whatever
interpreter runs this script (and so whatever cffix build it imports).

Made to compare two builds of cffix exactly, e.g. before and after a change that must
cost nothing (the free-threading support, csrc/util/ft.h, on the default GIL build):

    /path/to/venv-before/bin/python bench/callgrind_cffix.py > before.txt
    /path/to/venv-after/bin/python bench/callgrind_cffix.py > after.txt

Each figure is (long - short) / N for two child runs of N apart under callgrind: the
instructions of one operation, timeit's loop included (the same in both builds).

    python3 bench/callgrind_cffix.py [--n N] [--only cdata|calls]
"""

import argparse
import pathlib
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_calls as bc  # noqa: E402
import bench_cdata as bd  # noqa: E402
from callgrind_calls import ARGS, CHILD, instructions  # noqa: E402

CDATA_CHILD = r'''
import sys
sys.path.insert(0, {here!r})
import bench_cdata as bd
import cffix
ffi = cffix.FFI(); ffi.cdef(bd.CDEF)
ns = {{"ffi": ffi}}
stmt, setup = dict((label, ops["ffi"]) for label, _, ops in bd.OPS)[{label!r}]
setup(ns)
exec("def loop(n):\n    for _ in range(n): " + stmt + "\n", ns)
ns["loop"](1000)
ns["loop"]({n})
'''


def per_op(make_code, n):
    short = instructions(make_code(10_000))
    long_ = instructions(make_code(10_000 + n))
    return (long_ - short) / n


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000, help="operations measured")
    parser.add_argument("--only", choices=("cdata", "calls"))
    args = parser.parse_args(argv)
    print(f"instructions per operation (callgrind, {args.n:,} operations, loop included), "
          f"{sys.version.split()[0]} {sys.executable}")
    if args.only != "calls":
        for label, _, _ in bd.OPS:
            value = per_op(lambda n: CDATA_CHILD.format(here=str(HERE), label=label, n=n), args.n)
            print(f"  cdata  {label:<32}{value:>10.1f}")
    if args.only != "cdata":
        workdir = pathlib.Path(tempfile.mkdtemp(prefix="cffix_callgrind_"))
        bc.build_library(workdir)
        for engine in ("cffix", "cffix keep"):
            for fname, call_args in ARGS.items():
                fill = dict(here=str(HERE), workdir=str(workdir), engine=engine, fname=fname,
                            floor=None, api=None, cffix_api=None, args=call_args)
                value = per_op(lambda n: CHILD.format(n=n, **fill), args.n)
                print(f"  call   {engine + ' ' + fname:<32}{value:>10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
