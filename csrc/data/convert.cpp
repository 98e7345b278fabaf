// Python <-> C conversions. See convert.h.
#include "data/convert.h"

#include <complex>
#include <cstring>

#include "data/module_function.h"
#include "util/float128.h"

namespace cffix::data {

using types::Conv;
using types::FieldInfo;
using types::Kind;

namespace {

const char* type_name(PyObject* obj) { return Py_TYPE(obj)->tp_name; }

template <typename T>
T load(const char* src) {
    T v;
    memcpy(&v, src, sizeof v);
    return v;
}

template <typename T>
void store(char* dst, T v) {
    memcpy(dst, &v, sizeof v);
}

bool is_integer_conv(Conv c) {
    return (c >= Conv::Int8 && c <= Conv::UInt64) || c == Conv::Bool || c == Conv::Char;
}

bool is_unsigned_conv(Conv c) { return c >= Conv::UInt8 && c <= Conv::UInt64; }

bool overflow(PyObject* value, const CType* t) {
    PyErr_Format(PyExc_OverflowError, "integer %S does not fit '%s'", value, t->cname.c_str());
    return false;
}

// A Python int from an object with __int__ (as cffi: Decimal and numpy integers work;
// float is refused, not truncated). New reference, or null.
PyObject* index_of(PyObject* obj, const char* what) {
    if (PyLong_Check(obj)) return Py_NewRef(obj);
    if (PyFloat_Check(obj) || !Py_TYPE(obj)->tp_as_number || !Py_TYPE(obj)->tp_as_number->nb_int) {
        PyErr_Format(PyExc_TypeError, "an integer is required for '%s', not %s", what,
                     type_name(obj));
        return nullptr;
    }
    PyObject* r = PyNumber_Long(obj);
    if (r && !PyLong_CheckExact(r)) {
        PyObject* exact = _PyLong_Copy(reinterpret_cast<PyLongObject*>(r));
        Py_DECREF(r);
        r = exact;
    }
    return r;
}

}  // namespace

int64_t load_integer(const CType* t, const char* src) {
    switch (t->conv) {
        case Conv::Int8: return load<int8_t>(src);
        case Conv::Int16: return load<int16_t>(src);
        case Conv::Int32: return load<int32_t>(src);
        case Conv::Int64: return load<int64_t>(src);
        case Conv::UInt8:
        case Conv::Bool: return load<uint8_t>(src);
        case Conv::Char: return static_cast<unsigned char>(*src);
        case Conv::UInt16: return load<uint16_t>(src);
        case Conv::UInt32: return load<uint32_t>(src);
        case Conv::UInt64: return static_cast<int64_t>(load<uint64_t>(src));
        case Conv::WChar16: return load<uint16_t>(src);
        case Conv::WChar32: return load<int32_t>(src);
        default: return 0;
    }
}

long double load_wide_floating(const CType* t, const char* src) {
#if CFFIX_DISTINCT_FLOAT128
    if (t->conv == Conv::Float128) return load_float128(src);
#else
    (void)t;
#endif
    return load<long double>(src);
}

bool cdata_integer_value(CData* cd, int64_t* out, bool* is_unsigned) {
    CType* t = cd->ctype;
    if (t->kind != Kind::Primitive && t->kind != Kind::Enum) return false;
    if (!is_integer_conv(t->conv) && t->conv != Conv::WChar16 && t->conv != Conv::WChar32)
        return false;
    *out = load_integer(t, cd->data);
    *is_unsigned = t->conv == Conv::UInt64;
    return true;
}

bool as_int64(PyObject* obj, int64_t* out, const char* what) {
    if (PyLong_Check(obj)) {  // int and its subclasses (bool, IntEnum)
        int of;
        long long v = PyLong_AsLongLongAndOverflow(obj, &of);
        if (of) {
            PyErr_Format(PyExc_OverflowError, "integer %S does not fit '%s'", obj, what);
            return false;
        }
        if (v == -1 && PyErr_Occurred()) return false;
        *out = v;
        return true;
    }
    if (is_cdata(obj)) {
        bool is_unsigned;
        int64_t v;
        if (!cdata_integer_value(reinterpret_cast<CData*>(obj), &v, &is_unsigned)) {
            PyErr_Format(PyExc_TypeError, "an integer is required for '%s', not cdata '%s'", what,
                         reinterpret_cast<CData*>(obj)->ctype->cname.c_str());
            return false;
        }
        if (is_unsigned && v < 0) {
            PyErr_Format(PyExc_OverflowError, "integer %llu does not fit '%s'",
                         static_cast<unsigned long long>(v), what);
            return false;
        }
        *out = v;
        return true;
    }
    PyRef index(index_of(obj, what));
    if (!index) return false;
    return as_int64(index.get(), out, what);
}

bool as_uint64(PyObject* obj, uint64_t* out, const char* what) {
    if (PyLong_Check(obj)) {
        if (_PyLong_Sign(obj) < 0) {
            PyErr_Format(PyExc_OverflowError, "can't convert negative number %S to '%s'", obj,
                         what);
            return false;
        }
        unsigned long long v = PyLong_AsUnsignedLongLong(obj);
        if (v == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
            PyErr_Clear();
            PyErr_Format(PyExc_OverflowError, "integer %S does not fit '%s'", obj, what);
            return false;
        }
        *out = v;
        return true;
    }
    if (is_cdata(obj)) {
        bool is_unsigned;
        int64_t v;
        if (!cdata_integer_value(reinterpret_cast<CData*>(obj), &v, &is_unsigned)) {
            PyErr_Format(PyExc_TypeError, "an integer is required for '%s', not cdata '%s'", what,
                         reinterpret_cast<CData*>(obj)->ctype->cname.c_str());
            return false;
        }
        if (!is_unsigned && v < 0) {
            PyErr_Format(PyExc_OverflowError, "can't convert negative number %lld to '%s'",
                         static_cast<long long>(v), what);
            return false;
        }
        *out = static_cast<uint64_t>(v);
        return true;
    }
    PyRef index(index_of(obj, what));
    if (!index) return false;
    return as_uint64(index.get(), out, what);
}

// ---------------------------------------------------------------- primitives

// The low `size` bytes of an integer's two's-complement bits (the range was checked).
static void store_integer(char* dst, int64_t size, uint64_t bits) {
    switch (size) {
        case 1: store<uint8_t>(dst, static_cast<uint8_t>(bits)); break;
        case 2: store<uint16_t>(dst, static_cast<uint16_t>(bits)); break;
        case 4: store<uint32_t>(dst, static_cast<uint32_t>(bits)); break;
        default: store<uint64_t>(dst, bits);
    }
}

// Integers and _Bool, range-checked against the one integer table (convert.h).
static bool integer_to_c(CType* t, char* dst, PyObject* value) {
    const char* what = t->cname.c_str();
    IntRange range = integer_range(t->conv);
    if (is_unsigned_conv(t->conv) || t->conv == Conv::Bool) {
        uint64_t v;
        if (!as_uint64(value, &v, what)) return false;
        if (t->conv != Conv::UInt64 && v > static_cast<uint64_t>(range.hi))
            return overflow(value, t);
        store_integer(dst, t->size, v);
        return true;
    }
    int64_t v;
    if (!as_int64(value, &v, what)) return false;
    if (v < range.lo || v > range.hi) return overflow(value, t);
    store_integer(dst, t->size, static_cast<uint64_t>(v));
    return true;
}

static bool char_to_c(CType* t, char* dst, PyObject* value) {
    if (PyBytes_Check(value) && PyBytes_GET_SIZE(value) == 1) {
        *dst = PyBytes_AS_STRING(value)[0];
        return true;
    }
    if (is_cdata(value) && reinterpret_cast<CData*>(value)->ctype->conv == Conv::Char) {
        *dst = *reinterpret_cast<CData*>(value)->data;
        return true;
    }
    if (PyBytes_Check(value))
        PyErr_Format(PyExc_TypeError,
                     "initializer for ctype '%s' must be a bytes of length 1, not bytes of "
                     "length %zd",
                     t->cname.c_str(), PyBytes_GET_SIZE(value));
    else
        PyErr_Format(PyExc_TypeError,
                     "initializer for ctype '%s' must be a bytes of length 1, not %s",
                     t->cname.c_str(), type_name(value));
    return false;
}

static bool wchar_to_c(CType* t, char* dst, PyObject* value) {
    if (is_cdata(value)) {
        CData* cd = reinterpret_cast<CData*>(value);
        if (types::is_wide_char(cd->ctype)) {
            int64_t v = load_integer(cd->ctype, cd->data);
            if (t->conv == Conv::WChar16 && v > 0xFFFF) return overflow(value, t);
            if (t->conv == Conv::WChar16)
                store<uint16_t>(dst, static_cast<uint16_t>(v));
            else
                store<int32_t>(dst, static_cast<int32_t>(v));
            return true;
        }
    }
    if (!PyUnicode_Check(value) || PyUnicode_GET_LENGTH(value) != 1) {
        if (PyUnicode_Check(value))
            PyErr_Format(PyExc_TypeError,
                         "initializer for ctype '%s' must be a str of length 1, not str of "
                         "length %zd",
                         t->cname.c_str(), PyUnicode_GET_LENGTH(value));
        else
            PyErr_Format(PyExc_TypeError,
                         "initializer for ctype '%s' must be a str of length 1, not %s",
                         t->cname.c_str(), type_name(value));
        return false;
    }
    Py_UCS4 ch = PyUnicode_READ_CHAR(value, 0);
    if (t->conv == Conv::WChar16) {
        if (ch > 0xFFFF) {
            PyErr_Format(PyExc_TypeError,
                         "initializer for ctype '%s' must be a str of length 1, not a "
                         "character beyond U+FFFF (it needs two '%s')",
                         t->cname.c_str(), t->cname.c_str());
            return false;
        }
        store<uint16_t>(dst, static_cast<uint16_t>(ch));
    } else {
        store<uint32_t>(dst, ch);
    }
    return true;
}

// float()/double(): Python numbers, and cdata floats; integer cdata are refused as in cffi.
static bool double_of(CType* t, PyObject* value, double* out, long double* ld) {
    if (is_cdata(value)) {
        CData* cd = reinterpret_cast<CData*>(value);
        switch (cd->ctype->conv) {
            case Conv::Float: *out = load<float>(cd->data); break;
            case Conv::Double: *out = load<double>(cd->data); break;
            case Conv::LongDouble:
            case Conv::Float128:
                if (ld) {
                    *ld = load_wide_floating(cd->ctype, cd->data);
                    return true;
                }
                *out = static_cast<double>(load_wide_floating(cd->ctype, cd->data));
                break;
            default:
                PyErr_Format(PyExc_TypeError,
                             "initializer for ctype '%s' must be a number, "
                             "not cdata '%s'",
                             t->cname.c_str(), cd->ctype->cname.c_str());
                return false;
        }
        if (ld) *ld = *out;
        return true;
    }
    double v = PyFloat_AsDouble(value);
    if (v == -1.0 && PyErr_Occurred()) return false;
    *out = v;
    if (ld) *ld = v;
    return true;
}

static bool complex_to_c(CType* t, char* dst, PyObject* value) {
    Py_complex c = PyComplex_AsCComplex(value);
    if (c.real == -1.0 && PyErr_Occurred()) return false;
    if (t->conv == Conv::ComplexFloat)
        store(dst, std::complex<float>(static_cast<float>(c.real), static_cast<float>(c.imag)));
    else
        store(dst, std::complex<double>(c.real, c.imag));
    return true;
}

// ---------------------------------------------------------------- pointers

// May a cdata of type `src` be stored in a pointer of type `dst`? As cffi: the same
// type, an array of the pointee, or `void *` on either side (for data pointers).
bool pointer_compatible(const CType* dst, const CType* src) {
    if (src == dst) return true;
    if (dst->kind == Kind::Function)  // only from another function type's twin or void *
        return src->kind == Kind::Pointer && src->item->kind == Kind::Void;
    const CType* src_item =
        src->kind == Kind::Array || src->kind == Kind::Pointer ? src->item : nullptr;
    if (!src_item && src->kind != Kind::Function) return false;
    if (src_item == dst->item) return true;
    if (dst->item->kind == Kind::Void) return true;
    // char, signed char and unsigned char pointers mix freely, as in cffi.
    if (src_item && types::is_byte_like(src_item) && types::is_byte_like(dst->item)) return true;
    if (src_item && src_item->kind == Kind::Void) return true;
    return false;
}

static bool pointer_to_c(CType* t, char* dst, PyObject* value) {
    if (is_cdata(value)) {
        CData* cd = reinterpret_cast<CData*>(value);
        Kind k = cd->ctype->kind;
        if (k == Kind::Pointer || k == Kind::Array || k == Kind::Function) {
            if (!pointer_compatible(t, cd->ctype)) {
                PyErr_Format(PyExc_TypeError,
                             "initializer for ctype '%s' must be a pointer to same type, not "
                             "cdata '%s'",
                             t->cname.c_str(), cd->ctype->cname.c_str());
                return false;
            }
            if (check_released(cd)) return false;
            store<void*>(dst, cd->data);
            return true;
        }
        PyErr_Format(PyExc_TypeError,
                     "initializer for ctype '%s' must be a cdata pointer, not cdata '%s'",
                     t->cname.c_str(), cd->ctype->cname.c_str());
        return false;
    }
    if (is_module_function(value)) {  // an API-mode lib.f: its function pointer
        CType* f = module_function_type(value);
        if (!f) return false;
        if (!pointer_compatible(t, f)) {
            PyErr_Format(PyExc_TypeError,
                         "initializer for ctype '%s' must be a pointer to same type, not "
                         "function of type '%s'",
                         t->cname.c_str(), f->cname.c_str());
            return false;
        }
        void* address = module_function_address(value);
        if (!address) return false;
        store<void*>(dst, address);
        return true;
    }
    PyErr_Format(PyExc_TypeError, "initializer for ctype '%s' must be a cdata pointer, not %s",
                 t->cname.c_str(), type_name(value));
    return false;
}

// ---------------------------------------------------------------- aggregates

Py_ssize_t wide_length(const CType* item, PyObject* str) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(str);
    if (item->conv != Conv::WChar16) return n;
    Py_ssize_t units = n;  // characters beyond U+FFFF take a surrogate pair
    for (Py_ssize_t i = 0; i < n; ++i)
        if (PyUnicode_READ_CHAR(str, i) > 0xFFFF) ++units;
    return units;
}

