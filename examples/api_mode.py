"""API mode: compile a binding module against real headers, then use it.

Builds `_api_example` in a temporary folder from a cdef and C source that include
<math.h>, <string.h> and <zlib.h>: libm's functions, a macro called as a function, a
static inline function, zlib's crc32 and version, a constant the compiler evaluates, a
global variable, zlib's `z_stream` declared with `...;` (the compiler lays it out) to
compress with deflate, and an extern "Python" function that C code calls back. Needs a C
compiler, setuptools and zlib's headers (zlib1g-dev).

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

    /* the compiler completes z_stream; the cdef names only the fields it uses */
    typedef struct { unsigned char *next_in; unsigned int avail_in;
                     unsigned char *next_out; unsigned int avail_out;
                     unsigned long total_out; ...; } z_stream;
    #define Z_OK ...
    #define Z_FINISH ...
    #define Z_STREAM_END ...
    int deflateInit_(z_stream *strm, int level, const char *version, int stream_size);
    int deflate(z_stream *strm, int flush);
    int deflateEnd(z_stream *strm);

    extern "Python" int visit(int value);       /* Python, called from C */
    int sum_visited(int n);
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
    static int visit(int value);
    static int sum_visited(int n) {
        int total = 0;
        for (int i = 1; i <= n; i++) total += visit(i);
        return total;
    }
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

stream = ffi.new("z_stream *")
assert lib.deflateInit_(stream, 9, lib.zlibVersion(), ffi.sizeof("z_stream")) == lib.Z_OK
text = b"cffix " * 100
source, output = ffi.new("unsigned char[]", text), ffi.new("unsigned char[]", 1024)
stream.next_in, stream.avail_in = source, len(text)
stream.next_out, stream.avail_out = output, len(output)
assert lib.deflate(stream, lib.Z_FINISH) == lib.Z_STREAM_END
print("deflate(600 bytes) =", stream.total_out, "bytes; sizeof(z_stream) =",
      ffi.sizeof("z_stream"))
lib.deflateEnd(stream)


@ffi.def_extern()
def visit(value):
    return value * value


print("sum_visited(10)    =", lib.sum_visited(10), "(C calling Python's visit 10 times)")
