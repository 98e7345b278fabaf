"""Real system headers through `cc -E -P` must cdef, declare what they should, and the
functions they declare must be callable. A header that is not installed skips its test.
"""

import ctypes.util
import subprocess

import pytest

from cdef_helpers import cdef, dlopen_self


# Each header: (functions it declares, a type it declares and that type's kind).
HEADERS = {
    "stdio.h": ({"printf", "fopen", "fclose"}, "FILE", "struct"),
    "stdlib.h": ({"malloc", "qsort", "strtol"}, "div_t", "struct"),
    "string.h": ({"strlen", "memcpy", "strcmp"}, "size_t", "primitive"),
    "math.h": ({"cos", "ldexp", "frexp"}, "double_t", "primitive"),
    "sys/socket.h": ({"socket", "bind", "sendmsg"}, "struct sockaddr", "struct"),
    "zlib.h": ({"deflate", "inflate", "crc32"}, "z_stream", "struct"),
    "sqlite3.h": ({"sqlite3_open", "sqlite3_exec", "sqlite3_close"}, "sqlite3", "struct"),
}


# Names only _GNU_SOURCE declares: their presence shows the extended text was parsed.
GNU_ONLY = {"stdio.h": {"asprintf", "fopencookie"}, "stdlib.h": {"qsort_r", "mkostemp"},
            "string.h": {"mempcpy", "strchrnul"}, "math.h": {"sincos", "exp10"}}


def preprocess(cc, header, flags=(), includes=()):
    """`cc -E -P` of a C file including <header> (and `includes`); skips if not installed."""
    source = "".join(f"#include <{h}>\n" for h in [header, *includes])
    proc = subprocess.run([cc, "-E", "-P", *flags, "-"], input=source,
                          capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        pytest.skip(f"<{header}> is not installed")
    return proc.stdout


@pytest.mark.parametrize("header", HEADERS)
def test_preprocessed_system_header(cc, header):
    functions, type_name, kind = HEADERS[header]
    ffi = cdef(preprocess(cc, header))
    assert functions <= set(dir(dlopen_self(ffi)))
    assert ffi.typeof(type_name).kind == kind


@pytest.mark.parametrize("header", ["stdio.h", "stdlib.h", "string.h", "math.h"])
def test_preprocessed_header_with_gnu_source_and_optimization(cc, header):
    # -O2 brings glibc's extern inline definitions; _GNU_SOURCE the _FloatN functions.
    ffi = cdef(preprocess(cc, header, ["-O2", "-D_GNU_SOURCE"]))
    names = set(dir(dlopen_self(ffi)))
    assert HEADERS[header][0] | GNU_ONLY[header] <= names


def test_preprocessed_stdio_and_string_are_usable(cc):
    ffi = cdef(preprocess(cc, "stdio.h", includes=["string.h"]))
    lib = dlopen_self(ffi)
    assert lib.strlen(b"four") == 4
    out = ffi.new("int *")
    assert lib.sscanf(b"42", b"%d", out) == 1  # through glibc's asm label __isoc99_sscanf
    assert out[0] == 42


def test_preprocessed_math_is_usable(cc):
    ffi = cdef(preprocess(cc, "math.h"))
    lib = ffi.dlopen(ctypes.util.find_library("m") or None)
    assert lib.cos(0.0) == 1.0
    assert lib.ldexp(1.0, 10) == 1024.0
