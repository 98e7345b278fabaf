// struct / union / enum specifiers and their bodies.
#include <algorithm>
#include <string>
#include <utility>

#include "parse/parser.h"

namespace cffix::parse {
namespace {

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
    // A type string (ffi.typeof, ffi.new...) declares nothing: it may hold an anonymous
    // struct or union body, as cffi.FFI allows (`ffi.sizeof("struct { int a; }")`), but
    // no tag and no enumerator. Elsewhere a type name (a cast, sizeof) defines nothing.
    bool anonymous_record = type->name.empty() && type->kind != TypeExprKind::Enum;
    if ((ctx == SpecifierContext::TypeName && !type_name_only_) ||
        (type_name_only_ && !anonymous_record)) {
        std::string what = type_name_only_ && type->kind == TypeExprKind::Enum
                               ? "an enum"
                               : std::string("a named ") + kind_word(type->kind);
        fail(tok_,
             type_name_only_
                 ? "cannot define " + what +
                       " in a type string: declare it with cdef() (an anonymous struct "
                       "or union may be defined here)"
                 : std::string("cannot define a ") + kind_word(type->kind) + " in a type name");
    }
    if (type->kind == TypeExprKind::Enum) {
        auto body = parse_enum_body();
        parse_attributes(attrs);
        body->packed = attrs.packed;  // as small as its values allow (types/scope.cpp)
        type->enum_body = std::move(body);
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
// unless given. `B = ...` leaves B's value (and the next ones', until one is given) to the
// C compiler, as a final `...` does: the enum is partial.
std::shared_ptr<EnumBody> Parser::parse_enum_body() {
    auto body = make_node<EnumBody>();
    advance();  // '{'
    ConstInt next = 0;
    bool unknown = false;  // `next` is a placeholder: the value is the compiler's
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
        if (accept(Tok::Assign)) {
            unknown = accept(Tok::Ellipsis);
            if (unknown)
                body->partial = true;
            else
                next = parse_constant_expression().value;
        }
        Enumerator enumerator;
        enumerator.name = std::string(name.text);
        enumerator.value = next;
        enumerator.pos = name.pos;
        body->values.push_back(std::move(enumerator));
        // Later enumerators and array sizes use it (not a value only the compiler knows).
        if (!unknown) pending_constants_.add(name.text, next);
        // Wrapping, not signed overflow (UB) after the largest 128-bit value: an enum
        // holding that value is refused anyway (its values must fit in 64 bits).
        next = static_cast<ConstInt>(static_cast<unsigned __int128>(next) + 1);
        if (!accept(Tok::Comma)) {
            expect(Tok::RBrace, "',' or '}' in the enum");
            return body;
        }
    }
}

}  // namespace cffix::parse
