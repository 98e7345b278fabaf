"""Wrapped functions (ffi.wrap / ffi.errors): what a declared shape costs over the bare
call, against the same shape written by hand in Python with cffix, cffi and ctypes.

Builds tests/clib/wrappers.c as libwrappers.so in a temporary directory and calls, in one
process, interleaved (minimum per-call time of several runs, process CPU time):

  * checked call that succeeds: ``status_t thing_fail(thing *, int)`` with 0, bare; wrapped
    with an error policy (``result != 0``, message ``thing_error(t)``); the same check in
    a hand-written Python wrapper (cffix, cffi ABI) and ctypes' ``errcheck``
  * out parameters: ``void void_out(int, long *)`` (one out) and ``int quot_rem(int, int,
    int *, int *)`` (two outs, checked with minus1_errno): bare with preallocated outs;
    wrapped (outs in the call's frame); cffi's ``ffi.new`` per call plus the reads;
    ctypes' ``c_long()`` + ``byref`` plus the reads
  * a failure with message and exception: ``thing_fail(t, 7)`` raising, caught by
    ``try/except`` (wrapped; hand-written Python with cffi)

Ratios: ``checked/bare`` (goal <= 1.05), ``python wrapper/bare`` (50-100% over is what
hand-written wrappers cost), per-out nanoseconds over the bare call (goal <= 5 ns),
failure time (goal <= 2 us). Nothing is asserted.

With ``--callgrind``, instead counts instructions per call under valgrind (a stable figure
on a shared machine): bare, checked, outs.

    python3 bench/bench_wrappers.py [--repeat N] [--target-ms MS] [--callgrind]
"""

import argparse
import ctypes
import os
import pathlib
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import timeit
from callgrind_calls import instructions  # the one callgrind runner

HERE = pathlib.Path(__file__).resolve().parent
WRAPPERS_C = HERE.parent / "tests" / "clib" / "wrappers.c"

CDEF = """
    typedef int status_t;
    typedef struct thing thing;
    thing *thing_new(int id);
    void thing_destroy(thing *t);
    status_t thing_fail(thing *t, int code);
    const char *thing_error(const thing *t);
    int quot_rem(int a, int b, int *q, int *r);
    void void_out(int x, long *out);
"""


def build_library(workdir):
    cc = shlex.split(os.environ.get("CC", "")) or [shutil.which("cc") or "cc"]
    out = workdir / "libwrappers.so"
    subprocess.run([*cc, "-shared", "-fPIC", "-O2", "-o", str(out), str(WRAPPERS_C)],
                   check=True)
    return out


class ThingError(Exception):
    pass


def cffix_namespace(path):
    import cffix

    ffi = cffix.FFI()
    ffi.cdef(CDEF)
    lib = ffi.dlopen(str(path))
    # Function objects fetched before a wrap() keep their (bare) shape.
    bare = type("Bare", (), {n: getattr(lib, n) for n in
                             ("thing_new", "thing_fail", "thing_error", "void_out", "quot_rem")})
    ffi.wrap("thing_fail", errors=ffi.errors("result != 0", message="thing_error(t)",
                                             raises=ThingError))
    ffi.wrap("void_out", out="out")
    ffi.wrap("quot_rem", errors="minus1_errno", out=["q", "r"])
    wrapped = lib
    t = bare.thing_new(1)
    raw_fail, raw_error = bare.thing_fail, bare.thing_error

    def py_fail(t, code):
        r = raw_fail(t, code)
        if r != 0:
            raise ThingError(ffi.string(raw_error(t)).decode())
        return r

    return {
        "t": t, "bare_fail": bare.thing_fail, "checked_fail": wrapped.thing_fail,
        "py_fail": py_fail, "bare_void_out": bare.void_out, "out1": ffi.new("long *"),
        "wrapped_void_out": wrapped.void_out, "bare_divide": bare.quot_rem,
        "q": ffi.new("int *"), "r": ffi.new("int *"), "wrapped_divide": wrapped.quot_rem,
        "ThingError": ThingError,
    }


