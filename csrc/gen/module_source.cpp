// The C source of an API-mode module: see module_source.h.
#include "gen/module_source.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
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

// A struct or union the cdef never defines (`struct b;` or only named), arrays of it too.
bool opaque_record(const CType* t) {
    while (t->kind == Kind::Array) t = t->item;
    return types::is_record(t) && (!t->record || (t->flags & types::RF_OPAQUE_TYPEDEF));
}

// What cffi refuses before compiling, with its TypeError and text: a record holding an
// opaque one by value, a function returning one.
void refuse_opaque_field(const CType* t, const std::string& field) {
    std::string name = t->cname;
    for (const char* tag : {"struct ", "union "})
        if (name.rfind(tag, 0) == 0) name.erase(0, std::char_traits<char>::length(tag));
    throw Error(ErrorKind::TypeError, t->cname + ": field '" + name + "." + field +
                                          "' is of an opaque type (not declared in cdef())");
}

// A type passed by value must have a size (records with `...;` get theirs from the C
// compiler at import); what cannot be generated is refused by name, at build time.
// Whether `t` is made of arrays of `[...]` arrays (from `typedef int t[...][...];`): no
// CType text spells it before the compiler gave the lengths.
bool has_open_array_items(const CType* t) {
    for (const CType* p = t; p->kind == Kind::Pointer || p->kind == Kind::Array; p = p->item)
        if (p->kind == Kind::Array && p->item->kind == Kind::Array && p->item->length < 0)
            return true;
    return false;
}

// Whether `t` holds an array of unknown length (`[]` or a `[...]` before the compiler gave
// it) below its pointers: its CType text may not be the type the core resolves at import.
bool has_open_array(const CType* t) {
    for (const CType* p = t; p->kind == Kind::Pointer || p->kind == Kind::Array; p = p->item)
        if (p->kind == Kind::Array && p->length < 0) return true;
    return false;
}

// `spelled`: the type has a C text of its own (through the typedef's name) and the core
// finds it as the function's parameter, not by its text.
void check_type(const CType* t, const std::string& where, bool spelled = false) {
    if (t->conv == Conv::None && t->kind != Kind::Void)
        refuse(where + ": '" + t->cname + "' has an unknown size");
    if (!spelled && has_open_array_items(t))
        refuse(where + ": a type made of arrays of '[...]' length ('" + t->cname +
               "') is not supported here yet");
}

// A struct the cdef leaves opaque (`struct a;`, `typedef ... t;`) passed by value has no
// size the core could convert (a partial one, `...;`, gets the compiler's at import).
// cffi's text (for results; as it for arguments of extern "Python" functions).
void refuse_opaque(const std::string& function, const CType* t, const char* role) {
    if (opaque_record(t))
        throw Error(ErrorKind::TypeError, "function " + function + ": '" + t->cname +
                                              "' is used as " + role + " type, but is opaque");
}

// The distinct types the wrappers convert through the C API, by cname, numbered.
class TypeTable {
public:
    int index(const CType* t) { return index(t->cname); }
    // The type of parameter k of the cdef's function `function` (see cffix_api.h type_of).
    int parameter_index(const std::string& function, size_t k) {
        return index("\x01" + function + "\x01" + std::to_string(k));
    }
    int index(const std::string& name) {
        auto [it, added] = index_.emplace(name, static_cast<int>(names_.size()));
        if (added) names_.push_back(name);
        return it->second;
    }
    const std::vector<std::string>& names() const { return names_; }

private:
    std::map<std::string, int> index_;
    std::vector<std::string> names_;
};

bool nameable(const CType* t) { return t->cname.find('$') == std::string::npos; }

// The kinds whose arguments may leave temporaries (arrays made from lists for pointers).
bool may_make_temporaries(const CType* t) {
    bool scalar = takes_int(t->conv) || t->conv == Conv::Float || t->conv == Conv::Double;
    return !scalar && t->conv != Conv::Record;
}

// One argument into its typed local. The module's argument helpers (kHelpers) hold the
// fast companions once, out of line: each wrapper stays a few calls, which keeps the
// C compiler's time per function low, for one direct call per argument.
void convert_argument(std::string& out, const CType* t, size_t k, TypeTable& types, bool temps,
                      const std::string& c_type, int type_index = -1) {
    std::string x = "_cffix_a" + std::to_string(k), arg = "args[" + std::to_string(k) + "]";
    std::string ti = std::to_string(type_index >= 0 ? type_index : types.index(t));
    std::string temporaries = temps ? "&temps" : "NULL";
    std::string call;
    if (t->flags & types::PF_DOTS) {  // `typedef int... t;`: the core knows t at import
        call = "_cffix_convert(" + ti + ", &" + x + ", sizeof " + x + ", " + arg + ", NULL)";
    } else if (takes_int(t->conv)) {
        data::IntRange r = data::integer_range(t->conv);
        call = "_cffix_arg_integer(" + arg + ", " + ti + ", " + int64_literal(r.lo) + ", " +
               int64_literal(r.hi) + ", &" + x + ", sizeof " + x + ")";
    } else if (t->conv == Conv::Float || t->conv == Conv::Double) {
        call = "_cffix_arg_floating(" + arg + ", " + ti + ", &" + x + ", sizeof " + x + ")";
    } else if (t->conv == Conv::Pointer) {
        out += "    {\n        void* p;\n        if (!_cffix_arg_pointer(" + arg + ", " + ti +
               ", " + (data::takes_bytes(t->item) ? "1" : "0") + ", &p, " + temporaries +
               "))\n            goto fail;\n        " + x + " = (" + c_type + ")p;\n    }\n";
        return;
    } else if (t->conv == Conv::Record) {
        call = "_cffix_arg_record(" + arg + ", " + ti + ", &" + x + ", sizeof " + x + ")";
    } else {
        call = "_cffix_convert(" + ti + ", &" + x + ", sizeof " + x + ", " + arg + ", " +
               temporaries + ")";
    }
    out += "    if (!" + call + ")\n        goto fail;\n";
}

std::string convert_result(const CType* r, TypeTable& types) {
    if (r->kind == Kind::Void) return "Py_RETURN_NONE;";
    if (!(r->flags & types::PF_DOTS)) {
        if (is_signed_integer(r->conv)) return "return PyLong_FromLongLong((long long)_cffix_r);";
        if (r->conv >= Conv::UInt8 && r->conv <= Conv::UInt64)
            return "return PyLong_FromUnsignedLongLong((unsigned long long)_cffix_r);";
        if (r->conv == Conv::Float || r->conv == Conv::Double)
            return "return PyFloat_FromDouble((double)_cffix_r);";
    }
    return "return _cffix_result(" + std::to_string(types.index(r)) + ", &_cffix_r);";
}

// C spellings of anonymous structs and unions ("struct $1", which C cannot name) through
// the typedefs of the scope that name them: `typedef struct {...} foo_t;` spells it
// `foo_t`, `typedef struct {...} *foo_p;` spells a pointer to it `foo_p`. Text without
// such a name, or whose anonymous record no typedef names, is left as it is.
class AnonymousNames {
public:
    explicit AnonymousNames(types::Scope& scope) {
        std::vector<std::string> typedefs, structs, unions;
        scope.list_types(typedefs, structs, unions);
        for (const std::string& name : typedefs) {
            types::CTypeRef t;
            try {
                t = scope.parse_type(name);
            } catch (...) {
                continue;  // a `typedef int... t;` the compiler has not sized yet
            }
            if (is_anonymous_record(t.get()))
                direct_.emplace(t->cname, name);
            else if (t->kind == Kind::Pointer && is_anonymous_record(t->item))
                pointer_.emplace(t->item->cname, name);
        }
    }

