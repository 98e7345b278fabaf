"""ABI-mode calls: cffix against cffi (ABI and API mode), ctypes and a hand-written floor.

Builds tests/clib/calls.c as libcalls.so in a temporary directory, then calls the same C
functions through every FFI in one process, interleaved, keeping the minimum per-call
time of several runs:

  * ``int add(int, int)``, ``void noop(void)``, ``double add_double(double, double)``
  * ``unsigned long sum_bytes(const char *, size_t)`` on a 64-byte bytes object
  * ``double dd_weighted(struct dd)``: a 16-byte struct by value (a prebuilt struct cdata,
    ctypes Structure, or for the floor a bytes object of the struct's size)
  * ``double mix6(int, double, long, float, unsigned char, double)``
  * ``int format_into(char *, size_t, const char *, ...)`` (vsnprintf) with one int in the
    variadic part (a prebuilt ``int`` cdata for cffi and cffix)
  * ``sort_ints(int *, size_t, int (*)(const int *, const int *))``: qsort of 100,000 ints
    with a Python comparator ``a[0] - b[0]`` (ffi.callback; ``extern "Python"`` for cffi
    API mode; CFUNCTYPE for ctypes; for the floor a C comparator calling ``a - b`` with two
    Python ints), ~1.6 million Python calls from C per sort; time per sort.

The engines:

  floor          bench/floor/floor.c: METH_FASTCALL functions, built here with cc; the
                 physical limit of a call from Python. `floor` releases the GIL around
                 the C call (as cffi, ctypes and cffix do by default), `floor keep` keeps it.
  cffix          ffi.dlopen(path); `cffix keep`: ffi.dlopen(path, release_gil=False)
  cffi ABI       cffi's ffi.dlopen(path)
  cffix API      a module built here with cffix's set_source()/compile() (API mode),
                 linked with libcalls.so; its qsort comparator is extern "Python"
  cffi API       a module built here with cffi's own set_source()/compile(), linked with
                 libcalls.so (the same code as every other engine calls)
  ctypes         ctypes.CDLL with argtypes and restype set

Functions are bound to a name first (``f = lib.add``), so the time is the call itself plus
timeit's loop (the same for every engine; `empty loop` shows it). Times are process CPU
time by default (steady on a busy machine; `--timer wall` for the wall clock). Ratios:
`x/floor` is the engine's time over the floor's with the same GIL policy; `cffi/cffix`
above 1 means cffix is faster; `cffi ABI/floor` is as far ahead of cffi's ABI mode as any
FFI that releases the GIL can get (a goal above it is out of reach). Nothing is asserted.

    python3 bench/bench_calls.py [--repeat N] [--quick] [--target-ms MS] [--timer wall]
"""

import argparse
import array
import ctypes
import gc
import importlib
import importlib.util
import os
import pathlib
import platform
import random
import shlex
import shutil
import struct
import subprocess
import sys
import sysconfig
import tempfile
import time
import timeit

HERE = pathlib.Path(__file__).resolve().parent
CALLS_C = HERE.parent / "tests" / "clib" / "calls.c"
FLOOR_C = HERE / "floor" / "floor.c"

CDEF = """
    int add(int a, int b);
    void noop(void);
    double add_double(double a, double b);
    unsigned long sum_bytes(const char *buf, size_t n);
    struct dd { double x, y; };
    double dd_weighted(struct dd s);
    double mix6(int a, double b, long c, float d, unsigned char e, double f);
    int format_into(char *buf, size_t size, const char *fmt, ...);
    void sort_ints(int *base, size_t n, int (*compar)(const int *, const int *));
"""

ENGINES = ["floor", "floor keep", "cffix", "cffix keep", "cffix API", "cffi ABI", "cffi API",
           "ctypes"]
# The floor each engine is compared with: the one with the same GIL policy.
FLOOR_OF = {"cffix": "floor", "cffix keep": "floor keep", "cffi ABI": "floor",
            "cffi API": "floor", "ctypes": "floor"}

DATA_64 = bytes(range(64))
DD_BYTES = struct.pack("dd", 1.5, 2.5)


# ------------------------------------------------------------------------------ building

