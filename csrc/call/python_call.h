// Calls from C into Python: what a callback (ffi.callback, callback.h) and an extern
// "Python" function of an API-mode module (extern_python.h) share.
//
// C calls on any thread, one Python did not create included: enter_python() takes the
// GIL with PyGILState_Ensure, hands the caller's errno to ffi.errno and keeps aside an
// exception pending on the thread (a C function called with the GIL held may call back);
// leave_python() undoes all three, errno last.
//
// The Python function gets the C arguments as data::value_from_c makes them (structs by
// value boxed as owned copies) and its result goes back through the fast companions or
// data::to_c. Exceptions never reach C: they go to `onerror` if given, else to
// sys.unraisablehook ("Exception ignored from cffi callback <function f ...>", cffi's text), and C
// receives the `error` value (converted once, when the callee is made) or what onerror
// returned.
//
// Layer convention (call/): null/false with a Python exception set.
#pragma once

#include <cerrno>
#include <memory>
#include <vector>

#include "call/errno.h"
#include "cffix_api.h"
#include "types/ctype.h"

namespace cffix::call {

// The result side of a Python function that C calls: immutable once made, so a call may
// read it before it holds the GIL.
struct PythonCallee {
    types::CType* fntype;  // borrowed: the callee's owner holds the type
    size_t result_size;    // bytes of the result type, 0 for void
    // The result goes into libffi's return slot and is an integer narrower than ffi_arg
    // (the call plan's result_widened): it fills the whole ffi_arg, extended as a register
    // holds it (libffi's closure contract). An extern "Python" function returns a plain C
    // object instead.
    bool widen_result;
    std::vector<char> error_value;  // result_size bytes (operator new: 16-byte aligned)
};

// The callee of a function type: `fntype` non-variadic (else NotImplementedError, as
// cffi), `error` None (zero / NULL) or a value of the result type (TypeError for void).
std::unique_ptr<PythonCallee> make_callee(types::CType* fntype, PyObject* error, bool widen_result);

// `onerror` is None or callable: else TypeError.
bool check_onerror(PyObject* onerror);

// The thread's state around a call from C: see above. Call enter_python first thing
// (before anything may change errno) and leave_python last. (Inline: a callback's
// handler is on the hot path; API-mode modules reach them through the C API table.)
inline void enter_python(cffix_python_entry& entry) {
    entry.caller_errno = errno;  // first: PyGILState_Ensure may change errno
    entry.gil = PyGILState_Ensure();
    entry.pending[0] = entry.pending[1] = entry.pending[2] = nullptr;
    if (PyErr_Occurred()) PyErr_Fetch(&entry.pending[0], &entry.pending[1], &entry.pending[2]);
    saved_errno() = entry.caller_errno;
}

inline void leave_python(cffix_python_entry& entry) {
    if (entry.pending[0]) PyErr_Restore(entry.pending[0], entry.pending[1], entry.pending[2]);
    int callee_errno = saved_errno();
    PyGILState_Release(entry.gil);
    errno = callee_errno;  // last, for the same reason
}

// Calls `callable` with the C arguments at `args` (one pointer per parameter) and writes
// its result at `ret`. Never fails: errors are reported as above. The GIL is held.
void call_python(const PythonCallee& callee, PyObject* callable, PyObject* onerror, void* ret,
                 void** args);

// What the Python function returned into `ret`. False with an exception set.
bool store_python_result(const PythonCallee& callee, void* ret, PyObject* value);

// The call raised (or its result did not convert, `converting_result`): the exception
// goes to `onerror` or the hook; `ret` gets the error value or what onerror returned.
// `callable` names the function in the report (null: cleared).
void report_error(const PythonCallee& callee, PyObject* callable, PyObject* onerror, void* ret,
                  bool converting_result);

}  // namespace cffix::call
