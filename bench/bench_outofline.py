"""Import cost of an out-of-line ABI module: cffix's generated module against cffi's.

For two cdefs, a small libc-like one and the large generated binding of bench_cdef.py
(500 structs, 500 typedefs, 2,000 functions), it writes in a temporary directory

  * the cffix module: ``set_source("_x_cffix", None); compile()``,
  * cffi's module for the same text (when cffi is installed), and
  * an empty module,

then runs ``import <module>`` N times, each in a fresh interpreter (this one) that
times its own import statement (CPU time by default, ``--timer wall`` for the wall
clock; interpreter start-up is left out), all commands interleaved so that machine
noise hits them alike, and reports the median of each minus the median of
``import _empty`` (the interpreter's own start-up and import
machinery), with the cffix/cffi ratio. cffix's module replays the cdef text at import;
cffi's loads pre-digested tables and builds types on first use, so the large cdef shows
the cost of the replay. Also prints the in-process replay time per declaration.

    python3 bench/bench_outofline.py [-n N] [--quick] [--timer cpu|wall]

Prints timings only; it never asserts anything about them.
"""

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

SMALL_CDEF = """\
typedef unsigned long size_t_alias;
struct tm_like { int sec, min, hour, mday, mon, year, wday, yday, isdst; long gmtoff; };
struct flags { unsigned int ready : 1; unsigned int mode : 3; unsigned int rest : 28; };
typedef int (*compare_fn)(const void *, const void *);
enum color { RED, GREEN = 5, BLUE };
size_t strlen(const char *);
int strcmp(const char *, const char *);
char *strncpy(char *, const char *, size_t);
void *memcpy(void *, const void *, size_t);
void *malloc(size_t);
void free(void *);
int printf(const char *, ...);
void qsort(void *, size_t, size_t, compare_fn);
int abs(int);
double sqrt(double);
"""
SMALL_DECLS = SMALL_CDEF.count(";\n")


def large_cdef():
    """bench_cdef.py's text and its number of top-level declarations."""
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    import bench_cdef

    text = bench_cdef.generate_cdef()
    decls = 2 * bench_cdef.N_STRUCTS + bench_cdef.N_TYPEDEFS + bench_cdef.N_FUNCTIONS
    return text, decls


def generate(directory, name, text):
    """Write _<name>_cffix.py and, with cffi, _<name>_cffi.py; return the module names."""
    import cffix

    builder = cffix.FFI()
    builder.cdef(text)
    builder.set_source(f"_{name}_cffix", None)
    builder.compile(tmpdir=directory)
    modules = [f"_{name}_cffix"]
    try:
        import cffi
    except ImportError:
        return modules
    builder = cffi.FFI()
    builder.cdef(text)
    builder.set_source(f"_{name}_cffi", None)
    builder.compile(tmpdir=directory)
    return modules + [f"_{name}_cffi"]


# The child times its own import statement, so interpreter start-up (site, .pth files)
# stays out of the measurement.
CHILD = """\
import time
w, c = time.perf_counter(), time.process_time()
import {module}
print(time.perf_counter() - w, time.process_time() - c)
"""


def run_once(module, cwd, timer="cpu"):
    """Import `module` in a fresh interpreter; the import's CPU or wall time, in seconds."""
    proc = subprocess.run([sys.executable, "-c", CHILD.format(module=module)], cwd=cwd,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        last = proc.stderr.strip().splitlines()[-1:] or ["?"]
        raise RuntimeError(last[0])
    wall, cpu = map(float, proc.stdout.split())
    return cpu if timer == "cpu" else wall


def replay_time(text, repeat=5):
    """Min CPU time of FFI().cdef(text) in this process."""
    import cffix

    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        cffix.FFI().cdef(text)
        best = min(best, time.process_time() - t0)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="runs of each import")
    parser.add_argument("--quick", action="store_true", help="3 runs, small cdef only")
    parser.add_argument("--timer", choices=("cpu", "wall"), default="cpu",
                        help="the import's CPU time (default: steadier on a loaded machine) "
                             "or its wall time")
    args = parser.parse_args(argv)
    n = 3 if args.quick else max(1, args.n)

    cdefs = {"small": (SMALL_CDEF, SMALL_DECLS)}
    if not args.quick:
        cdefs["large"] = large_cdef()

    with tempfile.TemporaryDirectory(prefix="cffix-bench-") as tmp:
        pathlib.Path(tmp, "_empty.py").write_text("")
        commands = {"import _empty": "_empty", "import cffix": "cffix"}
        for name, (text, _) in cdefs.items():
            for module in generate(tmp, name, text):
                commands[f"import {module}"] = module
        env_note = os.environ.get("PYTHONPATH", "")

        for code in commands.values():  # warm the file cache, write the .pyc files
            run_once(code, tmp, args.timer)
        times = {label: [] for label in commands}
        failed = {}
        for _ in range(n):
            for label, code in commands.items():
                if label in failed:
                    continue
                try:
                    times[label].append(run_once(code, tmp, args.timer))
                except RuntimeError as exc:
                    failed[label] = str(exc)

    base = statistics.median(times["import _empty"])
    print(f"import of a generated out-of-line module, fresh interpreter, {args.timer} time, "
          f"median of {n} runs;")
    print(f"'extra' is over `import _empty` ({base * 1e3:.2f} ms)"
          + (f"; PYTHONPATH={env_note}" if env_note else ""))
    print(f"{'':<26} {'median':>10} {'extra':>10}")
    extras = {}
    for label in commands:
        if label in failed:
            print(f"{label:<26} failed: {failed[label]}")
            continue
        median = statistics.median(times[label])
        extras[label] = median - base
        print(f"{label:<26} {median * 1e3:>7.2f} ms {extras[label] * 1e3:>7.2f} ms")

    for name, (text, decls) in cdefs.items():
        ours = extras.get(f"import _{name}_cffix")
        theirs = extras.get(f"import _{name}_cffi")
        replay = replay_time(text)
        print(f"{name} cdef ({len(text) / 1e3:.1f} kB, {decls} declarations): replaying it "
              f"costs {replay * 1e3:.2f} ms in-process ({replay / decls * 1e6:.1f} us each)")
        if ours is not None and theirs is not None and ours > 0 and theirs > 0:
            print(f"  extra import: cffix {ours * 1e3:.2f} ms, cffi {theirs * 1e3:.2f} ms "
                  f"(cffix/cffi = {ours / theirs:.2f})")
        library = extras.get("import cffix")
        if ours is not None and library is not None:
            print(f"  the cffix module beyond `import cffix`: {(ours - library) * 1e3:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
