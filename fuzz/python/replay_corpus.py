"""Replays the libFuzzer harnesses' corpora through the installed cffix (README,
"Reliability").

The libFuzzer harnesses run the engine as clang builds it; the wheel is GCC's, at -O3,
where the same source can behave differently (fuzz/python found `ffi.typeof("a\\x08")`
raising SystemError from a GCC-only miscompile of a try/catch). Every input that the
fuzzers kept is run here through the public API the harness stands for:

    fuzz_lexer, fuzz_cdef   ffi.cdef(text)
    fuzz_type_name          ffi.typeof(text) against the harness's prelude
    fuzz_const_expr         the expression in a #define, an enumerator and an array length

    python fuzz/python/replay_corpus.py CORPUS_ROOT [--seeds fuzz/corpus]

CORPUS_ROOT holds one folder per harness (build/fuzz/corpus). Exit status 1 and the
offending inputs printed if any raised SystemError (or anything but Exception).
"""

import os
import sys

import warnings

import cffix

TYPE_PRELUDE = """
typedef int int_t;
typedef unsigned long size_like;
typedef struct point { int x, y; } point_t;
typedef union number { int i; double d; } number_t;
struct list { struct list *next; char name[16]; unsigned flags : 3; };
struct opaque;
typedef struct opaque opaque_t;
enum color { RED, GREEN = 5, BLUE = -1 };
typedef enum color color_t;
typedef int (*callback_t)(void *, int, ...);
typedef int function_t(double);
typedef char buf_t[32];
typedef int open_t[];
typedef int... dots_int_t;
typedef ... dots_t;
struct partial { int a; ...; };
#define N 4
#define BIG 0xffffffffffffffff
"""
EXPR_PRELUDE = """
typedef struct { int a; char b[3]; double d; } S;
enum e { E0, E1 = 7, EMIN = -2147483647 - 1 };
#define MAXU 0xffffffffffffffffULL
#define SIX 6
"""


def text_of(data):
    # The harnesses take bytes; the API takes str. Lone surrogates keep invalid UTF-8
    # bytes as what they are (cffix passes them through to the parser as bytes).
    return data.decode("utf-8", "surrogateescape")


def run_cdef(text):
    cffix.FFI().cdef(text)


def run_type_name(text):
    ffi = cffix.FFI()
    ffi.cdef(TYPE_PRELUDE)
    t = ffi.typeof(text)
    repr(t)
    ffi.sizeof(t)


def run_const_expr(text):
    for source in ("#define X " + text + "\n", "enum fuzz { A = " + text + ", B };",
                   "int array[" + text + "];"):
        ffi = cffix.FFI()
        ffi.cdef(EXPR_PRELUDE)
        try:
            ffi.cdef(source)
        except Exception as exc:
            if isinstance(exc, SystemError):
                raise
            continue
        ffi.list_types()


RUNNERS = {"fuzz_lexer": run_cdef, "fuzz_cdef": run_cdef, "fuzz_type_name": run_type_name,
           "fuzz_const_expr": run_const_expr}
SEEDS = {"fuzz_cdef": "cdef", "fuzz_type_name": "type_name", "fuzz_const_expr": "const_expr"}


def main(argv):
    warnings.simplefilter("ignore")  # cdef's warnings about what the inputs declare
    root = argv[1]
    seeds = argv[argv.index("--seeds") + 1] if "--seeds" in argv else None
    bad = 0
    runs = 0
    for harness, run in RUNNERS.items():
        folders = [os.path.join(root, harness)]
        if seeds and harness in SEEDS:
            folders.append(os.path.join(seeds, SEEDS[harness]))
        for folder in folders:
            if not os.path.isdir(folder):
                continue
            for name in sorted(os.listdir(folder)):
                path = os.path.join(folder, name)
                with open(path, "rb") as f:
                    text = text_of(f.read())
                runs += 1
                try:
                    run(text)
                except Exception as exc:
                    if isinstance(exc, SystemError):
                        bad += 1
                        print(f"{path}: {type(exc).__name__}: {exc} (input {text[:200]!r})")
    print(f"replayed {runs} corpus inputs through cffix {cffix.__version__}: "
          f"{bad} raised SystemError")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
