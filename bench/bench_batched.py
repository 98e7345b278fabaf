"""Batched calls: cffix's f.map over arrays against a C loop and Python loops of calls.

Calls the same C functions once per item of an array, in one process, interleaved,
keeping the minimum per-item time of several runs:

  * ``double sin(double)`` (libm) over 100,000 doubles
  * ``double pow(double, double)`` (libm) with the exponent 0.5 for every item
  * ``double ldexp(double, int)`` (libm) over doubles and ints
  * ``double add_double(double, double)`` and ``int add(int, int)`` (tests/clib/calls.c,
    built here): functions that do almost nothing, where the per-item overhead shows
  * ``add_double`` and ``add`` checked: wrapped with an error policy (``ffi.wrap(errors=
    ffi.errors("result < 0"))``) that map evaluates after each item's call (for ``add``
    the quick form ``result OP integer``, tested inline; for the double result the
    policy's op list); the Python loops check each result in a hand-written wrapper, the
    C loop does not check

The engines:

  C loop         bench/floor/floor_batched.c, built here with cc: a loop calling the
                 function through a pointer (its address given at run time), the GIL
                 released once: the floor of any batched call
  cffix map      lib.f.map(x, ...): a new cdata array of results per batch
  cffix map out  lib.f.map(x, ..., out=o): into a preallocated array.array
  cffix loop     [f(v) for v in xs]: a Python loop of ordinary cffix calls over a list
  cffi loop      the same loop with cffi's ABI mode (ffi.dlopen)
  ctypes loop    the same loop with ctypes (argtypes and restype set)

Arrays are array.array (map takes any buffer; NumPy arrays behave the same). Loops run
over --loop-items items (a list of Python numbers), batches over --items. Times are per
item, process CPU time by default (`--timer wall` for the wall clock). Ratios:
`map/C` (goal: at most 2), `loop/map` for each FFI's loop (goal for cffix's: at least
20), and `cffix loop/C`, the most `cffix loop/map` can be: for a function that itself
takes longer than a few nanoseconds (sin, pow), a loop of cffix calls is less than 20x
the C loop, and the goal cannot be met by any batched call. Nothing is asserted.

`--callgrind` counts instructions per item instead (valgrind's callgrind: the
difference of 3 batches and 1 batch in a child interpreter, divided by the items) for the
C loop, `map(out=)` and the policy row's `map(out=)`: a figure that does not move with
the machine's load.

    python3 bench/bench_batched.py [--repeat N] [--quick] [--items N] [--timer wall]
    python3 bench/bench_batched.py --callgrind [--items N]
"""

import argparse
import array
import ctypes
import ctypes.util
import importlib.util
import math
import os
import pathlib
import platform
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import timeit
from callgrind_calls import instructions  # the one callgrind runner

HERE = pathlib.Path(__file__).resolve().parent
CALLS_C = HERE.parent / "tests" / "clib" / "calls.c"
FLOOR_C = HERE / "floor" / "floor_batched.c"
LIBM = ctypes.util.find_library("m") or "libm.so.6"

LIBM_CDEF = "double sin(double x); double pow(double x, double y); double ldexp(double x, int e);"
CALLS_CDEF = "int add(int a, int b); double add_double(double a, double b);"

ENGINES = ["C loop", "cffix map", "cffix map out", "cffix loop", "cffi loop", "ctypes loop"]
GOAL_MAP_OVER_C = 2.0
GOAL_LOOP_OVER_MAP = 20.0


# ------------------------------------------------------------------------------ building

def c_compiler():
    return shlex.split(os.environ.get("CC", "")) or [shutil.which("cc") or "cc"]


def run(cmd, what):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({shlex.join(cmd)}):\n{proc.stderr}")


def build(workdir):
    lib = workdir / "libcalls.so"
    run([*c_compiler(), "-shared", "-fPIC", "-O2", "-o", str(lib), str(CALLS_C)],
        "building libcalls.so")
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    floor_path = workdir / f"floor_batched{suffix}"
    include = sysconfig.get_paths()["include"]
    run([*c_compiler(), "-shared", "-fPIC", "-O2", f"-I{include}", "-o", str(floor_path),
         str(FLOOR_C)], "building floor_batched.c")
    spec = importlib.util.spec_from_file_location("floor_batched", floor_path)
    floor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(floor)
    return lib, floor


# ------------------------------------------------------------------------------ cases