void write_wide(const CType* item, char* dst, PyObject* str) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(str);
    for (Py_ssize_t i = 0; i < n; ++i) {
        Py_UCS4 ch = PyUnicode_READ_CHAR(str, i);
        if (item->conv == Conv::WChar32) {
            store<uint32_t>(dst, ch);
            dst += 4;
        } else if (ch > 0xFFFF) {
            ch -= 0x10000;
            store<uint16_t>(dst, static_cast<uint16_t>(0xD800 + (ch >> 10)));
            store<uint16_t>(dst + 2, static_cast<uint16_t>(0xDC00 + (ch & 0x3FF)));
            dst += 4;
        } else {
            store<uint16_t>(dst, static_cast<uint16_t>(ch));
            dst += 2;
        }
    }
}

// Items of a list/tuple, fetched one at a time with a reference held, re-checking the
// length each time: an item's __index__ may change the list while we convert it.
template <typename Fn>
static bool for_each_item(PyObject* seq, Fn&& fn) {
    for (Py_ssize_t i = 0;; ++i) {
        Py_ssize_t n = PyList_Check(seq) ? PyList_GET_SIZE(seq) : PyTuple_GET_SIZE(seq);
        if (i >= n) return true;
        PyRef item =
            PyRef::borrow(PyList_Check(seq) ? PyList_GET_ITEM(seq, i) : PyTuple_GET_ITEM(seq, i));
        if (!fn(i, item.get())) return false;
    }
}

