"""ABI mode end to end: declare C, load real libraries, call them, own the memory.

    python3 -m pip install .
    python3 examples/abi_mode.py

Uses the C library (strlen, snprintf, qsort with a Python comparator), libm (frexp with
an out-parameter) and zlib (crc32, checked against Python's own zlib) when present.
"""

import ctypes.util
import zlib

from cffix import FFI

ffi = FFI()
ffi.cdef("""
    size_t strlen(const char *s);
    int snprintf(char *buf, size_t size, const char *fmt, ...);
    void qsort(void *base, size_t nmemb, size_t size,
               int (*compar)(const void *, const void *));
    double frexp(double x, int *exp);
    unsigned long crc32(unsigned long crc, const unsigned char *buf, unsigned int len);
""")

libc = ffi.dlopen(None)  # the C library already in the process
print("strlen(b'hello, world') =", libc.strlen(b"hello, world"))

buf = ffi.new("char[64]")  # zeroed, owned by `buf`, freed when it goes
n = libc.snprintf(buf, len(buf), b"%s has %d letters, pi ~ %.3f",
                  b"cffix", ffi.cast("int", 5), ffi.cast("double", 3.14159))
print("snprintf ->", n, ffi.string(buf))


@ffi.callback("int(const void *, const void *)")
def compare_ints(a, b):
    x, y = ffi.cast("int *", a)[0], ffi.cast("int *", b)[0]
    return (x > y) - (x < y)


numbers = ffi.new("int[]", [42, 7, 19, -3, 0, 256, 7])
libc.qsort(numbers, len(numbers), ffi.sizeof("int"), compare_ints)
print("qsort with a Python comparator:", list(numbers))

libm = ffi.dlopen(ctypes.util.find_library("m") or "libm.so.6")
exponent = ffi.new("int *")
mantissa = libm.frexp(48.0, exponent)
print(f"frexp(48.0) = {mantissa} * 2**{exponent[0]}")

zname = ctypes.util.find_library("z")
if zname:
    libz = ffi.dlopen(zname)
    data = b"The quick brown fox jumps over the lazy dog"
    ours = libz.crc32(0, data, len(data))
    print(f"zlib crc32 = {ours:#010x} (Python's zlib: {zlib.crc32(data):#010x})")
    assert ours == zlib.crc32(data)
else:
    print("zlib not found: skipping crc32")
