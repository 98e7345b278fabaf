// Argument shaping for METH_FASTCALL|KEYWORDS and vectorcall entry points (the FFI
// methods in csrc/ffi/, the allocator and buffer objects of csrc/data/): positional and
// keyword arguments into named slots, with one wording for every method's TypeErrors.
#pragma once

#include "util/pyref.h"

namespace cffix {

// Fills `out` (one slot per entry of the null-terminated `names`, pre-set by the caller
// to the defaults, null for "not given") from fastcall arguments; the first `required`
// names must be given. With `positional` >= 0, only the first `positional` names may be
// given by position, the others by keyword only. False with a TypeError set.
inline bool parse_args(const char* fn, const char* const* names, int required,
                       PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames, PyObject** out,
                       int positional = -1) {
    if (!kwnames && nargs >= required && (positional < 0 || nargs <= positional)) {
        // the common case: enough positional arguments
        Py_ssize_t i = 0;
        for (; i < nargs && names[i]; ++i) out[i] = args[i];
        if (i == nargs) return true;
    }
    int count = 0;
    while (names[count]) ++count;
    if (positional >= 0 && nargs > positional) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %d positional argument%s (%zd given)", fn,
                     positional, positional == 1 ? "" : "s", nargs);
        return false;
    }
    if (nargs > count) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %d argument%s (%zd given)", fn, count,
                     count == 1 ? "" : "s", nargs);
        return false;
    }
    for (Py_ssize_t i = 0; i < nargs; ++i) out[i] = args[i];
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t i = 0; i < nkw; ++i) {
        PyObject* key = PyTuple_GET_ITEM(kwnames, i);
        int slot = -1;
        for (int j = 0; j < count; ++j)
            if (PyUnicode_CompareWithASCIIString(key, names[j]) == 0) slot = j;
        if (slot < 0) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", fn, key);
            return false;
        }
        if (slot < nargs) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", fn,
                         names[slot]);
            return false;
        }
        out[slot] = args[nargs + i];
    }
    for (int j = 0; j < required; ++j)
        if (!out[j]) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'", fn, names[j]);
            return false;
        }
    return true;
}

}  // namespace cffix