static bool count_mismatch(Py_ssize_t length, Py_ssize_t n) {
    PyErr_Format(PyExc_ValueError, "need %zd values to unpack, got %zd", length, n);
    return false;
}

// TypeError: an aggregate's initializer of the wrong kind, as cffi words it.
static bool wrong_initializer(const CType* t, const char* expected, PyObject* value) {
    if (is_cdata(value))
        PyErr_Format(PyExc_TypeError, "initializer for ctype '%s' must be %s, not cdata '%s'",
                     t->cname.c_str(), expected,
                     reinterpret_cast<CData*>(value)->ctype->cname.c_str());
    else
        PyErr_Format(PyExc_TypeError, "initializer for ctype '%s' must be %s, not %s",
                     t->cname.c_str(), expected, type_name(value));
    return false;
}

// Whether bytes[0:n] holds a byte other than 0 and 1 (not a _Bool).
static bool has_non_bool_byte(const char* bytes, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; ++i)
        if (static_cast<unsigned char>(bytes[i]) > 1) return true;
    return false;
}

bool array_to_c(CType* t, char* dst, PyObject* value, Py_ssize_t length, ArrayFill fill) {
    CType* item = t->item;
    bool exact = fill == ArrayFill::Exact;
    if (PyList_Check(value) || PyTuple_Check(value)) {
        Py_ssize_t n = PySequence_Fast_GET_SIZE(value);
        if (exact && n != length) return count_mismatch(length, n);
        if (length >= 0 && n > length) {
            PyErr_Format(PyExc_IndexError, "too many initializers for '%s' (got %zd)",
                         t->cname.c_str(), n);
            return false;
        }
        bool ok = for_each_item(value, [&](Py_ssize_t i, PyObject* v) {
            if (length >= 0 && i >= length) {
                PyErr_Format(PyExc_IndexError, "too many initializers for '%s'", t->cname.c_str());
                return false;
            }
            return to_c(item, dst + i * item->size, v);
        });
        // An item's conversion may have shrunk the list: then not every item was written.
        if (ok && exact && PySequence_Fast_GET_SIZE(value) != length)
            return count_mismatch(length, PySequence_Fast_GET_SIZE(value));
        return ok;
    }
    // Initializers copy bytes into any byte-like items; a slice only into `char` ones, and
    // converts bytes for (un)signed char item by item, as ints (as cffi: b"\xff" is 255,
    // too large for a signed char).
    // _Bool arrays take bytes of \x00 and \x01 too (as cffi).
    bool takes_bytes =
        exact ? item->conv == Conv::Char : types::is_byte_like(item) || item->conv == Conv::Bool;
    if (takes_bytes && (PyBytes_Check(value) || (exact && PyByteArray_Check(value)))) {
        bool is_bytes = PyBytes_Check(value);
        Py_ssize_t n = is_bytes ? PyBytes_GET_SIZE(value) : PyByteArray_GET_SIZE(value);
        if (item->conv == Conv::Bool &&
            has_non_bool_byte(is_bytes ? PyBytes_AS_STRING(value) : PyByteArray_AS_STRING(value),
                              n)) {
            PyErr_SetString(PyExc_ValueError, "an array of _Bool can only contain \\x00 or \\x01");
            return false;
        }
        if (exact && n != length) {
            PyErr_Format(PyExc_ValueError, "need a bytes of length %zd, got %zd", length, n);
            return false;
        }
        if (length >= 0 && n > length) {
            PyErr_Format(PyExc_IndexError,
                         "initializer bytes is too long for '%s' (got %zd characters)",
                         t->cname.c_str(), n);
            return false;
        }
        memcpy(dst, is_bytes ? PyBytes_AS_STRING(value) : PyByteArray_AS_STRING(value),
               static_cast<size_t>(n));
        if (n < length) dst[n] = '\0';
        return true;
    }
    if (types::is_wide_char(item) && PyUnicode_Check(value)) {
        Py_ssize_t n = wide_length(item, value);
        if (exact && n != length) return count_mismatch(length, n);
        if (length >= 0 && n > length) {
            PyErr_Format(PyExc_IndexError,
                         "initializer string is too long for '%s' (got %zd characters)",
                         t->cname.c_str(), n);
            return false;
        }
        write_wide(item, dst, value);
        if (n < length) memset(dst + n * item->size, 0, static_cast<size_t>(item->size));
        return true;
    }
    if (is_cdata(value)) {
        // An initializer copies an array of the very same type (as cffi: 'int[4]' from an
        // 'int[4]', not from an 'int[3]' or 'int[]'); a slice takes one of its length.
        CData* cd = reinterpret_cast<CData*>(value);
        bool same = exact ? cd->ctype->kind == Kind::Array && cd->ctype->item == item
                          : cd->ctype == t && cd->length >= 0 && cd->length <= length;
        if (same) {
            if (exact && cd->length != length) return count_mismatch(length, cd->length);
            if (check_released(cd)) return false;
            memmove(dst, cd->data, static_cast<size_t>(cd->length * item->size));
            return true;
        }
    }
    if (exact) {  // any other iterable, item by item (as cffi): generators, other cdata arrays
        PyRef items(PySequence_List(value));
        return items && array_to_c(t, dst, items.get(), length, fill);
    }
    const char* expected = types::is_byte_like(item) || item->conv == Conv::Bool
                               ? "a bytes or list or tuple"
                           : types::is_wide_char(item) ? "a str or list or tuple"
                                                       : "a list or tuple";
    return wrong_initializer(t, expected, value);
}

