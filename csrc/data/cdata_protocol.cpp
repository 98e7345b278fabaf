// The Python protocols of cdata: numbers (int/float/bool, pointer arithmetic),
// comparisons and hashing, indexing and slicing with bounds checks, struct fields
// (also through pointers, as C's ->), iteration, dir(), and `with` (release).
#include <cstring>

#include "data/cdata.h"
#include "data/convert.h"
#include "data/memory.h"
#include "data/ownership.h"

namespace cffix::data {

using types::Conv;
using types::FieldInfo;
using types::Kind;

void free_owned_memory(CData* cd);

static CData* as_cdata(PyObject* o) { return reinterpret_cast<CData*>(o); }

static bool is_primitive(const CType* t) {
    return t->kind == Kind::Primitive || t->kind == Kind::Enum;
}

static bool is_pointer_like(const CType* t) {
    return t->kind == Kind::Pointer || t->kind == Kind::Array || t->kind == Kind::Function;
}

static bool is_float_conv(Conv c) {
    return c == Conv::Float || c == Conv::Double || c == Conv::LongDouble;
}

// ---------------------------------------------------------------- numbers

static PyObject* cdata_int(PyObject* self) {
    CData* cd = as_cdata(self);
    CType* t = cd->ctype;
    if (is_primitive(t)) {
        if (check_released(cd)) return nullptr;
        if (is_float_conv(t->conv)) {
            PyRef f(PyNumber_Float(self));
            return f ? PyNumber_Long(f.get()) : nullptr;
        }
        if (t->conv == Conv::Char) return PyLong_FromLong(static_cast<unsigned char>(*cd->data));
        if (t->conv == Conv::WChar16 || t->conv == Conv::WChar32)
            return PyLong_FromLongLong(load_integer(t, cd->data));
        if (t->conv == Conv::ComplexFloat || t->conv == Conv::ComplexDouble) {
            PyErr_Format(PyExc_TypeError, "int() not supported on cdata '%s'", t->cname.c_str());
            return nullptr;
        }
        return from_c(t, cd->data, nullptr);
    }
    PyErr_Format(PyExc_TypeError, "int() not supported on cdata '%s'", t->cname.c_str());
    return nullptr;
}

static PyObject* cdata_float(PyObject* self) {
    CData* cd = as_cdata(self);
    CType* t = cd->ctype;
    if (is_primitive(t) && is_float_conv(t->conv)) {
        if (check_released(cd)) return nullptr;
        if (t->conv == Conv::LongDouble) {
            long double v;
            memcpy(&v, cd->data, sizeof v);
            return PyFloat_FromDouble(static_cast<double>(v));
        }
        return from_c(t, cd->data, nullptr);
    }
    PyErr_Format(PyExc_TypeError, "float() not supported on cdata '%s'", t->cname.c_str());
    return nullptr;
}

static PyObject* cdata_complex(PyObject* self, PyObject*) {
    CData* cd = as_cdata(self);
    CType* t = cd->ctype;
    if (t->conv == Conv::ComplexFloat || t->conv == Conv::ComplexDouble)
        return from_c(t, cd->data, nullptr);
    PyRef f(cdata_float(self));
    if (!f) return nullptr;
    return PyComplex_FromDoubles(PyFloat_AS_DOUBLE(f.get()), 0.0);
}

static int cdata_bool(PyObject* self) {
    CData* cd = as_cdata(self);
    CType* t = cd->ctype;
    if (is_primitive(t)) {
        if (check_released(cd)) return -1;
        switch (t->conv) {
            case Conv::Float: {
                float v;
                memcpy(&v, cd->data, sizeof v);
                return v != 0;
            }
            case Conv::Double: {
                double v;
                memcpy(&v, cd->data, sizeof v);
                return v != 0;
            }
            case Conv::LongDouble: {
                long double v;
                memcpy(&v, cd->data, sizeof v);
                return v != 0;
            }
            case Conv::ComplexFloat:
            case Conv::ComplexDouble: {
                PyRef c(from_c(t, cd->data, nullptr));
                return c ? PyObject_IsTrue(c.get()) : -1;
            }
            default: return load_integer(t, cd->data) != 0;
        }
    }
    if (t->kind == Kind::Pointer || t->kind == Kind::Function) return cd->data != nullptr;
    return 1;
}

// p + n, n + p, p - n: a pointer of the item type (arrays decay to pointers).
// Pointer arithmetic steps by the item size; `void *` steps by bytes, as in GNU C and cffi.
static Py_ssize_t step_size(const CType* item) {
    return item->kind == Kind::Void ? 1 : static_cast<Py_ssize_t>(item->size);
}

static PyObject* pointer_offset(CData* cd, PyObject* n, bool negate) {
    CType* t = cd->ctype;
    CType* item = t->item;
    if (step_size(item) < 0) {
        PyErr_Format(PyExc_TypeError, "ctype '%s' points to items of unknown size",
                     t->cname.c_str());
        return nullptr;
    }
    int64_t i;
    if (!as_int64(n, &i, "index")) return nullptr;
    int64_t step = negate ? -step_size(item) : step_size(item);  // not -i: INT64_MIN
    if (check_released(cd)) return nullptr;
    CType* result_type = t;
    PyRef holder;
    if (t->kind == Kind::Array) {
        try {
            holder = PyRef(reinterpret_cast<PyObject*>(types::pointer_type(item)));
        } catch (...) {
            return PyErr_NoMemory();
        }
        result_type = reinterpret_cast<CType*>(holder.get());
    }
    char* p = offset_address(cd->data, i, step);
    return reinterpret_cast<PyObject*>(new_pointer(result_type, p));
}

static PyObject* cdata_add(PyObject* a, PyObject* b) {
    if (is_cdata(a) && is_pointer_like(as_cdata(a)->ctype) &&
        as_cdata(a)->ctype->kind != Kind::Function && !is_cdata(b))
        return pointer_offset(as_cdata(a), b, false);
    if (is_cdata(b) && is_pointer_like(as_cdata(b)->ctype) &&
        as_cdata(b)->ctype->kind != Kind::Function && !is_cdata(a))
        return pointer_offset(as_cdata(b), a, false);
    Py_RETURN_NOTIMPLEMENTED;
}

static PyObject* cdata_sub(PyObject* a, PyObject* b) {
    if (!is_cdata(a) || !is_pointer_like(as_cdata(a)->ctype) ||
        as_cdata(a)->ctype->kind == Kind::Function)
        Py_RETURN_NOTIMPLEMENTED;
    CData* x = as_cdata(a);
    if (!is_cdata(b)) return pointer_offset(x, b, true);
    CData* y = as_cdata(b);
    // As cffi: both sides pointers of the same type (arrays decay only on the left of +/-).
    bool same =
        y->ctype == x->ctype || (y->ctype->kind == Kind::Array && y->ctype->item == x->ctype->item);
    if (x->ctype->kind != Kind::Pointer || !same) {
        PyErr_Format(PyExc_TypeError, "cannot subtract cdata '%s' and cdata '%s'",
                     x->ctype->cname.c_str(),
                     y->ctype->kind == Kind::Array ? types::cname_with(y->ctype->item, " *").c_str()
                                                   : y->ctype->cname.c_str());
        return nullptr;
    }
    Py_ssize_t step = step_size(x->ctype->item);
    if (step <= 0) {
        PyErr_Format(PyExc_TypeError, "ctype '%s' points to items of unknown size",
                     x->ctype->cname.c_str());
        return nullptr;
    }
    // As addresses (the two pointers need not point into one object): no overflow.
    auto diff = static_cast<Py_ssize_t>(reinterpret_cast<uintptr_t>(x->data) -
                                        reinterpret_cast<uintptr_t>(y->data));
    if (diff % step) {
        PyErr_SetString(PyExc_ValueError,
                        "pointer subtraction: the distance between the two pointers is not a "
                        "multiple of the item size");
        return nullptr;
    }
    return PyLong_FromSsize_t(diff / step);
}

// ---------------------------------------------------------------- compare / hash

// The Python number of a primitive cdata, for comparisons and hashing.
static PyObject* primitive_number(CData* cd) {
    if (cd->ctype->conv == Conv::Char)
        return PyLong_FromLong(static_cast<unsigned char>(*cd->data));
    if (is_float_conv(cd->ctype->conv)) return cdata_float(reinterpret_cast<PyObject*>(cd));
    return cdata_int(reinterpret_cast<PyObject*>(cd));
}

static PyObject* cdata_richcompare(PyObject* a, PyObject* b, int op) {
    CData* x = as_cdata(a);
    if (is_primitive(x->ctype)) {
        // By value, against primitive cdata and Python numbers (bytes/str for chars).
        PyRef left(x->ctype->conv == Conv::Char || x->ctype->conv == Conv::WChar16 ||
                           x->ctype->conv == Conv::WChar32
                       ? (PyBytes_Check(b) || PyUnicode_Check(b)
                              ? from_c(x->ctype, x->data, nullptr)
                              : primitive_number(x))
                       : primitive_number(x));
        if (!left) return nullptr;
        PyRef right;
        if (is_cdata(b)) {
            if (!is_primitive(as_cdata(b)->ctype)) Py_RETURN_NOTIMPLEMENTED;
            right = PyRef(primitive_number(as_cdata(b)));
            if (!right) return nullptr;
        } else {
            right = PyRef::borrow(b);
        }
        return PyObject_RichCompare(left.get(), right.get(), op);
    }
    if (!is_cdata(b) || is_primitive(as_cdata(b)->ctype)) Py_RETURN_NOTIMPLEMENTED;
    // Everything else compares by address, as C pointers do.
    uintptr_t p = reinterpret_cast<uintptr_t>(x->data);
    uintptr_t q = reinterpret_cast<uintptr_t>(as_cdata(b)->data);
    bool r = false;
    switch (op) {
        case Py_EQ: r = p == q; break;
        case Py_NE: r = p != q; break;
        case Py_LT: r = p < q; break;
        case Py_LE: r = p <= q; break;
        case Py_GT: r = p > q; break;
        case Py_GE: r = p >= q; break;
    }
    return PyBool_FromLong(r);
}

static Py_hash_t cdata_hash(PyObject* self) {
    CData* cd = as_cdata(self);
    if (is_primitive(cd->ctype)) {
        PyRef n(primitive_number(cd));
        return n ? PyObject_Hash(n.get()) : -1;
    }
    // Rotate away the always-zero alignment bits, as CPython hashes pointers.
    uintptr_t p = reinterpret_cast<uintptr_t>(cd->data);
    Py_hash_t h = static_cast<Py_hash_t>((p >> 4) | (p << (8 * sizeof(p) - 4)));
    return h == -1 ? -2 : h;
}

// ---------------------------------------------------------------- indexing

static Py_ssize_t cdata_length(PyObject* self) {
    CData* cd = as_cdata(self);
    if (cd->ctype->kind == Kind::Array) return cd->length;
    PyErr_Format(PyExc_TypeError, "cdata of type '%s' has no len()", cd->ctype->cname.c_str());
    return -1;
}

// Address of item i, bounds-checked where the length is known. Null + exception if not.
static char* item_address(CData* cd, Py_ssize_t i) {
    CType* t = cd->ctype;
    if (t->kind != Kind::Pointer && t->kind != Kind::Array) {
        PyErr_Format(PyExc_TypeError, "cdata of type '%s' cannot be indexed", t->cname.c_str());
        return nullptr;
    }
    if (check_released(cd)) return nullptr;
    CType* item = t->item;
    if (item->size < 0 || item->kind == Kind::Void) {
        PyErr_Format(PyExc_TypeError, "cdata of type '%s' cannot be indexed: items of unknown size",
                     t->cname.c_str());
        return nullptr;
    }
    if (t->kind == Kind::Array) {
        if (i < 0) {
            PyErr_SetString(PyExc_IndexError, "negative index");
            return nullptr;
        }
        if (i >= cd->length) {
            PyErr_Format(PyExc_IndexError, "index too large for cdata '%s' (expected %zd < %zd)",
                         t->cname.c_str(), i, cd->length);
            return nullptr;
        }
    } else if (Py_TYPE(cd) == &CDataOwned_Type && i != 0) {
        // ffi.new("T *") owns exactly one T.
        PyErr_Format(PyExc_IndexError, "cdata '%s' can only be indexed by 0", t->cname.c_str());
        return nullptr;
    } else if (!cd->data) {
        PyErr_Format(PyExc_RuntimeError, "cannot dereference NULL pointer '%s'", t->cname.c_str());
        return nullptr;
    }
    return offset_address(cd->data, i, item->size);  // a pointer's index is unbounded
}

static PyObject* item_owner(CData* cd) {
    PyObject* owner = memory_owner(cd);
    return owner ? owner : reinterpret_cast<PyObject*>(cd);
}

static PyObject* get_item(CData* cd, Py_ssize_t i) {
    char* p = item_address(cd, i);
    if (!p) return nullptr;
    CType* item = cd->ctype->item;
    // Only records and arrays become views that need the owner.
    bool view = item->conv == Conv::Record || item->conv == Conv::Array;
    return from_c(item, p, view ? item_owner(cd) : nullptr);
}

// Resolves a[start:stop] (no step) against the known length, if any.
static bool slice_bounds(CData* cd, PyObject* slice, Py_ssize_t* start, Py_ssize_t* stop) {
    PySliceObject* s = reinterpret_cast<PySliceObject*>(slice);
    if (s->step != Py_None) {
        PyErr_SetString(PyExc_IndexError, "slice with step not supported");
        return false;
    }
    bool is_array = cd->ctype->kind == Kind::Array;
    if (!is_array && cd->ctype->kind != Kind::Pointer) {
        PyErr_Format(PyExc_TypeError, "cdata of type '%s' cannot be sliced",
                     cd->ctype->cname.c_str());
        return false;
    }
    if (s->start == Py_None) {  // as cffi, even for arrays of known length
        PyErr_SetString(PyExc_IndexError, "slice start must be specified");
        return false;
    }
    if (s->stop == Py_None) {
        PyErr_SetString(PyExc_IndexError, "slice stop must be specified");
        return false;
    }
    *start = s->start == Py_None ? 0 : PyNumber_AsSsize_t(s->start, PyExc_OverflowError);
    if (*start == -1 && PyErr_Occurred()) return false;
    *stop = s->stop == Py_None ? cd->length : PyNumber_AsSsize_t(s->stop, PyExc_OverflowError);
    if (*stop == -1 && PyErr_Occurred()) return false;
    if (*start < 0) {
        PyErr_SetString(PyExc_IndexError, "negative index");
        return false;
    }
    if (*stop < *start) {
        PyErr_Format(PyExc_IndexError, "slice start > stop");
        return false;
    }
    if (is_array && *stop > cd->length) {
        PyErr_Format(PyExc_IndexError, "index too large (expected %zd <= %zd)", *stop, cd->length);
        return false;
    }
    if (Py_TYPE(cd) == &CDataOwned_Type && !is_array && *stop > 1) {
        PyErr_Format(PyExc_IndexError, "cdata '%s' owns one item: slice stop %zd > 1",
                     cd->ctype->cname.c_str(), *stop);
        return false;
    }
    return true;
}

static PyObject* get_slice(CData* cd, PyObject* slice) {
    Py_ssize_t start, stop;
    if (!slice_bounds(cd, slice, &start, &stop) || check_released(cd)) return nullptr;
    CType* item = cd->ctype->item;
    if (item->size <= 0) {
        PyErr_Format(PyExc_TypeError, "cannot slice '%s': items of unknown size",
                     cd->ctype->cname.c_str());
        return nullptr;
    }
    PyRef array_type;
    try {
        array_type = PyRef(reinterpret_cast<PyObject*>(types::array_type(item, -1)));
    } catch (...) {
        return PyErr_NoMemory();
    }
    CData* view =
        new_view(reinterpret_cast<CType*>(array_type.get()),
                 offset_address(cd->data, start, item->size), item_owner(cd), stop - start);
    if (view) view->flags |= CD_SLICE;
    return reinterpret_cast<PyObject*>(view);
}

static PyObject* cdata_subscript(PyObject* self, PyObject* key) {
    CData* cd = as_cdata(self);
    if (PyLong_CheckExact(key)) {
        Py_ssize_t i = PyLong_AsSsize_t(key);
        if (i == -1 && PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_OverflowError)) return nullptr;
            PyErr_Clear();
            PyErr_Format(PyExc_IndexError, "cannot fit %R into an index-sized integer", key);
            return nullptr;
        }
        return get_item(cd, i);
    }
    if (PySlice_Check(key)) return get_slice(cd, key);
    Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
    if (i == -1 && PyErr_Occurred()) return nullptr;
    return get_item(cd, i);
}

