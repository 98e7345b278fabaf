// known_extent, ffi.string, ffi.unpack, ffi.memmove and ffi.addressof: see memory.h.
#include "data/memory.h"

#include <cstring>

#include "data/convert.h"
#include "data/ownership.h"
#include "types/path.h"
#include "util/errors.h"

namespace cffix::data {

using types::Conv;
using types::is_record;
using types::Kind;

// A struct ending in a flexible array member (`int d[];`) may extend past its size: then
// only the owner's memory tells where it ends.
static Py_ssize_t record_extent(CData* cd) {
    CType* t = cd->ctype;
    if (!types::has_flexible_member(t)) return t->size;
    PyObject* owner = memory_owner(cd);
    if (!owner || owner == reinterpret_cast<PyObject*>(cd) || !is_cdata(owner)) return -1;
    CData* o = reinterpret_cast<CData*>(owner);
    Py_ssize_t owner_extent = known_extent(o);
    if (owner_extent < 0 || cd->data < o->data || cd->data > o->data + owner_extent) return -1;
    return o->data + owner_extent - cd->data;
}

// A CD_DERIVED view's root memory: [*lo, *lo + size), size -1 when unknown.
static Py_ssize_t root_memory(CData* cd, char** lo) {
    CData* root = reinterpret_cast<CData*>(static_cast<CDataView*>(cd)->owner);
    *lo = root->data;
    return known_extent(root);
}

// The bytes of [lo, lo + size) at and after `address` (none when it lies outside).
static Py_ssize_t bytes_from(const char* lo, Py_ssize_t size, const char* address) {
    uintptr_t rel = reinterpret_cast<uintptr_t>(address) - reinterpret_cast<uintptr_t>(lo);
    return rel <= static_cast<uintptr_t>(size) ? size - static_cast<Py_ssize_t>(rel) : 0;
}

// The memory an ffi.gc cdata (or custom allocation) shares with its origin, when the
// origin knows it and starts at the same address.
static Py_ssize_t gc_extent(CData* cd) {
    PyObject* origin = gc_origin(cd);
    if (!origin || !is_cdata(origin)) return -1;
    CData* o = reinterpret_cast<CData*>(origin);
    return o->data == cd->data ? known_extent(o) : -1;
}

Py_ssize_t known_extent(CData* cd) {
    CType* t = cd->ctype;
    switch (t->kind) {
        case Kind::Array: {
            if (cd->length < 0 || t->item->size < 0) return -1;
            Py_ssize_t own = cd->length * t->item->size;
            if (!(cd->flags & CD_DERIVED)) return own;
            // An array cast from an owner's memory: no more than the memory holds.
            char* lo;
            Py_ssize_t size = root_memory(cd, &lo);
            if (size < 0) return own;
            Py_ssize_t there = bytes_from(lo, size, cd->data);
            return there < own ? there : own;
        }
        case Kind::Pointer: {
            if (cd->flags & CD_OWNED_POINTER) return owned_size(cd);
            if (cd->flags & CD_DERIVED) {
                char* lo;
                Py_ssize_t size = root_memory(cd, &lo);
                return size < 0 ? -1 : bytes_from(lo, size, cd->data);
            }
            if (is_from_buffer(cd)) return from_buffer_size(cd);
            if (is_gc_cdata(reinterpret_cast<PyObject*>(cd))) return gc_extent(cd);
            if (Py_IS_TYPE(cd, &CDataHandle_Type)) return kHandleBytes;
            // Library globals (ffi.addressof(lib, "x")): `length` items from `data` on.
            int64_t item_size = t->item->size;
            if (Py_TYPE(cd) == &CDataView_Type) return item_size <= 0 ? 0 : cd->length * item_size;
            return -1;
        }
        case Kind::Struct:
        case Kind::Union: return record_extent(cd);
        case Kind::Primitive:
        case Kind::Enum: return t->size;
        default: return -1;
    }
}

// The memory `cd` points into, [*lo, *lo + size): a derived pointer's root memory (its
// address may lie anywhere in it, or outside), else what known_extent knows from `data`
// on. -1: unknown.
static Py_ssize_t known_memory(CData* cd, char** lo) {
    if (cd->flags & CD_DERIVED) return root_memory(cd, lo);
    *lo = cd->data;
    return known_extent(cd);
}

// Whether the `nbytes` at `address` lie inside [lo, lo + size).
static bool inside(const char* lo, Py_ssize_t size, const char* address, Py_ssize_t nbytes) {
    uintptr_t rel = reinterpret_cast<uintptr_t>(address) - reinterpret_cast<uintptr_t>(lo);
    return nbytes <= size && rel <= static_cast<uintptr_t>(size - nbytes);
}

// floor(a / b) for b > 0.
static __int128 floor_div(__int128 a, __int128 b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

bool check_item_in_memory(CData* cd, char* address, Py_ssize_t item_size, Py_ssize_t index) {
    char* lo;
    Py_ssize_t size = known_memory(cd, &lo);
    if (size < 0 || inside(lo, size, address, item_size)) return true;
    const char* name = cd->ctype->cname.c_str();
    if (item_size <= 0) {  // items of size 0 (empty structs): no index range to name
        PyErr_Format(PyExc_IndexError,
                     "index %zd out of bounds for cdata '%s': it points outside its %zd bytes of "
                     "memory",
                     index, name, size);
        return false;
    }
    // Which indexes would have been inside: [first, last].
    __int128 below = static_cast<__int128>(reinterpret_cast<uintptr_t>(lo)) -
                     static_cast<__int128>(reinterpret_cast<uintptr_t>(cd->data));
    __int128 first = -floor_div(-below, item_size);
    __int128 last = floor_div(below + size - item_size, item_size);
    if (first > last)
        PyErr_Format(PyExc_IndexError,
                     "index %zd out of bounds for cdata '%s': it points outside its %zd bytes of "
                     "memory, no index is valid",
                     index, name, size);
    else
        PyErr_Format(PyExc_IndexError,
                     "index %zd out of bounds for cdata '%s': its %zd bytes of memory hold "
                     "indexes %lld to %lld",
                     index, name, size, static_cast<long long>(first),
                     static_cast<long long>(last));
    return false;
}

bool check_slice_in_memory(CData* cd, Py_ssize_t start, Py_ssize_t stop, Py_ssize_t item_size) {
    if (stop <= start) return true;
    char* lo;
    Py_ssize_t size = known_memory(cd, &lo);
    if (size < 0) return true;
    Py_ssize_t nbytes;
    char* address = offset_address(cd->data, start, item_size);
    if (!__builtin_mul_overflow(stop - start, item_size, &nbytes) &&
        inside(lo, size, address, nbytes))
        return true;
    PyErr_Format(PyExc_IndexError,
                 "slice [%zd:%zd] out of bounds for cdata '%s': %zd bytes of memory from its "
                 "address on",
                 start, stop, cd->ctype->cname.c_str(), bytes_from(lo, size, cd->data));
    return false;
}

bool check_field_in_memory(CData* cd, const types::FieldInfo& f, char* base) {
    char* lo;
    Py_ssize_t size = known_memory(cd, &lo);
    if (size < 0) return true;
    Py_ssize_t nbytes = f.is_bitfield()   ? (f.bitshift + f.bitsize + 7) / 8
                        : f.is_flexible() ? 0
                                          : static_cast<Py_ssize_t>(f.type->size);
    if (inside(lo, size, base + f.offset, nbytes)) return true;
    PyErr_Format(PyExc_IndexError,
                 "field '%s' of cdata '%s' is out of bounds: bytes %lld to %lld of the "
                 "struct, %zd bytes of memory from its address on",
                 f.name.c_str(), cd->ctype->cname.c_str(), static_cast<long long>(f.offset),
                 static_cast<long long>(f.offset + nbytes), bytes_from(lo, size, cd->data));
    return false;
}

static PyObject* null_error(CData* cd, const char* fn) {
    PyRef text(PyObject_Repr(reinterpret_cast<PyObject*>(cd)));
    if (!text) return nullptr;
    return PyErr_Format(PyExc_RuntimeError, "cannot use %s() on %U", fn, text.get());
}

// ---------------------------------------------------------------- characters

enum class CharClass { None, Byte, Wide16, Wide32 };

// string() treats every one-byte integer (char, signed/unsigned char) as a character, as
// cffi does; unpack() only `char`.
static CharClass string_class(const CType* t) {
    if (t->kind != Kind::Primitive) return CharClass::None;
    switch (t->conv) {
        case Conv::Char:
        case Conv::Int8:
        case Conv::UInt8: return CharClass::Byte;
        case Conv::WChar16: return CharClass::Wide16;
        case Conv::WChar32: return CharClass::Wide32;
        default: return CharClass::None;
    }
}

// `n` code units of a wide string -> str. char16_t: surrogate pairs are combined, lone
// surrogates kept (as cffi). char32_t/wchar_t: values outside Unicode raise ValueError.
static PyObject* decode_wide(const CType* item, const char* src, Py_ssize_t n) {
    Py_UCS4* chars = PyMem_New(Py_UCS4, static_cast<size_t>(n > 0 ? n : 1));
    if (!chars) return PyErr_NoMemory();
    Py_ssize_t count = 0;
    if (item->conv == Conv::WChar16) {
        for (Py_ssize_t i = 0; i < n; ++i) {
            uint16_t u;
            memcpy(&u, src + 2 * i, 2);
            Py_UCS4 ch = u;
            if (u >= 0xD800 && u < 0xDC00 && i + 1 < n) {
                uint16_t low;
                memcpy(&low, src + 2 * (i + 1), 2);
                if (low >= 0xDC00 && low < 0xE000) {
                    ch = 0x10000 + ((static_cast<Py_UCS4>(u) - 0xD800) << 10) + (low - 0xDC00);
                    ++i;
                }
            }
            chars[count++] = ch;
        }
    } else {
        for (Py_ssize_t i = 0; i < n; ++i) {
            uint32_t v;
            memcpy(&v, src + 4 * i, 4);
            if (v > 0x10FFFF) {
                PyMem_Free(chars);
                PyErr_Format(PyExc_ValueError, "%s out of range for unicode: 0x%x",
                             item->cname.c_str(), v);
                return nullptr;
            }
            chars[count++] = v;
        }
    }
    PyObject* str = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, chars, count);
    PyMem_Free(chars);
    return str;
}

// The number of items before the first zero item, looking at no more than `limit` items
// (no limit when negative).
static Py_ssize_t zero_terminated_length(const char* p, int64_t item_size, Py_ssize_t limit) {
    if (item_size == 1) {
        if (limit < 0) return static_cast<Py_ssize_t>(strlen(p));
        const void* nul = memchr(p, 0, static_cast<size_t>(limit));
        return nul ? static_cast<const char*>(nul) - p : limit;
    }
    Py_ssize_t n = 0;
    for (; limit < 0 || n < limit; ++n) {
        bool zero = item_size == 2 ? (p[2 * n] | p[2 * n + 1]) == 0
                                   : (p[4 * n] | p[4 * n + 1] | p[4 * n + 2] | p[4 * n + 3]) == 0;
        if (zero) break;
    }
    return n;
}

// ---------------------------------------------------------------- ffi.string

static PyObject* enum_string(CData* cd) {
    CType* t = cd->ctype;
    int64_t raw = load_integer(t, cd->data);
    bool is_unsigned = t->conv == Conv::UInt64;
    parse::ConstInt v = is_unsigned ? static_cast<parse::ConstInt>(static_cast<uint64_t>(raw))
                                    : static_cast<parse::ConstInt>(raw);
    for (const auto& e : t->enumerators)
        if (e.value == v) return PyUnicode_FromString(e.name.c_str());
    PyRef number(is_unsigned ? PyLong_FromUnsignedLongLong(static_cast<uint64_t>(raw))
                             : PyLong_FromLongLong(raw));
    return number ? PyObject_Str(number.get()) : nullptr;
}

static PyObject* unexpected(CData* cd, const char* fn) {
    return PyErr_Format(PyExc_TypeError, "%s(): unexpected cdata '%s' argument", fn,
                        cd->ctype->cname.c_str());
}

PyObject* cdata_string(CData* cd, Py_ssize_t maxlen) {
    CType* t = cd->ctype;
    if (t->kind == Kind::Enum) {
        if (check_released(cd)) return nullptr;
        return enum_string(cd);
    }
    if (t->kind == Kind::Primitive) {
        CharClass c = string_class(t);
        if (c == CharClass::None) return unexpected(cd, "string");
        if (check_released(cd)) return nullptr;
        if (c == CharClass::Byte) return PyBytes_FromStringAndSize(cd->data, 1);
        return decode_wide(t, cd->data, 1);
    }
    if (t->kind != Kind::Pointer && t->kind != Kind::Array) return unexpected(cd, "string");
    CType* item = t->item;
    CharClass c = string_class(item);
    if (c == CharClass::None) return unexpected(cd, "string");
    if (check_released(cd)) return nullptr;
    if (!cd->data) return null_error(cd, "string");
    // Stop at the first of: maxlen, the array's length, the end of known memory.
    Py_ssize_t limit = maxlen;
    Py_ssize_t extent = known_extent(cd);
    if (extent >= 0) {
        Py_ssize_t items = extent / item->size;
        if (limit < 0 || items < limit) limit = items;
    }
    Py_ssize_t n = zero_terminated_length(cd->data, item->size, limit);
    if (c == CharClass::Byte) return PyBytes_FromStringAndSize(cd->data, n);
    return decode_wide(item, cd->data, n);
}

// ---------------------------------------------------------------- ffi.unpack

PyObject* unpack(CData* cd, Py_ssize_t length) {
    CType* t = cd->ctype;
    if (t->kind != Kind::Pointer && t->kind != Kind::Array)
        return PyErr_Format(PyExc_TypeError, "expected a pointer or array, got '%s'",
                            t->cname.c_str());
    if (length < 0) {
        PyErr_SetString(PyExc_ValueError, "'length' cannot be negative");
        return nullptr;
    }
    if (check_released(cd)) return nullptr;
    if (!cd->data) return null_error(cd, "unpack");
    CType* item = t->item;
    if (item->size < 0 || item->kind == Kind::Void) {
        try {
            if (!is_record(item) || !types::complete_type(item, false))
                return PyErr_Format(PyExc_ValueError, "'%s' points to items of unknown size",
                                    t->cname.c_str());
        } catch (...) {
            return cffix::translate_exception();
        }
    }
    Py_ssize_t extent = known_extent(cd);
    if (extent >= 0 && item->size > 0 && length > extent / item->size)
        return PyErr_Format(PyExc_IndexError,
                            "unpack(): length %zd is past the end of cdata '%s' (%zd items)",
                            length, t->cname.c_str(), extent / item->size);
    if (item->size > 0 && length > PY_SSIZE_T_MAX / item->size) return PyErr_NoMemory();
    char* p = cd->data;
    if (item->conv == Conv::Char) return PyBytes_FromStringAndSize(p, length);
    if (types::is_wide_char(item)) return decode_wide(item, p, length);
    PyRef list(PyList_New(length));
    if (!list) return nullptr;
    PyObject* owner = items_owner(cd);
    for (Py_ssize_t i = 0; i < length; ++i) {
        PyObject* v = from_c(item, p + i * item->size, owner);
        if (!v) return nullptr;
        PyList_SET_ITEM(list.get(), i, v);
    }
    return list.release();
}

// ---------------------------------------------------------------- ffi.memmove

bool get_byte_span(PyObject* obj, bool writable, const char* what, ByteSpan* out) {
    if (is_cdata(obj)) {
        CData* cd = reinterpret_cast<CData*>(obj);
        Kind k = cd->ctype->kind;
        if (k != Kind::Pointer && k != Kind::Array) {
            PyErr_Format(PyExc_TypeError, "%s: expected a pointer or array ctype, got '%s'", what,
                         cd->ctype->cname.c_str());
            return false;
        }
        if (check_released(cd)) return false;
        out->data = cd->data;
        out->size = known_extent(cd);
        return true;
    }
    if (PyObject_GetBuffer(obj, &out->view, writable ? PyBUF_WRITABLE : PyBUF_SIMPLE) < 0)
        return false;
    out->has_view = true;
    if (!PyBuffer_IsContiguous(&out->view, 'C')) {
        PyErr_Format(PyExc_BufferError, "%s: the buffer of '%s' is not C-contiguous", what,
                     Py_TYPE(obj)->tp_name);
        return false;
    }
    out->data = static_cast<char*>(out->view.buf);
    out->size = out->view.len;
    return true;
}

static bool check_span(const ByteSpan& span, PyObject* obj, const char* what, Py_ssize_t n) {
    if (span.size >= 0 && n > span.size) {
        if (is_cdata(obj))
            PyErr_Format(PyExc_ValueError,
                         "memmove(): n=%zd is past the end of %s (cdata '%s' of %zd bytes)", n,
                         what, reinterpret_cast<CData*>(obj)->ctype->cname.c_str(), span.size);
        else
            PyErr_Format(PyExc_ValueError,
                         "memmove(): n=%zd is past the end of %s ('%s' of %zd bytes)", n, what,
                         Py_TYPE(obj)->tp_name, span.size);
        return false;
    }
    if (n > 0 && !span.data) {
        PyErr_Format(PyExc_RuntimeError, "memmove(): %s is a NULL pointer", what);
        return false;
    }
    return true;
}

bool memmove_objects(PyObject* dest, PyObject* src, Py_ssize_t n) {
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "negative size");
        return false;
    }
    ByteSpan to, from;
    if (!get_byte_span(dest, true, "dest", &to) || !get_byte_span(src, false, "src", &from) ||
        !check_span(to, dest, "dest", n) || !check_span(from, src, "src", n))
        return false;
    if (n > 0) memmove(to.data, from.data, static_cast<size_t>(n));
    return true;
}

