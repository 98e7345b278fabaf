// ffi.new on a resolved type: how much memory, the cdata's length, and the initializer
// written into it. Custom allocators (ownership.cpp) lay out their memory through the same
// two functions, new_layout and write_initializer; only where the bytes come from differs.
#include <algorithm>

#include "data/cdata.h"
#include "data/convert.h"
#include "util/errors.h"

namespace cffix::data {

using types::Kind;

// Makes sure `t` has a size, completing it if declared later in the cdef; else false with
// cffi's error ("cannot <what> ctype '...' of unknown size", or VerificationMissing for a
// partial type).
[[gnu::noinline]] static bool complete_or_refuse(CType* t, const char* what, bool partial) {
    if (partial) {
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

static inline bool require_size(CType* t, const char* what) {
    bool partial = (types::is_record(t) || t->kind == Kind::Enum) && (t->flags & types::RF_PARTIAL);
    return (t->size >= 0 && !partial) || complete_or_refuse(t, what, partial);
}

// The item count an initializer gives an array of unknown length (`T[]`, or a flexible
// array member), as cffi: an int is the count (`is_count`); a list/tuple has its length;
// bytes and str one more, for the terminating NUL (char16_t: surrogate pairs count two).
// Anything else is a TypeError, as are bytes/str for items that do not take them (then
// from the converter, which gives the reason).
static bool open_array_length(const CType* item, PyObject* init, Py_ssize_t* length,
                              bool* is_count) {
    *is_count = PyLong_Check(init) || (!PyFloat_Check(init) && PyIndex_Check(init));
    if (*is_count) {
        *length = PyNumber_AsSsize_t(init, PyExc_OverflowError);
        if (*length == -1 && PyErr_Occurred()) return false;
        if (*length < 0) {
            PyErr_SetString(PyExc_ValueError, "negative array length");
            return false;
        }
    } else if (PyList_Check(init) || PyTuple_Check(init)) {
        *length = PySequence_Fast_GET_SIZE(init);
    } else if (PyBytes_Check(init)) {
        *length = PyBytes_GET_SIZE(init) + 1;
    } else if (PyUnicode_Check(init)) {
        Py_ssize_t n =
            types::is_wide_char(item) ? wide_length(item, init) : PyUnicode_GET_LENGTH(init);
        *length = n + 1;
    } else {
        PyErr_Format(PyExc_TypeError, "expected new array length or list/tuple/str, not %s",
                     Py_TYPE(init)->tp_name);
        return false;
    }
    return true;
}

static bool size_overflow() {
    PyErr_SetString(PyExc_OverflowError, "array size would overflow a Py_ssize_t");
    return false;
}

// Grows `*nbytes` to hold the items that `init` gives the flexible array member `record`
// ends with, `record` being at `offset` in the memory: directly its last field, or the one
// of a struct that is its last field (types::last_flexible_member), found by following the
// initializer of that field.
static bool flexible_layout(CType* record, PyObject* init, Py_ssize_t offset, Py_ssize_t* nbytes) {
    for (;;) {  // ends: records nest finitely by value
        const types::FieldInfo& last = record->fields.back();
        PyObject* value = field_initializer(record, init, last);
        if (!value) return true;    // not given: the struct's own size
        if (!last.is_flexible()) {  // a struct ending in one
            record = last.type;
            init = value;
            offset += static_cast<Py_ssize_t>(last.offset);
            continue;
        }
        Py_ssize_t count = 0;
        bool is_count;
        if (!open_array_length(last.type->item, value, &count, &is_count)) return false;
        Py_ssize_t isize = last.type->item->size;
        Py_ssize_t start = offset + static_cast<Py_ssize_t>(last.offset);
        if (count > 0 && isize > 0) {
            if (count > (PY_SSIZE_T_MAX - start) / isize) return size_overflow();
            *nbytes = std::max<Py_ssize_t>(*nbytes, start + count * isize);
        }
        return true;
    }
}

// `T *`: sizeof(T), or more when T ends with a flexible array member that the
// initializer gives items (as cffi: `ffi.new("struct s *", {"n": 3, "items": [1, 2, 3]})`).
[[gnu::always_inline]] static inline bool pointer_layout(CType* t, PyObject* init, NewLayout* out) {
    CType* item = t->item;
    if (item->kind == Kind::Void) {
        PyErr_Format(PyExc_TypeError, "cannot instantiate ctype '%s' of unknown size",
                     item->cname.c_str());
        return false;
    }
    if (!require_size(item, "instantiate")) return false;
    Py_ssize_t nbytes = item->size;
    if (init && types::is_record(item) && types::has_flexible_member(item) &&
        !flexible_layout(item, init, 0, &nbytes))
        return false;
    out->nbytes = nbytes;
    out->length = nbytes;  // an owned `T *` keeps its byte count (see owned_size)
    out->init = init;
    return true;
}

// `T[n]`, or `T[]` with the length from the initializer.
[[gnu::always_inline]] static inline bool array_layout(CType* t, PyObject* init, NewLayout* out) {
    CType* item = t->item;
    if (!require_size(item, "instantiate")) return false;
    Py_ssize_t length = t->length;
    out->init = init;
    if (length < 0) {
        if (!init) {
            PyErr_Format(PyExc_TypeError, "new(): '%s' needs a length or an initializer",
                         t->cname.c_str());
            return false;
        }
        bool is_count;
        if (!open_array_length(item, init, &length, &is_count)) return false;
        if (is_count) out->init = nullptr;  // zeroed memory of that length
    }
    if (item->size > 0 && length > PY_SSIZE_T_MAX / item->size) return size_overflow();
    out->length = length;
    out->nbytes = length * item->size;
    return true;
}

// new_layout, inlined into ffi.new's own path.
[[gnu::always_inline]] static inline bool layout_of(CType* t, PyObject* init, NewLayout* out) {
    if (init == Py_None) init = nullptr;
    if (t->kind == Kind::Pointer) return pointer_layout(t, init, out);
    if (t->kind == Kind::Array) return array_layout(t, init, out);
    PyErr_Format(PyExc_TypeError, "expected a pointer or array ctype, got '%s'", t->cname.c_str());
    return false;
}

bool new_layout(CType* t, PyObject* init, NewLayout* out) { return layout_of(t, init, out); }

bool write_initializer(CType* t, const NewLayout& layout, char* memory) {
    if (!layout.init) return true;
    if (t->kind == Kind::Pointer) return to_c_sized(t->item, memory, layout.init, layout.nbytes);
    return array_to_c(t, memory, layout.init, layout.length);
}

PyObject* new_cdata(CType* t, PyObject* init) {
    NewLayout layout;
    if (!layout_of(t, init, &layout)) return nullptr;
    CData* cd = new_owned(t, layout.nbytes, layout.length);
    if (cd && layout.init && !write_initializer(t, layout, cd->data)) Py_CLEAR(cd);
    return reinterpret_cast<PyObject*>(cd);
}

}  // namespace cffix::data
