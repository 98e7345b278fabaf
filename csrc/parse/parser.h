// The cdef parser: recursive descent over the Lexer's tokens, one member function per
// grammar rule, split by topic:
//   parser.cpp      tokens, errors, the top level (declarations, #define, extern "Python",
//                   _Static_assert) and the two entry points of ast.h
//   declarator.cpp  declaration specifiers, declarators, parameter lists, type names
//   record.cpp      struct / union / enum specifiers and bodies
//   attributes.cpp  __attribute__((...)), __declspec(...) and __asm__("label")
//   const_expr.cpp  integer constant expressions, evaluated as they are parsed
//
// Shared definitions. A struct, union or enum defined inside a declaration is parsed once
// into a single TypeExpr holding its body, and every declarator of that declaration refers
// to that very object: in `typedef struct { int x; } A, *PA;` the type of A and the pointee
// of PA's type are the same TypeExpr (same shared_ptr), hence the same RecordBody. The sink
// tells one definition seen twice from two identical definitions by the identity of `body`
// (or `enum_body`), and must define it only once.
//
// Order of delivery. Each Declaration goes to the sink as soon as its declarator is
// complete, so `typedef int T, U[sizeof(T)];` can size T. A named tag defined where no
// declarator uses it (`struct outer { struct inner { int a; }; int b; };`) is handed over
// as a TagOnly declaration at that point, before the enclosing declaration.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "parse/ast.h"
#include "parse/lexer.h"
#include "util/small_vector.h"

namespace cffix::parse {

// Nesting limit for everything parsed recursively (declarators, parameter lists, struct
// bodies, parenthesised expressions), so hostile input cannot overflow the C stack. Also
// caps the pointer/array/function levels of one declarator (the TypeExpr chain length).
inline constexpr int kMaxDepth = 200;

// __attribute__ contents that change a declaration; every other attribute is skipped.
struct Attributes {
    bool packed = false;
    uint32_t aligned = 0;  // the largest aligned(N) seen
    int mode_bits = 0;     // mode(QI/HI/SI/DI/word): the integer width it asks for, or 0
    std::string_view abi;  // "__stdcall", "__cdecl" or "__fastcall" (keyword or attribute)
    // C23 `[[cffix::name(args)]]` attributes, as "name" or "name(args)" (ffi.wrap's facts
    // written in the cdef, see call/wrap.h); other C23 attributes are skipped.
    std::vector<std::string> cffix;
};

// A constant expression's value with the C type it has, so that conversions and unsigned
// wrap-around follow C: bits is 32 (int), 64 (long) or 128 (a signed value too large for
// any C type, kept exact rather than wrapped; see const_expr.cpp). Macro values (macro.h)
// may also be floating: `real` holds the value, bits is 32 (float), 64 (double) or 128
// (long double).
struct ConstValue {
    ConstInt value = 0;
    uint8_t bits = 32;
    bool is_unsigned = false;
    bool is_float = false;
    long double real = 0;
};

// One derivation of a declarator: pointer, array or function, applied to the type built
// so far.
struct DeclaratorOp {
    TypeExprKind kind = TypeExprKind::Pointer;
    SourcePos pos;
    bool is_const = false;
    bool is_volatile = false;
    ArrayKind array_kind = ArrayKind::Fixed;
    uint64_t array_length = 0;
    std::vector<Param> params;
    bool ellipsis = false;
    std::string_view abi;
};

struct Declarator {
    Token name;                        // kind Identifier, or End for an abstract declarator
    SmallVector<DeclaratorOp, 4> ops;  // in the order they apply to the base type
    Attributes attrs;                  // attributes written after the declarator
    std::string asm_name;              // __asm__("label")
    bool has_name() const { return name.kind == Tok::Identifier; }
};

enum class SpecifierContext : uint8_t { Declaration, Member, Parameter, TypeName };
enum class DeclaratorContext : uint8_t {
    Named,     // a name is required (declarations, members)
    Optional,  // parameters and ffi.typeof() strings: named or abstract
    Abstract,  // type names in expressions (casts, sizeof): no name
};

struct Specifiers {
    TypeExprPtr base;  // the type named by the specifiers, with const/volatile applied
    Token first;       // the first token of the declaration
    bool is_typedef = false;
    bool is_static = false;
    bool is_inline = false;  // inline, __inline, __inline__, __forceinline
    Attributes attrs;        // attributes among the specifiers (and the calling convention)
};

struct SpecifierState;

// The enumerators of the declaration being parsed, by name. Kept in a vector (no per-name
// allocation, cheap to forget after each declaration); a hash index is built only once a
// lookup meets a long list, so a huge enum whose values name each other stays linear.
class PendingConstants {
public:
    void add(std::string_view name, ConstInt value) { items_.emplace_back(name, value); }
    const ConstInt* find(std::string_view name);
    void clear();

private:
    static constexpr size_t kScanLimit = 32;
    std::vector<std::pair<std::string_view, ConstInt>> items_;
    std::unordered_map<std::string_view, ConstInt> index_;  // items_[0, indexed_)
    size_t indexed_ = 0;
};

class Parser {
public:
    Parser(std::string_view source, DeclSink& sink);
    void parse_translation_unit();
    void set_recovery(RecoveryLog* log) {
        recovery_ = log;
        lex_.set_header_mode(log != nullptr);
    }
    TypeExprPtr parse_standalone_type_name();
    ConstInt parse_standalone_probe_expression(ProbeCalls& probes, bool evaluate);
    // A macro's expanded body (macro.h): C's semantics rather than the cdef's (floating
    // values, signed overflow wraps, a shift count must be below the width).
    ConstValue parse_standalone_macro_value();

private:
    class DepthGuard;