static int set_slice(CData* cd, PyObject* slice, PyObject* value) {
    Py_ssize_t start, stop;
    if (!slice_bounds(cd, slice, &start, &stop) || check_released(cd)) return -1;
    CType* item = cd->ctype->item;
    Py_ssize_t n = stop - start;
    char* dst = offset_address(cd->data, start, item->size);
    if (is_cdata(value)) {
        CData* src = as_cdata(value);
        if (src->ctype->kind == Kind::Array && src->ctype->item == item) {
            if (src->length != n) {
                PyErr_Format(PyExc_ValueError, "need %zd values to unpack, got %zd", n,
                             src->length);
                return -1;
            }
            if (check_released(src)) return -1;
            memmove(dst, src->data, static_cast<size_t>(n * item->size));
            return 0;
        }
    }
    if (item->conv == Conv::Char && (PyBytes_Check(value) || PyByteArray_Check(value))) {
        bool is_bytes = PyBytes_Check(value);
        Py_ssize_t len = is_bytes ? PyBytes_GET_SIZE(value) : PyByteArray_GET_SIZE(value);
        if (len != n) {
            PyErr_Format(PyExc_ValueError, "need a bytes of length %zd, got %zd", n, len);
            return -1;
        }
        memcpy(dst, is_bytes ? PyBytes_AS_STRING(value) : PyByteArray_AS_STRING(value),
               static_cast<size_t>(n));
        return 0;
    }
    PyRef seq(PySequence_Fast(value, "slice assignment needs a list, tuple, bytes or cdata"));
    if (!seq) return -1;
    if (PySequence_Fast_GET_SIZE(seq.get()) != n) {
        PyErr_Format(PyExc_ValueError, "need %zd values to unpack, got %zd", n,
                     PySequence_Fast_GET_SIZE(seq.get()));
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; ++i) {
        // PySequence_Fast may be the list itself: re-check and hold each item.
        if (i >= PySequence_Fast_GET_SIZE(seq.get())) {
            PyErr_SetString(PyExc_RuntimeError, "sequence changed size during assignment");
            return -1;
        }
        PyRef v = PyRef::borrow(PySequence_Fast_GET_ITEM(seq.get(), i));
        if (!to_c(item, dst + i * item->size, v.get())) return -1;
    }
    return 0;
}

