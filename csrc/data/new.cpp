// ffi.new on a resolved type: the memory's size and length, and its initializer.
#include "data/cdata.h"
#include "data/convert.h"
#include "util/errors.h"

namespace cffix::data {

using types::Conv;
using types::Kind;

bool require_size(CType* t, const char* what) {
    bool record_like = t->kind == Kind::Struct || t->kind == Kind::Union || t->kind == Kind::Enum;
    if (t->size >= 0 && !(record_like && (t->flags & types::RF_PARTIAL))) return true;
    if ((t->kind == Kind::Struct || t->kind == Kind::Union || t->kind == Kind::Enum) &&
        (t->flags & types::RF_PARTIAL)) {
        PyErr_SetString(cffix::error_classes.verification_missing, t->cname.c_str());
        return false;
    }
    try {
        if (types::complete_type(t, false)) return true;
    } catch (...) {
        cffix::translate_exception();
        return false;
    }
    PyErr_Format(PyExc_TypeError, "cannot %s ctype '%s' of unknown size", what, t->cname.c_str());
    return false;
}

// The length of a `T[]` from its initializer: an int, or the length of a sequence (one
// more for the terminating NUL of bytes/str).
static bool open_array_length(CType* item, PyObject* init, Py_ssize_t* length) {
    if (PyLong_Check(init) || (!PyFloat_Check(init) && PyIndex_Check(init))) {
        PyRef index(PyNumber_Index(init));
        if (!index) return false;
        *length = PyLong_AsSsize_t(index.get());
        if (*length == -1 && PyErr_Occurred()) {
            if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
                PyErr_Clear();
                PyErr_SetString(PyExc_OverflowError, "array size would overflow a Py_ssize_t");
            }
            return false;
        }
        if (*length < 0) {
            PyErr_SetString(PyExc_ValueError, "negative array length");
            return false;
        }
        return true;
    }
    if (PyList_Check(init) || PyTuple_Check(init)) {
        *length = PySequence_Fast_GET_SIZE(init);
        return true;
    }
    if (types::is_byte_like(item) && PyBytes_Check(init)) {
        *length = PyBytes_GET_SIZE(init) + 1;
        return true;
    }
    if (types::is_wide_char(item) && PyUnicode_Check(init)) {
        *length = wide_length(item, init) + 1;
        return true;
    }
    PyErr_Format(PyExc_TypeError, "expected new array length or list/tuple/str, not %s",
                 Py_TYPE(init)->tp_name);
    return false;
}

PyObject* new_cdata(CType* t, PyObject* init) {
    if (t->kind == Kind::Pointer) {
        CType* item = t->item;
        if (item->kind == Kind::Void) {
            PyErr_Format(PyExc_TypeError, "cannot instantiate ctype '%s' of unknown size",
                         item->cname.c_str());
            return nullptr;
        }
        if (!require_size(item, "instantiate")) return nullptr;
        Py_ssize_t nbytes = item->size;
        if (init && types::is_record(item)) {
            // A flexible array member gets the room its initializer asks for.
            Py_ssize_t count;
            if (!flexible_length(item, init, &count)) return nullptr;
            if (count > 0) {
                const types::FieldInfo& flex = item->fields.back();
                Py_ssize_t isize = flex.type->item->size;
                if (isize > 0 && count > (PY_SSIZE_T_MAX - flex.offset) / isize) {
                    PyErr_SetString(PyExc_OverflowError, "array size would overflow a Py_ssize_t");
                    return nullptr;
                }
                nbytes = std::max<Py_ssize_t>(nbytes, flex.offset + count * isize);
            }
        }
        PyRef cd(reinterpret_cast<PyObject*>(new_owned(t, nbytes, 0)));
        if (!cd) return nullptr;
        reinterpret_cast<CData*>(cd.get())->length = nbytes;  // see owned_size()
        if (init && init != Py_None &&
            !to_c_sized(item, reinterpret_cast<CData*>(cd.get())->data, init, nbytes))
            return nullptr;
        return cd.release();
    }
    if (t->kind == Kind::Array) {
        CType* item = t->item;
        if (!require_size(item, "instantiate")) return nullptr;
        Py_ssize_t length = t->length;
        if (length < 0) {
            if (!init || init == Py_None) {
                PyErr_Format(PyExc_TypeError, "new(): '%s' needs a length or an initializer",
                             t->cname.c_str());
                return nullptr;
            }
            if (!open_array_length(item, init, &length)) return nullptr;
            if (PyLong_Check(init) || (!PyFloat_Check(init) && PyIndex_Check(init))) init = nullptr;
        }
        if (item->size > 0 && length > PY_SSIZE_T_MAX / item->size) {
            PyErr_SetString(PyExc_OverflowError, "array size would overflow a Py_ssize_t");
            return nullptr;
        }
        Py_ssize_t nbytes = length * item->size;
        PyRef cd(reinterpret_cast<PyObject*>(new_owned(t, nbytes, length)));
        if (!cd) return nullptr;
        if (init && init != Py_None) {
            CData* c = reinterpret_cast<CData*>(cd.get());
            if (PyLong_Check(init) && t->length >= 0) {
                PyErr_Format(PyExc_TypeError,
                             "initializer for ctype '%s' must be a list or tuple, not int",
                             t->cname.c_str());
                return nullptr;
            }
            // Convert with the real length (T[] took it from the initializer).
            PyRef sized_type;
            CType* as = t;
            if (t->length < 0) {
                try {
                    sized_type =
                        PyRef(reinterpret_cast<PyObject*>(types::array_type(item, length)));
                } catch (...) {
                    return cffix::translate_exception();
                }
                as = reinterpret_cast<CType*>(sized_type.get());
            }
            if (!to_c(as, c->data, init)) return nullptr;
        }
        return cd.release();
    }
    PyErr_Format(PyExc_TypeError, "expected a pointer or array ctype, got '%s'", t->cname.c_str());
    return nullptr;
}

}  // namespace cffix::data
