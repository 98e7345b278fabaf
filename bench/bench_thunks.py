"""The register thunks against libffi, per signature shape, in one process.

Builds a small C library (below) with the host's cc, then times each function called
through cffix's thunk and through libffi (`cffix._core._force_libffi(True)`: the general
converters, then `ffi_call`), interleaved, minimum of several runs of process CPU time.
`libffi/thunk` is the ratio of the two per-call times: how much the thunk saves. A shape
that has no thunk on this machine (`thunk` column "no") takes libffi either way; its row
shows what a thunk for it could save, by analogy with the shapes that have one.

Also counts the writable+executable mappings that 200 live callbacks leave in
/proc/self/maps (the trampoline pool's purpose is that there are none). Natively only:
qemu-user's emulated /proc/self/maps does not show libffi's read-write-execute pages
either, so under qemu the count is 0 with or without the pool.

Written to decide on AArch64 (issue 13) whether struct and stack thunks and the trampoline
pool are worth having there: run it natively on x86-64 and under qemu-user in the arm64
root (`bash .ci/arm64.sh` leaves one; see README "Reliability"). Under emulation the
absolute times mean nothing and the ratios are only indicative: qemu translates each
guest instruction into several host ones, and indirect branches and calls (what libffi's
ffi_call is made of) cost more there than on hardware. Nothing is asserted.

    python3 bench/bench_thunks.py [--repeat N] [--number N]
"""

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

from cffix import FFI
import cffix._core as core

C_SOURCE = r"""
struct ii { long a, b; };
struct dd { double a, b; };
struct big { long a[4]; };
int add(int a, int b) { return a + b; }
double add_double(double a, double b) { return a + b; }
double mix6(int a, double b, long c, float d, unsigned char e, double f) {
    return a + b + c + d + e + f;
}
long ii_sum(struct ii s) { return s.a + s.b; }
double dd_sum(struct dd s) { return s.a + s.b; }
struct dd dd_make(double a, double b) { struct dd r = {a, b}; return r; }
long big_sum(struct big s) { return s.a[0] + s.a[1] + s.a[2] + s.a[3]; }
long ten(long a, long b, long c, long d, long e, long f, long g, long h, long i, long j) {
    return a + b + c + d + e + f + g + h + i + j;
}
struct v3 { double x, y, z; };
struct f4 { float a, b, c, d; };
double v3_dot(struct v3 a, struct v3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
struct v3 v3_scale(struct v3 a, double k) { struct v3 r = {a.x * k, a.y * k, a.z * k}; return r; }
float f4_sum(struct f4 s) { return s.a + s.b + s.c + s.d; }
"""

CDEF = """
struct ii { long a, b; };
struct dd { double a, b; };
struct big { long a[4]; };
int add(int a, int b);
double add_double(double a, double b);
double mix6(int a, double b, long c, float d, unsigned char e, double f);
long ii_sum(struct ii s);
double dd_sum(struct dd s);
struct dd dd_make(double a, double b);
long big_sum(struct big s);
long ten(long, long, long, long, long, long, long, long, long, long);
struct v3 { double x, y, z; };
struct f4 { float a, b, c, d; };
double v3_dot(struct v3 a, struct v3 b);
struct v3 v3_scale(struct v3 a, double k);
float f4_sum(struct f4 s);
"""


def build(tmp):
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    src = os.path.join(tmp, "thunks.c")
    with open(src, "w") as f:
        f.write(C_SOURCE)
    lib = os.path.join(tmp, "libthunks.so")
    subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", lib, src], check=True)
    return lib


def make_cases(ffi, lib):
    """(signature, function, arguments) of each shape timed."""
    ii = ffi.new("struct ii *", (1, 2))[0]
    dd = ffi.new("struct dd *", (1.5, 2.5))[0]
    big = ffi.new("struct big *", ([1, 2, 3, 4],))[0]
    v3 = ffi.new("struct v3 *", (1.0, 2.0, 3.0))[0]
    f4 = ffi.new("struct f4 *", (1.0, 2.0, 3.0, 4.0))[0]
    return [
        ("int add(int, int)", lib.add, (1, 2)),
        ("double add_double(double, double)", lib.add_double, (1.0, 2.0)),
        ("double mix6(int, double, long, float, unsigned char, double)", lib.mix6,
         (1, 2.0, 3, 4.0, 5, 6.0)),
        ("long ten(long x 10)  [2 words on the stack]", lib.ten, tuple(range(10))),
        ("long ii_sum(struct {long, long})", lib.ii_sum, (ii,)),
        ("double dd_sum(struct {double, double})", lib.dd_sum, (dd,)),
        ("struct dd dd_make(double, double)", lib.dd_make, (1.0, 2.0)),
        ("long big_sum(struct {long[4]})  [32 bytes]", lib.big_sum, (big,)),
        ("double v3_dot(struct v3, struct v3)  [24 bytes]", lib.v3_dot, (v3, v3)),
        ("struct v3 v3_scale(struct v3, double)", lib.v3_scale, (v3, 2.0)),
        ("float f4_sum(struct {float x 4})", lib.f4_sum, (f4,)),
    ]


def per_call(fn, args, number):
    start = time.process_time()
    for _ in range(number):
        fn(*args)
    return (time.process_time() - start) / number


def rwx_mappings():
    try:
        with open("/proc/self/maps") as f:
            return sum(1 for line in f if re.match(r"\S+ rwx", line))
    except OSError:
        return -1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--number", type=int, default=20000)
    opts = parser.parse_args()
    ffi = FFI()
    ffi.cdef(CDEF)
    with tempfile.TemporaryDirectory() as tmp:
        lib = ffi.dlopen(build(tmp))
        cases = make_cases(ffi, lib)
        best = {name: [float("inf"), float("inf")] for name, _, _ in cases}
        for _ in range(opts.repeat):
            for name, fn, args in cases:
                for forced in (False, True):
                    core._force_libffi(forced)
                    try:
                        t = per_call(fn, args, opts.number)
                    finally:
                        core._force_libffi(False)
                    best[name][forced] = min(best[name][forced], t)
        print(f"{platform.machine()}, Python {platform.python_version()}, "
              f"{opts.number} calls x {opts.repeat} runs, process CPU time")
        print(f"{'signature':64} {'default':>10} {'libffi':>10} {'libffi/default':>15}")
        for name, _, _ in cases:
            t, f = best[name]
            print(f"{name:64} {t * 1e9:8.0f}ns {f * 1e9:8.0f}ns {f / t:15.2f}")
        print("(libffi/default near 1.0: the default path is libffi already, no thunk)")
        print("thunk: " + ", ".join(f"{name.split('(')[0].split()[-1]} "
                                    f"{core._call_path(ffi.typeof(fn))}"
                                    for name, fn, _ in cases))
        base = rwx_mappings()
        cbs = [ffi.callback("int(int)", lambda x: x + 1) for _ in range(200)]
        assert cbs[0](1) == 2
        print(f"writable+executable mappings: {base} before, {rwx_mappings()} with "
              f"{len(cbs)} live callbacks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
