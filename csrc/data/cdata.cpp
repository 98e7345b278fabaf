// CData variants: allocation, lifetime (release, `with`), repr, calls, and the type
// objects. The Python protocols (numbers, indexing, fields) are in the files that
// protocols.h lists.
#include "data/cdata.h"

#include <cstring>

#include "data/convert.h"
#include "data/memory.h"
#include "data/ownership.h"
#include "data/protocols.h"
#include "util/ft.h"

namespace cffix::data {

using types::Conv;
using types::Kind;

PyTypeObject CData_Type, CDataValue_Type, CDataView_Type, CDataOwned_Type, CDataFunction_Type;

// Memory in inline storage up to this size: the whole object then stays within
// pymalloc's small-object limit (512 bytes). Larger blocks are separate, so that
// ffi.release() can free them at once.
constexpr Py_ssize_t kInlineLimit = 512 - static_cast<Py_ssize_t>(sizeof(CDataOwned)) - 16;

// Statistics (ffi.memory_stats, the leak tests): relaxed atomic counters without the GIL.
static Py_ssize_t live_count = 0, live_bytes = 0;

void live_owned(Py_ssize_t* count, Py_ssize_t* nbytes) {
    *count = ft::load_relaxed(live_count);
    *nbytes = ft::load_relaxed(live_bytes);
}

static void init_header(CData* cd, CType* ctype) {
    Py_INCREF(ctype);
    cd->ctype = ctype;
    cd->data = nullptr;
    cd->length = 0;
    cd->flags = 0;
    cd->exports = 0;
    cd->weakreflist = nullptr;
}

CData* new_pointer(CType* ctype, void* ptr) {
    CData* cd;
    if (ctype->kind == Kind::Function) {
        cd = PyObject_New(CData, &CDataFunction_Type);
    } else {
        auto* plain = PyObject_New(CDataCallable, &CData_Type);
        if (plain) plain->vectorcall = nullptr;  // not callable
        cd = reinterpret_cast<CData*>(plain);
    }
    if (!cd) return nullptr;
    init_header(cd, ctype);
    cd->data = static_cast<char*>(ptr);
    if (ctype->kind == Kind::Array) cd->length = ctype->length;
    return cd;
}

CData* new_value(CType* ctype) {
    CDataValue* cd = PyObject_New(CDataValue, &CDataValue_Type);
    if (!cd) return nullptr;
    init_header(cd, ctype);
    memset(cd->value, 0, sizeof cd->value);
    cd->data = cd->value;
    return cd;
}

CData* new_view(CType* ctype, char* data, PyObject* owner, Py_ssize_t length) {
    CDataView* cd = PyObject_New(CDataView, &CDataView_Type);
    if (!cd) return nullptr;
    init_header(cd, ctype);
    cd->data = data;
    cd->length = length;
    if (owner) cd->flags = CD_HAS_OWNER;
    Py_XINCREF(owner);
    cd->owner = owner;
    return cd;
}

static bool is_derived(PyObject* obj) {
    return obj && Py_IS_TYPE(obj, &CDataView_Type) &&
           (reinterpret_cast<CData*>(obj)->flags & CD_DERIVED);
}

CData* derived_root(CData* cd) {
    PyObject* root = reinterpret_cast<PyObject*>(cd);
    if (Py_TYPE(cd) == &CDataView_Type) {
        root = static_cast<CDataView*>(cd)->owner;
        if (is_derived(root)) root = reinterpret_cast<CDataView*>(root)->owner;
    }
    if (!root) return nullptr;
    PyTypeObject* t = Py_TYPE(root);
    if (t == &CDataOwned_Type || t == &CDataGC_Type || t == &CDataFromBuffer_Type)
        return reinterpret_cast<CData*>(root);
    return nullptr;
}

CData* new_derived(CType* ctype, char* data, CData* from) {
    CData* root = ctype->kind == Kind::Function ? nullptr : derived_root(from);
    if (!root) return new_pointer(ctype, data);
    Py_ssize_t length = ctype->kind == Kind::Array ? ctype->length : 0;
    CData* view = new_view(ctype, data, reinterpret_cast<PyObject*>(root), length);
    if (view) view->flags |= CD_DERIVED;
    return view;
}

CData* new_owned(CType* ctype, Py_ssize_t nbytes, Py_ssize_t length) {
    uint32_t align = 1;
    const CType* item =
        ctype->kind == Kind::Pointer || ctype->kind == Kind::Array ? ctype->item : ctype;
    if (item && item->align) align = item->align;
    bool inline_memory = nbytes <= kInlineLimit;
    size_t header = sizeof(CDataOwned);
    size_t slack = inline_memory && align > alignof(CDataOwned) ? align - alignof(CDataOwned) : 0;
    size_t total = header + (inline_memory ? static_cast<size_t>(nbytes) + slack : 0);
    auto* cd = static_cast<CDataOwned*>(PyObject_Malloc(total));
    if (!cd) return reinterpret_cast<CData*>(PyErr_NoMemory());
    PyObject_Init(reinterpret_cast<PyObject*>(cd), &CDataOwned_Type);
    init_header(cd, ctype);
    cd->length = length;
    if (ctype->kind == Kind::Pointer) cd->flags = CD_OWNED_POINTER;
    if (inline_memory) {
        uintptr_t p = reinterpret_cast<uintptr_t>(cd) + header;
        p = (p + align - 1) & ~static_cast<uintptr_t>(align - 1);
        cd->data = reinterpret_cast<char*>(p);
        memset(cd->data, 0, static_cast<size_t>(nbytes));
    } else {
        // PyMem_Calloc: traced by tracemalloc, and large blocks come zeroed from the OS.
        cd->data = static_cast<char*>(PyMem_Calloc(1, static_cast<size_t>(nbytes)));
        if (!cd->data) {
            cd->flags = CD_RELEASED;  // nothing to free (and not counted yet)
            Py_DECREF(cd);
            return reinterpret_cast<CData*>(PyErr_NoMemory());
        }
        cd->flags |= CD_HEAP;
    }
    ft::add_relaxed(live_count, Py_ssize_t{1});
    ft::add_relaxed(live_bytes, nbytes);
    return cd;
}

Py_ssize_t owned_size(const CData* cd) {
    const CType* t = cd->ctype;
    if (t->kind == Kind::Array) return cd->length * t->item->size;
    // ffi.new("T *"): sizeof(T), or more when T ends with a flexible array member (then
    // `length` holds the byte count).
    if (t->kind == Kind::Pointer) return cd->length > 0 ? cd->length : t->item->size;
    return t->size;  // a struct/union owned by value (a struct returned by a C call)
}

PyObject* memory_owner(CData* cd) {
    if (Py_TYPE(cd) == &CDataView_Type) return static_cast<CDataView*>(cd)->owner;
    if (Py_TYPE(cd) == &CDataOwned_Type) return reinterpret_cast<PyObject*>(cd);
    return nullptr;
}

CData* owner_in_chain(CData* cd) {
    if (!(cd->flags & CD_HAS_OWNER)) return nullptr;  // roots: ffi.new, from_buffer...
    PyObject* owner = Py_IS_TYPE(cd, &CDataView_Type) ? static_cast<CDataView*>(cd)->owner
                                                      : gc_origin(cd);  // only these two
    return owner && is_cdata(owner) ? reinterpret_cast<CData*>(owner) : nullptr;
}

// Chains are short: views of views are flattened by memory_owner, derived pointers point
// at their root; an ffi.gc cdata over a view adds two steps.
constexpr int kMaxChain = 8;

bool check_released_chain(CData* cd) {
    int depth = 0;
    for (CData* c = cd; c && depth < kMaxChain; c = owner_in_chain(c), ++depth) {
        if (ft::load_relaxed(c->flags) & CD_RELEASED) {
            PyErr_Format(PyExc_ValueError, "cdata '%s' was released: its memory is gone",
                         cd->ctype->cname.c_str());
            return true;
        }
    }
    return false;
}

// ---------------------------------------------------------------- buffer exports

// The variants ffi.release() frees: the ones that count exports.
static bool is_releasable(CData* cd) {
    return Py_TYPE(cd) == &CDataOwned_Type || is_from_buffer(cd) ||
           is_gc_cdata(reinterpret_cast<PyObject*>(cd));
}

// Releases and buffer exports may race in free-threaded builds (a memoryview made or
// dropped in one thread, ffi.release() in another): the export count and the flags are
// atomics, and whoever clears CD_FREE_PENDING frees (take_free). A release sets
// CD_RELEASED | CD_FREE_PENDING, then reads the count; an unpin lowers the count, then
// reads the flags: sequentially consistent, so at least one of the two sees the other's
// write and tries take_free, which exactly one wins. An export begins by pinning, then
// checks the release (buffer.cpp), so a release it missed waits for its unpin.
static void free_now(CData* cd);

static void take_free(CData* cd) {
    if (ft::fetch_and(cd->flags, ~static_cast<uint32_t>(CD_FREE_PENDING)) & CD_FREE_PENDING)
        free_now(cd);
}

void pin_memory(CData* cd) {
    int depth = 0;
    for (CData* c = cd; c && depth < kMaxChain; c = owner_in_chain(c), ++depth)
        if (is_releasable(c)) ft::fetch_add(c->exports, uint32_t{1});
}

void unpin_memory(CData* cd) {
    int depth = 0;
    for (CData* c = cd; c && depth < kMaxChain; c = owner_in_chain(c), ++depth) {
        if (!is_releasable(c)) continue;
        // Pins and unpins pair up (the buffer protocol's getbuffer and releasebuffer).
        if (ft::fetch_add(c->exports, ~uint32_t{0}) == 1 &&
            (ft::load_seq_cst(c->flags) & CD_FREE_PENDING))
            take_free(c);
    }
}

// ---------------------------------------------------------------- dealloc

static void release_header(CData* cd) {
    if (cd->weakreflist) PyObject_ClearWeakRefs(reinterpret_cast<PyObject*>(cd));
    Py_CLEAR(cd->ctype);
}

static void cdata_dealloc(PyObject* self) {
    release_header(reinterpret_cast<CData*>(self));
    if (Py_IS_TYPE(self, &CData_Type) && reinterpret_cast<CDataCallable*>(self)->vectorcall)
        Py_CLEAR(reinterpret_cast<CDataLibraryFunction*>(self)->keeper);  // may unload code
    Py_TYPE(self)->tp_free(self);
}

static void view_dealloc(PyObject* self) {
    auto* cd = reinterpret_cast<CDataView*>(self);
    release_header(cd);
    Py_CLEAR(cd->owner);
    Py_TYPE(self)->tp_free(self);
}

// Frees the memory of an ffi.new cdata: at release, when the last buffer export of a
// release goes, or at dealloc when neither did. The caller holds the right to (take_free,
// or the last reference).
static void free_owned_memory(CData* cd) {
    ft::add_relaxed(live_count, Py_ssize_t{-1});
    ft::add_relaxed(live_bytes, -owned_size(cd));
    if (cd->flags & CD_HEAP) PyMem_Free(cd->data);
}

static void owned_dealloc(PyObject* self) {
    auto* cd = reinterpret_cast<CData*>(self);
    if (cd->weakreflist) PyObject_ClearWeakRefs(self);
    // Not released, or released with exports that are gone now without freeing (a
    // pending free left by an export's owner that died first).
    if (!(cd->flags & CD_RELEASED) || (cd->flags & CD_FREE_PENDING)) free_owned_memory(cd);
    Py_CLEAR(cd->ctype);
    PyObject_Free(self);
}

// ---------------------------------------------------------------- repr

static PyObject* value_text(CData* cd) {
    CType* t = cd->ctype;
    if (types::is_wide_floating(t->conv)) {
        char buf[64];
        snprintf(buf, sizeof buf, "%LE", load_wide_floating(t, cd->data));
        return PyUnicode_FromString(buf);
    }
    PyRef value(from_c(t, cd->data, nullptr));
    if (!value) return nullptr;
    if (t->kind == Kind::Enum) {
        int64_t v = load_integer(t, cd->data);
        for (const auto& e : t->enumerators)
            if (e.value == v) return PyUnicode_FromFormat("%S: %s", value.get(), e.name.c_str());
        return PyObject_Str(value.get());
    }
    return PyObject_Repr(value.get());
}

static PyObject* cdata_repr(PyObject* self) {
    auto* cd = reinterpret_cast<CData*>(self);
    CType* t = cd->ctype;
    const char* name = t->cname.c_str();
    if (Py_TYPE(self) == &CDataOwned_Type)
        return PyUnicode_FromFormat("<cdata '%s' owning %zd bytes>", name, owned_size(cd));
    if (cd->flags & CD_SLICE)
        return PyUnicode_FromFormat("<cdata '%s' sliced length %zd>", name, cd->length);
    if (t->kind == Kind::Primitive || t->kind == Kind::Enum) {
        PyRef text(value_text(cd));
        if (!text) return nullptr;
        return PyUnicode_FromFormat("<cdata '%s' %U>", name, text.get());
    }
    if ((t->kind == Kind::Pointer || t->kind == Kind::Function || t->kind == Kind::Array) &&
        !cd->data)
        return PyUnicode_FromFormat("<cdata '%s' NULL>", name);
    if (types::is_record(t)) {
        // p[0] of ffi.new("struct s *") shows its owner's memory, as cffi does.
        PyObject* owner =
            Py_TYPE(self) == &CDataView_Type ? static_cast<CDataView*>(cd)->owner : nullptr;
        CData* o =
            owner && Py_TYPE(owner) == &CDataOwned_Type ? reinterpret_cast<CData*>(owner) : nullptr;
        if (o && o->data == cd->data && o->ctype->kind == Kind::Pointer && o->ctype->item == t)
            return PyUnicode_FromFormat("<cdata '%s' owning %zd bytes>", name, owned_size(o));
        return PyUnicode_FromFormat("<cdata '%s &' %p>", name, cd->data);
    }
    return PyUnicode_FromFormat("<cdata '%s' %p>", name, cd->data);
}

// ---------------------------------------------------------------- with / release, calls

// What ffi.release() does to a releasable cdata, once (take_free's winner).
static void free_now(CData* cd) {
    if (Py_TYPE(cd) == &CDataOwned_Type)
        free_owned_memory(cd);
    else if (is_from_buffer(cd))
        release_from_buffer(cd);
    else
        release_gc(cd);
}

PyObject* release_cdata(CData* cd) {
    if (is_releasable(cd)) {
        // Released for every cdata now; freed now unless a memoryview of ffi.buffer()
        // still points here (as a bytearray with exports refuses to resize): then when
        // the last export goes (unpin_memory), so that the view never writes freed memory.
        // A second release, or one after a destructor ran or a call consumed the cdata,
        // does nothing.
        uint32_t flags = ft::load_relaxed(cd->flags);
        do {
            if (flags & CD_RELEASED) Py_RETURN_NONE;
        } while (!ft::compare_exchange(cd->flags, flags, flags | CD_RELEASED | CD_FREE_PENDING));
        if (ft::load_seq_cst(cd->exports) == 0) take_free(cd);
        Py_RETURN_NONE;
    }
    // Other kinds own nothing that release() could free: refused, as in cffi.
    PyErr_Format(PyExc_ValueError,
                 "only cdata from ffi.new(), ffi.gc(), ffi.from_buffer() or "
                 "ffi.new_allocator()() can be released (with 'with' or ffi.release()), not "
                 "cdata '%s'",
                 cd->ctype->cname.c_str());
    return nullptr;
}

// Only function pointers are callable: their type (CDataFunction_Type) gets its call
// slot from call/.
static PyObject* cdata_call(PyObject* self, PyObject*, PyObject*) {
    PyErr_Format(PyExc_TypeError, "cdata '%s' is not callable",
                 reinterpret_cast<CData*>(self)->ctype->cname.c_str());
    return nullptr;
}

// CData_Type's call slot: a library function's vectorcall entry (CDataCallable), else the
// same error. Its subtypes have their own slot (they never inherit this one: the layout
// of CDataCallable is CData_Type's alone).
static PyObject* plain_cdata_call(PyObject* self, PyObject* args, PyObject* kwargs) {
    if (Py_IS_TYPE(self, &CData_Type) && reinterpret_cast<CDataCallable*>(self)->vectorcall)
        return PyVectorcall_Call(self, args, kwargs);
    return cdata_call(self, args, kwargs);
}

static PyObject* cdata_enter(PyObject* self, PyObject*) { return Py_NewRef(self); }

static PyObject* cdata_exit(PyObject* self, PyObject*) {
    PyRef r(release_cdata(reinterpret_cast<CData*>(self)));
    if (!r) return nullptr;
    Py_RETURN_FALSE;
}

static PyMethodDef cdata_methods[] = {
    {"__dir__", cdata_dir, METH_NOARGS, nullptr},
    {"__enter__", cdata_enter, METH_NOARGS, nullptr},
    {"__exit__", cdata_exit, METH_VARARGS, nullptr},
    {"__complex__", cdata_complex, METH_NOARGS, nullptr},
    {nullptr, nullptr, 0, nullptr},
};

void fill_cdata_protocols(PyTypeObject* type) {
    fill_number_protocol(type);
    fill_index_protocol(type);
    fill_field_protocol(type);
    type->tp_call = cdata_call;
    type->tp_methods = type->tp_base ? nullptr : cdata_methods;  // subtypes inherit them
}

// ---------------------------------------------------------------- types

// `call`: the call slot of callable cdata (others get the protocols' "not callable" one).
static bool ready(PyTypeObject& type, const char* name, size_t size, destructor dealloc,
                  const char* doc, PyTypeObject* base, ternaryfunc call = nullptr,
                  PyMethodDef* methods = nullptr) {
    Py_SET_REFCNT(&type, 1);
    type.tp_name = name;
    type.tp_basicsize = static_cast<Py_ssize_t>(size);
    type.tp_dealloc = dealloc;
    type.tp_repr = cdata_repr;
    // Bases of other variants: CData itself, and function pointers (library functions
    // and callbacks derive from them).
    type.tp_flags |= Py_TPFLAGS_DEFAULT | (base && !call ? 0 : Py_TPFLAGS_BASETYPE);
    type.tp_doc = doc;
    type.tp_weaklistoffset = offsetof(CData, weakreflist);
    type.tp_base = base;
    fill_cdata_protocols(&type);
    if (call) type.tp_call = call;
    if (methods) type.tp_methods = methods;  // the CData methods are still inherited
    return PyType_Ready(&type) == 0;
}

bool init_cdata_types(PyObject* module) {
    CData_Type.tp_flags = Py_TPFLAGS_HAVE_VECTORCALL;
    CData_Type.tp_vectorcall_offset = offsetof(CDataCallable, vectorcall);
    if (!ready(CData_Type, "cffix.CData", sizeof(CDataCallable), cdata_dealloc,
               "A C value or C memory (ffi.CData); see ffi.new, ffi.cast.", nullptr,
               plain_cdata_call) ||
        !ready(CDataValue_Type, "cffix.CDataValue", sizeof(CDataValue), cdata_dealloc,
               "A C primitive value held by the object.", &CData_Type) ||
        !ready(CDataView_Type, "cffix.CDataView", sizeof(CDataView), view_dealloc,
               "C memory owned by another object, kept alive by this one.", &CData_Type) ||
        !ready(CDataOwned_Type, "cffix.CDataOwned", sizeof(CDataOwned), owned_dealloc,
               "C memory owned by this object (from ffi.new).", &CData_Type))
        return false;
    return PyModule_AddObjectRef(module, "CData", reinterpret_cast<PyObject*>(&CData_Type)) >= 0;
}

static FunctionAttribute function_attribute_hook = nullptr;
void set_function_attribute(FunctionAttribute attribute) { function_attribute_hook = attribute; }
FunctionAttribute function_attribute() { return function_attribute_hook; }

bool init_function_type(ternaryfunc call, PyMethodDef* methods) {
    return ready(CDataFunction_Type, "cffix.CDataFunction", sizeof(CData), cdata_dealloc,
                 "A C function pointer, callable from Python.", &CData_Type, call, methods);
}

}  // namespace cffix::data
