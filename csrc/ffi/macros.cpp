// ffi._convert_macros(macros): the object-like macros of a preprocessed header turned into
// constants of this FFI in one pass (parse/macro.h evaluates, types::Scope::declare_macro
// declares); src/cffix/_macros.py reports the results.
#include <string>
#include <vector>

#include "ffi/object.h"
#include "parse/macro.h"
#include "util/errors.h"
#include "util/ft.h"
#include "util/pylong.h"

namespace cffix {
namespace {

// The C type of a value, as C names it (LP64: 64 bits is long).
const char* c_type_name(const parse::MacroValue& v) {
    switch (v.kind) {
        case parse::MacroValue::Integer:
            if (v.number.bits <= 32) return v.number.is_unsigned ? "unsigned int" : "int";
            if (v.number.bits <= 64) return v.number.is_unsigned ? "unsigned long" : "long";
            return "__int128";
        case parse::MacroValue::Floating:
            return v.number.bits == 32 ? "float" : v.number.bits == 64 ? "double" : "long double";
        case parse::MacroValue::Bytes: return "char[]";
        default: return "wchar_t[]";
    }
}

PyObject* python_value(const parse::MacroValue& v, const types::MacroConstantDecl* stored) {
    switch (v.kind) {
        case parse::MacroValue::Integer: return int128_to_python(v.number.value);
        case parse::MacroValue::Floating: return PyFloat_FromDouble(stored->real);
        case parse::MacroValue::Bytes:
            return PyBytes_FromStringAndSize(v.text.data(), static_cast<Py_ssize_t>(v.text.size()));
        default:
            return PyUnicode_DecodeUTF8(v.text.data(), static_cast<Py_ssize_t>(v.text.size()),
                                        "surrogatepass");
    }
}

// One (name, body, ...) item of the argument: its first two strings.
bool read_definition(PyObject* item, parse::MacroDefinition& out) {
    if (!PyTuple_Check(item) && !PyList_Check(item)) {
        PyErr_Format(PyExc_TypeError, "_convert_macros() expects (name, body, ...) tuples, got %s",
                     Py_TYPE(item)->tp_name);
        return false;
    }
    if (PySequence_Fast_GET_SIZE(item) < 2) {
        PyErr_SetString(PyExc_TypeError, "_convert_macros() expects (name, body, ...) tuples");
        return false;
    }
    PyObject** fields = PySequence_Fast_ITEMS(item);
    for (int i = 0; i < 2; ++i) {
        if (!PyUnicode_Check(fields[i])) {
            PyErr_Format(PyExc_TypeError, "a macro's %s must be a str, not %s",
                         i == 0 ? "name" : "body", Py_TYPE(fields[i])->tp_name);
            return false;
        }
        Py_ssize_t length = 0;
        const char* text = PyUnicode_AsUTF8AndSize(fields[i], &length);
        if (!text) return false;
        (i == 0 ? out.name : out.body).assign(text, static_cast<size_t>(length));
    }
    return true;
}

}  // namespace

// _convert_macros([(name, body, ...)]) -> [(True, value, ctype, is_new) |
// (False, reason, None, False)], one item per macro, in order (is_new: declared by this
// call, not already there with the same value).
static PyObject* ffi_convert_macros(PyObject* self, PyObject* arg) {
    FFIObject* ffi = reinterpret_cast<FFIObject*>(self);
    PyRef list(PySequence_Fast(arg, "_convert_macros() expects a sequence of macros"));
    if (!list) return nullptr;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(list.get());
    std::vector<parse::MacroDefinition> macros(static_cast<size_t>(n));
    for (Py_ssize_t i = 0; i < n; ++i)
        if (!read_definition(PySequence_Fast_GET_ITEM(list.get(), i),
                             macros[static_cast<size_t>(i)]))
            return nullptr;
    PyRef out(PyList_New(n));
    if (!out) return nullptr;
    try {
        ft::CriticalSection section(self);
        if (!ffi->scope) throw Error(ErrorKind::FFIError, "FFI object is not initialized");
        types::Scope& scope = *ffi->scope;
        scope.run_deferred();
        std::vector<parse::MacroValue> values = parse::evaluate_macros(
            macros, scope, [&](std::string_view name) { return scope.global_kind(name); });
        for (size_t i = 0; i < values.size(); ++i) {
            parse::MacroValue& v = values[i];
            bool is_new = false;
            if (v.kind != parse::MacroValue::Skipped) {
                std::string refused = scope.declare_macro(macros[i].name, v, is_new);
                if (!refused.empty()) {
                    v.kind = parse::MacroValue::Skipped;
                    v.text = refused;
                }
            }
            PyRef item;
            if (v.kind == parse::MacroValue::Skipped) {
                PyRef reason(PyUnicode_DecodeUTF8(
                    v.text.data(), static_cast<Py_ssize_t>(v.text.size()), "replace"));
                if (!reason) return nullptr;
                item.reset(Py_BuildValue("(OOOO)", Py_False, reason.get(), Py_None, Py_False));
            } else {
                const types::MacroConstantDecl* stored = nullptr;
                if (v.kind == parse::MacroValue::Floating)
                    stored = &scope.macro_constants().find(macros[i].name)->second;
                PyRef value(python_value(v, stored));
                if (!value) return nullptr;
                item.reset(Py_BuildValue("(OOsO)", Py_True, value.get(), c_type_name(v),
                                         is_new ? Py_True : Py_False));
            }
            if (!item) return nullptr;
            PyList_SET_ITEM(out.get(), static_cast<Py_ssize_t>(i), item.release());
        }
    } catch (...) {
        return translate_exception();
    }
    return out.release();
}

// _add_macro_values([(name, float | bytes | str)]): an API-mode module's floating and
// string macros, as its compiler evaluated them (gen/module_source.cpp).
static PyObject* ffi_add_macro_values(PyObject* self, PyObject* arg) {
    FFIObject* ffi = reinterpret_cast<FFIObject*>(self);
    PyRef list(PySequence_Fast(arg, "_add_macro_values() expects a sequence"));
    if (!list) return nullptr;
    try {
        ft::CriticalSection section(self);
        if (!ffi->scope) throw Error(ErrorKind::FFIError, "FFI object is not initialized");
        for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(list.get()); ++i) {
            PyObject* item = PySequence_Fast_GET_ITEM(list.get(), i);
            PyObject *name, *value;
            if (!PyArg_ParseTuple(item, "UO", &name, &value)) return nullptr;
            const char* text = PyUnicode_AsUTF8(name);
            if (!text) return nullptr;
            types::MacroConstantDecl m;
            if (PyFloat_Check(value)) {
                m.kind = types::MacroConstantDecl::Floating;
                m.real = PyFloat_AS_DOUBLE(value);
            } else if (PyBytes_Check(value)) {
                m.kind = types::MacroConstantDecl::Bytes;
                m.text.assign(PyBytes_AS_STRING(value),
                              static_cast<size_t>(PyBytes_GET_SIZE(value)));
            } else if (PyUnicode_Check(value)) {
                m.kind = types::MacroConstantDecl::Text;
                PyRef utf8(PyUnicode_AsEncodedString(value, "utf-8", "surrogatepass"));
                if (!utf8) return nullptr;
                m.text.assign(PyBytes_AS_STRING(utf8.get()),
                              static_cast<size_t>(PyBytes_GET_SIZE(utf8.get())));
            } else {
                return PyErr_Format(PyExc_TypeError,
                                    "_add_macro_values(): a value is a float, bytes or str, "
                                    "not %s",
                                    Py_TYPE(value)->tp_name);
            }
            ffi->scope->add_macro_constant(text, std::move(m));
        }
    } catch (...) {
        return translate_exception();
    }
    Py_RETURN_NONE;
}

PyMethodDef ffi_macro_methods[] = {
    {"_add_macro_values", ffi_add_macro_values, METH_O,
     "_add_macro_values([(name, value)]): an API-mode module's floating and string macros "
     "(its generated code calls it at import)."},
    {"_convert_macros", ffi_convert_macros, METH_O,
     "_convert_macros([(name, body, ...)]) -> [(True, value, ctype, is_new) | (False, reason, "
     "None, False)]: "
     "declares the object-like macros of a header as constants (cffix._macros uses it)."},
    {nullptr, nullptr, 0, nullptr},
};

}  // namespace cffix
