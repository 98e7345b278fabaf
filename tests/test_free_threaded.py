"""Many threads sharing one FFI, as on a free-threaded CPython (3.13t/3.14t, PYTHON_GIL=0).

cffix declares its modules safe without the GIL (Py_mod_gil = Py_MOD_GIL_NOT_USED): the
intern table, call plans, the trampoline pool, the FFI's type caches and each library's
symbol cache are shared by every thread (csrc/util/ft.h says what guards each). These
tests start the threads together (a barrier) on the operations that fill or read that
state for the first time, and check what interning and caching promise: one type object
per type, one function object per name, each destructor run once, each thread's errno its
own. With the GIL they still run (the GIL is released around C calls); on a free-threaded
build they run truly in parallel. Bounded in repetitions, never in time.

Run them on a free-threaded build: PYTHON_GIL=0 python -m pytest tests/test_free_threaded.py
(.ci/build-freethreaded-python.sh builds the interpreter; .ci/run does this in CI).
"""

import gc
import os
import subprocess
import sys
import sysconfig
import threading

import pytest

from support import MODULE_UNDER_TEST, crashes_cffi

THREADS = 8
FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def run_threads(target, count=THREADS):
    """Runs target(index, barrier) on `count` threads; re-raises the first failure."""
    barrier = threading.Barrier(count)
    errors = []

    def body(index):
        try:
            target(index, barrier)
        except BaseException as e:  # noqa: BLE001 - reported below, with its thread
            errors.append((index, e))
            barrier.abort()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        index, error = errors[0]
        raise AssertionError(f"thread {index} failed: {error!r}") from error


