// FFI methods of the lib layer (ffi.dlopen, ffi.dlclose): argument shaping around
// csrc/lib/library.cpp, which does the work.
#include <climits>

#include "data/cdata.h"
#include "ffi/object.h"
#include "lib/library.h"
#include "util/args.h"

namespace cffix {

static PyObject* ffi_dlopen(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                            PyObject* kwnames) {
    static const char* const names[] = {"name", "flags", "release_gil", nullptr};
    PyObject* values[3] = {nullptr, nullptr, nullptr};
    if (!parse_args("dlopen", names, 1, args, nargs, kwnames, values, 2)) return nullptr;
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

PyMethodDef ffi_lib_methods[] = {
    {"dlopen", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(ffi_dlopen)),
     METH_FASTCALL | METH_KEYWORDS,
     "dlopen(name, flags=0, *, release_gil=True)\n--\n\n"
     "Load a shared library and return it as a Lib object: the functions, global\n"
     "variables and constants declared with cdef() are its attributes.\n\n"
     "    lib = ffi.dlopen('m')          # a short name, found like ctypes.util.find_library\n"
     "    libc = ffi.dlopen(None)        # the C library and the program itself\n"
     "    lib = ffi.dlopen('./libfoo.so', ffi.RTLD_NOW | ffi.RTLD_GLOBAL)\n\n"
     "name may also be a 'void *' cdata holding a handle from a C call to dlopen()\n"
     "(wrapped, never closed by cffix) or an os.PathLike. flags default to RTLD_NOW.\n"
     "release_gil=False (a cffix extension) keeps the GIL during calls to this library's\n"
     "functions, which saves its cost for short functions that never block."},
    {"dlclose", ffi_dlclose, METH_O,
     "dlclose(lib)\n--\n\n"
     "Close a library from dlopen(): using its names afterwards raises ValueError.\n\n"
     "    ffi.dlclose(lib)\n\n"
     "Function objects taken from it before (f = lib.f) must not be called any more, as\n"
     "with function pointers after dlclose() in C."},
    {nullptr, nullptr, 0, nullptr},
};

}  // namespace cffix
