#include "util/errors.h"

#include <map>
#include <new>

#include "util/ft.h"

namespace cffix {

ErrorClasses error_classes;

static PyObject* new_error_class(PyObject* module, const char* name, const char* doc,
                                 PyObject* base) {
    PyObject* cls = PyErr_NewExceptionWithDoc(name, doc, base, nullptr);
    if (cls && PyModule_AddObjectRef(module, name + sizeof("cffix.") - 1, cls) < 0) {
        Py_DECREF(cls);
        return nullptr;
    }
    return cls;
}

bool init_error_classes(PyObject* module) {
    // As in cffi, each class derives directly from Exception.
    auto& e = error_classes;
    e.ffi_error = new_error_class(module, "cffix.FFIError", "Error of the FFI layer.", nullptr);
    e.cdef_error = new_error_class(module, "cffix.CDefError",
                                   "A C declaration could not be parsed or declared.", nullptr);
    e.verification_error =
        new_error_class(module, "cffix.VerificationError",
                        "Error while compiling or loading an API-mode module.", nullptr);
    e.verification_missing = new_error_class(
        module, "cffix.VerificationMissing",
        "A declaration has parts ('...') only a compiler can complete: API mode only.", nullptr);
    e.pkgconfig_error = new_error_class(module, "cffix.PkgConfigError",
                                        "pkg-config failed or gave unusable flags.", nullptr);
    // A failed load, as every other dlopen() failure is: `except OSError` around a dlopen
    // with a fallback keeps working when the library is pinned.
    e.library_mismatch = new_error_class(
        module, "cffix.LibraryMismatch",
        "ffi.dlopen(sha256=, soname=, version=): the library is not the one expected.",
        PyExc_OSError);
    return e.ffi_error && e.cdef_error && e.verification_error && e.verification_missing &&
           e.pkgconfig_error && e.library_mismatch;
}

static PyObject* python_class(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::FFIError: return error_classes.ffi_error;
        case ErrorKind::CDefError: return error_classes.cdef_error;
        case ErrorKind::VerificationMissing: return error_classes.verification_missing;
        case ErrorKind::VerificationError: return error_classes.verification_error;
        case ErrorKind::TypeError: return PyExc_TypeError;
        case ErrorKind::ValueError: return PyExc_ValueError;
        case ErrorKind::KeyError: return PyExc_KeyError;
        case ErrorKind::IndexError: return PyExc_IndexError;
        case ErrorKind::OverflowError: return PyExc_OverflowError;
        case ErrorKind::NotImplementedError: return PyExc_NotImplementedError;
        case ErrorKind::MemoryError: return PyExc_MemoryError;
    }
    return PyExc_RuntimeError;
}

// The class deriving from `kind`'s and each of the `also` kinds' (see Error::also_is),
// made once per combination and named as `kind`'s (tracebacks say cffix.CDefError).
// Falls back to kind's class.
static PyObject* class_of(const Error& err) {
    PyObject* primary = python_class(err.kind());
    uint32_t also = err.also() & ~(1u << static_cast<unsigned>(err.kind()));
    if (!also) return primary;
    // Immortal classes, under made_mutex (the GIL's job in the default build); made
    // outside it, as making one runs Python code.
    static std::map<std::pair<ErrorKind, uint32_t>, PyObject*> made;
    static ft::Mutex made_mutex;
    std::pair<ErrorKind, uint32_t> key{err.kind(), also};
    {
        ft::Lock lock(made_mutex);
        auto it = made.find(key);
        if (it != made.end()) return it->second;
    }
    PyObject* cls = nullptr;
    PyRef bases(PyList_New(0));
    if (!bases || PyList_Append(bases.get(), primary) < 0) return PyErr_Clear(), primary;
    for (unsigned k = 0; k < 32; ++k)
        if ((also >> k) & 1)
            if (PyList_Append(bases.get(), python_class(static_cast<ErrorKind>(k))) < 0)
                return PyErr_Clear(), primary;
    PyRef tuple(PyList_AsTuple(bases.get()));
    PyRef name(tuple ? PyObject_GetAttrString(primary, "__qualname__") : nullptr);
    PyRef module(name ? PyObject_GetAttrString(primary, "__module__") : nullptr);
    const char* mod = module ? PyUnicode_AsUTF8(module.get()) : nullptr;
    const char* qual = name ? PyUnicode_AsUTF8(name.get()) : nullptr;
    cls = mod && qual
              ? PyErr_NewException((std::string(mod) + "." + qual).c_str(), tuple.get(), nullptr)
              : nullptr;
    if (!cls) {
        PyErr_Clear();
        return primary;
    }
    ft::Lock lock(made_mutex);
    auto [it, inserted] = made.emplace(key, cls);
    if (!inserted) Py_DECREF(cls);  // another thread's came first (a class: no finalizer)
    return it->second;
}

