// Calling C: arguments into registers or a stack buffer, the thunk or libffi, errno and
// GIL handling, the result; the library functions' type and every function pointer's
// call slot. See function.h.
#include "call/function.h"

#include <dlfcn.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "call/batched.h"
#include "call/errno.h"
#include "call/invoke.h"
#include "call/plan.h"
#include "call/thunks.h"
#include "call/wrap.h"
#include "data/argument.h"
#include "util/errors.h"
#include "util/ft.h"
#include "util/small_vector.h"

namespace cffix::call {

using data::CData;
using types::Conv;
using types::Kind;

bool libffi_forced() { return force_libffi; }  // call/invoke.h's switch

static PyObject* arity_error(CType* fntype, Py_ssize_t expected, Py_ssize_t got, bool variadic) {
    PyErr_Format(PyExc_TypeError, "'%s' expects %s%zd arguments, got %zd", fntype->cname.c_str(),
                 variadic ? "at least " : "", expected, got);
    return nullptr;
}

// A type the variadic path uses on every call, looked up once and kept.
static CType* kept_type(CType*& slot, CType* (*make)()) { return ft::made_once(slot, make); }

// The type a variadic argument is passed as: its cdata type after C's default argument
// promotions; bytes pass as char *. Borrowed (the argument, or a kept type), except for an
// array, passed as a pointer to its item: that new type is put in `holder`.
static CType* variadic_type(PyObject* v, Py_ssize_t index, PyRef& holder) {
    static CType *int_type, *double_type, *char_pointer;
    try {
        if (PyBytes_Check(v))
            return kept_type(char_pointer, [] {
                Ref<CType> c(types::primitive_type("char"));
                return types::pointer_type(c.get());
            });
        if (!data::is_cdata(v)) {
            PyErr_Format(PyExc_TypeError,
                         "argument %zd passed in the variadic part needs to be a cdata object "
                         "(got %s)",
                         index + 1, Py_TYPE(v)->tp_name);
            return nullptr;
        }
        CType* t = reinterpret_cast<CData*>(v)->ctype;
        switch (t->conv) {
            case Conv::Float:
                return kept_type(double_type, [] { return types::primitive_type("double"); });
            case Conv::Int8:
            case Conv::Int16:
            case Conv::Bool:
            case Conv::Char:
            case Conv::UInt8:
            case Conv::UInt16:
                return kept_type(int_type, [] { return types::primitive_type("int"); });
            default: break;
        }
        if (t->kind == Kind::Array) {
            holder = PyRef(reinterpret_cast<PyObject*>(types::pointer_type(t->item)));
            return reinterpret_cast<CType*>(holder.get());
        }
        return t;
    } catch (...) {
        cffix::translate_exception();
        return nullptr;
    }
}

static uint64_t hash_types(CType* const* types, size_t n) {
    uint64_t h = n;
    for (size_t i = 0; i < n; ++i)
        h = (h ^ reinterpret_cast<uintptr_t>(types[i])) * 0x9e3779b97f4a7c15ull;
    return h;
}

// The cif for this tuple of variadic argument types: cached in the plan, else built.
static ffi_cif* variadic_cif(CType* fntype, CallPlan* plan, CType* const* vtypes, size_t n) {
    ft::Lock lock(plan->variadic_mutex);  // also guards plan->types, which grows here
    uint64_t h = hash_types(vtypes, n);
    for (const auto& v : plan->variadic) {
        if (v->hash != h || v->key.size() != n) continue;
        bool same = true;
        for (size_t i = 0; same && i < n; ++i) same = v->key[i].get() == vtypes[i];
        if (same) return &v->cif;
    }
    auto v = std::make_unique<VariadicCif>();
    v->hash = h;
    v->arg_types = plan->arg_types;
    for (size_t i = 0; i < n; ++i) {
        CType* t = vtypes[i];
        ffi_type* ft = plan->types.of(t);
        if (!ft) {
            PyErr_Format(PyExc_NotImplementedError,
                         "ctype '%s' cannot be passed in a variadic call: %s", t->cname.c_str(),
                         plan->types.problem().c_str());
            return nullptr;
        }
        v->key.push_back(Ref<CType>::borrow(t));
        v->arg_types.push_back(ft);
    }
    ffi_status st = ffi_prep_cif_var(&v->cif, abi_of(fntype), static_cast<unsigned>(plan->nargs),
                                     static_cast<unsigned>(v->arg_types.size()), plan->result_type,
                                     v->arg_types.data());
    if (st != FFI_OK) {
        PyErr_Format(PyExc_SystemError, "libffi could not prepare a variadic call (%d)",
                     static_cast<int>(st));
        return nullptr;
    }
    plan->variadic.push_back(std::move(v));
    return &plan->variadic.back()->cif;
}

// The fast path: every argument simple (see fast_argument), a thunk, no libffi.
// Returns false (no exception) to ask for the general path, else true with `*out` the
// result (null with an exception when converting the result failed). N: the argument
// count when known at compile time (the loop is then unrolled), else -1.
template <Py_ssize_t N = -1>
[[gnu::always_inline]] static inline bool invoke_fast(const CallPlan* plan, void* fn,
                                                      PyObject* const* args, bool release_gil,
                                                      PyObject** out) {
    // The caller reads exactly the slots the arguments fill, or with stack words every
    // register (zeroed here) and then the words.
    I ints[kThunkIntRegs + kThunkStackWords];
    D fps[kThunkFpRegs];
    if (plan->stack_words) {
        memset(ints, 0, sizeof ints);
        memset(fps, 0, sizeof fps);
    }
    const ArgSpec* specs = plan->args.data();
    if constexpr (N >= 0) {
        bool simple = [&]<size_t... K>(std::index_sequence<K...>) {
            return (fast_argument(specs[K], args[K], ints, fps) && ...);
        }
        (std::make_index_sequence<static_cast<size_t>(N)>{});
        if (!simple) return false;
    } else {
        for (Py_ssize_t k = 0, n = plan->nargs; k < n; ++k)
            if (!fast_argument(specs[k], args[k], ints, fps)) return false;
    }
    alignas(16) char result[kThunkResultBytes];
    ThunkCaller caller = plan->caller;
    call_native(release_gil, [&] { caller(fn, ints, fps, result); });
    *out = data::value_from_c(plan->result, result);
    return true;
}

// The general path: every argument kind through the converters into a stack buffer,
// then the thunk or libffi. Kept out of line so that the fast path's frame stays small.
[[gnu::noinline]] static PyObject* invoke_general(CType* fntype, CallPlan* plan, void* fn,
                                                  PyObject* const* args, Py_ssize_t nargs,
                                                  bool release_gil) {
    Py_ssize_t nfixed = static_cast<Py_ssize_t>(plan->args.size());
    if (nargs != nfixed && !(fntype->ellipsis && nargs > nfixed))
        return arity_error(fntype, nfixed, nargs, fntype->ellipsis);
    if (!fn) {
        PyErr_Format(PyExc_RuntimeError, "cannot call NULL function pointer '%s'",
                     fntype->cname.c_str());
        return nullptr;
    }

    // Argument storage: on the stack for the usual sizes.
    constexpr size_t kStack = 512;
    constexpr Py_ssize_t kStackArgs = 16;
    size_t extra = fntype->ellipsis ? static_cast<size_t>(nargs - nfixed) * 32 : 0;
    size_t need = plan->buffer_size + extra;
    alignas(16) char stack_buffer[kStack];
    std::unique_ptr<char[]> heap_buffer;
    char* buffer = stack_buffer;
    if (need > kStack) {
        heap_buffer.reset(new (std::nothrow) char[need + 16]);
        if (!heap_buffer) return PyErr_NoMemory();
        buffer = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(heap_buffer.get()) + 15) &
                                         ~uintptr_t{15});
    }
    memset(buffer, 0, need);
    void* stack_values[kStackArgs];
    std::unique_ptr<void*[]> heap_values;
    void** values = stack_values;
    if (nargs > kStackArgs) {
        heap_values.reset(new (std::nothrow) void*[static_cast<size_t>(nargs)]);
        if (!heap_values) return PyErr_NoMemory();
        values = heap_values.get();
    }
    data::CallTemporaries temps;
    for (Py_ssize_t k = 0; k < nfixed; ++k) {
        const ArgSpec& a = plan->args[static_cast<size_t>(k)];
        char* slot = buffer + a.offset;
        if (!data::argument_to_c(a.type, slot, args[k], temps.get())) return nullptr;
        values[k] = slot;
    }

    alignas(16) char rbuf[64];
    std::unique_ptr<char[]> big_result;
    char* result = rbuf;
    if (plan->result_size > sizeof rbuf) {
        big_result.reset(new (std::nothrow) char[plan->result_size + 16]);
        if (!big_result) return PyErr_NoMemory();
        result = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(big_result.get()) + 15) &
                                         ~uintptr_t{15});
    }
    memset(result, 0, std::min(plan->result_size, sizeof rbuf));

    if (!fntype->ellipsis && plan->thunk != Thunk::None && !force_libffi) {
        I ints[kThunkIntRegs + kThunkStackWords] = {};
        D fps[kThunkFpRegs] = {};
        for (const ArgSpec& a : plan->args) slot_to_registers(a, buffer + a.offset, ints, fps);
        ThunkCaller caller = plan->caller;
        call_native(release_gil, [&] { caller(fn, ints, fps, result); });
        return data::value_from_c(plan->result, result);
    }

    ffi_cif* cif = &plan->cif;
    if (fntype->ellipsis) {
        SmallVector<CType*, 16> vtypes;
        SmallVector<PyRef, 2> holders;  // pointer types made for arrays
        size_t offset = plan->buffer_size;
        for (Py_ssize_t k = nfixed; k < nargs; ++k) {
            PyRef holder;
            CType* t = variadic_type(args[k], k, holder);
            if (!t) return nullptr;
            if (holder) holders.push_back(std::move(holder));
            vtypes.push_back(std::move(t));
            offset = (offset + 15) & ~size_t{15};
            if (t->size > 16) {
                PyErr_Format(PyExc_NotImplementedError,
                             "cdata '%s' passed in the variadic part: too large", t->cname.c_str());
                return nullptr;
            }
            char* slot = buffer + offset;
            if (!data::argument_to_c(t, slot, args[k], temps.get())) return nullptr;
            values[k] = slot;
            offset += 16;
        }
        cif = variadic_cif(fntype, plan, vtypes.begin(), vtypes.size());
        if (!cif) return nullptr;
    }

    call_native(release_gil,
                [&] { ffi_call(cif, reinterpret_cast<void (*)()>(fn), result, values); });
    return data::value_from_c(plan->result, result);
}