def cases(n, n_loop, calls_path, floor):
    """[(label, items per batch, {engine: callable})]: each callable does one batch (or
    one Python loop over n_loop items), and returns its result for the sanity check."""
    import cffix

    fx = cffix.FFI()
    fx.cdef(LIBM_CDEF + CALLS_CDEF)
    m, c = fx.dlopen(LIBM), fx.dlopen(str(calls_path))
    try:
        import cffi

        fi = cffi.FFI()
        fi.cdef(LIBM_CDEF + CALLS_CDEF)
        cm, cc = fi.dlopen(LIBM), fi.dlopen(str(calls_path))
    except ImportError:
        cm = cc = None
    tm, tc = ctypes.CDLL(LIBM), ctypes.CDLL(str(calls_path))
    D, I = ctypes.c_double, ctypes.c_int
    for f, args, res in ((tm.sin, [D], D), (tm.pow, [D, D], D), (tm.ldexp, [D, I], D),
                         (tc.add_double, [D, D], D), (tc.add, [I, I], I)):
        f.argtypes, f.restype = args, res

    def addr(f):
        return ctypes.cast(f, ctypes.c_void_p).value

    x = array.array("d", (i * 0.001 for i in range(n)))
    e = array.array("i", (i % 40 - 20 for i in range(n)))
    a = array.array("i", range(n))
    xs, es, as_ = x.tolist()[:n_loop], e.tolist()[:n_loop], a.tolist()[:n_loop]
    out_d, out_i = array.array("d", bytes(8 * n)), array.array("i", bytes(4 * n))
    table = []

    def row(label, floor_call, fmap, fmap_out, loops):
        engines = {"C loop": floor_call, "cffix map": fmap, "cffix map out": fmap_out}
        for name, loop in loops.items():
            if loop is not None:
                engines[name] = loop
        table.append((label, engines))

    sin_c, sin_i, sin_t = m.sin, cm.sin if cm else None, tm.sin
    row("sin(x)",
        lambda: floor.d_d(addr(tm.sin), x, out_d),
        lambda: sin_c.map(x), lambda: sin_c.map(x, out=out_d),
        {"cffix loop": lambda: [sin_c(v) for v in xs],
         "cffi loop": sin_i and (lambda: [sin_i(v) for v in xs]),
         "ctypes loop": lambda: [sin_t(v) for v in xs]})
    pow_c, pow_i, pow_t = m.pow, cm.pow if cm else None, tm.pow
    row("pow(x, 0.5)",
        lambda: floor.dd_d(addr(tm.pow), x, 0.5, out_d),
        lambda: pow_c.map(x, 0.5), lambda: pow_c.map(x, 0.5, out=out_d),
        {"cffix loop": lambda: [pow_c(v, 0.5) for v in xs],
         "cffi loop": pow_i and (lambda: [pow_i(v, 0.5) for v in xs]),
         "ctypes loop": lambda: [pow_t(v, 0.5) for v in xs]})
    ld_c, ld_i, ld_t = m.ldexp, cm.ldexp if cm else None, tm.ldexp
    pairs = list(zip(xs, es))
    row("ldexp(x, e)",
        lambda: floor.di_d(addr(tm.ldexp), x, e, out_d),
        lambda: ld_c.map(x, e), lambda: ld_c.map(x, e, out=out_d),
        {"cffix loop": lambda: [ld_c(v, k) for v, k in pairs],
         "cffi loop": ld_i and (lambda: [ld_i(v, k) for v, k in pairs]),
         "ctypes loop": lambda: [ld_t(v, k) for v, k in pairs]})
    ad_c, ad_i, ad_t = c.add_double, cc.add_double if cc else None, tc.add_double
    row("add_double(x, 1.0)",
        lambda: floor.dd_d(addr(tc.add_double), x, 1.0, out_d),
        lambda: ad_c.map(x, 1.0), lambda: ad_c.map(x, 1.0, out=out_d),
        {"cffix loop": lambda: [ad_c(v, 1.0) for v in xs],
         "cffi loop": ad_i and (lambda: [ad_i(v, 1.0) for v in xs]),
         "ctypes loop": lambda: [ad_t(v, 1.0) for v in xs]})
    fw = cffix.FFI()  # the same library, add_double wrapped with an error policy
    fw.cdef(CALLS_CDEF)
    fw.wrap("add_double", errors=fw.errors("result < 0", raises=ValueError))
    fw.wrap("add", errors=fw.errors("result < 0", raises=ValueError))  # a quick policy
    wrapped = fw.dlopen(str(calls_path))
    chk_c, chk_add = wrapped.add_double, wrapped.add

    def checked(f):
        def call(v):
            r = f(v, 1.0)
            if r < 0:
                raise ValueError(r)
            return r
        return call

    chk_i, chk_t = checked(ad_i) if ad_i else None, checked(ad_t)
    row("add_double checked",
        lambda: floor.dd_d(addr(tc.add_double), x, 1.0, out_d),
        lambda: chk_c.map(x, 1.0), lambda: chk_c.map(x, 1.0, out=out_d),
        {"cffix loop": lambda: [chk_c(v, 1.0) for v in xs],
         "cffi loop": chk_i and (lambda: [chk_i(v) for v in xs]),
         "ctypes loop": lambda: [chk_t(v) for v in xs]})
    add_c, add_i, add_t = c.add, cc.add if cc else None, tc.add
    row("add(a, 7)",
        lambda: floor.ii_i(addr(tc.add), a, 7, out_i),
        lambda: add_c.map(a, 7), lambda: add_c.map(a, 7, out=out_i),
        {"cffix loop": lambda: [add_c(v, 7) for v in as_],
         "cffi loop": add_i and (lambda: [add_i(v, 7) for v in as_]),
         "ctypes loop": lambda: [add_t(v, 7) for v in as_]})

    def checked_add(f):
        def call(v):
            r = f(v, 7)
            if r < 0:
                raise ValueError(r)
            return r
        return call

    cadd_i, cadd_t = checked_add(add_i) if add_i else None, checked_add(add_t)
    row("add checked",
        lambda: floor.ii_i(addr(tc.add), a, 7, out_i),
        lambda: chk_add.map(a, 7), lambda: chk_add.map(a, 7, out=out_i),
        {"cffix loop": lambda: [chk_add(v, 7) for v in as_],
         "cffi loop": cadd_i and (lambda: [cadd_i(v) for v in as_]),
         "ctypes loop": lambda: [cadd_t(v) for v in as_]})

    # Sanity: map's results are the loop's, item for item.
    assert list(m.sin.map(x))[:n_loop] == [m.sin(v) for v in xs]
    assert list(m.ldexp.map(x, e))[:n_loop] == [m.ldexp(v, k) for v, k in pairs]
    assert list(c.add.map(a, 7))[:n_loop] == [v + 7 for v in as_]
    return table


