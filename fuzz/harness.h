// Shared setup of the libFuzzer harnesses (fuzz/README in the repository's README,
// "Reliability"): the engine's parse/, types/ and util/ layers are linked in directly, and
// an embedded interpreter holds what types/ makes (CType objects are Python objects).
//
// A harness fails (abort, so libFuzzer saves the input) when the engine breaks its
// error contract: a C++ exception that is not the engine's own, a Python exception that
// is not the one the engine means to raise (SystemError, or an error return without an
// exception), or a message Python cannot decode. ASan and UBSan report memory and
// undefined-behaviour errors by themselves.
#pragma once

#include <Python.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "parse/ast.h"
#include "types/ctype.h"
#include "util/errors.h"

namespace fuzz {

[[noreturn]] inline void fail(const char* what) {
    std::fprintf(stderr, "fuzz harness: %s\n", what);
    if (PyErr_Occurred()) PyErr_Print();
    std::abort();
}

// Once per process, from LLVMFuzzerInitialize: the interpreter (with the system allocator,
// so ASan sees Python objects too), the engine's exception classes and CType types.
inline void init_python() {
    setenv("PYTHONMALLOC", "malloc", 1);
    Py_InitializeEx(0);
    PyObject* module = PyModule_New("_cffix_fuzz");
    if (!module || !cffix::init_error_classes(module) || !cffix::types::init_ctype_types(module))
        fail("engine init failed");
    // The module stays referenced for the process's lifetime: it holds the classes.
}

// Call inside catch (...): translates the active exception as the Python boundary does
// and checks that the result is a clean Python exception, then clears it.
inline void expect_clean_error() {
    cffix::translate_exception();
    if (!PyErr_Occurred()) fail("an error without a Python exception");
    if (PyErr_ExceptionMatches(PyExc_SystemError)) fail("SystemError from the engine");
    // str(exc) and its notes must be text Python can print: format it as a traceback does.
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyObject* text = value ? PyObject_Str(value) : nullptr;
    if (!text || !PyUnicode_AsUTF8(text)) fail("exception message is not printable");
    Py_DECREF(text);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
}

// The repr of a CType and its cname must be printable text (a type resolved from input).
inline void touch_type(PyObject* type) {
    PyObject* repr = PyObject_Repr(type);
    if (!repr) fail("repr(CType) failed");
    if (!PyUnicode_AsUTF8(repr)) fail("repr(CType) is not UTF-8");
    Py_DECREF(repr);
    for (const char* attr : {"kind", "cname", "item", "length", "fields", "args", "result",
                             "ellipsis", "abi", "elements", "relements"}) {
        PyObject* v = PyObject_GetAttrString(type, attr);
        if (v) {
            Py_DECREF(v);
        } else if (PyErr_ExceptionMatches(PyExc_SystemError)) {
            fail("SystemError from a CType attribute");
        } else {
            PyErr_Clear();  // AttributeError / ValueError: not this kind of type, or opaque
        }
    }
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

}  // namespace fuzz
