// Character classes and the reading of literal characters, shared by the lexer (which
// checks literals) and the decoders in literal.cpp (which compute their values).
#pragma once

#include <array>
#include <cstdint>

namespace cffix::parse {

inline constexpr uint8_t kIdentStart = 1;
inline constexpr uint8_t kIdentChar = 2;
inline constexpr uint8_t kDigit = 4;
inline constexpr uint8_t kHexDigit = 8;
// Characters that may start blanks, a comment or a line continuation (the lexer skips
// those before a token): one test tells that a token starts right here.
inline constexpr uint8_t kSkipStart = 16;

constexpr std::array<uint8_t, 256> make_char_classes() {
    std::array<uint8_t, 256> table{};
    for (int c = 0; c < 256; ++c) {
        // '$' is accepted in identifiers, as gcc does by default.
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
        bool digit = c >= '0' && c <= '9';
        bool hex = digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        bool skip = c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' || c == '\n' ||
                    c == '/' || c == '\\';
        table[c] = static_cast<uint8_t>((alpha ? kIdentStart | kIdentChar : 0) |
                                        (digit ? kIdentChar | kDigit : 0) | (hex ? kHexDigit : 0) |
                                        (skip ? kSkipStart : 0));
    }
    return table;
}

inline constexpr std::array<uint8_t, 256> kCharClass = make_char_classes();

inline bool has_char_class(char c, uint8_t cls) {
    return (kCharClass[static_cast<unsigned char>(c)] & cls) != 0;
}

struct LiteralChar {
    uint32_t value = 0;
    bool universal = false;  // written as \u or \U: a code point, not a byte
};

// Reads one character of a literal's body at `p` (a source character or an escape
// sequence) and advances `p`. `wide` literals (L, u, U) read UTF-8 sequences as one code
// point; plain ones read bytes. Returns nullptr, or what is wrong with the escape.
const char* read_literal_char(const char*& p, const char* end, bool wide, LiteralChar& out);

}  // namespace cffix::parse
