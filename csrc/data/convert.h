// Conversions between Python values and C objects, in one place (as LuaJIT's
// lj_cconv.c): ffi.new and custom allocators' initializers (new.cpp), item, slice and
// field access (index.cpp, field.cpp), global variables (lib/), and call arguments and
// results and callbacks, through the call rules and fast companions that argument.h
// builds on these functions (API-mode modules next). ffi.cast's truncating C casts are
// in cast.cpp, on load_integer and to_c.
//
// CPython convention: false / null with a Python exception set on failure. Error
// messages follow cffi's where they are good ("initializer for ctype 'char' must be a
// bytes of length 1, not str", "integer 300 does not fit 'unsigned char'").
#pragma once

#include "cffix_api.h"
#include "data/cdata.h"

namespace cffix::data {

// Writes `value` into the C object of type `t` at `dst`. Accepts what cffi accepts for
// an assignment or initializer: numbers for primitives, cdata of a compatible type
// (pointers take no None, as in cffi), lists/tuples/dicts for structs and arrays,
// bytes/str for char/wchar arrays. On error, `dst` may be partly written.
bool to_c(CType* t, char* dst, PyObject* value);

// The Python value of the C object of type `t` at `src`: int/float/bytes/str/bool for
// primitives (a cdata for long double), a cdata pointer for pointers, and for structs,
// unions and arrays a view on `src` that keeps `owner` alive.
PyObject* from_c(CType* t, char* src, PyObject* owner);

// The values a Python int must lie in to become an integer of a conversion kind: the
// one integer table (to_c's range checks and the call path's fast companion read it). Empty (lo >
// hi) for the kinds that take no plain int (char, wide chars, non-integers). For UInt64 `hi` is
// INT64_MAX: larger values are checked as unsigned on their own path.
using IntRange = cffix_int_range;  // the public header's (cffix_api.h)
inline constexpr IntRange integer_range(types::Conv c) {
    switch (c) {
        case types::Conv::Int8: return {INT8_MIN, INT8_MAX};
        case types::Conv::Int16: return {INT16_MIN, INT16_MAX};
        case types::Conv::Int32: return {INT32_MIN, INT32_MAX};
        case types::Conv::Int64: return {INT64_MIN, INT64_MAX};
        case types::Conv::UInt8: return {0, UINT8_MAX};
        case types::Conv::UInt16: return {0, UINT16_MAX};
        case types::Conv::UInt32: return {0, UINT32_MAX};
        case types::Conv::UInt64: return {0, INT64_MAX};
        case types::Conv::Bool: return {0, 1};
        default: return {1, 0};
    }
}

// Integer conversions shared by the converters and index arithmetic. `what` names the
// target in error messages (a ctype name). Accept int, objects with __int__ (Decimal,
// numpy integers: as cffi) and integer-like cdata; reject float and others with
// TypeError.
bool as_int64(PyObject* obj, int64_t* out, const char* what);
bool as_uint64(PyObject* obj, uint64_t* out, const char* what);

// Reads/writes an integer of `t`'s conversion kind (Int8..UInt64, Bool, Char, enums).
int64_t load_integer(const CType* t, const char* src);
// The value of a long double or _Float128 (types::is_wide_floating) at `src` as a long
// double (exact for long double; a _Float128 rounds to x87 extended precision).
long double load_wide_floating(const CType* t, const char* src);

// Bitfields (layout rule in types/layout.h: the field spans bits
// [bitshift, bitshift + bitsize) of the little-endian integer of the bytes at offset).
PyObject* read_bitfield(const types::FieldInfo& f, const char* base);
bool write_bitfield(const types::FieldInfo& f, char* base, PyObject* value);

// to_c for an object with `avail` bytes of memory at dst (more than sizeof(t) when a
// struct ends with a flexible array member: its items may fill the rest).
bool to_c_sized(CType* t, char* dst, PyObject* value, Py_ssize_t avail);

// Writes a flexible array member's items at base + f.offset, within `avail` bytes from
// base: what array_to_c takes, or an int (a length ffi.new sized the memory with: checked
// against the room, nothing written).
bool flexible_to_c(const types::FieldInfo& f, char* base, PyObject* value, Py_ssize_t avail);

// The value a struct initializer gives field `f` of `record` (a list/tuple in the order
// positional initializers fill fields, or a dict by name): borrowed, or null (no
// exception) when it gives none. ffi.new sizes a flexible array member with it.
PyObject* field_initializer(CType* record, PyObject* init, const types::FieldInfo& f);

// Writes `value` into `length` items of t->item at dst: the array code behind to_c for
// arrays (with t->length), ffi.new of `T[]` (the length from the initializer), flexible
// array members (the room there is) and slice assignment (`t` may then be the sliced
// pointer type: only its item matters).
//   Prefix (initializers): a list/tuple of at most `length` items, bytes (byte-like items)
//     or str (wide chars) of at most `length` units, NUL-terminated when there is room, or
//     a cdata array of the same item type and no more items. The rest is left as it is.
//   Exact (slice assignment): exactly `length` items, else ValueError; the same values,
//     and also bytearray, and any other iterable item by item (as cffi: also bytes for
//     signed/unsigned char, as ints); no terminator.
// `length` < 0 means unknown: no bound (Prefix only).
enum class ArrayFill { Prefix, Exact };
bool array_to_c(CType* t, char* dst, PyObject* value, Py_ssize_t length,
                ArrayFill fill = ArrayFill::Prefix);

// char16_t/char32_t/wchar_t arrays from str: length in units (surrogate pairs for
// char16_t), and the writing itself (no terminator).
Py_ssize_t wide_length(const CType* item, PyObject* str);
void write_wide(const CType* item, char* dst, PyObject* str);

// May a cdata of type `src` (a pointer, array or function) be stored in a pointer of type
// `dst`? As cffi: the same type, an array of the pointee, or `void *` on either side (for
// data pointers); char, signed char and unsigned char pointers mix.
bool pointer_compatible(const CType* dst, const CType* src);

// The value of an integer-like cdata (primitive integer, char, bool, enum), for int().
bool cdata_integer_value(CData* cd, int64_t* out, bool* is_unsigned);

}  // namespace cffix::data
