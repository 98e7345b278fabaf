// FFI methods of the callback layer: see the table below.
#include "ffi_object.h"

namespace cffix {

PyMethodDef ffi_callback_methods[] = {
    {nullptr, nullptr, 0, nullptr},
};

}  // namespace cffix
