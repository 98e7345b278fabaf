// struct / union / enum specifiers and their bodies, GNU __attribute__((...)) and
// __asm__("label").
#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>

#include "parse/parser.h"

namespace cffix::parse {
namespace {

// `__attribute__((aligned))` without a value: the target's largest alignment (16 on
// x86-64 and AArch64).
constexpr uint32_t kBiggestAlignment = alignof(std::max_align_t);

// gcc accepts every attribute name also as `__name__`.
std::string_view attribute_name(std::string_view name) {
    if (name.size() > 4 && name.starts_with("__") && name.ends_with("__"))
        return name.substr(2, name.size() - 4);
    return name;
}

const char* kind_word(TypeExprKind kind) {
    return kind == TypeExprKind::Struct ? "struct" : kind == TypeExprKind::Union ? "union" : "enum";
}

}  // namespace

// `struct [attrs] [tag] [{ members } [attrs]]`, likewise union and enum.
std::shared_ptr<TypeExpr> Parser::parse_tag_specifier(SpecifierContext ctx) {
    Token keyword = tok_;
    auto type = make_node<TypeExpr>();
    type->kind = keyword.kind == Tok::KwStruct  ? TypeExprKind::Struct
                 : keyword.kind == Tok::KwUnion ? TypeExprKind::Union
                                                : TypeExprKind::Enum;
    type->pos = keyword.pos;
    advance();
    Attributes attrs;
    parse_attributes(attrs);  // `struct __attribute__((packed)) foo {...}`
    if (tok_.kind == Tok::Identifier) {
        type->name = tok_.text;
        advance();
        parse_attributes(attrs);
    } else if (tok_.kind != Tok::LBrace) {
        fail_expected("a tag name or '{' after '" + std::string(keyword.text) + "'");
    }
    if (tok_.kind != Tok::LBrace) return type;
    if (ctx == SpecifierContext::TypeName)
        fail(tok_, std::string("cannot define a ") + kind_word(type->kind) + " in a type name");
    if (type->kind == TypeExprKind::Enum) {
        type->enum_body = parse_enum_body();
        parse_attributes(attrs);
        // A packed enum is as small as its values allow: ignoring that would be a wrong size.
        if (attrs.packed) fail(keyword, "packed enums are not supported");
        return type;
    }
    std::shared_ptr<RecordBody> body = parse_record_body();
    parse_attributes(attrs);  // `struct {...} __attribute__((packed))` applies to the record
    body->packed = attrs.packed;
    body->aligned = attrs.aligned;
    type->body = std::move(body);
    return type;
}

std::shared_ptr<RecordBody> Parser::parse_record_body() {
    DepthGuard guard(*this);
    auto body = make_node<RecordBody>();
    body->members.reserve(8);  // one allocation for most structs
    advance();                 // '{'
    for (;;) {
        switch (tok_.kind) {
            case Tok::RBrace: advance(); return body;
            case Tok::End: fail_expected("'}'");
            case Tok::Semicolon:  // gcc accepts stray ';' in a struct
            case Tok::KwExtension: advance(); break;
            case Tok::Ellipsis:  // `...;`: more members the C compiler knows about
                body->partial = true;
                advance();
                expect(Tok::Semicolon, "';' after '...'");
                break;
            case Tok::KwStaticAssert: parse_static_assert(); break;
            default: parse_member_declaration(*body);
        }
    }
}

// `int a, *b, c[3];`, `int x : 3, : 0;`, `struct { int y; };` (anonymous member)...
void Parser::parse_member_declaration(RecordBody& body) {
    Specifiers specs = parse_specifiers(SpecifierContext::Member);
    if (tok_.kind == Tok::Semicolon) {
        const TypeExpr& type = *specs.base;
        bool is_record = type.kind == TypeExprKind::Struct || type.kind == TypeExprKind::Union;
        if (is_record && type.name.empty() && type.body) {
            add_member(body, specs, Declarator(), -1, specs.first);
        } else {
            // `struct inner {...};` or `enum {A, B};` inside a struct declares the tag (or
            // the constants) in the enclosing scope: C has no nested scopes for tags.
            declare_tag_only(specs);
        }
        advance();
        return;
    }
    for (;;) {
        Token at = tok_;
        Declarator d;
        if (tok_.kind != Tok::Colon) {
            d = parse_declarator(DeclaratorContext::Named, specs.attrs.abi);
            parse_declarator_tail(d);
        }
        int bitsize = -1;
        if (accept(Tok::Colon)) {
            bitsize = parse_bitfield_width(d);
            parse_declarator_tail(d);
        }
        add_member(body, specs, std::move(d), bitsize, at);
        if (!accept(Tok::Comma)) break;
    }
    expect(Tok::Semicolon, "';' after the member declaration");
}

// The N of `int x : N;` (layout checks it against the type's width).
int Parser::parse_bitfield_width(const Declarator& d) {
    Token at = tok_;
    ConstInt width = parse_constant_expression().value;
    if (width >= 0 && width <= 65535) return static_cast<int>(width);
    std::string message =
        width < 0 ? "negative width in bit-field " : "width too large in bit-field ";
    if (d.has_name()) {
        message += '\'';
        message += d.name.text;
        message += '\'';
    } else {
        message += "(unnamed)";
    }
    fail(at, std::move(message));
}

void Parser::add_member(RecordBody& body, const Specifiers& specs, Declarator&& d, int bitsize,
                        const Token& at) {
    Member member;
    if (d.has_name()) member.name = d.name.text;
    member.pos = d.has_name() ? d.name.pos : at.pos;
    member.bitsize = bitsize;
    member.packed = specs.attrs.packed || d.attrs.packed;
    member.aligned = std::max(specs.attrs.aligned, d.attrs.aligned);
    member.type = build_type(declared_base(specs, d.attrs), d);
    body.members.push_back(std::move(member));
}

// `{ A, B = 5, C = B << 2, ... }`: values are computed here, each one the previous + 1
// unless given.
std::shared_ptr<EnumBody> Parser::parse_enum_body() {
    auto body = make_node<EnumBody>();
    advance();  // '{'
    ConstInt next = 0;
    for (;;) {
        if (accept(Tok::Ellipsis)) {
            body->partial = true;
            expect(Tok::RBrace, "'}' after '...' in the enum");
            return body;
        }
        if (tok_.kind == Tok::RBrace) {
            if (body->values.empty())
                fail(tok_, "empty enum: list at least one enumerator, or '...'");
            advance();
            return body;
        }
        if (tok_.kind != Tok::Identifier) fail_expected("an enumerator name");
        Token name = tok_;
        advance();
        Attributes ignored;
        parse_attributes(ignored);  // `A __attribute__((deprecated)) = 1`
        if (accept(Tok::Assign)) next = parse_constant_expression().value;
        Enumerator enumerator;
        enumerator.name = std::string(name.text);
        enumerator.value = next;
        enumerator.pos = name.pos;
        body->values.push_back(std::move(enumerator));
        pending_constants_.add(name.text, next);  // later enumerators and array sizes use it
        // Wrapping, not signed overflow (UB) after the largest 128-bit value: an enum
        // holding that value is refused anyway (its values must fit in 64 bits).
        next = static_cast<ConstInt>(static_cast<unsigned __int128>(next) + 1);
        if (!accept(Tok::Comma)) {
            expect(Tok::RBrace, "',' or '}' in the enum");
            return body;
        }
    }
}

// Any number of `__attribute__((a, b(x), ...))` and `__declspec(...)`; the ones that
// matter are recorded in `attrs`, the others skipped. No-op if none is there.
void Parser::parse_attributes(Attributes& attrs) {
    for (;;) {
        if (tok_.kind == Tok::KwDeclspec) {
            advance();
            if (tok_.kind != Tok::LParen) fail_expected("'(' after '__declspec'");
            skip_balanced_parens();
            continue;
        }
        if (tok_.kind != Tok::KwAttribute) return;
        advance();
        expect(Tok::LParen, "'((' after '__attribute__'");
        expect(Tok::LParen, "'((' after '__attribute__'");
        while (tok_.kind != Tok::RParen) {
            if (accept(Tok::Comma)) continue;
            if (!is_word(tok_.kind)) fail_expected("an attribute name");
            parse_attribute(attrs);
        }
        advance();
        expect(Tok::RParen, "'))' closing '__attribute__'");
    }
}

void Parser::parse_attribute(Attributes& attrs) {
    Token name_token = tok_;
    std::string_view name = attribute_name(tok_.text);
    advance();
    if (name == "packed") {
        attrs.packed = true;
    } else if (name == "aligned") {
        attrs.aligned = std::max(attrs.aligned, parse_aligned_argument());
        return;
    } else if (name == "mode") {
        expect(Tok::LParen, "'(' after 'mode'");
        if (!is_word(tok_.kind)) fail_expected("a machine mode such as DI");
        attrs.mode_bits = mode_bits(tok_);
        advance();
        expect(Tok::RParen, "')'");
        return;
    } else if (name == "vector_size" || name == "ext_vector_type") {
        // Ignoring it would silently turn a SIMD vector type into its element type.
        fail(name_token,
             "vector types (__attribute__((" + std::string(name) + "))) are not supported");
    } else if (name == "stdcall" || name == "cdecl" || name == "fastcall") {
        attrs.abi = name == "stdcall" ? "__stdcall" : name == "cdecl" ? "__cdecl" : "__fastcall";
    }
    if (tok_.kind == Tok::LParen) skip_balanced_parens();  // arguments we don't interpret
}

// `aligned(N)` or bare `aligned` (the target's largest alignment).
uint32_t Parser::parse_aligned_argument() {
    if (!accept(Tok::LParen)) return kBiggestAlignment;
    Token at = tok_;
    ConstInt n = parse_constant_expression().value;
    if (n <= 0 || n > (ConstInt(1) << 28) || (n & (n - 1)) != 0)
        fail(at, "requested alignment is not a positive power of 2");
    expect(Tok::RParen, "')'");
    return static_cast<uint32_t>(n);
}

// The width of the integer machine mode named by `mode` (gcc's QI, HI, SI, DI, word...).
int Parser::mode_bits(const Token& mode) {
    std::string_view name = attribute_name(mode.text);
    if (name == "QI" || name == "byte") return 8;
    if (name == "HI") return 16;
    if (name == "SI") return 32;
    if (name == "DI") return 64;
    if (name == "word" || name == "pointer" || name == "unwind_word")
        return static_cast<int>(sizeof(void*) * 8);
    if (name == "TI") fail(mode, "mode(TI): 128-bit integers are not supported");
    fail(mode, "unsupported mode '" + std::string(mode.text) +
                   "': only the integer modes QI, HI, SI, DI, word and pointer are supported");
}

// At '(': skips to just past the matching ')'.
void Parser::skip_balanced_parens() {
    int depth = 0;
    do {
        if (tok_.kind == Tok::End) fail_expected("')'");
        if (tok_.kind == Tok::LParen) ++depth;
        if (tok_.kind == Tok::RParen) --depth;
        advance();
    } while (depth > 0);
}

// `__asm__("symbol")` after a declarator: the name the symbol has in the library.
void Parser::parse_asm_label(std::string& out) {
    advance();  // __asm__
    expect(Tok::LParen, "'(' after '__asm__'");
    if (tok_.kind != Tok::StringLiteral) fail_expected("a string literal naming the symbol");
    out = parse_string_literals();
    expect(Tok::RParen, "')' closing '__asm__'");
}

}  // namespace cffix::parse
