"""Instructions per ABI-mode call, counted by valgrind's callgrind: a stable figure where
wall-clock times on a shared machine vary by tens of percent.

For each engine and function, runs a child interpreter under callgrind twice (a short
and a long loop of calls to the bound function, with constant arguments) and prints
(long - short) / (difference in calls): the instructions of one call, the loop's own
included (the same for every engine). Engines: cffix (GIL released, and kept), the
hand-written floor (both GIL policies), cffix's API mode, cffi's API mode (both built as
bench_calls.py builds them) and cffi's ABI mode.

    python3 bench/callgrind_calls.py [--calls N] [--functions add,noop,...]
"""

import argparse
import os
import pathlib
import re
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_calls as bc  # noqa: E402

ARGS = {
    "add": "1, 2", "noop": "", "add_double": "1.5, 2.5", "sum_bytes": "data, 64",
    "dd_weighted": "s", "mix6": "1, 2.0, 3, 4.0, 5, 6.0",
}

CHILD = r'''
import importlib.util, pathlib, sys
sys.path.insert(0, {here!r})
import bench_calls as bc
wd = pathlib.Path({workdir!r})
engine, fname, n = {engine!r}, {fname!r}, {n}
data = b"x" * 64
if engine in ("cffix", "cffix keep"):
    import cffix
    ffi = cffix.FFI(); ffi.cdef(bc.CDEF)
    lib = ffi.dlopen(str(wd / "libcalls.so"), release_gil=(engine == "cffix"))
    f = getattr(lib, fname); s = ffi.new("struct dd *", [1.5, 2.5])[0]
elif engine.startswith("floor"):
    floor = bc.load_module("floor", pathlib.Path({floor!r}))
    f = getattr(floor, fname + ("_release" if engine == "floor" else "")); s = bytes(16)
elif engine == "cffi ABI":
    import cffi
    ffi = cffi.FFI(); ffi.cdef(bc.CDEF)
    lib = ffi.dlopen(str(wd / "libcalls.so"))
    f = getattr(lib, fname); s = ffi.new("struct dd *", [1.5, 2.5])[0]
elif engine == "cffix API":
    mod = bc.load_module("_bench_calls_cffix_api", pathlib.Path({cffix_api!r}))
    f = getattr(mod.lib, fname); s = mod.ffi.new("struct dd *", [1.5, 2.5])[0]
else:
    mod = bc.load_module("_bench_calls_cffi_api", pathlib.Path({api!r}))
    f = getattr(mod.lib, fname); s = mod.ffi.new("struct dd *", [1.5, 2.5])[0]
exec("def loop(n):\n    for _ in range(n): f({args})\n", globals())
loop(1000)
loop(n)
'''


def instructions(code):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        proc = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                               sys.executable, "-c", code], capture_output=True, text=True)
        m = re.search(r"Collected : (\d+)", proc.stderr)
        if proc.returncode != 0 or not m:
            raise RuntimeError(proc.stderr[-2000:])
        return int(m.group(1))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--functions", default=",".join(ARGS))
    args = parser.parse_args(argv)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="cffix_callgrind_"))
    bc.build_library(workdir)
    floor = bc.build_floor(workdir).__file__
    engines = ["cffix", "cffix keep", "floor", "floor keep", "cffix API"]
    cffix_api = bc.build_cffix_api(workdir).__file__
    try:
        api = bc.build_cffi_api(workdir).__file__
        engines += ["cffi API", "cffi ABI"]
    except Exception as exc:  # no cffi, or no compiler for it
        print(f"cffi API skipped: {exc}")
        api = None
    fnames = [f for f in args.functions.split(",") if f]
    print(f"instructions per call (callgrind; {args.calls:,} calls, loop included)")
    print(f"{'call':<14}" + "".join(f"{e:>12}" for e in engines))
    for fname in fnames:
        row = []
        for engine in engines:
            fill = dict(here=str(HERE), workdir=str(workdir), engine=engine, fname=fname,
                        floor=floor, api=api, cffix_api=cffix_api, args=ARGS[fname])
            short = instructions(CHILD.format(n=10_000, **fill))
            long_ = instructions(CHILD.format(n=10_000 + args.calls, **fill))
            row.append((long_ - short) / args.calls)
        print(f"{fname:<14}" + "".join(f"{v:>12.0f}" for v in row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