@pytest.mark.skipif(not FREE_THREADED, reason="the interpreter has a GIL (not a free-threaded build)")
def test_import_keeps_the_gil_disabled():
    # Without Py_MOD_GIL_NOT_USED, importing an extension re-enables the GIL (with a
    # RuntimeWarning) unless PYTHON_GIL=0 forces it off: run without PYTHON_GIL.
    code = (
        f"import warnings, sys; warnings.simplefilter('error'); import {MODULE_UNDER_TEST}; "
        f"ffi = {MODULE_UNDER_TEST}.FFI(); ffi.cdef('int abs(int);'); "
        "print(sys._is_gil_enabled())"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_types_made_at_once_are_one_object(module):
    # Every thread makes the same derived types for the first time at the same moment:
    # interning still gives one object per type (the intern table and pointer caches).
    for round_ in range(20):
        ffi = module.FFI()
        ffi.cdef(f"struct node{round_} {{ int value; struct node{round_} *next; }};")
        spellings = [f"struct node{round_} *" + "*" * depth for depth in range(4)]
        spellings += [f"int[{round_ + 1}]", f"double(*)(int, struct node{round_} *)"]
        seen = [None] * THREADS

        def make(index, barrier):
            barrier.wait()
            seen[index] = [ffi.typeof(s) for s in spellings]

        run_threads(make)
        for types in seen[1:]:
            assert all(a is b for a, b in zip(types, seen[0]))
        assert ffi.typeof(spellings[1]).item is ffi.typeof(spellings[0])


def test_first_field_access_and_layout_race(module):
    # The first ffi.new of a struct lays it out; the first field access builds its field
    # index: both happen on every thread at once.
    for round_ in range(20):
        ffi = module.FFI()
        ffi.cdef(
            f"struct inner{round_} {{ char c; double d; }};"
            f"struct rec{round_} {{ int a; struct inner{round_} in; long b[3]; }};"
        )

        def use(index, barrier):
            barrier.wait()
            p = ffi.new(f"struct rec{round_} *", {"a": index, "in": {"c": b"x", "d": 0.5}})
            p.b[2] = index * 10
            inner = getattr(p, "in")  # a C field named as a Python keyword
            assert (p.a, p.b[2], p.b[1], inner.c, inner.d) == (index, index * 10, 0, b"x", 0.5)
            assert ffi.sizeof(f"struct rec{round_}") == ffi.sizeof(p[0])
            assert ffi.offsetof(f"struct rec{round_}", "b") == ffi.offsetof(
                f"struct rec{round_}", "b")

        run_threads(use)
        assert ffi.sizeof(f"struct rec{round_}") >= 4 + 16 + 3 * ffi.sizeof("long")


def test_cdef_while_other_threads_resolve(module):
    # One FFI: some threads declare new names while the others resolve and use types.
    ffi = module.FFI()
    ffi.cdef("struct shared { int x; };")

    def work(index, barrier):
        barrier.wait()
        for i in range(150):
            if index % 2:
                ffi.cdef(f"typedef struct {{ int v[{i + 1}]; }} t_{index}_{i};")
                assert ffi.sizeof(f"t_{index}_{i}") == 4 * (i + 1)
            else:
                p = ffi.new("struct shared *", [i])
                q = ffi.cast("int *", p)
                assert q[0] == i and ffi.typeof(q) is ffi.typeof("int *")
                assert ffi.sizeof("struct shared") == 4

    run_threads(work)
    assert ffi.sizeof("t_1_149") == 600


def test_calls_callbacks_and_errno(module):
    # Calls into libc from every thread: a variadic one, qsort with a Python comparator
    # made (a trampoline slot taken) and dropped in each round, errno per thread.
    ffi = module.FFI()
    ffi.cdef(
        """
        size_t strlen(const char *);
        int abs(int);
        int snprintf(char *, size_t, const char *, ...);
        void qsort(void *, size_t, size_t, int (*)(const void *, const void *));
        """
    )
    libc = ffi.dlopen(None)

    def work(index, barrier):
        barrier.wait()
        for i in range(60):
            assert libc.abs(-i - index) == i + index
            assert libc.strlen(b"x" * (i + index)) == i + index
            buf = ffi.new("char[64]")
            libc.snprintf(buf, 64, b"%d-%s-%.1f", ffi.cast("int", index), b"t",
                          ffi.cast("double", i / 2))
            assert ffi.string(buf) == f"{index}-t-{i / 2:.1f}".encode()

            @ffi.callback("int(const void *, const void *)")
            def compare(a, b):
                x = ffi.cast("int *", a)[0]
                y = ffi.cast("int *", b)[0]
                return (x > y) - (x < y)

            values = ffi.new("int[]", [(k * 7919 + index) % 101 for k in range(32)])
            libc.qsort(values, 32, ffi.sizeof("int"), compare)
            assert list(values) == sorted(values)
            del compare
            ffi.errno = index * 1000 + i
            libc.abs(1)
            assert ffi.errno == index * 1000 + i

    run_threads(work)


def test_library_names_bound_at_once(module):
    # A fresh library per round: every thread asks for the same functions first; each
    # name becomes one function object.
    ffi = module.FFI()
    ffi.cdef("int abs(int); long labs(long); size_t strlen(const char *);")
    for _ in range(20):
        lib = ffi.dlopen(None)
        got = [None] * THREADS

        def bind(index, barrier):
            barrier.wait()
            got[index] = (lib.abs, lib.labs, lib.strlen)
            assert got[index][0](-index) == index

        run_threads(bind)
        assert all(g[k] is got[0][k] for g in got for k in range(3))


def test_handles_gc_and_release_race(module):
    # Handles made and looked up everywhere; each ffi.gc destructor runs exactly once even
    # when every thread releases the same object at the same moment.
    ffi = module.FFI()
    calls = []
    lock = threading.Lock()

    def destructor(p):
        with lock:
            calls.append(p[0])

    rounds = 40
    shared = [ffi.gc(ffi.new("int *", r), destructor) for r in range(rounds)]
    barriers = [threading.Barrier(THREADS) for _ in range(rounds)]

    def work(index, barrier):
        for r in range(rounds):
            box = [index, r]
            h = ffi.new_handle(box)
            assert ffi.from_handle(h) is box
            barriers[r].wait()
            ffi.release(shared[r])

    run_threads(work)
    assert sorted(calls) == list(range(rounds))


def test_same_cdata_released_by_every_thread(module):
    # Owned memory freed once, whoever releases it.
    ffi = module.FFI()
    for _ in range(50):
        p = ffi.new("char[]", 4096)

        def release(index, barrier):
            barrier.wait()
            ffi.release(p)

        run_threads(release)
        with pytest.raises(Exception):
            p[0]


def test_init_once_runs_once_on_a_fresh_ffi(module):
    # Every thread calls init_once on a new FFI at the same moment: its per-FFI state is
    # made on first use, once (two dicts made at once ran func twice on 3.13t).
    for round_ in range(50):
        ffi = module.FFI()
        calls = []
        results = [None] * THREADS

        def first(index, barrier):
            barrier.wait()
            results[index] = ffi.init_once(lambda: calls.append(index) or len(calls), "tag")

        run_threads(first)
        assert len(calls) == 1, (round_, calls)
        assert results == [1] * THREADS


@crashes_cffi
def test_release_races_derived_pointers_and_buffer_exports(module):
    # One thread releases an ffi.new array while the others use pointers derived from it
    # (p + n, ffi.cast) and make, write and drop memoryviews of its ffi.buffer. Each use
    # either works on live memory or raises the released error; a memoryview made before
    # the release keeps the memory until it goes, and the memory is freed exactly once
    # (the live count comes back to where it was: a free missed or done twice would not).
    # The export count and the release flags are atomics in the free-threaded build.
    ffi = module.FFI()
    gc.collect()  # what earlier tests left is not collected in the middle of this one
    live_before = module.live_cdata()[0]
    rounds = 60
    for round_ in range(rounds):
        p = ffi.new("int[]", 256)
        buf = ffi.buffer(p)
        released = threading.Event()

        def work(index, barrier):
            barrier.wait()
            if index == 0:
                for _ in range(round_ % 7):
                    p[1] += 1
                ffi.release(p)
                released.set()
                return
            for step in range(400):
                try:
                    if index % 2:
                        mv = memoryview(buf)    # pinned: live memory, released or not
                        at = 512 + 4 * index    # each thread's own bytes
                        mv[at:at + 4] = b"abcd"
                        assert bytes(mv[at:at + 4]) == b"abcd"
                        mv.release()
                    else:
                        q = (p + 3) if step % 2 else ffi.cast("int *", p)
                        q[index] = step
                        assert q[index] == step
                except ValueError as e:
                    assert "released" in str(e)
                    if released.is_set():
                        return

        run_threads(work)
        with pytest.raises(ValueError):
            memoryview(buf)
        with pytest.raises(ValueError):
            (p + 1)[0]
    del p, buf
    assert module.live_cdata()[0] == live_before


def test_from_buffer_repr_races_its_release(module):
    # repr names the exporter's type while another thread releases the export, which may
    # free the exporter (here only the export holds the bytearray).
    ffi = module.FFI()
    for _ in range(40):
        fb = ffi.from_buffer("char[]", bytearray(64))
        texts = set()

        def work(index, barrier):
            barrier.wait()
            if index == 0:
                ffi.release(fb)
                return
            for _ in range(50):
                texts.add(repr(fb))

        run_threads(work)
        assert texts <= {"<cdata 'char[]' buffer len 64 from 'bytearray' object>",
                         "<cdata 'char[]' buffer RELEASED>"}, texts
        assert repr(fb) == "<cdata 'char[]' buffer RELEASED>"
