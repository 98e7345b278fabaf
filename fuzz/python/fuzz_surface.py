"""atheris harnesses for cffix's Python surface (README, "Reliability").

    python fuzz/python/fuzz_surface.py TARGET [libFuzzer options] [corpus dirs]
    python fuzz/python/fuzz_surface.py TARGET --replay FILE...  (runs the files once)

TARGET is one of:
  cdef       ffi.cdef(random text), then typeof/sizeof of every name it declared
  typeof     ffi.typeof(random text) and getctype() against a scope of declarations
  new_cast   ffi.new / ffi.cast of declared types with random initialisers, read back
  buffers    buffer / from_buffer / memmove / unpack / string with random sizes on owned
             memory, then release and use again
  sequences  random sequences of CData operations: items, fields, slices, derived
             pointers (+, cast, addressof), casts from integers, gc, release-then-use

The contract checked: cffix raises a Python exception (never SystemError) and never
crashes; with the ASan build of the core (README) memory errors abort too. What is
unchecked as in C stays out: no dereference of pointers cast from arbitrary integers,
and derived pointers stay within the memory they were made from unless this build checks
their extent (probed at start: see DERIVED_CHECKS).

atheris guides by the Python code it runs, not by the C++ engine (the libFuzzer
harnesses in fuzz/ do that): here the input chooses among operations and values.
"""

import math
import os
import subprocess
import sys

import cffix

FFI = cffix.FFI
MAX_BYTES = 1 << 16  # no allocation beyond this: the harness measures crashes, not memory

PRELUDE = """
typedef struct point { int x, y; } point_t;
struct node { struct node *next; char name[8]; double weight; unsigned flags : 3; int : 0; };
union number { int i; double d; char bytes[8]; };
enum color { RED, GREEN = 5, BLUE = -1 };
struct tail { int n; short items[]; };
typedef int (*binop_t)(int, int);
typedef char name_t[16];
struct nested { point_t corners[2]; union number value; enum color color; };
"""

TYPES = [
    "char", "signed char", "unsigned char", "short", "int", "unsigned int", "long",
    "unsigned long long", "int8_t", "uint64_t", "size_t", "float", "double", "long double",
    "_Bool", "wchar_t", "char16_t", "char32_t", "float _Complex", "double _Complex",
    "enum color", "void *", "char *", "int *", "point_t *", "struct node *", "union number *",
    "struct nested *", "struct tail *", "char[]", "char[8]", "int[4]", "int[]", "double[3]",
    "point_t[2]", "point_t[]", "name_t", "name_t *", "binop_t", "wchar_t[]", "int[2][3]",
    "struct node[2]", "union number[]", "_Bool[3]", "enum color[2]",
]


class Ok(Exception):
    """An input that ends early on purpose."""


def allowed(exc):
    """The exceptions cffix may raise for bad input: anything but SystemError."""
    return isinstance(exc, Exception) and not isinstance(exc, SystemError)


