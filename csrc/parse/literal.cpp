// Values of literal tokens: integer constants (form checked for the lexer, value and
// suffix for the evaluator), character constants and string literals.
#include "parse/literal.h"

#include <climits>
#include <cstdint>
#include <string>
#include <type_traits>

#include "parse/lexer.h"

namespace cffix::parse {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    return (c | 0x20) - 'a' + 10;
}

// One UTF-8 sequence as a code point; a malformed one yields its first byte, so that
// arbitrary bytes never make the lexer fail.
uint32_t read_utf8(const char*& p, const char* end) {
    auto byte = [](char c) { return static_cast<unsigned char>(c); };
    unsigned char lead = byte(*p);
    int extra = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : lead >= 0xc0 ? 1 : 0;
    if (extra == 0 || end - p <= extra) {
        ++p;
        return lead;
    }
    uint32_t value = lead & (0x3f >> extra);
    for (int i = 1; i <= extra; ++i) {
        if ((byte(p[i]) & 0xc0) != 0x80) {
            ++p;
            return lead;
        }
        value = (value << 6) | (byte(p[i]) & 0x3f);
    }
    p += extra + 1;
    return value;
}

void append_utf8(uint32_t cp, std::string& out) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xc0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xe0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        out += static_cast<char>(0xf0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    }
}

const char* read_escape(const char*& p, const char* end, bool wide, LiteralChar& out) {
    if (p >= end) return "incomplete escape sequence";
    char e = *p++;
    switch (e) {
        case 'n': out.value = '\n'; return nullptr;
        case 't': out.value = '\t'; return nullptr;
        case 'r': out.value = '\r'; return nullptr;
        case 'a': out.value = '\a'; return nullptr;
        case 'b': out.value = '\b'; return nullptr;
        case 'f': out.value = '\f'; return nullptr;
        case 'v': out.value = '\v'; return nullptr;
        case 'e':
        case 'E': out.value = 27; return nullptr;  // GNU
        case '\\':
        case '\'':
        case '"':
        case '?': out.value = static_cast<unsigned char>(e); return nullptr;
        default: break;
    }
    if (e >= '0' && e <= '7') {
        uint32_t v = static_cast<uint32_t>(e - '0');
        for (int i = 1; i < 3 && p < end && *p >= '0' && *p <= '7'; ++i)
            v = v * 8 + static_cast<uint32_t>(*p++ - '0');
        if (!wide && v > 0xff) return "octal escape sequence out of range";
        out.value = v;
        return nullptr;
    }
    if (e == 'x') {
        if (p >= end || !has_char_class(*p, kHexDigit))
            return "\\x used with no following hex digits";
        uint64_t v = 0;
        while (p < end && has_char_class(*p, kHexDigit)) {
            v = v * 16 + static_cast<uint64_t>(hex_value(*p++));
            if (v > 0xffffffffu) v = 0x100000000u;  // saturate: reported below
        }
        if (v > (wide ? 0xffffffffu : 0xffu)) return "hex escape sequence out of range";
        out.value = static_cast<uint32_t>(v);
        return nullptr;
    }
    if (e == 'u' || e == 'U') {
        int digits = e == 'u' ? 4 : 8;
        uint32_t v = 0;
        for (int i = 0; i < digits; ++i) {
            if (p >= end || !has_char_class(*p, kHexDigit))
                return "incomplete universal character name";
            v = v * 16 + static_cast<uint32_t>(hex_value(*p++));
        }
        if (v > 0x10ffff) return "universal character name out of range";
        out.value = v;
        out.universal = true;
        return nullptr;
    }
    return "unknown escape sequence";
}

// Splits a literal token into its prefix length and its body (between the quotes).
std::string_view literal_body(std::string_view text, size_t& prefix) {
    prefix = text.find_first_of("'\"");
    return text.substr(prefix + 1, text.size() - prefix - 2);
}

// Parses the u/l suffix of an integer constant ("", u, l, ul, lu, ll, ull, llu in any
// letter case, but `lL` is not `ll`). Returns false if it is not one of them.
bool parse_int_suffix(std::string_view s, IntLiteral& out) {
    size_t i = 0;
    auto take_u = [&] {
        if (i < s.size() && (s[i] | 0x20) == 'u' && !out.is_unsigned) {
            out.is_unsigned = true;
            ++i;
        }
    };
    auto take_l = [&] {
        if (i + 1 < s.size() &&
            ((s[i] == 'l' && s[i + 1] == 'l') || (s[i] == 'L' && s[i + 1] == 'L'))) {
            out.longs = 2;
            i += 2;
        } else if (i < s.size() && (s[i] | 0x20) == 'l') {
            out.longs = 1;
            ++i;
        }
    };
    take_u();
    take_l();
    take_u();
    return i == s.size();
}

}  // namespace