[[gnu::always_inline]] static inline PyObject* invoke(CType* fntype, CallPlan* plan, void* fn,
                                                      PyObject* const* args, Py_ssize_t nargs,
                                                      bool release_gil) {
    if (nargs == plan->fast_nargs && fn && !force_libffi) {
        PyObject* r;
        if (invoke_fast(plan, fn, args, release_gil, &r)) return r;
    }
    return invoke_general(fntype, plan, fn, args, nargs, release_gil);
}

// ---------------------------------------------------------------- library handles

static PyTypeObject LibraryHandle_Type;

LibraryHandle* new_library_handle(void* handle) {
    auto* h = PyObject_New(LibraryHandle, &LibraryHandle_Type);
    if (!h) return nullptr;
    h->closed = false;
    h->handle = handle;
    h->error_type = nullptr;
    h->error_args = nullptr;
    h->keeps = nullptr;
    return h;
}

LibraryHandle* keep_loaded(LibraryHandle* library) {
    LibraryHandle* h = new_library_handle(nullptr);
    if (h) h->keeps = Py_NewRef(reinterpret_cast<PyObject*>(library));
    return h;
}

LibraryHandle* no_library() {
    static LibraryHandle* none = new_library_handle(nullptr);  // kept for the process
    return none;
}

void mark_closed(LibraryHandle* library) {
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    Py_XDECREF(traceback);
    PyObject* args = value ? PyObject_GetAttrString(value, "args") : nullptr;
    Py_XDECREF(value);
    if (!type || !args || !PyTuple_Check(args)) {  // no usable exception: a plain one
        PyErr_Clear();
        Py_XDECREF(type);
        Py_XDECREF(args);
        type = Py_NewRef(PyExc_ValueError);
        args = Py_BuildValue("(s)", "library has already been closed");
        if (!args) PyErr_Clear();
    }
    Py_XSETREF(library->error_type, type);
    Py_XSETREF(library->error_args, args);
    library->closed = true;
}

