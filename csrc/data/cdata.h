// CData: a C value or C memory seen from Python, and who owns that memory.
//
// Every cdata starts with the same header (CData), so hot code reads `ctype` and `data`
// without caring which variant it has; the variant is the Python type:
//
//   CData_Type        no ownership: raw pointers (read from memory, returned by C, cast
//                     from integers, and what arithmetic/casts make of those), NULL; and the
//                     library functions of ABI mode (CDataCallable, below).
//                     For pointer and function types `data` IS the pointer value.
//   CDataValue_Type   a primitive value (ffi.cast("int", 5)): `data` points at `value`.
//   CDataView_Type    memory owned by someone else, kept alive through `owner`: struct
//                     and array items/fields (repr 'struct s &'), slices; and pointers
//                     derived from an owner's memory (CD_DERIVED, below).
//   CDataOwned_Type   memory from ffi.new (and structs returned by C calls): inline
//                     after the header when small (one allocation, one object), else a
//                     separate heap block that ffi.release() frees at once. Allocated
//                     through PyObject_Malloc / PyMem_Calloc, so tracemalloc sees it.
//   CDataFunction_Type  function pointers: as CData_Type, callable (see below).
//   (ffi.gc and custom allocators share a variant, CDataGC in ownership.h; from_buffer
//   and handles have their own, in memory.h and ownership.h.)
//
// For pointer-typed owning cdata (ffi.new("int *")) `data` is the pointer value, which
// is the address of the owned memory. For arrays `data` is the first item; `length` is
// the number of items (it differs from the ctype's for `T[]` and slices).
//
// Layer convention (data/ and above): functions return null/false with a Python
// exception set, as CPython does. C++ exceptions from types/ are caught at the calls
// into types/ and translated there.
#pragma once

#include <cstdint>

#include "types/ctype.h"
#include "util/ft.h"
#include "util/pyref.h"