const char* read_literal_char(const char*& p, const char* end, bool wide, LiteralChar& out) {
    out = LiteralChar{};
    if (*p == '\\') {
        ++p;
        return read_escape(p, end, wide, out);
    }
    if (wide && static_cast<unsigned char>(*p) >= 0x80) {
        out.value = read_utf8(p, end);
    } else {
        out.value = static_cast<unsigned char>(*p++);
    }
    return nullptr;
}

IntLiteral decode_int_literal(std::string_view text) {
    IntLiteral r;
    size_t i = 0;
    int base = 10;
    if (text.size() >= 2 && text[0] == '0' && (text[1] | 0x20) == 'x') {
        base = 16;
        i = 2;
    } else if (text.size() >= 2 && text[0] == '0' && (text[1] | 0x20) == 'b') {
        base = 2;
        i = 2;
    } else if (text[0] == '0') {
        base = 8;
    }
    size_t digits_start = i;
    unsigned __int128 value = 0;
    for (; i < text.size(); ++i) {
        char c = text[i];
        int digit;
        if (has_char_class(c, kDigit)) {
            digit = c - '0';
        } else if (base == 16 && has_char_class(c, kHexDigit)) {
            digit = hex_value(c);
        } else {
            break;
        }
        if (digit >= base) {
            r.error = std::string("invalid digit '") + c + "' in " +
                      (base == 8 ? "octal" : "binary") + " constant '" + std::string(text) + "'";
            return r;
        }
        if (!r.too_large) {
            value = value * static_cast<unsigned>(base) + static_cast<unsigned>(digit);
            r.too_large = value > UINT64_MAX;
        }
    }
    if (i == digits_start) {
        r.error = "invalid integer constant '" + std::string(text) + "'";
        return r;
    }
    if (!parse_int_suffix(text.substr(i), r)) {
        r.error = "invalid suffix '" + std::string(text.substr(i)) + "' on integer constant '" +
                  std::string(text) + "'";
        return r;
    }
    r.value = static_cast<uint64_t>(value);
    r.decimal = base == 10;
    return r;
}

const char* decode_char_literal(std::string_view text, ConstInt& value) {
    size_t prefix;
    std::string_view body = literal_body(text, prefix);
    char kind = prefix == 0 ? ' ' : prefix == 2 ? '8' : text[0];  // ' ', '8', 'L', 'u', 'U'
    bool wide = kind == 'L' || kind == 'u' || kind == 'U';
    const char* p = body.data();
    const char* end = p + body.size();
    LiteralChar ch;
    if (read_literal_char(p, end, wide, ch) != nullptr) return "invalid character constant";
    if (p != end) return "multi-character character constants are not supported";
    switch (kind) {
        case ' ':
            if (ch.universal && ch.value > 0x7f)
                return "character too large for a plain 'char' constant";
            // A plain character constant is the char converted to int: -1 for '\xff' where
            // char is signed (x86-64), 255 where it is not (AArch64 Linux).
            value = std::is_signed_v<char>
                        ? static_cast<ConstInt>(static_cast<signed char>(ch.value))
                        : static_cast<ConstInt>(ch.value & 0xff);
            return nullptr;
        case '8':
            if (ch.value > 0xff) return "character too large for a 'u8' constant";
            value = ch.value;
            return nullptr;
        case 'u':
            if (ch.value > 0xffff) return "character too large for a 'u' (char16_t) constant";
            value = ch.value;
            return nullptr;
        case 'L':
            if (sizeof(wchar_t) == 2 && ch.value > 0xffff) return "character too large for wchar_t";
            value = std::is_signed_v<wchar_t> && sizeof(wchar_t) == 4
                        ? static_cast<ConstInt>(static_cast<int32_t>(ch.value))
                        : static_cast<ConstInt>(ch.value);
            return nullptr;
        default: value = ch.value; return nullptr;
    }
}

void append_string_literal(std::string_view text, std::string& out) {
    size_t prefix;
    std::string_view body = literal_body(text, prefix);
    bool wide = prefix == 1;
    const char* p = body.data();
    const char* end = p + body.size();
    while (p < end) {
        LiteralChar ch;
        read_literal_char(p, end, wide, ch);  // checked by the lexer
        if (ch.universal || ch.value > 0xff || (wide && ch.value > 0x7f)) {
            append_utf8(ch.value, out);
        } else {
            out += static_cast<char>(ch.value);
        }
    }
}

}  // namespace cffix::parse
