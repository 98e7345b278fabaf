"""CData operations: cffix against cffi (in-line ABI FFI) and ctypes, in one process.

Measures the operations of the CData milestone with timeit, interleaving the three
libraries and keeping the minimum per-operation time of several runs:

  * creating: ``new("int[100]")``, ``new("struct point *")``, ``cast("int", 5)``,
    ``cast("void *", 0)``, ``string()`` of a 1 KB ``char[1024]``, ``buffer(p)``,
    ``from_buffer(bytearray(1000))``;
  * access: ``a[5]``, ``a[5] = 1``, ``p.x``, ``p.x = 1``.

The ctypes equivalents are ``(c_int * 100)()``, ``Point()``, ``c_int(5)``,
``c_void_p(0)``, ``buf.value``, ``memoryview(arr)``, ``(c_char * 1000).from_buffer(ba)``
and the same item and field accesses. Times are per operation, in this process's CPU
time by default (steadier than the wall clock when other work shares the machine), and
include the statement's own Python overhead (an attribute lookup and a call). The goals next to the
table are the milestone's: creating operations at most 0.5x cffi's time and at most
1.0x ctypes'; item and field access at most 0.7x cffi's. Nothing is asserted.

    python3 bench/bench_cdata.py [--repeat N] [--quick] [--target-ms MS] [--timer wall]
"""

import argparse
import ctypes
import gc
import os
import sys
import time
import timeit

CDEF = "struct point { int x, y; };"


class Point(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int)]


IntArray100 = ctypes.c_int * 100
CharArray1000 = ctypes.c_char * 1000


def _with(**make):
    """A setup that adds ns[name] = fn(ns) for each keyword, in order."""
    def setup(ns):
        for name, fn in make.items():
            ns[name] = fn(ns)
    return setup


# (label, kind, {"ffi" | "ctypes": (statement, setup)}): "ffi" serves cffix and cffi
# alike; kind "create" or "access" selects the goal.
OPS = [
    ("new int[100]", "create", {
        "ffi": ('ffi.new("int[100]")', _with()),
        "ctypes": ("IntArray100()", _with()),
    }),
    ("new struct point *", "create", {
        "ffi": ('ffi.new("struct point *")', _with()),
        "ctypes": ("Point()", _with()),
    }),
    ("cast int 5", "create", {
        "ffi": ('ffi.cast("int", 5)', _with()),
        "ctypes": ("c_int(5)", _with()),
    }),
    ("cast void * 0", "create", {
        "ffi": ('ffi.cast("void *", 0)', _with()),
        "ctypes": ("c_void_p(0)", _with()),
    }),
    ("string(char[1024]), 1 KB", "create", {
        "ffi": ("ffi.string(buf)",
                _with(buf=lambda ns: ns["ffi"].new("char[1024]", b"x" * 1023))),
        "ctypes": ("buf.value",
                   _with(buf=lambda ns: ctypes.create_string_buffer(b"x" * 1023, 1024))),
    }),
    ("buffer(int[100])", "create", {
        "ffi": ("ffi.buffer(a)", _with(a=lambda ns: ns["ffi"].new("int[100]"))),
        "ctypes": ("memoryview(a)", _with(a=lambda ns: IntArray100())),
    }),
    ("from_buffer(bytearray(1000))", "create", {
        "ffi": ("ffi.from_buffer(ba)", _with(ba=lambda ns: bytearray(1000))),
        "ctypes": ("CharArray1000.from_buffer(ba)", _with(ba=lambda ns: bytearray(1000))),
    }),
    ("item get a[5]", "access", {
        "ffi": ("a[5]", _with(a=lambda ns: ns["ffi"].new("int[100]"))),
        "ctypes": ("a[5]", _with(a=lambda ns: IntArray100())),
    }),
    ("item set a[5] = 1", "access", {
        "ffi": ("a[5] = 1", _with(a=lambda ns: ns["ffi"].new("int[100]"))),
        "ctypes": ("a[5] = 1", _with(a=lambda ns: IntArray100())),
    }),
    ("field get p.x", "access", {
        "ffi": ("p.x", _with(p=lambda ns: ns["ffi"].new("struct point *"))),
        "ctypes": ("p.x", _with(p=lambda ns: Point())),
    }),
    ("field set p.x = 1", "access", {
        "ffi": ("p.x = 1", _with(p=lambda ns: ns["ffi"].new("struct point *"))),
        "ctypes": ("p.x = 1", _with(p=lambda ns: Point())),
    }),
]

GOALS = {"create": {"cffi": 0.5, "ctypes": 1.0}, "access": {"cffi": 0.7}}
ENGINES = ("cffix", "cffi", "ctypes")


