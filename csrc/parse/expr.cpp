// Parsing C expressions into trees (see expr.h): recursive descent over the cdef lexer,
// precedence climbing for the binary operators, as const_expr.cpp does for the constant
// expressions it evaluates.
#include "parse/expr.h"

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <type_traits>

namespace cffix::parse {
namespace {

constexpr int kMaxExprDepth = 100;

// The C type of a character constant: int for a plain one (C, unlike C++), the type of
// wchar_t, char16_t, char32_t or unsigned char (u8, C23) for the prefixed ones.
std::string_view char_literal_type(std::string_view text) {
    if (text.starts_with("u8")) return "unsigned char";
    switch (text[0]) {
        case 'L':
            if (sizeof(wchar_t) == 2) return "unsigned short";
            return std::is_signed_v<wchar_t> ? "int" : "unsigned int";
        case 'u': return "unsigned short";
        case 'U': return "unsigned int";
        default: return "int";
    }
}

class ExprParser {
public:
    // A policy expression (types == nullptr) or a typeof operand; `lex` and `tok` may be
    // a declaration parser's.
    ExprParser(std::string_view source, Lexer& lex, Token& tok, TypeNameReader* types, int& depth,
               int max_depth)
        : source_(source),
          lex_(lex),
          tok_(tok),
          types_(types),
          depth_(depth),
          max_depth_(max_depth) {}

    ExprPtr parse_whole() {
        advance();
        if (tok_.kind == Tok::End) throw_at(source_, tok_, "empty expression");
        ExprPtr e = conditional();
        if (tok_.kind != Tok::End)
            fail("expected an operator or the end of the expression, found " +
                 describe_token(tok_));
        return e;
    }

    // expression: assignment-expression (',' assignment-expression)*; no assignment.
    ExprPtr comma_expression() {
        Depth depth(*this);
        ExprPtr lhs = conditional();
        int links = 0;
        while (tok_.kind == Tok::Comma) {
            count_link(links);
            Token op = tok_;
            advance();
            ExprPtr e = node(ExprKind::Binary, op);
            e->operands.push_back(std::move(lhs));
            e->operands.push_back(conditional());
            lhs = std::move(e);
        }
        return lhs;
    }

private:
    bool typeof_grammar() const { return types_ != nullptr; }
    void advance() {
        tok_ = lex_.next();
        if ((tok_.kind >= Tok::Define && tok_.kind <= Tok::Undef) || tok_.kind == Tok::DirectiveEnd)
            fail("preprocessor directives are not allowed in an expression");
    }
    Token peek() const {
        Lexer copy = lex_;
        return copy.next();
    }
    [[noreturn]] void fail(std::string message) const {
        throw_at(source_, tok_, std::move(message));
    }
    void expect(Tok kind, const char* what) {
        if (tok_.kind != kind)
            fail(std::string("expected ") + what + ", found " + describe_token(tok_));
        advance();
    }
    ExprPtr node(ExprKind kind, const Token& at) {
        auto e = std::make_unique<Expr>();
        e->kind = kind;
        e->pos = at.pos;
        e->offset = static_cast<size_t>(at.text.data() - source_.data());
        e->op = at.kind;
        return e;
    }
    // A left-nested chain (`a + b + c`, `a[1][2]`, `a, b, c`) is built by a loop, yet its
    // tree is as deep as it is long (and freed recursively): each link counts as a level.
    void count_link(int& links) const {
        if (depth_ + ++links > max_depth_) fail("expression nested too deeply");
    }
    // The node of a postfix operator of typeof operands only (refused with `refused` in a
    // policy), which it consumes: one more link of a chain.
    ExprPtr typeof_postfix(ExprKind kind, const char* refused, int& links) {
        if (!typeof_grammar()) fail(refused);
        count_link(links);
        ExprPtr e = node(kind, tok_);
        advance();
        return e;
    }
    struct Depth {
        explicit Depth(ExprParser& p) : p_(p) {
            if (++p_.depth_ > p_.max_depth_) {
                --p_.depth_;
                p_.fail("expression nested too deeply");
            }
        }
        ~Depth() { --p_.depth_; }
        ExprParser& p_;
    };

    ExprPtr conditional() {
        Depth depth(*this);
        ExprPtr condition = binary(1);
        if (tok_.kind != Tok::Question) return condition;
        Token at = tok_;
        advance();
        ExprPtr e = node(ExprKind::Conditional, at);
        ExprPtr first = typeof_grammar() ? comma_expression() : conditional();
        expect(Tok::Colon, "':' in the conditional expression");
        ExprPtr second = conditional();
        e->operands.push_back(std::move(condition));
        e->operands.push_back(std::move(first));
        e->operands.push_back(std::move(second));
        return e;
    }

