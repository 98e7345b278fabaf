"""Callbacks need no writable+executable memory: their code is a slot of cffix's
trampoline pool (x86-64 and AArch64 Linux): 1,024 slots in the read-only text of cffix
itself, then chunks of 2,048 more mapped read+execute from a memfd whose code was written
through another mapping, unmapped first. Any number of them can live at once with no
mapping both writable and executable, and dead ones give their slots back."""

import platform
import sys

import pytest

from cffix import FFI

pool_platform = pytest.mark.skipif(
    not (sys.platform.startswith("linux")
         and platform.machine() in ("x86_64", "AMD64", "aarch64", "arm64")),
    reason="the trampoline pool is built for x86-64 and AArch64 Linux only")


def mappings():
    with open("/proc/self/maps") as f:
        for line in f:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            yield lo, hi, fields[1], fields[-1] if len(fields) > 5 else ""


def mapping_of(address):
    for lo, hi, perms, path in mappings():
        if lo <= address < hi:
            return perms, path
    return None, None


@pool_platform
def test_callback_code_is_read_only_text_of_cffix():
    ffi = FFI()
    cb = ffi.callback("int(int)", lambda x: x * 2)
    perms, path = mapping_of(int(ffi.cast("uintptr_t", cb)))
    assert perms == "r-xp"
    assert "_core" in path
    assert cb(21) == 42


@pool_platform
def test_no_writable_executable_mapping_after_callbacks():
    ffi = FFI()
    keep = [ffi.callback("double(double, int)", lambda x, n, i=i: x * n + i)
            for i in range(50)]
    assert [c(1.5, 2) for c in keep[:3]] == [3.0, 4.0, 5.0]
    assert [m for m in mappings() if m[2] == "rwxp"] == []


def test_many_callbacks_beyond_the_pool_still_work():
    ffi = FFI()
    keep = [ffi.callback("int(int)", lambda x, i=i: x + i) for i in range(1100)]
    assert keep[0](1) == 1 and keep[1099](1) == 1100
    addresses = {int(ffi.cast("uintptr_t", c)) for c in keep}
    assert len(addresses) == 1100


@pool_platform
def test_thousands_of_live_callbacks_called_from_c_and_no_wx_mapping():
    # 1,024 slots of the text segment, then two chunks of 2,048 (the second partly used);
    # on AArch64 a chunk's code runs only if its instruction cache was synchronised.
    count = 3200
    ffi = FFI()
    ffi.cdef("void qsort(void *base, size_t nmemb, size_t size,"
             "           int (*compar)(const void *, const void *));")
    libc = ffi.dlopen(None)
    calls = [0] * count

    def comparator(i):
        def compare(a, b):
            calls[i] += 1
            return ffi.cast("int *", a)[0] - ffi.cast("int *", b)[0]
        return compare

    keep = [ffi.callback("int(const void *, const void *)", comparator(i))
            for i in range(count)]
    for cb in keep:                      # every one called from C
        array = ffi.new("int[]", [3, 1, 2])
        libc.qsort(array, 3, ffi.sizeof("int"), cb)
        assert list(array) == [1, 2, 3]
    assert all(calls)
    addresses = [int(ffi.cast("uintptr_t", c)) for c in keep]
    assert len(set(addresses)) == count
    assert [m for m in mappings() if "w" in m[2] and "x" in m[2]] == []
    perms = {mapping_of(a)[0] for a in addresses}
    assert perms == {"r-xp", "r-xs"}     # the text segment's slots, then the chunks'
    with open("/proc/self/maps") as f:
        assert "/memfd:cffix-trampolines" in f.read()


def test_slots_are_reused_after_callbacks_die():
    ffi = FFI()
    for round_ in range(3):
        keep = [ffi.callback("int(int)", lambda x, r=round_: x + r) for _ in range(600)]
        assert all(c(1) == 1 + round_ for c in keep[::50])
        del keep
