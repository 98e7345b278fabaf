"""The harness of the differential tests of cdata against cffi (test_same_as_cffi_*.py).

Each corpus entry is a small piece of Python source that uses `ffi` (an FFI with CDEF
declared). It is run once with cffix and once with cffi; the results are normalized
(cdata and ctype objects by their repr, hex addresses masked; buffers by their bytes;
everything else by type and value) and must be equal, or both runs must raise an
exception of the same type (messages are not compared).

A piece of source is either one expression, or statements followed by a final
expression, whose value is the result. Helpers available to the source: `addr(p)`
(the address as an int), `catch(f)` (f()'s result, or the name of the exception it
raised), `tag()` (a new init_once tag), `array`, `math`, `threading`.

A corpus file says:

    from cdata_oracle import CDEF, Corpus, assert_same_as_cffi

    CORPUS = Corpus()
    ops = CORPUS.add
    ops("group", 'ffi.new("int *", 5)[0]', ...)

    @CORPUS.parametrize
    def test_same_as_cffi(src, ffi, oracle_ffi):
        assert_same_as_cffi(ffi, oracle_ffi, src)

Where cffix intentionally differs from cffi, the operation is not in the corpus: it has
its own test in test_known_differences_from_cffi.py.

Set CFFIX_TEST_MODULE=cffi to run the corpus with cffi in place of cffix: a check of the
harness itself (every entry must then pass).

`python3 tests/cdata_oracle.py [-k TEXT]` runs the whole corpus outside pytest and
prints every difference; the module under test runs in a child process that is restarted
after a crash, so one crashing operation does not hide the others.
"""

import ast
import glob
import importlib
import itertools
import math
import os
import re
import subprocess
import sys
import textwrap

import pytest

from support import MODULE_UNDER_TEST


CDEF = """
    struct point { int x, y; };
    struct s { int a; double b; };
    struct nested { struct point p; int arr[3]; char name[8]; };
    struct bits { unsigned int u : 3; int s : 4; unsigned char c : 1; int z : 1; };
    union u { int i; float f; unsigned char bytes[4]; };
    struct flex { int n; int data[]; };
    struct anon { int k; union { int ui; float uf; }; struct { short sa, sb; }; };
    struct with_ptr { int *p; char *s; void *v; struct with_ptr *next; };
    struct with_fn { int (*cb)(int); };
    enum color { RED, GREEN = 5, BLUE = -2 };
    enum big { BIG = 0xffffffff };
    typedef struct { char c; short sh; long long ll; } mixed_t;
    typedef int (*cmp_fn)(const void *, const void *);
    typedef int int3[3];
"""


class Corpus(list):
    """(group, source) pairs: add(group, *sources) appends; @corpus.parametrize runs a
    test(src, ...) once per source, its id "group: source"."""

    def add(self, group, *sources):
        for src in sources:
            self.append((group, textwrap.dedent(src).strip()))

    def parametrize(self, test):
        return pytest.mark.parametrize("src", [src for _, src in self],
                                       ids=[_op_id(g, s) for g, s in self])(test)


def all_corpus():
    """The corpus of every tests/test_same_as_cffi_*.py, file after file."""
    out = Corpus()
    here = os.path.dirname(os.path.abspath(__file__))
    for path in sorted(glob.glob(os.path.join(here, "test_same_as_cffi_*.py"))):
        name = os.path.splitext(os.path.basename(path))[0]
        out.extend(getattr(importlib.import_module(name), "CORPUS", ()))
    return out


_ADDR_RE = re.compile(r"0x[0-9a-fA-F]+")


# from_buffer's repr names the source's type; ffi.buffer's type lives in each library.
_BUFFER_TYPE_RE = re.compile(r"'(?:_cffi_backend|cffix(?:\._core)?)\.buffer'")


def _mask(text):
    return _BUFFER_TYPE_RE.sub("'<ffi>.buffer'", _ADDR_RE.sub("0xADDR", text))