# ------------------------------------------------------------------------------ timing

def measure(fn, items, target, clock):
    """Seconds per item of one run: fn repeated until `target` seconds have passed."""
    timer = timeit.Timer(fn, timer=clock)
    number = 1
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= target or number >= 1 << 20:
            return elapsed / number / items
        number *= 2 if elapsed < target / 4 else max(2, math.ceil(target / max(elapsed, 1e-9)))


def bench(table, n, n_loop, repeat, target, clock):
    best = {}
    for _ in range(repeat):
        for label, engines in table:  # interleaved: noise hits every engine alike
            for name, fn in engines.items():
                items = n_loop if name.endswith("loop") and name != "C loop" else n
                t = measure(fn, items, target, clock)
                key = (label, name)
                best[key] = min(best.get(key, t), t)
    return best


def fmt_ns(seconds):
    return "-" if seconds is None else f"{seconds * 1e9:.2f} ns"


def fmt_ratio(r, goal=None, higher_is_better=False):
    if r is None:
        return "-"
    text = f"{r:.2f}x" if r < 100 else f"{r:.0f}x"
    if goal is not None:
        ok = r >= goal if higher_is_better else r <= goal
        text += " ok" if ok else " MISSED"
    return text


def print_table(table, best, engines):
    header = ["per item", *engines, "map/C", "map out/C", "cffix loop/map", "cffix loop/C",
              "cffi loop/map", "ctypes loop/map"]
    rows = []
    for label, _ in table:
        t = {e: best.get((label, e)) for e in engines}

        def r(a, b):
            return t[a] / t[b] if t.get(a) and t.get(b) else None

        rows.append([label, *(fmt_ns(t[e]) for e in engines),
                     fmt_ratio(r("cffix map", "C loop"), GOAL_MAP_OVER_C),
                     fmt_ratio(r("cffix map out", "C loop"), GOAL_MAP_OVER_C),
                     fmt_ratio(r("cffix loop", "cffix map"), GOAL_LOOP_OVER_MAP, True),
                     fmt_ratio(r("cffix loop", "C loop")),
                     fmt_ratio(r("cffi loop", "cffix map")),
                     fmt_ratio(r("ctypes loop", "cffix map"))])
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                        for i, (c, w) in enumerate(zip(row, widths))))
    print(f"goals: map within {GOAL_MAP_OVER_C:g}x of the C loop; a Python loop of cffix "
          f"calls at least {GOAL_LOOP_OVER_MAP:g}x slower than map. `cffix loop/C` bounds "
          "`cffix loop/map`: no batched call beats the C loop, so where the function's own "
          "time makes that bound smaller than the goal, the goal is out of reach")


