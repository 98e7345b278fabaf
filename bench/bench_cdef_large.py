"""Large cdefs: parse time of whole preprocessed headers, and the first use after them.

Two parts, in one process, printing tables with ratios (no timing is asserted):

1. Real headers, cffix alone (cffi's parser refuses raw `cc -E` output of most of them):
   `#include <H>` through `cc -E -P` (the preprocessor's time, min of runs, is measured
   too), then `FFI().cdef(text)`, then on that FFI the first use: the first `ffi.typeof`
   of a struct not asked for yet, the first `ffi.new` of one, and the first fetch of a
   function from the library (`lib.f`, where the library is installed). The ratio
   `(cc -E + cdef) / cc -E` is what a `cdef_header()` run costs over its preprocessor.

2. A synthetic cdef both libraries accept (plain C99: N structs with nested structs,
   self-links, arrays, bitfields and callbacks; typedefs; functions, plus a few of libc's
   so that `lib.f` resolves), 5,000 declarations by default: `cdef` time and the same
   first uses, cffix against cffi, with cffi/cffix ratios.

The first uses run with the cyclic GC enabled, right after the cdef, as in a program. A
cdef also leaves a one-time cost for whatever allocates next (inside cdef()'s own Python
code, or the first use): the collection of the young generation, which scans every
tracked object the cdef made. It is measured apart ("gc0", "collection after the cdef":
the cdef run with the GC paused, then `gc.collect(0)`). Each run uses a fresh FFI; the
median of `--repeat` runs is printed (the first use happens once per FFI, so a run has
one sample of each).

    python3 bench/bench_cdef_large.py [--repeat N] [--quick] [--declarations N]
"""

import argparse
import ctypes.util
import gc
import random
import shutil
import statistics
import subprocess
import sys
import time

from bench_cdef import fmt_time as fmt  # (bench/ is the script's folder: on sys.path)

# (header, extra preprocessor flags, library for lib.f, a struct type, a function to fetch)
HEADERS = [
    ("openssl/ssl.h", [], "ssl", "struct ossl_param_st", "SSL_CTX_new"),
    ("libxml/parser.h", ["-I/usr/include/libxml2"], "xml2", "struct _xmlParserCtxt", "xmlReadMemory"),
    ("sqlite3.h", [], "sqlite3", "struct sqlite3_io_methods", "sqlite3_libversion"),
    ("gcrypt.h", [], "gcrypt", "gcry_buffer_t", "gcry_check_version"),
    ("X11/Xlib.h", [], "X11", "struct _XImage", "XOpenDisplay"),
    ("zlib.h", [], "z", "struct z_stream_s", "zlibVersion"),
]

SCALARS = ["int", "unsigned int", "long", "unsigned long", "short", "char", "double",
           "float", "size_t", "int32_t", "uint64_t", "void *", "const char *", "_Bool"]


def synthetic_cdef(declarations, seed=5000):
    """Plain C both parsers accept: 1/6 structs, 1/6 typedefs, the rest functions."""
    rng = random.Random(seed)
    n_structs = declarations // 6
    n_typedefs = declarations // 6
    n_functions = declarations - n_structs - n_typedefs
    out = [f"struct s{i};" for i in range(n_structs)]
    for i in range(n_structs):
        fields = [f"    {rng.choice(SCALARS)} f{k};" for k in range(rng.randint(3, 7))]
        fields.append(f"    struct s{i} *self;")
        fields.append(f"    struct s{rng.randrange(n_structs)} *link;")
        if i > 0 and rng.random() < 0.3:
            fields.append(f"    struct s{rng.randrange(max(0, i - 20), i)} inner;")
        if rng.random() < 0.4:
            fields.append(f"    char name[{rng.choice([8, 16, 32])}];")
        if rng.random() < 0.3:
            fields.append(f"    unsigned int bits : {rng.randint(1, 31)};")
        if rng.random() < 0.3:
            fields.append(f"    int (*callback)(struct s{i} *self, void *userdata);")
        out.append(f"struct s{i} {{\n" + "\n".join(fields) + "\n};")
    for k in range(n_typedefs):
        shape = k % 3
        if shape == 0:
            out.append(f"typedef struct s{k % n_structs} t{k};")
        elif shape == 1:
            out.append(f"typedef int (*cb{k})(struct s{rng.randrange(n_structs)} *, int);")
        else:
            out.append(f"typedef unsigned long h{k};")
    for n in range(n_functions):
        s = rng.randrange(n_structs)
        shape = n % 4
        if shape == 0:
            out.append(f"int fn{n}(struct s{s} *self, const char *name, size_t len);")
        elif shape == 1:
            out.append(f"struct s{s} *fn{n}(void);")
        elif shape == 2:
            out.append(f"void fn{n}(void *userdata, int (*cb)(struct s{s} *, int));")
        else:
            out.append(f"double fn{n}(double x, long y, struct s{s} *out);")
    out.append("size_t strlen(const char *); int abs(int); void *memchr(const void *, int, size_t);")
    return "\n".join(out) + "\n", n_structs


