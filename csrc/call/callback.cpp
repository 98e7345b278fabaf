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

#include "call/errno.h"
#include "call/plan.h"
#include "call/trampoline.h"
#include "data/argument.h"
#include "util/errors.h"

namespace cffix::call {

PyTypeObject CDataCallback_Type;

namespace {

using data::CData;
using types::Conv;
using types::CType;
using types::Kind;

// The non-Python state of one callback, immutable once made (the handler reads it
// before it holds the GIL).
struct CallbackState {
    const CallPlan* plan;           // the type's, shared with calls; the callback holds the type
    size_t result_size;             // bytes of the result type, 0 for void
    std::vector<char> error_value;  // result_size bytes (operator new: 16-byte aligned)
};

struct CDataCallback : CData {
    PyObject* callable;    // null only after tp_clear broke a reference cycle
    PyObject* onerror;     // null: none
    ffi_closure* closure;  // the writable address; `data` is its code address
    CallbackState* state;  // owned
};

// ---------------------------------------------------------------- results

// Copies a C value of the result type at `value` into libffi's return slot: an integer
// narrower than ffi_arg fills the whole ffi_arg, sign- or zero-extended as a register
// holds it (libffi's closure contract; C callers may rely on the extension).
void store_result(const CallbackState& s, void* ret, const char* value) {
    if (!s.plan->result_widened) {
        memcpy(ret, value, s.result_size);
        return;
    }
    auto wide = static_cast<ffi_arg>(data::register_integer(s.plan->result, value));
    memcpy(ret, &wide, sizeof wide);
}

// Converts what the callable returned into the return slot. False with an exception.
bool store_python_result(const CallbackState& s, void* ret, PyObject* value) {
    CType* t = s.plan->result;
    if (s.result_size == 0) {
        if (value == Py_None) return true;
        PyErr_Format(PyExc_TypeError,
                     "callback with the return type 'void' must return None, not %s",
                     Py_TYPE(value)->tp_name);
        return false;
    }
    if (t->conv == Conv::Record) {  // to_c leaves members the value omits as they are
        memset(ret, 0, s.result_size);
        return data::to_c(t, static_cast<char*>(ret), value);
    }
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
    const CallbackState& s = *cb->state;
    SavedException original;
    original.fetch();
    if (s.result_size) store_result(s, ret, s.error_value.data());
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
        if (s.result_size) store_result(s, ret, s.error_value.data());
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

void run_callback(CDataCallback* cb, void* ret, void** args) {
    const CallbackState& s = *cb->state;
    if (!cb->callable) {
        PyErr_SetString(PyExc_RuntimeError,
                        "callback called after the garbage collector "
                        "cleared it (keep the callback cdata alive)");
        handle_error(cb, ret, false);
        return;
    }
    CType* fntype = cb->ctype;
    size_t n = fntype->args.size();
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
        // Structs by value are copied out of libffi's frame (data::box_record).
        argv[converted] =
            data::value_from_c(fntype->args[converted], static_cast<char*>(args[converted]));
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
        saved_errno() = caller_errno;
        // The callable may drop the last reference to its own callback: keep the state
        // alive until the result is written. (Freeing the closure from here is safe:
        // libffi reads nothing from it once the handler runs.)
        Py_INCREF(cb);
        run_callback(cb, ret, args);
        Py_DECREF(cb);
        if (outer.type) outer.restore();
    }
    int callback_errno = saved_errno();
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

// The plan and the converted error value of a callback of type `fntype`.
std::unique_ptr<CallbackState> make_state(CType* fntype, PyObject* error) {
    if (fntype->ellipsis) {
        PyErr_Format(PyExc_NotImplementedError,
                     "callback type '%s' is variadic: a callback cannot receive '...' "
                     "arguments (declare the arguments it is called with)",
                     fntype->cname.c_str());
        return nullptr;
    }
    auto state = std::make_unique<CallbackState>();
    state->plan = plan_for(fntype);
    if (!state->plan) return nullptr;
    CType* result = fntype->item;
    state->result_size = result->kind == Kind::Void ? 0 : static_cast<size_t>(result->size);
    state->error_value.assign(state->result_size ? state->result_size : 1, 0);
    if (error == Py_None) return state;
    if (state->result_size == 0) {
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
    t.tp_base = &data::CDataFunction_Type;  // the cdata protocols and the call slot are inherited
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
    // The closure refers to the plan's cif, which lives as long as the type the
    // callback holds.
    ffi_status status = ffi_prep_closure_loc(closure, const_cast<ffi_cif*>(&cb->state->plan->cif),
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