static int cdata_ass_subscript(PyObject* self, PyObject* key, PyObject* value) {
    CData* cd = as_cdata(self);
    if (!value) {
        PyErr_Format(PyExc_TypeError, "cannot delete items of cdata '%s'",
                     cd->ctype->cname.c_str());
        return -1;
    }
    if (PySlice_Check(key)) return set_slice(cd, key, value);
    Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
    if (i == -1 && PyErr_Occurred()) return -1;
    char* p = item_address(cd, i);
    if (!p) return -1;
    return to_c(cd->ctype->item, p, value) ? 0 : -1;
}

// Iterating an array: a small iterator holding the array and a position.
struct ArrayIter {
    PyObject_HEAD
    PyObject* array;
    Py_ssize_t index;
};

static PyTypeObject ArrayIter_Type;

static void array_iter_dealloc(PyObject* self) {
    Py_XDECREF(reinterpret_cast<ArrayIter*>(self)->array);
    PyObject_Free(self);
}

static PyObject* array_iter_next(PyObject* self) {
    auto* it = reinterpret_cast<ArrayIter*>(self);
    CData* cd = as_cdata(it->array);
    if (it->index >= cd->length) return nullptr;  // StopIteration
    return get_item(cd, it->index++);
}

static PyObject* cdata_iter(PyObject* self) {
    CData* cd = as_cdata(self);
    if (cd->ctype->kind != Kind::Array) {
        PyErr_Format(PyExc_TypeError, "cdata '%s' does not support iteration",
                     cd->ctype->cname.c_str());
        return nullptr;
    }
    if (!ArrayIter_Type.tp_name) {
        ArrayIter_Type.tp_name = "cffix.ArrayIterator";
        ArrayIter_Type.tp_basicsize = sizeof(ArrayIter);
        ArrayIter_Type.tp_dealloc = array_iter_dealloc;
        ArrayIter_Type.tp_flags = Py_TPFLAGS_DEFAULT;
        ArrayIter_Type.tp_iter = PyObject_SelfIter;
        ArrayIter_Type.tp_iternext = array_iter_next;
        Py_SET_REFCNT(&ArrayIter_Type, 1);
        if (PyType_Ready(&ArrayIter_Type) < 0) return nullptr;
    }
    auto* it = PyObject_New(ArrayIter, &ArrayIter_Type);
    if (!it) return nullptr;
    it->array = Py_NewRef(self);
    it->index = 0;
    return reinterpret_cast<PyObject*>(it);
}

