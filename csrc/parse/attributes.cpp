// GNU extensions around declarations: __attribute__((...)) (packed, aligned, mode and
// calling conventions recorded; every other attribute skipped), __declspec(...) (skipped)
// and __asm__("label") (the symbol's name in the library).
#include <algorithm>
#include <cstddef>
#include <string>

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

}  // namespace

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

// C23 attributes: `[[a, ns::b(args), ...]]`, any number of them. `cffix::` ones are
// recorded (their arguments as written), the others skipped. At the first '['.
void Parser::parse_standard_attributes(Attributes& attrs) {
    while (tok_.kind == Tok::LBracket && peek().kind == Tok::LBracket) {
        advance();
        advance();
        while (tok_.kind != Tok::RBracket) {
            if (accept(Tok::Comma)) continue;
            if (!is_word(tok_.kind)) fail_expected("an attribute name");
            Token first = tok_;
            advance();
            std::string_view ns, name = first.text;
            if (tok_.kind == Tok::Colon) {
                advance();
                expect(Tok::Colon, "'::' in the attribute name");
                if (!is_word(tok_.kind)) fail_expected("an attribute name after '::'");
                ns = first.text;
                name = tok_.text;
                advance();
            }
            std::string args;
            if (tok_.kind == Tok::LParen) {
                size_t begin = static_cast<size_t>(tok_.text.data() - source_.data()) + 1;
                skip_balanced_parens();
                // The previous token was the closing ')': its text ends the arguments.
                size_t end = static_cast<size_t>(last_close_ - source_.data());
                args = std::string(source_.substr(begin, end - begin));
            }
            if (ns == "cffix") {
                std::string entry(name);
                if (!args.empty() || name == "errors" || name == "owned") entry += "(" + args + ")";
                attrs.cffix.push_back(std::move(entry));
            }
        }
        advance();
        expect(Tok::RBracket, "']]' closing the attribute list");
    }
}

// At '(': skips to just past the matching ')'.
void Parser::skip_balanced_parens() {
    int depth = 0;
    do {
        if (tok_.kind == Tok::End) fail_expected("')'");
        if (tok_.kind == Tok::LParen) ++depth;
        if (tok_.kind == Tok::RParen) {
            --depth;
            last_close_ = tok_.text.data();
        }
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
