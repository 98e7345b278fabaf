// FFI methods of the callback layer: ffi.callback (and the decorator object it returns
// without a callable) and ffi.def_extern (API mode's extern "Python" functions, whose
// decorator is the same object): argument shaping around csrc/call/callback.h and
// csrc/call/extern_python.h, which do the work.
#include "call/callback.h"

#include "call/extern_python.h"
#include "ffi/object.h"
#include "util/args.h"
#include "util/errors.h"
#include "util/ft.h"

namespace cffix {

using types::CType;

// The decorator form: ffi.callback(cdecl, error=..., onerror=...) returns one of these;
// calling it with a function makes the callback. ffi.def_extern(name, error, onerror)
// returns one too (`ffi` set, no `ctype`); calling it attaches the function.
struct CallbackDecorator {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    CType* ctype;  // owned; null for def_extern
    PyObject* error;
    PyObject* onerror;
    PyObject* ffi;   // def_extern: the FFI (owned; it owns the extern "Python" table)
    PyObject* name;  // def_extern: the name given, or None for the function's __name__
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

// decorator(python_callable) of def_extern: attaches it and returns it unchanged, as
// cffi's.
static PyObject* extern_decorator_call(PyObject* self, PyObject* const* args, size_t nargsf,
                                       PyObject* kwnames) {
    auto* d = reinterpret_cast<CallbackDecorator*>(self);
    static const char* const names[] = {"python_callable", nullptr};
    PyObject* callable = nullptr;
    if (!parse_args("def_extern decorator", names, 1, args, PyVectorcall_NARGS(nargsf), kwnames,
                    &callable))
        return nullptr;
    PyRef name(d->name == Py_None ? PyObject_GetAttrString(callable, "__name__")
                                  : Py_NewRef(d->name));
    if (!name) return nullptr;
    if (!PyUnicode_Check(name.get()))
        return PyErr_Format(PyExc_TypeError,
                            d->name == Py_None
                                ? "def_extern(): the function's __name__ is %s, not a str"
                                : "def_extern(): 'name' must be a str or None, not %s",
                            Py_TYPE(name.get())->tp_name);
    auto* ffi = reinterpret_cast<FFIObject*>(d->ffi);
    ft::CriticalSection section(d->ffi);  // the scope, and one def_extern() at a time
    if (!ffi->scope) {
        PyErr_SetString(error_classes.ffi_error, "FFI object is not initialized");
        return nullptr;
    }
    if (!call::attach_extern_python(*ffi->scope, ffi->extern_python, name.get(), callable, d->error,
                                    d->onerror))
        return nullptr;
    return Py_NewRef(callable);
}

static PyObject* decorator_repr(PyObject* self) {
    auto* d = reinterpret_cast<CallbackDecorator*>(self);
    if (!d->ctype) {
        if (d->name == Py_None) return PyUnicode_FromString("<cffix def_extern decorator>");
        return PyUnicode_FromFormat("<cffix def_extern decorator for '%U'>", d->name);
    }
    return PyUnicode_FromFormat("<cffix callback decorator for '%s'>", d->ctype->cname.c_str());
}

static int decorator_traverse(PyObject* self, visitproc visit, void* arg) {
    auto* d = reinterpret_cast<CallbackDecorator*>(self);
    Py_VISIT(reinterpret_cast<PyObject*>(d->ctype));
    Py_VISIT(d->error);
    Py_VISIT(d->onerror);
    Py_VISIT(d->ffi);
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
    Py_CLEAR(d->ffi);
    Py_CLEAR(d->name);
    PyObject_GC_Del(self);
}

static bool ready_decorator_type() {
    PyTypeObject& type = CallbackDecorator_Type;
    if (type.tp_name) return true;
    Py_SET_REFCNT(&type, 1);
    type.tp_name = "cffix.CallbackDecorator";
    type.tp_basicsize = sizeof(CallbackDecorator);
    type.tp_dealloc = decorator_dealloc;
    type.tp_repr = decorator_repr;
    type.tp_vectorcall_offset = offsetof(CallbackDecorator, vectorcall);
    type.tp_call = PyVectorcall_Call;
    type.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL;
    type.tp_doc =
        "decorator(python_callable): the callback cdata (from ffi.callback), or the function "
        "itself, attached to its extern \"Python\" declaration (from ffi.def_extern).";
    type.tp_traverse = decorator_traverse;
    type.tp_clear = decorator_clear;
    if (PyType_Ready(&type) < 0) {
        type.tp_name = nullptr;
        return false;
    }
    return true;
}

// A decorator of ffi.callback (`t`) or of ffi.def_extern (`ffi`, `name`).
static PyObject* new_decorator(CType* t, PyObject* error, PyObject* onerror, PyObject* ffi,
                               PyObject* name) {
    if (!ready_decorator_type()) return nullptr;
    auto* d = PyObject_GC_New(CallbackDecorator, &CallbackDecorator_Type);
    if (!d) return nullptr;
    d->vectorcall = t ? decorator_call : extern_decorator_call;
    Py_XINCREF(t);
    d->ctype = t;
    d->error = Py_NewRef(error);
    d->onerror = Py_NewRef(onerror);
    d->ffi = Py_XNewRef(ffi);
    d->name = Py_XNewRef(name);
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
    return new_decorator(t, error, onerror, nullptr, nullptr);
}

// ffi.def_extern(name=None, error=None, onerror=None): the decorator; the name, the
// callable and the error value are checked when it is applied, as in cffi.
static PyObject* ffi_def_extern(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                                PyObject* kwnames) {
    static const char* const names[] = {"name", "error", "onerror", nullptr};
    PyObject* v[3] = {Py_None, Py_None, Py_None};
    if (!parse_args("def_extern", names, 0, args, nargs, kwnames, v)) return nullptr;
    if (!reinterpret_cast<FFIObject*>(self)->extern_python) {
        PyErr_SetString(PyExc_ValueError,
                        "ffi.def_extern() is only available on API-mode FFI objects (the ffi "
                        "of a module built with set_source() and compile())");
        return nullptr;
    }
    return new_decorator(nullptr, v[1], v[2], self, v[0]);
}

PyMethodDef ffi_callback_methods[] = {
    {"callback", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(ffi_callback)),
     METH_FASTCALL | METH_KEYWORDS,
     "callback($self, cdecl, python_callable=None, error=None, onerror=None)\n--\n\n"
     "A C function pointer of type cdecl that calls python_callable; without python_callable, "
     "a decorator. C receives `error` (default 0/NULL) if the callable raises; onerror(exc, "
     "value, tb) may return a result instead. Keep the result alive while C may call it.\n\n"
     "    add = ffi.callback('int(int, int)', lambda a, b: a + b)   # or @ffi.callback(...)"},
    {"def_extern", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(ffi_def_extern)),
     METH_FASTCALL | METH_KEYWORDS,
     "def_extern($self, name=None, error=None, onerror=None)\n--\n\n"
     "API mode: a decorator that attaches a Python function to the extern \"Python\" "
     "function `name` (default: the decorated function's __name__) of this module's cdef, "
     "and returns it unchanged; a later def_extern() of the same name replaces it. C code "
     "calls the C function (lib.name is its address), from any thread. If the Python function "
     "raises, C receives `error` (default 0/NULL) and the exception goes to "
     "onerror(exc, value, tb), which may return a result instead, or to "
     "sys.unraisablehook, as with ffi.callback.\n\n"
     "    # build script: ffibuilder.cdef('extern \"Python\" int cb(int);')\n"
     "    from _mymod import ffi, lib\n"
     "    @ffi.def_extern(error=-1)\n"
     "    def cb(x):\n"
     "        return x * 2"},
    {nullptr, nullptr, 0, nullptr},
};

}  // namespace cffix