    std::string spell(std::string text) const {
        if (direct_.empty() && pointer_.empty()) return text;
        for (size_t at = text.find('$'); at != std::string::npos; at = text.find('$', at + 1)) {
            size_t begin = text.rfind(' ', at);
            if (begin == std::string::npos || at != begin + 1) continue;
            size_t tag = text.rfind(' ', begin - 1);
            tag = tag == std::string::npos ? 0 : tag + 1;
            size_t end = at + 1;
            while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
            std::string key = text.substr(tag, end - tag);
            if (auto d = direct_.find(key); d != direct_.end()) {
                text.replace(tag, end - tag, d->second);
                at = tag;
            } else if (auto p = pointer_.find(key);
                       p != pointer_.end() && text.compare(end, 2, " *") == 0) {
                text.replace(tag, end + 2 - tag, p->second + " ");
                at = tag;
            }
        }
        return text;
    }
    std::string cname_with(const CType* t, const std::string& declarator) const {
        return spell(types::cname_with(t, declarator));
    }

private:
    static bool is_anonymous_record(const CType* t) {
        return (t->kind == Kind::Struct || t->kind == Kind::Union) && !nameable(t);
    }
    std::map<std::string, std::string> direct_, pointer_;
};

// lib.<name>.__doc__, as cffi's: the declaration, then where it comes from
// ("double sin(double);\n\nCFFI C function from _mod.lib").
std::string function_doc(const std::string& name, const CType* fn, const std::string& module) {
    std::string args;
    for (size_t i = 0; i < fn->args.size(); ++i) args += (i ? ", " : "") + fn->args[i]->cname;
    if (fn->ellipsis) args += fn->args.empty() ? "..." : ", ...";
    std::string declaration = types::cname_with(fn->item, " " + name + "(" + args + ")");
    // cname_with puts a space between a pointer's '*' and the name ("void * f()"): C's
    // usual spelling has none.
    for (size_t at = declaration.find("* "); at != std::string::npos;
         at = declaration.find("* ", at + 1))
        declaration.erase(at + 1, 1);
    return declaration + ";\n\nCFFI C function from " + module + ".lib";
}

// `_cffix_d_<name>`: a C function of the cdef's signature that calls the function, whose
// address is lib.<name>'s function pointer (ffi.addressof(lib, "f"), casts, arguments), as
// cffi does: it exists when the C name is a function-like macro, an overloaded name in
// C++ (<cmath>'s sin) or a function the cdef declares with approximate integer types.
void direct_function(std::string& out, const std::string& name, const types::FunctionDecl& decl,
                     const AnonymousNames& anonymous) {
    const CType* fn = decl.type.get();
    auto spelled = [&](size_t k, const CType* t, const std::string& declarator) {
        return decl.written.empty() ? anonymous.cname_with(t, declarator)
                                    : anonymous.spell(decl.written[k].with(declarator));
    };
    std::string params, args;
    for (size_t k = 0; k < fn->args.size(); ++k) {
        std::string a = "_cffix_a" + std::to_string(k);
        params += (k ? ", " : "") + spelled(k + 1, fn->args[k], " " + a);
        args += (k ? ", " : "") + a;
    }
    const CType* r = fn->item;
    std::string call = name + "(" + args + ")";
    if (r->kind == Kind::Pointer) call = "_CFFIX_UNCONST(" + spelled(0, r, "") + ", " + call + ")";
    out += "static " +
           spelled(0, r, " _cffix_d_" + name + "(" + (params.empty() ? "void" : params) + ")") +
           " {\n    " + (r->kind == Kind::Void ? "" : "return ") + call + ";\n}\n";
}

void function_wrapper(std::string& out, const std::string& name, const types::FunctionDecl& decl,
                      TypeTable& types, bool release_gil, const AnonymousNames& anonymous) {
    const CType* fn = decl.type.get();
    // The locals' C types: as the cdef wrote them where it kept qualifiers C will not
    // convert (`const char **`, a comparator taking `const int *`), else the CTypes'.
    auto local = [&](size_t k, const CType* t, const std::string& declarator) {
        return decl.written.empty() ? anonymous.cname_with(t, declarator)
                                    : anonymous.spell(decl.written[k].with(declarator));
    };
    std::string where = "function '" + name + "'";
    const CType* r = fn->item;
    refuse_opaque(name, r, "result");
    check_type(r, where + ", the result");
    size_t n = fn->args.size();
    bool temps = std::any_of(fn->args.begin(), fn->args.end(), may_make_temporaries);
    out += "static PyObject* _cffix_f_" + name +
           "(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {\n";
    // An anonymous struct reached through a typedef of a pointer (`typedef struct {...}
    // **sp;`) has no name C knows: refused in cffi's words.
    auto nameable_local = [&](size_t k, const CType* t, const std::string& declarator,
                              const std::string& context) {
        std::string text = local(k, t, declarator);
        if (text.find('$') != std::string::npos)
            refuse("cannot generate '" + t->cname + "' in " + context + ": unknown type name");
        return text;
    };
    // A parameter of a typedef with `[...]` lengths: spelled with the typedef's name.
    auto by_typedef = [&](size_t k) {
        return !decl.written.empty() && has_open_array_items(fn->args[k]) &&
               decl.written[k + 1].text.find("[]") == std::string::npos;
    };
    for (size_t k = 0; k < n; ++k) {
        check_type(fn->args[k], where + ", argument " + std::to_string(k + 1), by_typedef(k));
        out += "    " +
               nameable_local(k + 1, fn->args[k], " _cffix_a" + std::to_string(k),
                              "argument of " + name) +
               ";\n";
    }
    if (r->kind != Kind::Void)
        out += "    " + nameable_local(0, r, " _cffix_r", "a C file") + ";\n";
    if (temps) out += "    cffix_temporaries temps = {{NULL}, 0, NULL};\n";
    if (release_gil) out += "    PyThreadState* state;\n";
    out += "    (void)self;\n    (void)args;\n";
    out += "    if (nargs != " + std::to_string(n) + ")\n        return _cffix_arity(\"" + name +
           "\", " + std::to_string(n) + ", nargs);\n";
    for (size_t k = 0; k < n; ++k)
        convert_argument(out, fn->args[k], k, types, temps, local(k + 1, fn->args[k], ""),
                         has_open_array(fn->args[k]) ? types.parameter_index(name, k) : -1);
    std::string call = name + "(";
    for (size_t k = 0; k < n; ++k) call += (k ? ", _cffix_a" : "_cffix_a") + std::to_string(k);
    call += ")";
    // set_source(..., release_gil=False) keeps the GIL, as dlopen(..., release_gil=False)
    // does in ABI mode; errno is ffi.errno either way.
    out +=
        release_gil ? "    state = _cffix_release();\n" : "    errno = *_cffix->saved_errno();\n";
    if (r->kind == Kind::Pointer)  // C++ drops a result's const only when told to
        call = "_CFFIX_UNCONST(" + local(0, r, "") + ", " + call + ")";
    out += "    " + std::string(r->kind == Kind::Void ? "" : "_cffix_r = ") + call + ";\n";
    out += release_gil ? "    _cffix_reacquire(state);\n" : "    *_cffix->saved_errno() = errno;\n";
    if (temps) out += "    cffix_temporaries_clear(&temps);\n";
    out += "    " + convert_result(r, types) + "\n";
    if (n > 0)
        out += temps ? "fail:\n    cffix_temporaries_clear(&temps);\n    return NULL;\n"
                     : "fail:\n    return NULL;\n";
    out += "}\n\n";
}

// `const T x;` with T an integer type (not char, an enum or a `typedef int... t`).
bool integer_constant(const types::VariableDecl& v) {
    const CType* t = v.type.get();
    return t->kind == Kind::Primitive && takes_int(t->conv) && t->conv != Conv::Char &&
           !(t->flags & types::PF_DOTS);
}

// ---------------------------------------------------------------- what the compiler checks

