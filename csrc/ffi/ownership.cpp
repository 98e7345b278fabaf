// The FFI methods of ownership (ffi.gc, ffi.new_allocator, handles, ffi.errno) and
// cffix.live_cdata(): argument shaping around csrc/data/ownership.cpp (ffi.errno:
// csrc/call/errno.h), which does the work. ffi.init_once is in api.py.
#include "data/ownership.h"

#include <cerrno>
#include <climits>

#include "call/errno.h"
#include "data/cdata.h"
#include "ffi/object.h"
#include "util/args.h"
#include "util/errors.h"

namespace cffix {

using data::CData;
using types::CType;

static PyObject* ffi_gc(PyObject*, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    static const char* const names[] = {"cdata", "destructor", "size", nullptr};
    PyObject* v[3] = {nullptr, nullptr, nullptr};
    if (!parse_args("gc", names, 2, args, nargs, kwnames, v)) return nullptr;
    if (!data::is_cdata(v[0]))
        return PyErr_Format(PyExc_TypeError, "gc() expects a cdata, got %s",
                            Py_TYPE(v[0])->tp_name);
    Py_ssize_t size = 0;
    if (v[2]) {
        size = PyNumber_AsSsize_t(v[2], PyExc_OverflowError);
        if (size == -1 && PyErr_Occurred()) return nullptr;
    }
    return data::gc_cdata(reinterpret_cast<CData*>(v[0]), v[1], size);
}

// An allocator's calls resolve their cdecl as ffi.new does.
static CType* resolve_type(PyObject* ffi, PyObject* cdecl) { return ctype_arg(ffi, cdecl); }

static bool callable_or_none(PyObject* f, const char* what) {
    if (f == Py_None || PyCallable_Check(f)) return true;
    if (data::is_cdata(f) && reinterpret_cast<CData*>(f)->ctype->kind == types::Kind::Function)
        return true;  // a C function such as lib.malloc
    PyErr_Format(PyExc_TypeError, "new_allocator(): '%s' must be callable or None, not %s", what,
                 Py_TYPE(f)->tp_name);
    return false;
}

static PyObject* ffi_new_allocator(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                                   PyObject* kwnames) {
    static const char* const names[] = {"alloc", "free", "should_clear_after_alloc", nullptr};
    PyObject* v[3] = {Py_None, Py_None, Py_True};
    if (!parse_args("new_allocator", names, 0, args, nargs, kwnames, v)) return nullptr;
    if (!callable_or_none(v[0], "alloc") || !callable_or_none(v[1], "free")) return nullptr;
    if (v[0] == Py_None && v[1] != Py_None)
        return PyErr_Format(PyExc_TypeError, "cannot pass 'free' without 'alloc'");
    int clear = PyObject_IsTrue(v[2]);
    if (clear < 0) return nullptr;
    return data::new_allocator(self, resolve_type, v[0], v[1], clear != 0);
}

static PyObject* ffi_new_handle(PyObject*, PyObject* obj) { return data::new_handle(obj); }

static PyObject* ffi_from_handle(PyObject*, PyObject* pointer) {
    return data::from_handle(pointer);
}

PyMethodDef ffi_ownership_methods[] = {
    {"gc", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(ffi_gc)),
     METH_FASTCALL | METH_KEYWORDS,
     "gc($self, cdata, destructor, size=0)\n--\n\n"
     "A new cdata of the same type, address (and array length) that calls\n"
     "destructor(cdata) once: when it is collected, or at ffi.release() / `with` exit.\n"
     "gc(p, None) on such a cdata cancels the destructor. `size` (bytes the destructor\n"
     "frees) is counted in cffix.live_cdata() while the destructor is pending.\n\n"
     "    p = ffi.gc(lib.malloc(100), lib.free)"},
    {"new_allocator",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(ffi_new_allocator)),
     METH_FASTCALL | METH_KEYWORDS,
     "new_allocator($self, alloc=None, free=None, should_clear_after_alloc=True)\n--\n\n"
     "An allocator, called as allocator(cdecl, init=None) like ffi.new, whose memory\n"
     "comes from alloc(size) (a cdata pointer; NULL raises MemoryError) and goes back\n"
     "through free(pointer) when the result is collected or released. The memory is\n"
     "zeroed first unless should_clear_after_alloc is false. With alloc None it is ffi.new.\n\n"
     "    new_raw = ffi.new_allocator(lib.malloc, lib.free, False); p = new_raw('int[]', 10)"},
    {"new_handle", ffi_new_handle, METH_O,
     "new_handle($self, obj, /)\n--\n\n"
     "A `void *` cdata standing for obj, to pass through C as an opaque pointer; keep it\n"
     "alive while C holds the pointer. ffi.from_handle(pointer) gives obj back.\n\n"
     "    h = ffi.new_handle(42)   # <cdata 'void *' handle to 42>"},
    {"from_handle", ffi_from_handle, METH_O,
     "from_handle($self, pointer, /)\n--\n\n"
     "The object of the live handle whose value is pointer (a `void *` or `char *`);\n"
     "RuntimeError for any other pointer.\n\n"
     "    ffi.from_handle(ffi.cast('void *', int(ffi.cast('intptr_t', h))))   # 42"},
    {nullptr, nullptr, 0, nullptr},
};

// ffi.errno: see call/errno.h.
static PyObject* ffi_get_errno(PyObject*, void*) { return PyLong_FromLong(call::saved_errno()); }

static int ffi_set_errno(PyObject*, PyObject* value, void*) {
    if (!value) {
        PyErr_SetString(PyExc_AttributeError, "property 'errno' of 'FFI' object has no deleter");
        return -1;
    }
    PyRef index(PyNumber_Index(value));
    if (!index) return -1;
    int overflow;
    long v = PyLong_AsLongAndOverflow(index.get(), &overflow);
    if (v == -1 && PyErr_Occurred()) return -1;
    if (overflow || v < INT_MIN || v > INT_MAX) {
        PyErr_SetString(PyExc_OverflowError, "errno value too large");
        return -1;
    }
    call::saved_errno() = static_cast<int>(v);
    errno = static_cast<int>(v);
    return 0;
}

PyGetSetDef ffi_ownership_getset[] = {
    {"errno", ffi_get_errno, ffi_set_errno,
     "The C errno of this thread as the last C call through cffix left it, and the value\n"
     "the next call starts with (per thread).\n\n"
     "    ffi.errno = 0; lib.strtol(b'99999999999999999999', ffi.NULL, 10); ffi.errno  # ERANGE",
     nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyObject* live_cdata(PyObject*, PyObject*) {
    Py_ssize_t count, nbytes;
    data::live_cdata(&count, &nbytes);
    return Py_BuildValue("(nn)", count, nbytes);
}

}  // namespace cffix