namespace cffix::data {

using types::CType;

enum CDataFlag : uint32_t {
    CD_RELEASED = 1 << 0,       // ffi.release() / `with` exit happened: any access raises
    CD_HEAP = 1 << 1,           // owned memory is a separate block (not inline)
    CD_SLICE = 1 << 2,          // an array slice: repr 'int[] sliced length N'
    CD_OWNED_POINTER = 1 << 3,  // a `T *` that owns its memory (ffi.new("T *"), custom
                                // allocators): indexed by 0 only; `length` is its byte
                                // count (more than sizeof(T) with a flexible array member)
    CD_HAS_OWNER = 1 << 4,      // a view or an ffi.gc cdata over another cdata: whether the
                                // memory was released is asked up the owner chain
    CD_DERIVED = 1 << 5,        // a pointer (or an array cast) made from a root's memory
                                // by arithmetic, ffi.cast or ffi.addressof: a view whose
                                // `owner` is that root (derived_root); every access is
                                // checked against the root's memory (known_range)
    CD_FREE_PENDING = 1 << 6,   // released while buffer exports were live: the memory
                                // goes when the last export does (see `exports`)
};

struct CData {
    PyObject_HEAD
    CType* ctype;       // owned
    char* data;         // see above
    Py_ssize_t length;  // arrays: item count; owned pointers (CD_OWNED_POINTER): owned
                        // bytes, 0 meaning sizeof(item); pointer views that are not
                        // CD_DERIVED (library globals): reachable items; otherwise 0
    uint32_t flags;
    uint32_t exports;       // releasable roots (ffi.new, ffi.gc, from_buffer): live buffer
                            // exports (memoryviews of ffi.buffer) over this memory. While
                            // there are any, release marks the cdata released at once but
                            // frees later (CD_FREE_PENDING): a memoryview never writes freed
                            // memory. Other variants leave it unset.
    PyObject* weakreflist;  // every cdata can be weakly referenced, as in cffi
};
// 56 bytes of header on 64-bit: ffi.new("int *") is one object of 60 bytes (pymalloc's
// 64-byte class).

// CData_Type's instances: a raw pointer (`vectorcall` null: not callable), or a library
// function of call/ (function.cpp), which allocates a larger struct beginning with this
// one and sets `vectorcall`: so that `type(lib.f) is ffi.CData`, as in cffi, with a call
// path of its own. The slot costs no memory: pymalloc rounds 56 bytes up to 64.
struct CDataCallable {
    CData base;
    vectorcallfunc vectorcall;
};

// A library function (call/function.cpp) begins with this: `keeper` (owned, or null) is
// what keeps its code loaded (call/'s LibraryHandle); CData_Type's dealloc releases it.
struct CDataLibraryFunction {
    CDataCallable callable;
    PyObject* keeper;
};

struct CDataValue : CData {
    alignas(16) char value[16];  // the largest primitive: long double / double _Complex
};

struct CDataView : CData {
    PyObject* owner;  // keeps `data` alive; released when it is a released cdata
};

struct CDataOwned : CData {
    // Inline memory follows (aligned for the type) unless flags & CD_HEAP. The owned
    // size is owned_size(): from `length` and the type.
};

extern PyTypeObject CData_Type, CDataValue_Type, CDataView_Type, CDataOwned_Type;

// True for any cdata variant. Inline for the four common variants; the others (gc,
// from_buffer, handles...) are subtypes of CData_Type.
inline bool is_cdata(PyObject* obj) {
    PyTypeObject* t = Py_TYPE(obj);
    return t == &CDataOwned_Type || t == &CData_Type || t == &CDataView_Type ||
           t == &CDataValue_Type || PyType_IsSubtype(t, &CData_Type);
}

bool init_cdata_types(PyObject* module);

// Constructors: new references, or null with a Python exception set.
// A non-owning cdata of pointer/function type `ctype` with value `ptr`.
CData* new_pointer(CType* ctype, void* ptr);
// A primitive value cdata; the caller then stores the value at result->data.
CData* new_value(CType* ctype);
// A view on memory owned by `owner` (a cdata or any object), of type `ctype`.
CData* new_view(CType* ctype, char* data, PyObject* owner, Py_ssize_t length = 0);
// A pointer or array of type `ctype` at `data`, made from `from` (p + n, ffi.cast,
// ffi.addressof): a CD_DERIVED view on derived_root(from), or a raw pointer (new_pointer)
// when it has none. Arrays get the type's length.
CData* new_derived(CType* ctype, char* data, CData* from);
// Owned zeroed memory of `nbytes` for a cdata of type `ctype`: a pointer or array type,
// or a struct/union held by value (a struct returned by a C call). Pointers get
// CD_OWNED_POINTER; `length` is then the byte count (or 0 for sizeof(item)).
CData* new_owned(CType* ctype, Py_ssize_t nbytes, Py_ssize_t length);

// `base + i * size` computed as the machine computes addresses, wrapping: pointer
// arithmetic on a raw pointer may lead anywhere (as in C and cffi; only a dereference
// can fault), but must not be signed overflow, which is undefined behaviour.
inline char* offset_address(char* base, int64_t i, int64_t size) {
    return reinterpret_cast<char*>(reinterpret_cast<uintptr_t>(base) +
                                   static_cast<uintptr_t>(i) * static_cast<uintptr_t>(size));
}

// The memory's owner chain says it was released: raise ValueError and return true.
// Inline for the common case (on every item, field and buffer access): a cdata without
// an owner (CD_HAS_OWNER) has no chain to walk.
bool check_released_chain(CData* cd);
inline bool check_released(CData* cd) {
    if (!(ft::load_relaxed(cd->flags) & (CD_RELEASED | CD_HAS_OWNER))) return false;
    return check_released_chain(cd);
}

// The next cdata up `cd`'s owner chain (a view's owner, an ffi.gc cdata's origin), or
// null at its end.
CData* owner_in_chain(CData* cd);

// A buffer export over `cd`'s memory begins (pin) or ends (unpin): counted on every
// releasable cdata up its owner chain, so that releasing any of them while the export
// lives defers the freeing to the unpin that ends the last one (CD_FREE_PENDING).
void pin_memory(CData* cd);
void unpin_memory(CData* cd);

// The root whose memory `cd` lies in, for pointers derived from `cd`: an ffi.new,
// ffi.gc or ffi.from_buffer cdata (itself, a view's owner, or the root of the derived
// pointer that owns a view: items_owner). Null for raw memory
// (pointers from C, casts of integers), handles, and memory of non-cdata owners (library
// globals): what is derived from those stays a raw pointer, as in C.
CData* derived_root(CData* cd);

// Who keeps `cd`'s memory alive: itself when it owns it, its owner when it is a view,
// null for raw pointers.
PyObject* memory_owner(CData* cd);

// What a view on `cd`'s items or fields holds: the memory's owner, else `cd` itself. A
// derived pointer's items hold the pointer (which holds the root): they are seen as
// reached through it (repr 'struct s &', as cffi's items of a cast pointer).
inline PyObject* items_owner(CData* cd) {
    if (cd->flags & CD_DERIVED) return reinterpret_cast<PyObject*>(cd);
    PyObject* owner = memory_owner(cd);
    return owner ? owner : reinterpret_cast<PyObject*>(cd);
}

// Bytes owned by an owning cdata or a custom allocator's `T *` (CD_OWNED_POINTER): for
// repr, accounting and known_extent.
Py_ssize_t owned_size(const CData* cd);

// ffi.new and ffi.cast, once the type string is resolved.
PyObject* new_cdata(CType* t, PyObject* init);
PyObject* cast(CType* t, PyObject* value);

// How ffi.new(t, init) lays out its memory (new.cpp), for ffi.new and for custom
// allocators alike: they differ only in where the bytes come from.
struct NewLayout {
    Py_ssize_t nbytes = 0;     // the memory to allocate
    Py_ssize_t length = 0;     // the cdata's `length`: items of an array, bytes of a `T *`
    PyObject* init = nullptr;  // borrowed: what write_initializer writes, null for nothing
                               // (None, or the length of a `T[]`)
};
// The layout for a pointer or array type `t` (TypeError for others), or false with an
// exception (unknown size, bad length, overflow).
bool new_layout(CType* t, PyObject* init, NewLayout* out);
// Writes the initializer into `memory` (layout.nbytes, zeroed or not: bytes the
// initializer does not give keep their value).
bool write_initializer(CType* t, const NewLayout& layout, char* memory);

// ffi.release(cd) and `with` exit: frees what `cd` owns now (ffi.new memory, a
// from_buffer export, an ffi.gc destructor); other cdata are refused with ValueError.
PyObject* release_cdata(CData* cd);

// Function pointers (ffi.cast to a function type, fields and items of function-pointer
// type) are CDataFunction_Type: a CData with no extra fields, and the base of every
// callable cdata (call/'s library functions and callbacks). Calling one is the call
// layer's business, not data/'s: call/ readies the type through init_function_type,
// handing it the call slot and the methods of function pointers (f.map). Until then,
// new_pointer of a function type fails.
extern PyTypeObject CDataFunction_Type;
bool init_function_type(ternaryfunc call, PyMethodDef* methods);

// The attributes of a callable CData_Type object (a library function, call/function.cpp)
// beyond its fields: `getattr(self, name)`, or null without an exception for none.
using FunctionAttribute = PyObject* (*)(PyObject* self, PyObject* name);
void set_function_attribute(FunctionAttribute attribute);
FunctionAttribute function_attribute();

// Live owned cdata (count, bytes), for leak hunting: cffix.live_cdata().
void live_owned(Py_ssize_t* count, Py_ssize_t* nbytes);

}  // namespace cffix::data
