// Call plans: what a call through one function type needs, computed once.
#pragma once

#include <ffi.h>

#include <map>
#include <memory>
#include <vector>

#include "data/cdata.h"

namespace cffix::call {

using types::CType;

// How an argument travels in the fast thunk: in an integer register, or in a vector
// register as the bits of a float or a double.
enum class RegClass : uint8_t { Int, Float, Double, None };

struct ArgSpec {
    CType* type;      // borrowed: the function CType holds its argument types
    uint32_t offset;  // where its value lives in the argument buffer
    RegClass reg;     // RegClass::None: not passable through the thunk
};

enum class Thunk : uint8_t { None, Void, Int, Float, Double };

struct VariadicCif {
    ffi_cif cif;
    std::vector<ffi_type*> arg_types;
};

struct CallPlan {
    ffi_cif cif;
    std::vector<ffi_type*> arg_types;
    std::vector<std::unique_ptr<ffi_type>> record_types;  // ffi_types built for structs
    std::vector<std::unique_ptr<ffi_type*[]>> record_elements;
    std::vector<ArgSpec> args;
    size_t buffer_size = 0;  // bytes of argument storage for the fixed arguments
    CType* result = nullptr;
    ffi_type* result_type = nullptr;
    size_t result_size = 0;  // at least sizeof(ffi_arg)
    Thunk thunk = Thunk::None;
    // Variadic calls: one cif per tuple of argument types, built on first use.
    std::map<std::vector<CType*>, std::unique_ptr<VariadicCif>> variadic;
};

// The plan of a function type, built and cached on first use. Null + exception for
// signatures libffi cannot call (unions or bitfield structs by value...).
CallPlan* plan_for(CType* fntype);

// The libffi type of a primitive, pointer or function-pointer type (enums as their
// integer), or null for anything else. The one mapping used by calls and callbacks.
ffi_type* scalar_ffi_type(const CType* t);

// The libffi type of `t` for arguments and results; may add to plan->record_types.
ffi_type* ffi_type_for(CallPlan* plan, CType* t);

}  // namespace cffix::call