// An identifier made from a declaration's description ("struct s field x" ->
// "struct_s_field_x").
std::string identifier(std::string_view text) {
    std::string out;
    for (char c : text) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    return out;
}

// One fact of the cdef compared with the C compiler's, at compile time. When they differ
// the compiler stops on a line naming `what`: "initialization of 'char (*)[<C's value>]'
// from incompatible pointer type 'char (*)[<the cdef's value>]'" (both facts).
void compare(std::string& out, const std::string& what, const std::string& c_value,
             int64_t cdef_value) {
    std::string var = "_cffix_check__" + identifier(what) + "__C_vs_cdef";
    out += "    {\n        char (*" + var + ")[" + c_value + "] = (char (*)[" +
           std::to_string(cdef_value) + "])0; /* cffix-check: " + what + " */\n        (void)" +
           var + ";\n    }\n";
}

// The table of facts the module hands the core at import (cffix_fact, see
// types::CompilerFact): C expressions the compiler evaluates.
class FactTable {
public:
    void add(const std::string& name, const std::string& size, const std::string& align,
             const std::string& is_signed, const std::vector<std::string>& values) {
        std::string array = "NULL";
        if (!values.empty()) {
            array = "_cffix_fact_values_" + std::to_string(count_);
            arrays_ += "static const int64_t " + array + "[] = {\n";
            for (const std::string& v : values) arrays_ += "    (int64_t)(" + v + "),\n";
            arrays_ += "};\n";
        }
        names_.insert(name);
        rows_ += "    {" + c_string(name) + ", (int64_t)(" + size + "), (int64_t)(" + align +
                 "), " + is_signed + ", " + std::to_string(values.size()) + ", " + array + "},\n";
        ++count_;
    }
    size_t count() const { return count_; }
    bool has(const std::string& name) const { return names_.count(name) != 0; }
    std::string source() const {
        return arrays_ + "static const cffix_fact _cffix_facts[] = {\n" + rows_ +
               "    {NULL, 0, 0, 0, 0, NULL},\n};\n\n";
    }

private:
    std::string arrays_, rows_;
    std::set<std::string> names_;
    size_t count_ = 0;
};

// The sizes of the array levels of `object` (C text of an lvalue of array type `t`), for
// a declaration with `[...]` lengths (types::CompilerFact): sizeof(x), sizeof(x[0])...;
// 0 for an outermost `[]`, which may be incomplete in C.
std::vector<std::string> array_level_sizes(const std::string& object, const CType* t,
                                           uint32_t dots_levels) {
    std::vector<std::string> sizes;
    std::string item = object;
    for (; t->kind == Kind::Array; t = t->item, item += "[0]") {
        bool open_outer = sizes.empty() && t->length < 0 && !(dots_levels & 1);
        sizes.push_back(open_outer ? "0" : "sizeof(" + item + ")");
    }
    return sizes;
}

std::string member_size(const std::string& record, const std::string& member) {
    return "sizeof(((" + record + " *)0)->" + member + ")";
}

// A number field: whether it is an integer or a floating-point one in C (a cdef `int x`
// for C's `float x` has the right size, and gives garbage). Integers of another size or
// sign are the size check's; complex numbers and `typedef int... t` are not compared.
void compare_number_kind(std::string& checks, const std::string& record, const std::string& name,
                         const CType* type, const std::string& object = {}) {
    int kind = 0;
    if (type->kind == Kind::Enum) {
        kind = 1;
    } else if (type->kind == Kind::Primitive &&
               !(type->flags & (types::PF_COMPLEX | types::PF_DOTS))) {
        kind = (type->flags & (types::PF_FLOAT | types::PF_LONGDOUBLE)) ? 2 : 1;
    }
    if (kind == 0) return;
    checks += "#ifdef _CFFIX_NUMBER_KIND\n";
    compare(
        checks, record + " field " + name + " kind (1: integer, 2: floating-point)",
        "_CFFIX_NUMBER_KIND(" + (object.empty() ? "((" + record + " *)0)->" + name : object) + ")",
        kind);
    checks += "#endif\n";
}

// A pointer field to a number: the pointee's size and kind, compared at compile time (a
// cdef `long *z` for C's `int *z` would read past the int). The pointee's qualifiers are
// not compared: cdef types drop them.
void check_pointee(std::string& checks, const std::string& record, const types::FieldInfo& f) {
    const CType* item = f.type->item;
    if (f.type->kind != Kind::Pointer || item->kind != Kind::Primitive ||
        (item->flags & types::PF_DOTS) || item->size <= 0)
        return;
    std::string pointee = "*((" + record + " *)0)->" + f.name;
    compare(checks, record + " field " + f.name + " pointee size", "sizeof(" + pointee + ")",
            item->size);
    compare_number_kind(checks, record, "*" + f.name, item,
                        "(*((" + record + " *)0)->" + f.name + ")");
}

// An integer field (not a character), whose size cffi lets differ from C's until the
// struct's first use; cffi's generated C checks the type of every other field (`T *tmp =
// &p->x`), so that its size differs fails the build there.
bool integer_field(const CType* t) {
    if (t->kind == Kind::Enum) return true;
    return t->kind == Kind::Primitive && (t->flags & types::PF_INTEGER) &&
           !(t->flags & (types::PF_CHAR | types::PF_WCHAR | types::PF_DOTS));
}

// A record the cdef lays out completely: every named field's offset and size, the size
// and alignment, as the compiler gives them (a Layout fact), which the core compares with
// the cdef's at the type's first use and refuses the type if they differ (ffi.error, as
// cffi). The size of a field that is no integer, number kinds and pointees are compared
// at compile time.
void check_record(FactTable& facts, std::string& checks, const CType* t) {
    const std::string& c = t->cname;
    std::vector<std::string> values;
    for (const types::FieldInfo& f : t->fields) {
        if (f.is_bitfield() || f.name.empty()) continue;  // no offsetof for bitfields
        values.push_back("offsetof(" + c + ", " + f.name + ")");
        values.push_back(f.is_flexible() ? "-1" : member_size(c, f.name));
        if (!f.is_flexible() && !integer_field(f.type) && f.type->size >= 0)
            compare(checks, c + " field " + f.name + " size", member_size(c, f.name), f.type->size);
        compare_number_kind(checks, c, f.name, f.type);
        check_pointee(checks, c, f);
    }
    facts.add(types::fact_key(types::FactKind::Layout, c), "sizeof(" + c + ")",
              "_CFFIX_ALIGNOF(" + c + ")", "0", values);
}

[[noreturn]] void refuse_anonymous() {
    refuse(
        "an anonymous struct or union with '...' (or holding such a type): give it a "
        "tag or a typedef name, so that the C compiler can be asked about it");
}

// An anonymous struct member with `...` of the record `c` (`struct s { struct { char b;
// ...; }; int z; }`): C has no name to ask about it, so its facts come through its holder,
// which has its fields: each one's offset from the first, its size; the struct's size as
// far as its last field (what follows it is the holder's). Returns its offset in `c`.
std::string anonymous_member_facts(FactTable& facts, const std::string& c, const CType* inner) {
    const auto& members = inner->record->members;
    if (inner->kind != Kind::Struct || members.empty()) refuse_anonymous();
    uint32_t align = 1;
    for (const types::MemberDecl& m : members) {
        if (m.name.empty() || m.bitsize >= 0 || m.dots_levels ||
            !types::complete_type(m.type, false))
            refuse_anonymous();
        align = std::max(align, m.type->align);
    }
    std::string start = "offsetof(" + c + ", " + members.front().name + ")";
    std::vector<std::string> values;
    for (const types::MemberDecl& m : members) {
        values.push_back("offsetof(" + c + ", " + m.name + ") - " + start);
        values.push_back(member_size(c, m.name));
    }
    std::string end = values[values.size() - 2] + " + " + values.back();
    std::string a = std::to_string(align);
    facts.add(inner->cname, "((" + end + ") + " + a + " - 1) / " + a + " * " + a, a, "0", values);
    return start;
}

