// Values crossing a call boundary: the call-side companion of to_c/from_c (convert.h).
//
// A C call (ABI mode, and the generated API-mode modules) and a callback move the same
// values as an assignment does, plus a few rules that hold only in calls (cffi's):
// None for a NULL pointer, bytes for a `char *` (its own NUL-terminated buffer), a
// list/tuple (or a str, for wide characters) for `T *` through a temporary array that
// lives as long as the call. Results and callback arguments come back as from_c makes
// them, except that a struct by value is boxed in memory of its own (box_record).
//
// The fast companions below take the common exact cases of each conversion kind (an
// exact int for an integer, a float or int for a floating type, a cdata of the very
// pointer type, a struct cdata of the very type) with no Python call and no exception:
// false means "not that simple", and the caller then takes argument_to_c, which accepts
// everything and raises the right errors. Both read the one integer table (convert.h).
//
// CPython convention: false / null with a Python exception set, except the fast
// companions, which never set one.
#pragma once

#include <cstring>

#include "cffix_api.h"
#include "data/convert.h"

namespace cffix::data {

using types::Conv;

// Whether a `T *` parameter takes a bytes object (its buffer, NUL-terminated): for
// char-like T and void, as cffi allows.
inline bool takes_bytes(const CType* pointee) {
    return types::is_byte_like(pointee) || pointee->kind == types::Kind::Void;
}

// Objects made for one call (arrays built from lists, wide strings), released after it:
// the public header's cffix_temporaries (generated modules hold the same), owned here.
class CallTemporaries {
public:
    CallTemporaries() = default;
    CallTemporaries(const CallTemporaries&) = delete;
    CallTemporaries& operator=(const CallTemporaries&) = delete;
    ~CallTemporaries() { cffix_temporaries_clear(&temps_); }
    cffix_temporaries& get() { return temps_; }

private:
    cffix_temporaries temps_{};
};

// Keeps `ref` in `temps` until the call returns. False (MemoryError set) only when the
// overflow list cannot grow.
bool keep_temporary(cffix_temporaries& temps, PyRef ref);

// A call argument of parameter type `t` into `slot` (zeroed, at least max(8, size)
// bytes): what to_c accepts, plus the call-only rules above.
bool argument_to_c(CType* t, char* slot, PyObject* value, cffix_temporaries& temps);

// ffi.cast('FILE *', file) of a Python file object (cffi's ABI-mode feature): a pointer
// to the file's own FILE (the one its calls get, kept while the file object lives).
// Py_NotImplemented when `value` is no file; null with an exception set on failure.
PyObject* file_pointer(CType* t, PyObject* value);

// The value of an integer of type `t` at `src` as a register holds it: sign-extended for
// signed types (plain char and wchar_t as the platform has them), zero-extended
// otherwise. Callees may read a whole register, and compilers assume that small
// arguments and results arrive extended.
int64_t register_integer(const CType* t, const char* src);
// Whether `t` is an integer narrower than a register (register_integer changes it).
inline bool needs_widening(const CType* t) {
    switch (t->conv) {
        case Conv::Int8:
        case Conv::Int16:
        case Conv::Int32:
        case Conv::UInt8:
        case Conv::UInt16:
        case Conv::UInt32:
        case Conv::Bool:
        case Conv::Char:
        case Conv::WChar16:
        case Conv::WChar32: return true;
        default: return false;
    }
}

// A struct or union held by value outside any cdata (a call's result, a callback's
// argument in libffi's frame): an owning cdata with a copy, `<cdata 'struct s' owning
// N bytes>`, which the program may keep. Null with an exception set.
PyObject* box_record(CType* t, const char* src);

// A call's result or a callback's argument of type `t` at `src` (no alignment assumed)
// as Python sees it: None for void, from_c's value otherwise, with structs boxed. The
// common kinds inline (the call path's result); the others in from_c.
[[gnu::always_inline]] inline PyObject* value_from_c(CType* t, char* src) {
    switch (t->conv) {
        case Conv::Int32: {
            int32_t v;
            memcpy(&v, src, sizeof v);
            return PyLong_FromLong(v);
        }
        case Conv::Int64: {
            int64_t v;
            memcpy(&v, src, sizeof v);
            return PyLong_FromLongLong(v);
        }
        case Conv::Double: {
            double v;
            memcpy(&v, src, sizeof v);
            return PyFloat_FromDouble(v);
        }
        case Conv::Record: return box_record(t, src);
        case Conv::None:
            if (t->kind == types::Kind::Void) Py_RETURN_NONE;
            [[fallthrough]];
        default: return from_c(t, src, nullptr);
    }
}

// ---------------------------------------------------------------- fast companions

// A type as the public header sees it: its leading fields, which capi.cpp's
// compile-time checks keep equal to CType's.
inline const cffix_ctype* as_api_ctype(const CType* t) {
    return reinterpret_cast<const cffix_ctype*>(t);
}

// The fast companions of the public header (cffix_api.h), the one implementation that
// generated modules use too.
[[gnu::always_inline]] inline bool fast_integer(PyObject* v, IntRange range, int64_t* out) {
    return cffix_fast_integer(v, range, out);
}
[[gnu::always_inline]] inline bool fast_double(PyObject* v, double* out) {
    return cffix_fast_double(v, out);
}
[[gnu::always_inline]] inline bool fast_pointer(PyObject* v, const CType* t, bool bytes,
                                                void** out) {
    return cffix_fast_pointer(v, as_api_ctype(t), bytes, &CData_Type, &CDataOwned_Type, out);
}

// For a struct parameter of type `t`: the memory of a struct cdata of exactly that type
// that ffi.new owns (the object itself, or a view such as `p[0]` of such an owner), not
// released; else null.
[[gnu::always_inline]] inline const char* fast_record(PyObject* v, const CType* t) {
    return cffix_fast_record(v, as_api_ctype(t), &CDataView_Type, &CDataOwned_Type);
}

}  // namespace cffix::data
