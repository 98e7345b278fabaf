"""extern "Python" callbacks: a C loop calling a Python function, cffix against cffi and a
hand-written floor, in the same process, interleaved.

Each engine's C code calls ``int cb(int)`` N times (``s += cb(i)``) from a function the
benchmark calls once per measurement; the Python function is ``lambda i: i`` everywhere.
The time per callback is the measurement's time over N: entering Python from C (the GIL
is taken for each call: the wrapper of the loop released it, as cffi's and cffix's do by
default), making the argument, the call, converting the result, leaving.

  floor           bench/floor/floor_extern.c, built here: PyGILState_Ensure,
                  PyLong_FromLong, PyObject_Vectorcall, PyLong_AsLong, PyGILState_Release;
                  the least a correct binding does
  cffix API       an API-mode module built here by cffix: `extern "Python" int cb(int);`
                  and a loop in the set_source() code, @ffi.def_extern()
  cffi API        the same module built by cffi's set_source()/compile()
  cffix callback  the same loop through a function pointer, given ffi.callback("int(int)")
  cffi callback   the same with cffi's ffi.callback (ABI-mode callbacks, for comparison)

Times are process CPU time (``--timer wall`` for the wall clock), the min of ``--repeat``
runs. ``--callgrind`` also counts instructions per callback with valgrind's callgrind (a
child interpreter per engine, a long and a short loop, the difference over the calls):
stable where times on a shared machine vary. Nothing is asserted; the goal from the
issue is cffi API/cffix API >= 1.5.

    python3 bench/bench_extern_python.py [--repeat N] [--quick] [--callgrind]
"""

import argparse
import gc
import os
import pathlib
import sys
import sysconfig
import tempfile
import time
import timeit

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_calls as bc  # noqa: E402  (building and loading helpers)
from callgrind_calls import instructions  # noqa: E402  (one callgrind runner)

FLOOR_C = HERE / "floor" / "floor_extern.c"

CDEF = """
extern "Python" int cb(int);
long long loop(int n);
long long loop_fp(int (*f)(int), int n);
"""

# cffi asks the source to declare cb() before using it; cffix declares it itself (and
# takes this declaration too).
SOURCE = """
static int cb(int);
static long long loop(int n) {
    long long s = 0;
    int i;
    for (i = 0; i < n; i++) s += cb(i);
    return s;
}
static long long loop_fp(int (*f)(int), int n) {
    long long s = 0;
    int i;
    for (i = 0; i < n; i++) s += f(i);
    return s;
}
"""

ENGINES = ["floor", "cffix API", "cffi API", "cffix callback", "cffi callback"]


def identity(i):
    return i


# ------------------------------------------------------------------------------ building

def build_floor(workdir):
    out = workdir / ("floor_extern" + (sysconfig.get_config_var("EXT_SUFFIX") or ".so"))
    include = sysconfig.get_paths()["include"]
    bc.run([*bc.c_compiler(), "-shared", "-fPIC", "-O2", f"-I{include}", "-o", str(out),
            str(FLOOR_C)], "building floor_extern.c")
    return out


def build_api(ffi_class, workdir, name):
    builder = ffi_class()
    builder.cdef(CDEF)
    builder.set_source(name, SOURCE)
    return pathlib.Path(bc.compile_quietly(builder, workdir / name))


def build_all(workdir):
    import cffi

    import cffix

    return {"floor": build_floor(workdir),
            "cffix": build_api(cffix.FFI, workdir, "_bench_xp_cffix"),
            "cffi": build_api(cffi.FFI, workdir, "_bench_xp_cffi")}


def engine_loop(engine, paths):
    """(the loop function, its fixed arguments but n) of an engine."""
    if engine == "floor":
        floor = bc.load_module("floor_extern", paths["floor"])
        return floor.loop, (identity,)
    which = "cffix" if engine.startswith("cffix") else "cffi"
    mod = bc.load_module(f"_bench_xp_{which}", paths[which])
    if engine.endswith("API"):
        mod.ffi.def_extern(name="cb")(identity)
        return mod.lib.loop, ()
    callback = mod.ffi.callback("int(int)", identity)
    return mod.lib.loop_fp, (callback,)


# ------------------------------------------------------------------------------ timing