bool flexible_to_c(const FieldInfo& f, char* base, PyObject* value, Py_ssize_t avail) {
    CType* item = f.type->item;
    Py_ssize_t capacity = avail > f.offset && item->size > 0 ? (avail - f.offset) / item->size : 0;
    if (PyLong_Check(value) || (!PyFloat_Check(value) && PyIndex_Check(value))) {
        // A length (for ffi.new, which sized the memory with it): nothing to write.
        Py_ssize_t n = PyNumber_AsSsize_t(value, PyExc_OverflowError);
        if (n == -1 && PyErr_Occurred()) return false;
        if (n < 0 || n > capacity) {
            PyErr_Format(PyExc_IndexError,
                         "flexible array member '%s' has room for %zd items, "
                         "not %zd",
                         f.name.c_str(), capacity, n);
            return false;
        }
        return true;
    }
    return array_to_c(f.type, base + f.offset, value, capacity);
}

// `avail`: the bytes from `base` on that the object may use (more than the record's size
// when it ends with a flexible array member, directly or in its last field).
static bool field_to_c(const CType* record, const FieldInfo& f, char* base, PyObject* value,
                       Py_ssize_t avail) {
    if (f.is_bitfield()) return write_bitfield(f, base, value);
    if (f.is_flexible()) return flexible_to_c(f, base, value, avail);
    if (&f == &record->fields.back() && types::has_flexible_member(record) &&
        avail > f.offset + f.type->size)
        return to_c_sized(f.type, base + f.offset, value, avail - f.offset);
    return to_c(f.type, base + f.offset, value);
}

