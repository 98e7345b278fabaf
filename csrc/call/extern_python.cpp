// extern "Python" functions of API-mode modules (see extern_python.h).
#include "call/extern_python.h"

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "call/python_call.h"
#include "util/errors.h"
#include "util/ft.h"
#include "util/sorted.h"

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

// The core's side of one cffix_extern_python (its `core`), made by its first def_extern().
//
// Without the GIL, `attached` is copied and replaced under `mutex`, and a callable that
// def_extern() replaced is kept in `retired` instead of released: the module's code reads
// f->callable before it takes its own reference (def_extern() is called once or a few
// times per function, so they are few).
struct ExternState {
    types::CTypeRef fntype;  // held for the callee and its conversions
    std::shared_ptr<const Attachment> attached;
    ft::Mutex mutex;
    std::vector<PyRef> retired;
};

ExternState& state_of(const cffix_extern_python& f) { return *static_cast<ExternState*>(f.core); }

std::shared_ptr<const Attachment> attachment_of(const cffix_extern_python& f) {
    ExternState& state = state_of(f);
    ft::Lock lock(state.mutex);
    return state.attached;
}

// The function called `name` in a module's array (sorted by name, null-terminated), or
// null.
cffix_extern_python* find_function(cffix_extern_python* functions, const char* name) {
    size_t n = 0;
    while (functions[n].name) ++n;
    return find_sorted(functions, n, name, [](const cffix_extern_python& f) { return f.name; });
}

// The state of `f`, made on its first def_extern() from its declaration in `scope`.
ExternState* state_for(cffix_extern_python& f, const types::Scope& scope) {
    if (f.core) return static_cast<ExternState*>(f.core);
    try {
        auto decl = scope.functions().find(std::string_view(f.name));
        if (decl == scope.functions().end() ||
            decl->second.extern_python == parse::ExternPython::No) {
            PyErr_Format(PyExc_SystemError,
                         "module '%s': '%s' is not an extern \"Python\" function of its cdef",
                         f.module, f.name);
            return nullptr;
        }
        auto* state = new ExternState{decl->second.type, {}, {}, {}};
        f.core = state;  // never freed: see extern_python.h
        return state;
    } catch (...) {  // the module's deferred cdef failed, or no memory
        translate_exception();
        return nullptr;
    }
}

}  // namespace

bool attach_extern_python(const types::Scope& scope, cffix_extern_python* functions, PyObject* name,
                          PyObject* callable, PyObject* error, PyObject* onerror) {
    const char* text = PyUnicode_AsUTF8(name);
    if (!text) return false;
    cffix_extern_python* f = find_function(functions, text);
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
    ExternState* state = state_for(*f, scope);
    if (!state) return false;
    std::shared_ptr<Attachment> attachment;
    try {
        attachment = std::make_shared<Attachment>();
    } catch (const std::bad_alloc&) {
        PyErr_NoMemory();
        return false;
    }
    attachment->callee = make_callee(state->fntype.get(), error, false);
    if (!attachment->callee) return false;
    attachment->callable = PyRef::borrow(callable);
    if (onerror != Py_None) attachment->onerror = PyRef::borrow(onerror);
    // Both at once (under the GIL, or the FFI's critical section that def_extern() holds),
    // so that a call sees the callable and its attachment change together.
    PyObject* old = f->callable;
    {
        ft::Lock lock(state->mutex);
        state->attached = std::move(attachment);
#ifdef Py_GIL_DISABLED
        if (old) state->retired.push_back(PyRef(old));  // see ExternState
        old = nullptr;
#endif
    }
    ft::store_release(f->callable, Py_NewRef(callable));
    Py_XDECREF(old);
    return true;
}

void report_unattached(const cffix_extern_python& f) {
    fprintf(stderr,
            "extern \"Python\": function %s.%s() called, but no code was attached to it yet "
            "with @ffi.def_extern().  Returning 0.\n",
            f.module, f.name);
}

bool store_extern_result(const cffix_extern_python& f, void* ret, PyObject* value) {
    std::shared_ptr<const Attachment> attached = attachment_of(f);
    return store_python_result(*attached->callee, ret, value);
}

void report_extern_error(const cffix_extern_python& f, void* ret, bool converting_result) {
    std::shared_ptr<const Attachment> attached = attachment_of(f);
    report_error(*attached->callee, attached->callable.get(), attached->onerror.get(), ret,
                 converting_result);
}

}  // namespace cffix::call