    // Tokens and errors (parser.cpp). advance() is the hottest call of the parser: inline,
    // with the rare #define lines handled out of line.
    void advance() {
        tok_ = lex_.next();
        if (tok_.kind >= Tok::Define && tok_.kind <= Tok::Undef) [[unlikely]]
            handle_defines();
    }
    void handle_defines();
    size_t offset_of(const Token& t) const {
        return static_cast<size_t>(t.text.data() - source_.data());
    }
    Token peek() const;
    Token peek_or(const Token& fallback) const;
    Token peek_past_attributes() const;
    bool accept(Tok kind);
    void expect(Tok kind, std::string_view what);
    [[noreturn]] void fail(const Token& at, std::string message) const;
    // An error that pycparser reports as a syntax error before `before` (cffi's text).
    [[noreturn]] void fail_syntax(const Token& at, std::string message, const Token& before) const;
    [[noreturn]] void fail_expected(std::string_view what) const;
    [[noreturn]] void fail_unknown_type(const Token& name);
    template <class F>
    auto ask_sink(const Token& at, F&& question) -> decltype(question());
    bool is_type_name(std::string_view name);
    void emit(Declaration&& decl, const Token& at);

    // The top level (parser.cpp).
    void parse_external_declaration(ExternPython xp);
    void parse_linkage_specification(ExternPython outer);
    void parse_declaration(ExternPython xp);
    void declare_tag_only(const Specifiers& specs);
    void parse_initializer(Declaration& decl, bool is_typedef);
    void skip_initializer();
    void skip_function_body();
    void parse_define();
    void parse_pragma_pack();
    void parse_recovering();
    std::string skip_failed_declaration();
    std::string cffi_define_error(const Token& name) const;
    void parse_define_value(Declaration& decl, const Token& name);
    void parse_static_assert();
    std::string parse_string_literals();

    // Specifiers, declarators, type names (declarator.cpp).
    Specifiers parse_specifiers(SpecifierContext ctx);
    bool parse_one_specifier(SpecifierState& st, SpecifierContext ctx);
    void add_type_keyword(SpecifierState& st);
    void add_float_n(SpecifierState& st);
    bool add_int128(SpecifierState& st);
    std::shared_ptr<TypeExpr> opaque_float_type(const Token& keyword);
    std::shared_ptr<TypeExpr> float128_type(const Token& keyword);
    void set_other_type(SpecifierState& st, std::shared_ptr<TypeExpr> type, const Token& at);
    bool add_typeof_type(SpecifierState& st);
    bool parse_dots_type(SpecifierState& st);
    std::shared_ptr<TypeExpr> finish_base_type(SpecifierState& st);
    [[noreturn]] void fail_combination(const SpecifierState& st, const Token& at);
    std::shared_ptr<TypeExpr> parse_named_type();
    Declarator parse_declarator(DeclaratorContext ctx, std::string_view abi);
    std::string_view parse_declarator_level(Declarator& d, DeclaratorContext ctx,
                                            std::string_view abi, bool top);
    std::string_view parse_pointers(Declarator& d);
    bool at_winapi();
    bool starts_grouping(DeclaratorContext ctx);
    void push_op(Declarator& d, DeclaratorOp&& op);
    DeclaratorOp parse_array_suffix();
    DeclaratorOp parse_parameter_list(std::string_view owner);
    Param parse_parameter();
    void parse_declarator_tail(Declarator& d);
    TypeExprPtr declared_base(const Specifiers& specs, const Attributes& attrs);
    TypeExprPtr build_type(TypeExprPtr base, Declarator& d);
    TypeExprPtr parse_type_name_here(DeclaratorContext ctx = DeclaratorContext::Abstract);
    bool starts_type_name(const Token& t);

    // struct / union / enum (record.cpp).
    std::shared_ptr<TypeExpr> parse_tag_specifier(SpecifierContext ctx);
    std::shared_ptr<RecordBody> parse_record_body();
    void parse_member_declaration(RecordBody& body);
    int parse_bitfield_width(const Declarator& d);
    void add_member(RecordBody& body, const Specifiers& specs, Declarator&& d, int bitsize,
                    const Token& at);
    std::shared_ptr<EnumBody> parse_enum_body();