// A record with `...;` (or holding such a type, or a `typedef int... t`, by value): its
// layout comes from the compiler; the member sizes the cdef knows are compared.
void record_facts(FactTable& facts, std::string& checks, CType* t) {
    const std::string& c = t->cname;
    if (!nameable(t)) refuse_anonymous();
    std::vector<std::string> values;
    for (const types::MemberDecl& m : t->record->members)
        if (opaque_record(m.type)) refuse_opaque_field(t, m.name);
    for (const types::MemberDecl& m : t->record->members) {
        std::string where = "'" + c + "', field '" + m.name + "'";
        if (m.bitsize >= 0)
            refuse(where +
                   ": a bitfield in a struct or union that the C compiler completes "
                   "('...'): declare every member instead");
        if (m.name.empty()) {  // an anonymous struct/union member: placed by its first field
            CType* inner = m.type;
            if (!nameable(inner) && !types::complete_type(inner, false)) {
                values.push_back(anonymous_member_facts(facts, c, inner));
                values.push_back("0");  // (its size is its own fact's)
                continue;
            }
            if (!types::complete_type(inner, false) || inner->fields.empty() ||
                inner->fields.front().is_bitfield())
                refuse("'" + c +
                       "': an anonymous member with '...' or bitfields, in a struct "
                       "that the C compiler completes");
            const types::FieldInfo& first = inner->fields.front();
            values.push_back("offsetof(" + c + ", " + first.name + ") - " +
                             std::to_string(first.offset));
            values.push_back(std::to_string(inner->size));
            continue;
        }
        values.push_back("offsetof(" + c + ", " + m.name + ")");
        bool flexible = m.type->kind == Kind::Array && m.type->length < 0 && !(m.dots_levels & 1);
        values.push_back(flexible ? "0" : member_size(c, m.name));
        if (m.dots_levels)
            facts.add(types::fact_key(types::FactKind::Member, c + "." + m.name), "0", "0", "0",
                      array_level_sizes("((" + c + " *)0)->" + m.name, m.type, m.dots_levels));
        if (!flexible && !m.dots_levels && types::complete_type(m.type, false))
            compare(checks, c + " field " + m.name + " size", member_size(c, m.name), m.type->size);
        compare_number_kind(checks, c, m.name, m.type);
    }
    facts.add(c, "sizeof(" + c + ")", "_CFFIX_ALIGNOF(" + c + ")", "0", values);
}

// Every enum's values and size are the compiler's, as in cffi (whose API mode reads them
// from C): with `...` or without, so `enum e { A };` for C's `enum e { A = -1 }` is -1.
void enum_facts(FactTable& facts, const CType* e) {
    const std::string& c = e->cname;
    std::vector<std::string> values;
    for (const types::Enumerator& v : e->enumerators) values.push_back(v.name);
    // An anonymous enum has no type to ask about: its values are ints, as in C.
    facts.add(c, nameable(e) ? "sizeof(" + c + ")" : "sizeof(int)", "0",
              nameable(e) ? "((" + c + ")-1 <= 0)" : "1", values);
}

// Everything the cdef leaves to the compiler (facts) or states about a layout (checks).
void compiler_facts(types::Scope& scope, FactTable& facts, std::string& checks) {
    std::vector<CType*> records, enums;
    scope.own_tagged_types(records, enums);
    // Anonymous records with `...` are described by their holders (anonymous_member_facts).
    std::vector<const CType*> anonymous;
    for (CType* t : records) {
        if (!t->record || (t->flags & types::RF_OPAQUE_TYPEDEF)) continue;  // opaque
        if (types::complete_type(t, false)) {
            if (nameable(t)) check_record(facts, checks, t);  // else checked through its holder
        } else if (!nameable(t)) {
            anonymous.push_back(t);
        } else {
            record_facts(facts, checks, t);
        }
    }
    for (const CType* t : anonymous)
        if (!facts.has(t->cname)) refuse_anonymous();
    for (const CType* e : enums) {
        // `enum e1 { A1 }; enum e2 { A1 };`: C has one A1 (cffi refuses it at build too).
        for (const types::Enumerator& v : e->enumerators) {
            auto c = scope.constants().find(v.name);
            if (c != scope.constants().end() && c->second.enum_type && c->second.enum_type != e)
                refuse(c->second.enum_type->cname + ": duplicate declaration of const '" + v.name +
                       "'");
        }
        enum_facts(facts, e);
    }
    for (const auto& [name, integer] : scope.dots_typedefs())
        facts.add(types::fact_key(types::FactKind::Typedef, name), "sizeof(" + name + ")", "0",
                  integer ? "((" + name + ")-1 <= 0)" : "((" + name + ")0.5 != 0)", {});
    for (const types::Scope::DotsArrayTypedef& t : scope.dots_array_typedefs())
        facts.add(types::fact_key(types::FactKind::Typedef, t.name), "0", "0", "0",
                  array_level_sizes("(*(" + t.name + " *)0)", t.type, t.dots_levels));
}

