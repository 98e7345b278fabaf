// Reading and writing raw C memory from Python: ffi.string, ffi.unpack, ffi.memmove,
// ffi.addressof (memory.cpp; its path is walked by types/path.h, as ffi.offsetof's), and
// the buffer views both ways (buffer.cpp): ffi.buffer exposes C memory as a Python
// buffer, ffi.from_buffer exposes a Python buffer as C memory.
//
// Safer than cffi: wherever the size of the memory behind a cdata is known (arrays of
// known length, ffi.new and custom allocators, from_buffer, ffi.gc, and the pointers
// derived from them by arithmetic, casts and addressof), these functions never read or
// write past its end, and they raise on released cdata and on NULL.
//
// CPython convention: null/false with a Python exception set on failure.
#pragma once

#include "data/cdata.h"

namespace cffix::data {

// The number of bytes known to be valid from cd->data on, or -1 when nobody knows (raw
// pointers from C, from integers, and what is derived from them). Arrays: length * item
// size. Owned pointers (ffi.new("T *"), custom allocators): their owned_size(), more than
// sizeof(T) with a flexible array member. from_buffer pointers: the buffer's size. ffi.gc
// cdata: their origin's. Handles: their slot. Derived pointers (CD_DERIVED: p + n, casts,
// addressof results of an owner's memory): what their root's memory holds from their
// address on (0 outside it); an array cast from it: no more than that either. Library
// globals (pointer views) carry in `length` the number of items they may reach. Structs
// and unions: their size, or for one ending in a flexible array member, what its owner's
// memory holds (-1 if unknown). Primitives: their size. The one answer for every bound
// in data/ (and for ffi.sizeof of a cdata). Does not check for release: callers call
// check_released() first.
Py_ssize_t known_extent(CData* cd);

// The checks of item, slice and field access through a cdata whose memory is known:
// pointers that are not raw (derived, from_buffer, gc, handles, library globals) and
// arrays cast from an owner's memory (CD_DERIVED). False with IndexError (naming the
// index and the memory) unless the bytes accessed lie inside that memory; a derived
// pointer may reach its root's memory on both sides of its address ((p + 3)[-1]). True
// when the memory is unknown (raw pointers, as in C).
bool check_item_in_memory(CData* cd, char* address, Py_ssize_t item_size, Py_ssize_t index);
// Whether the pointer `cd`'s accesses are checked so: derived pointers, from_buffer, gc and
// handles. Not raw pointers (C's), owned `T *` (one item, checked on their own) and
// library globals (ffi.addressof(lib, "x")[-1] reaches the global before, as in C).
inline bool pointer_memory_is_checked(CData* cd) {
    PyTypeObject* t = Py_TYPE(cd);
    if (t == &CData_Type || (cd->flags & CD_OWNED_POINTER)) return false;
    return t != &CDataView_Type || (cd->flags & CD_DERIVED);
}
bool check_slice_in_memory(CData* cd, Py_ssize_t start, Py_ssize_t stop, Py_ssize_t item_size);
bool check_field_in_memory(CData* cd, const types::FieldInfo& f, char* base);

// ffi.string(cdata, maxlen): maxlen < 0 means no limit.
PyObject* cdata_string(CData* cd, Py_ssize_t maxlen);

// ffi.unpack(cdata, length).
PyObject* unpack(CData* cd, Py_ssize_t length);

// ffi.memmove(dest, src, n): dest a cdata or a writable buffer, src a cdata or a buffer.
bool memmove_objects(PyObject* dest, PyObject* src, Py_ssize_t n);

// ffi.addressof(cdata, *path): `path` are field names (str) and indexes (int).
PyObject* addressof(CData* cd, PyObject* const* path, Py_ssize_t npath);

// ---------------------------------------------------------------- buffer.cpp

// The type of ffi.buffer objects (callable as ffi.buffer(cdata, size=-1)).
extern PyTypeObject Buffer_Type;
// The cdata variant made by ffi.from_buffer: it holds the Python buffer export.
extern PyTypeObject CDataFromBuffer_Type;

// Readies Buffer_Type and CDataFromBuffer_Type and sets `ffi_dict["buffer"]`.
bool init_buffer_types(PyObject* ffi_dict);

// ffi.from_buffer(cdecl, python_buffer, require_writable), with the type resolved.
PyObject* from_buffer(CType* t, PyObject* obj, bool require_writable);

// A from_buffer cdata: release its buffer export now (ffi.release / `with`). Idempotent.
bool is_from_buffer(CData* cd);
void release_from_buffer(CData* cd);
// The size in bytes of the buffer a from_buffer cdata holds.
Py_ssize_t from_buffer_size(CData* cd);

// A contiguous byte view of a cdata (pointer or array) or of any buffer object, for
// memmove and buffer slice assignment; `writable` asks for a destination. `size` is the
// known extent, -1 when unknown (raw pointers). `what` names the argument in errors.
struct ByteSpan {
    char* data = nullptr;
    Py_ssize_t size = -1;
    Py_buffer view{};
    bool has_view = false;
    ByteSpan() = default;
    ByteSpan(const ByteSpan&) = delete;
    ByteSpan& operator=(const ByteSpan&) = delete;
    ~ByteSpan() {
        if (has_view) PyBuffer_Release(&view);
    }
};
bool get_byte_span(PyObject* obj, bool writable, const char* what, ByteSpan* out);

}  // namespace cffix::data
