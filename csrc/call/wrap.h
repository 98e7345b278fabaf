// Wrapped functions (ffi.wrap): a library function whose Pythonic shape is declared once
// and runs in C++ around the C call: an error policy (call/policy.h), out and inout
// parameters in the call's own frame, owned results and outs (destroyed by a declared C
// function, as ffi.gc does), consumed arguments, text results, defaulted parameters.
//
// The rules live per FFI scope, in a table of call/ (the FFI layer sets them, libraries
// ask them when they make a function object): `rules(name, result_typedef)` is a Python
// callable (cffix/wrappers.py) answering the merged spec of one function, or None.
//
// A spec is a dict (made by cffix/wrappers.py, checked again here):
//   "errors":  None, or an object with attributes fails, code, message (str or None),
//              raises, retry_eintr, errno_style, name (an ErrorPolicy)
//   "message": None, or a C expression replacing the policy's message
//   "out":     {param: "out" | "inout"}
//   "owned":   {param | "return": destroy function name}
//   "adopt_on_error": bool
//   "consumes": [param, ...]
//   "text":    {param | "return": "str" | "bytes"}
//   "default": {param: C expression}
// where param is a parameter name, "argN" or an int index.
//
// The object is a function cdata (ffi.typeof gives its C type, ffi.cast takes it) with a
// vectorcall entry: no Python frame, no heap allocation on a successful call.
#pragma once

#include <string>
#include <vector>

#include "call/function.h"
#include "call/policy.h"
#include "types/scope.h"

namespace cffix::call {

// The rules of `scope`: set (replacing earlier ones), forgotten when the FFI dies.
bool set_wrap_rules(const types::Scope* scope, PyObject* rules);
void forget_wrap_rules(const types::Scope* scope);
bool has_wrap_rules(const types::Scope* scope);

// What a library knows of one of its functions.
struct WrapTarget {
    const types::Scope* scope;
    const types::FunctionDecl* decl;
    void* address;
    const std::string* name;
    bool release_gil;
    SymbolResolver resolve;  // for calls in expressions and destroy functions
    void* resolve_context;
    LibraryHandle* library;  // held by the wrapped function and its destroy function
};

// The wrapped function for `target` when the rules wrap it: a new reference; null with
// an exception set; or null without one when the rules leave it alone.
PyObject* make_wrapped(const WrapTarget& target);

// For batched calls (lib.f.map) over a wrapped function: whether `obj` is one, and its
// compiled error policy (null when it has none). Run per element as policy.h shows.
bool is_wrapped_function(PyObject* obj);
// The library of a wrapped function (see LibraryHandle), or null for any other object.
const LibraryHandle* library_of_wrapped(PyObject* obj);
const Policy* policy_of_wrapped(PyObject* obj);

bool init_wrap_type(PyObject* module);

// What a batched call (f.map, call/batched.h) needs of a wrapped function: per C
// parameter, where its value comes from; its policy; what it returns.
struct WrappedParam {
    enum Role : uint8_t { Python, Out, InOut, Default } role;
    Py_ssize_t py_index;         // Python, InOut: the position in the Python call
    CType* pointee;              // Out, InOut: what the pointer points to (borrowed)
    const Policy* value;         // Default: the compiled expression (eval_default)
    bool text, owned, consumed;  // shapes map does not take
};
struct WrappedView {
    PyObject* name;  // borrowed str
    bool release_gil;
    const Policy* policy;  // null: nothing fails
    std::vector<WrappedParam> params;
    std::vector<int> outs;  // parameter indexes of outs and inouts, in order
    Py_ssize_t py_nargs;
    bool result_text, result_owned;
    const std::vector<std::string>* param_names;  // empty when the declaration names none
};
// Fills `view` when `obj` is a wrapped function (false otherwise; no exception).
bool wrapped_view(PyObject* obj, WrappedView& view);

}  // namespace cffix::call
