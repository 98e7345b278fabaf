"""Struct layout of a few real C types, as cffix computes it.

The declarations are those of glibc on x86-64 (<time.h>, <netinet/ip.h>,
<signal.h>, <dirent.h>). For each type the script prints its size, its
alignment and a table of its fields. If a C compiler is available it then
compiles a small program that includes the real headers and checks that
cffix's numbers are the compiler's.

    python3 examples/struct_layout.py
"""

import os
import platform
import shutil
import subprocess
import sys
import tempfile

from cffix import FFI

CDEF = """
    typedef long time_t;
    typedef unsigned long ino_t;
    typedef long off_t;

    struct timespec {            /* <time.h> */
        time_t tv_sec;
        long   tv_nsec;
    };

    struct tm {                  /* <time.h> */
        int tm_sec;   int tm_min;  int tm_hour;
        int tm_mday;  int tm_mon;  int tm_year;
        int tm_wday;  int tm_yday; int tm_isdst;
        long int tm_gmtoff;
        const char *tm_zone;
    };

    struct iphdr {               /* <netinet/ip.h>, little-endian */
        unsigned int ihl:4;
        unsigned int version:4;
        uint8_t  tos;
        uint16_t tot_len;
        uint16_t id;
        uint16_t frag_off;
        uint8_t  ttl;
        uint8_t  protocol;
        uint16_t check;
        uint32_t saddr;
        uint32_t daddr;
    };

    union sigval {               /* <signal.h> */
        int   sival_int;
        void *sival_ptr;
    };

    struct dirent {              /* <dirent.h> */
        ino_t          d_ino;
        off_t          d_off;
        unsigned short d_reclen;
        unsigned char  d_type;
        char           d_name[256];
    };
"""

TYPES = ["struct timespec", "struct tm", "struct iphdr", "union sigval", "struct dirent"]
HEADERS = ["time.h", "netinet/ip.h", "signal.h", "dirent.h", "stddef.h", "stdio.h"]


def describe(ffi, name):
    ctype = ffi.typeof(name)
    print(f"{ctype.cname}: sizeof {ffi.sizeof(ctype)}, alignof {ffi.alignof(ctype)}")
    print(f"    {'field':<12} {'type':<16} {'offset':>6} {'size':>5}  bits")
    for field_name, field in ctype.fields:
        bits = ""
        if field.bitsize >= 0:
            bits = f"{field.bitshift}..{field.bitshift + field.bitsize - 1}"
        size = ffi.sizeof(field.type)
        row = f"    {field_name:<12} {field.type.cname:<16} {field.offset:>6} {size:>5}  {bits}"
        print(row.rstrip())
    print()


def check_with_compiler(ffi):
    """Compare sizes, alignments and offsets with the C compiler's; True if all match."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc or platform.system() != "Linux" or platform.machine() != "x86_64":
        print("(no C compiler, or not Linux x86-64: skipping the check against cc)")
        return True
    expected, lines = [], []
    for name in TYPES:
        ctype = ffi.typeof(name)
        lines.append(f'printf("%zu %zu\\n", sizeof({name}), _Alignof({name}));')
        expected.append(f"{ffi.sizeof(ctype)} {ffi.alignof(ctype)}")
        for field_name, field in ctype.fields:
            if field.bitsize < 0:  # offsetof() does not apply to bitfields
                lines.append(f'printf("%zu\\n", offsetof({name}, {field_name}));')
                expected.append(str(field.offset))
    includes = "".join(f"#include <{h}>\n" for h in HEADERS)
    source = f"{includes}int main(void) {{\n" + "\n".join(lines) + "\nreturn 0;\n}\n"
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "layout")
        subprocess.run([cc, "-x", "c", "-o", exe, "-"], input=source, text=True, check=True)
        run = subprocess.run([exe], capture_output=True, text=True, check=True)
    actual = run.stdout.splitlines()
    if actual != expected:
        print(f"MISMATCH with {cc}: cffix says {expected}, the compiler says {actual}")
        return False
    print(f"checked against {cc}: all {len(expected)} sizes, alignments and offsets agree")
    return True


def main():
    ffi = FFI()
    ffi.cdef(CDEF)
    for name in TYPES:
        describe(ffi, name)
    return 0 if check_with_compiler(ffi) else 1


if __name__ == "__main__":
    sys.exit(main())
