// The C API table (see capi.h and cffix_api.h): each entry a thin adapter onto the layer
// that owns the job, and compile-time checks that the public header's struct heads match
// the core's.
#include "capi.h"

#include <cstddef>

#include "call/errno.h"
#include "call/extern_python.h"
#include "call/python_call.h"
#include "cffix_api.h"
#include "data/argument.h"
#include "ffi/object.h"
#include "lib/library.h"
#include "util/errors.h"

// The package version (cffix/__init__.py, the one place it is written), which
// scikit-build-core hands to CMake; a build outside it says so.
#ifndef CFFIX_VERSION
#define CFFIX_VERSION "unknown (built outside pip)"
#endif

namespace cffix {

namespace {

using data::CData;
using types::CType;

// The public header's heads are the core's leading fields: checked here, once.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"  // CType is not standard-layout; gcc
                                                     // and clang lay its fields out in order
static_assert(offsetof(CType, kind) == offsetof(cffix_ctype, kind));
static_assert(offsetof(CType, conv) == offsetof(cffix_ctype, conv));
static_assert(offsetof(CType, flags) == offsetof(cffix_ctype, flags));
static_assert(offsetof(CType, align) == offsetof(cffix_ctype, align));
static_assert(offsetof(CType, size) == offsetof(cffix_ctype, size));
static_assert(offsetof(CType, length) == offsetof(cffix_ctype, length));
static_assert(offsetof(CType, item) == offsetof(cffix_ctype, item));
static_assert(offsetof(data::CDataView, owner) == offsetof(cffix_cdata_view, owner));
#pragma GCC diagnostic pop
static_assert(sizeof(types::Kind) == 1 && sizeof(types::Conv) == 1);
static_assert(static_cast<int>(types::Kind::Function) == CFFIX_KIND_FUNCTION);
static_assert(static_cast<int>(types::Kind::Array) == CFFIX_KIND_ARRAY);
static_assert(static_cast<int>(types::Conv::Array) == CFFIX_CONV_ARRAY);
static_assert(static_cast<int>(types::Conv::Float128) == CFFIX_CONV_FLOAT128);
static_assert(static_cast<int>(types::Conv::Pointer) == CFFIX_CONV_POINTER);
static_assert(static_cast<int>(types::Conv::Bool) == CFFIX_CONV_BOOL);
static_assert(offsetof(CData, ctype) == offsetof(cffix_cdata, ctype));
static_assert(offsetof(CData, data) == offsetof(cffix_cdata, data));
static_assert(offsetof(CData, length) == offsetof(cffix_cdata, length));
static_assert(offsetof(CData, flags) == offsetof(cffix_cdata, flags));
static_assert(data::CD_RELEASED == CFFIX_CD_RELEASED);

CType* core(cffix_ctype* t) { return reinterpret_cast<CType*>(t); }
cffix_ctype* api(CType* t) { return reinterpret_cast<cffix_ctype*>(t); }

// `ffi` as an FFI object, or false with TypeError (the table's callers pass any object).
bool check_ffi(PyObject* ffi) {
    if (PyObject_TypeCheck(ffi, &FFI_Type)) return true;
    PyErr_Format(PyExc_TypeError, "expected an FFI object, got %s", Py_TYPE(ffi)->tp_name);
    return false;
}

types::Scope* scope_of(PyObject* ffi);

// "\x01f\x01k": the type of parameter k of the function f the cdef declares, as the
// compiler's facts resolved it (a parameter of a typedef with `[...]` lengths, which no
// type string spells before the compiler gave them).
static cffix_ctype* parameter_type(PyObject* ffi, std::string_view spec) {
    size_t split = spec.find('\x01');
    types::Scope* scope = scope_of(ffi);
    if (!scope) return nullptr;
    if (split != std::string_view::npos) {
        std::string_view name = spec.substr(0, split);
        size_t k = 0;
        for (char c : spec.substr(split + 1)) k = k * 10 + static_cast<size_t>(c - '0');
        try {
            auto it = scope->functions().find(name);
            if (it != scope->functions().end() && k < it->second.type->args.size())
                return api(it->second.type->args[k]);
        } catch (...) {
            translate_exception();
            return nullptr;
        }
    }
    PyErr_Format(error_classes.ffi_error,
                 "the module asks for the parameter '%s' the cdef does not have",
                 std::string(spec).c_str());
    return nullptr;
}

cffix_ctype* api_typeof(PyObject* ffi, const char* cdecl) {
    if (cdecl[0] == '\x01') return parameter_type(ffi, cdecl + 1);
    if (!check_ffi(ffi)) return nullptr;
    PyRef text(PyUnicode_FromString(cdecl));
    if (!text) return nullptr;
    return api(ctype_arg(ffi, text.get()));
}

cffix_int_range api_integer_range(int conv) {
    return data::integer_range(static_cast<types::Conv>(conv));
}

int api_to_c(cffix_ctype* t, char* dst, PyObject* value) { return data::to_c(core(t), dst, value); }

PyObject* api_from_c(cffix_ctype* t, char* src, PyObject* owner) {
    return data::from_c(core(t), src, owner);
}

int api_argument_to_c(cffix_ctype* t, char* slot, PyObject* value, cffix_temporaries* temps) {
    return data::argument_to_c(core(t), slot, value, *temps);
}

PyObject* api_result_from_c(cffix_ctype* t, char* src) { return data::value_from_c(core(t), src); }

int* api_saved_errno() { return &call::saved_errno(); }

static_assert(sizeof(cffix_global) == sizeof(lib::KnownSymbol) &&
              offsetof(cffix_global, address) == offsetof(lib::KnownSymbol, address));
static_assert(sizeof(cffix_module_tables) == sizeof(lib::ModuleTables) &&
              offsetof(cffix_module_tables, nfunctions) ==
                  offsetof(lib::ModuleTables, nfunctions) &&
              offsetof(cffix_module_tables, constant_value) ==
                  offsetof(lib::ModuleTables, constant_value) &&
              offsetof(cffix_module_tables, nglobals) == offsetof(lib::ModuleTables, nsymbols));

// The FFI's scope, or null with FFIError (a cleared FFI).
types::Scope* scope_of(PyObject* ffi) {
    if (!check_ffi(ffi)) return nullptr;
    types::Scope* scope = reinterpret_cast<FFIObject*>(ffi)->scope;
    if (!scope) PyErr_SetString(error_classes.ffi_error, "FFI object is not initialized");
    return scope;
}

PyObject* api_make_lib(PyObject* ffi, const char* name, const cffix_module_tables* tables) {
    types::Scope* scope = scope_of(ffi);
    if (!scope) return nullptr;
    PyRef text(PyUnicode_FromString(name));
    if (!text) return nullptr;
    scope->refuse_undeclared_tags();  // an API-mode module's ffi, as cffi's
    return lib::module_library(ffi, scope, text.get(),
                               *reinterpret_cast<const lib::ModuleTables*>(tables));
}

int api_cdef_later(PyObject* ffi, const char* source, Py_ssize_t length, int override, int packed,
                   int pack) {
    types::Scope* scope = scope_of(ffi);
    if (!scope) return 0;
    try {
        types::CdefOptions options;
        options.override = override != 0;
        options.packed = packed != 0;
        options.pack = static_cast<uint32_t>(pack);
        scope->cdef_later(std::string_view(source, static_cast<size_t>(length)), options);
    } catch (...) {
        translate_exception();
        return 0;
    }
    return 1;
}

int api_set_compiler_facts(PyObject* ffi, const cffix_fact* facts, Py_ssize_t nfacts) {
    types::Scope* scope = scope_of(ffi);
    if (!scope) return 0;
    try {
        types::NameMap<types::CompilerFact> map;
        for (Py_ssize_t i = 0; i < nfacts; ++i) {
            const cffix_fact& f = facts[i];
            types::CompilerFact& fact = map[f.name];
            fact.size = f.size;
            fact.align = f.align;
            fact.is_signed = f.is_signed != 0;
            fact.values.assign(f.values, f.values + f.count);
        }
        scope->set_compiler_facts(std::move(map));
    } catch (...) {
        translate_exception();
        return 0;
    }
    return 1;
}

void api_enter_python(cffix_python_entry* entry) { call::enter_python(*entry); }

void api_leave_python(cffix_python_entry* entry) { call::leave_python(*entry); }

int api_extern_python_init(PyObject* ffi, cffix_extern_python* functions) {
    if (!scope_of(ffi)) return 0;
    reinterpret_cast<FFIObject*>(ffi)->extern_python = functions;
    return 1;
}

void api_extern_python_unattached(cffix_extern_python* function) {
    call::report_unattached(*function);
}

int api_extern_python_result(cffix_extern_python* function, void* result, PyObject* value) {
    return call::store_extern_result(*function, result, value);
}

void api_extern_python_error(cffix_extern_python* function, void* result, int converting_result) {
    call::report_extern_error(*function, result, converting_result != 0);
}

}  // namespace

bool add_c_api(PyObject* module) {
    static cffix_api table;
    table.api_version = CFFIX_API_VERSION;
    table.cffix_version = CFFIX_VERSION;
    table.cdata_type = &data::CData_Type;
    table.owned_type = &data::CDataOwned_Type;
    table.view_type = &data::CDataView_Type;
    table.type_of = api_typeof;
    table.integer_range = api_integer_range;
    table.to_c = api_to_c;
    table.from_c = api_from_c;
    table.argument_to_c = api_argument_to_c;
    table.result_from_c = api_result_from_c;
    table.saved_errno = api_saved_errno;
    table.make_lib = api_make_lib;
    table.set_compiler_facts = api_set_compiler_facts;
    table.cdef_later = api_cdef_later;
    table.ffi_type = &FFI_Type;
    table.lib_include = [](PyObject* lib, PyObject* other) -> int {
        return lib::include_library(lib, other);
    };
    table.enter_python = api_enter_python;
    table.leave_python = api_leave_python;
    table.extern_python_init = api_extern_python_init;
    table.extern_python_unattached = api_extern_python_unattached;
    table.extern_python_result = api_extern_python_result;
    table.extern_python_error = api_extern_python_error;
    table.lib_keep_gil = [](PyObject* lib) { lib::keep_gil(lib); };
    PyRef capsule(PyCapsule_New(&table, CFFIX_API_CAPSULE, nullptr));
    return capsule && PyModule_AddObjectRef(module, "_C_API", capsule.get()) == 0;
}

}  // namespace cffix
