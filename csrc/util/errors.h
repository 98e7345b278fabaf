// The engine's C++ errors (parse::CDefError derives from Error) and the translation of C++
// exceptions into Python ones.
//
// parse/ and types/ signal failure with C++ exceptions (parse::CDefError, cffix::Error);
// every function that Python calls catches them through translate_exception(), the one
// place where they become Python exceptions. The layers above types/ (data/, call/,
// lib/) follow the CPython convention instead: return null/false with a Python exception
// set, catching and translating where they call into types/. The FFI methods (ffi/) use
// either inside, and return to Python the CPython way.
//
// Messages (issue 11): where cffi raises the same error, str(exc) is exactly cffi's text
// (programs and cffi's tests compare it); what cffix knows beyond it (its own wording, the
// line and column, the source line with a caret, a hint) goes into the exception's notes
// (PEP 678 `__notes__`, printed by tracebacks after the message on Python 3.11+).
// set_error_with_notes() is the one place that builds such an exception.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

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
    // The Python exception's message (str(exc)) and notes; by default what() and none.
    virtual std::string python_message() const { return what(); }
    virtual std::vector<std::string> notes() const { return notes_; }
    Error& add_note(std::string note) {
        notes_.push_back(std::move(note));
        return *this;
    }
    // The Python exception is also an instance of `also` (a class deriving from both, named
    // as kind's; several calls: from all): where cffi raises another class for the same bad input
    // (ValueError for a negative array length), `except` clauses written for either catch it.
    Error& also_is(ErrorKind also) {
        also_ |= 1u << static_cast<unsigned>(also);
        return *this;
    }
    uint32_t also() const { return also_; }  // bit k: also ErrorKind(k)

private:
    ErrorKind kind_;
    uint32_t also_ = 0;
    std::vector<std::string> notes_;
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

// Sets `cls(message)` as the current Python exception, with `notes` as its __notes__ (none:
// a plain exception). Returns null. Set by hand rather than through add_note() so that
// Python 3.10 (no add_note) gets the same attribute; its tracebacks do not print it.
PyObject* set_error_with_notes(PyObject* cls, const std::string& message,
                               const std::vector<std::string>& notes);

// With a Python exception of class `cls` set: replaces it by `cls(message)` (cffi's text)
// whose notes are the old message and its notes (cffix's detail). Returns null; another
// exception is left as it is.
PyObject* restate_error(PyObject* cls, const std::string& message);

// Call inside a catch(...) block: sets the Python exception matching the active C++
// exception. Always returns null so callers can `return translate_exception();`.
PyObject* translate_exception();

}  // namespace cffix
