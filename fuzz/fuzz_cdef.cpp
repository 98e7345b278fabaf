// libFuzzer harness: the declaration parser (csrc/parse/) with the real declaring side
// (csrc/types/scope.cpp, layout, interning): what ffi.cdef(input) does, then what the
// FFI's introspection does with the result (ffi.list_types, typeof of each name, dir(lib)).
// Then the same text once more in the same scope with override=True (redeclarations) and
// packed=True.
#include <vector>

#include "harness.h"
#include "types/scope.h"

using namespace cffix;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    fuzz::init_python();
    return 0;
}

static void resolve_name(types::Scope& scope, const std::string& text) {
    try {
        types::CTypeRef t = scope.parse_type(text);
        fuzz::touch_type(reinterpret_cast<PyObject*>(t.get()));
    } catch (...) {
        fuzz::expect_clean_error();
    }
}

static void introspect(types::Scope& scope) {
    std::vector<std::string> typedefs, structs, unions, globals;
    scope.list_types(typedefs, structs, unions);
    scope.list_globals(globals, true);
    for (const std::string& name : typedefs) resolve_name(scope, name);
    for (const std::string& name : structs) resolve_name(scope, "struct " + name);
    for (const std::string& name : unions) resolve_name(scope, "union " + name + " *");
    std::vector<types::CType*> records, enums;
    scope.own_tagged_types(records, enums);
    for (types::CType* t : records) fuzz::touch_type(reinterpret_cast<PyObject*>(t));
    for (types::CType* t : enums) fuzz::touch_type(reinterpret_cast<PyObject*>(t));
    (void)scope.dots_typedefs();
    (void)scope.dots_array_typedefs();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string source(fuzz::as_text(data, size));  // the FFI keeps a copy too
    {
        types::Scope scope;
        try {
            scope.cdef(source, {});
            introspect(scope);
        } catch (...) {
            fuzz::expect_clean_error();
        }
        try {
            scope.cdef(source, {.override = true, .packed = true});
        } catch (...) {
            fuzz::expect_clean_error();
        }
    }
    if (PyErr_Occurred()) fuzz::fail("a Python exception left set");
    return 0;
}
