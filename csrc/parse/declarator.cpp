// Declaration specifiers and declarators: `static const unsigned long *const x[4]`,
// abstract declarators (`int (*)(int)`), parameter lists, and the TypeExpr they build.
//
// A declarator is parsed into a list of derivations (pointer, array, function) in the
// order they apply to the base type, then folded into a TypeExpr chain. C reads
// declarators inside-out: in `int *(*fp)[3]` the outer '*' applies first, then the
// suffix `[3]`, then the parenthesised '*'; so each level contributes its pointers, then
// its suffixes right to left, then the derivations of the level nested in its parentheses.
#include <algorithm>
#include <array>
#include <cfloat>
#include <string>
#include <type_traits>
#include <utility>

#include "parse/expr.h"
#include "parse/parser.h"
#include "util/float128.h"

namespace cffix::parse {

static_assert(kTypeKeywordCount <= 16, "SpecifierState::keywords has a bit per type keyword");

// What the specifiers of one declaration said so far.
struct SpecifierState {
    Specifiers specs;
    uint16_t keywords = 0;                      // type keywords seen, a bit each
    uint8_t longs = 0;                          // the one keyword C allows twice
    std::array<std::string_view, 6> spelled{};  // type specifiers as written
    size_t spelled_count = 0;
    std::shared_ptr<TypeExpr> other;  // struct/union/enum, a type name or a `...` type
    Token type_token;                 // the first type specifier
    bool has_type = false;
    bool float_n = false;  // a _FloatN keyword stands for the float/double/long bits
    bool is_const = false;
    bool is_volatile = false;

