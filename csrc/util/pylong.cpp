// Python ints from 128-bit values (the parser's constants).
#include "util/pylong.h"

namespace cffix {

PyObject* int128_to_python(__int128 v) {
    if (v >= INT64_MIN && v <= INT64_MAX) return PyLong_FromLongLong(static_cast<long long>(v));
    if (v >= 0 && v <= static_cast<__int128>(UINT64_MAX))
        return PyLong_FromUnsignedLongLong(static_cast<unsigned long long>(v));
    // Beyond 64 bits: go through hex text (rare: only huge #define values).
    bool negative = v < 0;
    unsigned __int128 u =
        negative ? -static_cast<unsigned __int128>(v) : static_cast<unsigned __int128>(v);
    char buf[40];
    char* p = buf + sizeof buf;
    *--p = '\0';
    do {
        *--p = "0123456789abcdef"[static_cast<int>(u & 15)];
        u >>= 4;
    } while (u);
    *--p = 'x';
    *--p = '0';
    if (negative) *--p = '-';
    return PyLong_FromString(p, nullptr, 0);
}

}  // namespace cffix