def preprocess(cc, header, flags):
    cmd = [cc, "-E", "-P", *flags, "-"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, input=f"#include <{header}>\n", capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    return (proc.stdout if proc.returncode == 0 else None), elapsed


def settle():
    """Frees what earlier runs left. Twice: an FFI freed by a collection (in a cycle with its
    libraries) hands its records back to the GC then, and the next collection frees them."""
    gc.collect()
    gc.collect()


def first_uses(make_ffi, text, struct, library, function):
    """(cdef time, first typeof, first new, first lib.f) on a fresh FFI; None where absent."""
    settle()
    ffi = make_ffi()
    t0 = time.perf_counter()
    ffi.cdef(text)
    t1 = time.perf_counter()
    ffi.typeof(struct)
    t2 = time.perf_counter()
    ffi.new(f"{struct} *")
    t3 = time.perf_counter()
    fetch = None
    if library:
        lib = ffi.dlopen(library)
        t4 = time.perf_counter()
        getattr(lib, function)
        fetch = time.perf_counter() - t4
    return t1 - t0, t2 - t1, t3 - t2, fetch


def collection_after_cdef(make_ffi, text):
    """The one-time step a cdef leaves behind: the time of the young-generation collection
    that the first allocation after it triggers (the GC paused during the cdef, so that
    the collection is not spread over it)."""
    settle()
    ffi = make_ffi()
    gc.disable()
    try:
        ffi.cdef(text)
    finally:
        gc.enable()
    t0 = time.perf_counter()
    gc.collect(0)
    return time.perf_counter() - t0


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt_ratio(theirs, ours):
    if theirs is None or ours is None or ours <= 0:
        return ""
    r = theirs / ours
    return f"{r:,.0f}x" if r >= 100 else f"{r:.1f}x"


def bench_headers(repeat):
    import cffix
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        print("real headers: no C compiler (cc/gcc), skipped")
        return
    print(f"Real headers, `{cc} -E -P` then cffix's FFI().cdef() (both: min of {repeat} "
          f"run(s)); first uses on that FFI (median)")
    head = (f"{'header':<18} {'bytes':>9} {'cc -E':>9} {'cdef':>9} {'ratio':>6}  "
            f"{'typeof':>8} {'new':>8} {'lib.f':>8} {'gc0':>8}")
    print(head)
    for header, flags, libname, struct, function in HEADERS:
        text, _ = preprocess(cc, header, flags)
        if text is None:
            print(f"{header:<18} not installed")
            continue
        library = ctypes.util.find_library(libname)
        pre = min(preprocess(cc, header, flags)[1] for _ in range(repeat))
        runs = []
        try:
            for _ in range(repeat):
                runs.append(first_uses(cffix.FFI, text, struct, library, function))
            young = median([collection_after_cdef(cffix.FFI, text) for _ in range(repeat)])
        except Exception as exc:
            print(f"{header:<18} failed: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            continue
        cdef = min(run[0] for run in runs)  # the min, as the preprocessor's: noise only adds
        typeof, new, fetch = (median(col) for col in list(zip(*runs))[1:])
        ratio = (pre + cdef) / pre
        print(f"{header:<18} {len(text):>9,} {fmt(pre):>9} {fmt(cdef):>9} {ratio:>5.2f}x  "
              f"{fmt(typeof):>8} {fmt(new):>8} {fmt(fetch):>8} {fmt(young):>8}")
    print("ratio: (cc -E + cdef) / cc -E, what parsing adds to the preprocessor's own time "
          "(goal of issue 14's cdef_header(): under 3x, macros included)")
    print("gc0: the young-generation collection the first allocation after the cdef runs")


def bench_synthetic(declarations, repeat):
    engines = {}
    import cffix
    engines["cffix"] = cffix.FFI
    try:
        import cffi
        engines["cffi"] = cffi.FFI
    except Exception as exc:  # the comparison needs cffi; say so, go on
        print(f"cffi unavailable: {type(exc).__name__}: {exc}")
    text, n_structs = synthetic_cdef(declarations)
    libc = ctypes.util.find_library("c")
    struct = f"struct s{n_structs // 2}"
    results = {name: [] for name in engines}
    order = list(engines)
    for run in range(repeat):
        for name in order if run % 2 == 0 else reversed(order):
            results[name].append(first_uses(engines[name], text, struct, libc, "strlen") +
                                 (collection_after_cdef(engines[name], text),))
    print()
    print(f"Synthetic cdef: {declarations:,} declarations ({n_structs} structs), "
          f"{len(text):,} bytes; median of {repeat} run(s), GC enabled")
    print(f"{'':<30} {'cffix':>10} {'cffi':>10}   cffi/cffix")
    labels = ["FFI().cdef(text)", f"first typeof('{struct}')",
              f"first new('{struct} *')", "first lib.strlen (libc)",
              "collection after the cdef"]
    medians = {name: [median(col) for col in zip(*runs)] for name, runs in results.items()}
    for k, label in enumerate(labels):
        ours = medians["cffix"][k]
        theirs = medians.get("cffi", [None] * 5)[k]
        print(f"{label:<30} {fmt(ours):>10} {fmt(theirs):>10}   {fmt_ratio(theirs, ours)}")
    if "cffi" in medians:
        ours = sum(medians["cffix"][1:])
        theirs = sum(medians["cffi"][1:])
        print(f"{'first uses + collection':<30} {fmt(ours):>10} {fmt(theirs):>10}   "
              f"{fmt_ratio(theirs, ours)} (goal: at least 100x)")
    sizes_agree(engines, text, n_structs)


def sizes_agree(engines, text, n_structs):
    """A fast cdef is worth nothing if it is wrong: every struct's size against cffi's."""
    if "cffi" not in engines:
        return
    ours, theirs = engines["cffix"](), engines["cffi"]()
    ours.cdef(text)
    theirs.cdef(text)
    diff = [i for i in range(n_structs)
            if ours.sizeof(f"struct s{i}") != theirs.sizeof(f"struct s{i}")]
    print(f"layout check: sizeof differs from cffi for {len(diff)} of {n_structs} structs"
          if diff else f"layout check: sizeof of all {n_structs} structs agrees with cffi")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs (the median is kept)")
    parser.add_argument("--quick", action="store_true", help="1 run each")
    parser.add_argument("--declarations", type=int, default=5000,
                        help="size of the synthetic cdef (default 5,000)")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else max(1, args.repeat)
    bench_headers(repeat)
    bench_synthetic(args.declarations, repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
