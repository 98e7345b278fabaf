// The FFI methods of the data layer (ffi.new, ffi.cast, ffi.release): argument shaping
// around csrc/data/, which does the work.
#include "data/cdata.h"
#include "ffi/object.h"
#include "util/args.h"

namespace cffix {

using data::CData;
using types::CType;

static PyObject* ffi_new(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                         PyObject* kwnames) {
    static const char* const names[] = {"cdecl", "init", nullptr};
    PyObject* v[2] = {nullptr, nullptr};
    if (!parse_args("new", names, 1, args, nargs, kwnames, v)) return nullptr;
    CType* t = ctype_arg(self, v[0]);
    if (!t) return nullptr;
    return data::new_cdata(t, v[1]);
}

static PyObject* ffi_cast(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
    if (nargs != 2)
        return PyErr_Format(PyExc_TypeError, "cast(cdecl, value) takes 2 arguments (%zd given)",
                            nargs);
    CType* t = ctype_arg(self, args[0]);
    if (!t) return nullptr;
    return data::cast(t, args[1]);
}

static PyObject* ffi_release(PyObject*, PyObject* arg) {
    if (!data::is_cdata(arg))
        return PyErr_Format(PyExc_TypeError, "release() expects a cdata, got %s",
                            Py_TYPE(arg)->tp_name);
    return data::release_cdata(reinterpret_cast<CData*>(arg));
}

PyMethodDef ffi_data_methods[] = {
    {"new", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(ffi_new)),
     METH_FASTCALL | METH_KEYWORDS,
     "new($self, cdecl, init=None)\n--\n\n"
     "Allocate zeroed C memory for a pointer's item or an array, owned by the result.\n\n"
     "    p = ffi.new('int *', 42)        # p[0] == 42\n"
     "    a = ffi.new('char[]', b'hi')    # 3 bytes, NUL-terminated"},
    {"cast", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(ffi_cast)), METH_FASTCALL,
     "cast($self, cdecl, value, /)\n--\n\nA cdata of type cdecl from a number or another cdata, as "
     "C "
     "casts.\n\n    ffi.cast('unsigned char', 300)   # <cdata 'unsigned char' 44>"},
    {"release", ffi_release, METH_O,
     "release($self, cdata, /)\n--\n\nFree the memory of an owning cdata now; later access "
     "raises.\n\n"
     "    p = ffi.new('char[]', 10**6); ...; ffi.release(p)"},
    {nullptr, nullptr, 0, nullptr},
};

}  // namespace cffix