// A function whose signature has neither pointers nor arithmetic types is compared whole
// with the header's declaration. A pointer parameter or result is already checked by the
// call (where C lets a cdef leave out a `const` the header has); an integer or float
// parameter or result may be declared approximately, as cffi documents (`void f(int)`
// for C's `void f(long)`): the call converts, as C does. A function-like macro has no type.
// What is left (structs, unions, void) has no qualifier that matters, so the CTypes' own
// text spells it.
void check_signature(std::string& checks, const std::string& name, const types::FunctionDecl& f) {
    auto converted = [](const CType* t) {
        return t->kind == Kind::Pointer || t->kind == Kind::Function || t->kind == Kind::Array ||
               t->kind == Kind::Primitive || t->kind == Kind::Enum || !nameable(t);
    };
    const CType* fn = f.type.get();
    if (converted(fn->item) || std::any_of(fn->args.begin(), fn->args.end(), converted)) return;
    std::string var = "_cffix_check__function_" + name + "__cdef_vs_C";
    std::string decl = types::cname_with(fn, var);
    checks += "#ifndef " + name + "\n    {\n        " + decl + " = &" + name +
              "; /* cffix-check: function " + name + " signature */\n        (void)" + var +
              ";\n    }\n#endif\n";
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

// `code` with C linkage in a C++ module (source_extension=".cpp"), as the source's own
// declarations of the functions have (cffi's C++ modules declare them extern "C").
std::string in_c_linkage(const std::string& code) {
    return "#ifdef __cplusplus\nextern \"C\" {\n#endif\n" + code +
           "#ifdef __cplusplus\n}\n#endif\n";
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
              in_c_linkage(out) + "\n";
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
    return "_cffix_result(" + std::to_string(types.index(t)) + ", (void*)&" + a + ")";
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
    } else if (r->conv == Conv::Pointer) {  // (the type of index `ti`: null if it failed)
        local = "void* p;\n            cffix_ctype* t = _cffix_type(" +
                std::to_string(types.index(r)) + ");";
        fast =
            "t && cffix_fast_pointer_cdata(_cffix_v, t, _cffix->cdata_type, _cffix->owned_type, "
            "&p))\n                _cffix_r = (" +
            decl + ")p";
        store = "!t || " + store;
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
    refuse_opaque(name, r, "result");
    check_type(r, where + ", the result");
    size_t n = fn->args.size();
    for (size_t k = 0; k < n; ++k) {
        refuse_opaque(name, fn->args[k], "argument");
        check_type(fn->args[k], where + ", argument " + std::to_string(k + 1));
    }
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

// The static objects of the functions (sorted by name, as `names` is), then the functions.
std::string extern_python_functions(types::Scope& scope, const std::vector<std::string>& names,
                                    TypeTable& types, const std::string& module) {
    std::string out = "static cffix_extern_python _cffix_extern_python[] = {\n";
    for (const std::string& name : names)
        out += "    {\"" + name + "\", " + c_string(module) + ", NULL, NULL},\n";
    out += "    {NULL, NULL, NULL, NULL},\n};\n\n";
    for (size_t i = 0; i < names.size(); ++i)
        extern_python_function(out, names[i], scope.functions().find(names[i])->second, i, types);
    return names.empty() ? out : in_c_linkage(out);
}

// Module init: this module's ffi becomes the one def_extern() attaches to (lib finds the
// functions' addresses among the known symbols).
std::string extern_python_init() {
    return "    if (!_cffix->extern_python_init(ffi, _cffix_extern_python))\n        goto fail;\n";
}

// The table of globals and functions (symbol, C name), sorted by symbol: a function per
// entry gives its address at each access, as the C name may be a macro whose address
// changes or is not valid yet at import (`#define v (*get_v())`). A wrapped function
// (in `wrapped`) gives its direct function's address (direct_function).
std::string address_functions(const std::vector<std::pair<std::string, std::string>>& symbols,
                              const std::vector<std::string>& wrapped) {
    std::string functions, table = "static const cffix_global _cffix_globals[] = {\n";
    for (size_t i = 0; i < symbols.size(); ++i) {
        const std::string& name = symbols[i].second;
        std::string f = "static void* _cffix_address" + std::to_string(i) + "(void) { return ";
        if (!std::binary_search(wrapped.begin(), wrapped.end(), name))
            functions += f + "(void*)&(" + name + "); }\n";
        else
            functions += f + "(void*)&_cffix_d_" + name + "; }\n";
        table +=
            "    {" + c_string(symbols[i].first) + ", _cffix_address" + std::to_string(i) + "},\n";
    }
    return functions + "\n" + table + "    {NULL, NULL},\n};\n\n";
}

// What the source given to set_source() may use without including it, as with cffi:
// the standard integer and size types, and `_Bool` when the module is compiled as C++.
std::string standard_prelude() {
    return "#include <stddef.h>\n#include <stdint.h>\n"
           "#ifdef __cplusplus\ntypedef bool _Bool;\n#endif\n\n";
}

// PyInit's lines that put lib in sys.modules as "<module>.lib", as cffi does, so that
// `from _mymod.lib import f` works.
std::string register_lib(const std::string& module_name) {
    return "    if (PyDict_SetItemString(PyImport_GetModuleDict(), " +
           c_string(module_name + ".lib") + ", lib) < 0)\n        goto fail;\n";
}

constexpr const char* kHelpers = R"C(static const cffix_api* _cffix;

static PyObject* _cffix_arity(const char* name, Py_ssize_t expected, Py_ssize_t got) {
    /* cffi's words (CPython's, for its METH_NOARGS and METH_O functions) */
    if (expected == 0)
        return PyErr_Format(PyExc_TypeError, "%s() takes no arguments (%zd given)", name, got);
    if (expected == 1)
        return PyErr_Format(PyExc_TypeError, "%s() takes exactly one argument (%zd given)",
                            name, got);
    return PyErr_Format(PyExc_TypeError, "%s() takes exactly %zd arguments (%zd given)", name,
                        expected, got);
}

static PyObject* _cffix_ffi; /* the module's ffi (held): types resolve in it */

/* The type of index `i`, resolved in the module's ffi on first use (NULL with an
 * exception set if that fails). A cache: without the GIL, threads that race fill it with
 * the same (interned) type, atomically. */
#ifdef Py_GIL_DISABLED
#define _CFFIX_LOAD_TYPE(slot) __atomic_load_n(&(slot), __ATOMIC_ACQUIRE)
#define _CFFIX_STORE_TYPE(slot, t) __atomic_store_n(&(slot), (t), __ATOMIC_RELEASE)
#else
#define _CFFIX_LOAD_TYPE(slot) (slot)
#define _CFFIX_STORE_TYPE(slot, t) ((slot) = (t))
#endif
static cffix_ctype* _cffix_type(int i) {
    cffix_ctype* t = _CFFIX_LOAD_TYPE(_cffix_types[i]);
    if (t) return t;
    t = _cffix->type_of(_cffix_ffi, _cffix_type_names[i]);
    if (t) _CFFIX_STORE_TYPE(_cffix_types[i], t);
    return t;
}

/* A value the fast companions did not take: the core's argument_to_c into a zeroed,
 * aligned slot of at least 8 bytes, then copied into the typed local. `temps` may be
 * NULL where the type makes no temporaries. */
static int _cffix_convert(int type, void* dst, size_t size, PyObject* value,
                          cffix_temporaries* temps) {
    union {
        long double ld;
        void* p;
        long long ll;
        char bytes[64];
    } local;
    cffix_temporaries none = {{NULL}, 0, NULL};
    cffix_ctype* t = _cffix_type(type);
    char* slot = local.bytes;
    size_t need = size < 8 ? 8 : size;
    int ok;
    if (!t) return 0;
    if (need > sizeof local) {
        slot = (char*)PyMem_Calloc(1, need);
        if (!slot) return PyErr_NoMemory(), 0;
    } else {
        memset(&local, 0, sizeof local);
    }
    ok = _cffix->argument_to_c(t, slot, value, temps ? temps : &none);
    if (ok) memcpy(dst, slot, size);
    if (slot != local.bytes) PyMem_Free(slot);
    cffix_temporaries_clear(&none);
    return ok;
}

#if defined(__GNUC__) || defined(__clang__)
#define _CFFIX_NOINLINE __attribute__((noinline))
#else
#define _CFFIX_NOINLINE
#endif

/* The argument helpers: a fast companion, else the core's converter. */
static _CFFIX_NOINLINE int _cffix_arg_integer(PyObject* v, int type, int64_t lo, int64_t hi,
                                              void* dst, size_t size) {
    cffix_int_range range;
    int64_t x;
    range.lo = lo;
    range.hi = hi;
    if (!cffix_fast_integer(v, range, &x)) return _cffix_convert(type, dst, size, v, NULL);
    switch (size) { /* the low bytes, as a cast to the narrower type keeps them */
        case 1: { int8_t y = (int8_t)x; memcpy(dst, &y, 1); break; }
        case 2: { int16_t y = (int16_t)x; memcpy(dst, &y, 2); break; }
        case 4: { int32_t y = (int32_t)x; memcpy(dst, &y, 4); break; }
        default: memcpy(dst, &x, 8);
    }
    return 1;
}

static _CFFIX_NOINLINE int _cffix_arg_floating(PyObject* v, int type, void* dst, size_t size) {
    double d;
    if (!cffix_fast_double(v, &d)) return _cffix_convert(type, dst, size, v, NULL);
    if (size == sizeof(float)) {
        float f = (float)d;
        memcpy(dst, &f, sizeof f);
    } else {
        memcpy(dst, &d, sizeof d);
    }
    return 1;
}

static _CFFIX_NOINLINE int _cffix_arg_pointer(PyObject* v, int type, int bytes, void** dst,
                                              cffix_temporaries* temps) {
    cffix_ctype* t = _cffix_type(type);
    if (!t) return 0;
    if (cffix_fast_pointer(v, t, bytes, _cffix->cdata_type, _cffix->owned_type, dst)) return 1;
    return _cffix_convert(type, dst, sizeof *dst, v, temps);
}

static _CFFIX_NOINLINE int _cffix_arg_record(PyObject* v, int type, void* dst, size_t size) {
    cffix_ctype* t = _cffix_type(type);
    const char* m;
    if (!t) return 0;
    m = cffix_fast_record(v, t, _cffix->view_type, _cffix->owned_type);
    if (!m) return _cffix_convert(type, dst, size, v, NULL);
    memcpy(dst, m, size);
    return 1;
}

/* Around each call: the GIL released (cffi's policy), ffi.errno restored into errno
 * before and saved after, as in ABI mode. */
static _CFFIX_NOINLINE PyThreadState* _cffix_release(void) {
    int saved = *_cffix->saved_errno();
    PyThreadState* state = PyEval_SaveThread();
    errno = saved;
    return state;
}

static _CFFIX_NOINLINE void _cffix_reacquire(PyThreadState* state) {
    int now = errno;
    PyEval_RestoreThread(state);
    *_cffix->saved_errno() = now;
}

static PyObject* _cffix_result(int type, void* src) {
    cffix_ctype* t = _cffix_type(type);
    return t ? _cffix->result_from_c(t, (char*)src) : NULL;
}


)C";

}  // namespace