// Unloads the library if it was closed (a library garbage-collected without
// ffi.dlclose() stays loaded: see lib/library.h).
static void library_handle_dealloc(PyObject* self) {
    auto* h = reinterpret_cast<LibraryHandle*>(self);
    if (h->closed && h->handle) {
        void* handle = h->handle;
        int status;
        Py_BEGIN_ALLOW_THREADS
        status = dlclose(handle);
        Py_END_ALLOW_THREADS
        if (status != 0) {
            const char* message = dlerror();
            PyErr_Format(PyExc_OSError, "cannot close library: %s",
                         message ? message : "unknown dlclose() error");
            PyErr_WriteUnraisable(nullptr);
        }
    }
    Py_CLEAR(h->error_type);
    Py_CLEAR(h->error_args);
    Py_CLEAR(h->keeps);
    PyObject_Free(self);
}

// ---------------------------------------------------------------- function objects

// A library function (lib.f): a cdata of CData_Type itself, as cffi's (`type(lib.f) is
// ffi.CData`), of function type, with a vectorcall entry (data::CDataCallable's slot),
// its plan at hand and a GIL policy. CData_Type's dealloc frees it and releases its
// library (head.keeper, a LibraryHandle); the plan is kept alive by its function type.
struct LibFunction {
    data::CDataLibraryFunction head;  // head.callable.base: the CData header
    CallPlan* plan;                   // null until the first call
    const FunctionNames* names;       // interned (never freed), or null
    bool release_gil;
};

