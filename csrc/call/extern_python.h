// extern "Python" functions of API-mode modules: C functions the generated module defines
// (one per declaration, of exactly the declared signature, so C code calls them and takes
// their address) that call the Python function ffi.def_extern() attached to the name.
//
// The module holds one cffix_extern_python per function (cffix_api.h), a static object
// that lives as long as the process, as the function's code does; its ffi keeps the
// array (ffi/object.h), where def_extern() finds the names. Nothing is looked up at
// import: the first def_extern() of a function gives it its state (the function type,
// from the cdef), which is never freed: C may keep the function's address and call it for
// as long as the process runs, also after the module's ffi is gone. lib finds the
// functions' addresses among the module's known symbols (lib/library.h).
//
// The generated function does the hot part itself: enter_python(), inline conversions of
// integer and floating arguments (the core's value_from_c for the others), a vectorcall,
// the fast companions for the result. It reaches the functions below for the rest; they
// run the code ffi.callback runs (python_call.h), so errors are reported the same way:
// onerror, sys.unraisablehook, the error value.
//
// Layer convention (call/): null/false with a Python exception set.
#pragma once

#include "cffix_api.h"
#include "types/scope.h"

namespace cffix::call {

// ffi.def_extern(name, error, onerror)(callable): attaches `callable` to the function
// `name` (a str) of `functions` (a module's array, declared in `scope`), replacing what
// was attached. FFIError for a name that is no extern "Python" function of this module
// (as cffi), TypeError for a callable that is not one, and ffi.callback's errors for
// `error` and `onerror`.
bool attach_extern_python(const types::Scope& scope, cffix_extern_python* functions, PyObject* name,
                          PyObject* callable, PyObject* error, PyObject* onerror);

// C called the function before def_extern(): a line on the C stderr, as cffi writes it.
void report_unattached(const cffix_extern_python& function);

// The attached function's result into the C result at `ret` (store_python_result).
bool store_extern_result(const cffix_extern_python& function, void* ret, PyObject* value);

// The attached function raised, or its result did not convert: report_error with what is
// attached now.
void report_extern_error(const cffix_extern_python& function, void* ret, bool converting_result);

}  // namespace cffix::call
