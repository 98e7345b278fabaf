// Scope: everything one FFI has declared (typedefs, struct/union/enum tags, constants,
// functions, global variables), and the bridge from the parser's syntax tree to CTypes.
// It is the parser's DeclSink: each declaration is declared as soon as it is parsed, so
// later declarations see earlier ones.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "parse/ast.h"
#include "parse/macro.h"
#include "types/ctype.h"
#include "types/written.h"
#include "util/hash.h"

namespace cffix::types {

using CTypeRef = Ref<CType>;
// Hash maps looked up by string_view without building a std::string.
template <typename T>
using NameMap = std::unordered_map<std::string, T, StringHash, std::equal_to<>>;

// What the C compiler computed for an API-mode module (see gen/module_source.cpp), handed
// to the scope before the module's cdef runs again at import, keyed by fact_key():
//  - a struct/union declared with `...;` (or holding such a type by value): its size,
//    alignment, and in `values` the offset and size of each member in declaration order;
//  - every enum (with `...` or not, as in cffi): its size, signedness, and each
//    enumerator's value;
//  - `typedef int... t;` / `typedef float... t;`: the size and signedness of t (for a
//    float: in is_signed, whether t is a floating type at all);
//  - a global `T a[...];`, `T a[][...]`..., a member of such an array type, or
//    `typedef T t[...];`: in `values`, the size of each array level, outermost first
//    (sizeof(a), sizeof(a[0]), ...; 0 for a level written `[]`);
//  - a struct/union the cdef lays out completely (FactKind::Layout): the compiler's size,
//    alignment, and in `values` the offset and size of each named field that is no
//    bitfield (types::CType::fields order; -1 for a flexible array's size), which the
//    core compares with the cdef's layout at the type's first use (record.cpp).
struct CompilerFact {
    int64_t size = 0;
    int64_t align = 0;
    bool is_signed = false;
    std::vector<int64_t> values;
};
enum class FactKind : uint8_t { Record, Enum, Typedef, Global, Member, Layout };
// "struct s"/"union u"/typedef name of an anonymous record: the record's cname; "enum e"
// likewise; "typedef t", "global g" for the others; "member struct s.m" for the member
// m of struct s (name: "struct s.m").
std::string fact_key(FactKind kind, std::string_view name);

struct CdefOptions {
    bool override = false;  // redeclarations replace earlier ones instead of failing
    bool packed = false;    // every struct of this cdef is packed (cffi's packed=True)
    uint32_t pack = 0;      // #pragma pack(N) for every struct of this cdef (0 = none)
};

// ffi.cdef_header(): which declarations of a preprocessed text are the library's own (the
// others declare types only), and what became of each.
struct HeaderMode {
    // Physical line ranges [first, last] of the text that come from own headers, sorted.
    std::vector<std::pair<int, int>> own_lines;
    // only= / exclude=: whether an own function, global or constant is declared (null: all).
    // May throw (PythonErrorSet).
    std::function<bool(const std::string&)> keep;
    // Results, in source order.
    std::vector<std::pair<std::string, std::string>> kept;  // (kind, name) of own declarations
    struct Skipped {
        std::string name, reason;
        int line = 0;  // physical
    };
    std::vector<Skipped> skipped;                                       // every failed one
    std::vector<std::pair<std::string, std::string>> renamed;           // (name, asm label)
    std::vector<std::pair<std::string, std::string>> inline_functions;  // (name, file)
    // The macros defined at the end (an #undef removes one), in the order of their last
    // definition: name (`F(a, b)` for a function-like one), body, physical line, whether
    // that line is own.
    struct Macro {
        std::string name, body;
        int line = 0;
        bool own = false;
        bool live = true;
    };
    std::vector<Macro> macros;
    std::unordered_map<std::string, size_t> macro_index;
    // A plain cdef text declaring what was declared (the declarations kept, with the line
    // markers and #pragma lines), for API mode and out-of-line modules to replay.
    std::string replay;
    bool own(int line) const;
};

struct FunctionDecl {
    CTypeRef type;  // Kind::Function
    std::string asm_name;
    // Defined with an inline body in a header (the file; "" otherwise): a dlopen()
    // library usually has no symbol for it, API mode calls it through the generated C.
    std::string inline_in;
    parse::ExternPython extern_python = parse::ExternPython::No;
    // extern "Python" functions: the result and parameter types as written (qualifiers
    // kept, types/written.h), for the C function API mode defines; may be empty.
    std::vector<WrittenType> written;
    // The parameter names as written ("" where unnamed; empty when declared through a
    // function typedef) and the typedef name its result was written with ("" if none):
    // for wrapped functions (call/wrap.h: names in policies, ffi.wrap("typedef:T")).
    std::vector<std::string> param_names;
    std::string result_typedef;
    // C23 [[cffix::...]] attributes of the function and of each parameter (empty when
    // none was written): ffi.wrap's facts in the cdef.
    std::vector<std::string> attributes;
    std::vector<std::vector<std::string>> param_attributes;
    parse::SourcePos pos;
    uint32_t cdef = 0;  // which cdef() of the scope declared it (Scope::cdef_serial_)
};

struct VariableDecl {
    CTypeRef type;
    std::string asm_name;
    bool is_const = false;
    uint32_t dots_levels = 0;  // bit k: the array level k (0: outermost) is `[...]`
    // `static const double X = 42.5;`: a constant of a non-integer type, whose value only
    // the compiler knows; a library from dlopen() has no symbol for it.
    bool initialized = false;
    parse::SourcePos pos;
    uint32_t cdef = 0;  // which cdef() of the scope declared it (Scope::cdef_serial_)
};

struct ConstantDecl {
    parse::ConstInt value = 0;
    bool dots = false;           // `#define X ...` or an enumerator of a partial enum
    CType* enum_type = nullptr;  // borrowed (held by the tag map): for enumerators
    CTypeRef declared_type;      // `static const T X = 1;`: T (typeof(X)); null otherwise
    parse::SourcePos pos;
    uint32_t cdef = 0;  // which cdef() of the scope declared it (Scope::cdef_serial_)
};

// A header's object-like macro whose value is no integer (Scope::declare_macro): lib.NAME
// gives a float, bytes or str. (Integer macros are ConstantDecls, as `#define X 42`.)
struct MacroConstantDecl {
    enum Kind : uint8_t { Floating, Bytes, Text } kind = Floating;
    double real = 0;
    std::string text;  // Bytes: the bytes; Text: UTF-8
};

// What a name denotes for a lib object (Scope::find_global): at most one is set.
struct GlobalDecl {
    const FunctionDecl* function = nullptr;
    const VariableDecl* variable = nullptr;
    const ConstantDecl* constant = nullptr;    // #define or enumerator
    const MacroConstantDecl* macro = nullptr;  // a header's floating or string macro
    explicit operator bool() const { return function || variable || constant || macro; }
};

class Scope : public parse::DeclSink {
public:
    Scope();
    ~Scope() override;
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

