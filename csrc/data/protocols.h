// The Python protocols of cdata, one file per concern (as LuaJIT keeps lj_carith.c
// apart from lj_cdata.c):
//
//   number.cpp   int/float/complex/bool, pointer arithmetic, comparisons, hashing
//   index.cpp    len(), items and slices (bounds-checked where the length is known),
//                iteration
//   field.cpp    struct/union fields, also through pointers (C's ->), dir()
//
// cdata.cpp puts them, with calls and `with`, on every cdata variant through
// fill_cdata_protocols. CPython convention: the slot functions return null/-1 with a
// Python exception set.
#pragma once

#include "data/cdata.h"

namespace cffix::data {

// Sets the protocol slots of a cdata variant before PyType_Ready (cdata.cpp).
void fill_cdata_protocols(PyTypeObject* type);

// number.cpp: tp_as_number, tp_richcompare, tp_hash; and the __complex__ method.
void fill_number_protocol(PyTypeObject* type);
PyObject* cdata_complex(PyObject* self, PyObject*);

// index.cpp: tp_as_mapping (len, items, slices), tp_iter.
void fill_index_protocol(PyTypeObject* type);

// field.cpp: tp_getattro, tp_setattro; and the __dir__ method.
void fill_field_protocol(PyTypeObject* type);
PyObject* cdata_dir(PyObject* self, PyObject*);

}  // namespace cffix::data
