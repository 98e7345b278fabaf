// An API-mode module's function objects (see module_function.h).
#include "data/module_function.h"

#include "util/errors.h"
#include "util/ft.h"
#include "util/pyref.h"

namespace cffix::data {

namespace {

// The `self` of a lib.f builtin: what the C function is.
struct FunctionInfo {
    PyObject_HEAD
    const char* name;     // the PyMethodDef's (static)
    PyObject* ffi;        // owned: keeps `scope` alive
    types::Scope* scope;  // borrowed from ffi; null once the GC cleared this object
    void* (*address)();   // the module's direct function's address
    PyObject* module;     // owned str: the module's name
    types::CType* type;   // owned once resolved
};

PyTypeObject FunctionInfo_Type;

FunctionInfo* info_of(PyObject* function) {
    return reinterpret_cast<FunctionInfo*>(PyCFunction_GET_SELF(function));
}

int traverse(PyObject* self, visitproc visit, void* arg) {
    Py_VISIT(reinterpret_cast<FunctionInfo*>(self)->ffi);
    return 0;
}

int clear(PyObject* self) {
    auto* f = reinterpret_cast<FunctionInfo*>(self);
    f->scope = nullptr;  // it dies with the FFI
    Py_CLEAR(f->ffi);
    return 0;
}

void dealloc(PyObject* self) {
    auto* f = reinterpret_cast<FunctionInfo*>(self);
    PyObject_GC_UnTrack(self);
    clear(self);
    Py_CLEAR(f->module);
    Py_XDECREF(reinterpret_cast<PyObject*>(f->type));
    PyObject_GC_Del(self);
}

PyObject* repr(PyObject* self) {
    auto* f = reinterpret_cast<FunctionInfo*>(self);
    return PyUnicode_FromFormat("<C function '%s' of %U.lib>", f->name, f->module);
}

}  // namespace

PyObject* new_module_function(const PyMethodDef* def, PyObject* ffi, types::Scope* scope,
                              void* (*address)(), PyObject* module_name) {
    FunctionInfo* f = PyObject_GC_New(FunctionInfo, &FunctionInfo_Type);
    if (!f) return nullptr;
    f->name = def->ml_name;
    f->ffi = Py_NewRef(ffi);
    f->scope = scope;
    f->address = address;
    f->module = Py_NewRef(module_name);
    f->type = nullptr;
    PyObject_GC_Track(f);
    PyRef info(reinterpret_cast<PyObject*>(f));
    return PyCFunction_NewEx(const_cast<PyMethodDef*>(def), info.get(), module_name);
}

bool is_module_function(PyObject* obj) {
    if (!PyCFunction_Check(obj)) return false;
    PyObject* self = PyCFunction_GET_SELF(obj);
    return self && Py_IS_TYPE(self, &FunctionInfo_Type);
}

types::CType* module_function_type(PyObject* obj) {
    FunctionInfo* f = info_of(obj);
    if (types::CType* known = ft::load_acquire(f->type)) return known;
    if (!f->scope) {
        PyErr_Format(PyExc_ValueError, "the FFI of function '%s' has been cleared", f->name);
        return nullptr;
    }
    try {
        types::GlobalDecl g = f->scope->find_global(f->name);
        if (!g.function) {
            PyErr_Format(PyExc_TypeError, "function '%s' is no longer declared", f->name);
            return nullptr;
        }
        // Threads that race here find the same type: the first stored keeps its reference.
        types::CType* t = g.function->type.get();
        types::CType* expected = nullptr;
        Py_INCREF(reinterpret_cast<PyObject*>(t));
        if (!ft::compare_exchange(f->type, expected, t)) {
            Py_DECREF(reinterpret_cast<PyObject*>(t));
            return expected;
        }
        return t;
    } catch (...) {
        cffix::translate_exception();
        return nullptr;
    }
}

void* module_function_address(PyObject* obj) {
    FunctionInfo* f = info_of(obj);
    void* address = f->address ? f->address() : nullptr;
    if (!address)
        PyErr_Format(PyExc_TypeError, "function '%s' of %U.lib has no address", f->name, f->module);
    return address;
}

bool init_module_function_type(PyObject*) {
    PyTypeObject& t = FunctionInfo_Type;
    Py_SET_REFCNT(&t, 1);
    t.tp_name = "cffix._core.FunctionInfo";
    t.tp_basicsize = sizeof(FunctionInfo);
    t.tp_dealloc = dealloc;
    t.tp_repr = repr;
    t.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC;
    t.tp_doc = "What an API-mode lib function (a builtin bound to this object) calls.";
    t.tp_traverse = traverse;
    t.tp_clear = clear;
    return PyType_Ready(&t) == 0;
}

}  // namespace cffix::data