// The fields a positional initializer fills, in order: every field but those of the later
// members of unions (FF_IGNORE_IN_CTOR, types/record.cpp). `*pos` walks t->fields.
static const FieldInfo* next_ctor_field(const CType* t, size_t* pos) {
    while (*pos < t->fields.size()) {
        const FieldInfo& f = t->fields[(*pos)++];
        if (f.flags & types::FF_IGNORE_IN_CTOR) continue;
        return &f;
    }
    return nullptr;
}

static Py_ssize_t ctor_field_count(const CType* t) {
    Py_ssize_t n = 0;
    for (size_t pos = 0; next_ctor_field(t, &pos);) ++n;
    return n;
}

PyObject* field_initializer(CType* record, PyObject* init, const FieldInfo& f) {
    if (PyList_Check(init) || PyTuple_Check(init)) {
        Py_ssize_t n = PySequence_Fast_GET_SIZE(init);
        size_t pos = 0;
        for (Py_ssize_t i = 0; i < n; ++i) {
            const FieldInfo* slot = next_ctor_field(record, &pos);
            if (!slot) break;
            if (slot == &f) return PySequence_Fast_GET_ITEM(init, i);
        }
        return nullptr;
    }
    if (PyDict_Check(init)) return PyDict_GetItemString(init, f.name.c_str());
    return nullptr;
}

