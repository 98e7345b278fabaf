// The engine's C++ errors (parse::CDefError derives from Error) and the translation of C++
// exceptions into Python ones.
//
// parse/ and types/ signal failure with C++ exceptions (parse::CDefError, cffix::Error);
// every function that Python calls catches them through translate_exception(), the one
// place where they become Python exceptions. The layers above types/ (data/, call/,
// lib/) follow the CPython convention instead: return null/false with a Python exception
// set, catching and translating where they call into types/. The FFI methods (ffi/) use
// either inside, and return to Python the CPython way.
#pragma once

#include <stdexcept>
#include <string>

#include "util/pyref.h"

namespace cffix {

enum class ErrorKind {
    FFIError,
    CDefError,
    VerificationMissing,
    VerificationError,
    TypeError,
    ValueError,
    KeyError,
    IndexError,
    OverflowError,
    NotImplementedError,
    MemoryError,
};

class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    ErrorKind kind() const { return kind_; }

private:
    ErrorKind kind_;
};

// Thrown when a Python exception is already set (e.g. by a Python API call).
struct PythonErrorSet {};

// cffix's own exception classes (created at module init, exported by cffix/__init__.py).
struct ErrorClasses {
    PyObject* ffi_error = nullptr;
    PyObject* cdef_error = nullptr;
    PyObject* verification_error = nullptr;
    PyObject* verification_missing = nullptr;
    PyObject* pkgconfig_error = nullptr;
    PyObject* library_mismatch = nullptr;  // an OSError
};
extern ErrorClasses error_classes;

// Creates the exception classes and adds them to `module`. False with an exception set.
bool init_error_classes(PyObject* module);

// Call inside a catch(...) block: sets the Python exception matching the active C++
// exception. Always returns null so callers can `return translate_exception();`.
PyObject* translate_exception();

}  // namespace cffix