// ---------------------------------------------------------------- fields

// The struct/union whose fields `cd` exposes (itself, or what it points to), with the
// address of that record; null (no exception) if it has no fields.
static CType* record_of(CData* cd, char** base) {
    CType* t = cd->ctype;
    if (t->kind == Kind::Pointer &&
        (t->item->kind == Kind::Struct || t->item->kind == Kind::Union)) {
        *base = cd->data;
        return t->item;
    }
    if (t->kind == Kind::Struct || t->kind == Kind::Union) {
        *base = cd->data;
        return t;
    }
    return nullptr;
}

static const FieldInfo* lookup_field(CData* cd, PyObject* name, char** base) {
    CType* rec = record_of(cd, base);
    if (!rec) return nullptr;
    if (!(rec->flags & types::RF_COMPLETE)) {
        try {
            if (!types::complete_type(rec, false)) return nullptr;
        } catch (...) {
            return nullptr;
        }
    }
    return types::find_field(rec, name);
}

// A flexible array member: `T[]` of the items the memory holds when its size is known
// (as cffi: `<cdata 'int[]' sliced length 3>`), else a `T *`.
static PyObject* flexible_member(CData* cd, const FieldInfo& f, char* base) {
    CType* item = f.type->item;
    Py_ssize_t extent = known_extent(cd);
    if (extent >= 0 && item->size > 0) {
        Py_ssize_t n = extent > f.offset ? (extent - f.offset) / item->size : 0;
        CData* view = new_view(f.type, base + f.offset, item_owner(cd), n);
        if (view) view->flags |= CD_SLICE;
        return reinterpret_cast<PyObject*>(view);
    }
    try {
        PyRef pointer(reinterpret_cast<PyObject*>(types::pointer_type(item)));
        return reinterpret_cast<PyObject*>(
            new_pointer(reinterpret_cast<CType*>(pointer.get()), base + f.offset));
    } catch (...) {
        return PyErr_NoMemory();
    }
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
        if (f->bitshift >= 0) return read_bitfield(*f, base);
        if (f->bitshift == -2) return flexible_member(cd, *f, base);
        return from_c(f->type, base + f->offset, item_owner(cd));
    }
    if (PyErr_Occurred()) return nullptr;
    PyObject* r = PyObject_GenericGetAttr(self, name);
    if (!r && PyErr_ExceptionMatches(PyExc_AttributeError) && record_of(cd, &base)) {
        PyErr_Clear();
        PyErr_Format(PyExc_AttributeError, "cdata '%s' has no field '%U'", cd->ctype->cname.c_str(),
                     name);
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
        if (f->bitshift >= 0) return write_bitfield(*f, base, value) ? 0 : -1;
        if (f->bitshift == -2) {
            // Within the memory when its size is known; raw pointers are trusted, as in C.
            Py_ssize_t extent = known_extent(cd);
            return flexible_to_c(*f, base, value, extent < 0 ? PY_SSIZE_T_MAX : extent) ? 0 : -1;
        }
        return to_c(f->type, base + f->offset, value) ? 0 : -1;
    }
    if (PyErr_Occurred()) return -1;
    if (record_of(cd, &base)) {
        PyErr_Format(PyExc_AttributeError, "cdata '%s' has no field '%U'", cd->ctype->cname.c_str(),
                     name);
        return -1;
    }
    return PyObject_GenericSetAttr(self, name, value);
}

