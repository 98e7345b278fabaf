// Items of cdata arrays and pointers: len(), a[i] and a[i] = v (bounds-checked where
// the length is known), slices a[i:j] (views) and slice assignment, and iteration.
#include "data/convert.h"
#include "data/memory.h"
#include "data/ownership.h"
#include "data/protocols.h"
#include "util/errors.h"

namespace cffix::data {

using types::Conv;
using types::Kind;

static CData* as_cdata(PyObject* o) { return reinterpret_cast<CData*>(o); }

static Py_ssize_t cdata_length(PyObject* self) {
    CData* cd = as_cdata(self);
    if (cd->ctype->kind == Kind::Array) return cd->length;
    PyErr_Format(PyExc_TypeError, "cdata of type '%s' has no len()", cd->ctype->cname.c_str());
    return -1;
}

// Address of item i, bounds-checked where the length or the memory is known (raw
// pointers are not: C's). Null + exception if not.
static char* item_address(CData* cd, Py_ssize_t i) {
    CType* t = cd->ctype;
    if (t->kind != Kind::Pointer && t->kind != Kind::Array) {
        PyErr_Format(PyExc_TypeError, "cdata of type '%s' cannot be indexed", t->cname.c_str());
        return nullptr;
    }
    if (check_released(cd)) return nullptr;
    if (t->kind == Kind::Pointer && i != 0 &&
        ((cd->flags & CD_OWNED_POINTER) || Py_IS_TYPE(cd, &CDataHandle_Type))) {
        // ffi.new("T *") owns exactly one T; a handle is one 'void *' (IndexError as cffi,
        // before looking at the item type).
        PyErr_Format(PyExc_IndexError, "cdata '%s' can only be indexed by 0", t->cname.c_str());
        return nullptr;
    }
    CType* item = t->item;
    if (item->size < 0 || item->kind == Kind::Void) {
        PyErr_Format(PyExc_TypeError, "cdata of type '%s' cannot be indexed: items of unknown size",
                     t->cname.c_str());
        return nullptr;
    }
    if (!cd->data) {  // a pointer, or an array cast from 0 (`ffi.cast("int[4]", 0)`)
        PyErr_Format(PyExc_RuntimeError, "cannot dereference NULL pointer '%s'", t->cname.c_str());
        return nullptr;
    }
    char* address = offset_address(cd->data, i, item->size);
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
        // An array cast from an owner's memory may be longer than that memory.
        if ((cd->flags & CD_DERIVED) && !check_item_in_memory(cd, address, item->size, i))
            return nullptr;
        return address;
    }
    // A pointer: its memory bounds it, when known (pointer_memory_is_checked).
    if (pointer_memory_is_checked(cd) && !check_item_in_memory(cd, address, item->size, i))
        return nullptr;
    return address;
}

// Slices of a pointer whose memory is known, or of an array cast from an owner's memory,
// stay inside that memory.
static bool check_slice(CData* cd, Py_ssize_t start, Py_ssize_t stop, Py_ssize_t item_size) {
    bool known = cd->ctype->kind == Kind::Array ? (cd->flags & CD_DERIVED) != 0
                                                : pointer_memory_is_checked(cd);
    return !known || check_slice_in_memory(cd, start, stop, item_size);
}

static PyObject* get_item(CData* cd, Py_ssize_t i) {
    char* p = item_address(cd, i);
    if (!p) return nullptr;
    CType* item = cd->ctype->item;
    // Only records and arrays become views that need the owner.
    bool view = item->conv == Conv::Record || item->conv == Conv::Array;
    return from_c(item, p, view ? items_owner(cd) : nullptr);
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
    if ((cd->flags & CD_OWNED_POINTER) && *stop > 1) {
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
    if (!check_slice(cd, start, stop, item->size)) return nullptr;
    PyRef array_type;
    try {
        array_type = PyRef(reinterpret_cast<PyObject*>(types::array_type(item, -1)));
    } catch (...) {
        return cffix::translate_exception();
    }
    CData* view =
        new_view(reinterpret_cast<CType*>(array_type.get()),
                 offset_address(cd->data, start, item->size), items_owner(cd), stop - start);
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

// a[i:j] = value: exactly j - i items, through the converter's array code (what
// ffi.new("T[n]", value) takes, and any iterable, as cffi).
static int set_slice(CData* cd, PyObject* slice, PyObject* value) {
    Py_ssize_t start, stop;
    if (!slice_bounds(cd, slice, &start, &stop) || check_released(cd)) return -1;
    CType* item = cd->ctype->item;
    if (item->size <= 0) {
        PyErr_Format(PyExc_TypeError, "cannot slice '%s': items of unknown size",
                     cd->ctype->cname.c_str());
        return -1;
    }
    if (!check_slice(cd, start, stop, item->size)) return -1;
    if (!cd->data) {  // a NULL pointer, or an array cast from 0 (a slice of it is a view
                      // whose items raise the same)
        PyErr_Format(PyExc_RuntimeError, "cannot write through NULL pointer '%s'",
                     cd->ctype->cname.c_str());
        return -1;
    }
    char* dst = offset_address(cd->data, start, item->size);
    return array_to_c(cd->ctype, dst, value, stop - start, ArrayFill::Exact) ? 0 : -1;
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
    // Each index once, even when threads share the iterator (free-threaded builds).
    Py_ssize_t index = ft::fetch_add(it->index, Py_ssize_t{1});
    if (index >= cd->length) {
        ft::store_relaxed(it->index, cd->length);  // stays exhausted, never wraps
        return nullptr;                            // StopIteration
    }
    return get_item(cd, index);
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

static PyMappingMethods cdata_as_mapping = {};

void fill_index_protocol(PyTypeObject* type) {
    cdata_as_mapping.mp_length = cdata_length;
    cdata_as_mapping.mp_subscript = cdata_subscript;
    cdata_as_mapping.mp_ass_subscript = cdata_ass_subscript;
    type->tp_as_mapping = &cdata_as_mapping;
    type->tp_iter = cdata_iter;
}

}  // namespace cffix::data