    bool has(Tok kind) const { return (keywords & bit(kind)) != 0; }
    static uint16_t bit(Tok kind) {
        return static_cast<uint16_t>(1u
                                     << (static_cast<int>(kind) - static_cast<int>(Tok::KwVoid)));
    }
    void spell(std::string_view word) {
        if (spelled_count < spelled.size()) spelled[spelled_count++] = word;
    }
};

namespace {

const char* expectation(SpecifierContext ctx) {
    switch (ctx) {
        case SpecifierContext::Declaration: return "a declaration";
        case SpecifierContext::Member: return "a member declaration";
        case SpecifierContext::Parameter: return "a parameter type";
        default: return "a type name";
    }
}

const char* place(SpecifierContext ctx) {
    switch (ctx) {
        case SpecifierContext::Member: return "a struct or union member";
        case SpecifierContext::Parameter: return "a parameter";
        default: return "a type name";
    }
}

// The _FloatN types (ISO/IEC TS 18661-3) that glibc's headers use, e.g. <math.h>'s
// `__fpclassifyf128 (_Float128)`. Each is the standard floating type of the same format
// where this platform has one (the facts below are the compiler's, at build time):
//   _Float32  -> float         _Float64, _Float32x -> double
//   _Float64x -> long double   where long double is x87 extended (x86) or binary128
//   _Float128 -> long double   where long double is IEEE binary128 (AArch64, RISC-V...)
// Same size is not enough: on x86-64, _Float128 and long double are both 16 bytes, but
// one is binary128 passed in SSE registers and the other x87 extended passed in memory;
// there _Float128 is a primitive of its own (util/float128.h: size and alignment 16,
// values as cdata, never passed by value through libffi), and where the compiler has no
// such type at all, an opaque one (see Parser::opaque_float_type). _Float16 is rejected.
static_assert(FLT_MANT_DIG == 24 && DBL_MANT_DIG == 53,
              "float and double are IEEE binary32 and binary64");
constexpr bool kLongDoubleIsBinary128 = LDBL_MANT_DIG == 113 && LDBL_MAX_EXP == 16384;
constexpr bool kLongDoubleIsX87 = LDBL_MANT_DIG == 64 && LDBL_MAX_EXP == 16384;

struct FloatN {
    Tok keyword;   // KwFloat or KwDouble
    bool is_long;  // long double
    bool exists;   // false: no standard type has this format here
};

FloatN float_n_type(std::string_view name) {
    if (name == "_Float32") return {Tok::KwFloat, false, true};
    if (name == "_Float64" || name == "_Float32x") return {Tok::KwDouble, false, true};
    if (name == "_Float64x")
        return {Tok::KwDouble, true, kLongDoubleIsX87 || kLongDoubleIsBinary128};
    return {Tok::KwDouble, true, kLongDoubleIsBinary128};  // _Float128
}

// The canonical spelling of a combination of type keywords in any order (`long unsigned
// int` is "unsigned long"), "void" for void, nullptr when it is not a C type.
const char* canonical_primitive(const SpecifierState& st) {
    int longs = st.longs;
    bool is_unsigned = st.has(Tok::KwUnsigned);
    bool is_signed = st.has(Tok::KwSigned);
    if (is_signed && is_unsigned) return nullptr;
    if (st.has(Tok::KwVoid))
        return st.keywords == SpecifierState::bit(Tok::KwVoid) ? "void" : nullptr;
    if (st.has(Tok::KwBool))
        return st.keywords == SpecifierState::bit(Tok::KwBool) ? "_Bool" : nullptr;
    bool is_float = st.has(Tok::KwFloat);
    bool is_double = st.has(Tok::KwDouble);
    bool is_complex = st.has(Tok::KwComplex);
    if (is_float || is_double || is_complex) {
        if (is_signed || is_unsigned || st.has(Tok::KwChar) || st.has(Tok::KwShort) ||
            st.has(Tok::KwInt) || (is_float && is_double))
            return nullptr;
        if (is_float) return longs ? nullptr : is_complex ? "float _Complex" : "float";
        if (longs == 1 && !is_complex) return "long double";
        if (longs) return nullptr;
        return is_complex ? "double _Complex" : "double";  // `_Complex` alone is double
    }
    if (st.has(Tok::KwChar)) {
        if (st.has(Tok::KwShort) || longs || st.has(Tok::KwInt)) return nullptr;
        return is_unsigned ? "unsigned char" : is_signed ? "signed char" : "char";
    }
    bool is_short = st.has(Tok::KwShort);
    if (is_short && longs) return nullptr;
    static const char* const kNames[2][4] = {
        {"int", "short", "long", "long long"},
        {"unsigned int", "unsigned short", "unsigned long", "unsigned long long"}};
    return kNames[is_unsigned][is_short ? 1 : longs == 1 ? 2 : longs == 2 ? 3 : 0];
}

// A calling convention as a static string (the tree may outlive the source text).
std::string_view static_abi(std::string_view abi) {
    for (std::string_view known : {"__stdcall", "__cdecl", "__fastcall"})
        if (abi == known) return known;
    return {};
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Specifiers

Specifiers Parser::parse_specifiers(SpecifierContext ctx) {
    SpecifierState st;
    st.specs.first = tok_;
    while (parse_one_specifier(st, ctx)) {
    }
    if (!st.has_type) {
        bool nothing_yet = tok_.text.data() == st.specs.first.text.data();
        fail_expected(nothing_yet ? expectation(ctx) : "a type specifier");
    }
    st.specs.base = finish_base_type(st);
    return std::move(st.specs);
}

// Consumes one specifier (storage class, qualifier, type specifier, attribute); returns
// false at the first token that is none, which starts the declarator.
bool Parser::parse_one_specifier(SpecifierState& st, SpecifierContext ctx) {
    switch (tok_.kind) {
        case Tok::KwTypedef:
        case Tok::KwExtern:
        case Tok::KwStatic:
            if (ctx != SpecifierContext::Declaration)
                fail(tok_, "'" + std::string(tok_.text) + "' is not allowed in " + place(ctx));
            st.specs.is_typedef |= tok_.kind == Tok::KwTypedef;
            st.specs.is_static |= tok_.kind == Tok::KwStatic;
            advance();
            return true;
        case Tok::KwInline:
            st.specs.is_inline = true;
            advance();
            return true;
        case Tok::KwRegister:  // accepted; none of these changes the declared type
        case Tok::KwAuto:
        case Tok::KwNoreturn:
        case Tok::KwExtension:
        case Tok::KwRestrict:
        case Tok::KwNullability: advance(); return true;
        case Tok::KwConst:
            st.is_const = true;
            advance();
            return true;
        case Tok::KwVolatile:
            st.is_volatile = true;
            advance();
            return true;
        case Tok::KwAttribute:
        case Tok::KwDeclspec: parse_attributes(st.specs.attrs); return true;
        case Tok::LBracket:
            if (peek().kind != Tok::LBracket) return false;
            parse_standard_attributes(st.specs.attrs);
            return true;
        case Tok::KwCallConv:
            st.specs.attrs.abi = tok_.text;
            advance();
            return true;
        case Tok::KwStruct:
        case Tok::KwUnion:
        case Tok::KwEnum: {
            Token at = tok_;
            set_other_type(st, parse_tag_specifier(ctx), at);
            return true;
        }
        case Tok::Identifier: {
            // Once a type is known, an identifier is the declarator's name, even if it
            // is also a type name (`typedef int T; struct s { T T; };` is valid C).
            if (st.has_type) return false;
            Token at = tok_;
            set_other_type(st, parse_named_type(), at);
            return true;
        }
        case Tok::Ellipsis: return ctx == SpecifierContext::Declaration && parse_dots_type(st);
        case Tok::KwFloatN: add_float_n(st); return true;
        case Tok::KwUnsupported:
            if (tok_.text == "__int128" && add_int128(st)) return true;
            if (kDistinctFloat128 && tok_.text == "__float128") {
                Token at = tok_;
                advance();
                set_other_type(st, float128_type(at), at);
                return true;
            }
            if (add_typeof_type(st)) return true;
            fail(tok_, "'" + std::string(tok_.text) + "' is not supported");
        default:
            if (!is_type_keyword(tok_.kind)) return false;
            add_type_keyword(st);
            return true;
    }
}

void Parser::add_type_keyword(SpecifierState& st) {
    st.spell(tok_.text);
    if (st.other || (st.float_n && tok_.kind != Tok::KwComplex)) fail_combination(st, tok_);
    if (!st.has_type) st.type_token = tok_;
    st.has_type = true;
    uint16_t bit = SpecifierState::bit(tok_.kind);
    bool repeated = tok_.kind == Tok::KwLong ? ++st.longs > 2 : st.has(tok_.kind);
    st.keywords |= bit;
    if (repeated) fail_combination(st, tok_);
    advance();
}

// A _FloatN keyword: the float/double/long keywords of its standard type, which combine
// with _Complex only (`_Complex _Float64` is double _Complex).
void Parser::add_float_n(SpecifierState& st) {
    Token at = tok_;
    FloatN f = float_n_type(at.text);
    if (!f.exists) {
        if (st.has(Tok::KwComplex))
            fail(at, "'_Complex " + std::string(at.text) + "' is not supported");
        std::shared_ptr<TypeExpr> type =
            kDistinctFloat128 && at.text == "_Float128" ? float128_type(at) : opaque_float_type(at);
        advance();
        set_other_type(st, std::move(type), at);
        return;
    }
    st.spell(at.text);
    if (st.other || st.longs || (st.keywords & ~SpecifierState::bit(Tok::KwComplex)))
        fail_combination(st, at);
    if (!st.has_type) st.type_token = at;
    st.has_type = true;
    st.float_n = true;
    st.keywords |= SpecifierState::bit(f.keyword);
    st.longs = f.is_long ? 1 : 0;
    advance();
}

// _Float128 (and gcc's `__float128`, the same type) where it is a primitive of its own.
std::shared_ptr<TypeExpr> Parser::float128_type(const Token& keyword) {
    auto type = make_node<TypeExpr>();
    type->kind = TypeExprKind::Primitive;
    type->name = "_Float128";
    type->pos = keyword.pos;
    return type;
}

// A _FloatN type without a standard type of its format here (_Float128 where the compiler
// knows no binary128 type, or _Float64x where long double is only double). The
// first cdef that names it declares it as by `typedef ... _Float128;`: declarations that
// use it (glibc's <math.h> has a few) are accepted, and the type is opaque, so no value
// of it can be made or passed by mistake as some other format. A type string
// (ffi.typeof) cannot declare anything: there it is an error until a cdef declared it.
std::shared_ptr<TypeExpr> Parser::opaque_float_type(const Token& keyword) {
    std::string name(keyword.text);
    if (!is_type_name(name)) {
        if (type_name_only_) {
            fail(keyword, "'" + name +
                              "' is not supported on this platform: no standard floating type "
                              "has its format");
        }
        auto opaque = make_node<TypeExpr>();
        opaque->kind = TypeExprKind::DotsOpaque;
        opaque->pos = keyword.pos;
        Declaration decl;
        decl.kind = DeclKind::Typedef;
        decl.pos = keyword.pos;
        decl.name = name;
        decl.type = std::move(opaque);
        emit(std::move(decl), keyword);
    }
    auto type = make_node<TypeExpr>();
    type->kind = TypeExprKind::Named;
    type->name = keyword.text;
    type->pos = keyword.pos;
    return type;
}

// `__int128` / `unsigned __int128` in a cdef (glibc and library headers name them): the
// first one declares it as by `typedef struct { unsigned long long lo, hi; }
// __attribute__((aligned(16))) __int128;`, so that sizeof, alignof and the layout of the
// structs holding one are the compiler's (and x86-64 and AArch64 pass both in the same two
// registers); its value is that struct, not a Python int. False where it cannot be
// (another type keyword with it, or a type string before any cdef declared it).
bool Parser::add_int128(SpecifierState& st) {
    const uint16_t sign = SpecifierState::bit(Tok::KwSigned) | SpecifierState::bit(Tok::KwUnsigned);
    if ((st.keywords & ~sign) != 0 || st.other || st.keywords == sign) return false;
    Token at = tok_;
    std::string_view name = st.has(Tok::KwUnsigned) ? "unsigned __int128" : "__int128";
    if (!is_type_name(name)) {
        if (type_name_only_) return false;
        auto half = make_node<TypeExpr>();
        half->kind = TypeExprKind::Primitive;
        half->name = "unsigned long long";
        half->pos = at.pos;
        auto body = make_node<RecordBody>();
        for (std::string_view member : {std::string_view("lo"), std::string_view("hi")}) {
            Member m;
            m.name = member;
            m.type = half;
            m.pos = at.pos;
            body->members.push_back(std::move(m));
        }
        body->aligned = 16;
        auto record = make_node<TypeExpr>();
        record->kind = TypeExprKind::Struct;
        record->pos = at.pos;
        record->body = std::move(body);
        Declaration decl;
        decl.kind = DeclKind::Typedef;
        decl.pos = at.pos;
        decl.name = std::string(name);
        decl.type = std::move(record);
        decl.builtin = true;
        emit(std::move(decl), at);
    }
    auto type = make_node<TypeExpr>();
    type->kind = TypeExprKind::Named;
    type->name = name;
    type->pos = at.pos;
    st.keywords = 0;
    st.has_type = false;
    st.spelled_count = 0;
    advance();
    set_other_type(st, std::move(type), at);
    return true;
}

// `typeof(type-name)` (and __typeof, __typeof__) names that type, as gcc's headers use it;
// `typeof(expression)` the type of the expression, which the sink works out when it
// resolves the declaration (types/expr_type.cpp): the expression is parsed here, into a
// tree, by parse/expr.cpp's parser on this parser's tokens, which parses the type names
// in it (casts, sizeof) back here.
bool Parser::add_typeof_type(SpecifierState& st) {
    if (tok_.text != "typeof" && tok_.text != "__typeof" && tok_.text != "__typeof__") return false;
    Token at = tok_;
    Token open = peek();
    if (open.kind != Tok::LParen) return false;
    DepthGuard guard(*this);  // typeof(typeof(typeof(...))) nests through the specifiers
    advance();                // typeof
    if (peek().kind == Tok::RParen)
        fail(peek(), "a type name or an expression expected in '" + std::string(at.text) + "()'");
    if (starts_type_name(peek())) {
        advance();  // (
        TypeExprPtr named = parse_type_name_here();
        expect(Tok::RParen, "')' closing '" + std::string(at.text) + "('");
        set_other_type(st, std::make_shared<TypeExpr>(*named), at);
        return true;
    }
    advance();  // (
    struct Reader : TypeNameReader {
        explicit Reader(Parser& p) : parser(p) {}
        bool starts_type_name(const Token& t) override { return parser.starts_type_name(t); }
        TypeExprPtr read_type_name() override { return parser.parse_type_name_here(); }
        Parser& parser;
    } reader(*this);
    ExprPtr operand = parse_typeof_operand(source_, lex_, tok_, reader, depth_, kMaxDepth);
    expect(Tok::RParen, "')' closing '" + std::string(at.text) + "('");
    auto type = make_node<TypeExpr>();
    type->kind = TypeExprKind::Typeof;
    type->pos = at.pos;
    type->operand = std::shared_ptr<const Expr>(std::move(operand));
    set_other_type(st, std::move(type), at);
    return true;
}

void Parser::set_other_type(SpecifierState& st, std::shared_ptr<TypeExpr> type, const Token& at) {
    st.spell(at.text);
    if (st.has_type) fail_combination(st, at);
    st.other = std::move(type);
    st.type_token = at;
    st.has_type = true;
}

void Parser::fail_combination(const SpecifierState& st, const Token& at) {
    std::string words;
    for (size_t i = 0; i < st.spelled_count; ++i) {
        if (i) words += ' ';
        words += st.spelled[i];
    }
    fail(at, "invalid combination of type specifiers '" + words + "'");
}

std::shared_ptr<TypeExpr> Parser::parse_named_type() {
    Token name = tok_;
    // __builtin_va_list is gcc's own type name: always a type, the sink decides its meaning.
    if (name.text != "__builtin_va_list" && !is_type_name(name.text)) fail_unknown_type(name);
    auto type = make_node<TypeExpr>();
    type->kind = TypeExprKind::Named;
    type->name = name.text;
    type->pos = name.pos;
    advance();
    return type;
}

// `typedef int... t;`, `typedef double... t;`, `typedef ... t;`: types whose details the
// C compiler supplies in API mode.
bool Parser::parse_dots_type(SpecifierState& st) {
    TypeExprKind kind = TypeExprKind::DotsOpaque;
    if (st.has_type) {
        if (st.other) return false;
        const char* name = canonical_primitive(st);
        if (name == nullptr) fail_combination(st, st.type_token);
        std::string_view n = name;
        if (n == "float" || n == "double") {
            kind = TypeExprKind::DotsFloat;
        } else if (is_integer_primitive(n)) {
            kind = TypeExprKind::DotsInteger;
        } else {
            return false;
        }
        st.keywords = 0;
        st.longs = 0;
    } else {
        st.type_token = tok_;
        st.has_type = true;
    }
    auto type = make_node<TypeExpr>();
    type->kind = kind;
    type->pos = st.type_token.pos;
    st.other = std::move(type);
    st.spell("...");
    advance();
    return true;
}

std::shared_ptr<TypeExpr> Parser::finish_base_type(SpecifierState& st) {
    std::shared_ptr<TypeExpr> type = std::move(st.other);
    if (!type) {
        if (st.longs && st.has(Tok::KwDouble) && st.has(Tok::KwComplex))
            fail(st.type_token, "'long double _Complex' is not supported");
        const char* name = canonical_primitive(st);
        if (name == nullptr) fail_combination(st, st.type_token);
        type = make_node<TypeExpr>();
        type->pos = st.type_token.pos;
        if (std::string_view(name) == "void") {
            type->kind = TypeExprKind::Void;
        } else {
            type->kind = TypeExprKind::Primitive;
            type->name = name;
        }
    }
    type->is_const = st.is_const;
    type->is_volatile = st.is_volatile;
    return type;
}

// ---------------------------------------------------------------------------------------
// Declarators

Declarator Parser::parse_declarator(DeclaratorContext ctx, std::string_view abi) {
    Declarator d;
    parse_declarator_level(d, ctx, abi, true);
    return d;
}

// One level of a declarator: pointers, then a name or a parenthesised declarator, then
// array and function suffixes. A calling convention applies to the first function suffix
// of its level: the one written among the specifiers or this level's pointers when `top`,
// the one written inside a nested level's parentheses otherwise (`void (__stdcall *f)(int)`);
// so a non-top level returns the one written among its own pointers to its parent.
std::string_view Parser::parse_declarator_level(Declarator& d, DeclaratorContext ctx,
                                                std::string_view abi, bool top) {
    DepthGuard guard(*this);
    std::string_view own_abi = parse_pointers(d);
    if (top && !own_abi.empty()) abi = own_abi;
    Declarator inner;
    if (tok_.kind == Tok::Identifier && ctx != DeclaratorContext::Abstract) {
        d.name = tok_;
        advance();
    } else if (tok_.kind == Tok::LParen && starts_grouping(ctx)) {
        advance();
        std::string_view inner_abi = parse_declarator_level(inner, ctx, {}, false);
        expect(Tok::RParen, "')'");
        if (!inner_abi.empty()) abi = inner_abi;
        d.name = inner.name;
    } else if (ctx == DeclaratorContext::Named) {
        fail_expected("an identifier");
    }
    size_t first_suffix = d.ops.size();
    for (;;) {
        if (tok_.kind == Tok::LBracket) {
            push_op(d, parse_array_suffix());
        } else if (tok_.kind == Tok::LParen) {
            DeclaratorOp op = parse_parameter_list(d.name.text);
            op.abi = std::exchange(abi, {});
            push_op(d, std::move(op));
        } else {
            break;
        }
    }
    std::reverse(d.ops.begin() + static_cast<std::ptrdiff_t>(first_suffix), d.ops.end());
    for (DeclaratorOp& op : inner.ops) push_op(d, std::move(op));
    return top ? std::string_view() : own_abi;
}

// `* const * volatile __restrict`: one Pointer op per '*', qualifiers on the '*' they
// follow. Returns a calling convention written among them, if any.
std::string_view Parser::parse_pointers(Declarator& d) {
    std::string_view abi;
    size_t first = d.ops.size();
    for (;;) {
        switch (tok_.kind) {
            case Tok::Star: {
                DeclaratorOp op;
                op.kind = TypeExprKind::Pointer;
                op.pos = tok_.pos;
                push_op(d, std::move(op));
                advance();
                break;
            }
            case Tok::KwConst:
            case Tok::KwVolatile:
                if (d.ops.size() > first) {
                    (tok_.kind == Tok::KwConst ? d.ops.back().is_const : d.ops.back().is_volatile) =
                        true;
                }
                advance();
                break;
            case Tok::KwRestrict:
            case Tok::KwNullability: advance(); break;
            case Tok::KwCallConv:
                abi = tok_.text;
                advance();
                break;
            case Tok::Identifier:
                if (!at_winapi()) return abi;
                abi = "__stdcall";
                advance();
                break;
            case Tok::KwAttribute:
            case Tok::KwDeclspec: {
                Attributes attrs;  // on a pointer: only a calling convention matters
                parse_attributes(attrs);
                if (!attrs.abi.empty()) abi = attrs.abi;
                break;
            }
            default: return abi;
        }
    }
}

// Windows' WINAPI macro, left unexpanded in code written for cffi (which reads it as
// __stdcall on every platform): a calling convention where a declarator continues after
// it (`int WINAPI f(int)`, `int (WINAPI *fp)(int)`), unless a cdef declared it as a type.
// `int WINAPI;` and `int WINAPI(int);` still declare something named WINAPI, as in C.
bool Parser::at_winapi() {
    if (tok_.text != "WINAPI") return false;
    Tok next = peek().kind;
    if (next != Tok::Star && next != Tok::Identifier && next != Tok::KwCallConv &&
        next != Tok::KwAttribute)
        return false;
    return !is_type_name(tok_.text);
}

// At '(' after the pointers: a parenthesised declarator, or the parameter list of an
// abstract function declarator (`int (*)(int)` versus `int (int)`)? C decides by the
// next token: a parameter list starts with a type, `)` or `...`.
bool Parser::starts_grouping(DeclaratorContext ctx) {
    if (ctx == DeclaratorContext::Named) return true;
    Token next = peek_past_attributes();
    switch (next.kind) {
        case Tok::Star:
        case Tok::LParen:
        case Tok::LBracket:
        case Tok::KwCallConv:
        case Tok::Caret: return true;
        case Tok::Identifier:
            // `void f(int (x))` names its parameter x, unless x is a type name;
            // `int (WINAPI *)(int)` is a grouping with a calling convention.
            if (next.text == "WINAPI") return !is_type_name(next.text);
            return ctx == DeclaratorContext::Optional && next.text != "__builtin_va_list" &&
                   !is_type_name(next.text);
        default: return false;
    }
}

void Parser::push_op(Declarator& d, DeclaratorOp&& op) {
    if (d.ops.size() >= static_cast<size_t>(kMaxDepth)) fail(tok_, "declaration nested too deeply");
    d.ops.push_back(std::move(op));
}

// `[N]`, `[]`, `[...]`; C99's `[static N]` / `[const]` in parameters are accepted.
DeclaratorOp Parser::parse_array_suffix() {
    DeclaratorOp op;
    op.kind = TypeExprKind::Array;
    op.pos = tok_.pos;
    advance();  // '['
    while (tok_.kind == Tok::KwStatic || tok_.kind == Tok::KwConst ||
           tok_.kind == Tok::KwVolatile || tok_.kind == Tok::KwRestrict)
        advance();
    if (accept(Tok::RBracket)) {
        op.array_kind = ArrayKind::Unknown;
        return op;
    }
    if (accept(Tok::Ellipsis)) {
        op.array_kind = ArrayKind::Dots;
        expect(Tok::RBracket, "']' after '...'");
        return op;
    }
    if (tok_.kind == Tok::Star && peek().kind == Tok::RBracket)
        fail(tok_, "variable-length arrays are not supported");
    Token at = tok_;
    op.array_length = array_length_value(at, parse_constant_expression());
    expect(Tok::RBracket, "']'");
    return op;
}

// `(int, char *)`, `(void)`, `()`, `(const char *fmt, ...)`. An empty list is taken as
// `(void)`, as cffi does.
DeclaratorOp Parser::parse_parameter_list(std::string_view owner) {
    DepthGuard guard(*this);
    struct Restore {  // the enclosing list's owner and index, on every way out
        Parser& parser;
        std::string_view owner;
        int index;
        ~Restore() {
            parser.param_owner_ = owner;
            parser.param_index_ = index;
        }
    } restore{*this, std::exchange(param_owner_, owner), param_index_};
    DeclaratorOp op;
    op.kind = TypeExprKind::Function;
    op.pos = tok_.pos;
    advance();  // '('
    if (accept(Tok::RParen)) return op;
    if (tok_.kind == Tok::KwVoid && peek().kind == Tok::RParen) {
        advance();
        advance();
        return op;
    }
    for (;;) {
        if (accept(Tok::Ellipsis)) {
            op.ellipsis = true;
            expect(Tok::RParen, "')' after '...'");
            return op;
        }
        if (op.params.empty()) op.params.reserve(4);  // one allocation for most functions
        param_index_ = static_cast<int>(op.params.size()) + 1;
        op.params.push_back(parse_parameter());
        param_owner_ = owner;  // a nested list may have changed them
        param_index_ = 0;
        if (accept(Tok::Comma)) continue;
        expect(Tok::RParen, "',' or ')' in the parameter list");
        return op;
    }
}

Param Parser::parse_parameter() {
    Specifiers specs = parse_specifiers(SpecifierContext::Parameter);
    Declarator d = parse_declarator(DeclaratorContext::Optional, specs.attrs.abi);
    parse_declarator_tail(d);
    Param param;
    if (d.has_name()) param.name = d.name.text;
    param.attributes = std::move(specs.attrs.cffix);
    param.type = build_type(declared_base(specs, d.attrs), d);
    return param;
}

// What may follow a declarator: __asm__("label") and attributes, in any order.
void Parser::parse_declarator_tail(Declarator& d) {
    for (;;) {
        if (tok_.kind == Tok::KwAsm) {
            parse_asm_label(d.asm_name);
        } else if (tok_.kind == Tok::KwAttribute || tok_.kind == Tok::KwDeclspec) {
            parse_attributes(d.attrs);
        } else {
            return;
        }
    }
}

// The specifiers' type, or the sized integer type that a mode(...) attribute asks for
// instead (`typedef int int64 __attribute__((mode(DI)));` is an int64_t).
TypeExprPtr Parser::declared_base(const Specifiers& specs, const Attributes& attrs) {
    int bits = attrs.mode_bits ? attrs.mode_bits : specs.attrs.mode_bits;
    if (bits == 0) return specs.base;
    const TypeExpr& base = *specs.base;
    bool is_unsigned;
    if (base.kind == TypeExprKind::Primitive && is_integer_primitive(base.name)) {
        is_unsigned =
            base.name.starts_with("unsigned") || (base.name == "char" && !std::is_signed_v<char>);
    } else if (base.kind == TypeExprKind::Named) {
        is_unsigned = named_type_is_unsigned(base.name);
    } else if (base.kind == TypeExprKind::Enum || base.kind == TypeExprKind::DotsInteger) {
        is_unsigned = false;
    } else {
        fail(specs.first, "the mode attribute applies to integer types only");
    }
    auto type = make_node<TypeExpr>();
    type->kind = TypeExprKind::Named;
    // mode_bits() gives 8, 16, 32 or 64.
    static constexpr std::string_view kSized[2][4] = {
        {"int8_t", "int16_t", "int32_t", "int64_t"},
        {"uint8_t", "uint16_t", "uint32_t", "uint64_t"}};
    type->name = kSized[is_unsigned][bits == 8 ? 0 : bits == 16 ? 1 : bits == 32 ? 2 : 3];
    type->pos = base.pos;
    type->is_const = base.is_const;
    type->is_volatile = base.is_volatile;
    return type;
}

TypeExprPtr Parser::build_type(TypeExprPtr base, Declarator& d) {
    TypeExprPtr type = std::move(base);
    for (DeclaratorOp& op : d.ops) {
        auto t = make_node<TypeExpr>();
        t->kind = op.kind;
        t->pos = op.pos;
        t->is_const = op.is_const;
        t->is_volatile = op.is_volatile;
        t->item = std::move(type);
        t->array_kind = op.array_kind;
        t->array_length = op.array_length;
        t->params = std::move(op.params);
        t->ellipsis = op.ellipsis;
        t->abi = static_abi(op.abi);
        type = std::move(t);
    }
    return type;
}

// ---------------------------------------------------------------------------------------
// Type names (ffi.typeof strings, sizeof, casts)

TypeExprPtr Parser::parse_type_name_here(DeclaratorContext ctx) {
    Specifiers specs = parse_specifiers(SpecifierContext::TypeName);
    Declarator d = parse_declarator(ctx, specs.attrs.abi);
    return build_type(declared_base(specs, d.attrs), d);
}

// Whether `t`, after a '(' in an expression, starts a type name (a cast or sizeof(type)).
bool Parser::starts_type_name(const Token& t) {
    if (is_type_keyword(t.kind)) return true;
    switch (t.kind) {
        case Tok::KwStruct:
        case Tok::KwUnion:
        case Tok::KwEnum:
        case Tok::KwConst:
        case Tok::KwVolatile:
        case Tok::KwRestrict:
        case Tok::KwNullability:
        case Tok::KwFloatN:
        case Tok::KwUnsupported:  // so that `(__int128)x` says what is unsupported
            return true;
        case Tok::Identifier: return t.text == "__builtin_va_list" || is_type_name(t.text);
        default: return false;
    }
}

}  // namespace cffix::parse
