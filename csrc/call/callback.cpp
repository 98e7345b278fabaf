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

#include <memory>

#include "call/plan.h"
#include "call/python_call.h"
#include "call/trampoline.h"
#include "util/errors.h"

namespace cffix::call {

PyTypeObject CDataCallback_Type;

namespace {

using data::CData;
using types::CType;
using types::Kind;

struct CDataCallback : CData {
    PyObject* callable;    // null only after tp_clear broke a reference cycle
    PyObject* onerror;     // null: none
    ffi_closure* closure;  // the writable address; `data` is its code address
    PythonCallee* callee;  // owned; its result slot is libffi's (widened)
    const CallPlan* plan;  // the type's, shared with calls; the callback holds the type
};

// ---------------------------------------------------------------- the handler

// libffi's entry point for every callback; `user_data` is the CDataCallback.
void on_call(ffi_cif*, void* ret, void** args, void* user_data) {
    cffix_python_entry entry;
    enter_python(entry);  // first: it reads the caller's errno
    auto* cb = static_cast<CDataCallback*>(user_data);
    // The callable may drop the last reference to its own callback: keep the state alive
    // until the result is written. (Freeing the closure from here is safe: libffi reads
    // nothing from it once the handler runs.)
    Py_INCREF(cb);
    if (cb->callable) {
        call_python(*cb->callee, cb->callable, cb->onerror, ret, args);
    } else {
        PyErr_SetString(PyExc_RuntimeError,
                        "callback called after the garbage collector "
                        "cleared it (keep the callback cdata alive)");
        report_error(*cb->callee, nullptr, cb->onerror, ret, false);
    }
    Py_DECREF(cb);
    leave_python(entry);
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
    delete cb->callee;
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
    return check_onerror(onerror);
}

// The callee of a callback of type `fntype`, with its call plan (libffi's cif).
std::unique_ptr<PythonCallee> make_callback_callee(CType* fntype, PyObject* error,
                                                   const CallPlan** plan) {
    // cffi says the same for every type it cannot make a callback of; cffix's reason is
    // the note.
    auto refused = [&] {
        cffix::restate_error(PyExc_NotImplementedError,
                             fntype->cname +
                                 ": callback with unsupported argument or return type or "
                                 "with '...'");
        return nullptr;
    };
    if (fntype->ellipsis) {
        make_callee(fntype, error, false);  // refused, by name
        return refused();
    }
    *plan = plan_for(fntype);
    if (!*plan) return refused();
    return make_callee(fntype, error, (*plan)->result_widened);
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
    const CallPlan* plan = nullptr;
    return check_arguments(fntype, nullptr, onerror) &&
           make_callback_callee(fntype, error, &plan) != nullptr;
}

PyObject* make_callback(CType* fntype, PyObject* callable, PyObject* error, PyObject* onerror) {
    if (!init_callback_type() || !check_arguments(fntype, callable, onerror)) return nullptr;
    const CallPlan* plan = nullptr;
    std::unique_ptr<PythonCallee> callee = make_callback_callee(fntype, error, &plan);
    if (!callee) return nullptr;
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
    cb->callee = callee.release();
    cb->plan = plan;
    // The closure refers to the plan's cif, which lives as long as the type the
    // callback holds.
    ffi_status status =
        ffi_prep_closure_loc(closure, const_cast<ffi_cif*>(&plan->cif), on_call, cb, code);
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
