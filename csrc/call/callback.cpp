// Callbacks: libffi closures that call a Python callable (see callback.h).
//
// Executable memory (W^X). Debian's libffi 3.4.4 is configured with
// --disable-exec-static-tramp, so its closure allocator maps pages readable, writable and
// executable at once ("rwxp" in /proc/self/maps). cffix does not use that path where it
// can: the code address of a callback is a slot of the pre-built trampoline pool in
// cffix's own read-only text (call/trampoline.h); only ordinary heap memory is written.
// libffi's allocator remains the fallback (other platforms, or more than the pool's
// callbacks alive at once).
#include "call/callback.h"

#include <ffi.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "call/plan.h"
#include "call/trampoline.h"
#include "data/convert.h"
#include "data/ownership.h"
#include "util/errors.h"

namespace cffix::call {

PyTypeObject CDataCallback_Type;

namespace {

using data::CData;
using types::Conv;
using types::CType;
using types::Kind;
using CTypeRef = Ref<CType>;

// How the handler writes a result into libffi's return slot: integral results narrower
// than ffi_arg must fill the whole ffi_arg, sign- or zero-extended (libffi's closure
// contract; C callers may rely on the extension).
enum class Widen : uint8_t { None, Signed, Unsigned };

// Everything libffi needs for one function type, built once and shared by every
// callback of that type. (The call layer's CallPlan holds a cif of its own: its libffi
// types come from the same LibffiTypes rules.)
struct Signature {
    explicit Signature(ffi_abi abi) : types(abi) {}
    CTypeRef fntype;
    ffi_cif cif{};
    ffi_type* result_type = nullptr;
    std::vector<ffi_type*> arg_types;
    // Per argument: the interned 'S *' for a struct passed by value (the handler gives
    // the callable an owned copy, reached as a 'S &' view), else null.
    std::vector<CTypeRef> record_pointers;
    size_t result_size = 0;  // 0 for void
    bool result_record = false;
    Widen widen = Widen::None;
    LibffiTypes types;  // owns the struct ffi_types
};

// The non-Python state of one callback, immutable once made (the handler reads it
// before it holds the GIL).
struct CallbackState {
    std::shared_ptr<const Signature> sig;
    std::vector<char> error_value;  // result_size bytes (operator new: 16-byte aligned)
};

struct CDataCallback : CData {
    PyObject* callable;    // null only after tp_clear broke a reference cycle
    PyObject* onerror;     // null: none
    ffi_closure* closure;  // the writable address; `data` is its code address
    CallbackState* state;  // owned
};

// ---------------------------------------------------------------- signatures

Widen widen_of(const CType* t) {
    if (t->size >= static_cast<int64_t>(sizeof(ffi_arg))) return Widen::None;
    switch (t->conv) {
        case Conv::Int8:
        case Conv::Int16:
        case Conv::Int32: return Widen::Signed;
        case Conv::UInt8:
        case Conv::UInt16:
        case Conv::UInt32:
        case Conv::Bool:
        case Conv::WChar16: return Widen::Unsigned;
        case Conv::Char: return std::is_signed_v<char> ? Widen::Signed : Widen::Unsigned;
        case Conv::WChar32: return (t->flags & types::PF_SIGNED) ? Widen::Signed : Widen::Unsigned;
        default: return Widen::None;
    }
}

void raise_unsupported(CType* fntype, const char* where, const LibffiTypes& types) {
    PyErr_Format(types.problem_type(), "callback type '%s': %s: %s", fntype->cname.c_str(), where,
                 types.problem().c_str());
}

std::shared_ptr<const Signature> build_signature(CType* fntype) {
    if (fntype->ellipsis) {
        PyErr_Format(PyExc_NotImplementedError,
                     "callback type '%s' is variadic: a callback cannot receive '...' "
                     "arguments (declare the arguments it is called with)",
                     fntype->cname.c_str());
        return nullptr;
    }
    auto sig = std::make_shared<Signature>(static_cast<ffi_abi>(fntype->abi));
    sig->fntype = CTypeRef::borrow(fntype);
    CType* result = fntype->item;
    if (result->kind == Kind::Void) {
        sig->result_type = &ffi_type_void;
    } else {
        sig->result_type = sig->types.of(result);
        if (!sig->result_type) {
            raise_unsupported(fntype, "the result", sig->types);
            return nullptr;
        }
        sig->result_size = static_cast<size_t>(result->size);
        sig->result_record = result->kind == Kind::Struct;
        sig->widen = widen_of(result);
    }
    for (size_t i = 0; i < fntype->args.size(); ++i) {
        CType* a = fntype->args[i];
        ffi_type* at = sig->types.of(a);
        if (!at) {
            std::string where = "argument " + std::to_string(i + 1);
            raise_unsupported(fntype, where.c_str(), sig->types);
            return nullptr;
        }
        sig->arg_types.push_back(at);
        CTypeRef pointer;
        if (a->kind == Kind::Struct) {
            try {
                pointer = CTypeRef(types::pointer_type(a));
            } catch (...) {
                cffix::translate_exception();
                return nullptr;
            }
        }
        sig->record_pointers.push_back(std::move(pointer));
    }
    ffi_status status = ffi_prep_cif(&sig->cif, static_cast<ffi_abi>(fntype->abi),
                                     static_cast<unsigned>(sig->arg_types.size()), sig->result_type,
                                     sig->arg_types.data());
    if (status != FFI_OK) {
        PyErr_Format(PyExc_NotImplementedError,
                     "callback type '%s': libffi cannot prepare this signature (status %d)",
                     fntype->cname.c_str(), static_cast<int>(status));
        return nullptr;
    }
    return sig;
}

// One Signature per function type, guarded by the GIL. The map holds the type (so its
// address is never reused for another type) and is never freed: entries are few (one
// per callback signature in use) and must not be released after the interpreter.
std::shared_ptr<const Signature> signature_of(CType* fntype) {
    static auto* cache = new std::unordered_map<CType*, std::shared_ptr<const Signature>>();
    auto it = cache->find(fntype);
    if (it != cache->end()) return it->second;
    std::shared_ptr<const Signature> sig = build_signature(fntype);
    if (sig) cache->emplace(fntype, sig);
    return sig;
}

// ---------------------------------------------------------------- results

// Copies a C value of the result type (result_size bytes at `value`) into libffi's
// return slot, widened as libffi requires.
void store_result(const Signature& s, void* ret, const char* value) {
    if (s.widen == Widen::None) {
        memcpy(ret, value, s.result_size);
        return;
    }
    bool is_signed = s.widen == Widen::Signed;
    ffi_arg wide = 0;
    switch (s.result_size) {
        case 1: {
            uint8_t v;
            memcpy(&v, value, 1);
            wide =
                is_signed ? static_cast<ffi_arg>(static_cast<ffi_sarg>(static_cast<int8_t>(v))) : v;
            break;
        }
        case 2: {
            uint16_t v;
            memcpy(&v, value, 2);
            wide = is_signed ? static_cast<ffi_arg>(static_cast<ffi_sarg>(static_cast<int16_t>(v)))
                             : v;
            break;
        }
        default: {
            uint32_t v;
            memcpy(&v, value, 4);
            wide = is_signed ? static_cast<ffi_arg>(static_cast<ffi_sarg>(static_cast<int32_t>(v)))
                             : v;
            break;
        }
    }
    memcpy(ret, &wide, sizeof wide);
}

// Converts what the callable returned into the return slot. False with an exception.
bool store_python_result(const Signature& s, void* ret, PyObject* value) {
    CType* t = s.fntype->item;
    if (s.result_type == &ffi_type_void) {
        if (value == Py_None) return true;
        PyErr_Format(PyExc_TypeError,
                     "callback with the return type 'void' must return None, not %s",
                     Py_TYPE(value)->tp_name);
        return false;
    }
    if (s.result_record) return data::to_c(t, static_cast<char*>(ret), value);
    alignas(16) char tmp[32] = {};
    if (!data::to_c(t, tmp, value)) return false;
    store_result(s, ret, tmp);
    return true;
}

// ---------------------------------------------------------------- errors

// Reports the pending exception through sys.unraisablehook with `message` (after
// "Exception ignored "), as cffi does: the hook's err_msg names the callback.
void write_unraisable(const std::string& message) {
#if PY_VERSION_HEX >= 0x030D0000
    PyErr_FormatUnraisable("Exception ignored %s", message.c_str());
#else
    _PyErr_WriteUnraisableMsg(message.c_str(), nullptr);
#endif
}

std::string repr_of(PyObject* obj) {
    if (!obj) return "<cleared callable>";
    PyRef r(PyObject_Repr(obj));
    const char* text = r ? PyUnicode_AsUTF8(r.get()) : nullptr;
    if (!text) {
        PyErr_Clear();
        return std::string("<") + Py_TYPE(obj)->tp_name + " object>";
    }
    return text;
}

struct SavedException {
    PyObject *type = nullptr, *value = nullptr, *traceback = nullptr;
    void fetch() {
        PyErr_Fetch(&type, &value, &traceback);
        PyErr_NormalizeException(&type, &value, &traceback);
        if (value && traceback) PyException_SetTraceback(value, traceback);
    }
    void restore() {  // gives the references back to the thread state
        PyErr_Restore(type, value, traceback);
        type = value = traceback = nullptr;
    }
    ~SavedException() {
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(traceback);
    }
};

// The callable raised (or its result did not convert): the error value, or what
// `onerror` returns, goes back to C; the exception goes to onerror or the hook.
void handle_error(CDataCallback* cb, void* ret, bool converting_result) {
    const Signature& s = *cb->state->sig;
    SavedException original;
    original.fetch();
    if (s.result_size) store_result(s, ret, cb->state->error_value.data());
    std::string message = "from cffix callback " + repr_of(cb->callable);
    if (converting_result) message += ", trying to convert the result back to C";
    if (cb->onerror) {
        PyObject* onerror = cb->onerror;
        Py_INCREF(onerror);  // a callable that clears itself must not free itself mid-call
        PyRef handled(PyObject_CallFunctionObjArgs(
            onerror, original.type ? original.type : Py_None,
            original.value ? original.value : Py_None,
            original.traceback ? original.traceback : Py_None, nullptr));
        PyObject* value = handled.get();
        bool ok = value && (value == Py_None || store_python_result(s, ret, value));
        Py_DECREF(onerror);
        if (ok) return;
        // onerror failed: report what it was handling, then its own exception.
        SavedException own;
        own.fetch();
        if (s.result_size) store_result(s, ret, cb->state->error_value.data());
        original.restore();
        write_unraisable(message);
        own.restore();
        write_unraisable("during handling of the above exception by 'onerror'");
        return;
    }
    original.restore();
    write_unraisable(message);
}

// ---------------------------------------------------------------- the handler

PyObject* arg_to_python(const Signature& s, size_t i, void* src) {
    CType* t = s.fntype->args[i];
    if (CType* pointer = s.record_pointers[i].get()) {
        // A struct by value lives in libffi's frame only during the call: give the
        // callable its own copy, which it may keep.
        Ref<CData> copy(data::new_owned(pointer, static_cast<Py_ssize_t>(t->size), 0));
        if (!copy) return nullptr;
        memcpy(copy->data, src, static_cast<size_t>(t->size));
        return data::from_c(t, copy->data, copy.object());
    }
    return data::from_c(t, static_cast<char*>(src), nullptr);
}

void run_callback(CDataCallback* cb, void* ret, void** args) {
    const Signature& s = *cb->state->sig;
    if (!cb->callable) {
        PyErr_SetString(PyExc_RuntimeError,
                        "callback called after the garbage collector "
                        "cleared it (keep the callback cdata alive)");
        handle_error(cb, ret, false);
        return;
    }
    size_t n = s.arg_types.size();
    // One slot before the arguments, for PY_VECTORCALL_ARGUMENTS_OFFSET.
    PyObject* small[9];
    std::vector<PyObject*> large;
    PyObject** slots = small;
    if (n + 1 > std::size(small)) {
        large.resize(n + 1);
        slots = large.data();
    }
    PyObject** argv = slots + 1;
    size_t converted = 0;
    for (; converted < n; ++converted) {
        argv[converted] = arg_to_python(s, converted, args[converted]);
        if (!argv[converted]) break;
    }
    PyObject* result = nullptr;
    if (converted == n) {
        PyObject* callable = cb->callable;
        Py_INCREF(callable);
        result = PyObject_Vectorcall(callable, argv, n | PY_VECTORCALL_ARGUMENTS_OFFSET, nullptr);
        Py_DECREF(callable);
    }
    for (size_t i = 0; i < converted; ++i) Py_DECREF(argv[i]);
    if (!result) {
        handle_error(cb, ret, false);
        return;
    }
    bool stored = store_python_result(s, ret, result);
    Py_DECREF(result);
    if (!stored) handle_error(cb, ret, true);
}

// libffi's entry point for every callback; `user_data` is the CDataCallback.
void on_call(ffi_cif*, void* ret, void** args, void* user_data) {
    int caller_errno = errno;  // first: PyGILState_Ensure may change errno
    auto* cb = static_cast<CDataCallback*>(user_data);
    PyGILState_STATE gil = PyGILState_Ensure();
    {
        // A C function called with the GIL held may call back on the same thread: keep
        // whatever exception state that thread had.
        SavedException outer;
        if (PyErr_Occurred()) outer.fetch();
        data::saved_errno() = caller_errno;
        // The callable may drop the last reference to its own callback: keep the state
        // alive until the result is written. (Freeing the closure from here is safe:
        // libffi reads nothing from it once the handler runs.)
        Py_INCREF(cb);
        run_callback(cb, ret, args);
        Py_DECREF(cb);
        if (outer.type) outer.restore();
    }
    int callback_errno = data::saved_errno();
    PyGILState_Release(gil);
    errno = callback_errno;  // last, for the same reason
}

// ---------------------------------------------------------------- the cdata type

int callback_traverse(PyObject* self, visitproc visit, void* arg) {
    auto* cb = reinterpret_cast<CDataCallback*>(self);
    Py_VISIT(cb->callable);
    Py_VISIT(cb->onerror);
    Py_VISIT(reinterpret_cast<PyObject*>(cb->ctype));
    return 0;
}

int callback_clear(PyObject* self) {
    auto* cb = reinterpret_cast<CDataCallback*>(self);
    Py_CLEAR(cb->callable);
    Py_CLEAR(cb->onerror);
    return 0;
}

void callback_dealloc(PyObject* self) {
    auto* cb = reinterpret_cast<CDataCallback*>(self);
    PyObject_GC_UnTrack(self);
    if (cb->weakreflist) PyObject_ClearWeakRefs(self);
    callback_clear(self);
    if (cb->closure) closure_free(cb->closure, cb->data);
    delete cb->state;
    Py_CLEAR(cb->ctype);
    PyObject_GC_Del(self);
}

PyObject* callback_repr(PyObject* self) {
    auto* cb = reinterpret_cast<CDataCallback*>(self);
    if (!cb->callable)
        return PyUnicode_FromFormat("<cdata '%s' calling nothing (cleared)>",
                                    cb->ctype->cname.c_str());
    return PyUnicode_FromFormat("<cdata '%s' calling %R>", cb->ctype->cname.c_str(), cb->callable);
}

bool check_arguments(CType* fntype, PyObject* callable, PyObject* onerror) {
    if (fntype->kind != Kind::Function) {
        PyErr_Format(PyExc_TypeError, "expected a function ctype, got '%s'", fntype->cname.c_str());
        return false;
    }
    if (callable && !PyCallable_Check(callable)) {
        PyErr_SetString(PyExc_TypeError, "the 'python_callable' argument is not callable");
        return false;
    }
    if (onerror != Py_None && !PyCallable_Check(onerror)) {
        PyErr_Format(PyExc_TypeError, "expected a callable object for 'onerror', not %s",
                     Py_TYPE(onerror)->tp_name);
        return false;
    }
    return true;
}

// The signature and the converted error value of a callback of type `fntype`.
std::unique_ptr<CallbackState> make_state(CType* fntype, PyObject* error) {
    auto state = std::make_unique<CallbackState>();
    state->sig = signature_of(fntype);
    if (!state->sig) return nullptr;
    const Signature& s = *state->sig;
    state->error_value.assign(s.result_size ? s.result_size : 1, 0);
    if (error == Py_None) return state;
    if (s.result_size == 0) {
        PyErr_Format(PyExc_TypeError,
                     "callback type '%s' returns void: it takes no error value (got %s)",
                     fntype->cname.c_str(), Py_TYPE(error)->tp_name);
        return nullptr;
    }
    if (!data::to_c(fntype->item, state->error_value.data(), error)) return nullptr;
    return state;
}

}  // namespace

bool init_callback_type() {
    static bool ready = false;
    if (ready) return true;
    PyTypeObject& t = CDataCallback_Type;
    Py_SET_REFCNT(&t, 1);
    t.tp_name = "cffix.CDataCallback";
    t.tp_basicsize = sizeof(CDataCallback);
    t.tp_dealloc = callback_dealloc;
    t.tp_repr = callback_repr;
    t.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC;
    t.tp_doc = "A C function pointer that calls a Python callable (from ffi.callback).";
    t.tp_traverse = callback_traverse;
    t.tp_clear = callback_clear;
    t.tp_free = PyObject_GC_Del;
    t.tp_base = &data::CData_Type;  // the cdata protocols (cast, compare, call) are inherited
    if (PyType_Ready(&t) < 0) return false;
    ready = true;
    return true;
}

bool check_callback_type(CType* fntype, PyObject* error, PyObject* onerror) {
    return check_arguments(fntype, nullptr, onerror) && make_state(fntype, error) != nullptr;
}

PyObject* make_callback(CType* fntype, PyObject* callable, PyObject* error, PyObject* onerror) {
    if (!init_callback_type() || !check_arguments(fntype, callable, onerror)) return nullptr;
    std::unique_ptr<CallbackState> state = make_state(fntype, error);
    if (!state) return nullptr;
    void* code = nullptr;
    ffi_closure* closure = closure_alloc(&code);
    if (!closure) return PyErr_NoMemory();
    CDataCallback* cb = PyObject_GC_New(CDataCallback, &CDataCallback_Type);
    if (!cb) {
        closure_free(closure, code);
        return nullptr;
    }
    Py_INCREF(fntype);
    cb->ctype = fntype;
    cb->data = static_cast<char*>(code);
    cb->length = 0;
    cb->flags = 0;
    cb->weakreflist = nullptr;
    cb->callable = Py_NewRef(callable);
    cb->onerror = onerror == Py_None ? nullptr : Py_NewRef(onerror);
    cb->closure = closure;
    cb->state = state.release();
    // The closure refers to the shared signature's cif, which the state keeps alive.
    ffi_status status = ffi_prep_closure_loc(closure, const_cast<ffi_cif*>(&cb->state->sig->cif),
                                             on_call, cb, code);
    PyObject_GC_Track(cb);
    if (status != FFI_OK) {
        Py_DECREF(cb);
        return PyErr_Format(PyExc_SystemError, "libffi could not prepare the closure (status %d)",
                            static_cast<int>(status));
    }
    if (!closure_activate(closure, code)) {
        Py_DECREF(cb);
        return nullptr;
    }
    return reinterpret_cast<PyObject*>(cb);
}

}  // namespace cffix::call
