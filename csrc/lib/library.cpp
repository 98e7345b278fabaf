// The Library object of ABI mode: loading, symbol lookup, attribute access (see library.h).
#include "lib/library.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "call/function.h"
#include "call/wrap.h"
#include "data/convert.h"
#include "data/module_function.h"
#include "util/errors.h"
#include "util/ft.h"
#include "util/pylong.h"
#include "util/sorted.h"

namespace cffix::lib {

using data::CData;
using types::CType;
using types::Kind;

namespace {

struct Library {
    PyObject_HEAD
    void* handle;         // from dlopen; null once closed
    bool owns_handle;     // false for a wrapped handle: the caller dlclose's it
    bool release_gil;     // given to every function made from this library
    bool api_module;      // the lib of an API-mode module (module_library)
    PyObject* ffi;        // owned: the FFI whose declarations are exposed
    types::Scope* scope;  // borrowed from ffi; null once the GC cleared the library
    PyObject* name;       // str: '<None>', the path, or the wrapped handle's address
    PyObject* dict;       // cache: name -> function cdata or int (lib.__dict__)
    // Symbol -> address of the global variables resolved so far (values are not cached:
    // C code may change them).
    types::NameMap<void*>* variables;
    ModuleTables tables;  // an API-mode module's (zero for the others)
    PyObject* included;   // list of the libs of included modules, or null
    PyObject* weakreflist;
    // What the function objects made from this library hold (call::LibraryHandle): it
    // makes calls raise after ffi.dlclose(), and unloads the library when the last of
    // them is gone. Owned; null once closed.
    call::LibraryHandle* loaded;
};

PyTypeObject Library_Type;

// Every live Library, so that ffi.wrap() can drop the function objects they cached
// (forget_functions). Under libraries_mutex (the GIL's job in the default build).
std::vector<Library*>& live_libraries() {
    static auto* all = new std::vector<Library*>();
    return *all;
}
ft::Mutex libraries_mutex;

Library* as_library(PyObject* obj) { return reinterpret_cast<Library*>(obj); }

// ---------------------------------------------------------------- errors

bool from_out_of_line_module(Library* lib);

PyObject* closed_error(Library* lib) {
    if (!lib->scope)
        return PyErr_Format(PyExc_ValueError, "library '%U' has been cleared", lib->name);
    if (lib->ffi && from_out_of_line_module(lib)) {
        // cffi's out-of-line modules: ffi.error and their text (a ValueError too, as
        // cffi.FFI's dlopen() raises).
        const char* name = PyUnicode_AsUTF8(lib->name);
        if (!name) return nullptr;
        try {
            throw Error(ErrorKind::FFIError, "library '" + std::string(name) + "' has been closed")
                .also_is(ErrorKind::ValueError);
        } catch (...) {
            return translate_exception();
        }
    }
    return PyErr_Format(PyExc_ValueError, "library '%U' has already been closed", lib->name);
}

PyObject* no_such_name(Library* lib, PyObject* name) {
    return PyErr_Format(PyExc_AttributeError,
                        "cffix library '%U' has no function, constant or global variable "
                        "named '%U'",
                        lib->name, name);
}

PyObject* verification_missing(const std::string& message) {
    PyErr_SetString(cffix::error_classes.verification_missing, message.c_str());
    return nullptr;
}

// Partial structs/unions (`...;`) have a layout only the C compiler knows: API mode.
bool check_not_partial(CType* t) {
    while (t->kind == Kind::Array) t = t->item;
    if ((t->kind == Kind::Struct || t->kind == Kind::Union) && (t->flags & types::RF_PARTIAL)) {
        verification_missing(t->cname);
        return false;
    }
    return true;
}

// ---------------------------------------------------------------- symbols

// Whether the library's FFI is the ffi of a generated out-of-line ABI module (builder.py
// marks it): cffi's libs of those raise ffi.error for a declared symbol the library lacks,
// cffi.FFI's own dlopen() an AttributeError (KeyError for a variable). Asked on errors only.
bool from_out_of_line_module(Library* lib) {
    PyRef marker(PyObject_GetAttrString(lib->ffi, "_out_of_line_abi"));
    int yes = marker ? PyObject_IsTrue(marker.get()) : 0;
    PyErr_Clear();
    return yes > 0;
}

// The address of `symbol`, or null with AttributeError naming the declaration (`what`
// `declared`), the symbol when an asm label renames it, the library and dlerror().
void* find_symbol(Library* lib, const std::string& symbol, const char* what, const char* declared) {
    dlerror();  // clear a stale error: a null result alone does not mean failure
    void* address = dlsym(lib->handle, symbol.c_str());
    if (address) return address;
    const char* error = dlerror();
    std::string label = symbol == declared ? "" : " (asm label '" + symbol + "')";
    const char* why = error ? error : "the symbol's address is NULL";
    if (from_out_of_line_module(lib)) {
        PyErr_Format(cffix::error_classes.ffi_error, "symbol '%s' not found in library '%U': %s",
                     declared, lib->name, why);
        return nullptr;
    }
    PyErr_Format(PyExc_AttributeError, "%s '%s'%s not found in library '%U': %s", what, declared,
                 label.c_str(), lib->name, why);
    return nullptr;
}

// A symbol an API-mode module knows (a global variable, a variadic function), or null.
const KnownSymbol* known_symbol(Library* lib, const std::string& symbol) {
    return find_sorted(lib->tables.symbols, static_cast<size_t>(lib->tables.nsymbols),
                       symbol.c_str(), [](const KnownSymbol& k) { return k.name; });
}

// Its address now: asked at each access, never cached (the name may be a macro such as
// `(*get_value())`). Null with FFIError (cffi's ffi.error) when C gives none.
void* known_address(const KnownSymbol* known, const char* what, const std::string& name) {
    void* address = known->address();
    if (!address)
        PyErr_Format(cffix::error_classes.ffi_error, "%s '%s' is at address NULL", what,
                     name.c_str());
    return address;
}

const std::string& symbol_of(const std::string& asm_name, const std::string& name) {
    return asm_name.empty() ? name : asm_name;
}

void* variable_address(Library* lib, const std::string& name, const types::VariableDecl& v) {
    const std::string& symbol = symbol_of(v.asm_name, name);
    auto it = lib->variables->find(symbol);
    if (it != lib->variables->end()) return it->second;
    if (const KnownSymbol* known = known_symbol(lib, symbol))  // an API-mode module's
        return known_address(known, "global variable", name);
    if (v.initialized) {
        // `static const double X = 42.5;` has no symbol: an API-mode module knows it.
        PyErr_Format(PyExc_NotImplementedError,
                     "non-integer constant '%s' cannot be accessed from a dlopen() library\n"
                     "  only the compiler knows its value: an API-mode module "
                     "(ffi.set_source) gives it",
                     name.c_str());
        return nullptr;
    }
    void* address = find_symbol(lib, symbol, "variable", name.c_str());
    if (address) lib->variables->emplace(symbol, address);
    return address;
}

// ---------------------------------------------------------------- attribute kinds

// Caches `value` under `key` unless another thread got there first; returns the cached
// object (new reference).
PyObject* cache(Library* lib, PyObject* key, PyObject* value) {
    if (!value) return nullptr;
    PyObject* kept = PyDict_SetDefault(lib->dict, key, value);  // borrowed
    PyObject* result = Py_XNewRef(kept);
    Py_DECREF(value);
    return result;
}

// `typedef int... t;` is only known to API-mode modules: elsewhere, what uses t raises.
bool check_resolved(const CType* t) {
    const CType* dots = types::unresolved_part(t);
    if (!dots) return true;
    try {
        types::throw_unresolved(dots);
    } catch (...) {
        cffix::translate_exception();
    }
    return false;
}

// The address of the declared function `name` (for wrapped functions: calls in their
// policies, destroy functions), or null with AttributeError.
void* declared_function_address(void* context, const std::string& name) {
    Library* lib = static_cast<Library*>(context);
    types::GlobalDecl g = lib->scope ? lib->scope->find_global(name) : types::GlobalDecl{};
    if (!g.function)
        return PyErr_Format(PyExc_AttributeError, "'%s' is not a declared function", name.c_str()),
               nullptr;
    const std::string& symbol = symbol_of(g.function->asm_name, name);
    if (const KnownSymbol* known = known_symbol(lib, symbol))
        return known_address(known, "function", name);
    if (lib->tables.nfunctions > 0)  // an API-mode module: the addresses it hands over
        return PyErr_Format(PyExc_AttributeError,
                            "function '%s' has no address in this API-mode module", name.c_str()),
               nullptr;
    return find_symbol(lib, symbol, "function/symbol", name.c_str());
}

// The object for a declared function at `address`: wrapped when ffi.wrap() rules say so,
// else a plain function cdata (or `plain`, an API-mode module's own object, if given).
PyObject* function_object(Library* lib, const std::string& name, const types::FunctionDecl& f,
                          void* address, PyObject* plain) {
    if (!lib->loaded) {
        Py_XDECREF(plain);
        return closed_error(lib);
    }
    bool attributes = !f.attributes.empty() || !f.param_attributes.empty();
    if (lib->scope && attributes && !call::has_wrap_rules(lib->scope) && lib->ffi) {
        // [[cffix::...]] in a cdef that did not go through FFI.cdef (an API-mode module's,
        // replayed by the core): the FFI's Python layer makes its rules now.
        PyRef done(PyObject_CallMethod(lib->ffi, "_cffix_enable_wrappers", nullptr));
        if (!done) {
            Py_XDECREF(plain);
            return nullptr;
        }
    }
    if (lib->scope && call::has_wrap_rules(lib->scope)) {
        call::WrapTarget t{
            lib->scope, &f,         address, &name, lib->release_gil, declared_function_address,
            lib,        lib->loaded};
        PyObject* wrapped = call::make_wrapped(t);
        if (wrapped || PyErr_Occurred()) {
            Py_XDECREF(plain);
            return wrapped;
        }
    }
    if (plain) return plain;
    return call::make_function(f.type.get(), address, lib->release_gil, lib->loaded,
                               call::intern_function_names(name, f.param_names));
}

PyObject* load_function(Library* lib, PyObject* key, const std::string& name,
                        const types::FunctionDecl& f) {
    if (f.extern_python != parse::ExternPython::No) {
        // An API-mode module defines it: its address, as a function pointer cdata (cffi's).
        if (const KnownSymbol* known = known_symbol(lib, name)) {
            void* address = known_address(known, "function", name);
            if (!address) return nullptr;
            return cache(lib, key,
                         reinterpret_cast<PyObject*>(data::new_pointer(f.type.get(), address)));
        }
        return PyErr_Format(PyExc_AttributeError,
                            "'%s' is declared extern \"Python\": it exists only in API-mode "
                            "modules (ffi.set_source), not in a dlopen() library",
                            name.c_str());
    }
    if (!check_resolved(f.type.get())) return nullptr;
    // API mode hands over the addresses of functions it does not wrap (variadic ones).
    const std::string& symbol = symbol_of(f.asm_name, name);
    const KnownSymbol* known = known_symbol(lib, symbol);
    void* address = known ? known_address(known, "function", name)
                          : find_symbol(lib, symbol, "function/symbol", name.c_str());
    if (!address && !known && !f.inline_in.empty() &&
        PyErr_ExceptionMatches(PyExc_AttributeError)) {
        // Defined inline in a header: the library has no symbol for it, API mode calls it.
        PyErr_Clear();
        return PyErr_Format(PyExc_AttributeError,
                            "function '%s' is static inline in %s: no symbol in library '%U'; "
                            "use API mode (ffi.set_source) to call it",
                            name.c_str(), f.inline_in.c_str(), lib->name);
    }
    if (!address) return nullptr;
    return cache(lib, key, function_object(lib, name, f, address, nullptr));
}

PyObject* load_constant(Library* lib, PyObject* key, const std::string& name,
                        const types::ConstantDecl& c) {
    if (c.dots) {
        if (c.enum_type)
            return verification_missing("the value of '" + name + "' (" + c.enum_type->cname +
                                        ", declared with '...') is only known in API mode");
        return verification_missing("the value of '" + name +
                                    "' (#define with '...') is only known in API mode");
    }
    return cache(lib, key, int128_to_python(c.value));
}

// A header's floating or string macro (types::Scope::declare_macro): a float, bytes or str.
PyObject* load_macro_constant(Library* lib, PyObject* key, const types::MacroConstantDecl& m) {
    switch (m.kind) {
        case types::MacroConstantDecl::Floating: return cache(lib, key, PyFloat_FromDouble(m.real));
        case types::MacroConstantDecl::Bytes:
            return cache(
                lib, key,
                PyBytes_FromStringAndSize(m.text.data(), static_cast<Py_ssize_t>(m.text.size())));
        default:
            return cache(lib, key,
                         PyUnicode_DecodeUTF8(m.text.data(), static_cast<Py_ssize_t>(m.text.size()),
                                              "surrogatepass"));
    }
}

// `T x[]`: the length is unknown, so the value is a `T *` to the first item, as in cffi.
PyObject* pointer_to_items(CType* array, void* address) {
    try {
        Ref<CType> pointer(types::pointer_type(array->item));
        return reinterpret_cast<PyObject*>(data::new_pointer(pointer.get(), address));
    } catch (...) {
        return cffix::translate_exception();
    }
}

// A global of a struct type the cdef leaves opaque (`typedef ... t; extern t g;`): its
// address is known, its value has no size to read or write (cffi's texts).
bool opaque_record(CType* t) {
    if (!types::is_record(t)) return false;
    try {
        return !types::complete_type(t, false);
    } catch (...) {
        return true;  // an impossible layout: complete_type() says why at the next use
    }
}

PyObject* read_variable(Library* lib, const std::string& name, const types::VariableDecl& v) {
    CType* t = v.type.get();
    if (!check_not_partial(t) || !check_resolved(t)) return nullptr;
    if (opaque_record(t)) {
        if (v.is_const)
            return PyErr_Format(cffix::error_classes.ffi_error,
                                "constant '%s' is of type '%s', whose size is not known",
                                name.c_str(), t->cname.c_str());
        return PyErr_Format(PyExc_TypeError, "cdata '%s' is opaque", t->cname.c_str());
    }
    void* address = variable_address(lib, name, v);
    if (!address) return nullptr;
    if (t->kind == Kind::Array && t->length < 0) return pointer_to_items(t, address);
    return data::from_c(t, static_cast<char*>(address), reinterpret_cast<PyObject*>(lib));
}

bool write_variable(Library* lib, const std::string& name, const types::VariableDecl& v,
                    PyObject* value) {
    if (v.is_const) {
        // Its memory is usually read-only: writing would crash, not raise.
        PyErr_Format(PyExc_AttributeError, "cannot write to const global variable '%s'",
                     name.c_str());
        return false;
    }
    if (!check_not_partial(v.type.get()) || !check_resolved(v.type.get())) return false;
    if (opaque_record(v.type.get())) {
        PyErr_Format(PyExc_TypeError, "'%s' is opaque", v.type->cname.c_str());
        return false;
    }
    void* address = variable_address(lib, name, v);
    return address && data::to_c(v.type.get(), static_cast<char*>(address), value);
}

// The declaration `key` names, with its UTF-8 text in `name`. False (no exception) for a
// name that is not a str or not declared.
bool find_declaration(Library* lib, PyObject* key, std::string& name, types::GlobalDecl& g) {
    if (!PyUnicode_Check(key) || !lib->scope) return false;
    Py_ssize_t len;
    const char* text = PyUnicode_AsUTF8AndSize(key, &len);
    if (!text) {
        PyErr_Clear();  // unencodable (lone surrogates): no C name is spelled so
        return false;
    }
    name.assign(text, static_cast<size_t>(len));
    g = lib->scope->find_global(name);
    return static_cast<bool>(g);
}

// ---------------------------------------------------------------- type slots

// An API-mode module's function or constant called `key`, made and cached: a new
// reference; null with an exception set; or null without one when it has none of that
// name (the declarations are searched then).
PyObject* module_attribute(Library* lib, PyObject* key) {
    const ModuleTables& t = lib->tables;
    if (!PyUnicode_Check(key)) return nullptr;
    const char* name = PyUnicode_AsUTF8(key);
    if (!name) {
        PyErr_Clear();  // unencodable: no C name is spelled so
        return nullptr;
    }
    if (const PyMethodDef* f = find_sorted(t.functions, static_cast<size_t>(t.nfunctions), name,
                                           [](const PyMethodDef& d) { return d.ml_name; })) {
        // A `typedef float... t;` that C says is no float or double: refused at first use.
        types::GlobalDecl g;
        if (lib->scope) {
            try {
                g = lib->scope->find_global(name);
            } catch (...) {
                return cffix::translate_exception();
            }
            if (g.function && !check_resolved(g.function->type.get())) return nullptr;
        }
        // Its C function pointer is the module's direct function (the symbol of its name).
        const KnownSymbol* known = known_symbol(lib, name);
        PyObject* plain = data::new_module_function(f, lib->ffi, lib->scope,
                                                    known ? known->address : nullptr, lib->name);
        if (!plain || !lib->scope || !g.function) return cache(lib, key, plain);
        // Wrapped (ffi.wrap rules, [[cffix::...]] in the cdef): called through that direct
        // function's address with the ABI-mode plan.
        const types::FunctionDecl& decl = *g.function;
        bool wrapped = call::has_wrap_rules(lib->scope) || !decl.attributes.empty() ||
                       !decl.param_attributes.empty();
        void* address = wrapped && known ? known->address() : nullptr;
        if (!address) return cache(lib, key, plain);
        return cache(lib, key, function_object(lib, name, decl, address, plain));
    }
    if (const char* const* c = find_sorted(t.constant_names, static_cast<size_t>(t.nconstants),
                                           name, [](const char* n) { return n; })) {
        long long s;
        unsigned long long u;
        int flags = t.constant_value(static_cast<int>(c - t.constant_names), &s, &u);
        bool negative = flags & 1;
        if (flags & 2) {  // cffi's text; the rest of the lib works
            std::string value = negative ? std::to_string(s) : std::to_string(u);
            if (!negative && u != 0) {
                char hex[24];
                std::snprintf(hex, sizeof hex, " (0x%llx)", u);
                value += hex;
            }
            PyErr_Format(error_classes.ffi_error,
                         "the C compiler says '%s' is equal to %s, but the cdef disagrees", name,
                         value.c_str());
            return nullptr;
        }
        return cache(lib, key, negative ? PyLong_FromLongLong(s) : PyLong_FromUnsignedLongLong(u));
    }
    return nullptr;
}

// Runs an API-mode module's deferred cdefs (types::Scope::cdef_later) before the
// declarations are searched. False with an exception set.
bool declarations_ready(Library* lib) {
    if (!lib->scope) return true;
    try {
        lib->scope->run_deferred();
        return true;
    } catch (...) {
        cffix::translate_exception();
        return false;
    }
}

// Whether this lib's own cdef declares `key` (not one of the FFIs it includes).
bool declares_itself(Library* lib, PyObject* key) {
    if (!PyUnicode_Check(key)) return false;
    const char* name = PyUnicode_AsUTF8(key);
    if (!name) {
        PyErr_Clear();
        return false;
    }
    const types::Scope& s = *lib->scope;
    std::string_view n(name);
    return s.functions().count(n) || s.variables().count(n) || s.constants().count(n);
}

// `key` from the libs of the included modules: a new reference, or null with an
// exception set, or null without one when none of them has it.
PyObject* from_included(Library* lib, PyObject* key) {
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(lib->included); ++i) {
        PyObject* found = PyObject_GetAttr(PyList_GET_ITEM(lib->included, i), key);
        if (found || !PyErr_ExceptionMatches(PyExc_AttributeError)) return found;
        PyErr_Clear();
    }
    return nullptr;
}

PyObject* library_dir(PyObject* self, PyObject*);
PyObject* library_getattro(PyObject* self, PyObject* key);

// The names lib lists (dir(lib)) as a vector of str objects' texts.
bool lib_names(Library* lib, std::vector<std::string>& names) {
    ft::CriticalSection section(lib->ffi ? lib->ffi : reinterpret_cast<PyObject*>(lib));
    if (!declarations_ready(lib)) return false;
    if (lib->scope) lib->scope->list_globals(names, lib->api_module);
    return true;
}

// An API-mode lib is module-like, as cffi's: `from module.lib import name` works (lib is
// in sys.modules), and it answers __name__ ("<module>.lib"), __all__ (its functions and
// constants, not its global variables), __loader__ and __spec__ (None), and __class__ (the
// module type, so that help(lib) shows a module). A new reference, or null (with an
// exception set on failure) for other names.
PyObject* module_like_attribute(Library* lib, PyObject* key) {
    if (!PyUnicode_Check(key)) return nullptr;
    if (PyUnicode_CompareWithASCIIString(key, "__name__") == 0)
        return PyUnicode_FromFormat("%U.lib", lib->name);
    if (PyUnicode_CompareWithASCIIString(key, "__loader__") == 0 ||
        PyUnicode_CompareWithASCIIString(key, "__spec__") == 0)
        Py_RETURN_NONE;
    if (PyUnicode_CompareWithASCIIString(key, "__class__") == 0)
        return Py_NewRef(reinterpret_cast<PyObject*>(&PyModule_Type));
    if (PyUnicode_CompareWithASCIIString(key, "__all__") != 0) return nullptr;
    std::vector<std::string> names;
    if (!lib_names(lib, names)) return nullptr;
    PyRef all(PyList_New(0));
    if (!all) return nullptr;
    for (const std::string& n : names) {
        types::GlobalDecl g = lib->scope->find_global(n);
        // (a `const T x;` is a value, as in cffi: listed; a const array is a variable)
        if (g.variable && !(g.variable->is_const && g.variable->type->kind != Kind::Array))
            continue;
        PyRef s(PyUnicode_FromStringAndSize(n.data(), static_cast<Py_ssize_t>(n.size())));
        if (!s || PyList_Append(all.get(), s.get()) < 0) return nullptr;
    }
    return all.release();
}

PyObject* library_getattro_slow(PyObject* self, PyObject* key);

PyObject* library_getattro(PyObject* self, PyObject* key) {
    Library* lib = as_library(self);
    // The hot path: functions and constants accessed before are one dict lookup.
#ifdef Py_GIL_DISABLED
    PyObject* hit;  // a strong reference: dlclose() may empty the dict meanwhile
    if (PyDict_GetItemRef(lib->dict, key, &hit) != 0) return hit;
#else
    if (PyObject* hit = PyDict_GetItemWithError(lib->dict, key)) return Py_NewRef(hit);
    if (PyErr_Occurred()) return nullptr;
#endif
    // The declarations are the FFI's (which cdef() may change) and the library's symbol
    // caches are read and filled along with them: under the FFI's critical section.
    ft::CriticalSection section(lib->ffi ? lib->ffi : self);
    return library_getattro_slow(self, key);
}

PyObject* library_getattro_slow(PyObject* self, PyObject* key) {
    Library* lib = as_library(self);
    if (lib->tables.nfunctions + lib->tables.nconstants > 0 && lib->handle) {
        if (PyObject* made = module_attribute(lib, key)) return made;
        if (PyErr_Occurred()) return nullptr;
    }
    if (!declarations_ready(lib)) return nullptr;
    if (lib->included && lib->scope && !declares_itself(lib, key)) {
        if (PyObject* found = from_included(lib, key)) return found;
        if (PyErr_Occurred()) return nullptr;
    }
    std::string name;
    types::GlobalDecl g;
    if (find_declaration(lib, key, name, g)) {
        if (!lib->handle) return closed_error(lib);
        if (g.function) return load_function(lib, key, name, *g.function);
        if (g.variable) return read_variable(lib, name, *g.variable);
        if (g.macro) return load_macro_constant(lib, key, *g.macro);
        return load_constant(lib, key, name, *g.constant);
    }
    if (lib->api_module) {
        if (PyObject* special = module_like_attribute(lib, key)) return special;
        if (PyErr_Occurred()) return nullptr;
    }
    // Python-level attributes: __class__, __dict__, __dir__...
    PyObject* result = PyObject_GenericGetAttr(self, key);
    if (result || !PyErr_ExceptionMatches(PyExc_AttributeError)) return result;
    PyErr_Clear();
    if (!lib->scope) return closed_error(lib);
    return no_such_name(lib, key);
}

int library_setattro(PyObject* self, PyObject* key, PyObject* value) {
    Library* lib = as_library(self);
    ft::CriticalSection section(lib->ffi ? lib->ffi : self);  // as library_getattro's
    if (!declarations_ready(lib)) return -1;
    std::string name;
    types::GlobalDecl g;
    if (!find_declaration(lib, key, name, g)) {
        if (!PyUnicode_Check(key))
            PyErr_Format(PyExc_TypeError, "attribute name must be string, not '%s'",
                         Py_TYPE(key)->tp_name);
        else if (!lib->scope)
            closed_error(lib);
        else
            no_such_name(lib, key);
        return -1;
    }
    if (!lib->handle) {
        closed_error(lib);
        return -1;
    }
    if (!value) {
        PyErr_SetString(PyExc_AttributeError, "C attribute cannot be deleted");
        return -1;
    }
    if (!g.variable) {
        PyErr_Format(PyExc_AttributeError, "cannot write to function or constant '%s'",
                     name.c_str());
        return -1;
    }
    return write_variable(lib, name, *g.variable, value) ? 0 : -1;
}

PyObject* library_repr(PyObject* self) {
    Library* lib = as_library(self);
    return PyUnicode_FromFormat("<Lib object for '%U'%s>", lib->name,
                                lib->handle ? "" : " (closed)");
}

PyObject* library_dir(PyObject* self, PyObject*) {
    Library* lib = as_library(self);
    std::vector<std::string> names;
    if (!lib_names(lib, names)) return nullptr;
    PyRef list(PyList_New(static_cast<Py_ssize_t>(names.size())));
    if (!list) return nullptr;
    for (size_t i = 0; i < names.size(); ++i) {
        PyObject* s =
            PyUnicode_FromStringAndSize(names[i].data(), static_cast<Py_ssize_t>(names[i].size()));
        if (!s) return nullptr;
        PyList_SET_ITEM(list.get(), static_cast<Py_ssize_t>(i), s);
    }
    return list.release();
}

// An API-mode lib's __dict__ is a new dict of every name, as cffi's: functions, constants'
// values, and for global variables a pointer to each (never their value); a dlopen() lib's
// is its cache of the names resolved so far.
PyObject* library_get_dict(PyObject* self, void*) {
    Library* lib = as_library(self);
    if (!lib->api_module) return Py_NewRef(lib->dict);
    std::vector<std::string> names;
    if (!lib_names(lib, names)) return nullptr;
    PyRef dict(PyDict_New());
    if (!dict) return nullptr;
    for (const std::string& n : names) {
        PyRef key(PyUnicode_FromStringAndSize(n.data(), static_cast<Py_ssize_t>(n.size())));
        if (!key) return nullptr;
        const types::VariableDecl* v = lib->scope->find_global(n).variable;
        bool variable = v && !(v->is_const && v->type->kind != Kind::Array);  // else a value
        PyRef value(variable ? address_of(self, key.get()) : library_getattro(self, key.get()));
        if (!value || PyDict_SetItem(dict.get(), key.get(), value.get()) < 0) return nullptr;
    }
    return dict.release();
}

int library_traverse(PyObject* self, visitproc visit, void* arg) {
    Library* lib = as_library(self);
    Py_VISIT(lib->ffi);
    Py_VISIT(lib->dict);
    Py_VISIT(lib->included);
    return 0;
}

int library_clear(PyObject* self) {
    Library* lib = as_library(self);
    if (lib->dict) PyDict_Clear(lib->dict);  // the dict itself stays: getattro reads it
    lib->scope = nullptr;                    // it dies with the FFI
    Py_CLEAR(lib->ffi);
    Py_CLEAR(lib->included);
    return 0;
}

void library_dealloc(PyObject* self) {
    Library* lib = as_library(self);
    PyObject_GC_UnTrack(self);
    {
        ft::Lock lock(libraries_mutex);
        auto& all = live_libraries();
        all.erase(std::remove(all.begin(), all.end(), lib), all.end());
    }
    if (lib->weakreflist) PyObject_ClearWeakRefs(self);
    library_clear(self);
    Py_CLEAR(lib->dict);
    Py_CLEAR(lib->name);
    Py_CLEAR(lib->loaded);
    delete lib->variables;
    // The handle stays open: see library.h.
    Py_TYPE(self)->tp_free(self);
}

PyMethodDef library_methods[] = {
    {"__dir__", library_dir, METH_NOARGS,
     "The declared functions, global variables and constants."},
    {nullptr, nullptr, 0, nullptr},
};

PyGetSetDef library_getset[] = {
    {"__dict__", library_get_dict, nullptr, "The functions and constants resolved so far.",
     nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

// ---------------------------------------------------------------- loading

// A new Library for an open `handle` (closed again if this fails and it owns it).
PyObject* new_library(PyObject* ffi, types::Scope* scope, void* handle, bool owns_handle,
                      PyObject* name, bool release_gil) {
    PyRef self(Library_Type.tp_alloc(&Library_Type, 0));
    Library* lib = as_library(self.get());
    if (self) {
        lib->ffi = Py_NewRef(ffi);
        lib->scope = scope;
        ft::enable_try_incref(self.get());  // forget_functions takes it from the list
        ft::Lock lock(libraries_mutex);
        live_libraries().push_back(lib);
        lib->name = Py_NewRef(name);
        lib->release_gil = release_gil;
        lib->dict = PyDict_New();
        lib->loaded = call::new_library_handle(owns_handle ? handle : nullptr);
        if (lib->dict && lib->loaded) {
            try {
                lib->variables = new types::NameMap<void*>();
            } catch (const std::bad_alloc&) {
                PyErr_NoMemory();
            }
        }
    }
    if (!self || !lib->variables) {
        if (owns_handle) dlclose(handle);
        return nullptr;
    }
    lib->handle = handle;
    lib->owns_handle = owns_handle;
    return self.release();
}

}  // namespace

// Imported here only: ctypes is not needed on any other path.
PyObject* find_library(PyObject* name) {
    PyRef util(PyImport_ImportModule("ctypes.util"));
    if (!util) return nullptr;
    return PyObject_CallMethod(util.get(), "find_library", "O", name);
}

// Without the GIL: it runs the library's constructors and takes the loader's lock.
void* load(const char* path, int flags, std::string& error) {
    void* handle;
    Py_BEGIN_ALLOW_THREADS
    handle = dlopen(path, flags);
    if (!handle) {
        const char* message = dlerror();
        error = message ? message : "unknown dlopen() error";
    }
    Py_END_ALLOW_THREADS
    return handle;
}

PyObject* wrap_loaded(PyObject* ffi, types::Scope* scope, void* handle, PyObject* display,
                      bool release_gil) {
    return new_library(ffi, scope, handle, true, display, release_gil);
}

PyObject* open_library(PyObject* ffi, types::Scope* scope, PyObject* name, int flags,
                       bool release_gil) {
    if (!(flags & (RTLD_NOW | RTLD_LAZY))) flags |= RTLD_NOW;
    std::string error;
    if (name == Py_None) {
        PyRef display(PyUnicode_FromString("<None>"));
        if (!display) return nullptr;
        void* handle = load(nullptr, flags, error);
        if (!handle)
            return PyErr_Format(PyExc_OSError, "cannot load library '<None>': %s", error.c_str());
        return new_library(ffi, scope, handle, true, display.get(), release_gil);
    }
    PyRef path(PyUnicode_EncodeFSDefault(name));
    if (!path) return nullptr;
    const char* text = PyBytes_AS_STRING(path.get());
    if (strlen(text) != static_cast<size_t>(PyBytes_GET_SIZE(path.get())))
        return PyErr_Format(PyExc_ValueError, "dlopen(): embedded null character in %R", name);
    // As given first: a path, a file name ("libm.so.6") or a name the loader knows.
    if (void* handle = load(text, flags, error))
        return new_library(ffi, scope, handle, true, name, release_gil);
    // cffi reports this first failure only for names that look like files.
    bool file_like = strchr(text, '/') || strchr(text, '.');
    // Then a short name ("m", "c", "z") through the platform's search, as cffi does.
    PyRef found(find_library(name));
    if (!found) return nullptr;
    if (found.get() == Py_None) {
        if (file_like)
            return PyErr_Format(PyExc_OSError,
                                "cannot load library '%U': %s.  Additionally, "
                                "ctypes.util.find_library() did not manage to locate a "
                                "library called %R",
                                name, error.c_str(), name);
        return PyErr_Format(PyExc_OSError,
                            "ctypes.util.find_library() did not manage to locate a library "
                            "called %R",
                            name);
    }
    if (!PyUnicode_Check(found.get()))
        return PyErr_Format(PyExc_TypeError, "ctypes.util.find_library() returned %R", found.get());
    PyRef found_path(PyUnicode_EncodeFSDefault(found.get()));
    if (!found_path) return nullptr;
    void* handle = load(PyBytes_AS_STRING(found_path.get()), flags, error);
    if (!handle)
        return PyErr_Format(PyExc_OSError, "cannot load library '%U': %s", found.get(),
                            error.c_str());
    return new_library(ffi, scope, handle, true, found.get(), release_gil);
}

PyObject* wrap_handle(PyObject* ffi, types::Scope* scope, CData* handle, bool release_gil) {
    CType* t = handle->ctype;
    if (t->kind != Kind::Pointer || t->item->kind != Kind::Void)
        return PyErr_Format(PyExc_TypeError,
                            "dlopen() takes a file name or 'void *' handle, not '%s'",
                            t->cname.c_str());
    if (!handle->data) {
        PyErr_SetString(PyExc_RuntimeError, "cannot call dlopen(NULL)");
        return nullptr;
    }
    PyRef display(PyUnicode_FromFormat("%p", handle->data));
    if (!display) return nullptr;
    return new_library(ffi, scope, handle->data, false, display.get(), release_gil);
}

PyObject* module_library(PyObject* ffi, types::Scope* scope, PyObject* name,
                         const ModuleTables& tables) {
    std::string error;
    void* handle = load(nullptr, RTLD_NOW, error);
    if (!handle)
        return PyErr_Format(PyExc_OSError, "cannot load the main program: %s", error.c_str());
    PyRef self(new_library(ffi, scope, handle, false, name, true));
    if (!self) return nullptr;
    Library* lib = as_library(self.get());
    lib->tables = tables;
    lib->api_module = true;
    return self.release();
}

void keep_gil(PyObject* self) {
    if (PyObject_TypeCheck(self, &Library_Type)) as_library(self)->release_gil = false;
}

bool include_library(PyObject* self, PyObject* other) {
    if (!PyObject_TypeCheck(self, &Library_Type)) {
        PyErr_Format(PyExc_TypeError, "expected a cffix Lib object, got %s",
                     Py_TYPE(self)->tp_name);
        return false;
    }
    Library* lib = as_library(self);
    if (!lib->included && !(lib->included = PyList_New(0))) return false;
    return PyList_Append(lib->included, other) == 0;
}

bool close_library(PyObject* obj) {
    Library* lib = as_library(obj);
    ft::CriticalSection section(lib->ffi ? lib->ffi : obj);  // as library_getattro's
    if (!lib->handle) return true;
    closed_error(lib);  // what calls through the function objects raise from now on
    PyRef loaded(reinterpret_cast<PyObject*>(lib->loaded));  // the library's reference
    lib->loaded = nullptr;
    call::mark_closed(reinterpret_cast<call::LibraryHandle*>(loaded.get()));
    void* handle = lib->handle;
    lib->handle = nullptr;  // from now on every declared name raises
    lib->variables->clear();
    PyDict_Clear(lib->dict);  // the function objects must not be found again
    if (!lib->owns_handle) return true;
    // Function objects still alive (or a call in flight) keep the library loaded: the last
    // of them unloads it. Else it is unloaded here, where a failure can be reported.
    auto* h = reinterpret_cast<call::LibraryHandle*>(loaded.get());
    if (Py_REFCNT(loaded.get()) != 1) return true;
    h->handle = nullptr;
    int status;
    std::string error;
    Py_BEGIN_ALLOW_THREADS
    status = dlclose(handle);
    if (status != 0) {
        const char* message = dlerror();
        error = message ? message : "unknown dlclose() error";
    }
    Py_END_ALLOW_THREADS
    if (status != 0) {
        PyErr_Format(PyExc_OSError, "cannot close library '%U': %s", lib->name, error.c_str());
        return false;
    }
    return true;
}

void forget_functions(const types::Scope* scope) {
    std::vector<PyRef> libraries;  // held: the loop below runs Python code (dict deletes)
    {
        ft::Lock lock(libraries_mutex);
        for (Library* lib : live_libraries()) {
            if (lib->scope != scope || !lib->dict) continue;
            PyObject* obj = reinterpret_cast<PyObject*>(lib);
            if (ft::try_incref(obj)) libraries.push_back(PyRef(obj));
        }
    }
    for (const PyRef& held : libraries) {
        Library* lib = as_library(held.get());
        // Constants stay; functions are made again at their next access.
        PyRef keys(PyDict_Keys(lib->dict));
        if (!keys) {
            PyErr_Clear();
            continue;
        }
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(keys.get()); ++i) {
            PyObject* key = PyList_GET_ITEM(keys.get(), i);
            PyObject* value = PyDict_GetItem(lib->dict, key);
            if (value && !PyLong_Check(value) && PyDict_DelItem(lib->dict, key) < 0) PyErr_Clear();
        }
    }
}

bool is_library(PyObject* obj) { return Py_IS_TYPE(obj, &Library_Type); }

CType* function_type_of(PyObject* obj) {
    return data::is_module_function(obj) ? data::module_function_type(obj) : nullptr;
}

PyObject* address_of(PyObject* obj, PyObject* key) {
    Library* lib = as_library(obj);
    ft::CriticalSection section(lib->ffi ? lib->ffi : obj);  // as library_getattro's
    if (!PyUnicode_Check(key))
        return PyErr_Format(PyExc_TypeError, "addressof(lib, name): name must be a str, not %s",
                            Py_TYPE(key)->tp_name);
    std::string name;
    types::GlobalDecl g;
    bool declared = find_declaration(lib, key, name, g);
    if (PyErr_Occurred()) return nullptr;
    if (!lib->handle || !lib->scope) return closed_error(lib);
    if (declared && g.function && lib->tables.nfunctions > 0 &&
        g.function->extern_python == parse::ExternPython::No && !g.function->type->ellipsis) {
        // An API-mode module's wrapped function: a function pointer to the C function.
        const KnownSymbol* known = known_symbol(lib, name);
        void* address = known ? known->address() : nullptr;
        if (!address)
            return PyErr_Format(PyExc_TypeError,
                                "addressof(lib, '%s'): the module has no address for it (a "
                                "macro in the C source, or a function of a C++ module)",
                                name.c_str());
        return reinterpret_cast<PyObject*>(data::new_pointer(g.function->type.get(), address));
    }
    if (declared && g.function) return library_getattro(obj, key);  // the cached cdata
    if (!declared || !g.variable)
        return PyErr_Format(PyExc_AttributeError,
                            "cffix library '%U' has no function or global variable named '%U'",
                            lib->name, key);
    CType* t = g.variable->type.get();
    // `int (*const f)(int);` is a value, as in cffi: its address is the function pointer.
    if (g.variable->is_const && t->kind == Kind::Function)
        return read_variable(lib, name, *g.variable);
    // A `const` global is a value, as in cffi (lib.x reads it; API mode holds a copy): a
    // pointer to it would let a write reach read-only memory.
    // (An initialized one, `static const double X = 1.5;`, has no symbol: variable_address.)
    if (g.variable->is_const && !g.variable->initialized)
        return PyErr_Format(PyExc_AttributeError, "cannot take the address of the constant '%s'",
                            name.c_str());
    if (!check_not_partial(t)) return nullptr;
    char* address = static_cast<char*>(variable_address(lib, name, *g.variable));
    if (!address) return nullptr;
    if (t->kind == Kind::Array && t->length < 0) return pointer_to_items(t, address);
    if (t->kind == Kind::Array && !lib->api_module)  // as cffi's dlopen(): the array itself
        return reinterpret_cast<PyObject*>(data::new_view(t, address, obj, t->length));
    Ref<CType> pointer;
    try {
        pointer = Ref<CType>(types::pointer_type(t));
    } catch (...) {
        return cffix::translate_exception();
    }
    if (t->size <= 0)  // opaque: nothing is known to be reachable through it
        return reinterpret_cast<PyObject*>(data::new_pointer(pointer.get(), address));
    // A view: it keeps the library object alive and knows it reaches one item.
    return reinterpret_cast<PyObject*>(data::new_view(pointer.get(), address, obj, 1));
}

bool init_library_type(PyObject* module) {
    PyTypeObject& t = Library_Type;
    Py_SET_REFCNT(&t, 1);
    t.tp_name = "cffix._core.Lib";
    t.tp_basicsize = sizeof(Library);
    t.tp_dealloc = library_dealloc;
    t.tp_repr = library_repr;
    t.tp_getattro = library_getattro;
    t.tp_setattro = library_setattro;
    t.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC;
    t.tp_doc =
        "A library loaded by ffi.dlopen(): its declared functions, global variables and\n"
        "constants are attributes.\n\n"
        "    lib = ffi.dlopen('m'); lib.sqrt(2.0)";
    t.tp_traverse = library_traverse;
    t.tp_clear = library_clear;
    t.tp_weaklistoffset = offsetof(Library, weakreflist);
    t.tp_methods = library_methods;
    t.tp_getset = library_getset;
    if (PyType_Ready(&t) < 0) return false;
    return PyModule_AddObjectRef(module, "Lib", reinterpret_cast<PyObject*>(&t)) >= 0;
}

}  // namespace cffix::lib
