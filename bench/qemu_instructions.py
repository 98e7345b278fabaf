"""Instructions per call through the register thunks and through libffi, counted under
qemu-user, on AArch64 and on x86-64 by the same method.

callgrind counts instructions on x86-64 (bench/callgrind_calls.py), but nothing here can
count them on AArch64: Debian's qemu-user-static has no TCG plugins and valgrind does not
run emulated. This script counts them with qemu-user's own logging instead: with
QEMU_SINGLESTEP=1 every translated block is one guest instruction, with
QEMU_LOG=nochain,exec qemu logs each block it executes (one "Trace" line per
instruction), and with QEMU_STRACE=1 it logs system calls in the same stream. The child
interpreter calls os.getppid() as a marker around each loop of calls; a reader on the
host counts Trace lines between markers. Per call: (long loop - short loop) / the
difference in calls, the loop's own instructions included (the same for both paths).

The child runs bench_thunks.py's shapes (make_cases), each through the thunk and through
libffi (`cffix._core._force_libffi(True)`: the general converters, then ffi_call).
Counts are of the emulated guest instructions, which on a real CPU of that architecture
would be the same instructions (timing is not modelled). A run takes a few minutes per
architecture (qemu runs 0.5 to 1 million logged instructions a second here).

    python3 bench/qemu_instructions.py [--arch aarch64,x86_64] [--calls 1000]

As root on an x86-64 Debian host: aarch64 runs in the arm64 root that `.ci/arm64.sh`
makes and installs cffix in (CFFIX_ARM64_ROOT, default /opt/arm64-root; its venv
/opt/cffix-venv, the source tree's copy in /src), through binfmt_misc's qemu-aarch64;
x86_64 runs this interpreter (with cffix installed) under qemu-x86_64-static. Needs
qemu-user-static. Nothing is asserted.
"""

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading

HERE = pathlib.Path(__file__).resolve().parent
ROOT = pathlib.Path(os.environ.get("CFFIX_ARM64_ROOT", "/opt/arm64-root"))

CHILD = r'''
import gc, os, sys
sys.path.insert(0, {bench!r})
import bench_thunks as bt
import cffix._core as core
from cffix import FFI
ffi = FFI()
ffi.cdef(bt.CDEF)
lib = ffi.dlopen({library!r})
cases = bt.make_cases(ffi, lib)
gc.disable()
short, long_ = {short}, {long}
for name, fn, args in cases:
    for forced in (False, True):
        core._force_libffi(forced)
        def loop(n, fn=fn, args=args):
            for _ in range(n):
                fn(*args)
        loop(100)
        os.getppid()
        loop(short)
        os.getppid()
        loop(long_)
        os.getppid()
        core._force_libffi(False)
print("\n".join(name for name, _, _ in cases))
'''


def count_markers(fifo, out):
    """Reads qemu's log from `fifo`: the number of Trace lines seen at each getppid."""
    seen = 0
    carry = b""
    with open(fifo, "rb") as log:
        while True:
            chunk = log.read(1 << 22)
            if not chunk:
                break
            chunk = carry + chunk
            cut = chunk.rfind(b"\n") + 1
            chunk, carry = chunk[:cut], chunk[cut:]
            start = 0
            while True:
                at = chunk.find(b"getppid", start)
                if at < 0:
                    seen += chunk.count(b"Trace ", start)
                    break
                seen += chunk.count(b"Trace ", start, at)
                out.append(seen)
                start = chunk.find(b"\n", at) + 1
    out.append(seen)  # the total, last


