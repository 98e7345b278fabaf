"""cdef and first-use typeof: cffix against cffi, in one process.

Generates plain C declarations the size of a real library binding (500 structs
with nested structs, arrays, bitfields and function-pointer members; 500
typedefs; 2,000 function declarations), then measures

  * ``FFI().cdef(text)``,
  * the first ``ffi.typeof(s)`` of 1,000 distinct type strings after that cdef
    (a fresh FFI and cdef per run, outside the timed part), and
  * the same 1,000 ``typeof`` calls again (the per-string cache),

interleaving the two libraries and keeping the minimum of several runs.
It prints a table; it never asserts anything about timings.

    python3 bench/bench_cdef.py [--repeat N] [--quick] [--emit FILE]
"""

import argparse
import gc
import random
import sys
import time

N_STRUCTS = 500
N_TYPEDEFS = 500
N_FUNCTIONS = 2000
N_TYPEOF = 1000

SCALARS = [
    "int", "unsigned int", "long", "unsigned long", "short", "unsigned short",
    "char", "signed char", "unsigned char", "long long", "unsigned long long",
    "float", "double", "size_t", "int8_t", "int16_t", "int32_t", "int64_t",
    "uint8_t", "uint16_t", "uint32_t", "uint64_t", "intptr_t", "void *",
    "char *", "const char *", "const void *", "_Bool",
]
BITFIELD_TYPES = ["unsigned int", "int", "unsigned char", "unsigned short"]
BITFIELD_MAX = {"unsigned int": 32, "int": 32, "unsigned char": 8, "unsigned short": 16}


def generate_cdef(seed=1234):
    """Return the C text: plain C99 that both cffi and cffix accept."""
    rng = random.Random(seed)
    out = []
    for i in range(N_STRUCTS):
        out.append(f"struct s{i};")
    for i in range(N_STRUCTS):
        fields = []
        for k in range(rng.randint(3, 8)):
            fields.append(f"    {rng.choice(SCALARS)} f{k};")
        fields.append(f"    struct s{rng.randrange(N_STRUCTS)} *link;")
        if i > 0 and rng.random() < 0.4:
            fields.append(f"    struct s{rng.randrange(max(0, i - 20), i)} inner;")
        if rng.random() < 0.5:
            fields.append(f"    char name[{rng.choice([8, 16, 32, 64])}];")
        if rng.random() < 0.3:
            fields.append(f"    double m[{rng.randint(2, 4)}][{rng.randint(2, 4)}];")
        if rng.random() < 0.4:
            for k in range(rng.randint(1, 4)):
                t = rng.choice(BITFIELD_TYPES)
                fields.append(f"    {t} bits{k} : {rng.randint(1, BITFIELD_MAX[t] - 1)};")
        if rng.random() < 0.3:
            fields.append(f"    int (*callback)(struct s{i} *self, void *userdata, int event);")
        if rng.random() < 0.2:
            fields.append(f"    union {{ int as_int; double as_double; void *as_ptr; }} u;")
        out.append(f"struct s{i} {{\n" + "\n".join(fields) + "\n};")

    quarter = N_TYPEDEFS // 4
    for k in range(quarter):
        out.append(f"typedef struct s{k} s{k}_t;")
        out.append(f"typedef int (*func_t_{k})(struct s{rng.randrange(N_STRUCTS)} *, int, void *);")
        out.append(f"typedef unsigned long handle_{k};")
        out.append(f"typedef double vec_{k}[{rng.choice([2, 3, 4, 8])}];")

    for n in range(N_FUNCTIONS):
        s = rng.randrange(N_STRUCTS)
        t = rng.randrange(quarter)
        shape = n % 8
        if shape == 0:
            out.append(f"int fn{n}(struct s{s} *self, const char *name, size_t len);")
        elif shape == 1:
            out.append(f"void *fn{n}(s{t}_t *obj, handle_{t} handle, unsigned int flags);")
        elif shape == 2:
            out.append(f"void fn{n}(func_t_{t} callback, void *userdata);")
        elif shape == 3:
            out.append(f"double fn{n}(double x, double y, "
                       f"int (*compare)(const void *, const void *));")
        elif shape == 4:
            out.append(f"struct s{s} *fn{n}(void);")
        elif shape == 5:
            out.append(f"int fn{n}(const char *format, ...);")
        elif shape == 6:
            out.append(f"long fn{n}(int argc, char **argv, vec_{t} *out, size_t *count);")
        else:
            out.append(f"s{t}_t fn{n}(s{t}_t value, const struct s{s} *other, int64_t when);")
    return "\n".join(out) + "\n"