// The part of a constant's value function that flags (bit 1) a `#define X 42` or `static
// const int X = 42;` whose C value is not the cdef's: lib.X then raises ffi.error, as in
// cffi (the rest of the module works). Enumerators and `...` values are C's, unchecked
// (cffi takes an enum's values from the compiler too).
std::string disagreement(const types::ConstantDecl& c) {
    if (c.dots || c.enum_type) return "";
    if (c.value < 0) {
        if (c.value < INT64_MIN) return " | 2";  // no C integer equals it
        return " | ((negative && *s == " + int64_literal(static_cast<int64_t>(c.value)) +
               ") ? 0 : 2)";
    }
    if (c.value > static_cast<parse::ConstInt>(UINT64_MAX)) return " | 2";
    return " | ((!negative && *u == " + std::to_string(static_cast<uint64_t>(c.value)) +
           "ULL) ? 0 : 2)";
}

// A header's floating and string macros (types::MacroConstantDecl), evaluated by the
// compiler and handed to the module's ffi at import; "" when there are none. (Wide strings
// take cffix's value: C has no one way to turn wchar_t, char16_t and char32_t into str.)
std::string macro_values_function(const types::Scope& scope) {
    std::vector<std::string> names;
    for (const auto& entry : scope.macro_constants()) names.push_back(entry.first);
    if (names.empty()) return "";
    std::sort(names.begin(), names.end());
    std::string out =
        "/* The header's floating and string macros, as the compiler evaluates them. */\n"
        "static int _cffix_macro_values(PyObject* ffi) {\n"
        "    PyObject *list = PyList_New(0), *item, *done;\n"
        "    if (!list) return 0;\n"
        "#define _CFFIX_MACRO(name, value)                                             \\\n"
        "    if (!(item = Py_BuildValue(\"(sN)\", name, value)) ||                       \\\n"
        "        PyList_Append(list, item) < 0) {                                      \\\n"
        "        Py_XDECREF(item);                                                     \\\n"
        "        Py_DECREF(list);                                                      \\\n"
        "        return 0;                                                             \\\n"
        "    }                                                                         \\\n"
        "    Py_DECREF(item);\n";
    for (const std::string& name : names) {
        const types::MacroConstantDecl& m = scope.macro_constants().find(name)->second;
        std::string value;
        switch (m.kind) {
            case types::MacroConstantDecl::Floating:
                value = "PyFloat_FromDouble((double)(" + name + "))";
                break;
            case types::MacroConstantDecl::Bytes:
                value = "PyBytes_FromStringAndSize(" + name + ", sizeof(" + name + ") - 1)";
                break;
            default:
                value = "PyUnicode_DecodeUTF8(" + c_string(m.text) + ", " +
                        std::to_string(m.text.size()) + ", \"surrogatepass\")";
                break;
        }
        out += "    _CFFIX_MACRO(\"" + name + "\", " + value + ")\n";
    }
    out +=
        "#undef _CFFIX_MACRO\n"
        "    done = PyObject_CallMethod(ffi, \"_add_macro_values\", \"O\", list);\n"
        "    Py_DECREF(list);\n"
        "    if (!done) return 0;\n"
        "    Py_DECREF(done);\n"
        "    return 1;\n"
        "}\n\n";
    return out;
}

