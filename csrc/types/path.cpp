// The offsetof/addressof path walker: see path.h.
#include "types/path.h"

#include <string>

#include "util/errors.h"

namespace cffix::types {

static void add_offset(int64_t* offset, int64_t step) {
    if (__builtin_add_overflow(*offset, step, offset))
        throw Error(ErrorKind::OverflowError, "array offset would overflow a Py_ssize_t");
}

static CType* field_step(CType* t, PyObject* name, bool first, int64_t* offset) {
    if (first && t->kind == Kind::Pointer && is_record(t->item)) t = t->item;  // p->name
    if (!is_record(t))
        throw Error(ErrorKind::TypeError,
                    "with a field name argument, expected a struct or union ctype");
    if (t->flags & RF_PARTIAL) throw Error(ErrorKind::VerificationMissing, t->cname);
    if (!complete_type(t, false)) {
        if (t->flags & RF_DECLARED) complete_type(t, true);  // throws why (a member)
        throw Error(ErrorKind::TypeError, "struct/union is opaque");
    }
    const FieldInfo* f = find_field(t, name);
    if (!f) {
        if (!PyErr_Occurred()) PyErr_SetObject(PyExc_KeyError, name);
        throw PythonErrorSet{};
    }
    if (f->is_bitfield()) throw Error(ErrorKind::TypeError, "not supported for bitfields");
    add_offset(offset, f->offset);
    return f->type;
}

// Whether the items of `t` have a size, completing a record declared after its use.
static bool sized_items(CType* t) {
    CType* item = t->item;
    if (item->kind == Kind::Void) return false;
    return item->size >= 0 || (is_record(item) && complete_type(item, false));
}

static CType* index_step(CType* t, PyObject* key, bool first, int64_t length, int64_t* offset) {
    // An int, or an object with __index__ (cffi takes int only): else cffi's TypeError,
    // also for an int that does not fit (as cffi).
    Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_OverflowError);
    if (i == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        throw Error(ErrorKind::TypeError, "field name or array index expected");
    }
    bool indexable = t->kind == Kind::Array || t->kind == Kind::Pointer;
    if (!indexable || !sized_items(t))
        throw Error(ErrorKind::TypeError,
                    "with an integer argument, expected an array ctype or a pointer to "
                    "non-opaque");
    bool pointer = t->kind == Kind::Pointer;
    if (pointer && !first)  // where cffi gives an offset into the pointer field itself
        throw Error(ErrorKind::TypeError,
                    "with an integer argument, expected an array ctype (a path goes "
                    "through a pointer only at its first step), got '" +
                        t->cname + "'");
    int64_t step;
    if (__builtin_mul_overflow(static_cast<int64_t>(i), t->item->size, &step))
        throw Error(ErrorKind::OverflowError, "array offset would overflow a Py_ssize_t");
    if (!pointer) {
        if (length < 0) length = t->length;
        if (i < 0 || (length >= 0 && i > length))
            throw Error(ErrorKind::IndexError,
                        "index " + std::to_string(i) + " out of range for '" + t->cname +
                            "' (expected 0 <= index" +
                            (length >= 0 ? " <= " + std::to_string(length) : "") + ")");
    }
    add_offset(offset, step);
    return t->item;
}

PathEnd walk_path(CType* t, std::span<PyObject* const> path, int64_t length) {
    PathEnd end{t, 0};
    for (size_t k = 0; k < path.size(); ++k) {
        PyObject* key = path[k];
        bool first = k == 0;
        if (PyUnicode_Check(key))
            end.type = field_step(end.type, key, first, &end.offset);
        else
            end.type = index_step(end.type, key, first, first ? length : -1, &end.offset);
    }
    return end;
}

}  // namespace cffix::types
