// FFI methods of the lib layer (ffi.dlopen, ffi.dlclose): argument shaping around
// csrc/lib/library.cpp, which does the work.
#include <algorithm>
#include <cctype>
#include <climits>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "call/wrap.h"
#include "data/cdata.h"
#include "ffi/object.h"
#include "lib/library.h"
#include "lib/pinned.h"
#include "util/args.h"
#include "util/errors.h"

namespace cffix {

namespace {

// A digest as given (str), checked and lowercased into `out`. False with ValueError/TypeError.
bool add_digest(PyObject* item, std::vector<std::string>& out) {
    if (!PyUnicode_Check(item)) {
        PyErr_Format(PyExc_TypeError,
                     "dlopen(sha256=...): a digest must be a str of 64 hex digits, not %s",
                     Py_TYPE(item)->tp_name);
        return false;
    }
    Py_ssize_t size;
    const char* text = PyUnicode_AsUTF8AndSize(item, &size);
    if (!text) return false;
    std::string digest(text, static_cast<size_t>(size));
    bool hex = size == 64 && std::all_of(digest.begin(), digest.end(), [](char c) {
                   return std::isxdigit(static_cast<unsigned char>(c));
               });
    if (!hex) {
        PyErr_Format(PyExc_ValueError,
                     "dlopen(sha256=...): %R is not a SHA-256 digest (64 hex digits)", item);
        return false;
    }
    for (char& c : digest) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.push_back(std::move(digest));
    return true;
}

// sha256=: a digest, or a set, frozenset, list or tuple of them (at least one).
bool shape_digests(PyObject* value, std::vector<std::string>& out) {
    if (PyUnicode_Check(value)) return add_digest(value, out);
    if (!PyAnySet_Check(value) && !PyList_Check(value) && !PyTuple_Check(value)) {
        PyErr_Format(PyExc_TypeError,
                     "dlopen(sha256=...) takes a hex digest (str) or a set, list or tuple of "
                     "them, not %s",
                     Py_TYPE(value)->tp_name);
        return false;
    }
    PyRef items(PySequence_List(value));
    if (!items) return false;
    if (PyList_GET_SIZE(items.get()) == 0) {
        PyErr_SetString(PyExc_ValueError,
                        "dlopen(sha256=...): the collection of digests is empty: no file "
                        "could match");
        return false;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items.get()); ++i)
        if (!add_digest(PyList_GET_ITEM(items.get(), i), out)) return false;
    return true;
}

// soname= and version=: a non-empty str without NUL. False with TypeError/ValueError.
bool shape_text(PyObject* value, const char* what, std::optional<std::string>& out) {
    if (!PyUnicode_Check(value)) {
        PyErr_Format(PyExc_TypeError, "dlopen(%s=...) must be a str, not %s", what,
                     Py_TYPE(value)->tp_name);
        return false;
    }
    Py_ssize_t size;
    const char* text = PyUnicode_AsUTF8AndSize(value, &size);
    if (!text) return false;
    if (size == 0 || std::strlen(text) != static_cast<size_t>(size)) {
        PyErr_Format(PyExc_ValueError, "dlopen(%s=...) must be a non-empty str without NUL, not %R",
                     what, value);
        return false;
    }
    out.emplace(text, static_cast<size_t>(size));
    return true;
}

// sha256=, soname=, version= (None: not given). False with an exception set.
bool shape_pins(PyObject* sha256, PyObject* soname, PyObject* version, lib::Pins& pins) {
    if (sha256 && sha256 != Py_None && !shape_digests(sha256, pins.sha256)) return false;
    if (soname && soname != Py_None && !shape_text(soname, "soname", pins.soname)) return false;
    return !version || version == Py_None || shape_text(version, "version", pins.version);
}

}  // namespace

