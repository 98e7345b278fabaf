// The FFI methods of API mode's build side: ffi._api_module_source(), which builder.py
// calls for emit_c_code() and compile() (csrc/gen/ writes the C), and ffi._declarations(),
// what `python -m cffix stubgen` and `check` list.
#include <algorithm>
#include <cstdint>
#include <unordered_set>

#include "ffi/object.h"
#include "gen/module_source.h"
#include "util/errors.h"
#include "util/ft.h"
#include "util/pylong.h"

namespace cffix {

// _api_module_source(module_name, preamble, cdefs, version, release_gil=True,
// wrap_rules="") -> str: the C source of the module; `wrap_rules` is the builder's ffi.wrap
// rules (wrappers.dump_rules), handed to the module's ffi at import; `cdefs` is the builder's
// history, a list of (text, override, packed, pack) for its cdef() calls and ("include", module
// name) for its include() calls.
static PyObject* ffi_api_module_source(PyObject* self, PyObject* args) {
    const char *module_name, *preamble, *version;
    PyObject* cdefs;
    int release_gil = 1;
    const char* wrap_rules = "";
    if (!PyArg_ParseTuple(args, "ssO!s|ps:_api_module_source", &module_name, &preamble,
                          &PyList_Type, &cdefs, &version, &release_gil, &wrap_rules))
        return nullptr;
    auto* ffi = reinterpret_cast<FFIObject*>(self);
    if (!ffi->scope) {
        PyErr_SetString(error_classes.ffi_error, "FFI object is not initialized");
        return nullptr;
    }
    std::vector<gen::CdefCall> calls;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(cdefs); ++i) {
        gen::CdefCall c;
        const char* text;
        int override, packed, pack;
        PyObject* entry = PyList_GET_ITEM(cdefs, i);
        if (PyTuple_Check(entry) && PyTuple_GET_SIZE(entry) == 2) {
            const char *tag, *module;
            if (!PyArg_ParseTuple(entry, "ss:include call", &tag, &module)) return nullptr;
            c.include_module = module;
            calls.push_back(std::move(c));
            continue;
        }
        if (!PyArg_ParseTuple(entry, "spii:cdef call", &text, &override, &packed, &pack))
            return nullptr;
        c.text = text;
        c.override = override;
        c.packed = packed;
        c.pack = pack;
        calls.push_back(std::move(c));
    }
    try {
        std::string source = gen::module_source(*ffi->scope, module_name, preamble, calls, version,
                                                release_gil, wrap_rules);
        return PyUnicode_FromStringAndSize(source.data(), static_cast<Py_ssize_t>(source.size()));
    } catch (...) {
        return translate_exception();
    }
}

// _abi_unknowns() -> [(kind, name)]: what this FFI's own cdefs leave to a C compiler
// (`#define X ...` "macro", an enum with `...` "enum", `typedef int... t` "typedef", a
// global with a `[...]` length "global"), which an out-of-line ABI module cannot know,
// and array lengths past 2**31-1 ("length", the length): builder.py refuses to generate
// one, as cffi does.
static PyObject* ffi_abi_unknowns(PyObject* self, PyObject*) {
    auto* ffi = reinterpret_cast<FFIObject*>(self);
    if (!ffi->scope) {
        PyErr_SetString(error_classes.ffi_error, "FFI object is not initialized");
        return nullptr;
    }
    std::vector<std::pair<const char*, std::string>> found;
    try {
        const types::Scope& scope = *ffi->scope;
        for (const auto& [name, c] : scope.constants())
            if (c.dots && !c.enum_type) found.emplace_back("macro", name);
        std::vector<types::CType*> records, enums;
        scope.own_tagged_types(records, enums);
        for (const types::CType* e : enums)
            if (e->flags & types::RF_PARTIAL) found.emplace_back("enum", e->cname);
        for (const auto& [name, integer] : scope.dots_typedefs())
            found.emplace_back("typedef", name);
        for (const auto& [name, v] : scope.variables())
            if (v.dots_levels) found.emplace_back("global", name);
        // Array lengths past cffi's out-of-line format (its type table holds them as
        // 2**31-1 at most): refused as cffi refuses them, so a module generated here
        // loads wherever cffi's would.
        std::vector<const types::CType*> todo = scope.own_declared_types();
        std::unordered_set<const types::CType*> seen;
        while (!todo.empty()) {
            const types::CType* t = todo.back();
            todo.pop_back();
            if (!t || !seen.insert(t).second) continue;
            if (t->kind == types::Kind::Array && t->length > INT32_MAX)
                found.emplace_back("length", std::to_string(t->length));
            if (t->kind != types::Kind::Enum) todo.push_back(t->item);
            for (const types::CType* a : t->args) todo.push_back(a);
            for (const types::FieldInfo& f : t->fields) todo.push_back(f.type);
        }
    } catch (...) {
        return translate_exception();
    }
    std::sort(found.begin(), found.end());
    PyRef list(PyList_New(0));
    if (!list) return nullptr;
    for (const auto& [kind, name] : found) {
        PyRef item(Py_BuildValue("(ss)", kind, name.c_str()));
        if (!item || PyList_Append(list.get(), item.get()) < 0) return nullptr;
    }
    return list.release();
}

