// The C API table that cffix._core exports as the capsule "cffix._core._C_API" (the
// public header src/cffix/include/cffix_api.h describes it): the one converter set,
// type lookups and errno for API-mode modules. Wiring, like module.cpp: it knows every
// layer.
#pragma once

#include <Python.h>

namespace cffix {

// Adds the capsule to `module`. False with an exception set.
bool add_c_api(PyObject* module);

}  // namespace cffix
