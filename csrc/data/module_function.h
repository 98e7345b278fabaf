// The function objects of an API-mode module's lib (lib.f): what cffi calls "built-in
// functions" of a lib. Each is a CPython builtin function (the module's METH_FASTCALL
// wrapper, which the interpreter calls on its fast path for builtins), not a cdata
// (`isinstance(lib.f, ffi.CData)` is false, as in cffi), bound to a small object of
// this file (its `self`, which the wrappers ignore) that knows the C function: so it
// converts to its C function pointer wherever one is expected (an argument or an item of
// a function pointer or `void *` type, ffi.cast()), and ffi.typeof(lib.f) is its function
// type. __name__, __module__ and __doc__ (cffi's "double sin(double);\n\nCFFI C function
// from <module>.lib", written by the generator) are the builtin's own.
//
// The function type is resolved at first need from the FFI's declarations (an API-mode
// module's cdef runs at its first use), and the address from the module's direct function
// (gen/module_source.cpp), asked at each conversion.
//
// CPython convention: null/false with a Python exception set on failure.
#pragma once

#include <Python.h>

#include "types/ctype.h"
#include "types/scope.h"

namespace cffix::data {

// A new lib.f: the builtin of `def` (static, the module's); `ffi` (held) owns `scope`,
// where `def->ml_name` is declared; `address` gives the C function pointer.
PyObject* new_module_function(const PyMethodDef* def, PyObject* ffi, types::Scope* scope,
                              void* (*address)(), PyObject* module_name);

bool is_module_function(PyObject* obj);

// Its function type (borrowed) and its address: null with an exception set on failure.
types::CType* module_function_type(PyObject* obj);
void* module_function_address(PyObject* obj);

bool init_module_function_type(PyObject* module);

}  // namespace cffix::data