    // Attributes and asm labels (attributes.cpp).
    void parse_attributes(Attributes& attrs);
    void parse_standard_attributes(Attributes& attrs);
    void parse_attribute(Attributes& attrs);
    uint32_t parse_aligned_argument();
    int mode_bits(const Token& mode);
    void skip_balanced_parens();
    void parse_asm_label(std::string& out);

    // Constant expressions (const_expr.cpp).
    ConstValue parse_constant_expression();
    ConstValue parse_conditional();
    ConstValue parse_binary(int min_precedence);
    ConstValue parse_unary();
    ConstValue parse_primary();
    ConstValue parse_sizeof_or_alignof();
    ConstValue parse_cast();
    ConstValue int_literal_value(const Token& t);
    ConstValue constant_named(const Token& t);
    ConstValue probe_call(const Token& name);
    ConstValue apply_unary(const Token& op, ConstValue v);
    ConstValue apply_binary(const Token& op, ConstValue a, ConstValue b);
    ConstValue apply_shift(const Token& op, ConstValue a, ConstValue b);
    ConstValue cast_to(const TypeExpr& type, ConstValue v, const Token& at);
    ConstValue overflow(const Token& at, const char* what);
    ConstValue signed_result(ConstInt v, int bits);
    ConstValue float_literal_value(const Token& t);
    ConstValue apply_float_unary(const Token& op, ConstValue v);
    ConstValue apply_float_binary(const Token& op, ConstValue a, ConstValue b);
    ConstValue cast_in_macro(const TypeExpr& type, ConstValue v, const Token& at);
    ConstValue float_to_integer(ConstValue v, int bits, bool is_unsigned, const Token& at);
    bool is_true(const ConstValue& v) const { return v.is_float ? v.real != 0 : v.value != 0; }
    uint64_t array_length_value(const Token& at, ConstValue v);

    std::string_view source_;
    DeclSink& sink_;
    Lexer lex_;
    Token tok_;
    int depth_ = 0;
    int unevaluated_ = 0;           // > 0 inside the unevaluated operand of &&, ||, ?: or sizeof
    bool type_name_only_ = false;   // parse_type_name: no #define may declare anything
    ProbeCalls* probes_ = nullptr;  // parse_probe_expression: who answers `f()`
    bool macro_mode_ = false;       // parse_standalone_macro_value: C's semantics
    // The function whose parameter list is being parsed and the parameter's 1-based
    // index (0: not in a parameter list), for cffi's "f arg 1: unknown type" message.
    std::string_view param_owner_;
    int param_index_ = 0;
    const char* last_close_ = nullptr;  // the last ')' skip_balanced_parens went past
    // Enumerators defined in the declaration being parsed: it reaches the sink only when
    // complete, but `enum { N = 4 } a[N];` must already see N.
    PendingConstants pending_constants_;
    RecoveryLog* recovery_ = nullptr;   // parse_declarations_recovering
    size_t recovered_to_ = 0;           // where the next recovered declaration's text starts
    std::vector<uint32_t> pack_stack_;  // #pragma pack(push...)
    uint32_t pack_ = 0;
    std::vector<LineMarker> markers_;  // the line markers met so far (inline_in)
};

// Counts one level of recursion for its scope; past kMaxDepth the input is rejected.
class Parser::DepthGuard {
public:
    explicit DepthGuard(Parser& parser) : parser_(parser) {
        if (++parser_.depth_ > kMaxDepth) {
            --parser_.depth_;
            parser_.fail(parser_.tok_, "declaration nested too deeply");
        }
    }
    ~DepthGuard() { --parser_.depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

private:
    Parser& parser_;
};

// A CDefError from the sink gets the position of `at` if it has none, and the text of its
// source line if it has only a position (taken from a TypeExpr or a Member).
template <class F>
auto Parser::ask_sink(const Token& at, F&& question) -> decltype(question()) {
    try {
        return question();
    } catch (const CDefError& e) {
        if (!e.source_line().empty()) throw;
        CDefError located = e.pos().line == 0
                                ? error_at(source_, offset_of(at), at.pos, e.message())
                                : error_at(source_, e.pos(), e.message());
        throw located.with_cffi_text_of(e);
    }
}

// Helpers shared by the declarator and constant-expression code (const_expr.cpp).
// The value and C type of an integer constant (C11 6.4.4.1), decoded and not too large.
ConstValue typed_int_literal(const IntLiteral& literal);
bool is_integer_primitive(std::string_view canonical_name);
// Whether an integer type known only by name is unsigned. An approximation (the sink
// knows the truth, but cannot be asked): uint*_t, u_char, size_t, char16_t, ... are.
bool named_type_is_unsigned(std::string_view name);

}  // namespace cffix::parse