def load_engines():
    """name -> a fresh namespace maker, for the engines that import."""
    makers = {}
    for name in ("cffix", "cffi"):
        try:
            module = __import__(name)
            ffi = module.FFI()
            ffi.cdef(CDEF)
        except Exception as exc:  # absent or broken: say so, go on with the others
            print(f"{name} unavailable: {type(exc).__name__}: {exc}")
            continue
        makers[name] = (lambda ffi=ffi: {"ffi": ffi})
    makers["ctypes"] = lambda: {"IntArray100": IntArray100, "CharArray1000": CharArray1000,
                                "Point": Point, "c_int": ctypes.c_int,
                                "c_void_p": ctypes.c_void_p, "ctypes": ctypes}
    return makers


class Measurement:
    """One (operation, engine): a prepared timeit.Timer and its loop count."""

    def __init__(self, stmt, namespace, target, clock):
        self.timer = timeit.Timer(stmt, timer=clock, globals=namespace)
        self.timer.timeit(10)                      # fail early, warm caches
        number = 1
        while True:                                # ~target seconds per measurement
            elapsed = self.timer.timeit(number)
            if elapsed >= target / 4 or number >= 10**8:
                break
            number *= 4
        self.number = max(1, int(number * target / max(elapsed, 1e-9)))

    def run(self):
        gc.collect()
        gc.disable()
        try:
            return self.timer.timeit(self.number) / self.number
        finally:
            gc.enable()


def bench(makers, repeat, target, clock):
    best = {}       # (label, engine) -> seconds per operation
    errors = {}     # (label, engine) -> message
    measurements = {}
    for label, _, impls in OPS:
        for engine, make_ns in makers.items():
            impl = impls.get("ctypes" if engine == "ctypes" else "ffi")
            if impl is None:
                continue
            stmt, setup = impl
            try:
                ns = make_ns()
                setup(ns)
                measurements[label, engine] = Measurement(stmt, ns, target, clock)
            except Exception as exc:
                errors[label, engine] = f"{type(exc).__name__}: {exc}"
    engines = list(makers)
    for run in range(repeat):
        order = engines if run % 2 == 0 else engines[::-1]
        for label, _, _ in OPS:
            for engine in order:
                m = measurements.get((label, engine))
                if m is None:
                    continue
                try:
                    t = m.run()
                except Exception as exc:
                    errors[label, engine] = f"{type(exc).__name__}: {exc}"
                    del measurements[label, engine]
                    continue
                best[label, engine] = min(best.get((label, engine), t), t)
    return best, errors


def fmt_ns(seconds):
    return "n/a" if seconds is None else f"{seconds * 1e9:.0f}"


def fmt_ratio(ours, theirs):
    return "" if ours is None or theirs is None else f"{ours / theirs:.2f}x"


def verdict(kind, ours, others):
    """'ok', 'MISSED' or '' (no data) against the goals of `kind`."""
    if ours is None:
        return ""
    # Judged on the ratio as printed (two decimals), so that the table agrees with itself.
    checks = [round(ours / others[name], 2) <= limit
              for name, limit in GOALS[kind].items() if others.get(name) is not None]
    if not checks:
        return ""
    return "ok" if all(checks) else "MISSED"


def goal_text(kind):
    return ", ".join(f"<= {limit}x {name}" for name, limit in GOALS[kind].items())


def print_table(best, repeat):
    header = ["operation", "cffix ns", "cffi ns", "ctypes ns", "cffix/cffi",
              "cffix/ctypes", "goal", "met"]
    rows = []
    for label, kind, _ in OPS:
        t = {engine: best.get((label, engine)) for engine in ENGINES}
        rows.append([label, fmt_ns(t["cffix"]), fmt_ns(t["cffi"]), fmt_ns(t["ctypes"]),
                     fmt_ratio(t["cffix"], t["cffi"]), fmt_ratio(t["cffix"], t["ctypes"]),
                     goal_text(kind), verdict(kind, t["cffix"], t)])
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    right = {1, 2, 3, 4, 5}
    print(f"per-operation time, min of {repeat} run(s); ratios below 1 mean cffix is faster")
    for r in [header] + rows:
        cells = [str(c).rjust(w) if i in right else str(c).ljust(w)
                 for i, (c, w) in enumerate(zip(r, widths))]
        print("  ".join(cells).rstrip())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=25, help="runs (min is kept)")
    parser.add_argument("--quick", action="store_true", help="1 short run: a smoke test")
    parser.add_argument("--target-ms", type=float, default=5.0,
                        help="length of one measurement (default 5 ms)")
    parser.add_argument("--timer", choices=("cpu", "wall"), default="cpu",
                        help="this process's CPU time (default: steady on a busy "
                             "machine) or the wall clock")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else max(1, args.repeat)
    target = (2.0 if args.quick else args.target_ms) / 1000
    clock = time.process_time if args.timer == "cpu" else time.perf_counter

    makers = load_engines()
    best, errors = bench(makers, repeat, target, clock)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"Python {sys.version.split()[0]}; engines: {', '.join(makers)}; "
          f"{args.timer} time; load average {load} on {os.cpu_count()} CPUs")
    print_table(best, repeat)
    for (label, engine), message in errors.items():
        print(f"{engine} failed on {label!r}: {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
