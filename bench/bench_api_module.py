"""API-mode modules of many declarations: compile time and import time, cffix against
cffi, for the same cdef and C source (N functions `int fN(int, double)` defined as static
functions in the source), and the floor of an import.

Compile: each library's compile() of the module, timed once, as the CPU time of the
compiler processes (user + system of the children: steadier than the wall clock on a
busy machine). Import: the median over --runs fresh interpreters of the time
`import <module>` takes once the library itself (cffix, or _cffi_backend) is imported.
The floor is a hand-written extension module holding the same N functions whose
PyInit only creates the module: what loading a shared object of that size and running
the import system cost, which no generated module can go below.

    python3 bench/bench_api_module.py [--functions 1000] [--runs 11] [--quick]

--quick (run_all.py's smoke test): 50 functions, 3 import runs.
"""

import argparse
import os
import resource
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


FLOOR_C = """
#define PY_SSIZE_T_CLEAN
#include <Python.h>
%s
static void* const kept[] = {%s};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "_bench_api_floor", NULL, -1,
                                 NULL, NULL, NULL, NULL, NULL};
PyMODINIT_FUNC PyInit__bench_api_floor(void) {
    (void)kept;
    return PyModule_Create(&def);
}
"""


def build_floor(workdir, n):
    from setuptools import Distribution, Extension

    _, c = source(n)
    path = os.path.join(workdir, "_bench_api_floor.c")
    with open(path, "w") as f:
        f.write(FLOOR_C % (c, ", ".join(f"(void*)&f{i}" for i in range(n))))
    dist = Distribution({"ext_modules": [Extension("_bench_api_floor", [path])]})
    cmd = dist.get_command_obj("build_ext")
    cmd.build_lib, cmd.build_temp = workdir, os.path.join(workdir, "build_floor")
    cmd.ensure_finalized()
    with open(os.devnull, "w") as devnull:
        saved = os.dup(1)
        os.dup2(devnull.fileno(), 1)
        try:
            cmd.run()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    return "_bench_api_floor"


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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
            t = children_cpu()
            ffi.compile(tmpdir=workdir, verbose=False)
            seconds = children_cpu() - t
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    return module, seconds


def import_time(library, module, workdir, runs):
    code = IMPORT_CHILD.format(workdir=workdir, module=module,
                               library={"cffix": "cffix", "cffi": "_cffi_backend"}.get(library,
                                                                                      "sys"))
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
    try:
        floor = import_time("floor", build_floor(workdir, args.functions), workdir, args.runs)
    except Exception as exc:
        print(f"floor: skipped ({type(exc).__name__}: {exc})")
        floor = None
    print(f"API-mode module of {args.functions} functions")
    print(f"{'':12}{'compile s':>12}{'import ms':>12}")
    for library, (compile_s, import_s) in results.items():
        print(f"{library:12}{compile_s:>12.2f}{import_s * 1000:>12.3f}")
    if floor is not None:
        print(f"{'floor':12}{'':>12}{floor * 1000:>12.3f}")
    if len(results) == 2:
        (cc, ci), (fc, fi) = results["cffix"], results["cffi"]
        print(f"{'cffix/cffi':12}{cc / fc:>11.2f}x{ci / fi:>11.2f}x  "
              "(goals: compile < 1x, import <= 0.1x)")
        if floor is not None:
            print(f"{'over floor':12}{'':>12}  cffix {ci / floor:.2f}x, cffi {fi / floor:.2f}x "
                  "(import: loading the .so and the import system dominate)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
