// The function objects of an API-mode module's lib (lib.f): what cffi calls "built-in
// functions" of a lib. Callable (the module's METH_FASTCALL wrapper, called directly by
// vectorcall), not cdata (`isinstance(lib.f, ffi.CData)` is false, as in cffi), yet each
// converts to its C function pointer wherever one is expected: an argument or an item of
// a function pointer or `void *` type, ffi.cast(); ffi.typeof(lib.f) is its function type.
// They carry cffi's __name__, __module__ and __doc__ ("double sin(double);\n\nCFFI C
// function from <module>.lib").
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

// A new lib.f: `def` (static, the module's) is called with `self` (lib); `ffi` (held)
// owns `scope`, where `def->ml_name` is declared; `address` gives the C function pointer.
PyObject* new_module_function(const PyMethodDef* def, PyObject* self, PyObject* ffi,
                              types::Scope* scope, void* (*address)(), PyObject* module_name);

bool is_module_function(PyObject* obj);

// Its function type (borrowed) and its address: null with an exception set on failure.
types::CType* module_function_type(PyObject* obj);
void* module_function_address(PyObject* obj);

bool init_module_function_type(PyObject* module);

}  // namespace cffix::data