def attempt(fn, *args, **kwargs):
    """Calls fn; returns its result, or None if it raised an allowed exception."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        if not allowed(exc):
            raise
        return None


# --- probes: what this build checks (the `derived` work of issue 13) ---------------------

_PROBES = {
    "derived_release": "p = ffi.new('int[4]'); q = p + 1; ffi.release(p); q[0]",
    "derived_bounds": "p = ffi.new('int[4]'); (p + 3)[1000]",
    "view_release": ("p = ffi.new('char[]', 100000); m = memoryview(ffi.buffer(p));"
                     " ffi.release(p); m[0:4] = b'abcd'"),
}


def _probe(code):
    """True if `code` raises a clean Python exception in a child interpreter (a build that
    checks it), False if it runs through or crashes."""
    child = ("import sys\nfrom cffix import FFI\nffi = FFI()\ntry:\n    " + code +
             "\nexcept (ValueError, IndexError, BufferError, TypeError):\n    sys.exit(0)\n"
             "sys.exit(3)\n")
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, timeout=120)
    return proc.returncode == 0


def probe_checks():
    env = os.environ.get("CFFIX_FUZZ_CHECKS")
    if env is not None:  # e.g. "derived_release,view_release": no child processes
        names = {n for n in env.split(",") if n}
        return {name: name in names for name in _PROBES}
    return {name: _probe(code) for name, code in _PROBES.items()}


DERIVED_CHECKS = {}


# --- random values ----------------------------------------------------------------------

class Source:
    """The input as a stream of choices (atheris.FuzzedDataProvider)."""

    def __init__(self, data):
        import atheris

        self.data = data
        self.fdp = atheris.FuzzedDataProvider(data)

    def whole_text(self):
        """The whole input as text, bytes that are not UTF-8 kept as lone surrogates (cffix
        hands them to the parser as the bytes they were): seeds of C text stay C text."""
        return self.data.decode("utf-8", "surrogateescape")

    def int(self, lo, hi):
        return self.fdp.ConsumeIntInRange(lo, hi)

    def bool(self):
        return self.fdp.ConsumeBool()

    def pick(self, seq):
        return seq[self.int(0, len(seq) - 1)]

    def text(self, n):
        return self.fdp.ConsumeUnicodeNoSurrogates(n)

    def bytes(self, n):
        return self.fdp.ConsumeBytes(n)

    def left(self):
        return self.fdp.remaining_bytes()

    def size(self):
        """A size or index near the interesting edges: small, around powers of two, negative,
        huge."""
        kind = self.int(0, 5)
        if kind == 0:
            return self.int(0, 16)
        if kind == 1:
            return self.int(-4, 4) + (1 << self.int(0, 20))
        if kind == 2:
            return -self.int(1, 1 << 40)
        if kind == 3:
            return self.pick([2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64, 2**64 + 1])
        return self.int(0, 300)

    def number(self):
        kind = self.int(0, 6)
        if kind == 0:
            return self.int(-300, 300)
        if kind == 1:
            return self.pick([0, 1, -1, 127, 128, 255, 256, 2**15, 2**16, 2**31 - 1, 2**31,
                              -2**31 - 1, 2**32, 2**63 - 1, 2**63, -2**63 - 1, 2**64, 2**100])
        if kind == 2:
            return self.pick([0.0, -0.0, 1.5, -1e308, 1e308, math.inf, -math.inf, math.nan, 2.0**64])
        if kind == 3:
            return self.bool()
        if kind == 4:
            return complex(self.int(-5, 5), self.int(-5, 5))
        return self.int(-(2**70), 2**70)

    def value(self, depth=0):
        """A random initialiser: numbers, bytes, str, None, lists, tuples, dicts, CData."""
        kind = self.int(0, 9 if depth < 3 else 4)
        if kind <= 2:
            return self.number()
        if kind == 3:
            return self.bytes(self.int(0, 12))
        if kind == 4:
            return self.pick([None, "", "a", "\u20ac", "\U0001f600", "ab", "x" * 20])
        if kind in (5, 6):
            items = [self.value(depth + 1) for _ in range(self.int(0, 5))]
            return items if kind == 5 else tuple(items)
        if kind == 7:
            keys = ["x", "y", "next", "name", "weight", "flags", "i", "d", "bytes", "n",
                    "items", "corners", "value", "color", "nope", ""]
            return {self.pick(keys): self.value(depth + 1) for _ in range(self.int(0, 4))}
        if kind == 8:
            return self.pick(["RED", "GREEN", "BLUE", "PURPLE"])
        return None


# --- targets ------------------------------------------------------------------------------

def prelude_ffi():
    ffi = FFI()
    ffi.cdef(PRELUDE)
    return ffi


def target_cdef(src):
    ffi = FFI()
    text = src.whole_text()
    if attempt(ffi.cdef, text) is None:
        return
    attempt(ffi.cdef, text, override=True, packed=True)  # redeclarations
    typedefs, structs, unions = ffi.list_types()
    names = typedefs + ["struct " + s for s in structs] + ["union " + u for u in unions]
    for name in names:
        t = attempt(ffi.typeof, name)
        if t is not None:
            attempt(ffi.sizeof, t)
            attempt(ffi.alignof, t)
            repr(t)
            attempt(lambda: t.fields)


def target_typeof(src):
    ffi = prelude_ffi()
    text = src.whole_text()
    t = attempt(ffi.typeof, text)
    if t is None:
        return
    repr(t)
    attempt(ffi.sizeof, t)
    attempt(ffi.getctype, t, "*")
    attempt(ffi.getctype, t, "(*fn)(int)")
    attempt(ffi.getctype, t, text[:8])


def read_back(ffi, p):
    """Reads every item or field of an owned object (all within its memory)."""
    t = ffi.typeof(p)
    attempt(repr, p)
    if t.kind == "array":
        items = attempt(list, p)
        if t.item.kind == "primitive" and t.item.cname in ("char", "wchar_t"):
            attempt(ffi.string, p)
        attempt(ffi.unpack, p, len(p))
        return items
    if t.kind == "pointer" and t.item.kind in ("struct", "union"):
        for name, _ in attempt(lambda: t.item.fields) or []:
            attempt(getattr, p, name)
    if t.kind == "pointer" and t.item.kind == "primitive":
        return attempt(lambda: p[0])
    return None


def target_new_cast(src):
    ffi = prelude_ffi()
    for _ in range(src.int(1, 4)):
        ctype = src.pick(TYPES)
        init = src.value()
        if isinstance(init, int) and ctype.endswith("[]") and not 0 <= init <= 4096:
            init = init % 4097  # a length: bounded so the harness does not test memory size
        if src.bool():
            p = attempt(ffi.new, ctype, init)
            if p is not None:
                read_back(ffi, p)
                if src.bool():
                    attempt(ffi.release, p)
                    attempt(read_back, ffi, p)  # every access raises after release
        else:
            value = src.value() if src.bool() else src.number()
            c = attempt(ffi.cast, ctype, value)
            if c is not None:
                attempt(repr, c)  # a wchar_t out of Unicode's range: ValueError
                attempt(int, c)
                attempt(float, c)
                attempt(bool, c)


def owned(ffi, src):
    """A piece of owned memory of known size: (cdata, its size in bytes, its keepalive)."""
    n = src.int(0, 64)
    kind = src.int(0, 4)
    if kind == 0:
        return ffi.new("char[]", n), n, None
    if kind == 1:
        return ffi.new("int[]", n), 4 * n, None
    if kind == 2:
        ba = bytearray(src.bytes(n).ljust(n, b"\0"))
        return ffi.from_buffer(ba), n, ba
    if kind == 3:
        ba = bytearray(4 * n)
        return ffi.from_buffer("int[]", ba), 4 * n, ba
    return ffi.gc(ffi.new("char[]", n), lambda p: None), n, None


def target_buffers(src):
    ffi = prelude_ffi()
    objs = [owned(ffi, src) for _ in range(src.int(1, 3))]
    views = []
    for _ in range(src.int(1, 12)):
        p, nbytes, keep = src.pick(objs)
        op = src.int(0, 8)
        if op == 0:
            b = attempt(ffi.buffer, p, src.size()) if src.bool() else attempt(ffi.buffer, p)
            if b is not None:
                views.append(b)
        elif op == 1 and views:
            b = src.pick(views)
            i, j = src.size(), src.size()
            attempt(lambda: b[i:j])
            data = src.bytes(src.int(0, 8))
            attempt(b.__setitem__, slice(i, i + len(data)), data)
            attempt(lambda: b[i])
        elif op == 2:
            q, _, _ = src.pick(objs)
            n = src.size()
            if src.bool():
                attempt(ffi.memmove, p, q, n)
            else:
                attempt(ffi.memmove, p, src.bytes(src.int(0, 80)), n)
        elif op == 3:
            attempt(ffi.unpack, p, src.size())
        elif op == 4:
            attempt(ffi.string, p, src.size()) if src.bool() else attempt(ffi.string, p)
        elif op == 5:
            b = attempt(ffi.buffer, p)
            if b is not None:
                attempt(ffi.from_buffer, src.pick(["char[]", "int[]", "point_t[]", "char *"]), b)
        elif op == 6:
            attempt(ffi.release, p)  # later operations on p and its buffers must raise
        elif op == 7 and views and DERIVED_CHECKS.get("view_release"):
            m = attempt(memoryview, src.pick(views))
            if m is not None:
                attempt(ffi.release, p)
                attempt(m.__setitem__, slice(0, 1), b"z")
                m.release()
        elif op == 8:
            attempt(lambda: p[src.size()])
            attempt(lambda: p[src.size():src.size()])


class Derived:
    """A pointer made from owned memory with the extent the harness knows it has."""

    def __init__(self, ptr, items, owner):
        self.ptr, self.items, self.owner = ptr, items, owner


def target_sequences(src):
    ffi = prelude_ffi()
    owners = []   # owned cdata, with a flag: released
    derived = []  # Derived
    for _ in range(src.int(1, 24)):
        op = src.int(0, 11)
        if op == 0 or not owners:
            ctype = src.pick(["int[8]", "struct nested *", "point_t[3]", "char[]", "double[2]",
                              "struct node *", "union number[2]", "struct tail *"])
            if ctype == "char[]":
                p = attempt(ffi.new, ctype, src.int(0, 64))
            elif ctype == "struct tail *":
                p = attempt(ffi.new, ctype, {"n": 1, "items": list(range(src.int(0, 6)))})
            else:
                p = attempt(ffi.new, ctype)
            if p is not None:
                owners.append([p, False])
            continue
        entry = src.pick(owners)
        p, released = entry
        t = ffi.typeof(p)
        if op == 1:  # items and fields of the owner itself: checked by cffix
            attempt(lambda: p[src.size()])
            if t.kind == "array":
                attempt(p.__setitem__, src.int(-2, len(p) + 2), src.number())
        elif op == 2 and t.kind == "pointer":
            for name, _ in attempt(lambda: t.item.fields) or []:
                attempt(setattr, p, name, src.value())
                attempt(getattr, p, name)
        elif op == 3 and t.kind == "array" and not released:  # p + k, within the array
            k = src.int(0, len(p))
            d = attempt(lambda: p + k)
            if d is not None:
                derived.append(Derived(d, len(p) - k, entry))
        elif op == 4 and t.kind == "array" and not released:  # cast to another item type
            target = src.pick(["char *", "unsigned char *", "void *", "short *"])
            d = attempt(ffi.cast, target, p)
            if d is not None and target != "void *":
                derived.append(Derived(d, ffi.sizeof(p) // ffi.sizeof(ffi.typeof(d).item),
                                       entry))
        elif op == 5 and not released:
            if t.kind == "array":
                i = src.int(0, len(p))
                d = attempt(ffi.addressof, p, i)
                if d is not None:
                    derived.append(Derived(d, len(p) - i, entry))
            elif t.kind == "pointer" and t.item.kind in ("struct", "union"):
                name = src.pick([n for n, _ in t.item.fields])
                d = attempt(ffi.addressof, p[0], name)
                if d is not None and ffi.typeof(d).item.kind == "primitive":
                    derived.append(Derived(d, 1, entry))
        elif op == 6 and derived:  # use a derived pointer
            d = src.pick(derived)
            dead = d.owner[1]
            checked = DERIVED_CHECKS.get("derived_bounds")
            if dead and not DERIVED_CHECKS.get("derived_release"):
                continue  # reads freed memory in this build: the `derived` branch's fix
            i = src.size() if checked else (src.int(0, d.items - 1) if d.items else None)
            if i is None:
                continue
            attempt(lambda: d.ptr[i])
            attempt(d.ptr.__setitem__, i, src.number())
            n = src.size() if checked else src.int(0, d.items)
            attempt(ffi.unpack, d.ptr, n)
        elif op == 7:
            entry[1] = True
            attempt(ffi.release, p)
            attempt(lambda: p[0])  # use after release: raises
            attempt(ffi.buffer, p)
            attempt(ffi.unpack, p, 1)
        elif op == 8:  # casts from integers: made, compared and printed, never dereferenced
            c = attempt(ffi.cast, src.pick(["int *", "char *", "point_t *", "void *",
                                            "binop_t", "intptr_t", "uintptr_t"]), src.number())
            if c is not None:
                attempt(repr, c)
                attempt(lambda: c == ffi.NULL)
                attempt(int, ffi.cast("uintptr_t", c))
                attempt(lambda: c + src.int(-4, 4))
        elif op == 9:  # pointers as integers and back
            addr = attempt(lambda: int(ffi.cast("uintptr_t", p)))
            if addr is not None:
                attempt(ffi.cast, "int *", addr)
        elif op == 10:
            attempt(ffi.gc, p, None) if src.bool() else attempt(ffi.gc, p, lambda x: None)
        elif op == 11 and t.kind == "array" and not released:
            i, j = src.int(-1, len(p) + 1), src.int(-1, len(p) + 1)
            attempt(lambda: p[i:j])
            attempt(lambda: list(p[i:j]))


TARGETS = {
    "cdef": target_cdef,
    "typeof": target_typeof,
    "new_cast": target_new_cast,
    "buffers": target_buffers,
    "sequences": target_sequences,
}


def instrument(atheris):
    """Coverage of this file's functions and cffix's Python layer guides atheris (not all
    loaded modules: instrumenting the standard library costs minutes at start)."""
    import inspect

    import cffix.api

    for namespace in (globals(), vars(cffix.api)):
        for name, obj in list(namespace.items()):
            if inspect.isfunction(obj) and obj.__module__ in (__name__, "cffix.api"):
                namespace[name] = atheris.instrument_func(obj)
            elif inspect.isclass(obj) and obj.__module__ in (__name__, "cffix.api"):
                for attr, fn in list(vars(obj).items()):
                    if inspect.isfunction(fn):
                        setattr(obj, attr, atheris.instrument_func(fn))
    TARGETS.update({name: globals()["target_" + name] for name in TARGETS})


def run_one(target, data):
    TARGETS[target](Source(data))


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(TARGETS)}}} [libFuzzer options | --replay FILE...]")
    target = sys.argv.pop(1)
    DERIVED_CHECKS.update(probe_checks())
    print(f"fuzz_surface {target}: checks of this build: {DERIVED_CHECKS}", file=sys.stderr)
    if len(sys.argv) > 1 and sys.argv[1] == "--replay":
        for path in sys.argv[2:]:
            with open(path, "rb") as f:
                run_one(target, f.read())
        return
    import atheris

    instrument(atheris)
    atheris.Setup(sys.argv, lambda data: run_one(target, data))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