def run_traced(argv, fifo, fifo_inside, env, chroot=None):
    """Runs argv with qemu's log going to `fifo` (its path as the child sees it:
    `fifo_inside`); the child's stdout lines and the counts at each marker."""
    markers = []
    reader = threading.Thread(target=count_markers, args=(fifo, markers))
    reader.start()
    env = dict(env, QEMU_SINGLESTEP="1", QEMU_LOG="nochain,exec", QEMU_STRACE="1",
               QEMU_LOG_FILENAME=fifo_inside)
    cmd = (["chroot", str(chroot)] + argv) if chroot else argv
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    finally:
        if reader.is_alive() and not markers:  # the child never opened the log
            with open(fifo, "wb"):
                pass
        reader.join()
    if proc.returncode != 0:
        sys.exit(f"the traced child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    names = [line for line in proc.stdout.splitlines() if line.strip()]
    return names, markers


def measure(arch, calls):
    short, long_ = 200, 200 + calls
    with tempfile.TemporaryDirectory() as tmp:
        if arch == "aarch64":
            if not (ROOT / "opt/cffix-venv/bin/python").exists():
                sys.exit(f"no arm64 root with cffix at {ROOT}: run `bash .ci/arm64.sh` once")
            work = pathlib.Path(tempfile.mkdtemp(dir=ROOT / "tmp"))
            inside = "/tmp/" + work.name
            python = ["/opt/cffix-venv/bin/python"]
            bench = "/src/bench"
            shutil.copy(HERE / "bench_thunks.py", ROOT / "src/bench/bench_thunks.py")
            chroot = ROOT
            mounted = [m for m in ("proc", "dev") if not os.path.ismount(ROOT / m)]
            for m in mounted:
                subprocess.run(["mount", "--bind", "/" + m, str(ROOT / m)], check=True)
        else:
            qemu = shutil.which("qemu-x86_64-static") or shutil.which("qemu-x86_64")
            if not qemu:
                sys.exit("qemu-x86_64-static not found (apt-get install qemu-user-static)")
            work = pathlib.Path(tmp)
            inside = str(work)
            python = [qemu, sys.executable]
            bench = str(HERE)
            chroot = None
            mounted = []
        try:
            run = (["chroot", str(chroot)] if chroot else []) + [python[-1], "-c",
                   f"import sys; sys.path.insert(0, {bench!r}); import bench_thunks as bt; "
                   f"print(bt.build({inside!r}))"]
            library = subprocess.run(run, check=True, capture_output=True,
                                     text=True).stdout.strip()
            script = work / "child.py"
            script.write_text(CHILD.format(bench=bench, library=library, short=short,
                                           long=long_))
            fifo = work / "trace"
            os.mkfifo(fifo)
            names, markers = run_traced(python + [inside + "/child.py"], str(fifo),
                                        inside + "/trace", os.environ, chroot)
        finally:
            for m in mounted:
                subprocess.run(["umount", str(ROOT / m)], check=False)
            if chroot:
                shutil.rmtree(work, ignore_errors=True)
    total = markers.pop()
    if len(markers) != 6 * len(names):
        sys.exit(f"expected {6 * len(names)} markers, saw {len(markers)}: is QEMU_STRACE "
                 "logging getppid?")
    rows = []
    for k, name in enumerate(names):
        per = []
        for forced in (0, 1):
            a, b, c = markers[6 * k + 3 * forced: 6 * k + 3 * forced + 3]
            per.append(((c - b) - (b - a)) / calls)
        rows.append((name, per[0], per[1]))
    return rows, total


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arch", default="aarch64,x86_64")
    parser.add_argument("--calls", type=int, default=1000)
    opts = parser.parse_args()
    results = {}
    for arch in opts.arch.split(","):
        rows, total = measure(arch, opts.calls)
        results[arch] = rows
        print(f"\n{arch} (qemu-user, one instruction per block; {total:,} instructions "
              f"in the child; {opts.calls} calls)")
        print(f"{'signature':56} {'thunk':>8} {'libffi':>8} {'saved':>7} {'libffi/thunk':>13}")
        for name, thunk, libffi in rows:
            print(f"{name:56} {thunk:8.0f} {libffi:8.0f} {libffi - thunk:7.0f} "
                  f"{libffi / thunk:13.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