def cffi_namespace(path):
    import cffi

    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    lib = ffi.dlopen(str(path))
    t = lib.thing_new(1)
    raw_fail, raw_error, raw_divide, raw_void_out = (lib.thing_fail, lib.thing_error,
                                                     lib.quot_rem, lib.void_out)
    new = ffi.new

    def py_fail(t, code):
        r = raw_fail(t, code)
        if r != 0:
            raise ThingError(ffi.string(raw_error(t)).decode())
        return r

    def py_void_out(x):
        out = new("long *")
        raw_void_out(x, out)
        return out[0]

    def py_divide(a, b):
        q, r = new("int *"), new("int *")
        if raw_divide(a, b, q, r) == -1:
            e = ffi.errno
            raise OSError(e, os.strerror(e))
        return q[0], r[0]

    return {"t": t, "bare_fail": raw_fail, "py_fail": py_fail, "py_void_out": py_void_out,
            "py_divide": py_divide, "ThingError": ThingError}


def ctypes_namespace(path):
    c = ctypes
    lib = c.CDLL(str(path), use_errno=True)
    lib.thing_new.restype = c.c_void_p
    lib.thing_new.argtypes = [c.c_int]
    lib.thing_error.restype = c.c_char_p
    lib.thing_error.argtypes = [c.c_void_p]
    fail = lib.thing_fail
    fail.argtypes, fail.restype = [c.c_void_p, c.c_int], c.c_int

    def errcheck(result, func, args):
        if result != 0:
            raise ThingError(lib.thing_error(args[0]).decode())
        return result

    checked = c.CFUNCTYPE(c.c_int, c.c_void_p, c.c_int)(("thing_fail", lib))
    checked.errcheck = errcheck
    void_out = lib.void_out
    void_out.argtypes, void_out.restype = [c.c_int, c.POINTER(c.c_long)], None

    def py_void_out(x):
        out = c.c_long()
        void_out(x, c.byref(out))
        return out.value

    return {"t": lib.thing_new(1), "bare_fail": fail, "checked_fail": checked,
            "py_void_out": py_void_out, "ThingError": ThingError}


FAILURE = ("try:\n    checked_fail(t, 7)\nexcept ThingError:\n    pass")
PY_FAILURE = ("try:\n    py_fail(t, 7)\nexcept ThingError:\n    pass")

# (row, engine, statement)
ROWS = [
    ("thing_fail(t, 0): bare", "cffix", "bare_fail(t, 0)"),
    ("thing_fail(t, 0): checked (ffi.wrap)", "cffix", "checked_fail(t, 0)"),
    ("thing_fail(t, 0): Python wrapper", "cffix", "py_fail(t, 0)"),
    ("thing_fail(t, 0): bare", "cffi ABI", "bare_fail(t, 0)"),
    ("thing_fail(t, 0): Python wrapper", "cffi ABI", "py_fail(t, 0)"),
    ("thing_fail(t, 0): bare", "ctypes", "bare_fail(t, 0)"),
    ("thing_fail(t, 0): errcheck", "ctypes", "checked_fail(t, 0)"),
    ("void_out(3, &out): bare, out given", "cffix", "bare_void_out(3, out1)"),
    ("void_out(3): 1 out (ffi.wrap)", "cffix", "wrapped_void_out(3)"),
    ("void_out(3): ffi.new + read", "cffi ABI", "py_void_out(3)"),
    ("void_out(3): c_long + byref + read", "ctypes", "py_void_out(3)"),
    ("quot_rem(17, 5, &q, &r): bare, outs given", "cffix", "bare_divide(17, 5, q, r)"),
    ("quot_rem(17, 5): 2 outs, checked (ffi.wrap)", "cffix", "wrapped_divide(17, 5)"),
    ("quot_rem(17, 5): 2 x ffi.new + check + reads", "cffi ABI", "py_divide(17, 5)"),
    ("failure: message + exception (ffi.wrap)", "cffix", FAILURE),
    ("failure: Python wrapper", "cffi ABI", PY_FAILURE),
]