def typeof_strings(run):
    """1,000 distinct type strings; array lengths change per run, so no global
    cache of an engine can serve one run's strings to the next."""
    per_kind = N_TYPEOF // 8
    strings = []
    for m in range(per_kind):
        strings += [
            f"struct s{m} *",
            f"struct s{m + per_kind}",
            f"func_t_{m}",
            f"int[{42 + m + 1000 * run}]",
            f"struct s{m + 2 * per_kind} *[{3 + m + 1000 * run}]",
            f"s{m}_t *",
            f"vec_{m} *",
            f"int (*)(struct s{m + 3 * per_kind} *, long)",
        ]
    return strings


def timed(fn):
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    finally:
        gc.enable()


def load_engines():
    engines = {}
    try:
        import cffix
        engines["cffix"] = cffix.FFI
    except Exception as exc:  # the engine may be absent or broken: say so, go on
        print(f"cffix unavailable: {type(exc).__name__}: {exc}")
    try:
        import cffi
        engines["cffi"] = cffi.FFI
    except Exception as exc:
        print(f"cffi unavailable: {type(exc).__name__}: {exc}")
    return engines


def bench(engines, text, repeat):
    best = {name: {} for name in engines}
    failed = {}
    order = list(engines)
    for run in range(repeat):
        strings = typeof_strings(run)
        for name in order if run % 2 == 0 else reversed(order):
            if name in failed:
                continue
            make_ffi = engines[name]
            try:
                cdef_time = timed(lambda: make_ffi().cdef(text))
                ffi = make_ffi()
                ffi.cdef(text)
                first = timed(lambda: [ffi.typeof(s) for s in strings])
                again = timed(lambda: [ffi.typeof(s) for s in strings])
            except Exception as exc:
                failed[name] = f"{type(exc).__name__}: {exc}"
                continue
            for key, value in (("cdef", cdef_time), ("first", first), ("again", again)):
                best[name][key] = min(best[name].get(key, value), value)
    return best, failed


def check_layouts(engines):
    """The point of a faster cdef is lost if it is wrong: compare every struct's size."""
    if set(engines) != {"cffix", "cffi"}:
        return
    text = generate_cdef()
    try:
        ours, theirs = engines["cffix"](), engines["cffi"]()
        ours.cdef(text)
        theirs.cdef(text)
        diff = [i for i in range(N_STRUCTS)
                if ours.sizeof(f"struct s{i}") != theirs.sizeof(f"struct s{i}")]
    except Exception as exc:
        print(f"layout check: failed: {type(exc).__name__}: {exc}")
        return
    if diff:
        print(f"layout check: sizeof differs from cffi for {len(diff)} structs, "
              f"e.g. struct s{diff[0]}")
    else:
        print(f"layout check: sizeof of all {N_STRUCTS} structs agrees with cffi")


def fmt_time(seconds):
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def fmt_ratio(ours, theirs):
    if ours is None or theirs is None or ours <= 0:
        return ""
    if theirs >= ours:
        return f"cffix {_times(theirs / ours)} faster"
    return f"cffix {_times(ours / theirs)} slower"


def _times(ratio):
    return f"{ratio:,.0f}x" if ratio >= 100 else f"{ratio:.1f}x"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # cffi parses every new typeof string with its full C parser, prefixed by all known
    # typedef names: ~50 ms a string here, so one of its runs takes ~45 s.
    parser.add_argument("--repeat", type=int, default=3, help="runs per engine (min is kept)")
    parser.add_argument("--quick", action="store_true", help="1 run")
    parser.add_argument("--emit", metavar="FILE", help="write the generated cdef to FILE")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else max(1, args.repeat)

    text = generate_cdef()
    if args.emit:
        with open(args.emit, "w") as f:
            f.write(text)
    engines = load_engines()
    if not engines:
        return 1
    best, failed = bench(engines, text, repeat)

    print(f"cdef: {N_STRUCTS} structs, {N_TYPEDEFS} typedefs, {N_FUNCTIONS} functions "
          f"({len(text):,} bytes, {text.count(chr(10)):,} lines); min of {repeat} run(s)")
    rows = [
        ("FFI().cdef(text)", "cdef"),
        (f"typeof, {N_TYPEOF} new strings", "first"),
        (f"typeof, same {N_TYPEOF} again", "again"),
    ]
    print(f"{'':<28} {'cffix':>11} {'cffi':>11}   ratio")
    for label, key in rows:
        ours = best.get("cffix", {}).get(key)
        theirs = best.get("cffi", {}).get(key)
        row = f"{label:<28} {fmt_time(ours):>11} {fmt_time(theirs):>11}   {fmt_ratio(ours, theirs)}"
        print(row.rstrip())
    for name, error in failed.items():
        print(f"{name} failed: {error}")
    check_layouts({k: v for k, v in engines.items() if k not in failed})
    return 0


if __name__ == "__main__":
    sys.exit(main())
