// An API-mode module's function objects (see module_function.h).
#include "data/module_function.h"

#include <string>

#include "util/errors.h"
#include "util/pyref.h"

namespace cffix::data {

namespace {

struct ModuleFunction {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    const PyMethodDef* def;
    PyObject* self;         // owned: the lib, the wrapper's first argument
    PyObject* ffi;          // owned: keeps `scope` alive
    types::Scope* scope;    // borrowed from ffi; null once the GC cleared this object
    void* (*address)();     // the module's direct function's address
    PyObject* module_name;  // owned str
    types::CType* type;     // owned once resolved
    PyObject* weakreflist;
};

PyTypeObject ModuleFunction_Type;

ModuleFunction* as_function(PyObject* obj) { return reinterpret_cast<ModuleFunction*>(obj); }

PyObject* call(PyObject* callable, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
    ModuleFunction* f = as_function(callable);
    if (kwnames && PyTuple_GET_SIZE(kwnames) > 0)
        return PyErr_Format(PyExc_TypeError, "%s() takes no keyword arguments", f->def->ml_name);
    auto fast = reinterpret_cast<PyObject* (*)(PyObject*, PyObject* const*, Py_ssize_t)>(
        reinterpret_cast<void (*)()>(f->def->ml_meth));
    return fast(f->self, args, PyVectorcall_NARGS(nargsf));
}

PyObject* get_name(PyObject* self, void*) {
    return PyUnicode_FromString(as_function(self)->def->ml_name);
}

PyObject* get_module(PyObject* self, void*) { return Py_NewRef(as_function(self)->module_name); }

// cffi's text: the declaration, then where it comes from.
PyObject* get_doc(PyObject* self, void*) {
    ModuleFunction* f = as_function(self);
    types::CType* t = module_function_type(self);
    if (!t) return nullptr;
    std::string args;
    for (size_t i = 0; i < t->args.size(); ++i) args += (i ? ", " : "") + t->args[i]->cname;
    if (t->ellipsis) args += t->args.empty() ? "..." : ", ...";
    std::string declaration =
        types::cname_with(t->item, std::string(" ") + f->def->ml_name + "(" + args + ")");
    // cname_with puts a space between a pointer's '*' and the name ("void * f()"): C's
    // usual spelling has none.
    for (size_t at = declaration.find("* "); at != std::string::npos;
         at = declaration.find("* ", at + 1))
        declaration.erase(at + 1, 1);
    return PyUnicode_FromFormat("%s;\n\nCFFI C function from %U.lib", declaration.c_str(),
                                f->module_name);
}

PyObject* repr(PyObject* self) {
    ModuleFunction* f = as_function(self);
    return PyUnicode_FromFormat("<cffix function '%s' of %U.lib>", f->def->ml_name, f->module_name);
}

int traverse(PyObject* self, visitproc visit, void* arg) {
    ModuleFunction* f = as_function(self);
    Py_VISIT(f->self);
    Py_VISIT(f->ffi);
    return 0;
}

int clear(PyObject* self) {
    ModuleFunction* f = as_function(self);
    f->scope = nullptr;  // it dies with the FFI
    Py_CLEAR(f->self);
    Py_CLEAR(f->ffi);
    return 0;
}

void dealloc(PyObject* self) {
    ModuleFunction* f = as_function(self);
    PyObject_GC_UnTrack(self);
    if (f->weakreflist) PyObject_ClearWeakRefs(self);
    clear(self);
    Py_CLEAR(f->module_name);
    Py_XDECREF(reinterpret_cast<PyObject*>(f->type));
    PyObject_GC_Del(self);
}

PyGetSetDef getset[] = {
    {"__name__", get_name, nullptr, nullptr, nullptr},
    {"__qualname__", get_name, nullptr, nullptr, nullptr},
    {"__module__", get_module, nullptr, nullptr, nullptr},
    {"__doc__", get_doc, nullptr, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

}  // namespace

PyObject* new_module_function(const PyMethodDef* def, PyObject* self, PyObject* ffi,
                              types::Scope* scope, void* (*address)(), PyObject* module_name) {
    ModuleFunction* f = PyObject_GC_New(ModuleFunction, &ModuleFunction_Type);
    if (!f) return nullptr;
    f->vectorcall = call;
    f->def = def;
    f->self = Py_NewRef(self);
    f->ffi = Py_NewRef(ffi);
    f->scope = scope;
    f->address = address;
    f->module_name = Py_NewRef(module_name);
    f->type = nullptr;
    f->weakreflist = nullptr;
    PyObject_GC_Track(f);
    return reinterpret_cast<PyObject*>(f);
}

bool is_module_function(PyObject* obj) { return Py_IS_TYPE(obj, &ModuleFunction_Type); }

types::CType* module_function_type(PyObject* obj) {
    ModuleFunction* f = as_function(obj);
    if (f->type) return f->type;
    if (!f->scope) {
        PyErr_Format(PyExc_ValueError, "the FFI of function '%s' has been cleared",
                     f->def->ml_name);
        return nullptr;
    }
    try {
        types::GlobalDecl g = f->scope->find_global(f->def->ml_name);
        if (!g.function) {
            PyErr_Format(PyExc_TypeError, "function '%s' is no longer declared", f->def->ml_name);
            return nullptr;
        }
        f->type = g.function->type.get();
        Py_INCREF(reinterpret_cast<PyObject*>(f->type));
        return f->type;
    } catch (...) {
        cffix::translate_exception();
        return nullptr;
    }
}

void* module_function_address(PyObject* obj) {
    ModuleFunction* f = as_function(obj);
    void* address = f->address ? f->address() : nullptr;
    if (!address)
        PyErr_Format(PyExc_TypeError, "function '%s' of %U.lib has no address", f->def->ml_name,
                     f->module_name);
    return address;
}

bool init_module_function_type(PyObject* module) {
    PyTypeObject& t = ModuleFunction_Type;
    Py_SET_REFCNT(&t, 1);
    t.tp_name = "cffix._core.ModuleFunction";
    t.tp_basicsize = sizeof(ModuleFunction);
    t.tp_dealloc = dealloc;
    t.tp_repr = repr;
    t.tp_call = PyVectorcall_Call;
    t.tp_vectorcall_offset = offsetof(ModuleFunction, vectorcall);
    t.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL;
    t.tp_doc =
        "A function of an API-mode module's lib: callable, and its C function pointer\n"
        "wherever one is expected (arguments, ffi.cast, ffi.typeof).";
    t.tp_traverse = traverse;
    t.tp_clear = clear;
    t.tp_weaklistoffset = offsetof(ModuleFunction, weakreflist);
    t.tp_getset = getset;
    if (PyType_Ready(&t) < 0) return false;
    return PyModule_AddObjectRef(module, "ModuleFunction", reinterpret_cast<PyObject*>(&t)) >= 0;
}

}  // namespace cffix::data