static PyObject* string_tuple(const std::vector<std::string>& items) {
    PyRef tuple(PyTuple_New(static_cast<Py_ssize_t>(items.size())));
    if (!tuple) return nullptr;
    for (size_t i = 0; i < items.size(); ++i) {
        PyObject* s =
            PyUnicode_FromStringAndSize(items[i].data(), static_cast<Py_ssize_t>(items[i].size()));
        if (!s) return nullptr;
        PyTuple_SET_ITEM(tuple.get(), static_cast<Py_ssize_t>(i), s);
    }
    return tuple.release();
}

// One entry of _declarations() for the global `name` (see there); null with an exception.
static PyObject* declaration_entry(const std::string& name, const types::GlobalDecl& g) {
    if (const types::FunctionDecl* f = g.function) {
        PyRef params(string_tuple(f->param_names));
        PyRef own(string_tuple(f->attributes));
        PyRef per_param(PyTuple_New(static_cast<Py_ssize_t>(f->param_attributes.size())));
        if (!params || !own || !per_param) return nullptr;
        for (size_t i = 0; i < f->param_attributes.size(); ++i) {
            PyObject* t = string_tuple(f->param_attributes[i]);
            if (!t) return nullptr;
            PyTuple_SET_ITEM(per_param.get(), static_cast<Py_ssize_t>(i), t);
        }
        return Py_BuildValue("(ssOOsOONii)", "function", name.c_str(), f->type.get(), params.get(),
                             f->result_typedef.c_str(), own.get(), per_param.get(),
                             PyBool_FromLong(f->extern_python != parse::ExternPython::No),
                             f->pos.line, f->pos.column);
    }
    if (const types::VariableDecl* v = g.variable)
        return Py_BuildValue("(ssONNii)", "variable", name.c_str(), v->type.get(),
                             PyBool_FromLong(v->is_const), PyBool_FromLong(v->initialized),
                             v->pos.line, v->pos.column);
    if (const types::MacroConstantDecl* m = g.macro) {  // a header's floating or string macro
        PyRef value(
            m->kind == types::MacroConstantDecl::Floating ? PyFloat_FromDouble(m->real)
            : m->kind == types::MacroConstantDecl::Bytes
                ? PyBytes_FromStringAndSize(m->text.data(), static_cast<Py_ssize_t>(m->text.size()))
                : PyUnicode_DecodeUTF8(m->text.data(), static_cast<Py_ssize_t>(m->text.size()),
                                       "surrogatepass"));
        if (!value) return nullptr;
        return Py_BuildValue("(ssOOii)", "constant", name.c_str(), value.get(), Py_None, 0, 0);
    }
    const types::ConstantDecl* c = g.constant;
    PyRef value(c->dots ? Py_NewRef(Py_None) : int128_to_python(c->value));
    if (!value) return nullptr;
    PyObject* enum_type = c->enum_type ? reinterpret_cast<PyObject*>(c->enum_type) : Py_None;
    return Py_BuildValue("(ssOOii)", "constant", name.c_str(), value.get(), enum_type, c->pos.line,
                         c->pos.column);
}

// _declarations() -> [entry]: every function, global variable and constant a lib of this
// FFI has (included FFIs' too), sorted by name, for `python -m cffix stubgen` and `check`:
//   ("function", name, ctype, param_names, result_typedef, attributes, param_attributes,
//    extern_python, line, column)
//   ("variable", name, ctype, is_const, initialized, line, column)
//   ("constant", name, value or None (written `...`), enum ctype or None, line, column);
//    a header's floating or string macro (parse/macro.h): its float, bytes or str, no
//    enum, line 0
static PyObject* ffi_declarations(PyObject* self, PyObject*) {
    auto* ffi = reinterpret_cast<FFIObject*>(self);
    if (!ffi->scope) {
        PyErr_SetString(error_classes.ffi_error, "FFI object is not initialized");
        return nullptr;
    }
    try {
        ft::CriticalSection section(self);
        const types::Scope& scope = *ffi->scope;
        std::vector<std::string> names;
        scope.list_globals(names, true);
        PyRef list(PyList_New(0));
        if (!list) return nullptr;
        for (const std::string& name : names) {
            types::GlobalDecl g = scope.find_global(name);
            if (!g) continue;
            PyRef entry(declaration_entry(name, g));
            if (!entry || PyList_Append(list.get(), entry.get()) < 0) return nullptr;
        }
        return list.release();
    } catch (...) {
        return translate_exception();
    }
}

PyMethodDef ffi_build_methods[] = {
    {"_declarations", ffi_declarations, METH_NOARGS,
     "_declarations() -> [tuple]: the functions, global variables and constants declared, "
     "for `python -m cffix stubgen` and `check` (not an API)."},
    {"_abi_unknowns", ffi_abi_unknowns, METH_NOARGS,
     "_abi_unknowns() -> [(kind, name)]: what the cdefs leave to a C compiler (macros, "
     "enums, typedefs, globals with '...'); an out-of-line ABI module cannot be made of it."},
    {"_api_module_source", ffi_api_module_source, METH_VARARGS,
     "_api_module_source(module_name, preamble, cdefs, version, release_gil=True) -> str: the "
     "C source of an "
     "API-mode module (builder.py's emit_c_code and compile use it)."},
    {nullptr, nullptr, 0, nullptr},
};

}  // namespace cffix
