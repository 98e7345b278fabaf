// Batched calls: `f.map(*args, out=None, errors="raise")` calls a C function of scalar
// parameters and result once per item of its array arguments, in one crossing.
//
// Each argument is a column: a cdata array (`T[]`, `T[n]`), a buffer (bytes, bytearray,
// array.array, memoryview, NumPy arrays of any stride, one dimension), or a value used
// in every call (a Python number, a 0-d buffer, a cdata; for a pointer parameter any
// single argument a call takes). The item format of a column is checked once against
// its parameter (sizes, signedness, float or integer, byte order); integers that may
// not fit the parameter are range-checked before any call is made. Then, with the GIL
// released once, items are read in chunks into register words and the function is
// called through the plan's exact prototype (a direct typed loop for the common small
// signatures, the plan's thunk or libffi otherwise): no Python object per item.
//
// The results go to a new cdata array `R[]` of length n, or into `out` (a cdata array
// of R or a writable one-dimensional buffer of R's format). A void function gives
// None. `errors` is "raise", "mask" (the call returns (results, mask), mask a `_Bool[]`
// whose true items failed) or "ignore"; failures come from the error policy of a
// wrapped function (ffi.wrap / ffi.errors, call/policy.h), evaluated right after each
// item's call, before the GIL is retaken; "raise" stops at the first failure with the
// policy's exception, its `.index` the item. A wrapped function's out and inout
// parameters become arrays (one item per call, each call writing its item), returned
// after the results as one call returns its outs; defaulted parameters are evaluated once.
//
// batched.cpp shapes and checks the arguments and results; batched_loop.h/.cpp hold the
// items, the staging and the call loops.
#pragma once

#include <string>
#include <vector>

#include "data/cdata.h"

namespace cffix::call {

// The function a batch calls.
struct MapTarget {
    types::CType* fntype;  // Kind::Function
    void* fn;
    PyObject* name;  // borrowed str for messages ("sin.map()"), or null
    bool release_gil;
    PyObject* function;  // the function object: a wrapped function (ffi.wrap) brings its
                         // shape and error policy (call/wrap.h)
    const std::vector<std::string>* param_names;  // for messages; null when unknown
};

// f.map(*args, out=None, errors="raise"): fastcall arguments as given to the method.
// A new reference, or null with an exception set.
PyObject* map_calls(const MapTarget& target, PyObject* const* args, Py_ssize_t nargs,
                    PyObject* kwnames);

}  // namespace cffix::call
