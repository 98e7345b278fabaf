// Ownership beyond ffi.new: destructors attached to cdata (ffi.gc), custom allocators
// (ffi.new_allocator), handles to Python objects (ffi.new_handle / from_handle), and the
// live-memory counters.
//
//   CDataGC_Type      ffi.gc(cdata, destructor): the same address, type and length as
//                     the cdata it wraps (its `origin`, kept alive), and a destructor
//                     called with the origin once: on collection, on ffi.release() /
//                     `with`, never after a detach. Custom allocators' results too: the
//                     origin is what alloc() returned, the destructor free(), and the
//                     type, length and memory layout are ffi.new's (new.cpp).
//   CDataHandle_Type  ffi.new_handle(obj): a 'void *' whose value is an address inside
//                     the handle object itself, so it is unique while the handle lives; a
//                     registry of live handle addresses lets from_handle() reject any other
//                     pointer instead of dereferencing it.
//
// CPython convention: null/false with a Python exception set on failure.
#pragma once

#include "data/cdata.h"

namespace cffix::data {

extern PyTypeObject CDataGC_Type, CDataHandle_Type, Allocator_Type;

bool init_ownership_types(PyObject* module);

inline bool is_gc_cdata(PyObject* obj) { return PyObject_TypeCheck(obj, &CDataGC_Type); }

// ffi.gc(cd, destructor, size): a new CDataGC. `size` (bytes of external memory the
// destructor frees) is counted in live_cdata() while the destructor is pending; CPython
// frees by reference counting, so no collection is triggered for it.
// ffi.gc(cd, None) detaches the destructor of a CDataGC and returns None.
PyObject* gc_cdata(CData* cd, PyObject* destructor, Py_ssize_t size);

// ffi.release() / `with` exit on a CDataGC (or the end of the last buffer export after
// one, cdata.cpp): calls the destructor now (once) and marks the cdata released.
// Exceptions of the destructor go to sys.unraisablehook, as on collection; an exception
// being raised meanwhile is kept.
void release_gc(CData* cd);

// The cdata an ffi.gc cdata wraps (what the destructor gets), or null after a failed
// construction.
PyObject* gc_origin(CData* cd);

// The bytes a handle's pointer value points at: an inline slot of the handle object.
inline constexpr Py_ssize_t kHandleBytes = 16;

// A wrapped function's consumes=N after a successful call: the C side took `cd` over, so
// its destructor (ffi.gc, owned results) is detached without running and `cd` is
// invalidated: later use raises as after ffi.release().
void consume_cdata(CData* cd);

// ffi.new_handle(obj) and ffi.from_handle(pointer).
PyObject* new_handle(PyObject* obj);
PyObject* from_handle(PyObject* pointer);

// Resolves the `cdecl` argument of an allocator call against its FFI (a type string or a
// CType): a borrowed CType, or null with an exception set. Supplied by the FFI layer.
using TypeResolver = CType* (*)(PyObject* ffi, PyObject* cdecl);

// ffi.new_allocator(alloc, free, should_clear_after_alloc): an allocator object callable
// as allocator(cdecl, init=None). `alloc`/`free` are callables (or None) already checked.
PyObject* new_allocator(PyObject* ffi, TypeResolver resolve, PyObject* alloc, PyObject* free,
                        bool clear);

// Live owned cdata, all variants: ffi.new memory, custom allocations not yet freed, and
// ffi.gc destructors still pending (counted with their size hint).
void live_cdata(Py_ssize_t* count, Py_ssize_t* nbytes);

}  // namespace cffix::data
