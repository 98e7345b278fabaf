// FFI methods of the data layer: see the table below.
#include "data/cdata.h"
#include "ffi_object.h"

namespace cffix {

PyMethodDef ffi_ownership_methods[] = {
    {nullptr, nullptr, 0, nullptr},
};

}  // namespace cffix