    ExprPtr binary(int min_precedence) {
        ExprPtr lhs = unary();
        for (int links = 0;;) {
            int precedence = binary_precedence(tok_.kind);
            if (precedence == 0 || precedence < min_precedence) return lhs;
            count_link(links);
            Token op = tok_;
            advance();
            ExprPtr rhs = binary(precedence + 1);
            ExprPtr e = node(ExprKind::Binary, op);
            e->operands.push_back(std::move(lhs));
            e->operands.push_back(std::move(rhs));
            lhs = std::move(e);
        }
    }

    ExprPtr unary() {
        while (typeof_grammar() && tok_.kind == Tok::KwExtension) advance();
        switch (tok_.kind) {
            case Tok::Amp:
                if (!typeof_grammar()) fail("'&' (address of) is not allowed in this expression");
                [[fallthrough]];
            case Tok::Minus:
            case Tok::Plus:
            case Tok::Tilde:
            case Tok::Bang:
            case Tok::Star: {
                Depth depth(*this);
                Token op = tok_;
                advance();
                ExprPtr e = node(ExprKind::Unary, op);
                e->operands.push_back(unary());
                return e;
            }
            case Tok::KwSizeof: return typeof_grammar() ? size_or_alignment() : sizeof_type();
            case Tok::KwAlignof:
                if (typeof_grammar()) return size_or_alignment();
                return postfix();
            case Tok::LParen:
                if (typeof_grammar() && types_->starts_type_name(peek())) return cast();
                return postfix();
            case Tok::PlusPlus:
            case Tok::MinusMinus:
                fail(describe_token(tok_) +
                     " is not allowed: an expression "
                     "has no side effect");
            default: return postfix();
        }
    }

    // `sizeof(type)`: the text between the parentheses, resolved as a type name later.
    ExprPtr sizeof_type() {
        Token at = tok_;
        advance();
        if (tok_.kind != Tok::LParen) fail("expected '(' and a type name after 'sizeof'");
        size_t begin = static_cast<size_t>(tok_.text.data() - source_.data()) + 1;
        int open = 0;
        for (;;) {
            if (tok_.kind == Tok::LParen) ++open;
            if (tok_.kind == Tok::RParen && --open == 0) break;
            if (tok_.kind == Tok::End) fail("expected ')' after the type name");
            advance();
        }
        size_t end = static_cast<size_t>(tok_.text.data() - source_.data());
        advance();
        ExprPtr e = node(ExprKind::Sizeof, at);
        e->text = std::string(source_.substr(begin, end - begin));
        return e;
    }

    // typeof operands: `sizeof(type)`, `sizeof expr`, `_Alignof(type)`, `_Alignof expr`
    // (gcc's __alignof__ of an expression).
    ExprPtr size_or_alignment() {
        Depth depth(*this);
        Token at = tok_;
        advance();
        ExprPtr e = node(ExprKind::Sizeof, at);
        if (tok_.kind == Tok::LParen && types_->starts_type_name(peek())) {
            advance();
            e->type = types_->read_type_name();
            expect(Tok::RParen, "')' after the type name");
            if (tok_.kind == Tok::LBrace) fail("compound literals are not supported in typeof");
        } else {
            e->operands.push_back(unary());
        }
        return e;
    }

    // `(type) operand`
    ExprPtr cast() {
        Depth depth(*this);
        Token at = tok_;
        advance();  // '('
        ExprPtr e = node(ExprKind::Cast, at);
        e->type = types_->read_type_name();
        expect(Tok::RParen, "')' after the type name of the cast");
        if (tok_.kind == Tok::LBrace) fail("compound literals are not supported in typeof");
        e->operands.push_back(unary());
        return e;
    }