static inline CData& header(LibFunction* f) { return f->head.callable.base; }
static inline const LibraryHandle* library_of(const LibFunction* f) {
    return reinterpret_cast<const LibraryHandle*>(f->head.keeper);
}

// Whether `obj` is a library function (make_function): a CData_Type object with a call.
static bool is_lib_function(PyObject* obj) {
    return Py_IS_TYPE(obj, &data::CData_Type) &&
           reinterpret_cast<data::CDataCallable*>(obj)->vectorcall != nullptr;
}

static void specialize(LibFunction* f);

// The entry of every function object until its first call, and the general one after.
static PyObject* function_vectorcall(PyObject* self, PyObject* const* args, size_t nargsf,
                                     PyObject* kwnames) {
    auto* f = reinterpret_cast<LibFunction*>(self);
    if (kwnames && PyTuple_GET_SIZE(kwnames)) {
        PyErr_SetString(PyExc_TypeError,
                        "a cdata function cannot be called with keyword arguments");
        return nullptr;
    }
    if (raise_if_closed(library_of(f))) return nullptr;
    CData& cd = header(f);
    // f->plan and the entry are caches: any thread may fill them, with the same values.
    CallPlan* plan = ft::load_acquire(f->plan);
    if (!plan) {
        if (!(plan = plan_for(cd.ctype))) return nullptr;
        ft::store_release(f->plan, plan);
    }
    PyObject* r = invoke(cd.ctype, plan, cd.data, args, PyVectorcall_NARGS(nargsf), f->release_gil);
    if (ft::load_relaxed(f->head.callable.vectorcall) == function_vectorcall) specialize(f);
    return r;
}

// The entry of a function whose thunk takes N arguments (N small), from its second call:
// the fast path with the argument count fixed at compile time, the general entry for
// anything else (another count, keywords, arguments the fast path does not take).
template <Py_ssize_t N>
static PyObject* function_vectorcall_fixed(PyObject* self, PyObject* const* args, size_t nargsf,
                                           PyObject* kwnames) {
    auto* f = reinterpret_cast<LibFunction*>(self);
    if (PyVectorcall_NARGS(nargsf) == N && !kwnames && !force_libffi && !library_of(f)->closed) {
        PyObject* r;
        const CallPlan* plan = ft::load_relaxed(f->plan);  // set before this entry was
        if (invoke_fast<N>(plan, header(f).data, args, f->release_gil, &r)) return r;
    }
    return function_vectorcall(self, args, nargsf, kwnames);
}