def c_compiler():
    cc = shlex.split(os.environ.get("CC", "")) or [shutil.which("cc") or shutil.which("gcc")
                                                   or "cc"]
    return cc


def run(cmd, what):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({shlex.join(cmd)}):\n{proc.stderr}")


def build_library(workdir):
    lib = workdir / "libcalls.so"
    run([*c_compiler(), "-shared", "-fPIC", "-O2", "-o", str(lib), str(CALLS_C)],
        "building libcalls.so")
    return lib


def build_floor(workdir):
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    out = workdir / f"floor{suffix}"
    include = sysconfig.get_paths()["include"]
    run([*c_compiler(), "-shared", "-fPIC", "-O2", f"-I{include}", "-o", str(out),
         str(FLOOR_C), f"-L{workdir}", "-lcalls", f"-Wl,-rpath,{workdir}"], "building floor.c")
    return load_module("floor", out)


def compile_quietly(builder, tmpdir):
    """builder.compile(tmpdir) with setuptools' printing kept out of the table."""
    with open(os.devnull, "w") as devnull:
        saved = os.dup(1)
        os.dup2(devnull.fileno(), 1)
        try:
            return builder.compile(tmpdir=str(tmpdir), verbose=False)
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def build_cffi_api(workdir):
    import cffi

    builder = cffi.FFI()
    builder.cdef(CDEF + 'extern "Python" int py_compare(const int *, const int *);')
    builder.set_source("_bench_calls_cffi_api", CDEF, libraries=["calls"],
                       library_dirs=[str(workdir)], runtime_library_dirs=[str(workdir)])
    path = compile_quietly(builder, workdir / "cffi_api")
    return load_module("_bench_calls_cffi_api", pathlib.Path(path))


def build_cffix_api(workdir):
    """cffix's API mode over the same declarations as cffi's (the variadic function
    included, and the qsort comparator as an extern "Python" function)."""
    import cffix

    builder = cffix.FFI()
    builder.cdef(CDEF + 'extern "Python" int py_compare(const int *, const int *);')
    builder.set_source("_bench_calls_cffix_api", CDEF, libraries=["calls"],
                       library_dirs=[str(workdir)], runtime_library_dirs=[str(workdir)])
    path = compile_quietly(builder, workdir / "cffix_api")
    return load_module("_bench_calls_cffix_api", pathlib.Path(path))


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------ engines

def ffi_namespace(ffi, lib, sort_cmp, n_sort, data):
    """The timeit namespace of a cffi-like engine (cffix, cffi ABI, cffi API)."""
    arr = ffi.new("int[]", n_sort)
    template = ffi.new("int[]", data)
    nbytes = ffi.sizeof("int") * n_sort
    return {
        "add": lib.add, "noop": lib.noop, "add_double": lib.add_double,
        "sum_bytes": lib.sum_bytes, "dd_weighted": lib.dd_weighted, "mix6": lib.mix6,
        "format_into": lib.format_into, "sort_ints": lib.sort_ints,
        "data": DATA_64, "s": ffi.new("struct dd *", [1.5, 2.5])[0],
        "buf": ffi.new("char[64]"), "fmt": b"%d", "v": ffi.cast("int", 42),
        "arr": arr, "n": n_sort, "cmp": sort_cmp,
        "reset": lambda: ffi.memmove(arr, template, nbytes),
        "check": lambda: list(arr) == sorted(data),
    }


def cffix_engines(path, n_sort, data):
    import cffix

    out = {}
    for name, kwargs in (("cffix", {}), ("cffix keep", {"release_gil": False})):
        ffi = cffix.FFI()
        ffi.cdef(CDEF)
        try:
            lib = ffi.dlopen(str(path), **kwargs)
        except TypeError as exc:  # no release_gil keyword
            print(f"{name} unavailable: {exc}")
            continue
        cmp = None
        if hasattr(ffi, "callback"):
            cmp = ffi.callback("int(const int *, const int *)", lambda a, b: a[0] - b[0])
        out[name] = ffi_namespace(ffi, lib, cmp, n_sort, data)
    return out


