// The FFI object (cffix.FFI) as the files of csrc/ffi/ share it: its layout, the method
// table each file contributes, and ctype_arg(), which resolves their `cdecl` arguments.
#pragma once

#include "cffix_api.h"
#include "types/ctype.h"
#include "types/scope.h"
#include "util/pyref.h"

namespace cffix {

// One entry of FFIObject::recent: a type string object (held, so that its address
// stays its own) and what it resolved to.
struct RecentType {
    PyObject* text;      // owned; null when empty
    types::CType* type;  // owned
};

struct FFIObject {
    PyObject_HEAD
    types::Scope* scope;        // null once the GC cleared this FFI (its methods then raise)
    types::Scope* scope_owned;  // owned; lives until dealloc: a library of this FFI
                                // (which holds the FFI) keeps a pointer to it
    PyObject* typeof_cache;     // dict: type string -> CType
    PyObject* retired_caches;   // free-threaded build: older typeof_caches, kept (see
                                // drop_type_caches in object.cpp); else null
    uint64_t cache_generation;  // scope generation the caches were filled at
    // In front of typeof_cache: the last strings looked up, by object identity. A type
    // string in a program is mostly a constant of its code object, the same object at
    // each call, so this spares the dict lookup (and its string comparison when the
    // dict's key is another, equal string). Direct-mapped on the address.
    static constexpr int kRecentTypes = 8;
    RecentType recent[kRecentTypes];
    PyObject* included;  // list of FFIs given to include(), kept alive
    PyObject* state;     // dict of the Python-level methods (api.py, builder.py):
                         // cdef history, init_once entries, set_source()
    PyObject* dict;      // the instance __dict__, for users' own attributes
    // The ffi of an API-mode module: its extern "Python" functions (the module's static
    // array, call/extern_python.h), where def_extern() finds them. Null for every other
    // FFI, whose def_extern() raises.
    cffix_extern_python* extern_python;
    PyObject* weakreflist;
};

extern PyTypeObject FFI_Type;

// Readies FFI_Type, with the methods of every table below, and adds it to the module as
// `FFI`. False with an exception set.
bool init_ffi_type(PyObject* module);

// The FFI type's methods, one null-terminated table per file of csrc/ffi/, joined by
// init_ffi_type after the type queries of object.cpp (cdef, typeof, sizeof...).
extern PyMethodDef ffi_data_methods[];       // data.cpp: new, cast, release
extern PyMethodDef ffi_memory_methods[];     // memory.cpp: string, unpack, from_buffer...
extern PyMethodDef ffi_ownership_methods[];  // ownership.cpp: gc, new_allocator, handles
extern PyMethodDef ffi_lib_methods[];        // lib.cpp: dlopen, dlclose
extern PyMethodDef ffi_callback_methods[];   // callback.cpp: callback, def_extern
extern PyMethodDef ffi_build_methods[];      // build.cpp: _api_module_source (API mode)
extern PyMethodDef ffi_macro_methods[];      // macros.cpp: _convert_macros (headers)
extern PyGetSetDef ffi_ownership_getset[];   // ownership.cpp: ffi.errno

// Functions of the _core module (module.cpp's table):
// _core.add_ffi_methods(namespace) puts the FFI methods written in Python (api.py) into
// FFI_Type itself (object.cpp).
PyObject* add_ffi_methods(PyObject* module, PyObject* ns);
// _core.live_cdata() -> (count, bytes) of the owned cdata alive now (ownership.cpp).
PyObject* live_cdata(PyObject* module, PyObject* unused);

// How ctype_arg() takes a string naming a function type ("int(int)", or a typedef of
// one), which typeof() refuses.
enum class FunctionTypes {
    Refused,    // a CDefError, as every method but callback()
    AsPointer,  // its pointer-to-function type, as ffi.callback() in cffi
};

// The `cdecl` argument of an FFI method: a CType as it is, or a type string parsed
// against this FFI's declarations (cached per string). Borrowed (the argument or the
// FFI's caches hold it); null with a Python exception set (TypeError for another object,
// CDefError for a string that names no type, FFIError once the FFI was cleared): the
// CPython convention, for methods that only need their type resolved.
types::CType* ctype_arg(PyObject* ffi, PyObject* cdecl,
                        FunctionTypes functions = FunctionTypes::Refused);

}  // namespace cffix
