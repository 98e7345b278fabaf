// FFI methods of the lib layer: see the table below.
#include "ffi_object.h"

namespace cffix {

PyMethodDef ffi_lib_methods[] = {
    {nullptr, nullptr, 0, nullptr},
};

}  // namespace cffix