class Measurement:
    """One engine: loop(n) timed by timeit, per callback."""

    def __init__(self, fn, fixed, n, target, clock):
        self.n = n
        args = (*fixed, n)
        expected = n * (n - 1) // 2
        if fn(*args) != expected:
            raise RuntimeError(f"wrong sum: {fn(*args)} != {expected}")
        self.timer = timeit.Timer(lambda: fn(*args), timer=clock)
        number = 1
        while True:
            elapsed = self.timer.timeit(number)
            if elapsed >= target / 4 or number >= 10**6:
                break
            number *= 4
        self.number = max(1, int(number * target / max(elapsed, 1e-9)))

    def run(self):
        gc.collect()
        gc.disable()
        try:
            return self.timer.timeit(self.number) / self.number / self.n
        finally:
            gc.enable()


def bench(paths, repeat, n, target, clock):
    measurements, errors = {}, {}
    for engine in ENGINES:
        try:
            fn, fixed = engine_loop(engine, paths)
            measurements[engine] = Measurement(fn, fixed, n, target, clock)
        except Exception as exc:
            errors[engine] = f"{type(exc).__name__}: {exc}"
    best = {}
    for r in range(repeat):
        order = list(measurements) if r % 2 == 0 else list(measurements)[::-1]
        for engine in order:
            t = measurements[engine].run()
            best[engine] = min(best.get(engine, t), t)
    return best, errors


# ------------------------------------------------------------------------------ callgrind

CHILD = r'''
import sys
sys.path.insert(0, {here!r})
import pathlib
import bench_extern_python as bx
paths = {{k: pathlib.Path(v) for k, v in {paths!r}.items()}}
fn, fixed = bx.engine_loop({engine!r}, paths)
fn(*fixed, 1000)
fn(*fixed, {n})
'''


def callgrind(paths, calls):
    counts = {}
    for engine in ENGINES:
        fill = dict(here=str(HERE), paths={k: str(v) for k, v in paths.items()}, engine=engine)
        short = instructions(CHILD.format(n=1000, **fill))
        long_ = instructions(CHILD.format(n=1000 + calls, **fill))
        counts[engine] = (long_ - short) / calls
    return counts


# ------------------------------------------------------------------------------ report

def ratio(values, a, b):
    if values.get(a) is None or values.get(b) is None:
        return None
    return values[a] / values[b]


def report(values, unit, fmt):
    print(f"\n{'engine':<16}{unit:>14}{'x/floor':>10}")
    for engine in ENGINES:
        v = values.get(engine)
        r = ratio(values, engine, "floor")
        print(f"{engine:<16}{fmt(v) if v is not None else 'n/a':>14}"
              f"{f'{r:.2f}x' if r is not None else '':>10}")
    api = ratio(values, "cffi API", "cffix API")
    cb = ratio(values, "cffi callback", "cffix callback")
    if api is not None:
        verdict = "met" if round(api, 2) >= 1.5 else "MISSED"
        print(f"cffi API/cffix API = {api:.2f}x (goal >= 1.5: {verdict})")
    if cb is not None:
        print(f"cffi callback/cffix callback = {cb:.2f}x")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs (min is kept)")
    parser.add_argument("--calls", type=int, default=10_000, help="callbacks per loop")
    parser.add_argument("--quick", action="store_true", help="1 short run: a smoke test")
    parser.add_argument("--target-ms", type=float, default=20.0,
                        help="length of one measurement (default 20 ms)")
    parser.add_argument("--timer", choices=("cpu", "wall"), default="cpu")
    parser.add_argument("--callgrind", action="store_true",
                        help="also count instructions per callback (needs valgrind)")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else max(1, args.repeat)
    target = (2.0 if args.quick else args.target_ms) / 1000
    clock = time.process_time if args.timer == "cpu" else time.perf_counter

    with tempfile.TemporaryDirectory(prefix="bench_extern_python_") as tmp:
        paths = build_all(pathlib.Path(tmp))
        best, errors = bench(paths, repeat, args.calls, target, clock)
        counts = callgrind(paths, 100_000 if not args.quick else 10_000) if args.callgrind \
            else None

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{bc.machine()}, {os.cpu_count()} CPUs, load average {load}; {args.timer} time")
    print(bc.versions())
    print(f"a C loop of {args.calls:,} calls to int cb(int) -> Python identity; "
          f"min of {repeat} run(s)")
    report(best, "ns/callback", lambda v: f"{v * 1e9:.0f}")
    if counts:
        print("\ninstructions per callback (callgrind)")
        report(counts, "instructions", lambda v: f"{v:.0f}")
    for engine, message in errors.items():
        print(f"{engine} failed: {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