static PyObject* cdata_dir(PyObject* self, PyObject*) {
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

// ---------------------------------------------------------------- with / release

PyObject* release_cdata(CData* cd) {
    if (Py_TYPE(cd) == &CDataOwned_Type) {
        free_owned_memory(cd);
        Py_RETURN_NONE;
    }
    if (is_from_buffer(cd)) {
        release_from_buffer(cd);
        Py_RETURN_NONE;
    }
    if (is_gc_cdata(reinterpret_cast<PyObject*>(cd))) return release_gc(cd);
    // Other kinds own nothing that release() could free: refused, as in cffi.
    PyErr_Format(PyExc_ValueError,
                 "only cdata from ffi.new(), ffi.gc(), ffi.from_buffer() or "
                 "ffi.new_allocator()() can be released (with 'with' or ffi.release()), not "
                 "cdata '%s'",
                 cd->ctype->cname.c_str());
    return nullptr;
}

// Only function pointers are callable: their type (CDataFunction_Type) gets its call
// slot from call/.
static PyObject* cdata_call(PyObject* self, PyObject*, PyObject*) {
    PyErr_Format(PyExc_TypeError, "cdata '%s' is not callable",
                 as_cdata(self)->ctype->cname.c_str());
    return nullptr;
}

static PyObject* cdata_enter(PyObject* self, PyObject*) { return Py_NewRef(self); }

static PyObject* cdata_exit(PyObject* self, PyObject*) {
    PyRef r(release_cdata(as_cdata(self)));
    if (!r) return nullptr;
    Py_RETURN_FALSE;
}

static PyMethodDef cdata_methods[] = {
    {"__dir__", cdata_dir, METH_NOARGS, nullptr},
    {"__enter__", cdata_enter, METH_NOARGS, nullptr},
    {"__exit__", cdata_exit, METH_VARARGS, nullptr},
    {"__complex__", cdata_complex, METH_NOARGS, nullptr},
    {nullptr, nullptr, 0, nullptr},
};

static PyNumberMethods cdata_as_number = {};
static PyMappingMethods cdata_as_mapping = {};

void fill_cdata_protocols(PyTypeObject* type) {
    cdata_as_number.nb_add = cdata_add;
    cdata_as_number.nb_subtract = cdata_sub;
    cdata_as_number.nb_bool = cdata_bool;
    cdata_as_number.nb_int = cdata_int;
    cdata_as_number.nb_float = cdata_float;
    cdata_as_mapping.mp_length = cdata_length;
    cdata_as_mapping.mp_subscript = cdata_subscript;
    cdata_as_mapping.mp_ass_subscript = cdata_ass_subscript;
    type->tp_as_number = &cdata_as_number;
    type->tp_as_mapping = &cdata_as_mapping;
    type->tp_richcompare = cdata_richcompare;
    type->tp_hash = cdata_hash;
    type->tp_iter = cdata_iter;
    type->tp_getattro = cdata_getattro;
    type->tp_call = cdata_call;
    type->tp_setattro = cdata_setattro;
    type->tp_methods = type->tp_base ? nullptr : cdata_methods;
}

}  // namespace cffix::data
