// Callbacks: a Python callable behind a C function pointer (ffi.callback).
//
// make_callback() returns a cdata of the function-pointer type (a CDataCallback, derived
// from data::CDataFunction_Type) whose pointer value is the code address of a libffi
// closure: on x86-64 and AArch64 Linux a slot of cffix's trampoline pool (call/trampoline.h), else
// libffi's own. When C calls that address, the closure's handler runs the code it shares
// with API mode's extern "Python" functions (call/python_call.h): it takes the GIL with
// PyGILState_Ensure (so any thread may call, including threads Python did not create),
// converts the arguments with data::value_from_c (structs by value boxed as owned
// copies), calls the Python callable, and writes its result with data::to_c.
// Exceptions never reach C: they go to `onerror` if given, else to
// sys.unraisablehook, and C receives the `error` value (converted once, at creation).
//
// Lifetime: the C function pointer is valid exactly as long as the callback cdata is
// alive. The cdata owns the closure (freed when the cdata is collected), the callable,
// `onerror` and the error value; the libffi cif it points to is the type's call plan,
// kept while the cdata holds the type. Nothing else keeps it alive: a program that hands
// the pointer to C must keep the cdata referenced for as long as C may call it (e.g.
// store it next to the C object that holds the pointer, or in a module global for
// process-lifetime registrations). A call through the pointer after the cdata was collected is
// undefined behaviour (the closure memory is freed and may be reused), and cannot be
// detected. Casting the cdata (ffi.cast("void *", cb)) does not keep it alive either.
//
// errno, per thread (call/errno.h): on entry the handler saves the caller's errno
// into saved_errno(), so the callback reads it as ffi.errno; on exit errno is
// restored from saved_errno(), so a callback that sets ffi.errno hands that value
// back to its C caller.
//
// Layer convention (call/): null/false with a Python exception set.
#pragma once

#include "data/cdata.h"

namespace cffix::call {

extern PyTypeObject CDataCallback_Type;

// ffi.callback once the type is resolved: `fntype` must be a Function CType (else
// TypeError), non-variadic (else NotImplementedError, as cffi). `error` (None: zero /
// NULL) and `onerror` (None or a callable) as in cffi. A new reference or null.
PyObject* make_callback(types::CType* fntype, PyObject* callable, PyObject* error,
                        PyObject* onerror);

// Checks that a callback of type `fntype` can be made with this `error` value, without
// making one (the decorator form validates before it gets its function). False with an
// exception set.
bool check_callback_type(types::CType* fntype, PyObject* error, PyObject* onerror);

// Readies CDataCallback_Type. make_callback() calls it on first use; module init may
// call it earlier. False with an exception set.
bool init_callback_type();

}  // namespace cffix::call
