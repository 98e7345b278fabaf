// Integer constant expressions (array sizes, bit-field widths, enumerators, #define values,
// _Static_assert, aligned(N)), evaluated while they are parsed.
//
// Values carry their C type (int, unsigned int, long, unsigned long), so that the usual
// arithmetic conversions, unsigned wrap-around and casts behave as in C: `-1U` is
// 4294967295, `(unsigned char)300` is 44, `-1 < 0U` is false. One deliberate difference:
// where C has undefined behaviour (signed overflow: `1 << 40`, `INT_MAX + 1`), the exact
// mathematical value is kept in a wider signed type instead of an arbitrary wrapped one, as
// the user meant; only results beyond 128 bits are an error.
//
// Macro values (macro.h, Parser::macro_mode_) follow the compiler instead: floating
// operands and casts are allowed, a signed result wraps to its type's width as gcc and
// clang fold it (`1 << 31` is INT_MIN), and a shift count beyond the width is an error.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <type_traits>

#include "parse/expr.h"
#include "parse/parser.h"

namespace cffix::parse {
namespace {

using UConstInt = unsigned __int128;

constexpr int kLongBits = static_cast<int>(sizeof(long) * 8);
constexpr ConstInt kConstIntMin = static_cast<ConstInt>(static_cast<UConstInt>(1) << 127);

ConstValue make_value(ConstInt value, int bits, bool is_unsigned) {
    ConstValue v;
    v.value = value;
    v.bits = static_cast<uint8_t>(bits);
    v.is_unsigned = is_unsigned;
    return v;
}

ConstValue int_value(ConstInt value) { return make_value(value, 32, false); }

bool fits_signed(ConstInt v, int bits) {
    if (bits >= 128) return true;
    ConstInt limit = static_cast<ConstInt>(1) << (bits - 1);
    return v >= -limit && v < limit;
}

// Unsigned types are at most 64 bits wide here, so the mask is exact.
ConstInt wrap_unsigned(ConstInt v, int bits) {
    return static_cast<ConstInt>(static_cast<UConstInt>(v) &
                                 ((static_cast<UConstInt>(1) << bits) - 1));
}

// A signed result: exact, in the narrowest of `bits`, 64 or 128 bits that holds it.
ConstValue fit_signed(ConstInt v, int bits) {
    if (fits_signed(v, bits)) return make_value(v, bits, false);
    if (fits_signed(v, 64)) return make_value(v, 64, false);
    return make_value(v, 128, false);
}

// The C type of a value known without its type (an enumerator, a #define): int if it fits,
// else long, else unsigned long, else the wide signed type.
ConstValue typed(ConstInt v) {
    if (fits_signed(v, 32)) return make_value(v, 32, false);
    if (fits_signed(v, 64)) return make_value(v, 64, false);
    if (v >= 0 && v <= static_cast<ConstInt>(UINT64_MAX)) return make_value(v, 64, true);
    return make_value(v, 128, false);
}

// The usual arithmetic conversions (both operands are at least int already): the wider
// type wins; at equal width, unsigned wins.
ConstValue common_type(ConstValue a, ConstValue b) {
    if (a.bits == b.bits) return make_value(0, a.bits, a.is_unsigned || b.is_unsigned);
    const ConstValue& wider = a.bits > b.bits ? a : b;
    return make_value(0, wider.bits, wider.is_unsigned);
}

ConstInt convert(ConstValue v, ConstValue type) {
    return type.is_unsigned ? wrap_unsigned(v.value, type.bits) : v.value;
}

// Width and signedness of a canonical integer primitive; false if it is not one.
bool integer_width(std::string_view name, int& bits, bool& is_unsigned) {
    struct Entry {
        std::string_view name;
        int bits;
        bool is_unsigned;
    };
    static constexpr Entry kIntegers[] = {
        {"int", 32, false},
        {"unsigned int", 32, true},
        {"char", 8, !std::is_signed_v<char>},
        {"signed char", 8, false},
        {"unsigned char", 8, true},
        {"short", 16, false},
        {"unsigned short", 16, true},
        {"long", kLongBits, false},
        {"unsigned long", kLongBits, true},
        {"long long", 64, false},
        {"unsigned long long", 64, true},
    };
    for (const Entry& e : kIntegers) {
        if (e.name == name) {
            bits = e.bits;
            is_unsigned = e.is_unsigned;
            return true;
        }
    }
    return false;
}

// A value converted to an integer type of `bits` bits, then promoted as C does.
ConstValue truncate_to(ConstInt v, int bits, bool is_unsigned) {
    if (bits >= 128) return make_value(v, 128, false);
    UConstInt u = static_cast<UConstInt>(v) & ((static_cast<UConstInt>(1) << bits) - 1);
    ConstInt r = static_cast<ConstInt>(u);
    if (!is_unsigned && ((u >> (bits - 1)) & 1)) r -= static_cast<ConstInt>(1) << bits;
    if (bits < 32) return make_value(r, 32, false);  // integer promotion
    return make_value(r, bits <= 32 ? 32 : 64, is_unsigned);
}

ConstValue float_value(long double v, int bits) {
    ConstValue r = make_value(0, bits, false);
    r.is_float = true;
    r.real = bits == 32   ? static_cast<float>(v)
             : bits == 64 ? static_cast<long double>(static_cast<double>(v))
                          : v;
    return r;
}

long double as_real(const ConstValue& v) {
    return v.is_float ? v.real : static_cast<long double>(v.value);
}

// One arithmetic operation in the precision of the result's type (float arithmetic is
// not long double arithmetic rounded once: the double rounding can differ).
template <typename F>
long double in_precision(int bits, long double x, long double y, F op) {
    if (bits == 32) return op(static_cast<float>(x), static_cast<float>(y));
    if (bits == 64) return op(static_cast<double>(x), static_cast<double>(y));
    return op(x, y);
}

}  // namespace

// C's binary operators by precedence (1: ||, 10: * / %); 0 for other tokens. Shared with
// parse/expr.cpp.
int binary_precedence(Tok kind) {
    switch (kind) {
        case Tok::PipePipe: return 1;
        case Tok::AmpAmp: return 2;
        case Tok::Pipe: return 3;
        case Tok::Caret: return 4;
        case Tok::Amp: return 5;
        case Tok::EqEq:
        case Tok::NotEq: return 6;
        case Tok::Less:
        case Tok::Greater:
        case Tok::LessEq:
        case Tok::GreaterEq: return 7;
        case Tok::Shl:
        case Tok::Shr: return 8;
        case Tok::Plus:
        case Tok::Minus: return 9;
        case Tok::Star:
        case Tok::Slash:
        case Tok::Percent: return 10;
        default: return 0;
    }
}

bool is_integer_primitive(std::string_view canonical_name) {
    int bits;
    bool is_unsigned;
    return integer_width(canonical_name, bits, is_unsigned);
}

bool named_type_is_unsigned(std::string_view name) {
    return name.starts_with("u") || name.starts_with("__u") || name == "size_t" ||
           name == "char8_t" || name == "char16_t" || name == "char32_t" || name == "bool" ||
           name == "socklen_t" || name == "wint_t";
}

// ---------------------------------------------------------------------------------------
// Grammar

ConstValue Parser::parse_constant_expression() { return parse_conditional(); }

// `a ? b : c` (and GNU `a ?: c`); the branch not taken is parsed unevaluated.
ConstValue Parser::parse_conditional() {
    DepthGuard guard(*this);
    ConstValue condition = parse_binary(1);
    if (!accept(Tok::Question)) return condition;
    bool take_first = is_true(condition);
    ConstValue first = condition;
    if (tok_.kind != Tok::Colon) {
        unevaluated_ += !take_first;
        first = parse_conditional();
        unevaluated_ -= !take_first;
    }
    expect(Tok::Colon, "':' in the conditional expression");
    unevaluated_ += take_first;
    ConstValue second = parse_conditional();
    unevaluated_ -= take_first;
    if (first.is_float || second.is_float) {
        int bits = std::max(first.is_float ? first.bits : 0, second.is_float ? second.bits : 0);
        return float_value(as_real(take_first ? first : second), bits);
    }
    ConstValue type = common_type(first, second);
    return make_value(convert(take_first ? first : second, type), type.bits, type.is_unsigned);
}

// Binary operators by precedence climbing; && and || skip evaluating what C skips.
ConstValue Parser::parse_binary(int min_precedence) {
    ConstValue lhs = parse_unary();
    for (;;) {
        int precedence = binary_precedence(tok_.kind);
        if (precedence == 0 || precedence < min_precedence) return lhs;
        Token op = tok_;
        advance();
        bool skip =
            (op.kind == Tok::AmpAmp && !is_true(lhs)) || (op.kind == Tok::PipePipe && is_true(lhs));
        unevaluated_ += skip;
        ConstValue rhs = parse_binary(precedence + 1);
        unevaluated_ -= skip;
        lhs = apply_binary(op, lhs, rhs);
    }
}

ConstValue Parser::parse_unary() {
    while (accept(Tok::KwExtension)) {
    }
    switch (tok_.kind) {
        case Tok::Minus:
        case Tok::Plus:
        case Tok::Tilde:
        case Tok::Bang: {
            DepthGuard guard(*this);
            Token op = tok_;
            advance();
            return apply_unary(op, parse_unary());
        }
        case Tok::KwSizeof:
        case Tok::KwAlignof: return parse_sizeof_or_alignof();
        case Tok::LParen:
            if (starts_type_name(peek())) return parse_cast();
            return parse_primary();
        default: return parse_primary();
    }
}

ConstValue Parser::parse_primary() {
    Token t = tok_;
    switch (t.kind) {
        case Tok::IntLiteral: advance(); return int_literal_value(t);
        case Tok::CharLiteral: {
            ConstInt value = 0;
            if (const char* error = decode_char_literal(t.text, value)) fail(t, error);
            advance();
            return int_value(value);
        }
        case Tok::Identifier:
            advance();
            if (probes_ && tok_.kind == Tok::LParen) return probe_call(t);
            return constant_named(t);
        case Tok::LParen: {
            advance();
            ConstValue v = parse_conditional();
            expect(Tok::RParen, "')'");
            return v;
        }
        case Tok::FloatLiteral:
            if (macro_mode_) {
                advance();
                return float_literal_value(t);
            }
            fail(t, "floating-point constant " + describe_token(t) +
                        " is not allowed in an integer constant expression");
        case Tok::StringLiteral:
            fail(t, "string literal " + describe_token(t) +
                        " is not allowed in an integer constant expression");
        default: fail_expected("an expression");
    }
}

// `sizeof(type)`, `sizeof expr` (the size of the expression's type), `_Alignof(type)`.
ConstValue Parser::parse_sizeof_or_alignof() {
    Token keyword = tok_;
    bool is_sizeof = keyword.kind == Tok::KwSizeof;
    advance();
    if (tok_.kind == Tok::LParen && starts_type_name(peek())) {
        DepthGuard guard(*this);
        advance();
        TypeExprPtr type = parse_type_name_here();
        expect(Tok::RParen, "')' after the type name");
        uint64_t n = ask_sink(
            keyword, [&] { return is_sizeof ? sink_.size_of(*type) : sink_.align_of(*type); });
        return make_value(static_cast<ConstInt>(n), 64, true);
    }
    if (is_sizeof && tok_.kind == Tok::StringLiteral) {
        std::string bytes = parse_string_literals();
        return make_value(static_cast<ConstInt>(bytes.size() + 1), 64, true);
    }
    DepthGuard guard(*this);
    ++unevaluated_;
    ConstValue operand = parse_unary();
    --unevaluated_;
    return make_value(operand.bits / 8, 64, true);  // integer operands: size == alignment
}

ConstValue Parser::parse_cast() {
    DepthGuard guard(*this);
    Token open = tok_;
    advance();  // '('
    TypeExprPtr type = parse_type_name_here();
    expect(Tok::RParen, "')' after the type name");
    ConstValue operand = parse_unary();
    return cast_to(*type, operand, open);
}

// ---------------------------------------------------------------------------------------
// Values

// C's typing of integer constants: the first type of the list that holds the value, the
// list depending on the suffix and on whether the constant is decimal (C11 6.4.4.1).
ConstValue Parser::int_literal_value(const Token& t) {
    IntLiteral literal = decode_int_literal(t.text);
    if (literal.too_large) fail(t, "integer constant " + describe_token(t) + " is too large");
    return typed_int_literal(literal);
}

namespace {
// The type of an integer constant: its rank (0 int, 1 long, 2 long long) and signedness.
std::pair<int, bool> int_literal_rank(const IntLiteral& literal) {
    uint64_t v = literal.value;
    bool allow_signed = !literal.is_unsigned;
    bool allow_unsigned = literal.is_unsigned || !literal.decimal;
    const int ranks[] = {32, kLongBits, 64};  // int, long, long long
    for (int i = literal.longs == 0 ? 0 : literal.longs == 1 ? 1 : 2; i < 3; ++i) {
        int bits = ranks[i];
        if (allow_signed && v < (uint64_t(1) << (bits - 1))) return {i, false};
        if (allow_unsigned && (bits == 64 || v < (uint64_t(1) << bits))) return {i, true};
    }
    return {2, true};  // gcc: "so large that it is unsigned"
}
}  // namespace

ConstValue typed_int_literal(const IntLiteral& literal) {
    auto [rank, is_unsigned] = int_literal_rank(literal);
    const int bits[] = {32, kLongBits, 64};
    return make_value(static_cast<ConstInt>(literal.value), bits[rank], is_unsigned);
}

std::string_view integer_type_name(int rank, bool is_unsigned) {
    static constexpr std::string_view kNames[2][3] = {
        {"int", "long", "long long"}, {"unsigned int", "unsigned long", "unsigned long long"}};
    return kNames[is_unsigned][rank];
}

std::string_view int_literal_type(const IntLiteral& literal) {
    auto [rank, is_unsigned] = int_literal_rank(literal);
    return integer_type_name(rank, is_unsigned);
}

ConstValue Parser::constant_named(const Token& t) {
    if (const ConstInt* pending = pending_constants_.find(t.text)) return typed(*pending);
    std::optional<ConstInt> value = ask_sink(t, [&] { return sink_.constant_value(t.text); });
    if (value) return typed(*value);
    if (t.text == "true" || t.text == "false") return int_value(t.text == "true");
    if (t.text == "__builtin_va_list" || is_type_name(t.text))
        fail(t, "expected an expression, found the type name '" + std::string(t.text) + "'");
    fail(t, "unknown constant '" + std::string(t.text) + "'");
}

// `name()` in a probe expression: checked always, called only where C evaluates it.
ConstValue Parser::probe_call(const Token& name) {
    advance();  // '('
    if (tok_.kind != Tok::RParen)
        fail(tok_, "'" + std::string(name.text) +
                       "()' takes no arguments here: only calls without arguments are "
                       "allowed, found " +
                       describe_token(tok_));
    advance();
    ask_sink(name, [&] { probes_->check(name.text); });
    if (unevaluated_ > 0) return int_value(0);
    return typed(ask_sink(name, [&] { return probes_->call(name.text); }));
}

ConstValue Parser::apply_unary(const Token& op, ConstValue v) {
    if (v.is_float) return apply_float_unary(op, v);
    switch (op.kind) {
        case Tok::Plus: return v;
        case Tok::Bang: return int_value(v.value == 0);
        case Tok::Tilde:
            return v.is_unsigned ? make_value(wrap_unsigned(~v.value, v.bits), v.bits, true)
                                 : make_value(~v.value, v.bits, false);
        default:  // Minus
            if (v.is_unsigned) return make_value(wrap_unsigned(-v.value, v.bits), v.bits, true);
            if (v.value == kConstIntMin)
                return overflow(op, "integer overflow in constant expression");
            return signed_result(-v.value, v.bits);
    }
}

ConstValue Parser::apply_binary(const Token& op, ConstValue a, ConstValue b) {
    switch (op.kind) {
        case Tok::AmpAmp: return int_value(is_true(a) && is_true(b));
        case Tok::PipePipe: return int_value(is_true(a) || is_true(b));
        case Tok::Shl:
        case Tok::Shr: return apply_shift(op, a, b);
        default: break;
    }
    if (a.is_float || b.is_float) return apply_float_binary(op, a, b);
    ConstValue type = common_type(a, b);
    ConstInt x = convert(a, type);
    ConstInt y = convert(b, type);
    bool is_unsigned = type.is_unsigned;
    auto result = [&](ConstInt r) {
        return is_unsigned ? make_value(wrap_unsigned(r, type.bits), type.bits, true)
                           : signed_result(r, type.bits);
    };
    ConstInt r = 0;
    switch (op.kind) {
        case Tok::Star:
            if (is_unsigned)
                return result(
                    static_cast<ConstInt>(static_cast<UConstInt>(x) * static_cast<UConstInt>(y)));
            if (__builtin_mul_overflow(x, y, &r))
                return overflow(op, "integer overflow in constant expression");
            return result(r);
        case Tok::Plus:
            if (__builtin_add_overflow(x, y, &r))
                return overflow(op, "integer overflow in constant expression");
            return result(r);
        case Tok::Minus:
            if (__builtin_sub_overflow(x, y, &r))
                return overflow(op, "integer overflow in constant expression");
            return result(r);
        case Tok::Slash:
        case Tok::Percent:
            if (y == 0) return overflow(op, "division by zero in constant expression");
            if (x == kConstIntMin && y == -1)
                return overflow(op, "integer overflow in constant expression");
            return result(op.kind == Tok::Slash ? x / y : x % y);
        case Tok::Amp: return result(x & y);
        case Tok::Pipe: return result(x | y);
        case Tok::Caret: return result(x ^ y);
        case Tok::EqEq: return int_value(x == y);
        case Tok::NotEq: return int_value(x != y);
        case Tok::Less: return int_value(x < y);
        case Tok::Greater: return int_value(x > y);
        case Tok::LessEq: return int_value(x <= y);
        default: return int_value(x >= y);  // GreaterEq
    }
}

// The result has the (promoted) type of the left operand, whatever the right one's.
ConstValue Parser::apply_shift(const Token& op, ConstValue a, ConstValue b) {
    if (a.is_float || b.is_float) return apply_float_binary(op, a, b);
    if (b.value < 0) return overflow(op, "negative shift count in constant expression");
    if (b.value >= 128 || (macro_mode_ && b.value >= a.bits)) {
        if (!macro_mode_) return overflow(op, "shift count too large in constant expression");
        std::string what = "shift count " + std::to_string(static_cast<long long>(b.value)) +
                           " is not below the width of the shifted type (" +
                           std::to_string(a.bits) + " bits)";
        if (unevaluated_ > 0) return int_value(0);
        fail(op, what);
    }
    int n = static_cast<int>(b.value);
    if (op.kind == Tok::Shr) {
        if (a.is_unsigned)
            return make_value(static_cast<ConstInt>(static_cast<UConstInt>(a.value) >> n), a.bits,
                              true);
        return make_value(a.value >> n, a.bits, false);
    }
    ConstInt shifted = static_cast<ConstInt>(static_cast<UConstInt>(a.value) << n);
    if (a.is_unsigned) return make_value(wrap_unsigned(shifted, a.bits), a.bits, true);
    if (macro_mode_) return signed_result(shifted, a.bits);
    if ((shifted >> n) != a.value) return overflow(op, "integer overflow in constant expression");
    return fit_signed(shifted, a.bits);
}

ConstValue Parser::cast_to(const TypeExpr& type, ConstValue v, const Token& at) {
    int bits = 0;
    bool is_unsigned = false;
    bool is_bool =
        type.name == "_Bool" || (type.kind == TypeExprKind::Named && type.name == "bool");
    if (is_bool && (type.kind == TypeExprKind::Primitive || type.kind == TypeExprKind::Named))
        return int_value(is_true(v));
    if (macro_mode_) return cast_in_macro(type, v, at);
    if (type.kind == TypeExprKind::Primitive) {
        if (!integer_width(type.name, bits, is_unsigned))
            fail(at, "cast to '" + std::string(type.name) +
                         "' is not allowed in an integer constant expression");
    } else if (type.kind == TypeExprKind::Named || type.kind == TypeExprKind::Enum ||
               type.kind == TypeExprKind::DotsInteger) {
        uint64_t size = ask_sink(at, [&] { return sink_.size_of(type); });
        if (size == 0 || size > 16)
            fail(at,
                 "cast to a type of size " + std::to_string(size) + " in a constant expression");
        bits = static_cast<int>(size * 8);
        is_unsigned = type.kind == TypeExprKind::Named && named_type_is_unsigned(type.name);
    } else {
        fail(at, "cast to a non-integer type is not allowed in an integer constant expression");
    }
    return truncate_to(v.value, bits, is_unsigned);
}

// An arithmetic error: reported when evaluated, ignored in an operand C does not evaluate
// (`0 && 1 / 0`).
ConstValue Parser::overflow(const Token& at, const char* what) {
    if (unevaluated_ > 0) return int_value(0);
    fail(at, what);
}

// A signed integer result: exact in a wider type (cdef), or wrapped to its width as the
// compiler folds it (macro values).
ConstValue Parser::signed_result(ConstInt v, int bits) {
    if (!macro_mode_ || bits >= 128) return fit_signed(v, bits);
    return truncate_to(v, bits, false);
}

// `1.5`, `1.5f`, `1e3L`, `0x1p-3`: double, float, long double.
ConstValue Parser::float_literal_value(const Token& t) {
    std::string text(t.text);
    int bits = 64;
    char last = text.empty() ? 0 : text.back();
    if (last == 'f' || last == 'F') {
        bits = 32;
        text.pop_back();
    } else if (last == 'l' || last == 'L') {
        bits = 128;
        text.pop_back();
    }
    char* end = nullptr;
    long double v = std::strtold(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size())
        fail(t, "floating-point constant " + describe_token(t) + " has an unsupported suffix");
    return float_value(v, bits);
}

ConstValue Parser::apply_float_unary(const Token& op, ConstValue v) {
    switch (op.kind) {
        case Tok::Plus: return v;
        case Tok::Minus: return float_value(-v.real, v.bits);
        case Tok::Bang: return int_value(v.real == 0);
        default: fail(op, "'~' needs an integer operand, not a floating value");
    }
}

// The usual arithmetic conversions with a floating operand: the wider floating type wins.
ConstValue Parser::apply_float_binary(const Token& op, ConstValue a, ConstValue b) {
    int bits = std::max(a.is_float ? a.bits : 0, b.is_float ? b.bits : 0);
    long double x = as_real(a), y = as_real(b);
    switch (op.kind) {
        case Tok::Plus:
            return float_value(in_precision(bits, x, y, [](auto p, auto q) { return p + q; }),
                               bits);
        case Tok::Minus:
            return float_value(in_precision(bits, x, y, [](auto p, auto q) { return p - q; }),
                               bits);
        case Tok::Star:
            return float_value(in_precision(bits, x, y, [](auto p, auto q) { return p * q; }),
                               bits);
        case Tok::Slash:  // IEEE: 1.0 / 0 is inf, as the compiler folds it
            return float_value(in_precision(bits, x, y, [](auto p, auto q) { return p / q; }),
                               bits);
        case Tok::EqEq: return int_value(x == y);
        case Tok::NotEq: return int_value(x != y);
        case Tok::Less: return int_value(x < y);
        case Tok::Greater: return int_value(x > y);
        case Tok::LessEq: return int_value(x <= y);
        case Tok::GreaterEq: return int_value(x >= y);
        default:
            fail(op, "invalid operands to " + describe_token(op) +
                         ": it needs integers, not a floating value");
    }
}

// A cast in a macro value: to any integer or floating type, the type's real size and
// signedness as the sink knows them.
ConstValue Parser::cast_in_macro(const TypeExpr& type, ConstValue v, const Token& at) {
    DeclSink::Arithmetic info;
    int bits = 0;
    bool is_unsigned = false;
    if (type.kind == TypeExprKind::Primitive) {
        if (type.name == "float" || type.name == "double" || type.name == "long double") {
            info.kind = DeclSink::Arithmetic::Floating;
            info.size = type.name == "float" ? 4 : type.name == "double" ? 8 : 16;
        } else if (integer_width(type.name, bits, is_unsigned)) {
            info.kind = DeclSink::Arithmetic::Integer;
            info.size = static_cast<uint64_t>(bits / 8);
            info.is_unsigned = is_unsigned;
        }
    } else if (type.kind == TypeExprKind::Named || type.kind == TypeExprKind::Enum ||
               type.kind == TypeExprKind::DotsInteger) {
        std::optional<DeclSink::Arithmetic> known =
            ask_sink(at, [&] { return sink_.arithmetic_of(type); });
        if (known) {
            info = *known;
        } else {
            info.kind = DeclSink::Arithmetic::Integer;
            info.size = ask_sink(at, [&] { return sink_.size_of(type); });
            info.is_unsigned =
                type.kind == TypeExprKind::Named && named_type_is_unsigned(type.name);
        }
    } else if (type.kind == TypeExprKind::Pointer) {
        fail(at, "a cast to a pointer type: a pointer, not a number");
    }
    if (info.kind == DeclSink::Arithmetic::Floating)
        return float_value(as_real(v), info.size == 4 ? 32 : info.size == 8 ? 64 : 128);
    if (info.kind != DeclSink::Arithmetic::Integer || info.size == 0 || info.size > 16)
        fail(at, "a cast to a type that is neither an integer nor a floating type");
    bits = static_cast<int>(info.size * 8);
    if (v.is_float) return float_to_integer(v, bits, info.is_unsigned, at);
    return truncate_to(v.value, bits, info.is_unsigned);
}

// C converts a floating value to an integer type by truncation; out of range it is
// undefined behaviour, an error here.
ConstValue Parser::float_to_integer(ConstValue v, int bits, bool is_unsigned, const Token& at) {
    long double t = std::trunc(v.real);
    int value_bits = std::min(bits, 64);
    long double high = std::ldexp(1.0L, is_unsigned ? value_bits : value_bits - 1);
    long double low = is_unsigned ? 0.0L : -high;
    if (!(t >= low && t < high)) {
        if (unevaluated_ > 0) return int_value(0);
        fail(at, "the floating value is out of the range of the integer type it is cast to");
    }
    return truncate_to(static_cast<ConstInt>(t), bits, is_unsigned);
}

ConstValue Parser::parse_standalone_macro_value() {
    type_name_only_ = true;  // an expression declares nothing
    macro_mode_ = true;
    advance();
    if (tok_.kind == Tok::End) fail_expected("an expression");
    ConstValue v = parse_constant_expression();
    if (tok_.kind != Tok::End)
        fail(tok_, "unexpected " + describe_token(tok_) + " after the expression");
    return v;
}

uint64_t Parser::array_length_value(const Token& at, ConstValue v) {
    if (v.value < 0) {  // cffi's ValueError and text; still a CDefError with the position
        CDefError e = error_at(source_, offset_of(at), at.pos, "array size is negative");
        e.with_cffi_text(CffiText::Given, "negative array length").also_is(ErrorKind::ValueError);
        throw e;
    }
    if (v.value > static_cast<ConstInt>(UINT64_MAX)) fail(at, "array size is too large");
    return static_cast<uint64_t>(v.value);
}

}  // namespace cffix::parse