def cffi_abi_engine(path, n_sort, data):
    import cffi

    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    lib = ffi.dlopen(str(path))
    cmp = ffi.callback("int(const int *, const int *)", lambda a, b: a[0] - b[0])
    return ffi_namespace(ffi, lib, cmp, n_sort, data)


def api_engine(module, n_sort, data):
    """cffi's or cffix's API-mode module: the same code for both."""
    ffi, lib = module.ffi, module.lib

    @ffi.def_extern()
    def py_compare(a, b):
        return a[0] - b[0]

    return ffi_namespace(ffi, lib, lib.py_compare, n_sort, data)


class DD(ctypes.Structure):
    _fields_ = [("x", ctypes.c_double), ("y", ctypes.c_double)]


def ctypes_engine(path, n_sort, data):
    c = ctypes
    lib = c.CDLL(str(path))
    compare_type = c.CFUNCTYPE(c.c_int, c.POINTER(c.c_int), c.POINTER(c.c_int))
    signatures = {
        "add": ([c.c_int, c.c_int], c.c_int),
        "noop": ([], None),
        "add_double": ([c.c_double, c.c_double], c.c_double),
        "sum_bytes": ([c.c_char_p, c.c_size_t], c.c_ulong),
        "dd_weighted": ([DD], c.c_double),
        "mix6": ([c.c_int, c.c_double, c.c_long, c.c_float, c.c_ubyte, c.c_double],
                 c.c_double),
        "format_into": ([c.c_char_p, c.c_size_t, c.c_char_p], c.c_int),  # + variadic part
        "sort_ints": ([c.POINTER(c.c_int), c.c_size_t, compare_type], None),
    }
    ns = {}
    for name, (argtypes, restype) in signatures.items():
        f = getattr(lib, name)
        f.argtypes, f.restype = argtypes, restype
        ns[name] = f
    arr = (c.c_int * n_sort)()
    template = (c.c_int * n_sort)(*data)
    nbytes = c.sizeof(arr)
    ns.update({
        "data": DATA_64, "s": DD(1.5, 2.5), "buf": c.create_string_buffer(64),
        "fmt": b"%d", "v": c.c_int(42), "arr": arr, "n": n_sort,
        "cmp": compare_type(lambda a, b: a[0] - b[0]),
        "reset": lambda: c.memmove(arr, template, nbytes),
        "check": lambda: list(arr) == sorted(data),
    })
    return ns


def floor_engines(floor, n_sort, data):
    out = {}
    for name, suffix in (("floor", "_release"), ("floor keep", "")):
        arr = array.array("i", data)
        template = array.array("i", data)

        def reset(arr=arr, template=template):
            arr[:] = template

        ns = {fn: getattr(floor, fn + suffix)
              for fn in ("add", "noop", "add_double", "sum_bytes", "dd_weighted", "mix6",
                         "format_into", "sort_ints")}
        ns.update({
            "data": DATA_64, "s": DD_BYTES, "buf": bytearray(64), "fmt": b"%d", "v": 42,
            "arr": arr, "n": n_sort, "cmp": lambda a, b: a - b, "reset": reset,
            "check": (lambda arr=arr: list(arr) == sorted(data)),
        })
        # The floor's sort takes (buffer, callable); the others (pointer, length, fnptr).
        sort = ns["sort_ints"]
        ns["sort_ints"] = lambda arr, n, cmp, sort=sort: sort(arr, cmp)
        out[name] = ns
    return out


# ------------------------------------------------------------------------------ benchmarks

# (label, kind, statement): kind "fixed", "variadic" or "callback".
CALLS = [
    ("empty loop (timeit overhead)", "overhead", "pass"),
    ("int add(int, int)", "fixed", "add(1, 2)"),
    ("void noop(void)", "fixed", "noop()"),
    ("double add_double(double, double)", "fixed", "add_double(1.5, 2.5)"),
    ("sum_bytes(const char *, size_t)", "fixed", "sum_bytes(data, 64)"),
    ("dd_weighted(struct dd) by value", "fixed", "dd_weighted(s)"),
    ("mix6(int, double, long, float, uchar, double)", "fixed",
     "mix6(1, 2.5, 3, 4.5, 5, 6.5)"),
    ("format_into(buf, 64, \"%d\", int), variadic", "variadic", "format_into(buf, 64, fmt, v)"),
    ("qsort of N ints, Python comparator", "callback", "reset(); sort_ints(arr, n, cmp)"),
]