def normalize(value, ffi):
    """A comparable form of an operation's result, independent of which library made it."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, str, bytes)):
        return (type(value).__name__, value)
    if isinstance(value, float):
        if math.isnan(value):
            return ("float", "nan")
        return ("float", repr(value))
    if isinstance(value, complex):
        return ("complex", repr(value))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [normalize(v, ffi) for v in value])
    if isinstance(value, bytearray):
        return ("bytearray", bytes(value))
    if isinstance(value, memoryview):
        return ("memoryview", value.tobytes(), value.format, value.readonly)
    if isinstance(value, dict):
        return ("dict", sorted((repr(k), normalize(v, ffi)) for k, v in value.items()))
    text = repr(value)
    if text.startswith("<cdata "):
        return ("cdata", _mask(text))
    if text.startswith("<ctype "):
        return ("ctype", text)
    if isinstance(ffi.buffer, type) and isinstance(value, ffi.buffer):
        return ("buffer", bytes(value))
    try:
        data = memoryview(value)
    except TypeError:
        pass
    else:
        return ("buffer-like", data.tobytes())
    if isinstance(value, type(iter([]))) or hasattr(value, "__next__"):
        return ("iterator",)
    return ("object", type(value).__name__)


def _catch(fn):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - the point is to report any exception
        return type(e).__name__


_COMPILED = {}


_TAGS = itertools.count()


def _compile(src):
    code = _COMPILED.get(src)
    if code is None:
        tree = ast.parse(src, mode="exec")
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        body = compile(tree, "<op>", "exec")
        expr = compile(ast.Expression(last.value), "<op>", "eval") if last else None
        code = _COMPILED[src] = (body, expr)
    return code


def run_op(ffi, src):
    """('ok', normalized result) or ('raises', exception type name, message)."""
    import array
    import threading

    body, expr = _compile(src)
    ns = {
        "ffi": ffi,
        "array": array,
        "math": math,
        "threading": threading,
        "catch": _catch,
        "addr": lambda p: int(ffi.cast("uintptr_t", p)),
        "tag": lambda: f"tag-{next(_TAGS)}",
    }
    try:
        exec(body, ns)
        value = eval(expr, ns) if expr is not None else None
        return ("ok", normalize(value, ffi))
    except Exception as e:  # noqa: BLE001
        return ("raises", type(e).__name__, str(e))


def _make_ffi(module):
    ffi = module.FFI()
    ffi.cdef(CDEF)
    return ffi


def _op_id(group, src):
    return re.sub(r"\s*\n\s*", " ; ", f"{group}: {src}")


def assert_same_as_cffi(ffi, oracle_ffi, src):
    """`src` gives the same normalized result, or an exception of the same type, with
    `ffi` (the module under test) and `oracle_ffi` (cffi)."""
    expected = run_op(oracle_ffi, src)
    got = run_op(ffi, src)
    if expected[0] == "raises" and got[0] == "raises":
        assert got[1] == expected[1], (
            f"\n  cffi:  raises {expected[1]}: {expected[2]}"
            f"\n  cffix: raises {got[1]}: {got[2]}")
    else:
        assert got[:2] == expected[:2], (
            f"\n  cffi:  {expected}\n  cffix: {got}")


# --------------------------------------------------------------------------------------
# Crash-resilient report: python3 tests/cdata_oracle.py [-k TEXT]

def _child_main(start):
    """Run all_corpus()[start:] with the module under test; one line per op: index,
    result."""
    corpus = all_corpus()
    ffi = _make_ffi(importlib.import_module(MODULE_UNDER_TEST))
    for index in range(start, len(corpus)):
        print(f"{index}\t{run_op(ffi, corpus[index][1])!r}", flush=True)


def _report_main(argv):
    import argparse

    parser = argparse.ArgumentParser(description="corpus differences, crash-resilient")
    parser.add_argument("-k", default="", help="only ops whose id contains this text")
    args = parser.parse_args(argv)
    import cffi

    oracle = _make_ffi(cffi)
    corpus = all_corpus()
    results = {}
    start = 0
    while start < len(corpus):
        proc = subprocess.run([sys.executable, __file__, "--child", str(start)],
                              capture_output=True, text=True, timeout=600)
        last = start - 1
        for line in proc.stdout.splitlines():
            index, _, text = line.partition("\t")
            results[int(index)] = ast.literal_eval(text)
            last = int(index)
        if proc.returncode == 0:
            break
        if last + 1 < len(corpus):
            results[last + 1] = ("crash", f"exit {proc.returncode}")
        start = last + 2
    failures = 0
    for index, (group, src) in enumerate(corpus):
        op_id = _op_id(group, src)
        if args.k not in op_id:
            continue
        expected, got = run_op(oracle, src), results.get(index, ("missing",))
        same = (got[:2] == expected[:2] or
                (expected[0] == got[0] == "raises" and expected[1] == got[1]))
        if not same:
            failures += 1
            print(f"{op_id}\n    cffi:  {expected}\n    {MODULE_UNDER_TEST}: {got}")
    print(f"{failures} difference(s) in {len(corpus)} operations")
    return 1 if failures else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child_main(int(sys.argv[2]))
    else:
        sys.exit(_report_main(sys.argv[1:]))