static bool record_to_c(CType* t, char* dst, PyObject* value, Py_ssize_t avail) {
    if (is_cdata(value) && reinterpret_cast<CData*>(value)->ctype == t) {
        CData* cd = reinterpret_cast<CData*>(value);
        if (check_released(cd)) return false;
        memmove(dst, cd->data, static_cast<size_t>(t->size));
        return true;
    }
    if (t->size < 0 || !(t->flags & types::RF_COMPLETE)) {
        PyErr_Format(PyExc_TypeError, "ctype '%s' is of unknown size", t->cname.c_str());
        return false;
    }
    if (PyList_Check(value) || PyTuple_Check(value)) {
        Py_ssize_t n = PySequence_Fast_GET_SIZE(value);
        if (n > ctor_field_count(t)) {
            PyErr_Format(PyExc_ValueError, "too many initializers for '%s' (got %zd)",
                         t->cname.c_str(), n);
            return false;
        }
        size_t pos = 0;
        return for_each_item(value, [&](Py_ssize_t, PyObject* v) {
            const FieldInfo* f = next_ctor_field(t, &pos);
            if (!f) {
                PyErr_Format(PyExc_ValueError, "too many initializers for '%s'", t->cname.c_str());
                return false;
            }
            return field_to_c(t, *f, dst, v, avail);
        });
    }
    if (PyDict_Check(value)) {
        PyRef items(PyDict_Items(value));  // a snapshot: converting may run Python code
        if (!items) return false;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items.get()); ++i) {
            PyObject* pair = PyList_GET_ITEM(items.get(), i);
            PyObject* key = PyTuple_GET_ITEM(pair, 0);
            if (!PyUnicode_Check(key)) {
                PyErr_SetObject(PyExc_KeyError, key);
                return false;
            }
            const FieldInfo* found = types::find_field(t, key);
            if (!found) {
                if (!PyErr_Occurred()) PyErr_SetObject(PyExc_KeyError, key);
                return false;
            }
            if (!field_to_c(t, *found, dst, PyTuple_GET_ITEM(pair, 1), avail)) return false;
        }
        return true;
    }
    const char* expected = "a list or tuple or dict or struct-cdata";
    return wrong_initializer(t, expected, value);
}

// ---------------------------------------------------------------- entry points

