// FFI methods of the callback layer (ffi.callback): argument shaping around
// csrc/call/callback.h, which does the work.
#include "call/callback.h"
#include "ffi/object.h"
#include "util/errors.h"

namespace cffix {

using types::CType;

// "int(int, int)" names a function type, which typeof() refuses; callback() takes it as
// the pointer-to-function type, as cffi does. A parameter of function type is adjusted
// to a pointer, so the pointer type is the sole parameter of "void(*)(<cdecl>)". Null
// (no exception set) when that does not give a function pointer either.
static CType* function_as_pointer(PyObject* self, PyObject* cdecl) {
    PyRef wrapped(PyUnicode_FromFormat("void(*)(%U)", cdecl));
    if (!wrapped) {
        PyErr_Clear();
        return nullptr;
    }
    try {
        CType* t = ffi_to_ctype(self, wrapped.get());
        if (t->kind == types::Kind::Function && t->args.size() == 1 &&
            t->args[0]->kind == types::Kind::Function)
            return t->args[0];  // owned by `t`, which the typeof cache holds
    } catch (...) {
        PyErr_Clear();
    }
    return nullptr;
}

// The function type a callback is made for: a CType, or a string naming a function
// pointer ("int(*)(int)") or a function ("int(int)"). Borrowed, or null with an exception.
static CType* callback_ctype(PyObject* self, PyObject* cdecl) {
    try {
        return ffi_to_ctype(self, cdecl);
    } catch (const cffix::Error& e) {
        if (e.kind() == cffix::ErrorKind::CDefError && PyUnicode_Check(cdecl))
            if (CType* t = function_as_pointer(self, cdecl)) return t;
        cffix::translate_exception();
        return nullptr;
    } catch (...) {
        cffix::translate_exception();
        return nullptr;
    }
}

// The decorator form: ffi.callback(cdecl, error=..., onerror=...) returns one of these;
// calling it with a function makes the callback.
struct CallbackDecorator {
    PyObject_HEAD
    CType* ctype;  // owned
    PyObject* error;
    PyObject* onerror;
};

static PyTypeObject CallbackDecorator_Type;

static PyObject* decorator_call(PyObject* self, PyObject* args, PyObject* kwargs) {
    auto* d = reinterpret_cast<CallbackDecorator*>(self);
    PyObject* callable;
    if (kwargs && PyDict_GET_SIZE(kwargs))
        return PyErr_Format(PyExc_TypeError, "a callback decorator takes no keyword arguments");
    if (!PyArg_ParseTuple(args, "O:callback decorator", &callable)) return nullptr;
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
        type.tp_call = decorator_call;
        type.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC;
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
    Py_INCREF(t);
    d->ctype = t;
    d->error = Py_NewRef(error);
    d->onerror = Py_NewRef(onerror);
    PyObject_GC_Track(d);
    return reinterpret_cast<PyObject*>(d);
}

static PyObject* ffi_callback(PyObject* self, PyObject* args, PyObject* kwargs) {
    static const char* keywords[] = {"cdecl", "python_callable", "error", "onerror", nullptr};
    PyObject *cdecl, *callable = Py_None, *error = Py_None, *onerror = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|OOO:callback", const_cast<char**>(keywords),
                                     &cdecl, &callable, &error, &onerror))
        return nullptr;
    CType* t = callback_ctype(self, cdecl);
    if (!t) return nullptr;
    if (callable != Py_None) return call::make_callback(t, callable, error, onerror);
    // Decorator: check everything but the callable now, so mistakes point here.
    if (!call::check_callback_type(t, error, onerror)) return nullptr;
    return new_decorator(t, error, onerror);
}

PyMethodDef ffi_callback_methods[] = {
    {"callback", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(ffi_callback)),
     METH_VARARGS | METH_KEYWORDS,
     "callback(cdecl, python_callable=None, error=None, onerror=None)\n--\n\n"
     "A C function pointer of type cdecl that calls python_callable; without python_callable, "
     "a decorator. C receives `error` (default 0/NULL) if the callable raises; onerror(exc, "
     "value, tb) may return a result instead. Keep the result alive while C may call it.\n\n"
     "    add = ffi.callback('int(int, int)', lambda a, b: a + b)   # or @ffi.callback(...)"},
    {nullptr, nullptr, 0, nullptr},
};

}  // namespace cffix
