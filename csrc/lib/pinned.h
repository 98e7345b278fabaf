// Pinned libraries: ffi.dlopen(name, sha256=..., soname=..., version=...) loads a library
// only if it is the one the caller expects, and `python -m cffix pin` prints what to
// expect.
//
// The file is opened once. Its digest and its DT_SONAME are read from that descriptor,
// and the descriptor itself is what dlopen() loads (through /proc/self/fd/N), so nothing
// can replace the file between the check and the load, and a file that fails a check is
// never loaded: its constructors never run. (Writing into the same file in place while it
// is being loaded is not covered: nothing short of copying the bytes would.) `version` is
// a C expression over the library's own probe functions, evaluated once it is loaded;
// false closes it again.
//
// A name without '/' is found as the loader finds it, without loading anything: a short
// name ("z") becomes a file name through ctypes.util.find_library, which is looked up in
// LD_LIBRARY_PATH, then /etc/ld.so.cache, then the system directories (the one of the
// running C library, /lib64, /usr/lib64, /lib, /usr/lib); the first ELF object this
// process can load wins. Not considered: the program's DT_RUNPATH and glibc-hwcaps
// variants.
//
// CPython convention: null with an exception set on failure. A failed check raises
// cffix.LibraryMismatch (an OSError) naming what was expected and what was found.
#pragma once

#include <Python.h>

#include <optional>
#include <string>
#include <vector>

#include "types/scope.h"

namespace cffix::lib {

struct Pins {
    std::vector<std::string> sha256;     // lowercase hex digests: the file must have one
    std::optional<std::string> soname;   // the DT_SONAME it must have
    std::optional<std::string> version;  // a probe expression that must be true
};

// Checks pins.version against `scope` (CDefError naming line and column) before anything
// is opened. True or false with an exception set.
bool check_version_expression(types::Scope* scope, const std::string& expression);

// ffi.dlopen(name, flags, sha256=, soname=, version=) for a str `name`.
PyObject* open_pinned(PyObject* ffi, types::Scope* scope, PyObject* name, int flags,
                      bool release_gil, const Pins& pins);

// For `python -m cffix pin NAME`: {'path': str, 'sha256': str, 'soname': str or None} of
// the file a pinned dlopen(NAME) would check, without loading it.
PyObject* describe_library(PyObject* name);

}  // namespace cffix::lib
