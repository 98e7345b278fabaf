// Libraries loaded in ABI mode (ffi.dlopen): the Library object, `<Lib object for
// 'libm.so.6'>`, holding the dlopen handle and the FFI whose declarations it exposes.
//
//   lib.f          a declared function: resolved with dlsym (its asm label when it has
//                  one) on first access, made into a callable cdata by call/, and cached
//                  in the library's dict, so later accesses are one dict lookup.
//   lib.X          an integer constant (#define, enumerator, `static const int X = 1;`):
//                  a Python int, cached too.
//   lib.var        a global variable: its current value, read at each access through
//                  data::from_c (arrays and structs are views on the library's memory);
//                  `lib.var = v` writes through data::to_c. Only the address is cached.
//   dir(lib)       every declared function, variable and constant, included FFIs' too.
//
// After ffi.dlclose(lib), using any declared name raises ValueError; the cached function
// objects are dropped from the dict. Function objects obtained before the close raise the
// same error when called (call::LibraryHandle: they hold the library's handle, which is
// dlclose()d when the last of them is gone, so a call in flight on another thread ends
// before the code is unmapped). Views on the library's variables taken before the close,
// and raw pointers cast from its functions, point into unmapped memory once it is
// unloaded: using them is undefined, as using a pointer after dlclose() is in C.
//
// A Library that is garbage-collected without ffi.dlclose() leaves the library loaded
// (cffi's FFI keeps every library it opened alive, with the same effect): function
// cdata taken from it stay callable.
//
// CPython convention: null/false with a Python exception set on failure.
#pragma once

#include <dlfcn.h>  // RTLD_* flags

#include <string>

#include "data/cdata.h"
#include "types/scope.h"

namespace cffix::lib {

// ffi.dlopen(name, flags) once the arguments are shaped: `name` is a str (a path when it
// contains '/', else tried as given, then through ctypes.util.find_library as cffi
// does) or None (the main program and its libraries: dlopen(NULL)). `scope` is `ffi`'s,
// kept alive by the reference the library holds on `ffi`. Without RTLD_NOW or
// RTLD_LAZY in `flags`, RTLD_NOW is added. With release_gil=false, the functions of this
// library keep the GIL during calls (a cffix extension). Errors: OSError.
PyObject* open_library(PyObject* ffi, types::Scope* scope, PyObject* name, int flags,
                       bool release_gil);

// dlopen(path, flags) without the GIL; on failure null, with dlerror()'s text in `error`.
void* load(const char* path, int flags, std::string& error);

// A Library owning `handle` (from load()), shown as `display` (a str): for the pinned
// loads of lib/pinned.cpp, which load "/proc/self/fd/N". Closes the handle on failure.
PyObject* wrap_loaded(PyObject* ffi, types::Scope* scope, void* handle, PyObject* display,
                      bool release_gil);

// ctypes.util.find_library(name): a str, None, or null with an exception set.
PyObject* find_library(PyObject* name);

// ffi.dlopen(handle) for a `void *` cdata holding a handle from a C call to dlopen():
// wrapped, never dlclose'd by cffix. NULL -> RuntimeError; another type -> TypeError.
PyObject* wrap_handle(PyObject* ffi, types::Scope* scope, data::CData* handle, bool release_gil);

// The `lib` of an API-mode module: the same Library, with what the module's compiled code
// knows put in place of dlsym, each table sorted by name (strcmp): its function objects,
// its constants (values the compiler computed), and functions giving the addresses of its
// global variables, variadic functions and extern "Python" functions (lib.<name> of one
// of the functions is its function pointer cdata; dir(lib) lists them). Nothing is made
// at import: a name becomes an object at its first access. The main program's handle
// stands for the library (never closed by cffix). A new reference, or null with an
// exception set.
struct KnownSymbol {
    const char* name;
    void* (*address)();  // called at each access (the name may be a macro)
};
struct ModuleTables {
    const PyMethodDef* functions;  // METH_FASTCALL wrappers
    Py_ssize_t nfunctions;
    const char* const* constant_names;
    Py_ssize_t nconstants;
    // Constant i: *s and *u hold its value; returns whether it is negative.
    int (*constant_value)(int i, long long* s, unsigned long long* u);
    const KnownSymbol* symbols;
    Py_ssize_t nsymbols;
};
PyObject* module_library(PyObject* ffi, types::Scope* scope, PyObject* name,
                         const ModuleTables& tables);

// set_source(..., release_gil=False): the functions made for an API-mode module's `lib`
// from now on (wrapped ones) keep the GIL during calls, as its generated wrappers do.
void keep_gil(PyObject* lib);

// An API-mode module's `lib` also answers, after its own names, with those of `other`
// (the lib of a module whose ffi this lib's ffi includes). False with an exception set.
bool include_library(PyObject* lib, PyObject* other);

// ffi.dlclose(lib): idempotent. dlclose() failing -> OSError.
bool close_library(PyObject* lib);

bool is_library(PyObject* obj);

// ffi.wrap() changed the rules of `scope`: every live library of that scope drops the
// function objects it cached, so that the next access makes them under the new rules.
// (Function objects fetched before keep their old shape.)
void forget_functions(const types::Scope* scope);

// ffi.addressof(lib, name): for a global variable a pointer to it (`int *` for `int x`;
// for `int a[5]`, `int(*)[5]` in an API-mode lib and the array itself in a dlopen() one,
// as in cffi), for a function its function cdata.
PyObject* address_of(PyObject* lib, PyObject* name);

// The function type of an API-mode lib's function object (lib.f), borrowed; null for any
// other object (with an exception set only if finding the declaration failed).
types::CType* function_type_of(PyObject* obj);

// Readies the Library type and adds it to the module as `Lib`.
bool init_library_type(PyObject* module);

}  // namespace cffix::lib
