// The C source of an API-mode module: see module_source.h.
#include "gen/module_source.h"

#include <algorithm>
#include <map>
#include <string_view>

#include "data/argument.h"
#include "util/errors.h"

namespace cffix::gen {

namespace {

using types::Conv;
using types::CType;
using types::Kind;

[[noreturn]] void refuse(const std::string& what) {
    throw Error(ErrorKind::VerificationError, what);
}

// A C string literal of `text`, one source line per line of text.
std::string c_string(std::string_view text) {
    std::string out = "\"";
    for (unsigned char c : text) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '"': out += "\\\""; break;
            case '\n': out += "\\n\"\n    \""; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20 || c >= 0x7f) {  // octal: never swallows a following digit
                    char buf[5];
                    snprintf(buf, sizeof buf, "\\%03o", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out + "\"";
}

std::string int64_literal(int64_t v) {
    if (v == INT64_MIN) return "(-9223372036854775807LL - 1)";
    return std::to_string(v) + "LL";
}

// The kinds that take a plain int on the fast path: the one integer table says which.
bool takes_int(Conv c) {
    data::IntRange r = data::integer_range(c);
    return r.lo <= r.hi;
}
bool is_signed_integer(Conv c) { return c >= Conv::Int8 && c <= Conv::Int64; }

// What cannot be generated yet is refused by name, at build time.
void check_type(const CType* t, const std::string& where) {
    if ((t->kind == Kind::Struct || t->kind == Kind::Union) && (t->flags & types::RF_PARTIAL))
        refuse(where + ": '" + t->cname +
               "' has '...' members: API mode does not complete structs from the C "
               "compiler yet; declare every member");
    if (t->conv == Conv::None && t->kind != Kind::Void)
        refuse(where + ": '" + t->cname + "' has an unknown size");
}

// The distinct types the wrappers convert through the C API, by cname, numbered.
class TypeTable {
public:
    int index(const CType* t) {
        auto [it, added] = index_.emplace(t->cname, static_cast<int>(names_.size()));
        if (added) names_.push_back(t->cname);
        return it->second;
    }
    const std::vector<std::string>& names() const { return names_; }

private:
    std::map<std::string, int> index_;
    std::vector<std::string> names_;
};

void convert_argument(std::string& out, const CType* t, size_t k, TypeTable& types) {
    std::string x = "_cffix_a" + std::to_string(k), arg = "args[" + std::to_string(k) + "]";
    int ti = types.index(t);
    std::string general = "_cffix_convert(" + std::to_string(ti) + ", &" + x + ", sizeof " + x +
                          ", " + arg + ", &temps)";
    std::string decl = types::cname_with(t, "");
    if (takes_int(t->conv)) {
        data::IntRange r = data::integer_range(t->conv);
        out += "    {\n        int64_t v;\n        static const cffix_int_range range = {" +
               int64_literal(r.lo) + ", " + int64_literal(r.hi) + "};\n";
        out += "        if (cffix_fast_integer(" + arg + ", range, &v))\n            " + x +
               " = (" + decl + ")v;\n";
        out += "        else if (!" + general + ")\n            goto fail;\n    }\n";
    } else if (t->conv == Conv::Float || t->conv == Conv::Double) {
        out += "    {\n        double v;\n        if (cffix_fast_double(" + arg + ", &v))\n" +
               "            " + x + " = (" + decl + ")v;\n";
        out += "        else if (!" + general + ")\n            goto fail;\n    }\n";
    } else if (t->conv == Conv::Pointer) {
        out += "    {\n        void* p;\n        if (cffix_fast_pointer(" + arg +
               ", _cffix_types[" + std::to_string(ti) + "], " +
               (data::takes_bytes(t->item) ? "1" : "0") +
               ", _cffix->cdata_type, _cffix->owned_type, &p))\n" + "            " + x + " = (" +
               decl + ")p;\n";
        out += "        else if (!" + general + ")\n            goto fail;\n    }\n";
    } else if (t->conv == Conv::Record) {
        out += "    {\n        const char* m = cffix_fast_record(" + arg + ", _cffix_types[" +
               std::to_string(ti) + "], _cffix->view_type, _cffix->owned_type);\n";
        out += "        if (m)\n            memcpy(&" + x + ", m, sizeof " + x + ");\n";
        out += "        else if (!" + general + ")\n            goto fail;\n    }\n";
    } else {
        out += "    if (!" + general + ")\n        goto fail;\n";
    }
}

std::string convert_result(const CType* r, TypeTable& types) {
    if (r->kind == Kind::Void) return "Py_RETURN_NONE;";
    if (is_signed_integer(r->conv)) return "return PyLong_FromLongLong((long long)_cffix_r);";
    if (r->conv >= Conv::UInt8 && r->conv <= Conv::UInt64)
        return "return PyLong_FromUnsignedLongLong((unsigned long long)_cffix_r);";
    if (r->conv == Conv::Float || r->conv == Conv::Double)
        return "return PyFloat_FromDouble((double)_cffix_r);";
    return "return _cffix->result_from_c(_cffix_types[" + std::to_string(types.index(r)) +
           "], (char*)&_cffix_r);";
}

void function_wrapper(std::string& out, const std::string& name, const CType* fn,
                      TypeTable& types) {
    std::string where = "function '" + name + "'";
    if (fn->ellipsis) refuse(where + ": variadic functions are not in API mode yet");
    const CType* r = fn->item;
    check_type(r, where + ", the result");
    size_t n = fn->args.size();
    out += "static PyObject* _cffix_f_" + name +
           "(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {\n";
    for (size_t k = 0; k < n; ++k) {
        check_type(fn->args[k], where + ", argument " + std::to_string(k + 1));
        out += "    " + types::cname_with(fn->args[k], " _cffix_a" + std::to_string(k)) + ";\n";
    }
    if (r->kind != Kind::Void) out += "    " + types::cname_with(r, " _cffix_r") + ";\n";
    out += "    cffix_temporaries temps = {{NULL}, 0, NULL};\n    int* saved_errno;\n";
    out += "    (void)self;\n    (void)args;\n";
    out += "    if (nargs != " + std::to_string(n) + ")\n        return _cffix_arity(\"" + name +
           "\", " + std::to_string(n) + ", nargs);\n";
    for (size_t k = 0; k < n; ++k) convert_argument(out, fn->args[k], k, types);
    std::string call = name + "(";
    for (size_t k = 0; k < n; ++k) call += (k ? ", _cffix_a" : "_cffix_a") + std::to_string(k);
    call += ")";
    out += "    saved_errno = _cffix->saved_errno();\n";
    out += "    Py_BEGIN_ALLOW_THREADS\n    errno = *saved_errno;\n";
    out += "    " + std::string(r->kind == Kind::Void ? "" : "_cffix_r = ") + call + ";\n";
    out += "    *saved_errno = errno;\n    Py_END_ALLOW_THREADS\n";
    out += "    cffix_temporaries_clear(&temps);\n    " + convert_result(r, types) + "\n";
    if (n > 0) out += "fail:\n    cffix_temporaries_clear(&temps);\n    return NULL;\n";
    out += "}\n\n";
}

// ---------------------------------------------------------------- extern "Python"
// Each extern "Python" declaration becomes a C function of exactly the declared signature
// (static, or not for "Python+C") that calls the Python function ffi.def_extern()
// attached, through a static cffix_extern_python in _cffix_extern_python[] (the core's
// call/extern_python.h). The hot part is inline: taking the GIL (enter_python), integer
// and floating arguments, the vectorcall, and the result's fast companions; the other
// arguments go through the core's result_from_c (value_from_c), the other results and
// every error through the table's extern_python_* functions, which run ffi.callback's code.

std::vector<std::string> extern_python_names(types::Scope& scope) {
    std::vector<std::string> names;
    for (const auto& [name, decl] : scope.functions())
        if (decl.extern_python != parse::ExternPython::No) names.push_back(name);
    std::sort(names.begin(), names.end());
    return names;
}

// `name(params)` with the result type around it: the types as the cdef wrote them
// (qualifiers kept, so that the C source may declare the function too), or the CTypes'
// text when the declaration was not written as a function (a typedef of a function type).
std::string extern_python_signature(const std::string& name, const types::FunctionDecl& decl) {
    const CType* fn = decl.type.get();
    const std::vector<types::WrittenType>& written = decl.written;
    std::string params;
    for (size_t k = 0; k < fn->args.size(); ++k) {
        std::string param = "_cffix_a" + std::to_string(k);
        params += k ? ", " : "";
        params += written.empty() ? types::cname_with(fn->args[k], " " + param)
                                  : written[k + 1].with(param);
    }
    std::string declarator = name + "(" + (params.empty() ? "void" : params) + ")";
    return written.empty() ? types::cname_with(fn->item, " " + declarator)
                           : written[0].with(declarator);
}

// Whether C can declare the function before the set_source() code: every type in its
// signature is built into C (or comes with Python.h), none from the user's headers.
bool declarable_before_source(const CType* t) {
    switch (t->kind) {
        case Kind::Void: return true;
        case Kind::Primitive: return t->cname != "char16_t" && t->cname != "char32_t";
        case Kind::Pointer:
        case Kind::Array: return declarable_before_source(t->item);
        case Kind::Function:
            for (const CType* a : t->args)
                if (!declarable_before_source(a)) return false;
            return declarable_before_source(t->item);
        default: return false;
    }
}

// Declarations of the functions, before the set_source() code, so that it may call them
// or take their address without declaring them itself (cffi asks the source to declare
// them). Only where the signature needs nothing from the source; the source may still
// declare them, compatibly.
std::string extern_python_declarations(types::Scope& scope, const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& name : names) {
        const types::FunctionDecl& decl = scope.functions().find(name)->second;
        if (decl.type->ellipsis || !declarable_before_source(decl.type.get())) continue;
        bool plus_c = decl.extern_python == parse::ExternPython::PythonPlusC;
        out += (plus_c ? "" : "static ") + extern_python_signature(name, decl) + ";\n";
    }
    if (!out.empty())
        out = "/* ---------------------------------------------- extern \"Python\" functions */\n" +
              out + "\n";
    return out;
}

// The Python value of argument `k`, inline for integers and floats, else the core's.
std::string extern_python_argument(const CType* t, size_t k, TypeTable& types) {
    std::string a = "_cffix_a" + std::to_string(k);
    if (is_signed_integer(t->conv)) return "PyLong_FromLongLong((long long)" + a + ")";
    if (t->conv >= Conv::UInt8 && t->conv <= Conv::UInt64)
        return "PyLong_FromUnsignedLongLong((unsigned long long)" + a + ")";
    if (t->conv == Conv::Float || t->conv == Conv::Double)
        return "PyFloat_FromDouble((double)" + a + ")";
    return "_cffix->result_from_c(_cffix_types[" + std::to_string(types.index(t)) + "], (char*)&" +
           a + ")";
}

// The outcome of the call: `_cffix_v`, what the Python function returned (null: it
// raised), into `_cffix_r`, with the fast companions first.
std::string extern_python_outcome(const CType* r, TypeTable& types) {
    std::string result = r->kind == Kind::Void ? "NULL" : "&_cffix_r";
    std::string out =
        "        if (!_cffix_v) {\n            _cffix->extern_python_error(_cffix_x, " + result +
        ", 0);\n";
    std::string store = "!_cffix->extern_python_result(_cffix_x, " + result + ", _cffix_v)";
    std::string fail = "_cffix->extern_python_error(_cffix_x, " + result + ", 1);\n";
    std::string decl = types::cname_with(r, "");
    std::string local, fast;  // a companion's local, and its test
    if (r->kind == Kind::Void) {
        return out + "        } else if (_cffix_v != Py_None && " + store + ") {\n            " +
               fail + "        }\n";
    } else if (takes_int(r->conv)) {
        data::IntRange range = data::integer_range(r->conv);
        local = "int64_t i;\n            static const cffix_int_range range = {" +
                int64_literal(range.lo) + ", " + int64_literal(range.hi) + "};";
        fast =
            "cffix_fast_integer(_cffix_v, range, &i))\n                _cffix_r = (" + decl + ")i";
    } else if (r->conv == Conv::Float || r->conv == Conv::Double) {
        local = "double d;";
        fast = "cffix_fast_double(_cffix_v, &d))\n                _cffix_r = (" + decl + ")d";
    } else if (r->conv == Conv::Pointer) {
        local = "void* p;";
        fast = "cffix_fast_pointer_cdata(_cffix_v, _cffix_types[" + std::to_string(types.index(r)) +
               "], _cffix->cdata_type, _cffix->owned_type, &p))\n                _cffix_r = (" +
               decl + ")p";
    }
    if (fast.empty())
        return out + "        } else if (" + store + ") {\n            " + fail + "        }\n";
    out += "        } else {\n            " + local + "\n";
    out += "            if (" + fast + ";\n";
    out += "            else if (" + store + ")\n                " + fail + "        }\n";
    return out;
}

void extern_python_function(std::string& out, const std::string& name,
                            const types::FunctionDecl& decl, size_t index, TypeTable& types) {
    std::string where = "extern \"Python\" function '" + name + "'";
    const CType* fn = decl.type.get();
    if (fn->ellipsis) refuse(where + ": it is variadic (C would pass it arguments it cannot name)");
    const CType* r = fn->item;
    check_type(r, where + ", the result");
    size_t n = fn->args.size();
    for (size_t k = 0; k < n; ++k)
        check_type(fn->args[k], where + ", argument " + std::to_string(k + 1));
    bool plus_c = decl.extern_python == parse::ExternPython::PythonPlusC;
    std::string count = std::to_string(n);
    out += (plus_c ? "" : "static ") + extern_python_signature(name, decl) + " {\n";
    if (r->kind != Kind::Void) out += "    " + types::cname_with(r, " _cffix_r") + ";\n";
    out += "    cffix_extern_python* _cffix_x = &_cffix_extern_python[" + std::to_string(index) +
           "];\n";
    out += "    cffix_python_entry _cffix_entry;\n    PyObject *_cffix_f, *_cffix_v = NULL;\n";
    out += "    PyObject* _cffix_argv[" + std::to_string(n + 1) + "];\n";
    if (r->kind != Kind::Void) out += "    memset(&_cffix_r, 0, sizeof _cffix_r);\n";
    std::string zero = r->kind == Kind::Void ? "return;" : "return _cffix_r;";
    out += "    if (!_cffix) { /* called before the module's import */\n";
    out += "        fputs(\"extern \\\"Python\\\": function " + name +
           "() called before its module was imported\\n\", stderr);\n        " + zero + "\n    }\n";
    out += "    _cffix->enter_python(&_cffix_entry);\n";
    out += "    _cffix_f = _cffix_x->callable;\n";
    out += "    if (!_cffix_f) {\n        _cffix->extern_python_unattached(_cffix_x);\n";
    out += "    } else {\n";
    std::string all = "1";
    for (size_t k = 0; k < n; ++k) {
        std::string slot = "_cffix_argv[" + std::to_string(k + 1) + "]";
        out += "        " + slot + " = " + extern_python_argument(fn->args[k], k, types) + ";\n";
        all = k ? all + " && " + slot : slot;
    }
    out += "        if (" + all + ") {\n            Py_INCREF(_cffix_f);\n";
    out +=
        "            _cffix_v = PyObject_Vectorcall(_cffix_f, _cffix_argv + 1, " + count +
        " | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);\n            Py_DECREF(_cffix_f);\n        }\n";
    for (size_t k = 0; k < n; ++k)
        out += "        Py_XDECREF(_cffix_argv[" + std::to_string(k + 1) + "]);\n";
    out += extern_python_outcome(r, types);
    out += "        Py_XDECREF(_cffix_v);\n    }\n";
    out += "    _cffix->leave_python(&_cffix_entry);\n";
    out += r->kind == Kind::Void ? "}\n\n" : "    return _cffix_r;\n}\n\n";
}

// The static objects of the functions (their addresses are set at import, once the
// functions are defined), then the functions.
std::string extern_python_functions(types::Scope& scope, const std::vector<std::string>& names,
                                    TypeTable& types) {
    std::string out = "static cffix_extern_python _cffix_extern_python[] = {\n";
    for (const std::string& name : names) out += "    {\"" + name + "\", NULL, NULL, NULL},\n";
    out += "    {NULL, NULL, NULL, NULL},\n};\n\n";
    for (size_t i = 0; i < names.size(); ++i)
        extern_python_function(out, names[i], scope.functions().find(names[i])->second, i, types);
    return out;
}

// Module init: the functions' addresses, then the core's registration, which makes this
// module's ffi the one def_extern() attaches to and puts lib.<name> into `functions`.
std::string extern_python_init(const std::vector<std::string>& names, const std::string& module) {
    std::string out;
    for (size_t i = 0; i < names.size(); ++i)
        out += "    _cffix_extern_python[" + std::to_string(i) + "].address = (void*)" + names[i] +
               ";\n";
    out += "    if (!_cffix->extern_python_init(ffi, " + c_string(module) +
           ", _cffix_extern_python, functions))\n        goto fail;\n";
    return out;
}

// Partial structs and unions (`...;`) and `typedef ... t;` need the C compiler's facts,
// which API mode does not gather yet: refused by name.
void check_declarations(types::Scope& scope) {
    std::vector<std::string> typedefs, structs, unions;
    scope.list_types(typedefs, structs, unions);
    auto check = [&](const std::string& text) {
        try {
            const CType* t = scope.parse_type(text).get();
            if (t->flags & types::RF_PARTIAL && (t->kind == Kind::Struct || t->kind == Kind::Union))
                check_type(t, "'" + text + "'");
        } catch (const Error& e) {
            if (e.kind() == ErrorKind::VerificationError) throw;
            refuse("'" + text + "': " + e.what() +
                   ": API mode does not complete types with '...' from the C compiler yet");
        }
    };
    for (const std::string& name : structs) check("struct " + name);
    for (const std::string& name : unions) check("union " + name);
    for (const std::string& name : typedefs) check(name);
}

constexpr const char* kHelpers = R"C(static const cffix_api* _cffix;

static PyObject* _cffix_arity(const char* name, Py_ssize_t expected, Py_ssize_t got) {
    return PyErr_Format(PyExc_TypeError, "%s() takes exactly %zd argument%s (%zd given)", name,
                        expected, expected == 1 ? "" : "s", got);
}

/* A value the fast companions did not take: the core's argument_to_c into a zeroed,
 * aligned slot of at least 8 bytes, then copied into the typed local. */
static int _cffix_convert(int type, void* dst, size_t size, PyObject* value,
                          cffix_temporaries* temps) {
    union {
        long double ld;
        void* p;
        long long ll;
        char bytes[64];
    } local;
    char* slot = local.bytes;
    size_t need = size < 8 ? 8 : size;
    int ok;
    if (need > sizeof local) {
        slot = (char*)PyMem_Calloc(1, need);
        if (!slot) return PyErr_NoMemory(), 0;
    } else {
        memset(&local, 0, sizeof local);
    }
    ok = _cffix->argument_to_c(_cffix_types[type], slot, value, temps);
    if (ok) memcpy(dst, slot, size);
    if (slot != local.bytes) PyMem_Free(slot);
    return ok;
}

static int _cffix_constant(PyObject* constants, const char* name, int negative, long long s,
                           unsigned long long u) {
    PyObject* v = negative ? PyLong_FromLongLong(s) : PyLong_FromUnsignedLongLong(u);
    int rc;
    if (!v) return -1;
    rc = PyDict_SetItemString(constants, name, v);
    Py_DECREF(v);
    return rc;
}

)C";

}  // namespace

