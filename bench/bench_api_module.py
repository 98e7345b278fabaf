"""API-mode modules of many declarations: compile time and import time, cffix against
cffi, for the same cdef and C source (N functions `int fN(int, double)` defined as static
functions in the source).

Compile: each library's compile() of the module, timed once (the C compiler dominates;
run it on a quiet machine). Import: the median over --runs fresh interpreters of the time
`import <module>` takes once the library itself (cffix, or _cffi_backend) is imported.

    python3 bench/bench_api_module.py [--functions 1000] [--runs 11] [--quick]

--quick (run_all.py's smoke test): 50 functions, 3 import runs.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

IMPORT_CHILD = """
import sys, time
sys.path.insert(0, {workdir!r})
import {library}
t = time.perf_counter()
import {module}
print(time.perf_counter() - t)
"""


def source(n):
    cdef = "\n".join(f"int f{i}(int a, double b);" for i in range(n))
    c = "\n".join(f"static int f{i}(int a, double b) {{ return a + (int)b + {i}; }}"
                  for i in range(n))
    return cdef, c


def build(library, workdir, n):
    if library == "cffix":
        from cffix import FFI
    else:
        from cffi import FFI
    cdef, c = source(n)
    ffi = FFI()
    ffi.cdef(cdef)
    module = f"_bench_api_{library}"
    ffi.set_source(module, c)
    with open(os.devnull, "w") as devnull:  # setuptools prints; keep the table readable
        saved = os.dup(1)
        os.dup2(devnull.fileno(), 1)
        try:
            t = time.perf_counter()
            ffi.compile(tmpdir=workdir, verbose=False)
            seconds = time.perf_counter() - t
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    return module, seconds


def import_time(library, module, workdir, runs):
    code = IMPORT_CHILD.format(workdir=workdir, module=module,
                               library="cffix" if library == "cffix" else "_cffi_backend")
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                  text=True, check=True).stdout) for _ in range(runs)]
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--quick", action="store_true", help="50 functions, 3 runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.functions, args.runs = 50, 3
    workdir = tempfile.mkdtemp(prefix="cffix_api_bench_")
    results = {}
    for library in ("cffix", "cffi"):
        try:
            module, seconds = build(library, workdir, args.functions)
        except Exception as exc:  # no cffi, no compiler, no setuptools
            print(f"{library}: skipped ({type(exc).__name__}: {exc})")
            continue
        results[library] = (seconds, import_time(library, module, workdir, args.runs))
    print(f"API-mode module of {args.functions} functions")
    print(f"{'':10}{'compile s':>12}{'import ms':>12}")
    for library, (compile_s, import_s) in results.items():
        print(f"{library:10}{compile_s:>12.2f}{import_s * 1000:>12.2f}")
    if len(results) == 2:
        (cc, ci), (fc, fi) = results["cffix"], results["cffi"]
        print(f"{'cffix/cffi':10}{cc / fc:>11.2f}x{ci / fi:>11.2f}x  "
              "(goals: compile < 1x, import <= 0.1x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