std::string module_source(types::Scope& scope, const std::string& module_name,
                          const std::string& preamble, const std::vector<CdefCall>& cdefs,
                          const std::string& cffix_version, bool release_gil,
                          const std::string& wrap_rules) {
    std::string base = module_name.substr(module_name.rfind('.') + 1);
    // Functions get a wrapper each; variadic ones are called through the core's libffi
    // path at the address the module hands over (as cffi, which gives a function pointer).
    std::vector<std::string> names, variadic;
    for (const auto& [name, decl] : scope.functions())
        if (decl.extern_python == parse::ExternPython::No)
            (decl.type->ellipsis ? variadic : names).push_back(name);
    std::sort(names.begin(), names.end());
    std::sort(variadic.begin(), variadic.end());
    std::vector<std::string> extern_python = extern_python_names(scope);
    std::vector<std::string> variables;
    for (const auto& entry : scope.variables()) variables.push_back(entry.first);
    std::sort(variables.begin(), variables.end());

    FactTable facts;
    std::string checks;
    compiler_facts(scope, facts, checks);
    for (const std::string& name : names)
        check_signature(checks, name, scope.functions().find(name)->second);
    for (const std::string& name : variadic)
        check_signature(checks, name, scope.functions().find(name)->second);
    TypeTable types;
    AnonymousNames anonymous(scope);
    std::string wrappers, directs;
    for (const std::string& name : names) {
        function_wrapper(wrappers, name, scope.functions().find(name)->second, types, release_gil,
                         anonymous);
        direct_function(directs, name, scope.functions().find(name)->second, anonymous);
    }
    std::string extern_python_code =
        extern_python_functions(scope, extern_python, types, module_name);

    std::string macro_values = macro_values_function(scope);
    std::vector<std::string> constants;
    for (const auto& entry : scope.constants()) constants.push_back(entry.first);
    std::sort(constants.begin(), constants.end());
    size_t declared_constants = constants.size();  // those after are const variables

    std::string out;
    out += "/* " + module_name + ": generated by cffix " + cffix_version +
           " (API mode). Do not edit: change the build script and run it again. */\n";
    // _CFFI_ as cffi defines it (sources test it to know they are built for a binding),
    // _CFFIX_ for sources that need to tell cffix apart; before Python.h, as cffi does.
    out += "#define _CFFI_ 1\n#define _CFFIX_ 1\n";
    out += "#define PY_SSIZE_T_CLEAN\n#include <Python.h>\n\n" + standard_prelude();
    out += extern_python_declarations(scope, extern_python);
    out +=
        "/* ---------------------------------------------- the source given to set_source() */\n";
    out += preamble + "\n\n";
    out += "/* ---------------------------------------------- cffix */\n";
    out +=
        "#include <errno.h>\n#include <stddef.h>\n#include <stdio.h>\n#include <string.h>\n\n"
        "#include "
        "\"cffix_api.h\"\n\n";
    out +=
        "#if defined(__GNUC__) || defined(__clang__)\n#define _CFFIX_ALIGNOF(T) __alignof__(T)\n"
        "#else\n#define _CFFIX_ALIGNOF(T) _Alignof(T)\n#endif\n"
        // Whether a number is an integer (1) or floating-point (2), where C can say.
        "#if defined(__cplusplus)\n"
        "template <typename T> struct _cffix_number_kind { enum { value = 1 }; };\n"
        "template <> struct _cffix_number_kind<float> { enum { value = 2 }; };\n"
        "template <> struct _cffix_number_kind<double> { enum { value = 2 }; };\n"
        "template <> struct _cffix_number_kind<long double> { enum { value = 2 }; };\n"
        "#define _CFFIX_NUMBER_KIND(x) (_cffix_number_kind<decltype(+(x))>::value)\n"
        "#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L\n"
        "#define _CFFIX_NUMBER_KIND(x) _Generic(+(x), float: 2, double: 2, long double: 2, "
        "default: 1)\n#endif\n\n";
    out +=
        // C++ (source_extension=".cpp") makes these errors already.
        // A pointer of the cdef's type from one the source declares with more const: C
        // converts (the pragma below), C++ is told with a cast (which also takes NULL).
        "#if defined(__cplusplus)\n#define _CFFIX_UNCONST(T, x) ((T)(x))\n#else\n"
        "#define _CFFIX_UNCONST(T, x) (x)\n#endif\n"
        "#if defined(__cplusplus)\n"
        "#elif defined(__GNUC__)\n"
        "#pragma GCC diagnostic error \"-Wincompatible-pointer-types\"\n"
        "#pragma GCC diagnostic error \"-Wimplicit-function-declaration\"\n#endif\n"
        // cdef types drop const (as cffi's): a `const char *` result or global is held
        // as `char *`, which is no mismatch.
        "#if defined(__cplusplus)\n"
        "#elif defined(__clang__)\n"
        "#pragma clang diagnostic ignored \"-Wincompatible-pointer-types-discards-qualifiers\"\n"
        "#elif defined(__GNUC__)\n"
        "#pragma GCC diagnostic ignored \"-Wdiscarded-qualifiers\"\n"
        "#pragma GCC diagnostic ignored \"-Wdiscarded-array-qualifiers\"\n#endif\n\n";
    out += "static cffix_ctype* _cffix_types[" +
           std::to_string(std::max<size_t>(1, types.names().size())) + "];\n";
    out += "static const char* const _cffix_type_names[] = {";
    for (const std::string& t : types.names()) out += c_string(t) + ", ";
    out += "NULL};\n\n";
    out += kHelpers;
    out += extern_python_code;
    // Globals: their addresses for lib, and a check that each has the cdef's type (a
    // pointer of the cdef's type must take its address: an error otherwise).
    // A `const T x;` (static or not) is a value, as in cffi: the name may be a macro, so
    // the module copies it into its own storage at import, and lib reads that copy.
    // A `const` of an integer type is an integer constant, as in cffi: lib gives the value
    // C computes, whatever the declared type (`static const unsigned short AA;` for a
    // `#define AA -1LL`), from the constants' table, which lib searches first.
    std::map<std::string, std::string> copies;  // name -> the copy's C name
    std::string copy_values;                    // PyInit's assignments
    out += "\n";
    for (size_t i = 0; i < variables.size(); ++i) {
        const types::VariableDecl& v = scope.variables().find(variables[i])->second;
        bool opaque = types::is_record(v.type.get()) &&
                      (!v.type->record || (v.type->flags & types::RF_OPAQUE_TYPEDEF));
        if (!v.is_const || v.type->kind == Kind::Array || v.dots_levels || opaque) continue;
        if (integer_constant(v)) {
            constants.push_back(variables[i]);
            copies[variables[i]] = "";
            continue;
        }
        check_type(v.type.get(), "global constant '" + variables[i] + "'");
        std::string copy = "_cffix_value" + std::to_string(i);
        copies[variables[i]] = copy;
        out += "static " + types::cname_with(v.type.get(), " " + copy) + ";\n";
        std::string value = v.type->kind == Kind::Pointer
                                ? "_CFFIX_UNCONST(" + types::cname_with(v.type.get(), "") + ", " +
                                      variables[i] + ")"
                                : variables[i];
        copy_values += "    " + copy + " = " + value + ";\n";
    }
    std::sort(constants.begin() + static_cast<std::ptrdiff_t>(declared_constants), constants.end());
    std::inplace_merge(constants.begin(),
                       constants.begin() + static_cast<std::ptrdiff_t>(declared_constants),
                       constants.end());
    out += "\nstatic void _cffix_check_globals(void) {\n";
    for (size_t i = 0; i < variables.size(); ++i) {
        const types::VariableDecl& v = scope.variables().find(variables[i])->second;
        if (copies.count(variables[i])) continue;  // the copy's assignment checks the type
        std::string p = "_cffix_g" + std::to_string(i);
        // cdef types drop a pointee's const (and a function pointer's parameters'): items of
        // those types are checked by size only
        const CType* item = v.type.get();
        while (item->kind == Kind::Array) item = item->item;
        bool size_only = item->kind == Kind::Pointer || item->kind == Kind::Function;
        if (v.dots_levels) {  // the lengths are the compiler's; the items' type is checked
            facts.add(types::fact_key(types::FactKind::Global, variables[i]), "0", "0", "0",
                      array_level_sizes(variables[i], v.type.get(), v.dots_levels));
            std::string first = variables[i];
            for (const CType* a = v.type.get(); a->kind == Kind::Array; a = a->item) first += "[0]";
            if (size_only)
                out += "    (void)sizeof(char[(sizeof(" + first + ") == sizeof(" +
                       anonymous.cname_with(item, "") + ")) ? 1 : -1]);\n";
            else
                out += "    " + types::cname_with(item, (v.is_const ? " const* " : "* ") + p) +
                       " = &" + first + ";\n    (void)" + p + ";\n";
            continue;
        }
        check_type(v.type.get(), "global variable '" + variables[i] + "'");
        if (size_only) {
            std::string x = v.type->kind == Kind::Array && v.type->length < 0 ? variables[i] + "[0]"
                                                                              : variables[i];
            const CType* t = x == variables[i] ? v.type.get() : v.type->item;
            out += "    (void)sizeof(char[(sizeof(" + x + ") == sizeof(" +
                   anonymous.cname_with(t, "") + ")) ? 1 : -1]);\n";
            continue;
        }
        if (v.type->kind == Kind::Array && v.type->length < 0) {  // T a[] or a[...]: the items
            std::string pointer = v.type->item->kind == Kind::Array ? "(*" + p + ")" : "* " + p;
            out += "    " + types::cname_with(v.type->item, pointer) + " = &" + variables[i] +
                   "[0];\n    (void)" + p + ";\n";
            continue;
        }
        std::string declarator = v.type->kind == Kind::Array
                                     ? (v.is_const ? " const(*" : "(*") + p + ")"
                                     : (v.is_const ? " const* " : "* ") + p;
        out += "    " + types::cname_with(v.type.get(), declarator) + " = &" + variables[i] +
               ";\n    (void)" + p + ";\n";
    }
    // Addresses by symbol, sorted (the core searches the table): globals, variadic and
    // extern "Python" functions.
    std::vector<std::pair<std::string, std::string>> symbols;  // (symbol, C name)
    for (const std::string& name : variables) {
        const std::string& label = scope.variables().find(name)->second.asm_name;
        auto copy = copies.find(name);
        if (copy != copies.end() && copy->second.empty()) continue;  // an integer constant
        symbols.emplace_back(label.empty() ? name : label,
                             copy == copies.end() ? name : copy->second);
    }
    for (const std::string& name : variadic) {
        const std::string& label = scope.functions().find(name)->second.asm_name;
        symbols.emplace_back(label.empty() ? name : label, name);
    }
    for (const std::string& name : extern_python) symbols.emplace_back(name, name);
    // Wrapped functions too, for ffi.addressof(lib, "f") (a function pointer cdata).
    for (const std::string& name : names) symbols.emplace_back(name, name);
    std::sort(symbols.begin(), symbols.end());
    out += "}\n\n" + directs + "\n" + address_functions(symbols, names);
    out += "/* What the cdef leaves to the C compiler, and its layouts compared with C's. */\n";
    out += facts.source();
    out += "static void _cffix_check_layouts(void) {\n" + checks + "}\n\n" + wrappers;
    out += "static PyMethodDef _cffix_methods[] = {\n";
    for (const std::string& name : names)
        out += "    {\"" + name + "\", (PyCFunction)(void (*)(void))_cffix_f_" + name +
               ", METH_FASTCALL,\n     " +
               c_string(function_doc(name, scope.functions().find(name)->second.type.get(),
                                     module_name)) +
               "},\n";
    out += "    {NULL, NULL, 0, NULL},\n};\n\n";
    // Constants: names sorted, values computed by the compiler when first read; a
    // `#define` or `static const` whose cdef value is not C's is an error at that read.
    out += "static const char* const _cffix_constant_names[] = {\n";
    for (const std::string& name : constants) out += "    \"" + name + "\",\n";
    out += "    NULL,\n};\n\n";
    out += "static int _cffix_constant_value(int i, long long* s, unsigned long long* u) {\n";
    out += "    switch (i) {\n";
    for (size_t i = 0; i < constants.size(); ++i) {
        const std::string& c = constants[i];
        auto declared = scope.constants().find(c);  // else a `const int x;`: C's value
        std::string check =
            declared == scope.constants().end() ? "" : disagreement(declared->second);
        out += "        case " + std::to_string(i) + ": {\n            int negative = (" + c +
               ") <= 0 && (" + c + ") != 0;\n            *s = (long long)(" + c +
               ");\n            *u = (unsigned long long)(" + c +
               ");\n            return negative" + check + ";\n        }\n";
    }
    out += "    }\n    (void)s;\n    (void)u;\n    return 0;\n}\n\n";
    out += macro_values;
    out += "static const cffix_module_tables _cffix_tables = {\n";
    out += "    _cffix_methods, " + std::to_string(names.size()) + ", _cffix_constant_names, " +
           std::to_string(constants.size()) + ", _cffix_constant_value, _cffix_globals, " +
           std::to_string(symbols.size()) + ",\n};\n\n";
    for (size_t i = 0; i < cdefs.size(); ++i)  // the cdef() texts, parsed at first use
        if (cdefs[i].include_module.empty())
            out += "static const char _cffix_cdef_" + std::to_string(i) +
                   "[] = " + c_string(cdefs[i].text) + ";\n\n";
    bool includes = std::any_of(cdefs.begin(), cdefs.end(),
                                [](const CdefCall& c) { return !c.include_module.empty(); });
    if (includes)
        out += R"C(/* ffi.include(): imports the module, includes its ffi, and keeps its lib (an
 * out-of-line ABI module has none) for the names this lib does not declare. */
