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

// A loaded library as the function objects made from it see it (lib/ makes one per
// library): a small Python object held by the Library and by each of its function objects
// (lib.f, wrapped functions; their destroy functions through keep_loaded()).
//
// ffi.dlclose(lib) marks it closed: from then on a call through any of those objects
// raises the library's "closed" error; the check is one load and a branch per call. The
// library itself is unloaded (dlclose()) when the last holder is gone. So a function
// fetched before the close and called after it raises instead of jumping into unmapped
// code, and a call in flight on another thread (whose caller holds the function object)
// returns before the code is unmapped: dlclose never waits and never fails because of
// calls in progress; the unload waits for them, and for every function object.
struct LibraryHandle {
    PyObject_HEAD
    bool closed;
    void* handle;          // dlclose()d at the end once closed; null: nothing to unload (not
                           // owned by cffix, or unloaded already)
    PyObject* error_type;  // once closed, calls raise error_type(*error_args)
    PyObject* error_args;
    PyObject* keeps;  // keep_loaded(): the handle this one keeps loaded (owned), or null
};

// A new handle (a new reference) for the library `handle` (null: nobody unloads it).
LibraryHandle* new_library_handle(void* handle);

// The handle of function objects that belong to no library: never closed (borrowed).
LibraryHandle* no_library();

// A handle never closed that keeps `library` loaded (a new reference): for the destroy
// functions of owned results (call/wrap.h), which still free what the library allocated
// when the results die after ffi.dlclose().
LibraryHandle* keep_loaded(LibraryHandle* library);

// Marks `library` closed; what calls raise from now on is the exception set now (taken
// and cleared).
void mark_closed(LibraryHandle* library);

// Raises the closed error of `library` and returns true when it is closed.
inline bool raise_if_closed(const LibraryHandle* library) {
    if (!library->closed) [[likely]]
        return false;
    PyErr_SetObject(library->error_type, library->error_args);
    return true;
}

// A callable cdata of function type `fntype` for the C function at `address` of
// `library` (held; no_library() for none): `<cdata 'int(*)(int)' 0x...>`, of type
// data::CData_Type itself (as cffi's library functions), with a vectorcall entry point of
// its own (data::CDataCallable). With release_gil=false the GIL is kept during the call
// (for tiny functions: saves the cost of releasing it).
//
// `names` (may be null): what its messages call it and its parameters (f.map's), as
// intern_function_names() gives them.
struct FunctionNames {
    std::string name;
    std::vector<std::string> params;  // as declared ("" where unnamed), or empty
};
PyObject* make_function(types::CType* fntype, void* address, bool release_gil,
                        LibraryHandle* library, const FunctionNames* names = nullptr);

// The names of one declaration, interned: one record per distinct name and parameter
// names for the life of the process (a function object is a plain cdata whose dealloc
// knows nothing of them, so it borrows them; a cdef declares a bounded set).
const FunctionNames* intern_function_names(const std::string& name,
                                           const std::vector<std::string>& params);

// Whether cffix._core._force_libffi(True) routes every call through libffi (tests run the
// thunks and libffi on the same functions; batched calls follow it too).
bool libffi_forced();

// Readies the function types: data::CDataFunction_Type with its call slot (any other
// function pointer is callable, through a tuple-based path).
bool init_call_types(PyObject* module);

}  // namespace cffix::call