// Switches `f` to its fixed-count entry once its plan exists (built by the first call)
// and its thunk can make the call.
static void specialize(LibFunction* f) {
    static constexpr vectorcallfunc fixed[] = {
        function_vectorcall_fixed<0>, function_vectorcall_fixed<1>, function_vectorcall_fixed<2>,
        function_vectorcall_fixed<3>, function_vectorcall_fixed<4>, function_vectorcall_fixed<5>,
        function_vectorcall_fixed<6>,
    };
    const CallPlan* plan = ft::load_acquire(f->plan);
    if (!plan || !header(f).data || plan->fast_nargs < 0 ||
        plan->fast_nargs >= static_cast<Py_ssize_t>(std::size(fixed)))
        return;
    // CPython reads the slot without a lock: a pointer-sized store is seen whole, and
    // either entry makes the call (the fixed one reads f->plan, published above).
    ft::store_release(f->head.callable.vectorcall, fixed[plan->fast_nargs]);
}

const FunctionNames* intern_function_names(const std::string& name,
                                           const std::vector<std::string>& params) {
    static auto* table = new std::map<std::pair<std::string, std::vector<std::string>>,
                                      std::unique_ptr<FunctionNames>>();
    static ft::Mutex table_mutex;  // libraries of different FFIs bind from any thread
    ft::Lock lock(table_mutex);
    auto& slot = (*table)[{name, params}];
    if (!slot) slot.reset(new FunctionNames{name, params});
    return slot.get();
}

PyObject* make_function(CType* fntype, void* address, bool release_gil, LibraryHandle* library,
                        const FunctionNames* names) {
    if (fntype->kind != Kind::Function) {
        PyErr_Format(PyExc_TypeError, "expected a function ctype, got '%s'", fntype->cname.c_str());
        return nullptr;
    }
    // CData_Type's objects are CDataCallable; this one is larger (freed by PyObject_Free,
    // CData_Type's tp_free, as PyObject_Malloc's memory must be).
    auto* f = static_cast<LibFunction*>(PyObject_Malloc(sizeof(LibFunction)));
    if (!f) return PyErr_NoMemory();
    PyObject_Init(reinterpret_cast<PyObject*>(f), &data::CData_Type);
    Py_INCREF(fntype);
    CData& cd = header(f);
    cd.ctype = fntype;
    cd.data = static_cast<char*>(address);
    cd.length = 0;
    cd.flags = 0;
    cd.weakreflist = nullptr;
    f->head.callable.vectorcall = function_vectorcall;
    f->head.keeper = Py_NewRef(reinterpret_cast<PyObject*>(library));
    f->plan = nullptr;
    f->names = names;
    f->release_gil = release_gil;
    return reinterpret_cast<PyObject*>(f);
}

// The call slot of every other function pointer (ffi.cast, fields, callbacks): the
// tuple-based path, its plan looked up per call.
static PyObject* call_function_pointer(PyObject* self, PyObject* args, PyObject* kwargs) {
    auto* fn = reinterpret_cast<CData*>(self);
    if (kwargs && PyDict_GET_SIZE(kwargs)) {
        PyErr_SetString(PyExc_TypeError,
                        "a cdata function cannot be called with keyword arguments");
        return nullptr;
    }
    CallPlan* plan = plan_for(fn->ctype);
    if (!plan) return nullptr;
    return invoke(fn->ctype, plan, fn->data, &PyTuple_GET_ITEM(args, 0), PyTuple_GET_SIZE(args),
                  true);
}

// fn.map(*args, out=None, errors="raise") on every function pointer: call/batched.h.
// A library function gives its name (for messages) and its GIL policy.
static PyObject* function_map(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                              PyObject* kwnames) {
    auto* cd = reinterpret_cast<CData*>(self);
    MapTarget target{cd->ctype, cd->data, nullptr, true, self, nullptr};
    const LibraryHandle* library = is_lib_function(self)
                                       ? library_of(reinterpret_cast<LibFunction*>(self))
                                       : library_of_wrapped(self);
    if (library && raise_if_closed(library)) return nullptr;
    PyRef name;
    if (is_lib_function(self)) {
        auto* f = reinterpret_cast<LibFunction*>(self);
        target.release_gil = f->release_gil;
        if (f->names) {  // a library's function: its messages name it and its parameters
            name = PyRef(PyUnicode_FromString(f->names->name.c_str()));
            if (!name) return nullptr;
            target.name = name.get();
            target.param_names = &f->names->params;
        }
    }
    return map_calls(target, args, nargs, kwnames);
}

