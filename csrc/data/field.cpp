// Fields of struct and union cdata, also through a pointer (as C's ->): reading and
// writing members, bitfields and flexible array members, and dir().
#include "data/convert.h"
#include "data/memory.h"
#include "data/protocols.h"
#include "util/errors.h"

namespace cffix::data {

using types::FieldInfo;
using types::Kind;

static CData* as_cdata(PyObject* o) { return reinterpret_cast<CData*>(o); }

// The struct/union whose fields `cd` exposes (itself, or what it points to), with the
// address of that record; null (no exception) if it has no fields.
static CType* record_of(CData* cd, char** base) {
    CType* t = cd->ctype;
    if (t->kind == Kind::Pointer && types::is_record(t->item)) {
        *base = cd->data;
        return t->item;
    }
    if (types::is_record(t)) {
        *base = cd->data;
        return t;
    }
    return nullptr;
}

// Completes a record declared after its use. False with an exception if completing it
// failed; false without one if it is opaque.
static bool complete_record(CType* rec) {
    try {
        return types::complete_type(rec, false);
    } catch (...) {
        cffix::translate_exception();
        return false;
    }
}

// The field `name` of the struct/union `cd` exposes, with that record's address in
// *base. Null and no exception when there is none (no record, an opaque one, no such
// field: the caller looks further, as for methods); null with an exception on errors.
static const FieldInfo* lookup_field(CData* cd, PyObject* name, char** base) {
    CType* rec = record_of(cd, base);
    if (!rec) return nullptr;
    if (!(rec->flags & types::RF_COMPLETE) && !complete_record(rec)) return nullptr;
    return types::find_field(rec, name);
}

// The AttributeError for a name that is no field of the record `cd` exposes (cffi's
// messages).
static void no_field(CData* cd, CType* rec, PyObject* name, const char* access) {
    if (rec->flags & types::RF_COMPLETE)
        PyErr_Format(PyExc_AttributeError, "cdata '%s' has no field '%U'", cd->ctype->cname.c_str(),
                     name);
    else
        PyErr_Format(PyExc_AttributeError, "cdata '%s' points to an opaque type: cannot %s fields",
                     cd->ctype->cname.c_str(), access);
}

// A flexible array member: `T[]` of the items the memory holds when its size is known
// (as cffi: `<cdata 'int[]' sliced length 3>`), else a `T *`.
static PyObject* flexible_member(CData* cd, const FieldInfo& f, char* base) {
    CType* item = f.type->item;
    // Through a pointer derived by a cast (q.a, q[0].a) cffi records no length: a `T *`,
    // derived from the same memory (bounded by it).
    PyObject* owner =
        Py_IS_TYPE(cd, &CDataView_Type) ? static_cast<CDataView*>(cd)->owner : nullptr;
    bool through_derived =
        (cd->flags & CD_DERIVED) || (owner && Py_IS_TYPE(owner, &CDataView_Type) &&
                                     (reinterpret_cast<CData*>(owner)->flags & CD_DERIVED));
    Py_ssize_t extent = through_derived ? -1 : known_extent(cd);
    if (extent >= 0 && item->size > 0) {
        Py_ssize_t n = extent > f.offset ? (extent - f.offset) / item->size : 0;
        CData* view = new_view(f.type, base + f.offset, items_owner(cd), n);
        if (view) view->flags |= CD_SLICE;
        return reinterpret_cast<PyObject*>(view);
    }
    Ref<CType> pointer;
    try {
        pointer = Ref<CType>(types::pointer_type(item));
    } catch (...) {
        return cffix::translate_exception();
    }
    return reinterpret_cast<PyObject*>(new_derived(pointer.get(), base + f.offset, cd));
}

// A field read or written through a pointer whose memory is known (derived from an owner,
// from_buffer, gc) lies inside that memory. A struct cdata is inside its memory by
// construction.
static bool check_field(CData* cd, const FieldInfo& f, char* base) {
    if (cd->ctype->kind != Kind::Pointer || !pointer_memory_is_checked(cd)) return true;
    return check_field_in_memory(cd, f, base);
}

static PyObject* cdata_getattro(PyObject* self, PyObject* name) {
    CData* cd = as_cdata(self);
    char* base;
    const FieldInfo* f = lookup_field(cd, name, &base);
    if (f) {
        if (check_released(cd)) return nullptr;
        if (!base) {
            PyErr_Format(PyExc_RuntimeError, "cannot read field '%s' through NULL pointer '%s'",
                         f->name.c_str(), cd->ctype->cname.c_str());
            return nullptr;
        }
        if (!check_field(cd, *f, base)) return nullptr;
        if (f->is_bitfield()) return read_bitfield(*f, base);
        if (f->is_flexible()) return flexible_member(cd, *f, base);
        return from_c(f->type, base + f->offset, items_owner(cd));
    }
    if (PyErr_Occurred()) return nullptr;
    if (cd->ctype->kind == types::Kind::Function && function_attribute())
        if (PyObject* method = function_attribute()(self, name)) return method;
    PyObject* r = PyObject_GenericGetAttr(self, name);
    CType* rec;
    if (!r && PyErr_ExceptionMatches(PyExc_AttributeError) && (rec = record_of(cd, &base))) {
        PyErr_Clear();
        no_field(cd, rec, name, "read");
    }
    return r;
}

static int cdata_setattro(PyObject* self, PyObject* name, PyObject* value) {
    CData* cd = as_cdata(self);
    char* base;
    const FieldInfo* f = lookup_field(cd, name, &base);
    if (f) {
        if (!value) {
            PyErr_Format(PyExc_AttributeError, "cannot delete field '%s'", f->name.c_str());
            return -1;
        }
        if (check_released(cd)) return -1;
        if (!base) {
            PyErr_Format(PyExc_RuntimeError, "cannot write field '%s' through NULL pointer '%s'",
                         f->name.c_str(), cd->ctype->cname.c_str());
            return -1;
        }
        if (!check_field(cd, *f, base)) return -1;
        if (f->is_bitfield()) return write_bitfield(*f, base, value) ? 0 : -1;
        if (f->is_flexible()) {
            // Within the memory when its size is known; raw pointers are trusted, as in C.
            Py_ssize_t extent = known_extent(cd);
            return flexible_to_c(*f, base, value, extent < 0 ? PY_SSIZE_T_MAX : extent) ? 0 : -1;
        }
        return to_c(f->type, base + f->offset, value) ? 0 : -1;
    }
    if (PyErr_Occurred()) return -1;
    if (CType* rec = record_of(cd, &base)) {
        no_field(cd, rec, name, "write");
        return -1;
    }
    return PyObject_GenericSetAttr(self, name, value);
}

PyObject* cdata_dir(PyObject* self, PyObject*) {
    char* base;
    CType* rec = record_of(as_cdata(self), &base);
    PyRef list(PyList_New(0));
    if (!list || !rec) return list.release();
    for (const FieldInfo& f : rec->fields) {
        PyRef name(PyUnicode_FromString(f.name.c_str()));
        if (!name || PyList_Append(list.get(), name.get()) < 0) return nullptr;
    }
    return list.release();
}

void fill_field_protocol(PyTypeObject* type) {
    type->tp_getattro = cdata_getattro;
    type->tp_setattro = cdata_setattro;
}

}  // namespace cffix::data
