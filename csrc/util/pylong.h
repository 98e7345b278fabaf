// Python ints: small ones read without a call into the interpreter, and 128-bit values
// (the parser's constants) made into ints.
#pragma once

#include <Python.h>
#if PY_VERSION_HEX < 0x030B0000
#include <longintrepr.h>
#endif

namespace cffix {

// The value of an exact int that fits in one internal digit (|v| < 2**30), read inline:
// false for larger ones, which need PyLong_AsLongLongAndOverflow. `v` must be an int.
inline bool compact_long(PyObject* v, long long* out) {
    auto* l = reinterpret_cast<PyLongObject*>(v);
#if PY_VERSION_HEX >= 0x030C0000
    if (!PyUnstable_Long_IsCompact(l)) return false;
    *out = static_cast<long long>(PyUnstable_Long_CompactValue(l));
    return true;
#else
    switch (Py_SIZE(l)) {
        case 0: *out = 0; return true;
        case 1: *out = static_cast<long long>(l->ob_digit[0]); return true;
        case -1: *out = -static_cast<long long>(l->ob_digit[0]); return true;
        default: return false;
    }
#endif
}

// A Python int of any 128-bit value. A new reference, or null with an exception set.
PyObject* int128_to_python(__int128 v);

}  // namespace cffix
