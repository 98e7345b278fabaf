// cffix._core: module init. Wires the engine's layers to Python: the error classes, the
// CType/CField types and the FFI type.
#include "ffi_object.h"
#include "types/ctype.h"
#include "types/errors.h"

namespace {

PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT,
    "cffix._core",
    "The C++ engine of cffix. Use the cffix package, not this module.",
    -1,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

}  // namespace

PyMODINIT_FUNC PyInit__core() {
    cffix::PyRef module(PyModule_Create(&core_module));
    if (!module) return nullptr;
    if (!cffix::types::init_error_classes(module.get()) ||
        !cffix::types::init_ctype_types(module.get()) || !cffix::init_ffi_type(module.get()))
        return nullptr;
    return module.release();
}