# Goals from the issue, as (description, test(times) -> bool or None when no data).
def ratio(times, a, b):
    return None if times.get(a) is None or times.get(b) is None else times[a] / times[b]


GOALS = {
    "fixed": [("cffi ABI/cffix >= 3", lambda t: _at_least(ratio(t, "cffi ABI", "cffix"), 3)),
              ("cffi API/cffix > 1", lambda t: _above(ratio(t, "cffi API", "cffix"), 1)),
              ("cffix/floor <= 1.5 (aim)", lambda t: _at_most(ratio(t, "cffix", "floor"), 1.5))],
    "variadic": [("cffi ABI/cffix >= 2",
                  lambda t: _at_least(ratio(t, "cffi ABI", "cffix"), 2))],
    "callback": [("cffi ABI/cffix >= 1.5",
                  lambda t: _at_least(ratio(t, "cffi ABI", "cffix"), 1.5))],
    "overhead": [],
}


# Judged on the ratio as printed (two decimals), so that the table agrees with itself.
def _at_least(r, limit):
    return None if r is None else round(r, 2) >= limit


def _above(r, limit):
    return None if r is None else round(r, 2) > limit


def _at_most(r, limit):
    return None if r is None else round(r, 2) <= limit


class Measurement:
    """One (call, engine): a prepared timeit.Timer and its loop count."""

    def __init__(self, stmt, namespace, target, clock, fixed_number=None):
        self.timer = timeit.Timer(stmt, timer=clock, globals=namespace)
        if fixed_number:
            self.timer.timeit(1)  # fail early
            self.number = fixed_number
            return
        self.timer.timeit(10)
        number = 1
        while True:  # ~target seconds per measurement
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


def bench(namespaces, repeat, sort_repeat, target, clock):
    best, errors, measurements = {}, {}, {}
    for label, kind, stmt in CALLS:
        for engine, ns in namespaces.items():
            if kind == "callback" and ns.get("cmp") is None:
                errors[label, engine] = "no ffi.callback"
                continue
            try:
                measurements[label, engine] = Measurement(
                    stmt, ns, target, clock, fixed_number=1 if kind == "callback" else None)
                if kind == "callback" and not ns["check"]():
                    errors[label, engine] = "the array is not sorted"
                    del measurements[label, engine]
            except Exception as exc:
                errors[label, engine] = f"{type(exc).__name__}: {exc}"
    engines = list(namespaces)
    for r in range(max(repeat, sort_repeat)):
        order = engines if r % 2 == 0 else engines[::-1]
        for label, kind, _ in CALLS:
            if r >= (sort_repeat if kind == "callback" else repeat):
                continue
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


# ------------------------------------------------------------------------------ report

def fmt_time(seconds, kind):
    if seconds is None:
        return "n/a"
    if kind == "callback":
        return f"{seconds * 1e3:.0f} ms"
    return f"{seconds * 1e9:.0f}"


def fmt_ratio(r):
    return "" if r is None else f"{r:.2f}x"


def print_rows(header, rows, right):
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for r in [header] + rows:
        cells = [str(c).rjust(w) if i in right else str(c).ljust(w)
                 for i, (c, w) in enumerate(zip(r, widths))]
        print("  ".join(cells).rstrip())