bool to_c(CType* t, char* dst, PyObject* value) {
    switch (t->conv) {
        case Conv::Int8:
        case Conv::Int16:
        case Conv::Int32:
        case Conv::Int64:
        case Conv::UInt8:
        case Conv::UInt16:
        case Conv::UInt32:
        case Conv::UInt64:
        case Conv::Bool: return integer_to_c(t, dst, value);
        case Conv::Char: return char_to_c(t, dst, value);
        case Conv::WChar16:
        case Conv::WChar32: return wchar_to_c(t, dst, value);
        case Conv::Float: {
            double v;
            if (!double_of(t, value, &v, nullptr)) return false;
            store<float>(dst, static_cast<float>(v));
            return true;
        }
        case Conv::Double: {
            double v;
            if (!double_of(t, value, &v, nullptr)) return false;
            store<double>(dst, v);
            return true;
        }
        case Conv::LongDouble: {
            double v;
            long double ld;
            if (!double_of(t, value, &v, &ld)) return false;
            store<long double>(dst, ld);
            return true;
        }
        case Conv::Float128: {
#if CFFIX_DISTINCT_FLOAT128
            if (is_cdata(value) && reinterpret_cast<CData*>(value)->ctype->conv == Conv::Float128) {
                memcpy(dst, reinterpret_cast<CData*>(value)->data, sizeof(Float128));  // exact
                return true;
            }
            double v;
            long double ld;
            if (!double_of(t, value, &v, &ld)) return false;
            store_float128(dst, ld);
            return true;
#else
            break;
#endif
        }
        case Conv::ComplexFloat:
        case Conv::ComplexDouble: return complex_to_c(t, dst, value);
        case Conv::Pointer:
        case Conv::Function: return pointer_to_c(t, dst, value);
        case Conv::Record: return record_to_c(t, dst, value, t->size);
        case Conv::Array: return array_to_c(t, dst, value, t->length, ArrayFill::Prefix);
        case Conv::None: break;
    }
    PyErr_Format(PyExc_TypeError, "cannot store a value of ctype '%s'", t->cname.c_str());
    return false;
}

bool to_c_sized(CType* t, char* dst, PyObject* value, Py_ssize_t avail) {
    if (t->conv == Conv::Record) return record_to_c(t, dst, value, avail);
    return to_c(t, dst, value);
}

PyObject* from_c(CType* t, char* src, PyObject* owner) {
    switch (t->conv) {
        case Conv::Int8: return PyLong_FromLong(load<int8_t>(src));
        case Conv::Int16: return PyLong_FromLong(load<int16_t>(src));
        case Conv::Int32: return PyLong_FromLong(load<int32_t>(src));
        case Conv::Int64: return PyLong_FromLongLong(load<int64_t>(src));
        case Conv::UInt8: return PyLong_FromLong(load<uint8_t>(src));
        case Conv::UInt16: return PyLong_FromLong(load<uint16_t>(src));
        case Conv::UInt32: return PyLong_FromUnsignedLong(load<uint32_t>(src));
        case Conv::UInt64: return PyLong_FromUnsignedLongLong(load<uint64_t>(src));
        case Conv::Bool: return PyBool_FromLong(*src != 0);
        case Conv::Char: return PyBytes_FromStringAndSize(src, 1);
        case Conv::WChar16: {
            uint16_t ch = load<uint16_t>(src);
            return PyUnicode_FromOrdinal(ch);
        }
        case Conv::WChar32: {
            uint32_t ch = load<uint32_t>(src);
            if (ch > 0x10FFFF) {
                PyErr_Format(PyExc_ValueError, "%s out of range for unicode: 0x%x",
                             t->cname.c_str(), ch);
                return nullptr;
            }
            return PyUnicode_FromOrdinal(static_cast<int>(ch));
        }
        case Conv::Float: return PyFloat_FromDouble(load<float>(src));
        case Conv::Double: return PyFloat_FromDouble(load<double>(src));
        case Conv::LongDouble:
        case Conv::Float128: {  // a cdata, as cffi gives for long double: no precision lost
            CData* cd = new_value(t);
            if (cd) memcpy(cd->data, src, static_cast<size_t>(t->size));
            return reinterpret_cast<PyObject*>(cd);
        }
        case Conv::ComplexFloat: {
            auto c = load<std::complex<float>>(src);
            return PyComplex_FromDoubles(c.real(), c.imag());
        }
        case Conv::ComplexDouble: {
            auto c = load<std::complex<double>>(src);
            return PyComplex_FromDoubles(c.real(), c.imag());
        }
        case Conv::Pointer:
        case Conv::Function: return reinterpret_cast<PyObject*>(new_pointer(t, load<void*>(src)));
        case Conv::Record:
        case Conv::Array: return reinterpret_cast<PyObject*>(new_view(t, src, owner, t->length));
        case Conv::None: break;
    }
    PyErr_Format(PyExc_TypeError, "cannot read a value of ctype '%s'", t->cname.c_str());
    return nullptr;
}