    // Parses and declares `source`. Throws CDefError / cffix::Error. On error, what was
    // declared before the faulty declaration stays declared (as in cffi).
    void cdef(std::string_view source, const CdefOptions& options);
    // The same for the preprocessed text of real headers (ffi.cdef_header): declarations
    // that fail are skipped, functions, globals and constants outside `mode.own_lines` (or
    // refused by mode.keep) are not declared (constants stay usable in constant
    // expressions); types are all declared. Results go to `mode`.
    void cdef_header(std::string_view source, const CdefOptions& options, HeaderMode& mode);

    // Declares `source` at the first use of the scope instead of now: an API-mode module
    // that is imported and not used parses nothing. `source` must outlive the scope (the
    // module's static text). Every public method below runs the deferred cdefs first;
    // run_deferred() does it alone (it throws as cdef() does).
    void cdef_later(std::string_view source, const CdefOptions& options);
    void run_deferred() const;

    // Resolves a type string ("struct foo *", "int[3]"). Throws. A struct/union/enum tag
    // that was never declared is declared here, opaque, as C does.
    CTypeRef parse_type(std::string_view text);

    // Facts the C compiler computed (API mode): complete `...` declarations of the
    // following cdefs instead of leaving them unusable.
    void set_compiler_facts(NameMap<CompilerFact> facts) { facts_ = std::move(facts); }
    const CompilerFact* compiler_fact(FactKind kind, std::string_view name) const;

    // From now on a type string naming a struct or union tag that no cdef declared is an
    // FFIError ("undefined struct/union name"), as in the ffi of cffi's API-mode modules,
    // instead of declaring the tag opaque (as cffi.FFI and C do).
    void refuse_undeclared_tags() { refuse_undeclared_tags_ = true; }
    // The same flag: an API-mode module's scope, whose ffi also reports a type string's
    // CDefError as ffi.error (FFIError), as cffi's API-mode ffi does.
    bool api_module_style() const { return refuse_undeclared_tags_; }

    // Makes another scope's declarations visible (ffi.include); lookups here win.
    void include(const Scope* other);

