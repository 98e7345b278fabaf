// ffi.cast on a resolved type: C's conversions between integers, floats, characters and
// pointers (truncating, not range-checked, as a C cast).
#include <cmath>
#include <cstring>

#include "data/argument.h"
#include "data/cdata.h"
#include "data/convert.h"
#include "data/module_function.h"

namespace cffix::data {

using types::Conv;
using types::Kind;

// The integer a cast starts from: ints wrap modulo 2**64; floats truncate; pointers give
// their address; one-character bytes/str give their code.
static bool cast_source_integer(PyObject* v, uint64_t* out, const CType* target) {
    if (PyLong_Check(v)) {
        *out = PyLong_AsUnsignedLongLongMask(v);
        return !(*out == static_cast<uint64_t>(-1) && PyErr_Occurred());
    }
    if (PyFloat_Check(v)) {
        double d = PyFloat_AS_DOUBLE(v);
        if (std::isnan(d) || std::isinf(d)) {  // Python's int(d) errors, as in cffi
            PyErr_Format(std::isnan(d) ? PyExc_ValueError : PyExc_OverflowError,
                         "cannot convert float %s to integer\n  in a cast of %R to '%s'",
                         std::isnan(d) ? "NaN" : "infinity", v, target->cname.c_str());
            return false;
        }
        if (d > -0x1p63 && d < 0x1p63) {
            *out = static_cast<uint64_t>(static_cast<int64_t>(d));
            return true;
        }
        // Beyond int64_t the C conversion is undefined: truncate exactly, then wrap
        // modulo 2**64 as ints do.
        PyRef exact(PyLong_FromDouble(d));
        if (!exact) return false;
        *out = PyLong_AsUnsignedLongLongMask(exact.get());
        return !(*out == static_cast<uint64_t>(-1) && PyErr_Occurred());
    }
    if (is_cdata(v)) {
        CData* cd = reinterpret_cast<CData*>(v);
        CType* s = cd->ctype;
        if (s->kind == Kind::Pointer || s->kind == Kind::Array || s->kind == Kind::Function) {
            *out = reinterpret_cast<uintptr_t>(cd->data);
            return true;
        }
        if (s->kind == Kind::Primitive || s->kind == Kind::Enum) {
            if (types::is_real_floating(s->conv)) {
                PyRef f(PyNumber_Float(v));
                return f && cast_source_integer(f.get(), out, target);
            }
            if (s->conv == Conv::ComplexFloat || s->conv == Conv::ComplexDouble) {
                PyErr_Format(PyExc_TypeError, "cannot cast ctype '%s' to ctype '%s'",
                             s->cname.c_str(), target->cname.c_str());
                return false;
            }
            *out = static_cast<uint64_t>(load_integer(s, cd->data));
            return true;
        }
    }
    if (PyBytes_Check(v) && PyBytes_GET_SIZE(v) == 1) {
        *out = static_cast<unsigned char>(PyBytes_AS_STRING(v)[0]);
        return true;
    }
    if (PyUnicode_Check(v) && PyUnicode_GET_LENGTH(v) == 1) {
        *out = PyUnicode_READ_CHAR(v, 0);
        return true;
    }
    if (PyIndex_Check(v) || (Py_TYPE(v)->tp_as_number && Py_TYPE(v)->tp_as_number->nb_int)) {
        PyRef i(PyIndex_Check(v) ? PyNumber_Index(v) : PyNumber_Long(v));
        return i && cast_source_integer(i.get(), out, target);
    }
    if (PyUnicode_Check(v) || PyBytes_Check(v))
        PyErr_Format(PyExc_TypeError, "cannot cast %s of length %zd to ctype '%s'",
                     Py_TYPE(v)->tp_name, PyObject_Length(v), target->cname.c_str());
    else
        PyErr_Format(PyExc_TypeError, "cannot cast %s to ctype '%s'", Py_TYPE(v)->tp_name,
                     target->cname.c_str());
    return false;
}

static void store_truncated(CType* t, char* dst, uint64_t v) {
    // (a _Bool cast of a float is handled before: 0.5 is true, not truncated to 0)
    if (t->conv == Conv::Bool) v = v != 0;
    memcpy(dst, &v, static_cast<size_t>(t->size));  // little-endian: the low bytes
}

static PyObject* cast_to_float(CType* t, PyObject* v) {
    double d;
    if (is_cdata(v)) {
        CData* cd = reinterpret_cast<CData*>(v);
        CType* s = cd->ctype;
        if (s->kind != Kind::Primitive && s->kind != Kind::Enum) {
            PyErr_Format(PyExc_TypeError, "cannot cast ctype '%s' to ctype '%s'", s->cname.c_str(),
                         t->cname.c_str());
            return nullptr;
        }
        if (types::is_wide_floating(s->conv) && types::is_wide_floating(t->conv)) {
            // long double <-> _Float128 through long double: exact one way, rounded back
            PyRef r(reinterpret_cast<PyObject*>(new_value(t)));
            if (r && !to_c(t, reinterpret_cast<CData*>(r.get())->data, v)) return nullptr;
            return r.release();
        }
        if (types::is_real_floating(s->conv)) {
            PyRef f(PyNumber_Float(v));
            if (!f) return nullptr;
            d = PyFloat_AS_DOUBLE(f.get());
        } else {
            int64_t i = load_integer(s, cd->data);
            d = s->conv == Conv::UInt64 ? static_cast<double>(static_cast<uint64_t>(i))
                                        : static_cast<double>(i);
        }
    } else if (PyBytes_Check(v) && PyBytes_GET_SIZE(v) == 1) {
        d = static_cast<unsigned char>(PyBytes_AS_STRING(v)[0]);
    } else if (PyUnicode_Check(v) && PyUnicode_GET_LENGTH(v) == 1) {
        d = PyUnicode_READ_CHAR(v, 0);
    } else {
        d = PyFloat_AsDouble(v);
        if (d == -1.0 && PyErr_Occurred()) return nullptr;
    }
    CData* r = new_value(t);
    if (!r) return nullptr;
    if (t->conv == Conv::Float) {
        float f = static_cast<float>(d);
        memcpy(r->data, &f, sizeof f);
    } else if (t->conv == Conv::Double) {
        memcpy(r->data, &d, sizeof d);
    } else if (t->conv == Conv::LongDouble) {
        long double ld = d;
        memcpy(r->data, &ld, sizeof ld);
    } else {  // _Float128: a double is exact in it
        PyRef number(PyFloat_FromDouble(d));
        if (!number || !to_c(t, r->data, number.get())) {
            Py_DECREF(r);
            return nullptr;
        }
    }
    return reinterpret_cast<PyObject*>(r);
}

PyObject* cast(CType* t, PyObject* v) {
    if (is_module_function(v)) {  // an API-mode lib.f: cast as its function pointer
        CType* f = module_function_type(v);
        void* address = f ? module_function_address(v) : nullptr;
        if (!address) return nullptr;
        PyRef pointer(reinterpret_cast<PyObject*>(new_pointer(f, address)));
        return pointer ? cast(t, pointer.get()) : nullptr;
    }
    if (t->kind == Kind::Enum && t->size < 0) {  // `enum foo;`: 'unsigned int', as in cffi
        try {
            types::complete_type(t, false);
        } catch (...) {
            return cffix::translate_exception();
        }
    }
    switch (t->kind) {
        case Kind::Primitive:
        case Kind::Enum: {
            if (types::is_real_floating(t->conv)) return cast_to_float(t, v);
            if (t->conv == Conv::ComplexFloat || t->conv == Conv::ComplexDouble) {
                PyRef number = PyRef::borrow(v);
                if ((PyUnicode_Check(v) && PyUnicode_GET_LENGTH(v) == 1) ||
                    (PyBytes_Check(v) && PyBytes_GET_SIZE(v) == 1)) {  // a character's code
                    number = PyRef(PyFloat_FromDouble(
                        PyUnicode_Check(v) ? PyUnicode_READ_CHAR(v, 0)
                                           : static_cast<unsigned char>(PyBytes_AS_STRING(v)[0])));
                    if (!number) return nullptr;
                }
                PyRef r(reinterpret_cast<PyObject*>(new_value(t)));
                if (!r || !to_c(t, reinterpret_cast<CData*>(r.get())->data, number.get()))
                    return nullptr;
                return r.release();
            }
            if (t->conv == Conv::None) break;
            if (t->conv == Conv::Bool &&
                (PyFloat_Check(v) || PyLong_Check(v) ||  // an int's truth, beyond 64 bits too
                 (is_cdata(v) &&
                  types::is_real_floating(reinterpret_cast<CData*>(v)->ctype->conv)))) {
                int truth = PyObject_IsTrue(v);
                if (truth < 0) return nullptr;
                CData* r = new_value(t);
                if (r) *r->data = static_cast<char>(truth);
                return reinterpret_cast<PyObject*>(r);
            }
            uint64_t bits;
            if (!cast_source_integer(v, &bits, t)) return nullptr;
            CData* r = new_value(t);
            if (!r) return nullptr;
            store_truncated(t, r->data, bits);
            return reinterpret_cast<PyObject*>(r);
        }
        case Kind::Pointer:
        case Kind::Function:
        case Kind::Array: {
            if (t->kind == Kind::Array && t->length < 0) {  // no length to give it (as cffi)
                PyErr_Format(PyExc_TypeError, "cannot cast to ctype '%s'", t->cname.c_str());
                return nullptr;
            }
            uint64_t address;
            {
                if (is_cdata(v)) {
                    CType* s = reinterpret_cast<CData*>(v)->ctype;
                    if (types::is_real_floating(s->conv) || s->kind == Kind::Struct ||
                        s->kind == Kind::Union) {
                        PyErr_Format(PyExc_TypeError, "cannot cast ctype '%s' to ctype '%s'",
                                     s->cname.c_str(), t->cname.c_str());
                        return nullptr;
                    }
                } else if (t->kind == Kind::Pointer && t->item == types::file_type() &&
                           !PyLong_Check(v)) {
                    PyObject* file = file_pointer(t, v);
                    if (file != Py_NotImplemented) return file;
                    Py_DECREF(file);
                } else if (PyUnicode_Check(v) || PyBytes_Check(v)) {
                    PyErr_Format(PyExc_TypeError,
                                 "cannot cast %s to ctype '%s': an integer or "
                                 "a cdata pointer is required",
                                 Py_TYPE(v)->tp_name, t->cname.c_str());
                    return nullptr;
                }
                if (!cast_source_integer(v, &address, t)) return nullptr;
            }
            auto* data = reinterpret_cast<char*>(static_cast<uintptr_t>(address));
            // A pointer or array cast from an owner's memory keeps the owner, its release
            // and its bounds; from an integer (or a raw pointer) it is raw, as in C.
            CData* source = is_cdata(v) ? reinterpret_cast<CData*>(v) : nullptr;
            if (source &&
                (source->ctype->kind == Kind::Pointer || source->ctype->kind == Kind::Array))
                return reinterpret_cast<PyObject*>(new_derived(t, data, source));
            return reinterpret_cast<PyObject*>(new_pointer(t, data));
        }
        default: break;
    }
    PyErr_Format(PyExc_TypeError, "cannot cast to ctype '%s'", t->cname.c_str());
    return nullptr;
}

}  // namespace cffix::data
