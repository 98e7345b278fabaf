// Arithmetic on cdata (as LuaJIT's lj_carith.c stands apart from the rest): int(),
// float(), complex() and truth of primitive cdata, pointer arithmetic (p + n, p - n,
// p - q), comparisons (primitives by value, everything else by address) and hashing.
#include <cstring>
#include <string>

#include "data/convert.h"
#include "data/protocols.h"
#include "util/errors.h"

namespace cffix::data {

using types::Conv;
using types::Kind;

static CData* as_cdata(PyObject* o) { return reinterpret_cast<CData*>(o); }

static bool is_primitive(const CType* t) {
    return t->kind == Kind::Primitive || t->kind == Kind::Enum;
}

static bool is_pointer_like(const CType* t) {
    return t->kind == Kind::Pointer || t->kind == Kind::Array || t->kind == Kind::Function;
}

static PyObject* cdata_int(PyObject* self) {
    CData* cd = as_cdata(self);
    CType* t = cd->ctype;
    if (is_primitive(t)) {
        if (check_released(cd)) return nullptr;
        if (types::is_real_floating(t->conv)) {
            PyRef f(PyNumber_Float(self));
            return f ? PyNumber_Long(f.get()) : nullptr;
        }
        if (t->conv == Conv::Char) return PyLong_FromLong(static_cast<unsigned char>(*cd->data));
        if (t->conv == Conv::Bool) return PyLong_FromLong(*cd->data != 0);  // an int, not a bool
        if (types::is_wide_char(t)) return PyLong_FromLongLong(load_integer(t, cd->data));
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
    if (is_primitive(t) && types::is_real_floating(t->conv)) {
        if (check_released(cd)) return nullptr;
        if (types::is_wide_floating(t->conv))
            return PyFloat_FromDouble(static_cast<double>(load_wide_floating(t, cd->data)));
        return from_c(t, cd->data, nullptr);
    }
    PyErr_Format(PyExc_TypeError, "float() not supported on cdata '%s'", t->cname.c_str());
    return nullptr;
}

PyObject* cdata_complex(PyObject* self, PyObject*) {
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
            case Conv::LongDouble:
            case Conv::Float128: return load_wide_floating(t, cd->data) != 0;
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
            return cffix::translate_exception();
        }
        result_type = reinterpret_cast<CType*>(holder.get());
    }
    char* p = offset_address(cd->data, i, step);
    // Into an owner's memory: the result holds the owner, so that its release is seen
    // and its bounds are known (raw pointers stay raw, as in C).
    return reinterpret_cast<PyObject*>(new_derived(result_type, p, cd));
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
        try {  // an array on the right is named as the pointer it decays to
            std::string right = y->ctype->kind == Kind::Array
                                    ? types::cname_with(y->ctype->item, " *")
                                    : y->ctype->cname;
            PyErr_Format(PyExc_TypeError, "cannot subtract cdata '%s' and cdata '%s'",
                         x->ctype->cname.c_str(), right.c_str());
            return nullptr;
        } catch (...) {
            return cffix::translate_exception();
        }
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
    if (types::is_real_floating(cd->ctype->conv))
        return cdata_float(reinterpret_cast<PyObject*>(cd));
    return cdata_int(reinterpret_cast<PyObject*>(cd));
}

static PyObject* cdata_richcompare(PyObject* a, PyObject* b, int op) {
    CData* x = as_cdata(a);
    if (is_primitive(x->ctype)) {
        // By value, against primitive cdata and Python numbers (bytes/str for chars).
        PyRef left(x->ctype->conv == Conv::Char || types::is_wide_char(x->ctype)
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

static PyNumberMethods cdata_as_number = {};

void fill_number_protocol(PyTypeObject* type) {
    cdata_as_number.nb_add = cdata_add;
    cdata_as_number.nb_subtract = cdata_sub;
    cdata_as_number.nb_bool = cdata_bool;
    cdata_as_number.nb_int = cdata_int;
    cdata_as_number.nb_float = cdata_float;
    type->tp_as_number = &cdata_as_number;
    type->tp_richcompare = cdata_richcompare;
    type->tp_hash = cdata_hash;
}

}  // namespace cffix::data
