// cffix._core: module init. Wires the engine's layers to Python: the error classes, the
// types of each layer (CType/CField, the cdata types, functions and callbacks, the Lib
// type) and the FFI type with its class attributes (NULL, CData, CType, buffer, RTLD_*),
// the module functions live_cdata(), add_ffi_methods() and describe_library(), and the C API
// capsule (capi.h) that API-mode modules import.
#include "call/function.h"
#include "call/wrap.h"
#include "capi.h"
#include "data/cdata.h"
#include "data/memory.h"
#include "data/module_function.h"
#include "data/ownership.h"
#include "ffi/object.h"
#include "lib/library.h"
#include "lib/pinned.h"
#include "types/ctype.h"
#include "util/errors.h"

namespace {

PyMethodDef core_functions[] = {
    {"live_cdata", cffix::live_cdata, METH_NOARGS,
     "live_cdata()\n--\n\n(count, bytes) of live cdata owning memory or a pending destructor.\n\n"
     "    n, nbytes = cffix.live_cdata()"},
    {"add_ffi_methods", cffix::add_ffi_methods, METH_O,
     "add_ffi_methods(namespace)\n--\n\nPut the FFI methods written in Python (api.py) into "
     "the FFI type."},
    {"describe_library",
     [](PyObject*, PyObject* name) { return cffix::lib::describe_library(name); }, METH_O,
     "describe_library(name)\n--\n\n{'path', 'sha256', 'soname'} of the file a pinned "
     "ffi.dlopen(name, ...) would check, without loading it (python -m cffix pin).\n\n"
     "    cffix._core.describe_library('z')['soname']   # 'libz.so.1'"},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT,
    "cffix._core",
    "The C++ engine of cffix. Use the cffix package, not this module.",
    -1,
    core_functions,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

}  // namespace

PyMODINIT_FUNC PyInit__core() {
    cffix::PyRef module(PyModule_Create(&core_module));
    if (!module) return nullptr;
#ifdef Py_GIL_DISABLED
    // The engine's shared state is safe without the GIL: see util/ft.h.
    if (PyUnstable_Module_SetGIL(module.get(), Py_MOD_GIL_NOT_USED) < 0) return nullptr;
#endif
    if (!cffix::init_error_classes(module.get()) || !cffix::types::init_ctype_types(module.get()) ||
        !cffix::data::init_cdata_types(module.get()) ||
        !cffix::data::init_module_function_type(module.get()) ||
        !cffix::call::init_call_types(module.get()) || !cffix::call::init_wrap_type(module.get()) ||
        !cffix::data::init_ownership_types(module.get()) || !cffix::init_ffi_type(module.get()))
        return nullptr;
    // Class attributes of FFI, as in cffi: ffi.NULL, ffi.CData, ffi.CType.
    PyObject* dict = cffix::FFI_Type.tp_dict;
    cffix::PyRef void_ptr;
    try {
        cffix::types::CType* v = cffix::types::void_type();
        void_ptr = cffix::PyRef(reinterpret_cast<PyObject*>(cffix::types::pointer_type(v)));
        Py_DECREF(v);
    } catch (...) {
        return cffix::translate_exception();
    }
    cffix::PyRef null(reinterpret_cast<PyObject*>(
        cffix::data::new_pointer(reinterpret_cast<cffix::types::CType*>(void_ptr.get()), nullptr)));
    if (!null || PyDict_SetItemString(dict, "NULL", null.get()) < 0 ||
        PyDict_SetItemString(dict, "CData", reinterpret_cast<PyObject*>(&cffix::data::CData_Type)) <
            0 ||
        PyDict_SetItemString(dict, "CType",
                             reinterpret_cast<PyObject*>(&cffix::types::CType_Type)) < 0 ||
        !cffix::data::init_buffer_types(dict))
        return nullptr;
    // ffi.RTLD_*: the dlopen() flags this platform has, as in cffi.
    static const struct {
        const char* name;
        int value;
    } rtld_flags[] = {
        {"RTLD_LAZY", RTLD_LAZY},         {"RTLD_NOW", RTLD_NOW},
        {"RTLD_GLOBAL", RTLD_GLOBAL},     {"RTLD_LOCAL", RTLD_LOCAL},
#ifdef RTLD_NODELETE
        {"RTLD_NODELETE", RTLD_NODELETE},
#endif
#ifdef RTLD_NOLOAD
        {"RTLD_NOLOAD", RTLD_NOLOAD},
#endif
#ifdef RTLD_DEEPBIND
        {"RTLD_DEEPBIND", RTLD_DEEPBIND},
#endif
    };
    for (const auto& flag : rtld_flags) {
        cffix::PyRef value(PyLong_FromLong(flag.value));
        if (!value || PyDict_SetItemString(dict, flag.name, value.get()) < 0) return nullptr;
    }
    if (!cffix::lib::init_library_type(module.get()) || !cffix::add_c_api(module.get()))
        return nullptr;
    PyType_Modified(&cffix::FFI_Type);
    return module.release();
}
