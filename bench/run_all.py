"""Run every bench/bench_*.py with this interpreter, one after the other.

    python3 bench/run_all.py [--quick]

Options after the script name are passed to each benchmark (all of them accept
--quick). Exits non-zero if a benchmark crashed; timings are only printed.
"""

import pathlib
import subprocess
import sys


def main():
    here = pathlib.Path(__file__).resolve().parent
    failures = []
    for script in sorted(here.glob("bench_*.py")):
        print(f"== {script.name}", flush=True)
        rc = subprocess.run([sys.executable, str(script), *sys.argv[1:]]).returncode
        if rc != 0:
            failures.append(f"{script.name} (exit {rc})")
        print(flush=True)
    if failures:
        print("failed: " + ", ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
