// Parsing C expressions into trees (see expr.h): recursive descent over the cdef lexer,
// precedence climbing for the binary operators, as const_expr.cpp does for the constant
// expressions it evaluates.
#include "parse/expr.h"

#include <cstdlib>
#include <cstring>

namespace cffix::parse {
namespace {

constexpr int kMaxExprDepth = 100;

class ExprParser {
public:
    explicit ExprParser(std::string_view source) : source_(source), lex_(source) { advance(); }

    ExprPtr parse_whole() {
        if (tok_.kind == Tok::End) throw_at(source_, tok_, "empty expression");
        ExprPtr e = conditional();
        if (tok_.kind != Tok::End)
            fail("expected an operator or the end of the expression, found " +
                 describe_token(tok_));
        return e;
    }

private:
    void advance() {
        tok_ = lex_.next();
        if ((tok_.kind >= Tok::Define && tok_.kind <= Tok::Undef) || tok_.kind == Tok::DirectiveEnd)
            fail("preprocessor directives are not allowed in an expression");
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
    struct Depth {
        explicit Depth(ExprParser& p) : p_(p) {
            if (++p_.depth_ > kMaxExprDepth) p_.fail("expression nested too deeply");
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
        ExprPtr first = conditional();
        expect(Tok::Colon, "':' in the conditional expression");
        ExprPtr second = conditional();
        e->operands.push_back(std::move(condition));
        e->operands.push_back(std::move(first));
        e->operands.push_back(std::move(second));
        return e;
    }

    ExprPtr binary(int min_precedence) {
        ExprPtr lhs = unary();
        for (;;) {
            int precedence = binary_precedence(tok_.kind);
            if (precedence == 0 || precedence < min_precedence) return lhs;
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
        switch (tok_.kind) {
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
            case Tok::KwSizeof: return sizeof_type();
            case Tok::Amp: fail("'&' (address of) is not allowed in this expression");
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

    ExprPtr postfix() {
        ExprPtr e = primary();
        for (;;) {
            switch (tok_.kind) {
                case Tok::LParen: {
                    if (e->kind != ExprKind::Name) fail("only a declared function can be called");
                    Depth depth(*this);
                    e->kind = ExprKind::Call;
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
                case Tok::LBracket: fail("indexing ('[') is not allowed: use '*p'");
                case Tok::Dot:
                case Tok::Arrow: fail("member access is not allowed in this expression");
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
                advance();
                return e;
            }
            case Tok::CharLiteral: {
                ExprPtr e = node(ExprKind::Integer, t);
                if (const char* error = decode_char_literal(t.text, e->value)) fail(error);
                advance();
                return e;
            }
            case Tok::StringLiteral: {
                ExprPtr e = node(ExprKind::String, t);
                while (tok_.kind == Tok::StringLiteral) {
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
                ExprPtr e = conditional();
                expect(Tok::RParen, "')'");
                return e;
            }
            case Tok::FloatLiteral: {
                ExprPtr e = node(ExprKind::Float, t);
                std::string text(t.text);
                while (!text.empty() && strchr("fFlL", text.back())) text.pop_back();
                char* end = nullptr;
                e->real = strtod(text.c_str(), &end);
                if (end != text.c_str() + text.size())
                    fail("floating-point constant " + describe_token(t) + " is not supported");
                advance();
                return e;
            }
            case Tok::End: fail("expected an expression, found end of input");
            default: fail("expected an expression, found " + describe_token(t));
        }
    }

    std::string_view source_;
    Lexer lex_;
    Token tok_;
    int depth_ = 0;
};

}  // namespace

ExprPtr parse_expression(std::string_view source) { return ExprParser(source).parse_whole(); }

}  // namespace cffix::parse