// ---------------------------------------------------------------- bitfields

static uint64_t load_window(const char* p, int nbytes) {
    uint64_t v = 0;
    memcpy(&v, p, static_cast<size_t>(std::min(nbytes, 8)));
    return v;  // little-endian hosts only (x86-64, AArch64)
}

PyObject* read_bitfield(const FieldInfo& f, const char* base) {
    const char* p = base + f.offset;
    int nbytes = (f.bitshift + f.bitsize + 7) / 8;
    // Up to 9 bytes: a 64-bit field at bitshift 1..7 in a packed record.
    unsigned __int128 window = load_window(p, nbytes);
    if (nbytes > 8)
        window |= static_cast<unsigned __int128>(static_cast<unsigned char>(p[8])) << 64;
    uint64_t raw = static_cast<uint64_t>(window >> f.bitshift);
    uint64_t mask = f.bitsize == 64 ? ~0ULL : ((1ULL << f.bitsize) - 1);
    raw &= mask;
    // A plain `char` bit field holds 0..2^n-1, as cffi's (its `char` is a byte: int() of
    // a char cdata is 0..255), whatever the platform's char signedness.
    bool is_signed = f.type->conv >= types::Conv::Int8 && f.type->conv <= types::Conv::Int64;
    if (f.type->conv == Conv::Bool) return PyBool_FromLong(raw != 0);
    if (is_signed && f.bitsize < 64 && (raw >> (f.bitsize - 1)) & 1) raw |= ~mask;
    if (is_signed) return PyLong_FromLongLong(static_cast<int64_t>(raw));
    return PyLong_FromUnsignedLongLong(raw);
}

bool write_bitfield(const FieldInfo& f, char* base, PyObject* value) {
    bool is_signed = f.type->conv >= types::Conv::Int8 && f.type->conv <= types::Conv::Int64;
    uint64_t mask = f.bitsize == 64 ? ~0ULL : ((1ULL << f.bitsize) - 1);
    uint64_t bits;
    if (is_signed) {
        int64_t v;
        if (!as_int64(value, &v, f.type->cname.c_str())) return false;
        int64_t lo = f.bitsize == 64 ? INT64_MIN : -(int64_t{1} << (f.bitsize - 1));
        int64_t hi = f.bitsize == 64 ? INT64_MAX : (int64_t{1} << (f.bitsize - 1)) - 1;
        if (f.bitsize == 1) hi = 1;  // as cffi: `int x:1 = 1` stores the bit (reads back -1)
        if (v < lo || v > hi) {
            PyErr_Format(PyExc_OverflowError,
                         "value %lld outside the range allowed by the bit field width: "
                         "%lld <= x <= %lld",
                         static_cast<long long>(v), static_cast<long long>(lo),
                         static_cast<long long>(hi));
            return false;
        }
        bits = static_cast<uint64_t>(v) & mask;
    } else {
        uint64_t v;
        if (!as_uint64(value, &v, f.type->cname.c_str())) return false;
        if (v > mask) {
            PyErr_Format(PyExc_OverflowError,
                         "value %llu outside the range allowed by the bit field width: "
                         "0 <= x <= %llu",
                         static_cast<unsigned long long>(v), static_cast<unsigned long long>(mask));
            return false;
        }
        bits = v;
    }
    char* p = base + f.offset;
    int nbytes = (f.bitshift + f.bitsize + 7) / 8;
    unsigned __int128 window = load_window(p, nbytes);
    if (nbytes > 8)
        window |= static_cast<unsigned __int128>(static_cast<unsigned char>(p[8])) << 64;
    unsigned __int128 wide_mask = static_cast<unsigned __int128>(mask) << f.bitshift;
    window = (window & ~wide_mask) | (static_cast<unsigned __int128>(bits) << f.bitshift);
    uint64_t low = static_cast<uint64_t>(window);
    memcpy(p, &low, static_cast<size_t>(std::min(nbytes, 8)));
    if (nbytes > 8) p[8] = static_cast<char>(static_cast<uint64_t>(window >> 64));
    return true;
}

}  // namespace cffix::data
