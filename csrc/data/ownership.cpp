// ffi.gc, custom allocators (ffi.new's layout over alloc()'s memory), handles and the
// live counters: see ownership.h.
#include "data/ownership.h"

#include <cstring>
#include <unordered_map>

#include "data/convert.h"
#include "data/memory.h"
#include "data/protocols.h"
#include "util/args.h"
#include "util/errors.h"
#include "util/ft.h"

namespace cffix::data {

using types::Conv;
using types::Kind;

PyTypeObject CDataGC_Type, CDataHandle_Type, Allocator_Type;

struct CDataGC : CData {
    PyObject* origin;      // the cdata given to ffi.gc (or returned by alloc): keeps `data`
                           // alive and is the destructor's argument
    PyObject* destructor;  // null once called or detached, or for allocators without free
    Py_ssize_t nbytes;     // counted in live_cdata() while `counted`
    bool counted;
};

struct CDataHandle : CData {
    PyObject* obj;                        // null only after tp_clear broke a reference cycle
    alignas(16) char slot[kHandleBytes];  // the handle's pointer value: writes through it
                                          // harm nothing
};

struct Allocator {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject* ffi;  // resolves type strings through `resolve`
    TypeResolver resolve;
    PyObject* alloc;  // null: ffi.new's own memory
    PyObject* free;   // null: nothing to call
    bool clear;
};

// ---------------------------------------------------------------- accounting

static Py_ssize_t gc_count = 0, gc_bytes = 0;  // relaxed atomics without the GIL, as cdata.cpp's

void live_cdata(Py_ssize_t* count, Py_ssize_t* nbytes) {
    live_owned(count, nbytes);
    *count += ft::load_relaxed(gc_count);
    *nbytes += ft::load_relaxed(gc_bytes);
}

static void uncount(CDataGC* g) {
    if (!ft::exchange(g->counted, false)) return;
    ft::add_relaxed(gc_count, Py_ssize_t{-1});
    ft::add_relaxed(gc_bytes, -g->nbytes);
}

// Saves the exception being handled (a dealloc may run during one) across Python code.
class SavedException {
public:
#if PY_VERSION_HEX >= 0x030C0000
    SavedException() : exc_(PyErr_GetRaisedException()) {}
    ~SavedException() { PyErr_SetRaisedException(exc_); }

private:
    PyObject* exc_;
#else
    SavedException() { PyErr_Fetch(&type_, &value_, &traceback_); }
    ~SavedException() { PyErr_Restore(type_, value_, traceback_); }

private:
    PyObject *type_, *value_, *traceback_;
#endif
};

// ---------------------------------------------------------------- ffi.gc

static CDataGC* as_gc(PyObject* o) { return reinterpret_cast<CDataGC*>(o); }

// A CDataGC over `origin`'s memory. Steals nothing; `destructor` may be null.
static CDataGC* new_gc(CType* ctype, char* data, Py_ssize_t length, PyObject* origin,
                       PyObject* destructor, Py_ssize_t nbytes) {
    CDataGC* g = PyObject_GC_New(CDataGC, &CDataGC_Type);
    if (!g) return nullptr;
    Py_INCREF(ctype);
    g->ctype = ctype;
    g->data = data;
    g->length = length;
    g->flags = 0;
    g->exports = 0;
    g->weakreflist = nullptr;
    g->origin = Py_NewRef(origin);
    // A cdata origin may be released on its own (ffi.release(p) of ffi.gc(p, f)): asked
    // through the chain. Raw pointers from C are never released.
    if (is_cdata(origin) && !Py_IS_TYPE(origin, &CData_Type)) g->flags = CD_HAS_OWNER;
    g->destructor = Py_XNewRef(destructor);
    g->nbytes = nbytes;
    g->counted = true;
    ft::add_relaxed(gc_count, Py_ssize_t{1});
    ft::add_relaxed(gc_bytes, nbytes);
    PyObject_GC_Track(g);
    return g;
}

// Calls the destructor if it is still pending; it never runs twice. Its exceptions are
// reported through sys.unraisablehook, never raised.
static void run_destructor(CDataGC* g) {
    uncount(g);
    PyObject* destructor = ft::exchange(g->destructor, static_cast<PyObject*>(nullptr));
    if (!destructor) return;
    ft::fetch_or(g->flags, uint32_t{CD_RELEASED});  // the destructor typically frees the memory
    PyObject* result = PyObject_CallOneArg(destructor, g->origin);
    if (result)
        Py_DECREF(result);
    else
        PyErr_WriteUnraisable(destructor);
    Py_DECREF(destructor);
}

static bool is_c_function(PyObject* obj) {
    return is_cdata(obj) && reinterpret_cast<CData*>(obj)->ctype->kind == Kind::Function;
}

PyObject* gc_cdata(CData* cd, PyObject* destructor, Py_ssize_t size) {
    PyObject* self = reinterpret_cast<PyObject*>(cd);
    if (destructor == Py_None) {
        if (!is_gc_cdata(self)) {
            PyErr_SetString(PyExc_TypeError,
                            "Can remove destructor only on a object previously returned by "
                            "ffi.gc()");
            return nullptr;
        }
        CDataGC* g = as_gc(self);
        uncount(g);
        // Taken as run_destructor takes it: another thread may release `g` meanwhile.
        Py_XDECREF(ft::exchange(g->destructor, static_cast<PyObject*>(nullptr)));
        Py_RETURN_NONE;
    }
    if (!PyCallable_Check(destructor) && !is_c_function(destructor)) {
        PyErr_Format(PyExc_TypeError, "gc() destructor must be callable or None, not %s",
                     Py_TYPE(destructor)->tp_name);
        return nullptr;
    }
    if (check_released(cd)) return nullptr;
    return reinterpret_cast<PyObject*>(
        new_gc(cd->ctype, cd->data, cd->length, self, destructor, size > 0 ? size : 0));
}

void release_gc(CData* cd) {
    SavedException saved;
    CDataGC* g = as_gc(reinterpret_cast<PyObject*>(cd));
    ft::fetch_or(g->flags, uint32_t{CD_RELEASED});
    run_destructor(g);
}

PyObject* gc_origin(CData* cd) { return as_gc(reinterpret_cast<PyObject*>(cd))->origin; }

void consume_cdata(CData* cd) {
    if (is_gc_cdata(reinterpret_cast<PyObject*>(cd))) {
        CDataGC* g = as_gc(reinterpret_cast<PyObject*>(cd));
        uncount(g);
        Py_XDECREF(ft::exchange(g->destructor, static_cast<PyObject*>(nullptr)));
    }
    ft::fetch_or(cd->flags, uint32_t{CD_RELEASED});
}

static void gc_finalize(PyObject* self) {
    SavedException saved;
    run_destructor(as_gc(self));
}

static int gc_traverse(PyObject* self, visitproc visit, void* arg) {
    Py_VISIT(as_gc(self)->origin);
    Py_VISIT(as_gc(self)->destructor);
    return 0;
}

// Breaks cycles through the destructor (finalizers ran first). The origin stays: `data`
// points into it, and the origin's own tp_clear breaks cycles through it.
static int gc_clear(PyObject* self) {
    Py_CLEAR(as_gc(self)->destructor);
    return 0;
}

static void gc_dealloc(PyObject* self) {
    if (PyObject_CallFinalizerFromDealloc(self) < 0) return;  // resurrected
    PyObject_GC_UnTrack(self);
    CDataGC* g = as_gc(self);
    if (g->weakreflist) PyObject_ClearWeakRefs(self);
    uncount(g);
    Py_CLEAR(g->destructor);
    Py_CLEAR(g->origin);
    Py_CLEAR(g->ctype);
    PyObject_GC_Del(self);
}

// ---------------------------------------------------------------- handles

// Live handles by pointer value (the address of their slot), under registry_mutex (the
// GIL's job in the default build). A handle in the registry holds its object: its dealloc
// unregisters it before releasing the object.
static std::unordered_map<const void*, CDataHandle*>& handle_registry() {
    static auto* registry = new std::unordered_map<const void*, CDataHandle*>();
    return *registry;  // never destroyed: handles may outlive static destruction
}
static ft::Mutex registry_mutex;

static CType* void_pointer_type() {
    static CType* type = nullptr;  // one reference kept for the process' lifetime
    CType* t = ft::load_acquire(type);
    if (t) return t;
    try {
        Ref<CType> v(types::void_type());
        t = types::pointer_type(v.get());
    } catch (...) {
        cffix::translate_exception();
        return nullptr;
    }
    CType* expected = nullptr;
    if (ft::compare_exchange(type, expected, t)) return t;
    Py_DECREF(t);  // another thread's is the same interned type
    return expected;
}

PyObject* new_handle(PyObject* obj) {
    CType* void_ptr = void_pointer_type();
    if (!void_ptr) return nullptr;
    CDataHandle* h = PyObject_GC_New(CDataHandle, &CDataHandle_Type);
    if (!h) return nullptr;
    Py_INCREF(void_ptr);
    h->ctype = void_ptr;
    h->data = h->slot;
    h->length = 0;
    h->flags = 0;
    h->exports = 0;
    h->weakreflist = nullptr;
    h->obj = Py_NewRef(obj);
    memset(h->slot, 0, sizeof h->slot);
    try {
        ft::Lock lock(registry_mutex);
        handle_registry()[h->slot] = h;
    } catch (...) {
        h->data = nullptr;  // not registered: dealloc must not unregister
        Py_DECREF(h);
        return cffix::translate_exception();
    }
    PyObject_GC_Track(h);
    return reinterpret_cast<PyObject*>(h);
}

PyObject* from_handle(PyObject* pointer) {
    if (!is_cdata(pointer)) {
        PyErr_Format(PyExc_TypeError, "from_handle() expects a cdata 'void *', got %s",
                     Py_TYPE(pointer)->tp_name);
        return nullptr;
    }
    CData* cd = reinterpret_cast<CData*>(pointer);
    CType* t = cd->ctype;
    if (t->kind != Kind::Pointer || (t->item->kind != Kind::Void && t->item->conv != Conv::Char)) {
        PyErr_Format(PyExc_TypeError,
                     "expected a 'cdata' object with a 'void *' out of new_handle(), got '%s'",
                     t->cname.c_str());
        return nullptr;
    }
    if (!cd->data) {
        PyErr_SetString(PyExc_RuntimeError, "cannot use from_handle() on NULL pointer");
        return nullptr;
    }
    ft::Lock lock(registry_mutex);
    auto& registry = handle_registry();
    auto it = registry.find(cd->data);
    if (it == registry.end() || !it->second->obj) {
        // cffi would dereference the pointer here; we only trust live handles.
        PyErr_Format(PyExc_RuntimeError,
                     "ffi.from_handle(): dead or bogus handle object (%p is not the value of a "
                     "live ffi.new_handle() cdata)",
                     cd->data);
        return nullptr;
    }
    return Py_NewRef(it->second->obj);
}

static CDataHandle* as_handle(PyObject* o) { return reinterpret_cast<CDataHandle*>(o); }

static PyObject* handle_repr(PyObject* self) {
    CDataHandle* h = as_handle(self);
    if (!h->obj) return PyUnicode_FromFormat("<cdata '%s' dead handle>", h->ctype->cname.c_str());
    return PyUnicode_FromFormat("<cdata '%s' handle to %R>", h->ctype->cname.c_str(), h->obj);
}

static int handle_traverse(PyObject* self, visitproc visit, void* arg) {
    Py_VISIT(as_handle(self)->obj);
    return 0;
}

static int handle_clear(PyObject* self) {
    Py_CLEAR(as_handle(self)->obj);
    return 0;
}

static void handle_dealloc(PyObject* self) {
    PyObject_GC_UnTrack(self);
    CDataHandle* h = as_handle(self);
    if (h->data) {
        ft::Lock lock(registry_mutex);
        handle_registry().erase(h->slot);
    }
    if (h->weakreflist) PyObject_ClearWeakRefs(self);
    Py_CLEAR(h->obj);
    Py_CLEAR(h->ctype);
    PyObject_GC_Del(self);
}

// ---------------------------------------------------------------- allocators

// ffi.new's layout and initializer (new.cpp) over memory from the allocator's alloc().
static PyObject* allocate_custom(Allocator* a, CType* t, PyObject* init) {
    NewLayout layout;
    if (!new_layout(t, init, &layout)) return nullptr;
    PyRef size(PyLong_FromSsize_t(layout.nbytes));
    if (!size) return nullptr;
    PyRef memory(PyObject_CallOneArg(a->alloc, size.get()));
    if (!memory) return nullptr;
    if (!is_cdata(memory.get())) {
        PyErr_Format(PyExc_TypeError, "alloc() must return a cdata object (got %s)",
                     Py_TYPE(memory.get())->tp_name);
        return nullptr;
    }
    CData* m = reinterpret_cast<CData*>(memory.get());
    if (m->ctype->kind != Kind::Pointer && m->ctype->kind != Kind::Array) {
        PyErr_Format(PyExc_TypeError, "alloc() must return a cdata pointer, not '%s'",
                     m->ctype->cname.c_str());
        return nullptr;
    }
    if (!m->data) {
        PyErr_SetString(PyExc_MemoryError, "alloc() returned NULL");
        return nullptr;
    }
    if (check_released(m)) return nullptr;
    Py_ssize_t extent = known_extent(m);
    if (extent >= 0 && extent < layout.nbytes) {
        PyErr_Format(PyExc_ValueError, "alloc(%zd) returned only %zd bytes: %R", layout.nbytes,
                     extent, memory.get());
        return nullptr;
    }
    CDataGC* g = new_gc(t, m->data, layout.length, memory.get(), a->free, layout.nbytes);
    PyRef result(reinterpret_cast<PyObject*>(g));
    if (!result) return nullptr;
    if (t->kind == Kind::Pointer) g->flags |= CD_OWNED_POINTER;  // as ffi.new's: see cdata.h
    if (a->clear) memset(g->data, 0, static_cast<size_t>(layout.nbytes));
    // On failure `result` goes away and free() gets the memory back.
    if (!write_initializer(t, layout, g->data)) return nullptr;
    return result.release();
}

static PyObject* allocator_call(PyObject* self, PyObject* const* args, size_t nargsf,
                                PyObject* kwnames) {
    Allocator* a = reinterpret_cast<Allocator*>(self);
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    static const char* const names[] = {"cdecl", "init", nullptr};
    PyObject* v[2] = {nullptr, nullptr};
    if (!parse_args("allocator", names, 1, args, nargs, kwnames, v)) return nullptr;
    PyObject* cdecl = v[0];
    PyObject* init = v[1];
    CType* t = a->resolve(a->ffi, cdecl);
    if (!t) return nullptr;
    if (!a->alloc) return new_cdata(t, init);  // cleared anyway: ffi.new's memory is cheap
    return allocate_custom(a, t, init);
}

PyObject* new_allocator(PyObject* ffi, TypeResolver resolve, PyObject* alloc, PyObject* free,
                        bool clear) {
    Allocator* a = PyObject_GC_New(Allocator, &Allocator_Type);
    if (!a) return nullptr;
    a->vectorcall = allocator_call;
    a->ffi = Py_NewRef(ffi);
    a->resolve = resolve;
    a->alloc = alloc == Py_None ? nullptr : Py_XNewRef(alloc);
    a->free = free == Py_None ? nullptr : Py_XNewRef(free);
    a->clear = clear;
    PyObject_GC_Track(a);
    return reinterpret_cast<PyObject*>(a);
}

static PyObject* allocator_repr(PyObject* self) {
    Allocator* a = reinterpret_cast<Allocator*>(self);
    if (!a->alloc) return PyUnicode_FromString("<cffix allocator (as ffi.new)>");
    return PyUnicode_FromFormat("<cffix allocator alloc=%R free=%R>", a->alloc,
                                a->free ? a->free : Py_None);
}

static int allocator_traverse(PyObject* self, visitproc visit, void* arg) {
    Allocator* a = reinterpret_cast<Allocator*>(self);
    Py_VISIT(a->ffi);
    Py_VISIT(a->alloc);
    Py_VISIT(a->free);
    return 0;
}

// allocator_call after tp_clear: the FFI is gone.
static CType* cleared_resolver(PyObject*, PyObject*) {
    PyErr_SetString(PyExc_RuntimeError, "allocator used after its FFI was collected");
    return nullptr;
}

static int allocator_clear(PyObject* self) {
    Allocator* a = reinterpret_cast<Allocator*>(self);
    Py_CLEAR(a->ffi);
    Py_CLEAR(a->alloc);
    Py_CLEAR(a->free);
    a->resolve = cleared_resolver;
    return 0;
}

static void allocator_dealloc(PyObject* self) {
    PyObject_GC_UnTrack(self);
    allocator_clear(self);
    PyObject_GC_Del(self);
}

// ---------------------------------------------------------------- types

static bool ready_cdata_variant(PyTypeObject& type, const char* name, size_t size,
                                destructor dealloc, traverseproc traverse, inquiry clear,
                                const char* doc) {
    Py_SET_REFCNT(&type, 1);
    type.tp_name = name;
    type.tp_basicsize = static_cast<Py_ssize_t>(size);
    type.tp_dealloc = dealloc;
    type.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC;
    type.tp_doc = doc;
    type.tp_traverse = traverse;
    type.tp_clear = clear;
    type.tp_free = PyObject_GC_Del;
    type.tp_base = &CData_Type;
    fill_cdata_protocols(&type);
    return PyType_Ready(&type) == 0;
}

bool init_ownership_types(PyObject*) {
    CDataGC_Type.tp_finalize = gc_finalize;
    CDataHandle_Type.tp_repr = handle_repr;
    if (!ready_cdata_variant(CDataGC_Type, "cffix.CDataGC", sizeof(CDataGC), gc_dealloc,
                             gc_traverse, gc_clear,
                             "C memory with a destructor (from ffi.gc or an allocator).") ||
        !ready_cdata_variant(CDataHandle_Type, "cffix.CDataHandle", sizeof(CDataHandle),
                             handle_dealloc, handle_traverse, handle_clear,
                             "A 'void *' standing for a Python object (ffi.new_handle)."))
        return false;
    PyTypeObject& t = Allocator_Type;
    Py_SET_REFCNT(&t, 1);
    t.tp_name = "cffix.Allocator";
    t.tp_basicsize = sizeof(Allocator);
    t.tp_dealloc = allocator_dealloc;
    t.tp_repr = allocator_repr;
    t.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL;
    t.tp_doc = "allocator(cdecl, init=None): ffi.new with memory from a custom alloc/free.";
    t.tp_traverse = allocator_traverse;
    t.tp_clear = allocator_clear;
    t.tp_vectorcall_offset = offsetof(Allocator, vectorcall);
    t.tp_call = PyVectorcall_Call;
    return PyType_Ready(&t) == 0;
}

}  // namespace cffix::data
