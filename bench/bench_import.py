"""Start-up cost: `import cffix; cffix.FFI()` against `import cffi; cffi.FFI()`.

Runs each command N times as a fresh interpreter (the same interpreter as this
script), interleaved so that machine noise hits all three alike, and reports the
median wall time of each minus the median of `python -S -c pass`.

The children run with bytecode caching on (PYTHONDONTWRITEBYTECODE removed from their
environment), as an installed package has its .pyc files: otherwise a source checkout on
PYTHONPATH would be compiled again at every start and measure the compiler. They run with
`-S` and this interpreter's site-packages on PYTHONPATH: the packages import the same,
but .pth start-up hooks some environments install (tens of milliseconds of their own
imports) stay out of every measurement.

    python3 bench/bench_import.py [-n N]
"""

import argparse
import os
import site
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -S -c pass": "pass",
    "import cffix; cffix.FFI()": "import cffix; cffix.FFI()",
    "import cffi; cffi.FFI()": "import cffi; cffi.FFI()",
}


CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
CHILD_ENV["PYTHONPATH"] = os.pathsep.join(
    [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    + site.getsitepackages() + [site.getusersitepackages()])


def run_once(code):
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                          env=CHILD_ENV)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        last = proc.stderr.strip().splitlines()[-1:] or ["?"]
        raise RuntimeError(last[0])
    return elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="runs of each command")
    parser.add_argument("--quick", action="store_true", help="5 runs of each command")
    args = parser.parse_args(argv)
    n = 5 if args.quick else max(1, args.n)

    times = {label: [] for label in COMMANDS}
    failed = {}
    for code in COMMANDS.values():  # warm the OS file cache and .pyc files; not counted
        try:
            run_once(code)
        except RuntimeError:
            pass
    for _ in range(n):
        for label, code in COMMANDS.items():
            if label in failed:
                continue
            try:
                times[label].append(run_once(code))
            except RuntimeError as exc:
                failed[label] = str(exc)

    base = statistics.median(times["python -S -c pass"])
    print(f"start-up cost over `python -S -c pass` ({base * 1e3:.1f} ms); median of {n} runs")
    print(f"{'':<28} {'median':>10} {'extra':>10}")
    extras = {}
    for label in COMMANDS:
        if label in failed:
            print(f"{label:<28} failed: {failed[label]}")
            continue
        median = statistics.median(times[label])
        extras[label] = median - base
        print(f"{label:<28} {median * 1e3:>7.1f} ms {extras[label] * 1e3:>7.1f} ms")
    ours = extras.get("import cffix; cffix.FFI()")
    theirs = extras.get("import cffi; cffi.FFI()")
    if ours is not None and theirs is not None and ours > 0:
        print(f"extra start-up: cffix {ours * 1e3:.1f} ms, cffi {theirs * 1e3:.1f} ms "
              f"({theirs / ours:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