    // Name -> declaration maps, for lib objects and list_types (unordered).
    const NameMap<FunctionDecl>& functions() const { return declared().functions_; }
    const NameMap<VariableDecl>& variables() const { return declared().variables_; }
    const NameMap<ConstantDecl>& constants() const { return declared().constants_; }
    const NameMap<MacroConstantDecl>& macro_constants() const {
        return declared().macro_constants_;
    }
    // Declares the value of a header's object-like macro (parse/macro.h): an integer as a
    // constant (as `#define NAME 42`), a floating or string value as a MacroConstantDecl.
    // Returns "", or why it is not declared (its name is taken by another declaration);
    // `is_new` tells whether it declared it (false: the same value was declared already,
    // as an enumerator of the same name in `enum { X = 1 }; #define X X`).
    std::string declare_macro(const std::string& name, const parse::MacroValue& value,
                              bool& is_new);
    // An API-mode module's floating and string macros, their values from the compiler:
    // declared as the builder's scope declared them, without running the deferred cdefs
    // (their names are not the cdefs' then either).
    void add_macro_constant(const std::string& name, MacroConstantDecl value) {
        macro_constants_[name] = std::move(value);
    }
    // What `name` is besides a constant or type, for macro evaluation: "function",
    // "variable" or nullptr.
    const char* global_kind(std::string_view name) const;
    // For lib objects: the function, variable or constant called `name`, searched here
    // first, then in the included scopes in include order (as types are).
    GlobalDecl find_global(std::string_view name) const;
    // Every name find_global knows, sorted, each once: dir(lib). extern "Python" functions
    // only with `extern_python` (an API-mode module's lib defines its own), never those of
    // included scopes.
    void list_globals(std::vector<std::string>& names, bool extern_python = false) const;
    // (typedef names, struct tags, union tags), sorted, without anonymous ones, with those
    // of the included scopes (each name once).
    void list_types(std::vector<std::string>& typedefs, std::vector<std::string>& structs,
                    std::vector<std::string>& unions) const;
    // For API mode's generator: this scope's own struct, union and enum types (anonymous
    // ones included; not those cdef_header() took from headers that are not own), and its `typedef
    // int... t;` / `typedef float... t;` names with whether each is an integer; each sorted by
    // name.
    void own_tagged_types(std::vector<CType*>& records, std::vector<CType*>& enums) const;
    std::vector<std::pair<std::string, bool>> dots_typedefs() const;
    // Its typedefs of arrays with a `[...]` length (`typedef int t[...][...];`), sorted by
    // name.
    struct DotsArrayTypedef {
        std::string name;
        uint32_t dots_levels;  // as VariableDecl's
        const CType* type;     // borrowed: the array type, its `[...]` levels unknown
    };
    std::vector<DotsArrayTypedef> dots_array_typedefs() const;
    // The types this scope's own declarations name (typedefs, functions, variables, struct
    // and union tags), for walks over everything a module would hold (borrowed).
    std::vector<const CType*> own_declared_types() const;
    // Bumped whenever a declaration is replaced (override=True): caches keyed on type
    // strings must be dropped when it changes.
    uint64_t generation() const { return generation_; }

    // DeclSink
    bool is_type_name(std::string_view name) override;
    std::optional<parse::ConstInt> constant_value(std::string_view name) override;
    uint64_t size_of(const parse::TypeExpr& type) override;
    uint64_t align_of(const parse::TypeExpr& type) override;
    std::string suggest_type_name(std::string_view unknown) override;
    void declare(parse::Declaration&& decl) override;
    void set_pack(uint32_t pack) override;
    void set_own(bool own) override { not_own_ = !own; }
    std::optional<Arithmetic> arithmetic_of(const parse::TypeExpr& type) override;

    // Forgets the included scopes (their FFIs are being released): for tp_clear.
    void drop_includes() { included_.clear(); }

private:
    struct TypedefDecl {
        CTypeRef type;
        bool raw_function = false;           // `typedef int f_t(int);`: a function, not a pointer
        uint32_t aligned = 0;                // __attribute__((aligned(N))) on the typedef
        const char* unusable = nullptr;      // "integer"/"float" for `typedef int... t;`
        uint32_t dots_levels = 0;            // `typedef int t[...];`: as VariableDecl's
        bool opaque_pointer = false;         // `typedef ... *t;`
        std::optional<WrittenType> written;  // with qualifiers to keep (types/written.h)
        bool is_const = false;               // `typedef const int c_t;`: c_t x is const
        parse::SourcePos pos;
        uint32_t cdef = 0;  // which cdef() of the scope declared it (Scope::cdef_serial_)
    };
    struct Resolved {
        CTypeRef type;
        bool raw_function = false;
        uint32_t aligned = 0;  // from an aligned typedef
    };