PyObject* set_error_with_notes(PyObject* cls, const std::string& message,
                               const std::vector<std::string>& notes) {
    // "replace": a message must never turn into a UnicodeDecodeError of its own.
    PyRef text(
        PyUnicode_DecodeUTF8(message.data(), static_cast<Py_ssize_t>(message.size()), "replace"));
    if (!text) return nullptr;
    if (notes.empty()) {
        PyErr_SetObject(cls, text.get());
        return nullptr;
    }
    PyRef exc(PyObject_CallOneArg(cls, text.get()));
    if (!exc) return nullptr;
    PyRef list(PyList_New(0));
    if (!list) return nullptr;
    for (const std::string& note : notes) {
        PyRef item(
            PyUnicode_DecodeUTF8(note.data(), static_cast<Py_ssize_t>(note.size()), "replace"));
        if (!item || PyList_Append(list.get(), item.get()) < 0) return nullptr;
    }
    if (PyObject_SetAttrString(exc.get(), "__notes__", list.get()) < 0) return nullptr;
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.get())), exc.get());
    return nullptr;
}

PyObject* restate_error(PyObject* cls, const std::string& message) {
    if (!PyErr_ExceptionMatches(cls)) return nullptr;
#if PY_VERSION_HEX >= 0x030C0000
    PyRef raised(PyErr_GetRaisedException());
#else
    PyObject *type, *value_set, *traceback;
    PyErr_Fetch(&type, &value_set, &traceback);
    PyErr_NormalizeException(&type, &value_set, &traceback);
    Py_XDECREF(type);
    Py_XDECREF(traceback);
    PyRef raised(value_set);
#endif
    PyObject* value = raised.get();
    std::vector<std::string> notes;
    auto add = [&](PyObject* text) {
        Py_ssize_t size;
        const char* utf8 = text ? PyUnicode_AsUTF8AndSize(text, &size) : nullptr;
        if (utf8) notes.emplace_back(utf8, static_cast<size_t>(size));
        PyErr_Clear();
    };
    PyRef old(value ? PyObject_Str(value) : nullptr);
    add(old.get());
    PyRef old_notes(value ? PyObject_GetAttrString(value, "__notes__") : nullptr);
    PyErr_Clear();
    if (old_notes && PyList_Check(old_notes.get())) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(old_notes.get()); ++i) {
            PyObject* note = PyList_GET_ITEM(old_notes.get(), i);
            if (PyUnicode_Check(note)) add(note);
        }
    }
    return set_error_with_notes(cls, message, notes);
}

PyObject* translate_exception() {
    try {
        throw;
    } catch (const PythonErrorSet&) {
        // already set
    } catch (const Error& err) {
        set_error_with_notes(class_of(err), err.python_message(), err.notes());
    } catch (const std::bad_alloc&) {
        PyErr_NoMemory();
    } catch (const std::exception& err) {
        PyErr_Format(PyExc_SystemError, "cffix internal error: %s", err.what());
    } catch (...) {
        PyErr_SetString(PyExc_SystemError, "cffix internal error: unknown C++ exception");
    }
    return nullptr;
}

}  // namespace cffix
