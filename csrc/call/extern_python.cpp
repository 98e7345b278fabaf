// extern "Python" functions of API-mode modules (see extern_python.h).
#include "call/extern_python.h"

#include <cstdio>

#include "call/python_call.h"
#include "data/cdata.h"
#include "util/errors.h"

namespace cffix::call {

namespace {

using types::CType;

// What def_extern() attached: replaced as a whole by the next def_extern(), so a call
// in progress keeps the one it started with (a shared_ptr copy) while Python code runs.
struct Attachment {
    std::unique_ptr<PythonCallee> callee;
    PyRef callable;
    PyRef onerror;  // null: none
};

// The core's side of one cffix_extern_python (its `core`).
struct ExternState {
    std::string qualified_name;  // "module.name", for messages
    types::CTypeRef fntype;      // held for the callee, the lib cdata and the conversions
    std::shared_ptr<const Attachment> attached;
};

ExternState& state_of(const cffix_extern_python& f) { return *static_cast<ExternState*>(f.core); }

// The state of `f`, made on its first registration.
ExternState* registered_state(cffix_extern_python& f, const types::Scope& scope,
                              const char* module) {
    if (f.core) return static_cast<ExternState*>(f.core);
    auto decl = scope.functions().find(std::string_view(f.name));
    if (decl == scope.functions().end() || decl->second.extern_python == parse::ExternPython::No) {
        PyErr_Format(PyExc_SystemError,
                     "module '%s': '%s' is not an extern \"Python\" function of its cdef", module,
                     f.name);
        return nullptr;
    }
    try {
        auto* state = new ExternState{std::string(module) + "." + f.name, decl->second.type, {}};
        f.core = state;  // never freed: see extern_python.h
        return state;
    } catch (const std::bad_alloc&) {
        PyErr_NoMemory();
        return nullptr;
    }
}

cffix_extern_python* find_function(const ExternPythonTable& table, std::string_view name) {
    for (cffix_extern_python* f : table.functions)
        if (name == f->name) return f;
    return nullptr;
}

}  // namespace

std::unique_ptr<ExternPythonTable> register_extern_python(const types::Scope& scope,
                                                          const char* module,
                                                          cffix_extern_python* functions,
                                                          PyObject* lib_functions) {
    std::unique_ptr<ExternPythonTable> table;
    try {
        table = std::make_unique<ExternPythonTable>();
        table->module = module;
    } catch (const std::bad_alloc&) {
        PyErr_NoMemory();
        return nullptr;
    }
    for (cffix_extern_python* f = functions; f->name; ++f) {
        ExternState* state = registered_state(*f, scope, module);
        if (!state) return nullptr;
        // lib.name: the C function's address, as a function pointer cdata (as cffi's).
        PyRef pointer(
            reinterpret_cast<PyObject*>(data::new_pointer(state->fntype.get(), f->address)));
        if (!pointer || PyDict_SetItemString(lib_functions, f->name, pointer.get()) < 0)
            return nullptr;
        try {
            table->functions.push_back(f);
        } catch (const std::bad_alloc&) {
            PyErr_NoMemory();
            return nullptr;
        }
    }
    return table;
}

bool attach_extern_python(const ExternPythonTable& table, PyObject* name, PyObject* callable,
                          PyObject* error, PyObject* onerror) {
    const char* text = PyUnicode_AsUTF8(name);
    if (!text) return false;
    cffix_extern_python* f = find_function(table, text);
    if (!f) {
        PyErr_Format(error_classes.ffi_error,
                     "ffi.def_extern('%s'): no 'extern \"Python\"' function with this name", text);
        return false;
    }
    if (!PyCallable_Check(callable)) {
        PyErr_Format(PyExc_TypeError, "expected a callable object, not %s",
                     Py_TYPE(callable)->tp_name);
        return false;
    }
    if (!check_onerror(onerror)) return false;
    ExternState& state = state_of(*f);
    std::shared_ptr<Attachment> attachment;
    try {
        attachment = std::make_shared<Attachment>();
    } catch (const std::bad_alloc&) {
        PyErr_NoMemory();
        return false;
    }
    attachment->callee = make_callee(state.fntype.get(), error, false);
    if (!attachment->callee) return false;
    attachment->callable = PyRef::borrow(callable);
    if (onerror != Py_None) attachment->onerror = PyRef::borrow(onerror);
    // Both under the GIL, so a call sees the callable and its attachment change together.
    state.attached = std::move(attachment);
    Py_XSETREF(f->callable, Py_NewRef(callable));
    return true;
}

void report_unattached(const cffix_extern_python& f) {
    fprintf(stderr,
            "extern \"Python\": function %s() called, but no code was attached to it yet "
            "with @ffi.def_extern().  Returning 0.\n",
            state_of(f).qualified_name.c_str());
}

bool store_extern_result(const cffix_extern_python& f, void* ret, PyObject* value) {
    std::shared_ptr<const Attachment> attached = state_of(f).attached;
    return store_python_result(*attached->callee, ret, value);
}

void report_extern_error(const cffix_extern_python& f, void* ret, bool converting_result) {
    std::shared_ptr<const Attachment> attached = state_of(f).attached;
    report_error(*attached->callee, attached->callable.get(), attached->onerror.get(), ret,
                 converting_result);
}

}  // namespace cffix::call
