// libFuzzer harness: the cdef lexer (csrc/parse/lexer.cpp, literal.cpp, error.cpp).
// Every token of the input, the literal decoders on the tokens they take, the line
// markers, and the error text of the first lexical error.
#include "harness.h"
#include "parse/lexer.h"

using namespace cffix::parse;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    fuzz::init_python();
    return 0;
}

static void decode(const Token& t) {
    switch (t.kind) {
        case Tok::IntLiteral: {
            IntLiteral v = decode_int_literal(t.text);
            if (v.error.empty() && v.longs > 2) fuzz::fail("int literal with more than 2 'l'");
            break;
        }
        case Tok::CharLiteral: {
            ConstInt value = 0;
            decode_char_literal(t.text, value);
            break;
        }
        case Tok::StringLiteral: {
            std::string out;
            append_string_literal(t.text, out);
            break;
        }
        default: break;
    }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view source = fuzz::as_text(data, size);
    try {
        Lexer lex(source);
        for (size_t n = 0;; ++n) {
            Token t = lex.next();
            if (t.kind == Tok::End) break;
            if (n > size + 2) fuzz::fail("more tokens than bytes: the lexer does not advance");
            if (!t.text.empty() &&
                (t.text.data() < source.data() ||
                 t.text.data() + t.text.size() > source.data() + size) &&
                t.kind != Tok::Define && t.kind != Tok::DirectiveEnd)
                fuzz::fail("a token's text is outside the source");
            if (t.pos.line < 1 || t.pos.column < 1) fuzz::fail("a token without a position");
            decode(t);
            // The error text for the first tokens, as the parser would build it (each costs a
            // scan of the source: not for every token).
            if (n < 16 && t.text.data() >= source.data() && t.text.data() <= source.data() + size) {
                std::string line = source_line_at(source, t.text.data() - source.data());
                (void)describe_token(t);
                CDefError e = error_at(source, t.pos, "fuzz");
                (void)e.what();
                (void)e.notes();
            }
        }
    } catch (...) {
        fuzz::expect_clean_error();
    }
    (void)line_markers(source);
    return 0;
}