    ExprPtr postfix() {
        ExprPtr e = primary();
        for (int links = 0;;) {
            switch (tok_.kind) {
                case Tok::LParen: {
                    count_link(links);
                    if (!typeof_grammar() && e->kind != ExprKind::Name)
                        fail("only a declared function can be called");
                    Depth depth(*this);
                    if (typeof_grammar()) {
                        ExprPtr call = node(ExprKind::Call, tok_);
                        call->callee = std::move(e);
                        e = std::move(call);
                    } else {
                        e->kind = ExprKind::Call;
                    }
                    advance();
                    if (tok_.kind != Tok::RParen) {
                        for (;;) {
                            e->operands.push_back(conditional());
                            if (tok_.kind != Tok::Comma) break;
                            advance();
                        }
                    }
                    expect(Tok::RParen, "')' or ',' in the argument list");
                    break;
                }
                case Tok::LBracket: {
                    ExprPtr index = typeof_postfix(
                        ExprKind::Index, "indexing ('[') is not allowed: use '*p'", links);
                    index->operands.push_back(std::move(e));
                    index->operands.push_back(comma_expression());
                    expect(Tok::RBracket, "']' closing the subscript");
                    e = std::move(index);
                    break;
                }
                case Tok::Dot:
                case Tok::Arrow: {
                    ExprPtr member = typeof_postfix(
                        ExprKind::Member, "member access is not allowed in this expression", links);
                    if (tok_.kind != Tok::Identifier)
                        fail("expected a member name after '" +
                             std::string(member->op == Tok::Dot ? "." : "->") + "', found " +
                             describe_token(tok_));
                    member->text = std::string(tok_.text);
                    advance();
                    member->operands.push_back(std::move(e));
                    e = std::move(member);
                    break;
                }
                case Tok::PlusPlus:
                case Tok::MinusMinus:
                    fail(describe_token(tok_) +
                         " is not allowed: an expression has no side effect");
                case Tok::Assign:
                case Tok::CompoundAssign:
                    fail("assignment is not allowed: an expression has no side effect");
                default: return e;
            }
        }
    }

    ExprPtr primary() {
        Token t = tok_;
        switch (t.kind) {
            case Tok::IntLiteral: {
                IntLiteral literal = decode_int_literal(t.text);
                if (!literal.error.empty()) fail(literal.error);
                if (literal.too_large)
                    fail("integer constant " + describe_token(t) + " is too large");
                ExprPtr e = node(ExprKind::Integer, t);
                e->value = static_cast<ConstInt>(literal.value);
                e->is_unsigned = literal.is_unsigned || literal.value > INT64_MAX;
                e->literal_type = int_literal_type(literal);
                advance();
                return e;
            }
            case Tok::CharLiteral: {
                ExprPtr e = node(ExprKind::Integer, t);
                if (const char* error = decode_char_literal(t.text, e->value)) fail(error);
                e->literal_type = char_literal_type(t.text);
                advance();
                return e;
            }
            case Tok::StringLiteral: {
                ExprPtr e = node(ExprKind::String, t);
                while (tok_.kind == Tok::StringLiteral) {
                    if (typeof_grammar() && tok_.text[0] != '"' && !tok_.text.starts_with("u8"))
                        fail("wide string literals are not supported in typeof");
                    append_string_literal(tok_.text, e->text);
                    advance();
                }
                return e;
            }
            case Tok::Identifier: {
                ExprPtr e = node(ExprKind::Name, t);
                e->text = std::string(t.text);
                advance();
                return e;
            }
            case Tok::LParen: {
                Depth depth(*this);
                advance();
                if (is_type_keyword(tok_.kind)) fail("casts are not allowed in this expression");
                ExprPtr e = typeof_grammar() ? comma_expression() : conditional();
                expect(Tok::RParen, "')'");
                return e;
            }
            case Tok::FloatLiteral: {
                ExprPtr e = node(ExprKind::Float, t);
                std::string text(t.text);
                char suffix = 0;
                while (!text.empty() && strchr("fFlL", text.back())) {
                    suffix = static_cast<char>(tolower(text.back()));
                    text.pop_back();
                }
                char* end = nullptr;
                e->real = strtod(text.c_str(), &end);
                if (end != text.c_str() + text.size())
                    fail("floating-point constant " + describe_token(t) + " is not supported");
                e->literal_type = suffix == 'f'   ? "float"
                                  : suffix == 'l' ? "long double"
                                                  : "double";
                advance();
                return e;
            }
            case Tok::End: fail("expected an expression, found end of input");
            default:
                if (typeof_grammar() && t.kind == Tok::LBrace)
                    fail("statement expressions are not supported in typeof");
                fail("expected an expression, found " + describe_token(t));
        }
    }

    std::string_view source_;
    Lexer& lex_;
    Token& tok_;
    TypeNameReader* types_;
    int& depth_;
    int max_depth_;
};

}  // namespace

ExprPtr parse_expression(std::string_view source) {
    Lexer lex(source);
    Token tok;
    int depth = 0;
    return ExprParser(source, lex, tok, nullptr, depth, kMaxExprDepth).parse_whole();
}

ExprPtr parse_typeof_operand(std::string_view source, Lexer& lex, Token& tok, TypeNameReader& types,
                             int& depth, int max_depth) {
    return ExprParser(source, lex, tok, &types, depth, max_depth).comma_expression();
}

}  // namespace cffix::parse
