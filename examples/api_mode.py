"""API mode: compile a binding module against real headers, then use it.

Builds `_api_example` in a temporary folder from a cdef and C source that include
<math.h>, <string.h> and <zlib.h>: libm's functions, a macro called as a function, a
static inline function, zlib's crc32 and version, a constant the compiler evaluates and a
global variable. Needs a C compiler, setuptools and zlib's headers (zlib1g-dev).

    python3 examples/api_mode.py
"""

import importlib.util
import tempfile

from cffix import FFI

builder = FFI()
builder.cdef("""
    double hypot(double x, double y);
    double frexp(double x, int *exponent);
    size_t strlen(const char *s);
    int square(int x);                   /* a macro in the source */
    double mean(double *values, int n);  /* a static inline function */
    unsigned long crc32(unsigned long crc, const unsigned char *buf, unsigned int len);
    const char *zlibVersion(void);
    #define Z_BEST_COMPRESSION ...
    int calls;
""")
builder.set_source("_api_example", r"""
    #include <math.h>
    #include <string.h>
    #include <zlib.h>
    #define square(x) ((x) * (x))
    static inline double mean(double *values, int n) {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += values[i];
        return n ? sum / n : 0;
    }
    int calls = 0;
""", libraries=["m", "z"])

with tempfile.TemporaryDirectory() as tmp:
    path = builder.compile(tmpdir=tmp)
    spec = importlib.util.spec_from_file_location("_api_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

ffi, lib = module.ffi, module.lib
exponent = ffi.new("int *")
print("hypot(3, 4)        =", lib.hypot(3, 4))
print("frexp(48.0)        =", lib.frexp(48.0, exponent), "* 2 **", exponent[0])
print("strlen(b'cffix')   =", lib.strlen(b"cffix"))
print("square(12)         =", lib.square(12))
print("mean([1, 2, 3, 4]) =", lib.mean([1.0, 2.0, 3.0, 4.0], 4))
data = b"hello, world"
print("crc32(data)        =", hex(lib.crc32(0, data, len(data))))
print("zlibVersion()      =", ffi.string(lib.zlibVersion()).decode())
print("Z_BEST_COMPRESSION =", lib.Z_BEST_COMPRESSION)
lib.calls = 3
print("lib.calls          =", lib.calls)
