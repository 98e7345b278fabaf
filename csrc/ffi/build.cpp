// The FFI methods of API mode's build side: ffi._api_module_source(), which builder.py
// calls for emit_c_code() and compile() (csrc/gen/ writes the C).
#include "ffi/object.h"
#include "gen/module_source.h"
#include "util/errors.h"

namespace cffix {

// _api_module_source(module_name, preamble, cdefs, version, release_gil=True) -> str: the
// C source of the
// module; `cdefs` is the builder's history, a list of (text, override, packed, pack) for
// its cdef() calls and ("include", module name) for its include() calls.
static PyObject* ffi_api_module_source(PyObject* self, PyObject* args) {
    const char *module_name, *preamble, *version;
    PyObject* cdefs;
    int release_gil = 1;
    if (!PyArg_ParseTuple(args, "ssO!s|p:_api_module_source", &module_name, &preamble, &PyList_Type,
                          &cdefs, &version, &release_gil))
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
        std::string source =
            gen::module_source(*ffi->scope, module_name, preamble, calls, version, release_gil);
        return PyUnicode_FromStringAndSize(source.data(), static_cast<Py_ssize_t>(source.size()));
    } catch (...) {
        return translate_exception();
    }
}

PyMethodDef ffi_build_methods[] = {
    {"_api_module_source", ffi_api_module_source, METH_VARARGS,
     "_api_module_source(module_name, preamble, cdefs, version, release_gil=True) -> str: the "
     "C source of an "
     "API-mode module (builder.py's emit_c_code and compile use it)."},
    {nullptr, nullptr, 0, nullptr},
};

}  // namespace cffix