CHILD = r'''
import importlib.util, pathlib, sys
sys.path.insert(0, {here!r})
import bench_batched as bb
spec = importlib.util.spec_from_file_location("floor_batched", {floor!r})
floor = importlib.util.module_from_spec(spec)
spec.loader.exec_module(floor)
fn = dict(bb.cases({n}, 10, pathlib.Path({calls!r}), floor))[{label!r}][{engine!r}]
fn()
for _ in range({reps}):
    fn()
'''


def callgrind(n, workdir, calls_path, floor_path, labels):
    """Instructions per item of the C loop, map(out=) and, for the policy row, its map."""
    engines = ["C loop", "cffix map out"]
    print(f"instructions per item (callgrind; 3 batches minus 1 batch of {n} items)")
    print(f"{'function':<20} " + "  ".join(f"{e:>14}" for e in engines) + "    map out - C")
    for label in labels:
        counts = []
        for engine in engines:
            code = [CHILD.format(here=str(HERE), floor=str(floor_path), n=n,
                                 calls=str(calls_path), label=label, engine=engine, reps=r)
                    for r in (0, 2)]
            counts.append((instructions(code[1]) - instructions(code[0])) / (2 * n))
        print(f"{label:<20} " + "  ".join(f"{c:>14.1f}" for c in counts) +
              f"    {counts[1] - counts[0]:+.1f}")


def versions():
    import cffix

    parts = [f"Python {platform.python_version()}", f"cffix {cffix.__version__}"]
    try:
        import cffi

        parts.append(f"cffi {cffi.__version__}")
    except ImportError:
        parts.append("cffi not installed")
    return ", ".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs (min is kept)")
    parser.add_argument("--items", type=int, default=100_000, help="items per batch")
    parser.add_argument("--loop-items", type=int, default=10_000,
                        help="items per Python loop of calls")
    parser.add_argument("--quick", action="store_true", help="1 short run: a smoke test")
    parser.add_argument("--target-ms", type=float, default=20.0,
                        help="length of one measurement (default 20 ms)")
    parser.add_argument("--timer", choices=("cpu", "wall"), default="cpu",
                        help="this process's CPU time (default) or the wall clock")
    parser.add_argument("--callgrind", action="store_true",
                        help="count instructions per item under valgrind instead")
    parser.add_argument("--functions", default="",
                        help="with --callgrind: the rows to count, comma-separated label "
                             "prefixes (default: all), e.g. 'sin,add_double checked'")
    args = parser.parse_args(argv)
    if args.callgrind:
        n = min(args.items, 20_000)
        with tempfile.TemporaryDirectory(prefix="bench_batched_") as tmp:
            workdir = pathlib.Path(tmp)
            calls_path, floor = build(workdir)
            labels = [label for label, _ in cases(100, 10, calls_path, floor)]
            wanted = [w.strip() for w in args.functions.split(",") if w.strip()]
            if wanted:
                labels = [lb for lb in labels if any(lb.startswith(w) for w in wanted)]
            callgrind(n, workdir, calls_path, floor.__file__, labels)
        return 0
    repeat = 1 if args.quick else max(1, args.repeat)
    n = 10_000 if args.quick else args.items
    n_loop = min(n, 2_000 if args.quick else args.loop_items)
    target = (2.0 if args.quick else args.target_ms) / 1000
    clock = time.process_time if args.timer == "cpu" else time.perf_counter
    with tempfile.TemporaryDirectory(prefix="bench_batched_") as tmp:
        calls_path, floor = build(pathlib.Path(tmp))
        table = cases(n, n_loop, calls_path, floor)
        best = bench(table, n, n_loop, repeat, target, clock)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load}; "
          f"{args.timer} time; {n} items per batch, {n_loop} per Python loop")
    print(versions())
    engines = [e for e in ENGINES if any((label, e) in best for label, _ in table)]
    print_table(table, best, engines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
