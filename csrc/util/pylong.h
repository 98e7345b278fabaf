// Python ints from 128-bit values (the parser's constants). (Small ints are read inline
// by cffix_compact_long, in the public header cffix_api.h.)
#pragma once

#include <Python.h>

namespace cffix {

// A Python int of any 128-bit value. A new reference, or null with an exception set.
PyObject* int128_to_python(__int128 v);

}  // namespace cffix
