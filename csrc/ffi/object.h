// The FFI object shared by the layers that add methods to it (data/, call/, lib/).
#pragma once

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
    PyObject* weakreflist;
};

extern PyTypeObject FFI_Type;

bool init_ffi_type(PyObject* module);

// A type string or a CType -> a borrowed CType. Throws (types/ convention).
types::CType* ffi_to_ctype(PyObject* ffi, PyObject* arg);

}  // namespace cffix