static PyMethodDef function_methods[] = {
    {"map", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(function_map)),
     METH_FASTCALL | METH_KEYWORDS,
     "map(*args, out=None, errors='raise')\n--\n\n"
     "Calls the function once per item of its array arguments (cdata arrays, buffers, NumPy\n"
     "arrays; single values are used in every call), with the GIL released once. Returns\n"
     "a new cdata array of the results, or `out`; None for a void function; with\n"
     "errors='mask', (results, mask).\n\n"
     "    lib.pow.map(numpy.arange(4.0), 2.0)  # <cdata 'double[]' owning 32 bytes>"},
    {nullptr, nullptr, 0, nullptr},
};

// cffix._core._force_libffi(flag): route every call through libffi (for tests that check
// the fast thunks and libffi agree on the same functions). Returns the previous setting.
static PyObject* set_force_libffi(PyObject*, PyObject* flag) {
    int v = PyObject_IsTrue(flag);
    if (v < 0) return nullptr;
    bool previous = force_libffi;
    force_libffi = v;
    return PyBool_FromLong(previous);
}

// A library function is a cdata of CData_Type itself (see LibFunction), which has no
// methods of its own (a struct's fields are attributes too): its `map` is found here,
// through data::set_function_attribute, after the fields (it has none).
static PyObject* function_attribute(PyObject* self, PyObject* name) {
    if (!is_lib_function(self) || !PyUnicode_Check(name) ||
        PyUnicode_CompareWithASCIIString(name, "map") != 0)
        return nullptr;
    return PyCMethod_New(&function_methods[0], self, nullptr, nullptr);
}

// cffix._core._call_path(ctype) -> "thunk" or "libffi": how a call through that function
// type (or pointer to one) goes when not forced (for tests that check which signatures
// the thunks take on this platform).
static PyObject* call_path(PyObject*, PyObject* arg) {
    if (!types::is_ctype(arg)) {
        PyErr_Format(PyExc_TypeError, "_call_path() expects a function ctype, got %.200s",
                     Py_TYPE(arg)->tp_name);
        return nullptr;
    }
    auto* t = reinterpret_cast<CType*>(arg);
    if (t->kind == Kind::Pointer && t->item->kind == Kind::Function) t = t->item;
    if (t->kind != Kind::Function) {
        PyErr_Format(PyExc_TypeError, "_call_path() expects a function ctype, got '%s'",
                     t->cname.c_str());
        return nullptr;
    }
    CallPlan* plan = plan_for(t);
    if (!plan) return nullptr;
    return PyUnicode_FromString(plan->thunk != Thunk::None ? "thunk" : "libffi");
}

static PyMethodDef call_module_methods[] = {
    {"_force_libffi", set_force_libffi, METH_O,
     "_force_libffi(flag) -> previous: make every call use libffi instead of the fast thunks"},
    {"_call_path", call_path, METH_O,
     "_call_path(ctype) -> 'thunk' or 'libffi': how calls of that function type are made"},
    {nullptr, nullptr, 0, nullptr},
};

bool init_call_types(PyObject* module) {
    PyTypeObject& h = LibraryHandle_Type;
    Py_SET_REFCNT(&h, 1);
    h.tp_name = "cffix._core.LibraryHandle";
    h.tp_basicsize = sizeof(LibraryHandle);
    h.tp_dealloc = library_handle_dealloc;
    h.tp_flags = Py_TPFLAGS_DEFAULT;
    h.tp_doc = "A loaded library as its function objects see it (internal).";
    if (PyType_Ready(&h) < 0 || !no_library()) return false;
    if (!data::init_function_type(call_function_pointer, function_methods)) return false;
    data::set_function_attribute(function_attribute);
    return PyModule_AddFunctions(module, call_module_methods) == 0;
}

}  // namespace cffix::call