static PyObject* ffi_dlopen(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                            PyObject* kwnames) {
    static const char* const names[] = {"name",   "flags",   "release_gil", "sha256",
                                        "soname", "version", nullptr};
    PyObject* values[6] = {nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
    if (!parse_args("dlopen", names, 1, args, nargs, kwnames, values, 2)) return nullptr;
    lib::Pins pins;
    if (!shape_pins(values[3], values[4], values[5], pins)) return nullptr;
    bool pinned = !pins.sha256.empty() || pins.soname || pins.version;
    int flags = 0;
    if (values[1]) {
        long v = PyLong_AsLong(values[1]);  // ints and __index__, not floats
        if (v == -1 && PyErr_Occurred()) return nullptr;
        if (v < INT_MIN || v > INT_MAX)
            return PyErr_Format(PyExc_OverflowError, "dlopen() flags out of range: %ld", v);
        flags = static_cast<int>(v);
    }
    bool release_gil = true;
    if (values[2]) {
        int truth = PyObject_IsTrue(values[2]);
        if (truth < 0) return nullptr;
        release_gil = truth;
    }
    auto* ffi = reinterpret_cast<FFIObject*>(self);
    if (!ffi->scope) {
        PyErr_SetString(PyExc_ValueError, "FFI object is not initialized");
        return nullptr;
    }
    PyObject* name = values[0];
    if (pinned && (name == Py_None || data::is_cdata(name)))
        return PyErr_Format(PyExc_TypeError,
                            "dlopen(sha256=, soname=, version=) checks a library file: name "
                            "must be a file name, not %s",
                            name == Py_None ? "None" : "a handle");
    if (data::is_cdata(name))
        return lib::wrap_handle(self, ffi->scope, reinterpret_cast<data::CData*>(name),
                                release_gil);
    // A str, None, or (a cffix extension) a path object whose os.fspath() is a str.
    PyRef path;
    if (name != Py_None && !PyUnicode_Check(name) && !PyBytes_Check(name) &&
        PyObject_HasAttrString(reinterpret_cast<PyObject*>(Py_TYPE(name)), "__fspath__")) {
        path = PyRef(PyOS_FSPath(name));
        if (!path) return nullptr;
        name = path.get();
    }
    if (name != Py_None && !PyUnicode_Check(name))
        return PyErr_Format(PyExc_TypeError,
                            "dlopen(name): name must be a file name, None, or an "
                            "already-opened 'void *' handle");
    if (pinned) return lib::open_pinned(self, ffi->scope, name, flags, release_gil, pins);
    return lib::open_library(self, ffi->scope, name, flags, release_gil);
}

static PyObject* ffi_dlclose(PyObject*, PyObject* arg) {
    if (!lib::is_library(arg))
        return PyErr_Format(PyExc_TypeError,
                            "dlclose() expects a library returned by ffi.dlopen(), not %s",
                            Py_TYPE(arg)->tp_name);
    if (!lib::close_library(arg)) return nullptr;
    Py_RETURN_NONE;
}

// ffi._set_wrap_rules(rules): the wrap rules of this FFI's declarations (a callable, see
// call/wrap.h; cffix/wrappers.py makes it), applied to the functions of its libraries
// from their next access on.
static PyObject* ffi_set_wrap_rules(PyObject* self, PyObject* rules) {
    types::Scope* scope = reinterpret_cast<FFIObject*>(self)->scope;
    if (!scope) return PyErr_Format(error_classes.ffi_error, "this FFI has been cleared");
    if (!PyCallable_Check(rules))
        return PyErr_Format(PyExc_TypeError, "_set_wrap_rules: expected a callable");
    call::set_wrap_rules(scope, rules);
    lib::forget_functions(scope);
    Py_RETURN_NONE;
}

PyMethodDef ffi_lib_methods[] = {
    {"_set_wrap_rules", ffi_set_wrap_rules, METH_O,
     "_set_wrap_rules(rules): cffix's own (ffi.wrap stores its rules so): not an API."},
    {"dlopen", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(ffi_dlopen)),
     METH_FASTCALL | METH_KEYWORDS,
     "dlopen($self, name, flags=0, *, release_gil=True, sha256=None, soname=None, "
     "version=None)\n--\n\n"
     "Load a shared library and return it as a Lib object: the functions, global\n"
     "variables and constants declared with cdef() are its attributes.\n\n"
     "    lib = ffi.dlopen('m')          # a short name, found like ctypes.util.find_library\n"
     "    libc = ffi.dlopen(None)        # the C library and the program itself\n"
     "    lib = ffi.dlopen('./libfoo.so', ffi.RTLD_NOW | ffi.RTLD_GLOBAL)\n\n"
     "name may also be a `void *` cdata holding a handle from a C call to dlopen()\n"
     "(wrapped, never closed by cffix) or an os.PathLike. flags default to RTLD_NOW.\n"
     "release_gil=False (a cffix extension) keeps the GIL during calls to this library's\n"
     "functions, which saves its cost for short functions that never block.\n\n"
     "Pinned libraries (a cffix extension): sha256 (a hex digest or a set of them) and\n"
     "soname (its DT_SONAME) are checked on the open file before it is loaded, and that\n"
     "same file is loaded; version is a C expression over the library's probe functions\n"
     "declared in the cdef, checked once it is loaded. A mismatch raises\n"
     "cffix.LibraryMismatch (an OSError). `python -m cffix pin NAME` prints the values.\n\n"
     "    lib = ffi.dlopen('sqlite3', soname='libsqlite3.so.0',\n"
     "                     version='sqlite3_libversion_number() >= 3037000')"},
    {"dlclose", ffi_dlclose, METH_O,
     "dlclose($self, lib, /)\n--\n\n"
     "Close a library from dlopen(): using its names afterwards raises ValueError, and so\n"
     "does calling a function object taken from it before (f = lib.f).\n\n"
     "    ffi.dlclose(lib)\n\n"
     "It never waits and never fails because of calls in progress: a call running on\n"
     "another thread finishes normally; the library is unloaded once the last function\n"
     "object taken from it is gone (at once when there is none)."},
    {nullptr, nullptr, 0, nullptr},
};

}  // namespace cffix
