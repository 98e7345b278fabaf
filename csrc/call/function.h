// Calling C functions from Python (ABI mode): call plans and callable function cdata.
//
// A CallPlan is built once per function type (function CTypes are interned, so once per
// signature) and kept in call/'s plan table (plan.h): per-argument specs (conversion
// kind, integer range, register slots), the argument buffer layout, a libffi cif, and
// where the signature allows it a thunk that calls the function directly through an
// exact prototype (call/thunks.h): arguments in registers (x86-64 System V, AArch64), and
// arguments past the registers (on the stack); on x86-64 also structs by value.
// Variadic calls, long double, _Complex and signatures the thunks cannot carry go
// through libffi.
//
// A call converts each argument (data/argument.h: a fast companion of to_c for the
// common exact cases, else the converters with the call rules) into registers or a
// stack buffer, restores the thread's saved errno (call/errno.h), releases the GIL
// (unless asked not to), calls, saves errno, reacquires the GIL, and converts the result
// (data::value_from_c): no heap allocation on the way (variadic calls look up a cif per
// argument-type tuple in a cache). Every function pointer also has f.map(...), the
// batched form (call/batched.h).
#pragma once

#include <string>
#include <vector>

#include "data/cdata.h"

namespace cffix::call {

// A callable cdata of function type `fntype` for the C function at `address`:
// `<cdata 'int(*)(int)' 0x...>`, of type data::CData_Type itself (as cffi's library
// functions), with a vectorcall entry point of its own (data::CDataCallable). With
// release_gil=false the GIL is kept during the call (for tiny functions: saves the cost of
// releasing it).
PyObject* make_function(types::CType* fntype, void* address, bool release_gil);

// Whether cffix._core._force_libffi(True) routes every call through libffi (tests run the
// thunks and libffi on the same functions; batched calls follow it too).
bool libffi_forced();

// Readies the function types: data::CDataFunction_Type with its call slot (any other
// function pointer is callable, through a tuple-based path).
bool init_call_types(PyObject* module);

}  // namespace cffix::call
