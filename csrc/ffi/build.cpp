// The FFI methods of API mode's build side: ffi._api_module_source(), which builder.py
// calls for emit_c_code() and compile() (csrc/gen/ writes the C).
#include <algorithm>
#include <cstdint>
#include <unordered_set>

#include "ffi/object.h"
#include "gen/module_source.h"
#include "util/errors.h"

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

PyMethodDef ffi_build_methods[] = {
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
