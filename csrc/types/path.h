// Paths into a type: the `*path` of ffi.offsetof(type, *path) and of
// ffi.addressof(cdata, *path), one walker for both (as in cffi, where both go through
// direct_typeoffsetof), with cffi's errors:
//
//   "x"   a field of a struct/union: TypeError "with a field name argument, expected a
//         struct or union ctype"; "struct/union is opaque"; KeyError for a missing field;
//         "not supported for bitfields".
//   3     an item of an array, or of a pointer as the path's first step (C's &p[3]), whose
//         items have a size: TypeError "with an integer argument, expected an array ctype
//         or a pointer to non-opaque"; anything but a str or an integer is "field name or
//         array index expected"; OverflowError "array offset would overflow a Py_ssize_t".
//
// Only the first step goes through a pointer (p->x, &p[3]): a later pointer is a field
// holding an address, and cffi's offset into it (offsetof("struct s", "ptr", 3)) means
// nothing, so it is refused. Stricter than cffi as well: an index into an array of known
// length must be in [0, length] (length itself is C's end pointer), into one of unknown
// length at least 0.
//
// types/ convention: failures throw cffix::Error (PythonErrorSet after setting KeyError).
#pragma once

#include <cstdint>
#include <span>

#include "types/ctype.h"

namespace cffix::types {

struct PathEnd {
    CType* type;     // borrowed: the type the path leads to
    int64_t offset;  // its byte offset from the start
};

// Walks `path` from `t`. `length`: the item count of `t` when it is an array whose
// memory says more than its type (ffi.new("int[]", n), slices); -1 for t->length.
PathEnd walk_path(CType* t, std::span<PyObject* const> path, int64_t length = -1);

}  // namespace cffix::types
