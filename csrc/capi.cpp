// The C API table (see capi.h and cffix_api.h): each entry a thin adapter onto the layer
// that owns the job, and compile-time checks that the public header's struct heads match
// the core's.
#include "capi.h"

#include <cstddef>
#include <memory>

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

cffix_ctype* api_typeof(PyObject* ffi, const char* cdecl) {
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

PyObject* api_make_lib(PyObject* ffi, const char* name, PyObject* functions, PyObject* constants,
                       const cffix_global* globals, Py_ssize_t nglobals) {
    if (!check_ffi(ffi)) return nullptr;
    types::Scope* scope = reinterpret_cast<FFIObject*>(ffi)->scope;
    if (!scope) {
        PyErr_SetString(error_classes.ffi_error, "FFI object is not initialized");
        return nullptr;
    }
    PyRef text(PyUnicode_FromString(name));
    if (!text) return nullptr;
    return lib::module_library(ffi, scope, text.get(), functions, constants,
                               reinterpret_cast<const lib::KnownSymbol*>(globals), nglobals);
}

void api_enter_python(cffix_python_entry* entry) { call::enter_python(*entry); }

void api_leave_python(cffix_python_entry* entry) { call::leave_python(*entry); }

int api_extern_python_init(PyObject* ffi, const char* module, cffix_extern_python* functions,
                           PyObject* lib_functions) {
    if (!check_ffi(ffi)) return 0;
    auto* object = reinterpret_cast<FFIObject*>(ffi);
    if (!object->scope) {
        PyErr_SetString(error_classes.ffi_error, "FFI object is not initialized");
        return 0;
    }
    if (!PyDict_Check(lib_functions)) {
        PyErr_SetString(PyExc_TypeError, "extern_python_init(): lib_functions is a dict");
        return 0;
    }
    std::unique_ptr<call::ExternPythonTable> table =
        call::register_extern_python(*object->scope, module, functions, lib_functions);
    if (!table) return 0;
    delete object->extern_python;
    object->extern_python = table.release();
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
    table.enter_python = api_enter_python;
    table.leave_python = api_leave_python;
    table.extern_python_init = api_extern_python_init;
    table.extern_python_unattached = api_extern_python_unattached;
    table.extern_python_result = api_extern_python_result;
    table.extern_python_error = api_extern_python_error;
    PyRef capsule(PyCapsule_New(&table, CFFIX_API_CAPSULE, nullptr));
    return capsule && PyModule_AddObjectRef(module, "_C_API", capsule.get()) == 0;
}

}  // namespace cffix