std::string module_source(types::Scope& scope, const std::string& module_name,
                          const std::string& preamble, const std::vector<CdefCall>& cdefs,
                          const std::string& cffix_version) {
    std::string base = module_name.substr(module_name.rfind('.') + 1);
    std::vector<std::string> names;
    for (const auto& [name, decl] : scope.functions())
        if (decl.extern_python == parse::ExternPython::No) names.push_back(name);
    std::sort(names.begin(), names.end());
    std::vector<std::string> extern_python = extern_python_names(scope);
    std::vector<std::string> variables;
    for (const auto& entry : scope.variables()) variables.push_back(entry.first);
    std::sort(variables.begin(), variables.end());

    check_declarations(scope);
    TypeTable types;
    std::string wrappers;
    for (const std::string& name : names)
        function_wrapper(wrappers, name, scope.functions().find(name)->second.type.get(), types);
    std::string extern_python_code = extern_python_functions(scope, extern_python, types);

    std::vector<std::string> constants;
    for (const auto& entry : scope.constants()) constants.push_back(entry.first);
    std::sort(constants.begin(), constants.end());

    std::string out;
    out += "/* " + module_name + ": generated by cffix " + cffix_version +
           " (API mode). Do not edit: change the build script and run it again. */\n";
    out += "#define PY_SSIZE_T_CLEAN\n#include <Python.h>\n\n";
    out += extern_python_declarations(scope, extern_python);
    out +=
        "/* ---------------------------------------------- the source given to set_source() */\n";
    out += preamble + "\n\n";
    out += "/* ---------------------------------------------- cffix */\n";
    out +=
        "#include <errno.h>\n#include <stdio.h>\n#include <string.h>\n\n#include "
        "\"cffix_api.h\"\n\n";
    out +=
        "#if defined(__GNUC__)\n"
        "#pragma GCC diagnostic error \"-Wincompatible-pointer-types\"\n"
        "#pragma GCC diagnostic error \"-Wimplicit-function-declaration\"\n#endif\n"
        // cdef types drop const (as cffi's): a `const char *` result or global is held
        // as `char *`, which is no mismatch.
        "#if defined(__clang__)\n"
        "#pragma clang diagnostic ignored \"-Wincompatible-pointer-types-discards-qualifiers\"\n"
        "#elif defined(__GNUC__)\n"
        "#pragma GCC diagnostic ignored \"-Wdiscarded-qualifiers\"\n#endif\n\n";
    out += "static cffix_ctype* _cffix_types[" +
           std::to_string(std::max<size_t>(1, types.names().size())) + "];\n";
    out += "static const char* const _cffix_type_names[] = {";
    for (const std::string& t : types.names()) out += c_string(t) + ", ";
    out += "NULL};\n\n";
    out += kHelpers;
    // A cdef value that differs from the header's is a compile error naming it.
    for (const std::string& name : constants) {
        const types::ConstantDecl& c = scope.constants().find(name)->second;
        if (c.dots) continue;
        auto v = static_cast<long long>(c.value);
        out += "typedef char _cffix_cdef_value_of_" + name + "_differs_from_the_source[((" + name +
               ") == (" + int64_literal(v) + ")) ? 1 : -1];\n";
    }
    // Globals: their addresses for lib, and a check that each has the cdef's type (a
    // pointer of the cdef's type must take its address: an error otherwise).
    out += "\nstatic void _cffix_check_globals(void) {\n";
    for (size_t i = 0; i < variables.size(); ++i) {
        const types::VariableDecl& v = scope.variables().find(variables[i])->second;
        check_type(v.type.get(), "global variable '" + variables[i] + "'");
        std::string p = "_cffix_g" + std::to_string(i);
        if (v.type->kind == Kind::Pointer) {  // cdef types drop a pointee's const: size only
            out += "    (void)sizeof(char[(sizeof(" + variables[i] + ") == sizeof(" +
                   types::cname_with(v.type.get(), "") + ")) ? 1 : -1]);\n";
            continue;
        }
        std::string declarator = (v.is_const ? " const(*" : "(*") + p + ")";
        out += "    " + types::cname_with(v.type.get(), declarator) + " = &" + variables[i] +
               ";\n    (void)" + p + ";\n";
    }
    out += "}\n\nstatic const cffix_global _cffix_globals[] = {\n";
    for (const std::string& name : variables) {
        const types::VariableDecl& v = scope.variables().find(name)->second;
        out += "    {" + c_string(v.asm_name.empty() ? name : v.asm_name) + ", (void*)&" + name +
               "},\n";
    }
    out += "    {NULL, NULL},\n};\n\n" + wrappers + extern_python_code;
    out += "static PyMethodDef _cffix_methods[] = {\n";
    for (const std::string& name : names)
        out += "    {\"" + name + "\", (PyCFunction)(void (*)(void))_cffix_f_" + name +
               ", METH_FASTCALL, NULL},\n";
    out += "    {NULL, NULL, 0, NULL},\n};\n\n";
    out += "static struct PyModuleDef _cffix_module = {PyModuleDef_HEAD_INIT, " +
           c_string(module_name) + ", NULL, -1, NULL, NULL, NULL, NULL, NULL};\n\n";
    out += "PyMODINIT_FUNC PyInit_" + base + "(void) {\n";
    out += "    PyObject *module = NULL, *cffix = NULL, *ffi = NULL, *lib = NULL, *r;\n";
    out += "    PyObject *functions = NULL, *constants = NULL;\n";
    out +=
        "    int i;\n    (void)_cffix_convert;\n    (void)_cffix_constant;\n"
        "    (void)_cffix_check_globals;\n";
    out += "    _cffix = cffix_import_api(" + c_string(module_name) + ", CFFIX_API_VERSION, " +
           c_string(cffix_version) + ");\n";
    out += "    if (!_cffix) return NULL;\n";
    out += "    if (!(cffix = PyImport_ImportModule(\"cffix\"))) goto fail;\n";
    out += "    if (!(ffi = PyObject_CallMethod(cffix, \"FFI\", NULL))) goto fail;\n";
    for (const CdefCall& c : cdefs) {
        out += "    r = PyObject_CallMethod(ffi, \"cdef\", \"(s" +
               std::string(c.pack ? "OOi" : "OO") + ")\", " + c_string(c.text) + ", " +
               (c.override ? "Py_True" : "Py_False") + ", " + (c.packed ? "Py_True" : "Py_False") +
               (c.pack ? ", " + std::to_string(c.pack) : "") + ");\n";
        out += "    if (!r) goto fail;\n    Py_DECREF(r);\n";
    }
    out += "    for (i = 0; _cffix_type_names[i]; ++i)\n";
    out +=
        "        if (!(_cffix_types[i] = _cffix->type_of(ffi, _cffix_type_names[i]))) goto fail;\n";
    out += "    if (!(functions = PyDict_New()) || !(constants = PyDict_New())) goto fail;\n";
    out +=
        "    for (i = 0; _cffix_methods[i].ml_name; ++i) {\n"
        "        PyObject* f = PyCFunction_NewEx(&_cffix_methods[i], NULL, NULL);\n"
        "        int rc = f ? PyDict_SetItemString(functions, _cffix_methods[i].ml_name, f) "
        ": -1;\n"
        "        Py_XDECREF(f);\n        if (rc < 0) goto fail;\n    }\n";
    for (const std::string& name : constants)
        out += "    if (_cffix_constant(constants, \"" + name + "\", (" + name +
               ") < 0, (long long)(" + name + "), (unsigned long long)(" + name +
               ")) < 0)\n        goto fail;\n";
    out += extern_python_init(extern_python, module_name);
    out += "    lib = _cffix->make_lib(ffi, " + c_string(module_name) +
           ", functions, constants, _cffix_globals, " + std::to_string(variables.size()) + ");\n";
    out += "    if (!lib) goto fail;\n";
    out += "    if (!(module = PyModule_Create(&_cffix_module))) goto fail;\n";
    out +=
        "    if (PyModule_AddObjectRef(module, \"ffi\", ffi) < 0 ||\n"
        "        PyModule_AddObjectRef(module, \"lib\", lib) < 0)\n        goto fail;\n";
    out +=
        "    Py_DECREF(cffix);\n    Py_DECREF(ffi);\n    Py_DECREF(lib);\n"
        "    Py_DECREF(functions);\n    Py_DECREF(constants);\n    return module;\n";
    out +=
        "fail:\n    Py_XDECREF(module);\n    Py_XDECREF(cffix);\n    Py_XDECREF(ffi);\n"
        "    Py_XDECREF(lib);\n    Py_XDECREF(functions);\n    Py_XDECREF(constants);\n"
        "    return NULL;\n}\n";
    return out;
}

}  // namespace cffix::gen