    class CffiNames;
    CTypeRef resolve_type_string(std::string_view text);
    Resolved resolve(const parse::TypeExpr& expr, const std::string& name_hint = {});
    Resolved resolve_named(const parse::TypeExpr& expr);
    CTypeRef resolve_function(const parse::TypeExpr& expr);
    // typeof(expression): the expression's type (types/expr_type.cpp).
    class ExpressionTypes;
    Resolved resolve_typeof(const parse::TypeExpr& expr);
    CTypeRef resolve_array(const parse::TypeExpr& expr, const CompilerFact* fact,
                           const std::string& what);
    WrittenTypedefs written_typedefs() const;
    bool is_const(const parse::TypeExpr& expr) const;
    std::string anonymous_label(const std::string& name_hint);
    CTypeRef resolve_record(const parse::TypeExpr& expr, const std::string& name_hint);
    CTypeRef resolve_enum(const parse::TypeExpr& expr, const std::string& name_hint);
    CType* find_tag(parse::TypeExprKind kind, std::string_view name) const;
    void fill_record(CType* t, const parse::RecordBody& body);
    void fill_enum(CType* t, const parse::EnumBody& body);
    void declare_typedef(parse::Declaration& decl);
    void declare_function(const parse::Declaration& decl, CTypeRef type);
    void declare_variable(const parse::Declaration& decl, Resolved resolved,
                          bool initialized = false);
    void declare_constant(const std::string& name, ConstantDecl constant);
    const TypedefDecl* find_typedef(std::string_view name) const;
    const parse::TypeExpr* open_typedef_in(const parse::TypeExpr& e) const;
    const ConstantDecl* find_constant(std::string_view name) const;
    template <typename Decl>
    [[noreturn]] void redeclared(const char* what, const std::string& name, const Decl& earlier,
                                 parse::SourcePos here) const;
    void complete_pending();
    template <typename Parse>
    void run_cdef(const CdefOptions& options, HeaderMode* mode, Parse&& parse);
    void remember_body(std::shared_ptr<const void> body, CTypeRef type);

    const Scope& declared() const {
        if (!deferred_.empty()) run_deferred();
        return *this;
    }

    mutable std::vector<std::pair<std::string_view, CdefOptions>> deferred_;
    NameMap<CompilerFact> facts_;
    NameMap<TypedefDecl> typedefs_;
    NameMap<CTypeRef> structs_, unions_, enums_;
    NameMap<parse::SourcePos> tag_pos_;  // "struct foo" -> where declared
    NameMap<ConstantDecl> constants_;
    NameMap<MacroConstantDecl> macro_constants_;
    NameMap<FunctionDecl> functions_;
    NameMap<VariableDecl> variables_;
    std::vector<const Scope*> included_;
    // State of the cdef being parsed.
    CdefOptions options_;
    // Bodies defined by this cdef -> their type (one body may be named by several
    // declarators: `typedef struct {...} A, *PA;`).
    std::unordered_map<const void*, std::pair<std::shared_ptr<const void>, CTypeRef>> bodies_;
    // The tags ("struct q") whose bodies are being filled, outermost first: a body inside
    // one that defines the same tag again is C's "nested redefinition" error.
    std::vector<std::string> defining_;
    std::vector<CTypeRef> pending_;  // records waiting for a member
    int anonymous_count_ = 0;
    uint32_t cdef_serial_ = 0;  // bumped by each cdef(): tells a redeclaration's origin
    uint64_t generation_ = 0;
    bool refuse_undeclared_tags_ = false;
    std::string_view type_string_;  // the type string parse_type() resolves, else empty
    // cdef_header(): its mode, whether the declaration being parsed declared anything the
    // replay text needs, and the constants of other headers (not lib names, still usable in
    // constant expressions).
    class HeaderLog;
    bool header_keeps(const std::string& name, parse::SourcePos pos, const char* kind);
    void note_foreign(const CType* t, parse::SourcePos pos);
    // Structs, unions and enums defined by headers that are not own: declared for their
    // layout, but API mode's generator does not check them against the compiler (the
    // module's C source may see them through other feature macros: glibc's fd_set).
    std::unordered_set<const CType*> foreign_;
    HeaderMode* header_ = nullptr;
    bool not_own_ = false;  // `#pragma cffix own(0)` in the cdef being parsed
    bool header_declared_ = false;
    bool header_refused_ = false;  // only=/exclude= refused a name of that declaration
    NameMap<ConstantDecl> hidden_constants_;
    uint32_t cdef_pack_ = 0;  // the cdef's pack= (what `#pragma pack()` returns to)
};

}  // namespace cffix::types