// ---------------------------------------------------------------- ffi.addressof

PyObject* addressof(CData* cd, PyObject* const* path, Py_ssize_t npath) {
    CType* t = cd->ctype;
    if (npath == 0 && t->kind == Kind::Pointer) {
        PyErr_SetString(PyExc_TypeError, "addressof(pointer)");
        return nullptr;
    }
    if (!is_record(t) && t->kind != Kind::Array && t->kind != Kind::Pointer) {
        PyErr_SetString(PyExc_TypeError, "expected a cdata struct/union/array/pointer object");
        return nullptr;
    }
    types::PathEnd end;
    try {
        // An array's own length may exceed its type's (`int[]` from ffi.new, slices).
        int64_t length = t->kind == Kind::Array ? cd->length : -1;
        end = types::walk_path(t, std::span(path, static_cast<size_t>(npath)), length);
    } catch (...) {
        return cffix::translate_exception();
    }
    CType* cur = end.type;
    int64_t offset = end.offset;
    if (check_released(cd)) return nullptr;
    Py_ssize_t extent = known_extent(cd);
    if (extent >= 0 && (offset < 0 || offset > extent)) {
        PyErr_Format(PyExc_IndexError,
                     "addressof(): offset %lld is outside the %zd bytes of cdata '%s'",
                     static_cast<long long>(offset), extent, t->cname.c_str());
        return nullptr;
    }
    Ref<CType> pointer;
    try {
        pointer = Ref<CType>(types::pointer_type(cur));
    } catch (...) {
        return cffix::translate_exception();
    }
    char* address = offset_address(cd->data, offset, 1);
    // Into an owner's memory: a derived pointer, checked against that memory.
    if (derived_root(cd))
        return reinterpret_cast<PyObject*>(new_derived(pointer.get(), address, cd));
    if (extent < 0) return reinterpret_cast<PyObject*>(new_pointer(pointer.get(), address));
    // Other memory of known size (library globals, arrays cast from integers): a view that
    // keeps its owner alive and knows how many items it may reach.
    Py_ssize_t remaining = extent - static_cast<Py_ssize_t>(offset);
    Py_ssize_t items = cur->size > 0 ? remaining / cur->size : 0;
    PyObject* owner = memory_owner(cd);
    if (!owner && Py_TYPE(cd) != &CData_Type) owner = reinterpret_cast<PyObject*>(cd);
    return reinterpret_cast<PyObject*>(new_view(pointer.get(), address, owner, items));
}

}  // namespace cffix::data
