// FFI methods of the callback layer (ffi.callback, and the decorator object it returns
// without a callable): argument shaping around csrc/call/callback.h, which does the work.
#include "call/callback.h"

#include "ffi/object.h"
#include "util/args.h"

namespace cffix {

using types::CType;

// The decorator form: ffi.callback(cdecl, error=..., onerror=...) returns one of these;
// calling it with a function makes the callback.
struct CallbackDecorator {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    CType* ctype;  // owned
    PyObject* error;
    PyObject* onerror;
};

static PyTypeObject CallbackDecorator_Type;

// decorator(python_callable), as cffi's.
static PyObject* decorator_call(PyObject* self, PyObject* const* args, size_t nargsf,
                                PyObject* kwnames) {
    auto* d = reinterpret_cast<CallbackDecorator*>(self);
    static const char* const names[] = {"python_callable", nullptr};
    PyObject* callable = nullptr;
    if (!parse_args("callback decorator", names, 1, args, PyVectorcall_NARGS(nargsf), kwnames,
                    &callable))
        return nullptr;
    return call::make_callback(d->ctype, callable, d->error, d->onerror);
}

static PyObject* decorator_repr(PyObject* self) {
    auto* d = reinterpret_cast<CallbackDecorator*>(self);
    return PyUnicode_FromFormat("<cffix callback decorator for '%s'>", d->ctype->cname.c_str());
}

static int decorator_traverse(PyObject* self, visitproc visit, void* arg) {
    auto* d = reinterpret_cast<CallbackDecorator*>(self);
    Py_VISIT(reinterpret_cast<PyObject*>(d->ctype));
    Py_VISIT(d->error);
    Py_VISIT(d->onerror);
    return 0;
}

// Breaks cycles through `error`/`onerror` (an onerror that refers to the decorator);
// the decorator stays callable, without them.
static int decorator_clear(PyObject* self) {
    auto* d = reinterpret_cast<CallbackDecorator*>(self);
    Py_SETREF(d->error, Py_NewRef(Py_None));
    Py_SETREF(d->onerror, Py_NewRef(Py_None));
    return 0;
}

static void decorator_dealloc(PyObject* self) {
    auto* d = reinterpret_cast<CallbackDecorator*>(self);
    PyObject_GC_UnTrack(self);
    Py_CLEAR(d->ctype);
    Py_CLEAR(d->error);
    Py_CLEAR(d->onerror);
    PyObject_GC_Del(self);
}

static PyObject* new_decorator(CType* t, PyObject* error, PyObject* onerror) {
    PyTypeObject& type = CallbackDecorator_Type;
    if (!type.tp_name) {
        Py_SET_REFCNT(&type, 1);
        type.tp_name = "cffix.CallbackDecorator";
        type.tp_basicsize = sizeof(CallbackDecorator);
        type.tp_dealloc = decorator_dealloc;
        type.tp_repr = decorator_repr;
        type.tp_vectorcall_offset = offsetof(CallbackDecorator, vectorcall);
        type.tp_call = PyVectorcall_Call;
        type.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL;
        type.tp_doc = "decorator(python_callable): the callback cdata (from ffi.callback).";
        type.tp_traverse = decorator_traverse;
        type.tp_clear = decorator_clear;
        if (PyType_Ready(&type) < 0) {
            type.tp_name = nullptr;
            return nullptr;
        }
    }
    auto* d = PyObject_GC_New(CallbackDecorator, &type);
    if (!d) return nullptr;
    d->vectorcall = decorator_call;
    Py_INCREF(t);
    d->ctype = t;
    d->error = Py_NewRef(error);
    d->onerror = Py_NewRef(onerror);
    PyObject_GC_Track(d);
    return reinterpret_cast<PyObject*>(d);
}

// The function type is a CType, or a string naming a function pointer ("int(*)(int)") or
// a function ("int(int)").
static PyObject* ffi_callback(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                              PyObject* kwnames) {
    static const char* const names[] = {"cdecl", "python_callable", "error", "onerror", nullptr};
    PyObject* v[4] = {nullptr, Py_None, Py_None, Py_None};
    if (!parse_args("callback", names, 1, args, nargs, kwnames, v)) return nullptr;
    PyObject *callable = v[1], *error = v[2], *onerror = v[3];
    CType* t = ctype_arg(self, v[0], FunctionTypes::AsPointer);
    if (!t) return nullptr;
    if (callable != Py_None) return call::make_callback(t, callable, error, onerror);
    // Decorator: check everything but the callable now, so mistakes point here.
    if (!call::check_callback_type(t, error, onerror)) return nullptr;
    return new_decorator(t, error, onerror);
}

PyMethodDef ffi_callback_methods[] = {
    {"callback", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(ffi_callback)),
     METH_FASTCALL | METH_KEYWORDS,
     "callback(cdecl, python_callable=None, error=None, onerror=None)\n--\n\n"
     "A C function pointer of type cdecl that calls python_callable; without python_callable, "
     "a decorator. C receives `error` (default 0/NULL) if the callable raises; onerror(exc, "
     "value, tb) may return a result instead. Keep the result alive while C may call it.\n\n"
     "    add = ffi.callback('int(int, int)', lambda a, b: a + b)   # or @ffi.callback(...)"},
    {nullptr, nullptr, 0, nullptr},
};

}  // namespace cffix
