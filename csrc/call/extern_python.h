// extern "Python" functions of API-mode modules: C functions the generated module defines
// (one per declaration, of exactly the declared signature, so C code calls them and takes
// their address) that call the Python function ffi.def_extern() attached to the name.
//
// The module holds one cffix_extern_python per function (cffix_api.h), a static object
// that lives as long as the process, as the function's code does. At import,
// register_extern_python() gives each its state (the function type, the module-qualified
// name for messages) and returns the table the module's ffi keeps, where def_extern()
// finds the names. The states are never freed: C may keep the function's address and call
// it for as long as the process runs, also after the module's ffi is gone.
//
// The generated function does the hot part itself: enter_python(), inline conversions of
// integer and floating arguments (the core's value_from_c for the others), a vectorcall,
// the fast companions for the result. It reaches the functions below for the rest; they
// run the code ffi.callback runs (python_call.h), so errors are reported the same way:
// onerror, sys.unraisablehook, the error value.
//
// Layer convention (call/): null/false with a Python exception set.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cffix_api.h"
#include "types/scope.h"

namespace cffix::call {

// The extern "Python" functions of one module, as its ffi finds them.
struct ExternPythonTable {
    std::string module;
    std::vector<cffix_extern_python*> functions;  // the module's static objects
};

// Module init: gives each of `functions` (ended by a null name; declared extern "Python"
// in `scope`, else SystemError) its state, and adds its function pointer cdata to
// `lib_functions` (name -> value). A function registered before (the module initialized
// again) keeps its state and what is attached to it.
std::unique_ptr<ExternPythonTable> register_extern_python(const types::Scope& scope,
                                                          const char* module,
                                                          cffix_extern_python* functions,
                                                          PyObject* lib_functions);

// ffi.def_extern(name, error, onerror)(callable): attaches `callable` to the function
// `name` (a str) of `table`, replacing what was attached. FFIError for a name that is no
// extern "Python" function of this module (as cffi), TypeError for a callable that is not
// one, and ffi.callback's errors for `error` and `onerror`.
bool attach_extern_python(const ExternPythonTable& table, PyObject* name, PyObject* callable,
                          PyObject* error, PyObject* onerror);

// C called the function before def_extern(): a line on the C stderr, as cffi writes it.
void report_unattached(const cffix_extern_python& function);

// The attached function's result into the C result at `ret` (store_python_result).
bool store_extern_result(const cffix_extern_python& function, void* ret, PyObject* value);

// The attached function raised, or its result did not convert: report_error with what is
// attached now.
void report_extern_error(const cffix_extern_python& function, void* ret, bool converting_result);

}  // namespace cffix::call
