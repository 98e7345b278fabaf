// API mode: the C source of one generated extension module.
//
// The module holds the C source given to set_source() verbatim (so macros and static
// inline functions are called by the C compiler, and a declaration that disagrees with
// the real header is a compiler error), then one METH_FASTCALL wrapper per function of
// the cdef, the integer constants as the compiler evaluates them (a cdef value that
// differs is a compile-time error naming it), a header's floating and string macros
// (parse/macro.h; read from C at import), the addresses of the global variables and
// variadic functions (a cdef type that differs is a compile-time error), the facts the
// cdef leaves to the compiler (`...`: layouts, sizes, values; types::CompilerFact), the
// cdef's own layouts and signatures compared with the compiler's (each comparison's line
// carries a "cffix-check" comment that builder.py reads back from the compiler's errors),
// a C function per extern "Python" declaration (call/extern_python.h; declared before the
// source when its signature needs nothing from it), and a module init that imports the
// core's C API (cffix_api.h), hands the facts to a new `ffi`, defers its cdef texts to
// their first use, and makes `lib`: the core's Library (lib/library.h) over static tables
// of these functions, constants and addresses.
//
// Conversions go through the C API only: the header's inline fast companions for exact
// ints, floats and pointers, the core's argument_to_c / result_from_c for everything
// else. Deterministic: the same declarations give the same bytes.
//
// Layer convention (gen/): C++ exceptions of types/ (cffix::Error) for what cannot be
// generated, translated once by the FFI method that calls it.
#pragma once

#include <string>
#include <vector>

#include "types/scope.h"

namespace cffix::gen {

// One ffi.cdef() call of the builder, to replay at import, or (include_module not
// empty) one ffi.include() of the FFI of that module, which the module imports.
struct CdefCall {
    std::string include_module;
    std::string text;
    bool override = false;
    bool packed = false;
    int pack = 0;
};

// release_gil=false: the wrappers keep the GIL during the call (set_source's opt-out).
// `wrap_rules`: the builder's ffi.wrap rules as a Python literal (cffix/wrappers.py
// dump_rules), which the module hands its ffi at import; "" for none.
std::string module_source(types::Scope& scope, const std::string& module_name,
                          const std::string& preamble, const std::vector<CdefCall>& cdefs,
                          const std::string& cffix_version, bool release_gil = true,
                          const std::string& wrap_rules = "");

}  // namespace cffix::gen