def measure(rows, namespaces, repeat, target_ms):
    timers = []
    for label, engine, stmt in rows:
        ns = namespaces.get(engine)
        if ns is None:
            timers.append(None)
            continue
        timer = timeit.Timer(stmt, globals=ns, timer=time.process_time)
        number, _ = timer.autorange()
        number = max(1, int(number * target_ms / 200))
        timers.append((timer, number))
    best = [float("inf")] * len(rows)
    for _ in range(repeat):
        for i, entry in enumerate(timers):  # interleaved: every row once per round
            if entry is None:
                continue
            timer, number = entry
            best[i] = min(best[i], timer.timeit(number) / number)
    return best


def report(rows, best):
    ns = {(label, engine): t * 1e9 for (label, engine, _), t in zip(rows, best)}
    print(f"{'call':<46}{'engine':<10}{'ns/call':>10}")
    for (label, engine, _), t in zip(rows, best):
        shown = "n/a" if t == float("inf") else f"{t * 1e9:.1f}"
        print(f"{label:<46}{engine:<10}{shown:>10}")

    def get(label, engine="cffix"):
        return ns.get((label, engine))

    bare = get("thing_fail(t, 0): bare")
    print("\nratios (cffix):")
    print(f"  checked / bare               {get('thing_fail(t, 0): checked (ffi.wrap)') / bare:.3f}"
          "   (goal <= 1.05)")
    print(f"  Python wrapper / bare        {get('thing_fail(t, 0): Python wrapper') / bare:.3f}"
          "   (hand-written: 1.5-2)")
    one = get("void_out(3): 1 out (ffi.wrap)") - get("void_out(3, &out): bare, out given")
    two = (get("quot_rem(17, 5): 2 outs, checked (ffi.wrap)")
           - get("quot_rem(17, 5, &q, &r): bare, outs given")) / 2
    print(f"  ns per out over the bare call: 1 out {one:+.1f}, 2 outs {two:+.1f} each"
          "   (goal <= 5 ns)")
    cffi_out = get("void_out(3): ffi.new + read", "cffi ABI") - get(
        "thing_fail(t, 0): bare", "cffi ABI")
    print(f"  cffi: ffi.new + read over its bare call: {cffi_out:+.1f} ns")
    print(f"  failure with message and exception: {get('failure: message + exception (ffi.wrap)'):.0f} ns"
          "   (goal <= 2000)")


# ------------------------------------------------------------------------------ callgrind

CHILD = r'''
import sys
sys.path.insert(0, {here!r})
import bench_wrappers as bw
ns = bw.cffix_namespace({path!r})
exec("def loop(n):\n    for _ in range(n):\n        " + {stmt!r}.replace("\n", "\n        ") + "\n", ns)
ns["loop"](1000)
ns["loop"]({n})
'''


def callgrind(path, calls):
    print(f"instructions per call (callgrind; {calls:,} calls, loop included)")
    for label, engine, stmt in ROWS:
        if engine != "cffix":
            continue
        fill = dict(here=str(HERE), path=str(path), stmt=stmt)
        short = instructions(CHILD.format(n=10_000, **fill))
        long_ = instructions(CHILD.format(n=10_000 + calls, **fill))
        print(f"  {label:<46}{(long_ - short) / calls:>8.0f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--target-ms", type=float, default=100)
    parser.add_argument("--callgrind", action="store_true")
    parser.add_argument("--calls", type=int, default=50_000)
    args = parser.parse_args(argv)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="cffix_bench_wrappers_"))
    path = build_library(workdir)
    if args.callgrind:
        callgrind(path, args.calls)
        return 0
    namespaces = {"cffix": cffix_namespace(path), "ctypes": ctypes_namespace(path)}
    try:
        namespaces["cffi ABI"] = cffi_namespace(path)
    except ImportError:
        print("cffi not installed: its rows are skipped")
    best = measure(ROWS, namespaces, args.repeat, args.target_ms)
    report(ROWS, best)
    return 0


if __name__ == "__main__":
    sys.exit(main())