def print_tables(best, engines, n_sort, repeat, sort_repeat):
    label_of = {label: label.replace("N ints", f"{n_sort:,} ints") for label, _, _ in CALLS}
    print(f"\ntime per call in ns (qsort: per sort), min of {repeat} run(s) "
          f"({sort_repeat} for qsort)")
    header = ["call"] + engines
    rows = [[label_of[label]] + [fmt_time(best.get((label, e)), kind) for e in engines]
            for label, kind, _ in CALLS]
    print_rows(header, rows, set(range(1, len(header))))

    print("\nratios: x/floor with the same GIL policy (lower is better); cffi/cffix and "
          "ctypes/cffix (above 1: cffix is faster); cffi ABI/floor: the most any FFI that "
          "releases the GIL could reach over cffi ABI (a goal above it is out of reach)")
    header = ["call", "cffix/floor", "keep/floor keep", "cffi ABI/cffix", "cffi ABI/floor",
              "cffi API/cffix", "ctypes/cffix", "goals"]
    rows = []
    for label, kind, _ in CALLS:
        if kind == "overhead":
            continue
        t = {e: best.get((label, e)) for e in engines}
        verdicts = []
        for text, test in GOALS[kind]:
            ok = test(t)
            if ok is not None:
                verdicts.append(f"{text}: {'met' if ok else 'MISSED'}")
        rows.append([label_of[label], fmt_ratio(ratio(t, "cffix", "floor")),
                     fmt_ratio(ratio(t, "cffix keep", "floor keep")),
                     fmt_ratio(ratio(t, "cffi ABI", "cffix")),
                     fmt_ratio(ratio(t, "cffi ABI", "floor")),
                     fmt_ratio(ratio(t, "cffi API", "cffix")),
                     fmt_ratio(ratio(t, "ctypes", "cffix")), "; ".join(verdicts)])
    print_rows(header, rows, {1, 2, 3, 4, 5, 6})


def machine():
    model = platform.processor() or platform.machine()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return model


def versions():
    parts = [f"Python {sys.version.split()[0]}"]
    for name in ("cffix", "cffi"):
        try:
            parts.append(f"{name} {importlib.import_module(name).__version__}")
        except Exception:
            parts.append(f"{name} missing")
    try:
        cc = subprocess.run([*c_compiler(), "--version"], capture_output=True, text=True)
        parts.append(cc.stdout.splitlines()[0])
    except (OSError, IndexError):
        pass
    return ", ".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=25, help="runs (min is kept)")
    parser.add_argument("--sort-repeat", type=int, default=5, help="runs of the qsort")
    parser.add_argument("--sort-size", type=int, default=100_000, help="ints to sort")
    parser.add_argument("--quick", action="store_true", help="1 short run: a smoke test")
    parser.add_argument("--target-ms", type=float, default=5.0,
                        help="length of one measurement (default 5 ms)")
    parser.add_argument("--timer", choices=("cpu", "wall"), default="cpu",
                        help="this process's CPU time (default) or the wall clock")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else max(1, args.repeat)
    sort_repeat = 1 if args.quick else max(1, args.sort_repeat)
    n_sort = 10_000 if args.quick else args.sort_size
    target = (2.0 if args.quick else args.target_ms) / 1000
    clock = time.process_time if args.timer == "cpu" else time.perf_counter
    data = [random.Random(1).randrange(1_000_000) for _ in range(n_sort)]

    with tempfile.TemporaryDirectory(prefix="bench_calls_") as tmp:
        workdir = pathlib.Path(tmp)
        path = build_library(workdir)
        namespaces, failures = {}, []
        makers = [
            ("floor", lambda: floor_engines(build_floor(workdir), n_sort, data)),
            ("cffix", lambda: cffix_engines(path, n_sort, data)),
            ("cffi ABI", lambda: {"cffi ABI": cffi_abi_engine(path, n_sort, data)}),
            ("cffix API", lambda: {"cffix API": api_engine(build_cffix_api(workdir),
                                                               n_sort, data)}),
            ("cffi API", lambda: {"cffi API": api_engine(build_cffi_api(workdir),
                                                         n_sort, data)}),
            ("ctypes", lambda: {"ctypes": ctypes_engine(path, n_sort, data)}),
        ]
        for name, make in makers:
            try:
                namespaces.update(make())
            except Exception as exc:  # absent or broken: say so, go on with the others
                failures.append(f"{name} unavailable: {type(exc).__name__}: {exc}")
        engines = [e for e in ENGINES if e in namespaces]
        namespaces = {e: namespaces[e] for e in engines}
        best, errors = bench(namespaces, repeat, sort_repeat, target, clock)

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{machine()}, {os.cpu_count()} CPUs, load average {load}; {args.timer} time")
    print(versions())
    print_tables(best, engines, n_sort, repeat, sort_repeat)
    for message in failures:
        print(message)
    for (label, engine), message in errors.items():
        print(f"{engine} failed on {label!r}: {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