static int _cffix_include(PyObject* ffi, const char* module_name, PyObject** included) {
    PyObject *module, *other, *r, *lib;
    int ok = 0;
    if (!*included && !(*included = PyList_New(0))) return 0;
    if (!(module = PyImport_ImportModule(module_name))) return 0;
    if ((other = PyObject_GetAttrString(module, "ffi"))) {
        r = PyObject_CallMethod(ffi, "include", "O", other);
        Py_XDECREF(r);
        Py_DECREF(other);
        ok = r != NULL;
    }
    if (ok && PyObject_HasAttrString(module, "lib")) {
        ok = (lib = PyObject_GetAttrString(module, "lib")) && PyList_Append(*included, lib) == 0;
        Py_XDECREF(lib);
    }
    Py_DECREF(module);
    return ok;
}

)C";
    out += "static struct PyModuleDef _cffix_module = {PyModuleDef_HEAD_INIT, " +
           c_string(module_name) + ", NULL, -1, NULL, NULL, NULL, NULL, NULL};\n\n";
    // Import does no parsing and makes no function object: the cdefs run at the first
    // use of the declarations, and lib's names become objects at their first access.
    out += "PyMODINIT_FUNC PyInit_" + base + "(void) {\n";
    out += "    PyObject *module = NULL, *ffi = NULL, *lib = NULL, *included = NULL;\n";
    out +=
        "    int i;\n    (void)_cffix_convert;\n"
        "    (void)_cffix_check_globals;\n    (void)_cffix_check_layouts;\n"
        "    (void)_cffix_facts;\n    (void)_cffix_arity;\n    (void)_cffix_arg_integer;\n"
        "    (void)_cffix_arg_floating;\n    (void)_cffix_arg_pointer;\n"
        "    (void)_cffix_arg_record;\n    (void)_cffix_result;\n    (void)_cffix_release;\n"
        "    (void)_cffix_reacquire;\n";
    out += "    _cffix = cffix_import_api(" + c_string(module_name) + ", CFFIX_API_VERSION, " +
           c_string(cffix_version) + ");\n";
    out += "    if (!_cffix) return NULL;\n";
    out += "    if (!(ffi = PyObject_CallNoArgs((PyObject*)_cffix->ffi_type))) goto fail;\n";
    if (facts.count() > 0) {
        out += "    if (!_cffix->set_compiler_facts(ffi, _cffix_facts, " +
               std::to_string(facts.count()) + "))\n        goto fail;\n";
    }
    for (size_t i = 0; i < cdefs.size(); ++i) {
        const CdefCall& c = cdefs[i];
        if (!c.include_module.empty()) {  // ffi.include(other.ffi), in history order
            out += "    if (!_cffix_include(ffi, " + c_string(c.include_module) +
                   ", &included))\n        goto fail;\n";
            continue;
        }
        std::string text = "_cffix_cdef_" + std::to_string(i);
        out += "    if (!_cffix->cdef_later(ffi, " + text + ", sizeof " + text + " - 1, " +
               (c.override ? "1" : "0") + ", " + (c.packed ? "1" : "0") + ", " +
               std::to_string(c.pack) + "))\n        goto fail;\n";
    }
    if (!macro_values.empty()) out += "    if (!_cffix_macro_values(ffi)) goto fail;\n";
    if (!wrap_rules.empty()) {  // the builder's ffi.wrap rules, before any function is made
        out +=
            "    {\n        PyObject* done = PyObject_CallMethod(ffi, \"_cffix_load_wrap_rules\", "
            "\"s\", " +
            c_string(wrap_rules) + ");\n";
        out += "        if (!done) goto fail;\n        Py_DECREF(done);\n    }\n";
    }
    out += "    for (i = 0; _cffix_type_names[i]; ++i)\n        _cffix_types[i] = NULL;\n";
    out += copy_values;
    out += "    Py_XSETREF(_cffix_ffi, Py_NewRef(ffi));\n";
    out += extern_python_init();
    out += "    if (!(lib = _cffix->make_lib(ffi, " + c_string(module_name) +
           ", &_cffix_tables))) goto fail;\n";
    if (!release_gil) out += "    _cffix->lib_keep_gil(lib);\n";
    out += "    for (i = 0; included && i < PyList_GET_SIZE(included); ++i)\n";
    out += "        if (!_cffix->lib_include(lib, PyList_GET_ITEM(included, i))) goto fail;\n";
    out += "    if (!(module = PyModule_Create(&_cffix_module))) goto fail;\n";
    // Safe without the GIL as the core is (its caches: _cffix_type above).
    out +=
        "#ifdef Py_GIL_DISABLED\n    PyUnstable_Module_SetGIL(module, "
        "Py_MOD_GIL_NOT_USED);\n#endif\n";
    out +=
        "    if (PyModule_AddObjectRef(module, \"ffi\", ffi) < 0 ||\n"
        "        PyModule_AddObjectRef(module, \"lib\", lib) < 0)\n        goto fail;\n";
    out += register_lib(module_name);
    out += "    Py_DECREF(ffi);\n    Py_DECREF(lib);\n    Py_XDECREF(included);\n";
    out += "    return module;\n";
    out +=
        "fail:\n    Py_XDECREF(module);\n    Py_XDECREF(ffi);\n    Py_XDECREF(lib);\n"
        "    Py_XDECREF(included);\n    return NULL;\n}\n";
    return out;
}

}  // namespace cffix::gen
